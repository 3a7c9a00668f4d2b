"""The chat rules: usernames, rooms, commands, who hears what. Sans-I/O: no trio, no await.

Theory of operation. ``Chat`` holds the state shared by all connections (who is
registered under which name, which rooms exist and who is in them, each room's recent
history) and one ``_Client`` per connection (its line decoder and where it is in its
life). The I/O layer calls ``connect``, ``receive`` (bytes in, ``b""`` at EOF),
``expire``, ``history_loaded`` and ``disconnect``, passing the time in, and carries out
the ``Output`` items they return in order. Because no call awaits, each call is atomic
with respect to every other connection.

Rules:

1. A connection is NAMING, then CHATTING, then CLOSING::

       NAMING   --valid free name-->        CHATTING  (Welcome to it, Joined to #lobby)
       NAMING   --5th bad name / timeout--> CLOSING
       any      --/quit, Ctrl-C, EOF-->     CLOSING
       CLOSING  ignores further input; ``disconnect`` removes it.

2. Usernames are 1-32 ASCII letters, digits, ``_`` or ``-``, starting with a letter, so
   no two names look alike (``Rules.unicode_names`` allows every script, look-alikes
   too). They are unique regardless of case (``name_key``) and claimed in the same call
   that checks them (no await in between: two racing clients, exactly one wins).
   Reserved names are refused. A refusal says why and asks again. ``/nick`` follows the
   same rules.
3. Every user is in at least one room and at most ``Rules.max_rooms_per_user``; they
   start in ``#lobby``. Plain text goes to the *current* room (the last one joined or
   switched to), to every other member, never back to its sender. A room exists while it
   has members (``#lobby`` always); its topic and recent history outlive it.
4. Blank lines are ignored, ``//text`` sends ``/text``, ``/cmd`` runs a command from
   ``COMMANDS`` (the only list of commands; ``/help`` is generated from it). An unknown
   command gets one error line and is never broadcast.
5. Every room a CHATTING connection was in gets exactly one ``Left`` for it when it is
   disconnected, whatever the reason; during shutdown none are sent (everyone is leaving).
6. History: every room line, join, leave, topic and nick change and private message is
   ``Record``ed. Someone entering a room first gets its last ``Rules.history_lines``
   conversation lines from memory, in the same call that subscribes it to the room, so
   no line is missed or shown twice. When that memory is gone (the room was empty for a
   while, or the server restarted) the core asks the I/O layer to ``LoadHistory`` first.
7. Consecutive deliveries to the same audience are merged into one ``Reply`` or
   ``Broadcast``, so a pasted block of lines is published once, in order.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import re
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

import attrs

from chat_trio.protocol.accounts import (
    Account,
    Ban,
    Registry,
    check_password,
    describe_until,
)
from chat_trio.protocol.events import (
    CONVERSATION,
    Action,
    AskName,
    Broadcast,
    CheckPassword,
    Close,
    ConnId,
    Entry,
    Error,
    Event,
    Goodbye,
    Greeting,
    HashPassword,
    Help,
    History,
    Joined,
    Kind,
    Left,
    LoadHistory,
    NameRefused,
    NickChanged,
    Notice,
    Output,
    Private,
    QueryHistory,
    Reason,
    Record,
    Reply,
    RoomEntered,
    RoomLeft,
    RoomList,
    Said,
    SaveAccount,
    SaveBan,
    Subscribe,
    Topic,
    TopicChanged,
    Unsubscribe,
    UserList,
    Welcome,
    Whois,
)
from chat_trio.protocol.lines import (
    DEFAULT_MAX_LINE,
    EndOfInput,
    Input,
    Interrupted,
    LineDecoder,
    TooLong,
)

NAME_MAX = 32
ROOM_MAX = 32  #: characters after the "#"
LOBBY = "#lobby"
DEFAULT_RESERVED_NAMES = frozenset(
    {"admin", "server", "system", "root", "operator", "moderator", "chat-trio"}
)
USERS_SHOWN = 100
"""/users names at most this many, so its answer stays one readable line (and far below
any send-queue bound) even with 10,000 users online."""
ROOMS_SHOWN = 100  #: /rooms lists at most this many (the busiest)
TOPIC_MAX = 300  #: characters in a topic
HISTORY_MAX = 500  #: /history N answers at most this many lines
ROOMS_REMEMBERED = 1000
"""Empty rooms whose topic and recent history stay in memory (least recently emptied
forgotten first; a forgotten room's history is loaded from storage when it is joined)."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_DURATION = re.compile(r"(\d{1,6})([smhd])\b")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ROOM = re.compile(r"#[A-Za-z0-9_-]+\Z")
_SHOWN_COMMAND = 32  # characters of an unknown command echoed back in the error


@attrs.frozen
class Rules:
    """The protocol's settings (all have defaults; the CLI exposes each one)."""

    max_line: int = DEFAULT_MAX_LINE  #: bytes per input line, see lines.py
    reserved_names: frozenset[str] = DEFAULT_RESERVED_NAMES  #: refused, case-insensitively
    name_attempts: int = 5  #: bad usernames before the connection is closed
    name_timeout: float = 60.0  #: seconds to choose a valid username
    unicode_names: bool = False  #: letters and digits of every script (allows look-alikes)
    idle_timeout: float = 0.0  #: seconds without input before a user is disconnected; 0 = never
    max_rooms_per_user: int = 20  #: rooms one user may be in at once
    max_rooms: int = 10_000  #: rooms that may exist at once (each costs memory)
    history_lines: int = 20  #: conversation lines replayed on joining a room; 0 = none
    flood_burst: int = 10  #: lines a user may send at once (flood control)
    flood_rate: float = 2.0  #: lines per second after the burst; 0 = no flood control
    admins: frozenset[str] = frozenset()  #: name_keys of accounts that are admins when logged in
    flood_queue: int = 100
    """Lines that may wait under flood control; one more disconnects. At five times the
    rate this fills after about 10 s: (10 lines/s - 2 drained) x 12.5 s, after the burst."""


def name_key(name: str) -> str:
    """What two names must differ in to be different users: case and compatibility forms
    (fullwidth "\\uff21\\uff2c\\uff29\\uff23\\uff25" is "alice") do not count."""
    return unicodedata.normalize("NFKC", name).casefold()


def check_name(
    name: str, reserved: frozenset[str] = DEFAULT_RESERVED_NAMES, *, unicode: bool = False
) -> str | None:
    """Return why ``name`` cannot be a username, or None if it can (uniqueness aside).

    ``unicode`` allows letters and digits of every script (pass the name NFC-normalised).

    .. warning:: Unicode names allow look-alikes (Latin "a" and Cyrillic "\\u0430" are different
       names that look the same), which is why they are off by default.
    """
    if not name:
        return "Please type a username."
    if len(name) > NAME_MAX:
        return f"That username is too long ({len(name)} characters; at most {NAME_MAX})."
    if unicode:
        if not name[0].isalpha():
            return "A username must start with a letter."
        bad = next((c for c in name if not (c.isalnum() or c in "_-")), None)
    else:
        if not name[0].isascii() or not name[0].isalpha():
            return "A username must start with a letter (A-Z or a-z)."
        bad = None
        if _NAME.match(name) is None:
            bad = next(c for c in name if not (c.isascii() and (c.isalnum() or c in "_-")))
    if bad is not None:
        return f"A username may contain only letters, digits, '_' and '-' (not {bad!r})."
    if name_key(name) in reserved:
        return f'The name "{name}" is reserved.'
    return None


def check_room(name: str) -> str | None:
    """Return why ``name`` cannot be a room name, or None if it can."""
    if not name.startswith("#"):
        return f'Room names start with "#" (try /join #{name}).' if name else "Which room?"
    if len(name) == 1 or len(name) > ROOM_MAX + 1:
        return f"A room name is # and 1 to {ROOM_MAX} letters, digits, '_' or '-'."
    if _ROOM.match(name) is None:
        bad = next(c for c in name[1:] if not (c.isascii() and (c.isalnum() or c in "_-")))
        return f"A room name may contain only letters, digits, '_' and '-' (not {bad!r})."
    return None


class Phase(enum.Enum):
    NAMING = "naming"
    CHATTING = "chatting"
    CLOSING = "closing"


@attrs.define
class _Client:
    decoder: LineDecoder
    deadline: float  # when NAMING ends with NAME_TIMEOUT
    since: float  # when it connected (Unix time), for /whois
    last_input: float = 0.0  # for the idle timeout and /whois
    phase: Phase = Phase.NAMING
    name: str = ""
    attempts: int = 0
    rooms: list[str] = attrs.Factory(list)  # room keys, in the order joined
    current: str = ""  # the room key plain text goes to
    held: list[Input] = attrs.Factory(list)  # input waiting for history or flood control
    tokens: float = 0.0  # flood control's token bucket (filled on registration)
    stamp: float = 0.0  # when ``tokens`` was last brought up to date
    warned: bool = False  # told to slow down since the held lines last ran out
    address: str = ""  # the client's IP address, for throttling and bans
    account: str = ""  # name_key of the account it is logged in to
    pending: tuple[str, ...] = ()  # what a password check or hash is for


@attrs.define
class _Memory:
    """What outlives a room's members: its name, topic and recent conversation."""

    name: str
    topic: str
    recent: deque[Entry]


@attrs.define
class _Room:
    memory: _Memory
    members: dict[ConnId, None] = attrs.Factory(dict)  # in the order they joined


class _Outputs:
    """Collects outputs, merging consecutive events for the same audience (rule 7).

    History entries do not break a run: they are held back and emitted as one ``Record``
    at the end, or before a history read (which must see them).
    """

    def __init__(self) -> None:
        self.items: list[Output] = []
        self._audience: tuple[ConnId | None, str | None] | None = None
        self._events: list[Event] = []
        self._records: list[Entry] = []

    def reply(self, conn: ConnId, *events: Event) -> None:
        self._add((conn, None), events)

    def broadcast(self, room: str, event: Event, exclude: ConnId | None) -> None:
        self._add((exclude, room), (event,))

    def record(self, entry: Entry) -> None:
        self._records.append(entry)

    @property
    def waiting(self) -> bool:
        """Does the last output ask for history to be loaded (the rest waits for it)?"""
        return bool(self.items) and isinstance(
            self.items[-1], (LoadHistory, CheckPassword, HashPassword)
        )

    def add(self, output: Output) -> None:
        self._end_run()
        if isinstance(output, (LoadHistory, QueryHistory, CheckPassword, HashPassword)):
            self._flush_records()
        self.items.append(output)

    def close(self, conn: ConnId, reason: Reason) -> None:
        self.add(Close(conn, reason))

    def done(self) -> list[Output]:
        self._end_run()
        self._flush_records()
        return self.items

    def _flush_records(self) -> None:
        if self._records:
            self.items.append(Record(tuple(self._records)))
            self._records = []

    def _add(self, audience: tuple[ConnId | None, str | None], events: Iterable[Event]) -> None:
        if audience != self._audience:
            self._end_run()
            self._audience = audience
        self._events.extend(events)

    def _end_run(self) -> None:
        if self._audience is not None:
            conn, room = self._audience
            events = tuple(self._events)
            if room is None:
                assert conn is not None
                self.items.append(Reply(conn, events))
            else:
                self.items.append(Broadcast(events, exclude=conn, room=room))
        self._audience = None
        self._events = []


class Chat:
    """The chat rules and the state they govern. See the module docstring.

    Args:
      rules: the settings.
      clock: the wall clock for history timestamps (Unix time); ``now`` arguments are a
        monotonic clock for deadlines.
      stored: True when history is kept in storage the I/O layer can ``LoadHistory``
        from; False: history lives only in memory.
    """

    def __init__(
        self,
        rules: Rules | None = None,
        *,
        clock: Callable[[], float] = time.time,
        stored: bool = False,
    ) -> None:
        self.rules = rules or Rules()
        self.clock = clock
        self.stored = stored
        self._clients: dict[ConnId, _Client] = {}
        self._names: dict[str, ConnId] = {}  # name_key(name) -> its CHATTING connection
        self._rooms: dict[str, _Room] = {}  # room key -> a room with members (and #lobby)
        self._remembered: OrderedDict[str, _Memory] = OrderedDict()  # emptied rooms
        self._rooms[name_key(LOBBY)] = _Room(self._memory(LOBBY))
        self.registry = Registry()  # accounts and bans, loaded from storage at start-up
        self._shutting_down = False
        self._now = 0.0  # the latest ``now`` passed in (for /whois idle times)

    # -- queries ---------------------------------------------------------------------------

    @property
    def online(self) -> int:
        """How many users are CHATTING."""
        return len(self._names)

    def name_of(self, conn: ConnId) -> str | None:
        """The username of ``conn``, or None before it has one."""
        client = self._clients.get(conn)
        return client.name if client is not None and client.name else None

    def deadline(self, conn: ConnId) -> float:
        """When ``expire`` should next be called for ``conn`` (``inf``: never)."""
        client = self._clients.get(conn)
        if client is None:
            return math.inf
        if client.phase is Phase.NAMING:
            return client.deadline
        if client.phase is not Phase.CHATTING:
            return math.inf
        idle = client.last_input + self.rules.idle_timeout if self.rules.idle_timeout else math.inf
        if client.held and self.rules.flood_rate:  # delayed lines: when the next may go
            return min(idle, client.stamp + (1 - client.tokens) / self.rules.flood_rate)
        return idle

    # -- the I/O layer's calls -------------------------------------------------------------

    def connect(self, conn: ConnId, now: float, address: str = "") -> list[Output]:
        """A new connection arrived from ``address`` (an IP address, "" if unknown): greet it
        and ask for a name, or refuse it if the address is banned."""
        if conn in self._clients:
            raise ValueError(f"connection {conn} is already connected")
        client = self._clients[conn] = _Client(
            LineDecoder(self.rules.max_line),
            deadline=now + self.rules.name_timeout,
            since=self.clock(),
            last_input=now,
            address=address,
        )
        self._now = now
        ban = self.registry.ban_of("address", address, self.clock()) if address else None
        if ban is not None:
            client.phase = Phase.CLOSING
            refusal = Error(f"Your address is banned from this server {describe_until(ban.until)}.")
            return [Reply(conn, (refusal,)), Close(conn, Reason.BANNED)]
        return [Reply(conn, (Greeting(), AskName()))]

    def receive(self, conn: ConnId, data: bytes | bytearray, now: float) -> list[Output]:
        """Bytes arrived from ``conn`` (``b""``: it closed its side).

        If a line needs history loaded first, the outputs end with ``LoadHistory`` and
        the lines after it wait (at most one read's worth) for ``history_loaded``.
        """
        client = self._clients[conn]
        if self._shutting_down:
            return []
        client.last_input = self._now = now
        client.held.extend(client.decoder.receive(data))
        return self._run(conn, client, now)

    def expire(self, conn: ConnId, now: float) -> list[Output]:
        """Time has passed: close ``conn`` if it is past its ``deadline``, or let its
        delayed lines through (flood control)."""
        client = self._clients[conn]
        out = _Outputs()
        if client.phase is Phase.NAMING and now >= client.deadline:
            self._expire(conn, client, out)
        elif (
            client.phase is Phase.CHATTING
            and self.rules.idle_timeout
            and (now >= client.last_input + self.rules.idle_timeout)
        ):
            seconds = f"{self.rules.idle_timeout:g}"
            out.reply(conn, Error(f"Disconnected after {seconds} seconds without activity."))
            self._quit(conn, client, out, Reason.IDLE)
        elif client.held and not self._shutting_down:
            self._now = now
            return self._run(conn, client, now, out)
        return out.done()

    def history_loaded(
        self, conn: ConnId, room: str, entries: Iterable[Entry], topic: str, now: float
    ) -> list[Output]:
        """The history ``LoadHistory`` asked for: remember it and let ``conn`` join ``room``.

        ``entries`` are the room's latest conversation lines, oldest first; ``topic`` its
        last topic. If the room came back into memory meanwhile (someone else joined it),
        what is in memory is newer and wins.
        """
        key = name_key(room)
        if key not in self._rooms and key not in self._remembered:
            memory = self._memory(room, topic)
            memory.recent.extend(e for e in entries if e.kind in CONVERSATION)
            self._remember(key, memory)
        client = self._clients.get(conn)
        if client is None or self._shutting_down:
            return []
        self._now = now
        out = _Outputs()
        if client.phase is Phase.CHATTING:
            self._join(conn, client, room, out)
        return self._run(conn, client, now, out)

    def seed_history(self, room: str, entries: Iterable[Entry], topic: str) -> None:
        """Before serving: what storage remembers of ``room`` (``#lobby`` at start-up)."""
        key = name_key(room)
        memory = self._rooms[key].memory if key in self._rooms else self._memory(room)
        memory.topic = topic
        memory.recent.clear()
        memory.recent.extend(e for e in entries if e.kind in CONVERSATION)
        if key not in self._rooms:
            self._remember(key, memory)

    def disconnect(self, conn: ConnId, reason: Reason) -> list[Output]:
        """``conn`` is gone (for ``reason``): free its name and tell each of its rooms once."""
        client = self._clients.pop(conn, None)
        if client is None or not client.name:
            return []
        del self._names[name_key(client.name)]
        out = _Outputs()
        for key in client.rooms:
            room = self._rooms[key]
            del room.members[conn]
            if not self._shutting_down:
                out.broadcast(room.memory.name, Left(client.name, reason), exclude=conn)
                self._record(out, Kind.LEFT, room.memory.name, client.name, reason.value)
            self._maybe_forget(key)
        return out.done()

    def shut_down(self) -> None:
        """The server is shutting down: ignore input and send no more leave notices."""
        self._shutting_down = True

    # -- rules -----------------------------------------------------------------------------

    def _run(
        self, conn: ConnId, client: _Client, now: float, out: _Outputs | None = None
    ) -> list[Output]:
        """Handle ``conn``'s held input, up to a line that must wait for history."""
        out = out or _Outputs()
        held, client.held = client.held, []
        for index, item in enumerate(held):
            if client.phase is Phase.CLOSING:
                break
            if isinstance(item, str):
                if client.phase is Phase.CHATTING and not self._spend(client, item, now):
                    client.held = held[index:]  # until the bucket refills (see ``deadline``)
                    self._slow_down(conn, client, out)
                    return out.done()
                if client.phase is Phase.CHATTING:
                    self._chat_line(conn, client, item, out)
                else:
                    self._name_line(conn, client, item, out)
                if out.waiting:
                    client.held = held[index + 1 :]  # until ``history_loaded``
                    return out.done()
            elif isinstance(item, TooLong):
                out.reply(conn, Error(f"Line too long (over {item.limit} bytes); not sent."))
                if client.phase is Phase.NAMING:
                    out.reply(conn, AskName())
            elif isinstance(item, Interrupted):
                self._quit(conn, client, out, Reason.INTERRUPTED)
            elif isinstance(item, EndOfInput):
                client.phase = Phase.CLOSING
                out.close(conn, Reason.CLOSED)
        if client.phase is Phase.NAMING and now >= client.deadline:
            self._expire(conn, client, out)
        client.warned = False  # nothing is waiting any more
        return out.done()

    def _spend(self, client: _Client, line: str, now: float) -> bool:
        """Flood control: may ``line`` run now? Takes a token if so (blank lines are free)."""
        rules = self.rules
        if not rules.flood_rate or not line.strip():
            return True
        client.tokens = min(
            rules.flood_burst, client.tokens + (now - client.stamp) * rules.flood_rate
        )
        client.stamp = now
        if client.tokens >= 1:
            client.tokens -= 1
            return True
        return False

    def _slow_down(self, conn: ConnId, client: _Client, out: _Outputs) -> None:
        """Lines are waiting for flood control: say so once; cut a client that keeps on."""
        rules = self.rules
        waiting = sum(1 for item in client.held if isinstance(item, str))
        if waiting > rules.flood_queue:
            out.reply(
                conn,
                Error(
                    f"Disconnected for flooding: more than {rules.flood_queue} lines were "
                    f"waiting (at most {rules.flood_rate:g} lines per second)."
                ),
            )
            self._quit(conn, client, out, Reason.FLOOD)
        elif not client.warned:
            client.warned = True
            out.reply(
                conn,
                Error(
                    f"* Slow down: at most {rules.flood_burst} lines at once, then "
                    f"{rules.flood_rate:g} per second. Your next lines are delayed, not lost."
                ),
            )

    def _name_line(self, conn: ConnId, client: _Client, line: str, out: _Outputs) -> None:
        line = line.strip()
        if line.startswith("/"):
            self._command(conn, client, line, out)
            if client.phase is Phase.NAMING:
                out.reply(conn, AskName())
            return
        name, _, password = line.partition(" ")
        if password.strip():
            problem = self._begin_login(conn, client, name, password.strip(), out)
            if problem is None:
                return  # the answer comes with ``password_checked``
        else:
            problem = self._claim(conn, client, line)
            if problem is None:
                self._registered(conn, client, out)
                return
        if line:  # an empty line is a nudge, not an attempt
            client.attempts += 1
        if client.attempts >= self.rules.name_attempts:
            out.reply(conn, Error(f"{problem} Too many invalid usernames."))
            self._quit(conn, client, out, Reason.BAD_NAME)
        else:
            out.reply(conn, NameRefused(problem), AskName())

    def _registered(self, conn: ConnId, client: _Client, out: _Outputs) -> None:
        """``conn`` has its name: welcome it and put it in the lobby."""
        client.phase = Phase.CHATTING
        client.tokens, client.stamp = float(self.rules.flood_burst), self._now
        out.reply(conn, Welcome(client.name, self.online))
        self._enter(conn, client, LOBBY, out, quiet=True)

    def _claim(
        self, conn: ConnId, client: _Client, name: str, *, owner: bool = False
    ) -> str | None:
        """Give ``conn`` the name ``name`` if it may have it; else return why not.
        ``owner``: it has just logged in to the account of that name."""
        if self.rules.unicode_names:
            name = unicodedata.normalize("NFC", name)
        problem = check_name(name, self.rules.reserved_names, unicode=self.rules.unicode_names)
        key = name_key(name)
        if problem is None and self._names.get(key, conn) != conn:
            problem = f'The name "{name}" is already taken; please choose another.'
        registered = key in self.registry.accounts and not owner and client.account != key
        if problem is None and registered:
            naming = client.phase is Phase.NAMING
            how = f"{name} <password>" if naming else f"/login {name} <password>"
            problem = f'The name "{name}" is registered. To log in, type: {how}'
        if problem is None:
            if client.name:
                del self._names[name_key(client.name)]
            client.name = name
            self._names[key] = conn
        return problem

    def _chat_line(self, conn: ConnId, client: _Client, line: str, out: _Outputs) -> None:
        line = line.rstrip()
        if not line or line.isspace():
            return
        if line.startswith("/") and not line.startswith("//"):
            self._command(conn, client, line, out)
            return
        self._say(conn, client, Kind.SAID, line[1:] if line.startswith("//") else line, out)

    def _say(self, conn: ConnId, client: _Client, kind: Kind, text: str, out: _Outputs) -> None:
        room = self._rooms[client.current].memory
        event = Said(client.name, text) if kind is Kind.SAID else Action(client.name, text)
        out.broadcast(room.name, event, exclude=conn)
        room.recent.append(self._record(out, kind, room.name, client.name, text))

    def _command(self, conn: ConnId, client: _Client, line: str, out: _Outputs) -> None:
        word, _, args = line[1:].partition(" ")
        command = COMMANDS.get(word.lower())
        if command is None:
            shown = word[:_SHOWN_COMMAND] + ("..." if len(word) > _SHOWN_COMMAND else "")
            out.reply(conn, Error(f'Unknown command "/{shown}". Type /help for the commands.'))
            return
        if command.chatting and client.phase is not Phase.CHATTING:
            out.reply(conn, Error(f"Choose a username before using /{word.lower()}."))
            return
        command.run(self, conn, client, args.strip(), out)

    def _quit(self, conn: ConnId, client: _Client, out: _Outputs, reason: Reason) -> None:
        client.phase = Phase.CLOSING
        out.reply(conn, Goodbye(reason))
        out.close(conn, reason)

    def _expire(self, conn: ConnId, client: _Client, out: _Outputs) -> None:
        seconds = f"{self.rules.name_timeout:g}"
        out.reply(conn, Error(f"No valid username within {seconds} seconds."))
        self._quit(conn, client, out, Reason.NAME_TIMEOUT)

    # -- rooms -----------------------------------------------------------------------------

    def _memory(self, name: str, topic: str = "") -> _Memory:
        return _Memory(name, topic, deque(maxlen=self.rules.history_lines))

    def _record(
        self, out: _Outputs, kind: Kind, room: str, name: str, text: str = "", target: str = ""
    ) -> Entry:
        entry = Entry(self.clock(), kind, room, name, text, target)
        out.record(entry)
        return entry

    def today(self) -> str:
        """Today's date by ``clock`` (UTC, YYYY-MM-DD): history older than this shows its date."""
        return time.strftime("%Y-%m-%d", time.gmtime(self.clock()))

    def _enter(
        self, conn: ConnId, client: _Client, name: str, out: _Outputs, *, quiet: bool = False
    ) -> None:
        """Make ``name`` the current room of ``conn``, joining it first if needed."""
        key = name_key(name)
        if key in client.rooms:
            if key != client.current:
                self._focus(conn, client, key, out)
            room = self._rooms[key]
            out.reply(
                conn, RoomEntered(room.memory.name, len(room.members), room.memory.topic, False)
            )
            return
        if len(client.rooms) >= self.rules.max_rooms_per_user:
            limit = self.rules.max_rooms_per_user
            out.reply(conn, Error(f"You are in {limit} rooms, the most allowed; /leave one first."))
            return
        if key not in self._rooms and len(self._rooms) >= self.rules.max_rooms:
            out.reply(conn, Error("There are too many rooms; join one from /rooms."))
            return
        if key not in self._rooms and key not in self._remembered and self.stored:
            out.add(LoadHistory(conn, name))
            return
        self._join(conn, client, name, out, quiet=quiet)

    def _join(
        self, conn: ConnId, client: _Client, name: str, out: _Outputs, *, quiet: bool = False
    ) -> None:
        key = name_key(name)
        room = self._rooms.get(key)
        if room is None:
            memory = self._remembered.pop(key, None) or self._memory(name)
            room = self._rooms[key] = _Room(memory)
        memory = room.memory
        room.members[conn] = None
        client.rooms.append(key)
        if client.current:
            self._focus(conn, client, key, out, subscribe=False)
        client.current = key
        out.broadcast(memory.name, Joined(client.name, None if quiet else memory.name), conn)
        self._record(out, Kind.JOINED, memory.name, client.name)
        if not quiet or memory.topic:
            out.reply(conn, RoomEntered(memory.name, len(room.members), memory.topic, True))
        if memory.recent:
            out.reply(conn, History(memory.name, tuple(memory.recent), self.today()))
        # In the same call as the history: live lines start exactly where it ends.
        out.add(Subscribe(conn, memory.name, current=True))

    def _focus(
        self, conn: ConnId, client: _Client, key: str, out: _Outputs, *, subscribe: bool = True
    ) -> None:
        """Make ``key`` the current room: the old one's lines get the [#room] prefix."""
        if client.current and client.current != key:
            old = self._rooms[client.current].memory.name
            out.add(Subscribe(conn, old, current=False))
        client.current = key
        if subscribe:
            out.add(Subscribe(conn, self._rooms[key].memory.name, current=True))

    def _maybe_forget(self, key: str) -> None:
        room = self._rooms[key]
        if not room.members and room.memory.name != LOBBY:
            del self._rooms[key]
            self._remember(key, room.memory)

    def _remember(self, key: str, memory: _Memory) -> None:
        self._remembered[key] = memory
        self._remembered.move_to_end(key)
        while len(self._remembered) > ROOMS_REMEMBERED:
            self._remembered.popitem(last=False)

    def _room_arg(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> str | None:
        """The room key named by ``args`` (the current room if empty), if ``conn`` is in it."""
        if not args:
            return client.current
        problem = check_room(args.split()[0])
        if problem is not None:
            out.reply(conn, Error(problem))
            return None
        key = name_key(args.split()[0])
        if key not in client.rooms:
            out.reply(conn, Error(f"You are not in {args.split()[0]}."))
            return None
        return key

    # -- commands (registered in COMMANDS below) -------------------------------------------

    def _help(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        listing = tuple(dict.fromkeys((c.usage, c.summary) for c in COMMANDS.values()))
        out.reply(conn, Help((*listing, ("//text", "send a line that starts with /"))))

    def _users(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if args:
            problem = check_room(args.split()[0])
            room = self._rooms.get(name_key(args.split()[0]))
            if problem is not None or room is None:
                out.reply(conn, Error(problem or f"There is no room {args.split()[0]}."))
                return
            members = (self._clients[c].name for c in room.members)
            names = sorted(members, key=str.casefold)
            out.reply(conn, UserList(len(names), tuple(names[:USERS_SHOWN]), room.memory.name))
            return
        names = sorted((c.name for c in self._clients.values() if c.name), key=str.casefold)
        out.reply(conn, UserList(len(names), tuple(names[:USERS_SHOWN])))

    def _rooms_command(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        rooms = sorted(
            ((r.memory.name, len(r.members)) for r in self._rooms.values()),
            key=lambda room: (-room[1], room[0].casefold()),
        )
        out.reply(conn, RoomList(len(rooms), tuple(rooms[:ROOMS_SHOWN])))

    def _join_command(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        name = args.split()[0] if args else ""
        problem = check_room(name)
        if problem is not None:
            out.reply(conn, Error(problem))
            return
        key = name_key(name)
        existing = self._rooms[key].memory if key in self._rooms else self._remembered.get(key)
        self._enter(conn, client, existing.name if existing else name, out)

    def _switch(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if not args:
            out.reply(conn, Error("Which room? /switch #room (one you are in)."))
            return
        if (key := self._room_arg(conn, client, args, out)) is not None:
            self._enter(conn, client, self._rooms[key].memory.name, out)

    def _leave(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        key = self._room_arg(conn, client, args, out)
        if key is None:
            return
        room = self._rooms[key]
        if len(client.rooms) == 1:
            out.reply(conn, Error(f"You cannot leave {room.memory.name}: it is your only room."))
            return
        client.rooms.remove(key)
        del room.members[conn]
        out.add(Unsubscribe(conn, room.memory.name))
        out.broadcast(room.memory.name, Left(client.name, Reason.QUIT, room.memory.name), conn)
        self._record(out, Kind.LEFT, room.memory.name, client.name, Reason.QUIT.value)
        if key == client.current:
            client.current = ""
            self._focus(conn, client, client.rooms[-1], out)
        out.reply(conn, RoomLeft(room.memory.name, self._rooms[client.current].memory.name))
        self._maybe_forget(key)

    def _topic(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        memory = self._rooms[client.current].memory
        if not args:
            out.reply(conn, Topic(memory.name, memory.topic))
            return
        if len(args) > TOPIC_MAX:
            out.reply(
                conn,
                Error(f"That topic is too long ({len(args)} characters; at most {TOPIC_MAX})."),
            )
            return
        memory.topic = args
        out.broadcast(memory.name, TopicChanged(client.name, memory.name, args), exclude=None)
        memory.recent.append(self._record(out, Kind.TOPIC, memory.name, client.name, args))

    def _msg(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        name, _, text = args.partition(" ")
        text = text.strip()
        if not name or not text:
            out.reply(conn, Error("Usage: /msg <user> <text>"))
            return
        target = self._names.get(name_key(name))
        if target is None:
            shown = name[:NAME_MAX]
            out.reply(conn, Error(f'No user named "{shown}" is online. /users lists who is.'))
            return
        peer = self._clients[target].name
        out.reply(target, Private(client.name, text, incoming=True))
        out.reply(conn, Private(peer, text, incoming=False))
        self._record(out, Kind.PRIVATE, "", client.name, text, peer)

    def _me(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if not args:
            out.reply(conn, Error("Usage: /me <action>, e.g. /me waves"))
            return
        self._say(conn, client, Kind.ACTION, args, out)

    def _nick(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        old = client.name
        problem = self._claim(conn, client, args)
        if problem is not None:
            out.reply(conn, Error(f"{problem} You are still {old}."))
            return
        self._renamed(conn, client, old, out)

    def _renamed(self, conn: ConnId, client: _Client, old: str, out: _Outputs) -> None:
        """Tell ``conn`` and its rooms that ``old`` is now ``client.name``."""
        out.reply(conn, NickChanged(old, client.name))
        for key in client.rooms:
            room = self._rooms[key].memory.name
            out.broadcast(room, NickChanged(old, client.name), exclude=conn)
            self._record(out, Kind.NICK, room, old, client.name)

    # -- accounts and admins (rules in accounts.py) ----------------------------------------

    def load_accounts(self, accounts: Iterable[Account], bans: Iterable[Ban]) -> None:
        """Before serving: the accounts and bans storage holds."""
        self.registry.accounts = {name_key(a.name): a for a in accounts}
        self.registry.bans = {(b.kind, b.key): b for b in bans}

    def _begin_login(
        self, conn: ConnId, client: _Client, name: str, password: str, out: _Outputs
    ) -> str | None:
        """Start checking ``password`` for the account ``name``, or return why not."""
        key = name_key(name)
        account = self.registry.accounts.get(key)
        if account is None:
            return f'There is no account "{name[:NAME_MAX]}".'
        ban = self.registry.ban_of("account", key, self.clock())
        if ban is not None:
            return f"The account {account.name} is banned {describe_until(ban.until)}."
        throttle = self.registry.throttle
        wait = max(
            throttle.wait(f"account:{key}", self._now),
            throttle.wait(f"address:{client.address}", self._now),
        )
        if wait > 0:
            return f"Too many failed logins; try again in {math.ceil(wait)} seconds."
        if self._names.get(key, conn) != conn:
            return f"{account.name} is already logged in."
        client.pending = ("login", account.name)
        out.add(CheckPassword(conn, key, password))
        return None

    def password_checked(self, conn: ConnId, ok: bool, admin: bool, now: float) -> list[Output]:
        """The answer to ``CheckPassword``: was it right, and is the account (as stored) an
        admin's. Goes on with whatever asked for the check, then with held input."""
        if (answer := self._answer_for(conn, now)) is None:
            return []
        client, pending, out = answer
        key = client.account if pending[0] != "login" else name_key(pending[1])
        throttle = self.registry.throttle
        if not ok:
            throttle.failed(f"account:{key}", now)
            throttle.failed(f"address:{client.address}", now)
        elif pending[0] == "login":
            throttle.succeeded(f"account:{key}")
        account = self.registry.accounts.get(key)
        if ok and account is not None and account.admin != admin:
            account = self.registry.accounts[key] = attrs.evolve(account, admin=admin)
        if pending[0] == "login":
            self._logged_in(conn, client, pending[1], ok and account is not None, out)
        elif pending[0] == "password" and ok:
            client.pending = ("rehash",)
            out.add(HashPassword(conn, pending[1]))
            return out.done()
        elif pending[0] == "unregister" and ok:
            self.registry.accounts.pop(key, None)
            client.account = ""
            out.add(SaveAccount(key, None))
            out.reply(conn, Notice(f"Your account {client.name} is deleted; the name is free now."))
        else:
            out.reply(conn, Error("Wrong password; nothing was changed."))
        return self._run(conn, client, now, out)

    def _answer_for(
        self, conn: ConnId, now: float
    ) -> tuple[_Client, tuple[str, ...], _Outputs] | None:
        """For an answer to a password check or hash: the client (None if it is gone) and
        what the work was for."""
        client = self._clients.get(conn)
        if client is None or self._shutting_down:
            return None
        self._now = now
        pending, client.pending = client.pending, ()
        return client, pending, _Outputs()

    def _logged_in(self, conn: ConnId, client: _Client, name: str, ok: bool, out: _Outputs) -> None:
        if not ok:
            wrong = f"Wrong password for {name}."
            if client.phase is Phase.NAMING:
                client.attempts += 1
                if client.attempts >= self.rules.name_attempts:
                    out.reply(conn, Error(f"{wrong} Too many invalid usernames."))
                    self._quit(conn, client, out, Reason.BAD_NAME)
                else:
                    out.reply(conn, NameRefused(wrong), AskName())
            else:
                out.reply(conn, Error(wrong))
            return
        old, was = client.name, client.phase
        problem = self._claim(conn, client, name, owner=True)
        if problem is not None:  # taken meanwhile by a login elsewhere
            out.reply(conn, Error(problem))
            if was is Phase.NAMING:
                out.reply(conn, AskName())
            return
        client.account = name_key(name)
        out.reply(conn, Notice(f"Logged in as {client.name}."))
        if was is Phase.NAMING:
            self._registered(conn, client, out)
        elif old != client.name:
            self._renamed(conn, client, old, out)

    def password_hashed(self, conn: ConnId, hashed: str, now: float) -> list[Output]:
        """The answer to ``HashPassword``: store the account it was for."""
        if (answer := self._answer_for(conn, now)) is None:
            return []
        client, pending, out = answer
        accounts = self.registry.accounts
        if pending[0] == "register":
            key = name_key(client.name)
            if key in accounts:
                out.reply(conn, Error(f"{client.name} was registered meanwhile."))
            else:
                account = accounts[key] = Account(client.name, hashed)
                client.account = key
                out.add(SaveAccount(key, account))
                out.reply(
                    conn,
                    Notice(
                        f"Registered {client.name}. Nobody else can use this name now; to log "
                        f"in next time, type at the prompt: {client.name} <password>"
                    ),
                )
        elif (current := accounts.get(client.account)) is not None:  # "rehash"
            changed = accounts[client.account] = attrs.evolve(current, hash=hashed)
            out.add(SaveAccount(client.account, changed))
            out.reply(conn, Notice("Password changed."))
        return self._run(conn, client, now, out)

    def _is_admin(self, client: _Client) -> bool:
        account = self.registry.accounts.get(client.account) if client.account else None
        return account is not None and (account.admin or client.account in self.rules.admins)

    def _register(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if not self.stored:
            out.reply(conn, Error("This server keeps no accounts (it runs without a database)."))
            return
        if client.account == name_key(client.name):
            out.reply(conn, Error(f"{client.name} is registered already; you are logged in."))
            return
        if problem := check_password(args):
            out.reply(conn, Error(problem))
            return
        client.pending = ("register",)
        out.add(HashPassword(conn, args))

    def _login(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        name, _, password = args.partition(" ")
        if not name or not password.strip():
            out.reply(conn, Error("Usage: /login <name> <password>"))
            return
        if problem := self._begin_login(conn, client, name, password.strip(), out):
            out.reply(conn, Error(problem))

    def _password(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        old, _, new = args.partition(" ")
        if not client.account:
            out.reply(conn, Error("You are not logged in to an account."))
        elif not old or not new:
            out.reply(conn, Error("Usage: /password <old> <new>"))
        elif problem := check_password(new):
            out.reply(conn, Error(problem))
        else:
            client.pending = ("password", new)
            out.add(CheckPassword(conn, client.account, old))

    def _unregister(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if not client.account:
            out.reply(conn, Error("You are not logged in to an account."))
        elif not args:
            out.reply(conn, Error("Usage: /unregister <password>"))
        else:
            client.pending = ("unregister",)
            out.add(CheckPassword(conn, client.account, args))

    def _kick(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if not self._is_admin(client):
            out.reply(conn, Error("Only admins can use /kick."))
            return
        name, _, reason = args.partition(" ")
        target = self._names.get(name_key(name)) if name else None
        if target is None:
            out.reply(
                conn,
                Error(
                    f'No user named "{name[:NAME_MAX]}" is online.'
                    if name
                    else "Usage: /kick <user> [reason]"
                ),
            )
            return
        out.reply(conn, Notice(f"Kicked {self._clients[target].name}."))
        self._throw_out(
            target, f"You were kicked by {client.name}", reason.strip(), Reason.KICKED, out
        )

    def _throw_out(self, conn: ConnId, what: str, reason: str, why: Reason, out: _Outputs) -> None:
        client = self._clients[conn]
        if client.phase is Phase.CLOSING:
            return
        client.phase = Phase.CLOSING
        out.reply(conn, Notice(f"{what}: {reason}" if reason else f"{what}."))
        out.close(conn, why)

    def _ban(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if not self._is_admin(client):
            out.reply(conn, Error("Only admins can use /ban."))
            return
        words = args.split(maxsplit=1)
        if not words:
            out.reply(conn, Error("Usage: /ban <user or address> [30m|12h|7d] [reason]"))
            return
        rest = words[1] if len(words) > 1 else ""
        seconds = math.inf
        if match := _DURATION.match(rest):
            seconds = int(match[1]) * _UNITS[match[2]]
            rest = rest[match.end() :]
        target = self._ban_target(words[0], out, conn)
        if target is None:
            return
        kind, key, shown = target
        ban = Ban(kind, key, self.clock() + seconds, rest.strip(), client.name)
        self.registry.bans[(kind, key)] = ban
        out.add(SaveBan(kind, key, ban))
        out.reply(conn, Notice(f"Banned {shown} {describe_until(ban.until)}."))
        for other, c in list(self._clients.items()):
            hit = c.address == key if kind == "address" else key in (c.account, name_key(c.name))
            if hit and other != conn:
                self._throw_out(
                    other, f"You were banned by {client.name}", ban.reason, Reason.BANNED, out
                )

    def _ban_target(self, word: str, out: _Outputs, conn: ConnId) -> tuple[str, str, str] | None:
        """(kind, key, how to show it) for /ban's target, or None (said why)."""
        try:
            return "address", str(ipaddress.ip_address(word)), word
        except ValueError:
            pass
        key = name_key(word)
        if key in self.registry.accounts:
            return "account", key, f"the account {self.registry.accounts[key].name}"
        online = self._names.get(key)
        if online is not None and self._clients[online].address:
            address = self._clients[online].address
            return "address", address, f"{self._clients[online].name}'s address ({address})"
        out.reply(conn, Error(f'No account, user or address "{word[:64]}".'))
        return None

    def _unban(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        if not self._is_admin(client):
            out.reply(conn, Error("Only admins can use /unban."))
            return
        word = args.split()[0] if args else ""
        try:
            keys = [("address", str(ipaddress.ip_address(word)))]
        except ValueError:
            keys = [("account", name_key(word))]
        for kind, key in keys:
            if self.registry.bans.pop((kind, key), None) is not None:
                out.add(SaveBan(kind, key, None))
                out.reply(conn, Notice(f"Lifted the ban on {word}."))
                return
        out.reply(
            conn,
            Error(f'No ban on "{word[:64]}".' if word else "Usage: /unban <account or address>"),
        )

    def _whois(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        target = self._names.get(name_key(args.split()[0])) if args else conn
        if target is None:
            out.reply(conn, Error(f'No user named "{args.split()[0][:NAME_MAX]}" is online.'))
            return
        who = self._clients[target]
        rooms = tuple(self._rooms[k].memory.name for k in who.rooms)
        idle = max(0.0, self._now - who.last_input)
        out.reply(conn, Whois(who.name, rooms, who.since, idle))

    def _history(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        words = args.split()
        peer = ""
        if words and words[0].startswith("@"):
            peer = words.pop(0)[1:]
            if check_name(peer, frozenset(), unicode=True) is not None:
                out.reply(conn, Error(f'"{peer[:NAME_MAX]}" is not a username.'))
                return
        limit = self.rules.history_lines or 20
        if words:
            if not words[0].isdigit() or not 1 <= int(words[0]) <= HISTORY_MAX:
                out.reply(conn, Error(f"/history takes a number of lines from 1 to {HISTORY_MAX}."))
                return
            limit = int(words[0])
        if peer:
            out.add(QueryHistory(conn, limit, name=client.name, peer=peer, since=client.since))
        else:
            out.add(QueryHistory(conn, limit, room=self._rooms[client.current].memory.name))

    def _quit_command(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        self._quit(conn, client, out, Reason.QUIT)


@attrs.frozen
class Command:
    """One entry of the command registry."""

    usage: str  #: how to type it, shown by /help
    summary: str  #: what it does, shown by /help
    run: Callable[[Chat, ConnId, _Client, str, _Outputs], None]  #: (chat, conn, client, args, out)
    chatting: bool = True  #: only after choosing a username


_MSG = Command("/msg <user> <text>", "private message (also /w)", Chat._msg)

COMMANDS: dict[str, Command] = {
    "help": Command("/help", "show this list", Chat._help, chatting=False),
    "users": Command("/users [#room]", "list who is online, or in a room", Chat._users, False),
    "rooms": Command("/rooms", "list the rooms", Chat._rooms_command, chatting=False),
    "join": Command("/join #room", "enter a room (creating it) and talk there", Chat._join_command),
    "switch": Command("/switch #room", "talk in another of your rooms", Chat._switch),
    "leave": Command("/leave [#room]", "leave a room (this one if none named)", Chat._leave),
    "topic": Command("/topic [text]", "show or set this room's topic", Chat._topic),
    "msg": _MSG,
    "w": _MSG,
    "me": Command("/me <action>", "say what you are doing: * you waves", Chat._me),
    "nick": Command("/nick <name>", "change your username", Chat._nick),
    "whois": Command("/whois <user>", "show a user's rooms and idle time", Chat._whois),
    "history": Command(
        "/history [N] [@user]", "show earlier lines, or private ones", Chat._history
    ),
    "register": Command(
        "/register <password>", "own your name: only you may use it", Chat._register
    ),
    "login": Command("/login <name> <password>", "take your registered name", Chat._login),
    "password": Command("/password <old> <new>", "change your password", Chat._password),
    "unregister": Command("/unregister <password>", "delete your account", Chat._unregister),
    "kick": Command("/kick <user> [reason]", "(admins) disconnect a user", Chat._kick),
    "ban": Command("/ban <user|address> [7d] [reason]", "(admins) keep out a while", Chat._ban),
    "unban": Command("/unban <account|address>", "(admins) lift a ban", Chat._unban),
    "quit": Command("/quit", "leave the chat", Chat._quit_command, chatting=False),
}
"""Every command there is, by the word after the slash (matched case-insensitively)."""
