"""The IRC door: what an IRC client sends, as intents; what happens, as IRC messages.

Theory of operation. Lines are framed like the text door's (doors/lines.py, without telnet
and with our own sanitising after CTCP is read), parsed (message.py), and each command is
turned into zero or more items: intents for the rules (a ``JOIN #a,#b`` is two ``Join``),
or answers the door gives itself (CAP, PONG, MOTD, MODE, 421 ...). Items wait in a queue
and are handed out one at a time, like the text door's lines.

IRC-door rules (the rules in chat/ know none of them):

1. Registration: ``NICK`` and ``USER`` in any order; ``CAP LS``/``REQ``/``END`` may come
   first and hold registration until ``CAP END``; ``PASS`` makes registration a login to
   the registered name (so does ``/msg NickServ IDENTIFY [name] <password>`` afterwards).
   Before registration, other commands get 451.
2. Users are placed in ``#lobby`` on registering, as on every door, and may ``PART`` it:
   an IRC user may be in no room at all. Every channel is a room of the same name.
3. Text crossing to other doors is checked as every intent's is (chat/words.py: one
   line; IRC colour and formatting codes are removed with the other control characters;
   CTCP ACTION becomes ``/me``); a long line from the text door reaches IRC as several
   PRIVMSGs.
4. After ``ping_interval`` seconds of silence the server sends PING; no answer within
   ``ping_timeout`` drops the connection (``Reason.PING_TIMEOUT``).

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import base64
import calendar
import math
import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from chat_trio import __version__
from chat_trio.chat import intents as i
from chat_trio.chat import words
from chat_trio.chat.events import (
    Disconnected,
    Done,
    Event,
    NickChanged,
    Reason,
    Refused,
    RoomEntered,
    RoomLeft,
    UserList,
    Welcome,
)
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.state import Phase
from chat_trio.chat.vocabulary import HISTORY_MAX, name_key
from chat_trio.doors import Answer, Free, Item, Local, View, Wire
from chat_trio.doors.irc.message import LINE_MAX, TAGS_MAX, Message, ParseError, parse, serialize
from chat_trio.doors.irc.render import (
    MAX_TARGETS,
    Echo,
    Hold,
    IrcSettings,
    Label,
    Labeled,
    Release,
    Replies,
    Urgent,
    irc_view,
    isupport,
    mask,
    motd,
)
from chat_trio.doors.lines import EndOfInput, Input, LineDecoder, TooLong

CAPABILITIES = (
    "account-notify",
    "account-tag",
    "away-notify",
    "batch",
    "cap-notify",
    "draft/chathistory",
    "echo-message",
    "extended-join",
    "labeled-response",
    "message-tags",
    "multi-prefix",
    "sasl",
    "server-time",
    "userhost-in-names",
)
"""The IRCv3 capabilities offered (CAP LS; ``sasl`` is listed as ``sasl=PLAIN``).
multi-prefix is trivially met: the only prefix is ``@``; labeled-response applies once
registered and with ``batch`` too (as InspIRCd's), to labels of at most ``LABEL_MAX`` bytes."""

LABEL_MAX = 64  #: bytes of a label (IRCv3 labeled-response); a longer one is not answered

_CAP_SETS: dict[frozenset[str], frozenset[str]] = {}
"""One frozenset per set of capabilities in use, shared by every connection that asked
for it (clients of one kind ask for the same ones): a set is 216 bytes or more. At most
``CAP_SETS_MAX`` are kept (the first asked for); a connection asking for another keeps
its own set. Every subset of ``CAPABILITIES`` would be 2^14 sets and 26 MB."""

CAP_SETS_MAX = 64

SASL_CHUNK = 400  #: AUTHENTICATE carries base64 in pieces of this many characters
SASL_MAX = 1200  #: characters of base64 a PLAIN answer may take (names and passwords are short)

_TOO_LONG = Answer((Refused(Problem.LINE_TOO_LONG, limit=LINE_MAX + 2),))
"""417, for a line over 512 bytes (or tags over 8191)."""

_BEFORE_REGISTRATION = frozenset(
    {"CAP", "NICK", "USER", "PASS", "PING", "PONG", "QUIT", "AUTHENTICATE"}
)


class IrcDoor:
    """One IRC connection's door (see ``doors.Door``)."""

    __slots__ = (
        "_caps_changed", "_decoder", "_last_heard", "_lines", "_negotiating", "_nick",
        "_password", "_ping_sent", "_queue", "_said", "_sasl", "_sasl_intent",
        "_sasl_login", "_user", "caps", "nick", "registered", "replies", "rooms", "settings",
    )  # fmt: skip

    def __init__(self, settings: IrcSettings | None = None) -> None:
        self.settings = settings or IrcSettings()
        self._decoder = LineDecoder(TAGS_MAX + LINE_MAX + 1, telnet=False, sanitizing=False)
        self._lines: list[Input] = []  # lists, not deques: an empty deque is 760 bytes
        self._queue: list[Item] = []  # items ready: pushed back, parsed, or the door's own
        self.caps: frozenset[str] = frozenset()
        self._caps_changed = False  # CAP REQ after registering: the rooms' views change
        self._negotiating = False  # between CAP LS/REQ and CAP END: registration waits
        self._nick = ""  # asked for with NICK before registering
        self._user = False  # USER was sent
        self._password = ""  # from PASS
        self.registered = False
        self.nick = "*"  # the nick as the rules have it (for parsing)
        self.rooms: dict[str, str] = {}  # room key -> name, in the order joined
        self.replies = Replies(self.settings)  # rendering, with its own idea of the nick
        self._last_heard = 0.0
        self._ping_sent: float | None = None
        self._said: i.Say | None = None  # the last Say handed out, for echo-message
        self._sasl: str | None = None  # base64 received so far, once AUTHENTICATE PLAIN began
        self._sasl_login = False  # the last LogIn handed out came from SASL
        self._sasl_intent: i.LogIn | None = None

    # -- bytes to items --------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray, now: float = 0.0) -> None:
        self._last_heard = now
        self._ping_sent = None
        self._lines.extend(self._decoder.receive(data))

    def backlog(self) -> int:
        return len(self._lines) + len(self._queue)

    def push_back(self, item: Item) -> None:
        self._queue.insert(0, item)

    def next_item(self, phase: Phase) -> Item | None:
        item = self._next()
        self._said = item if isinstance(item, i.Say) else None
        if isinstance(item, i.LogIn) and item is self._sasl_intent:
            self._sasl_login = True
        return item

    def _next(self) -> Item | None:
        while not self._queue and self._lines:
            line = self._lines.pop(0)
            if isinstance(line, str):
                self._command(line)
            elif isinstance(line, TooLong):
                self._queue.append(_TOO_LONG)
            elif isinstance(line, EndOfInput):
                self._queue.append(i.Hangup())
        return self._queue.pop(0) if self._queue else None

    def _wire(self, *messages: Message) -> None:
        self._queue.append(Answer((Wire("".join(map(serialize, messages)).encode()),)))

    def _numeric(self, numeric: str, *params: str) -> None:
        self._wire(Message(numeric, (self.nick, *params), self.settings.server_name))

    def _command(self, line: str) -> None:
        if not line.strip():
            return
        message = parse(line)
        if isinstance(message, ParseError):
            if message.what in ("too-long", "tags-too-long"):
                self._queue.append(_TOO_LONG)
            return
        command, params = message.command, message.params
        if not self.registered and command not in _BEFORE_REGISTRATION:
            self._numeric("451", "You have not registered")
            return
        label = dict(message.tags).get("label", "") if self._labels else ""
        labelled = 0 < len(label.encode()) <= LABEL_MAX
        if labelled:
            self._queue.append(Answer((Label(label),), free=True))
        handler = self._COMMANDS.get(command)
        if handler is None:
            self._numeric("421", command, "Unknown command")
        elif len(params) < handler[0]:
            self._numeric("461", command, "Not enough parameters")
        else:
            handler[1](self, params)
        if labelled:
            self._queue.append(Answer((Labeled(),), free=True))

    @property
    def _labels(self) -> bool:
        """labeled-response is on: every labelled command gets one labelled answer."""
        return self.registered and {"labeled-response", "batch"} <= self.caps

    # -- registration ----------------------------------------------------------------------

    def _cap(self, params: tuple[str, ...]) -> None:
        sub = params[0].upper()
        server = self.settings.server_name
        if sub == "LS":
            if not self.registered:
                self._negotiating = True
            offered = " ".join("sasl=PLAIN" if c == "sasl" else c for c in CAPABILITIES)
            self._wire(Message("CAP", (self.nick, "LS", offered), server))
        elif sub == "LIST":
            self._wire(Message("CAP", (self.nick, "LIST", " ".join(sorted(self.caps))), server))
        elif sub == "REQ" and len(params) > 1:
            if not self.registered:
                self._negotiating = True
            wanted = params[1].split()
            names = [w.removeprefix("-") for w in wanted]
            if all(n in CAPABILITIES for n in names):
                caps = set(self.caps)
                for w in wanted:
                    if w.startswith("-"):
                        caps.discard(w[1:])
                    else:
                        caps.add(w)
                self.caps = _shared(frozenset(caps))
                self.replies.caps = self.caps
                self._caps_changed = self.registered  # rooms already joined: new views
                self._wire(Message("CAP", (self.nick, "ACK", params[1]), server))
            else:
                self._wire(Message("CAP", (self.nick, "NAK", params[1]), server))
        elif sub == "END":
            if self._negotiating:
                self._negotiating = False
                self._queue.append(Answer((Release(),), free=True))
            self._register()
        else:
            self._numeric("410", sub, "Invalid CAP command")

    def _nick_command(self, params: tuple[str, ...]) -> None:
        nick = params[0]
        if self.registered:
            self._queue.append(i.Rename(nick))
            return
        self._nick = nick
        self._register()

    def _user_command(self, params: tuple[str, ...]) -> None:
        if self.registered:
            self._numeric("462", "You may not reregister")
            return
        if len(params) < 4:
            self._numeric("461", "USER", "Not enough parameters")
            return
        self._user = True
        self._register()

    def _pass(self, params: tuple[str, ...]) -> None:
        if self.registered:
            self._numeric("462", "You may not reregister")
        else:
            self._password = params[0]

    def _authenticate(self, params: tuple[str, ...]) -> None:
        """SASL PLAIN, tied to the accounts: the login is checked by the rules, and what
        registering sends waits for CAP END (``Hold``)."""
        blob = params[0]
        if self.registered or "sasl" not in self.caps:
            self._sasl_answer("904", "SASL authentication failed")
        elif blob == "*":
            self._sasl = None
            self._sasl_answer("906", "SASL authentication aborted")
        elif self._sasl is None:
            if blob.upper() == "PLAIN":
                self._sasl = ""
                self._queue.append(Answer((Urgent(b"AUTHENTICATE +\r\n"),)))
            else:
                self._sasl_answer("908", "PLAIN", "are available SASL mechanisms")
        else:
            self._sasl += "" if blob == "+" else blob
            if len(self._sasl) > SASL_MAX:
                self._sasl = None
                self._sasl_answer("905", "SASL message too long")
            elif len(blob) < SASL_CHUNK:
                credentials, self._sasl = _plain(self._sasl), None
                if credentials is None:
                    self._sasl_answer("904", "SASL authentication failed")
                else:
                    self._sasl_intent = i.LogIn(*credentials)
                    self._queue.append(Answer((Hold(),), free=True))
                    self._queue.append(self._sasl_intent)

    def _sasl_answer(self, numeric: str, *params: str, free: bool = False) -> None:
        """Answer AUTHENTICATE before anything else waiting (a client may send CAP END
        without waiting for it). ``free``: not the answer to a line (the outcome of the
        login, which the line that asked for it paid for)."""
        line = Message(numeric, (self.nick, *params), self.settings.server_name)
        self._queue.insert(0, Answer((Urgent(serialize(line).encode()),), free=free))

    def _register(self) -> None:
        if self.registered or self._negotiating or not self._nick or not self._user:
            return
        if self._password:
            self._queue.append(i.LogIn(self._nick, self._password))
        else:
            self._queue.append(i.ChooseName(self._nick))

    # -- commands after registration -------------------------------------------------------

    def _ping(self, params: tuple[str, ...]) -> None:
        server = self.settings.server_name
        self._wire(Message("PONG", (server, params[0] if params else server), server))

    def _pong(self, params: tuple[str, ...]) -> None:
        pass  # any input counts as an answer (see receive_data)

    def _join(self, params: tuple[str, ...]) -> None:
        if params[0] == "0":
            self._queue.extend(i.Leave(room) for room in list(self.rooms.values()))
            return
        for room in params[0].split(",")[:MAX_TARGETS]:
            self._queue.append(i.Join(room))

    def _part(self, params: tuple[str, ...]) -> None:
        for room in params[0].split(",")[:MAX_TARGETS]:
            self._queue.append(i.Leave(room))

    def _privmsg(self, params: tuple[str, ...]) -> None:
        if not params or not params[0]:
            self._numeric("411", "No recipient given (PRIVMSG)")
            return
        if len(params) < 2 or not params[1]:
            self._numeric("412", "No text to send")
            return
        text, action = params[1], False
        if text.startswith("\x01"):
            body = text.strip("\x01")
            word, _, rest = body.partition(" ")
            if word.upper() != "ACTION":
                self._ctcp(params[0], word.upper(), rest)
                return
            text, action = rest, True
        for target in params[0].split(",")[:MAX_TARGETS]:
            if target.startswith("#"):
                self._queue.append(i.Say(target, text, action))
            elif name_key(target) == "nickserv":
                self._nickserv(text)
            else:
                self._queue.append(i.SendPrivate(target, text, action))

    def _ctcp(self, target: str, word: str, rest: str) -> None:
        """A CTCP request: answered by the server on the target's behalf (VERSION, PING,
        TIME), since users of the other doors cannot answer it; others are dropped."""
        answers = {
            "VERSION": f"chat-trio {__version__}",
            "PING": rest,
            "TIME": time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime()),
        }
        if word in answers:
            reply = f"\x01{word} {answers[word]}\x01"
            self._wire(Message("NOTICE", (self.nick, reply), mask(target)))

    def _nickserv(self, text: str) -> None:
        words = text.split()
        command = words[0].upper() if words else "HELP"
        if command == "IDENTIFY" and len(words) in (2, 3):
            name, password = (self.nick, words[1]) if len(words) == 2 else (words[1], words[2])
            self._queue.append(i.LogIn(name, password))
        elif command == "REGISTER" and len(words) >= 2:
            self._queue.append(i.Register(words[1]))
        else:
            help_text = "Commands: IDENTIFY [name] <password>, REGISTER <password>"
            self._wire(Message("NOTICE", (self.nick, help_text), mask("NickServ")))

    def _topic(self, params: tuple[str, ...]) -> None:
        if len(params) == 1:
            self._queue.append(i.ShowTopic(params[0]))
        else:
            self._queue.append(i.SetTopic(params[0], params[1]))

    def _names(self, params: tuple[str, ...]) -> None:
        if not params:
            self._numeric("366", "*", "End of /NAMES list")
            return
        for room in params[0].split(",")[:MAX_TARGETS]:
            self._queue.append(i.ListUsers(room, label="names"))

    def _who(self, params: tuple[str, ...]) -> None:
        mask = params[0] if params else "*"
        if mask.startswith("#"):
            self._queue.append(i.ListUsers(mask, label="who"))
        elif mask in ("*", "0"):
            self._numeric("315", mask, "End of WHO list")
        else:
            self._queue.append(i.LookUp(mask, label="who"))

    def _whois(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.LookUp(params[-1].split(",")[0], label="whois"))

    def _list(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.ListRooms(label="list"))

    def _mode(self, params: tuple[str, ...]) -> None:
        target = params[0]
        if target.startswith("#"):
            if len(params) == 1:
                self._numeric("324", target, "+nt")
            elif params[1] in ("b", "+b", "e", "+e", "I", "+I"):
                end = {"b": "368", "e": "349", "I": "347"}[params[1][-1]]
                self._numeric(end, target, "End of list")
            else:
                self._numeric("482", target, "Channel modes cannot be changed here")
        elif name_key(target) == name_key(self.nick):
            self._numeric("221", "+")
        else:
            self._numeric("502", "Can't change mode for other users")

    def _kick(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.Kick(params[1], params[2] if len(params) > 2 else ""))

    def _away(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.SetAway(params[0] if params else ""))

    def _ison(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.ListUsers(names=params, label="ison"))

    def _userhost(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.ListUsers(names=params[:5], label="userhost"))

    def _motd(self, params: tuple[str, ...]) -> None:
        self._wire(*motd(self.settings, self.nick))

    def _lusers(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.ListUsers(limit=0, label="lusers"))
        self._queue.append(i.ListRooms(limit=0, label="lusers"))

    def _version(self, params: tuple[str, ...]) -> None:
        server = self.settings.server_name
        self._numeric("351", f"chat-trio-{__version__}", server, "")
        self._numeric("005", *isupport(self.settings), "are supported by this server")

    def _time(self, params: tuple[str, ...]) -> None:
        now = time.strftime("%A %B %d %Y -- %H:%M:%S UTC", time.gmtime())
        self._numeric("391", self.settings.server_name, now)

    def _info(self, params: tuple[str, ...]) -> None:
        self._numeric("371", f"chat-trio {__version__}: one chat, several doors, on Trio")
        self._numeric("374", "End of INFO list")

    def _chathistory(self, params: tuple[str, ...]) -> None:
        """draft/chathistory: LATEST, BEFORE and AFTER with timestamps, from storage."""
        sub, target = params[0].upper(), params[1]
        reference, count = (params[2], params[3]) if len(params) > 3 else ("*", params[2])
        if sub not in ("LATEST", "BEFORE", "AFTER"):
            self._fail("INVALID_PARAMS", sub, "Only LATEST, BEFORE and AFTER are supported")
            return
        moment = None
        if reference != "*":
            moment = _timestamp(reference)
            if moment is None:
                self._fail("INVALID_MSGREFTYPE", sub, reference, "Use timestamp=...")
                return
        limit = words.count(count)
        if limit is None or not 1 <= limit <= HISTORY_MAX:
            self._fail("INVALID_PARAMS", sub, count, f"The limit is 1 to {HISTORY_MAX}")
            return
        if not target.startswith("#"):
            self._queue.append(i.ReadHistory(limit, peer=target))
        elif sub == "AFTER":
            self._queue.append(i.ReadHistory(limit, room=target, after=moment))
        else:
            self._queue.append(i.ReadHistory(limit, room=target, before=moment))

    def _fail(self, code: str, *context: str) -> None:
        self._wire(Message("FAIL", ("CHATHISTORY", code, *context), self.settings.server_name))

    def _quit(self, params: tuple[str, ...]) -> None:
        self._queue.append(i.Quit())

    _COMMANDS: ClassVar[dict[str, tuple[int, Callable[[IrcDoor, tuple[str, ...]], None]]]] = {
        "CAP": (1, _cap),
        "AUTHENTICATE": (1, _authenticate),
        "NICK": (1, _nick_command),
        "USER": (1, _user_command),
        "PASS": (1, _pass),
        "PING": (0, _ping),
        "PONG": (0, _pong),
        "QUIT": (0, _quit),
        "JOIN": (1, _join),
        "PART": (1, _part),
        "PRIVMSG": (0, _privmsg),
        "NOTICE": (0, _privmsg),
        "TOPIC": (1, _topic),
        "NAMES": (0, _names),
        "WHO": (0, _who),
        "WHOIS": (1, _whois),
        "LIST": (0, _list),
        "MODE": (1, _mode),
        "KICK": (2, _kick),
        "AWAY": (0, _away),
        "ISON": (1, _ison),
        "USERHOST": (1, _userhost),
        "MOTD": (0, _motd),
        "LUSERS": (0, _lusers),
        "VERSION": (0, _version),
        "TIME": (0, _time),
        "INFO": (0, _info),
        "CHATHISTORY": (3, _chathistory),
    }
    """Every command, with the parameters it needs at least (fewer: 461)."""

    # -- following the rules' replies ------------------------------------------------------

    def observe(self, events: Sequence[Event]) -> None:
        refused = False
        for event in events:
            if isinstance(event, Welcome):
                self.registered = True
                self.nick = event.name
            elif isinstance(event, RoomEntered) and event.joined:
                self.rooms[name_key(event.room)] = event.room
                self._queue.insert(0, Free(i.ListUsers(event.room, label="names")))
            elif isinstance(event, RoomLeft):
                self.rooms.pop(name_key(event.room), None)
            elif isinstance(event, UserList) and event.more and event.names:
                # The next page of NAMES or WHO, once this one is on its way (the session
                # hands it over when the connection's backlog allows).
                page = i.ListUsers(event.room, label=event.label, after=event.names[-1])
                self._queue.insert(0, Free(page))
            elif isinstance(event, Done) and event.outcome is Outcome.LOGGED_IN:
                self.nick = event.name
            elif isinstance(event, Refused):
                refused = True
            elif isinstance(event, NickChanged) and event.old == self.nick:
                self.nick = event.new
        if self._sasl_login:  # the answer may come with these events, or with later ones
            if any(isinstance(e, Done) and e.outcome is Outcome.LOGGED_IN for e in events):
                self._sasl_login = False
                self._sasl_answer("903", "SASL authentication successful", free=True)
            elif any(isinstance(e, Refused) for e in events):
                self._sasl_login = False
                self._queue.insert(0, Answer((Release(),), free=True))
                self._sasl_answer("904", "SASL authentication failed", free=True)
        if self._said is not None and not refused and "echo-message" in self.caps:
            said, self._said = self._said, None
            self._queue.insert(0, Answer((Echo(said.room, said.text, said.action),), free=True))

    # -- events to bytes -------------------------------------------------------------------

    def render(self, events: Sequence[Event | Local]) -> bytes:
        return self.replies.render(events)

    def deliver(self, events: Sequence[Event]) -> bytes:
        return self.replies.deliver(events)

    def view(self, room: str) -> View:
        caps = self.caps
        return irc_view(
            "server-time" in caps,
            "account-tag" in caps,
            "extended-join" in caps,
            "away-notify" in caps,
            "account-notify" in caps,
        )

    def views_changed(self) -> list[tuple[str, View]]:
        if not self._caps_changed:
            return []
        self._caps_changed = False
        return [(room, self.view(room)) for room in self.rooms.values()]

    def farewell(self, reason: Reason, *, cut: bool) -> bytes:
        # The notice starts a line of its own, so it reads well even after a cut line.
        return self.render([Disconnected(reason)]) if reason is Reason.SLOW else b""

    # -- keepalive -------------------------------------------------------------------------

    def deadline(self) -> float:
        if not self.registered:
            return math.inf
        if self._ping_sent is not None:
            return self._ping_sent + self.settings.ping_timeout
        return self._last_heard + self.settings.ping_interval

    def expire(self, now: float) -> Item | None:
        if not self.registered:
            return None
        if self._ping_sent is not None:
            if now >= self._ping_sent + self.settings.ping_timeout:
                return i.Hangup(timed_out=True)
            return None
        if now >= self._last_heard + self.settings.ping_interval:
            self._ping_sent = now
            server = self.settings.server_name
            return Answer((Urgent(serialize(Message("PING", (server,))).encode()),), free=True)
        return None


def _shared(caps: frozenset[str]) -> frozenset[str]:
    """The shared set equal to ``caps``, if one is kept (see ``_CAP_SETS``)."""
    if caps in _CAP_SETS or len(_CAP_SETS) >= CAP_SETS_MAX:
        return _CAP_SETS.get(caps, caps)
    return _CAP_SETS.setdefault(caps, caps)


def _plain(blob: str) -> tuple[str, str] | None:
    """SASL PLAIN's base64 ``authzid NUL authcid NUL password``: (authcid, password)."""
    try:
        parts = base64.b64decode(blob, validate=True).decode().split("\0")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _timestamp(reference: str) -> float | None:
    """``timestamp=2026-12-01T09:00:00.000Z`` as Unix time, or None."""
    kind, _, value = reference.partition("=")
    if kind != "timestamp":
        return None
    whole, _, fraction = value.removesuffix("Z").partition(".")
    try:
        moment = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    return moment + (float(f"0.{fraction}") if words.count(fraction) is not None else 0.0)
