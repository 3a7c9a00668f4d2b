"""The chat rules: usernames, commands, who hears what. Sans-I/O: no trio, no await.

Theory of operation. ``Chat`` holds the state shared by all connections (who is
registered under which name) and one ``_Client`` per connection (its line decoder and
where it is in its life). The I/O layer calls ``connect``, ``receive`` (bytes in,
``b""`` at EOF), ``expire`` and ``disconnect``, passing the time in, and carries out the
``Output`` items they return in order. Because no call awaits, each call is atomic with
respect to every other connection.

Rules:

1. A connection is NAMING, then CHATTING, then CLOSING::

       NAMING   --valid free name-->        CHATTING  (Welcome to it, Joined to the others)
       NAMING   --5th bad name / timeout--> CLOSING
       any      --/quit, Ctrl-C, EOF-->     CLOSING
       CLOSING  ignores further input; ``disconnect`` removes it.

2. Usernames are 1-32 ASCII letters, digits, ``_`` or ``-``, starting with a letter, so
   no two names look alike (``Rules.unicode_names`` allows every script, look-alikes
   too). They are unique regardless of case (``name_key``) and claimed in the same call
   that checks them (no await in between: two racing clients, exactly one wins).
   Reserved names are refused. A refusal says why and asks again.
3. A chat line goes to every other CHATTING user, never back to its sender. Blank lines
   are ignored, ``//text`` sends ``/text``, ``/cmd`` runs a command from ``COMMANDS``
   (the only list of commands; ``/help`` is generated from it). An unknown command gets
   one error line and is never broadcast.
4. Every connection that was CHATTING produces exactly one ``Left`` when it is
   disconnected, whatever the reason; during shutdown none are sent (everyone is leaving).
5. Consecutive deliveries to the same audience are merged into one ``Reply`` or
   ``Broadcast``, so a pasted block of lines is published once, in order.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Callable

import attrs

from chat_trio.protocol.events import (
    AskName,
    Broadcast,
    Close,
    ConnId,
    Error,
    Event,
    Goodbye,
    Greeting,
    Help,
    Joined,
    Left,
    NameRefused,
    Output,
    Reason,
    Reply,
    Said,
    Subscribe,
    UserList,
    Welcome,
)
from chat_trio.protocol.lines import (
    DEFAULT_MAX_LINE,
    EndOfInput,
    Interrupted,
    LineDecoder,
    TooLong,
)

NAME_MAX = 32
DEFAULT_RESERVED_NAMES = frozenset(
    {"admin", "server", "system", "root", "operator", "moderator", "chat-trio"}
)
USERS_SHOWN = 100
"""/users names at most this many, so its answer stays one readable line (and far below
any send-queue bound) even with 10,000 users online."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
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


class Phase(enum.Enum):
    NAMING = "naming"
    CHATTING = "chatting"
    CLOSING = "closing"


@attrs.define
class _Client:
    decoder: LineDecoder
    deadline: float  # when NAMING ends with NAME_TIMEOUT
    last_input: float = 0.0  # for the idle timeout
    phase: Phase = Phase.NAMING
    name: str = ""
    attempts: int = 0


class _Outputs:
    """Collects outputs, merging consecutive events for the same audience (rule 5)."""

    def __init__(self) -> None:
        self.items: list[Output] = []
        self._audience: tuple[str, ConnId | None] | None = None
        self._events: list[Event] = []

    def reply(self, conn: ConnId, *events: Event) -> None:
        self._add(("reply", conn), events)

    def broadcast(self, event: Event, exclude: ConnId | None) -> None:
        self._add(("all", exclude), (event,))

    def subscribe(self, conn: ConnId) -> None:
        self._end_run()
        self.items.append(Subscribe(conn))

    def close(self, conn: ConnId, reason: Reason) -> None:
        self._end_run()
        self.items.append(Close(conn, reason))

    def done(self) -> list[Output]:
        self._end_run()
        return self.items

    def _add(self, audience: tuple[str, ConnId | None], events: tuple[Event, ...]) -> None:
        if audience != self._audience:
            self._end_run()
            self._audience = audience
        self._events.extend(events)

    def _end_run(self) -> None:
        if self._audience is not None:
            kind, conn = self._audience
            events = tuple(self._events)
            if kind == "reply":
                assert conn is not None
                self.items.append(Reply(conn, events))
            else:
                self.items.append(Broadcast(events, exclude=conn))
        self._audience = None
        self._events = []


class Chat:
    """The chat rules and the state they govern. See the module docstring."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self._clients: dict[ConnId, _Client] = {}
        self._names: dict[str, ConnId] = {}  # name_key(name) -> its CHATTING connection
        self._shutting_down = False

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
        if client.phase is Phase.CHATTING and self.rules.idle_timeout:
            return client.last_input + self.rules.idle_timeout
        return math.inf

    # -- the I/O layer's calls -------------------------------------------------------------

    def connect(self, conn: ConnId, now: float) -> list[Output]:
        """A new connection arrived: greet it and ask for a name."""
        if conn in self._clients:
            raise ValueError(f"connection {conn} is already connected")
        self._clients[conn] = _Client(
            LineDecoder(self.rules.max_line), deadline=now + self.rules.name_timeout, last_input=now
        )
        return [Reply(conn, (Greeting(), AskName()))]

    def receive(self, conn: ConnId, data: bytes | bytearray, now: float) -> list[Output]:
        """Bytes arrived from ``conn`` (``b""``: it closed its side)."""
        client = self._clients[conn]
        out = _Outputs()
        if self._shutting_down:
            return []
        client.last_input = now
        for item in client.decoder.receive(data):
            if client.phase is Phase.CLOSING:
                break
            if isinstance(item, str):
                if client.phase is Phase.CHATTING:
                    self._chat_line(conn, client, item, out)
                else:
                    self._name_line(conn, client, item, out)
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
        return out.done()

    def expire(self, conn: ConnId, now: float) -> list[Output]:
        """Time has passed: close ``conn`` if it is past its ``deadline``."""
        client = self._clients[conn]
        out = _Outputs()
        if client.phase is Phase.NAMING and now >= client.deadline:
            self._expire(conn, client, out)
        elif client.phase is Phase.CHATTING and now >= self.deadline(conn):
            seconds = f"{self.rules.idle_timeout:g}"
            out.reply(conn, Error(f"Disconnected after {seconds} seconds without activity."))
            self._quit(conn, client, out, Reason.IDLE)
        return out.done()

    def disconnect(self, conn: ConnId, reason: Reason) -> list[Output]:
        """``conn`` is gone (for ``reason``): free its name and tell the others once."""
        client = self._clients.pop(conn, None)
        if client is None or not client.name:
            return []
        del self._names[name_key(client.name)]
        if self._shutting_down:
            return []
        return [Broadcast((Left(client.name, reason),), exclude=conn)]

    def shut_down(self) -> None:
        """The server is shutting down: ignore input and send no more leave notices."""
        self._shutting_down = True

    # -- rules -----------------------------------------------------------------------------

    def _name_line(self, conn: ConnId, client: _Client, line: str, out: _Outputs) -> None:
        line = line.strip()
        if line.startswith("/"):
            self._command(conn, client, line, out)
            if client.phase is Phase.NAMING:
                out.reply(conn, AskName())
            return
        if self.rules.unicode_names:
            line = unicodedata.normalize("NFC", line)
        problem = check_name(line, self.rules.reserved_names, unicode=self.rules.unicode_names)
        if problem is None and name_key(line) in self._names:
            problem = f'The name "{line}" is already taken; please choose another.'
        if problem is None:
            client.phase, client.name = Phase.CHATTING, line
            self._names[name_key(line)] = conn
            out.reply(conn, Welcome(line, self.online))
            out.subscribe(conn)
            out.broadcast(Joined(line), exclude=conn)
            return
        if line:  # an empty line is a nudge, not an attempt
            client.attempts += 1
        if client.attempts >= self.rules.name_attempts:
            out.reply(conn, Error(f"{problem} Too many invalid usernames."))
            self._quit(conn, client, out, Reason.BAD_NAME)
        else:
            out.reply(conn, NameRefused(problem), AskName())

    def _chat_line(self, conn: ConnId, client: _Client, line: str, out: _Outputs) -> None:
        line = line.rstrip()
        if not line or line.isspace():
            return
        if line.startswith("/") and not line.startswith("//"):
            self._command(conn, client, line, out)
            return
        out.broadcast(Said(client.name, line[1:] if line.startswith("//") else line), conn)

    def _command(self, conn: ConnId, client: _Client, line: str, out: _Outputs) -> None:
        word, _, args = line[1:].partition(" ")
        command = COMMANDS.get(word.lower())
        if command is None:
            shown = word[:_SHOWN_COMMAND] + ("..." if len(word) > _SHOWN_COMMAND else "")
            out.reply(conn, Error(f'Unknown command "/{shown}". Type /help for the commands.'))
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

    # -- commands (registered in COMMANDS below) -------------------------------------------

    def _help(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        listing = tuple((c.usage, c.summary) for c in COMMANDS.values())
        out.reply(conn, Help((*listing, ("//text", "send a line that starts with /"))))

    def _users(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        names = sorted((c.name for c in self._clients.values() if c.name), key=str.casefold)
        out.reply(conn, UserList(len(names), tuple(names[:USERS_SHOWN])))

    def _quit_command(self, conn: ConnId, client: _Client, args: str, out: _Outputs) -> None:
        self._quit(conn, client, out, Reason.QUIT)


@attrs.frozen
class Command:
    """One entry of the command registry."""

    usage: str  #: how to type it, shown by /help
    summary: str  #: what it does, shown by /help
    run: Callable[[Chat, ConnId, _Client, str, _Outputs], None]  #: (chat, conn, client, args, out)


COMMANDS: dict[str, Command] = {
    "help": Command("/help", "show this list", Chat._help),
    "users": Command("/users", "list who is online", Chat._users),
    "quit": Command("/quit", "leave the chat", Chat._quit_command),
}
"""Every command there is, by the word after the slash (matched case-insensitively)."""
