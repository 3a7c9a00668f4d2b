"""The IRC door: what an IRC client sends, as intents; what happens, as IRC messages.

Theory of operation. Lines are framed like the text door's (doors/lines.py, without telnet
and with our own sanitising after CTCP is read), parsed (message.py), and each command is
turned, by its row of the command table (commands.py; registration.py for registering),
into zero or more items: intents for the rules (a ``JOIN #a,#b`` is two ``Join``), or
answers the door gives itself (CAP, PONG, MOTD, MODE, 421 ...). Items wait in one queue
and are handed out one at a time, like the text door's lines; lines are parsed only when
the queue is empty. What the rules answer is rendered by render.py.

IRC-door rules (the rules in chat/ know none of them):

1. Registration: ``NICK`` and ``USER`` in any order; ``CAP LS``/``REQ``/``END`` may come
   first and hold registration until ``CAP END``; ``PASS`` makes registration a login to
   the registered name (so does ``/msg NickServ IDENTIFY [name] <password>`` afterwards).
   Before registration, other commands get 451.
2. Once registered, users are put in the auto-join channels (``IrcSettings.autojoin``,
   ``--irc-autojoin``: ``#lobby`` by default, as on every door; none for conformance
   runs), and may ``PART`` every channel: an IRC user may be in no room at all, and an
   operator's ``KICK`` out of its last channel leaves it in none (``i.Lobby``). Every
   channel is a room of the same name.
3. Text crossing to other doors is checked as every intent's is (chat/words.py: one
   line; IRC colour and formatting codes are removed with the other control characters;
   CTCP ACTION becomes ``/me``); a long line from the text door reaches IRC as several
   PRIVMSGs.
4. After ``ping_interval`` seconds of silence the server sends PING; no answer within
   ``ping_timeout`` drops the connection (``Reason.PING_TIMEOUT``).

This module never imports trio and never does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from chat_trio.chat import intents as i
from chat_trio.chat.events import (
    Disconnected,
    Done,
    Entry,
    Event,
    Reason,
    Refused,
    RoomEntered,
    RoomLeft,
    UserList,
    UserMode,
    UserModes,
    Welcome,
)
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.state import Phase
from chat_trio.chat.vocabulary import name_key
from chat_trio.doors import Answer, Free, Item, Local, View, Wire, own_name
from chat_trio.doors.irc import registration
from chat_trio.doors.irc.commands import COMMANDS
from chat_trio.doors.irc.message import LINE_MAX, TAGS_MAX, Message, ParseError, parse, serialize
from chat_trio.doors.irc.registration import Move, Sasl, Stage
from chat_trio.doors.irc.render import (
    NAMES_MANY,
    Echo,
    IrcSettings,
    Label,
    Labeled,
    Replies,
    Urgent,
    irc_view,
)
from chat_trio.doors.keepalive import Keepalive
from chat_trio.doors.lines import EndOfInput, Input, LineDecoder, NotUtf8, TooLong

LABEL_MAX = 64  #: bytes of a label (IRCv3 labeled-response); a longer one is not answered

_TOO_LONG = Answer((Refused(Problem.LINE_TOO_LONG, limit=LINE_MAX + 2),))
"""417, for a line over 512 bytes, client tags over 4094 bytes, or a PRIVMSG or NOTICE
that would pass 512 bytes once relayed with its sender's prefix (render.fits)."""


_ROOM_PROBLEMS = (
    Problem.ROOM_MISSING,
    Problem.ROOM_NO_HASH,
    Problem.ROOM_LENGTH,
    Problem.ROOM_CHAR,
    Problem.NO_SUCH_ROOM,
)

_NO_USER = Problem.NO_SUCH_USER

ANSWERED_OTHERWISE: dict[tuple[str, Problem], tuple[str, str, bool]] = {
    **{("notice", problem): ("", "", False) for problem in Problem},
    **{("names", p): ("366", "End of /NAMES list", False) for p in _ROOM_PROBLEMS},
    **{(NAMES_MANY, p): ("", "", False) for p in _ROOM_PROBLEMS},
    ("whois", _NO_USER): ("318", "End of /WHOIS list", True),
    ("whowas", Problem.NEVER_HERE): ("369", "End of WHOWAS", True),
    ("nick", Problem.NAME_UNCHANGED): ("", "", False),
    **{("who", p): ("315", "End of WHO list", False) for p in (*_ROOM_PROBLEMS, _NO_USER)},
}
"""Refusals that IRC answers otherwise, by what was asked (``_asking``) and the problem:
(the numeric that replaces or follows it, its text, whether the refusal's own numeric is
kept before it); no numeric: nothing at all. A NOTICE is never answered (RFC 2812
3.3.2); NAMES of an unknown or invalid channel is one 366 (modern.ircdocs.horse); WHOIS
of an absent nick is 401 then 318 (one of several rooms of a NAMES: nothing, the one
366 after them all says it); WHO of one (or of an unknown channel) is just 315;
NICK to the nick one has changes nothing and is not answered (as ergo and InspIRCd)."""


def _asking(item: Item | None) -> str:
    """What ``item`` asks, as ``ANSWERED_OTHERWISE`` names it ("": nothing there)."""
    if isinstance(item, i.Say | i.SendPrivate) and item.notice:
        return "notice"
    if isinstance(item, i.ListUsers | i.LookUp):
        return item.label.partition(" ")[0]  # "who %nuh,42": WHOX's fields come after
    if isinstance(item, i.Rename):
        return "nick"
    if isinstance(item, i.LookUpPast):
        return "whowas"
    return ""


class IrcDoor(Keepalive):
    """One IRC connection's door (see ``doors.Door``)."""

    __slots__ = (
        "_asking", "_decoder", "_instead", "_lines", "_said", "asked_nick", "bot", "caps",
        "caps_changed", "negotiating", "nick", "password", "queue", "realname", "replies",
        "rooms", "sasl", "sasl_data", "settings", "stage", "tags", "user_given", "username",
    )  # fmt: skip

    def __init__(self, settings: IrcSettings | None = None) -> None:
        super().__init__(listening=False)  # pings start once it is registered
        self.settings = settings or IrcSettings()
        self._decoder = LineDecoder(
            TAGS_MAX + LINE_MAX + 1, telnet=False, sanitizing=False, strict=True
        )
        self._lines: list[Input] = []  # lists, not deques: an empty deque is 760 bytes
        self.queue: list[Item] = []  #: items ready: pushed back, parsed, or the door's own
        self.caps: frozenset[str] = frozenset()
        self.caps_changed = False  #: CAP REQ after registering: the rooms' views change
        self.stage = Stage.OPEN  #: registration (registration.py)
        self.negotiating = False  #: between CAP LS or REQ and CAP END, before registering
        self.asked_nick = ""  #: asked for with NICK before registering
        self.user_given = False  #: USER was sent
        self.username = ""  #: USER's username, as given (the intent checks it)
        self.realname = ""  #: USER's real name
        self.password = ""  #: from PASS
        self.sasl = Sasl.IDLE  #: a SASL PLAIN exchange (registration.py)
        self.sasl_data = ""  #: its base64, as it comes
        self.nick = "*"  #: the nick as the rules have it (for parsing)
        self.rooms: dict[str, str] = {}  #: room key -> name, in the order joined
        self.bot = False  #: it set ``+B`` (the rules' last ``UserModes`` said): echoes are tagged
        #: the command being handled's tags (the handlers keep its client-only ones)
        self.tags: tuple[tuple[str, str], ...] = ()
        self.replies = Replies(self.settings)  #: rendering, with its own idea of the nick
        self._said: i.Say | None = None  # the last Say handed out, for echo-message
        # Some refusals are answered otherwise on IRC (``ANSWERED_OTHERWISE``): a NOTICE's
        # not at all (RFC 2812 3.3.2), NAMES of an unknown channel with 366 alone ... They
        # are noted here when they come back (``observe``), with what replaces them, and
        # replaced when rendered. At most one refusal per intent of the turn not yet
        # rendered: bounded like the turn.
        self._asking = ""  # what the last intent handed out asked, as ANSWERED_OTHERWISE names it
        self._instead: list[tuple[Event | Local, tuple[Event | Local, ...]]] = []

    # -- what commands use -----------------------------------------------------------------

    def wire(self, *messages: Message) -> None:
        """Answer with these messages, in order with everything else."""
        self.queue.append(Answer((Wire("".join(map(serialize, messages)).encode()),)))

    def too_long(self) -> None:
        """Answer 417: the line is too long, and nothing of it was done."""
        self.queue.append(_TOO_LONG)

    def server_message(self, command: str, *params: str) -> None:
        self.wire(Message(command, params, self.settings.server_name))

    def numeric(self, numeric: str, *params: str) -> None:
        self.numerics((numeric, *params))

    def numerics(self, *replies: tuple[str, ...]) -> None:
        """Several numerics, each ``(numeric, *params)``, as one answer (to one line: one
        flood token)."""
        server = self.settings.server_name
        self.wire(*(Message(n, (self.nick, *params), server) for n, *params in replies))

    def names_of(self, room: str, *, end: bool = True) -> i.ListUsers:
        """NAMES of ``room``: with each member's username if ``userhost-in-names`` shows
        masks. ``end``: its 366 follows (not for one room of several: ``names_end``)."""
        label = "names" if end else NAMES_MANY
        return i.ListUsers(room, label=label, detail="userhost-in-names" in self.caps)

    def names_end(self, rooms: str, *, free: bool = False) -> Answer:
        """The 366 that ends NAMES of ``rooms`` (as asked: ``#a,#b``); ``free`` after the
        rooms' own lists, which flood control counted."""
        line = Message("366", (self.nick, rooms, "End of /NAMES list"), self.settings.server_name)
        return Answer((Wire(serialize(line).encode()),), free=free)

    @property
    def registered(self) -> bool:
        return self.stage is Stage.REGISTERED

    # -- bytes to items --------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray, now: float = 0.0) -> None:
        self.heard(now)
        self._lines.extend(self._decoder.receive(data))

    def backlog(self) -> int:
        return len(self._lines) + len(self.queue)

    def push_back(self, item: Item) -> None:
        self.queue.insert(0, item)

    def next_item(self, phase: Phase) -> Item | None:
        while not self.queue and self._lines:
            line = self._lines.pop(0)
            if isinstance(line, str):
                self._command(line)
            elif isinstance(line, TooLong):
                self.queue.append(_TOO_LONG)
            elif isinstance(line, NotUtf8):
                self._not_utf8(line.text)
            elif isinstance(line, EndOfInput):
                self.queue.append(i.Hangup())
        item = self.queue.pop(0) if self.queue else None
        self._said = item if isinstance(item, i.Say) else None
        self._asking = _asking(item.intent if isinstance(item, Free) else item)
        return item

    def _command(self, line: str) -> None:
        if not line.strip():
            return
        message = parse(line)
        if isinstance(message, ParseError):
            if message.what in ("too-long", "tags-too-long"):
                self.queue.append(_TOO_LONG)
            return
        name, params = message.command, message.params
        command = COMMANDS.get(name)
        if not self.registered and not (command and command.before_registration):
            self.numeric("451", "You have not registered")
            return
        self.tags = message.tags
        label = dict(message.tags).get("label", "") if self._labels else ""
        labelled = 0 < len(label.encode()) <= LABEL_MAX
        if labelled:
            self.queue.append(Answer((Label(label),), free=True))
        if command is None:
            self.numeric("421", name, "Unknown command")
        elif len(params) < command.min_params:
            self.numeric("461", name, "Not enough parameters")
        else:
            command.handler(self, params)
        if labelled:
            self.queue.append(Answer((Labeled(),), free=True))

    def _not_utf8(self, line: str) -> None:
        """A line that is not UTF-8 is refused whole, and nothing of it is done: the
        server says UTF8ONLY (IRCv3), so it never relays what is not UTF-8, nor guesses."""
        message = parse(line)
        command = message.command if isinstance(message, Message) else "*"
        text = "Message rejected, it held invalid UTF-8"
        self.server_message("FAIL", command, "INVALID_UTF8", text)

    @property
    def _labels(self) -> bool:
        """labeled-response is on: every labelled command gets one labelled answer."""
        return self.registered and {"labeled-response", "batch"} <= self.caps

    # -- following the rules' replies ------------------------------------------------------

    def observe(self, events: Sequence[Event]) -> None:
        refused = False
        for event in events:
            self.nick = own_name(self.nick, event)
            if isinstance(event, Welcome):
                self.stage = registration.advance(self.stage, Move.WELCOMED)
                self.listen(self._heard)  # pings from now on
                registration.autojoin(self)
            elif isinstance(event, RoomEntered) and event.joined:
                self.rooms[name_key(event.room)] = event.room
                self.queue.insert(0, Free(self.names_of(event.room)))
            elif isinstance(event, RoomLeft):
                self.rooms.pop(name_key(event.room), None)
            elif isinstance(event, UserModes):
                self.bot = UserMode.BOT in event.modes
            elif isinstance(event, UserList) and event.more and event.names and event.room:
                # The next page of NAMES or WHO, once this one is on its way (the session
                # hands it over when the connection's backlog allows).
                page = i.ListUsers(
                    event.room, label=event.label, after=event.names[-1], detail=bool(event.people)
                )
                self.queue.insert(0, Free(page))
            elif isinstance(event, Refused):
                refused = True
                if (self._asking, event.problem) in ANSWERED_OTHERWISE:
                    self._instead.append((event, self._otherwise(event)))
        if self.sasl is Sasl.CHECKING and events:  # the answer to the SASL login
            logged_in = any(isinstance(e, Done) and e.outcome is Outcome.LOGGED_IN for e in events)
            if logged_in or refused:
                registration.sasl_answered(self, logged_in)

    def posted(self, entries: Sequence[Entry]) -> None:
        if self._said is not None and "echo-message" in self.caps:
            said, self._said, entry = self._said, None, entries[-1]
            echo = Echo(
                said.room, said.text, said.action, entry.id, entry.time, said.notice, said.tags,
                self.bot,
            )  # fmt: skip
            self.queue.insert(0, Answer((echo,), free=True))

    # -- events to bytes -------------------------------------------------------------------

    def render(self, events: Sequence[Event | Local]) -> bytes:
        if self._instead:  # refusals answered otherwise: by identity, not by equality
            instead = self._instead
            self._instead = [h for h in instead if not any(h[0] is e for e in events)]
            events = [
                shown
                for e in events
                for shown in next((new for old, new in instead if old is e), (e,))
            ]
        return self.replies.render(events)

    def _otherwise(self, refused: Refused) -> tuple[Event | Local, ...]:
        """What IRC answers instead of ``refused`` (see ``ANSWERED_OTHERWISE``)."""
        numeric, text, keep = ANSWERED_OTHERWISE[(self._asking, refused.problem)]
        if not numeric:
            return ()
        target = refused.room or refused.name or "*"
        line = Message(numeric, (self.nick, target, text), self.settings.server_name)
        return (*((refused,) if keep else ()), Wire(serialize(line).encode()))

    def deliver(self, events: Sequence[Event]) -> bytes:
        for event in events:  # a kick (another's act) moves the user's channels
            if isinstance(event, RoomEntered) and event.joined:
                self.rooms[name_key(event.room)] = event.room
                # Put in a room by another's act: its NAMES, as after a JOIN (the
                # session's reader wakes for this item at once: Session.deliver).
                self.queue.insert(0, Free(self.names_of(event.room)))
            elif isinstance(event, RoomLeft):
                self.rooms.pop(name_key(event.room), None)
        return self.replies.deliver(events)

    def view(self, room: str) -> View:
        caps = self.caps
        return irc_view(
            "server-time" in caps,
            "account-tag" in caps,
            "extended-join" in caps,
            "away-notify" in caps,
            "account-notify" in caps,
            "message-tags" in caps,
            "setname" in caps,
            "draft/message-redaction" in caps,
        )

    def views_changed(self) -> list[tuple[str, View]]:
        if not self.caps_changed:
            return []
        self.caps_changed = False
        return [(room, self.view(room)) for room in self.rooms.values()]

    def farewell(self, reason: Reason, *, cut: bool) -> bytes:
        # The notice starts a line of its own, so it reads well even after a cut line.
        return self.render([Disconnected(reason)]) if reason is Reason.SLOW else b""

    # -- keepalive (doors/keepalive.py) -----------------------------------------------------

    def deadline(self) -> float:
        return self.ping_deadline(self.settings.keepalive)

    def expire(self, now: float) -> Item | None:
        return self.ping_due(now, self.settings.keepalive)

    def ping(self) -> tuple[Local, ...]:
        return (Urgent(serialize(Message("PING", (self.settings.server_name,))).encode()),)
