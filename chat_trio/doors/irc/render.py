"""How events look to an IRC client: messages from users, numerics from the server.

Broadcasts are rendered by ``IrcView`` (one value per set of capabilities that change a
broadcast's bytes, so that the hub renders each room's round once per such set); replies
to one connection by ``Replies``, which knows the connection's nick and capabilities.
Refusals become the standard numeric (``NUMERICS``) with the sentence every door says
(doors/wording.py) as their human-readable part: one wording for every door that speaks English.

Every user appears as ``nick!nick@HOST``: the chat has no idents or host names to show,
and hiding addresses is what users of a public server expect.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from chat_trio import __version__
from chat_trio.chat.events import (
    AccountChanged,
    Action,
    Away,
    BanChanged,
    BanList,
    Disconnected,
    Done,
    Entry,
    Event,
    Goodbye,
    Greeting,
    Help,
    History,
    Invitation,
    Invitations,
    Invited,
    InviteSent,
    Joined,
    Kicked,
    Kind,
    Left,
    MarkedRead,
    Missed,
    Mode,
    ModeChanged,
    Modes,
    NickChanged,
    PastNames,
    Presence,
    Private,
    RealnameChanged,
    Reason,
    Redacted,
    Refused,
    Role,
    RoleChanged,
    RoomEntered,
    RoomInfo,
    RoomLeft,
    RoomList,
    Said,
    StatusMessage,
    Tagged,
    Targets,
    Topic,
    TopicChanged,
    Unreachable,
    UserList,
    UserMode,
    UserModes,
    Wallops,
    Watched,
    WatchList,
    Welcome,
    Whois,
)
from chat_trio.chat.presence import WATCH_MAX
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.roles import BANS_MAX
from chat_trio.chat.vocabulary import (
    HISTORY_MAX,
    HOST,
    LOBBY,
    NAME_MAX,
    ROOM_MAX,
    ROOMS_PER_USER,
    TOPIC_MAX,
    millis,
    person_mask,
)
from chat_trio.chat.words import USERNAME_MAX
from chat_trio.doors import Local, Wire, wording
from chat_trio.doors.irc.message import Message, serialize, tag
from chat_trio.doors.keepalive import KeepaliveSettings
from chat_trio.doors.wording import OUTCOMES, refusal, room_info

LINE_BYTES = 512
"""Bytes of an IRC line, CR LF included and tags not counted (RFC 1459; IRCv3
message-tags). A relayed PRIVMSG that fits is sent whole; one that does not (the text door
takes 2048-byte lines) is sent as several, each as long as fits, cut between characters.
An IRC client's own line that would not fit once relayed (its prefix added) is refused
with 417 (``fits``), never cut: its readers would see it split."""
HOLD_MAX = 16 * 1024
"""Characters of output SASL may hold back until CAP END (the registration burst is about
2 KB). A client that never sends CAP END gets it all once this much waits, and nothing is
held after that: the hold can never grow without bound."""
LIST_BYTES = 400
"""Characters of a comma-separated list in one MONITOR numeric (730-732): with the
prefix and the nick a line stays under 512 bytes; a longer list takes several lines."""
MAX_TARGETS = 4  #: targets of one PRIVMSG, JOIN or PART (ISUPPORT MAXTARGETS)
TARGMAX: dict[str, int] = {
    "JOIN": MAX_TARGETS,
    "KICK": MAX_TARGETS,
    "LIST": MAX_TARGETS,
    "NAMES": MAX_TARGETS,
    "NOTICE": MAX_TARGETS,
    "PART": MAX_TARGETS,
    "PRIVMSG": MAX_TARGETS,
    "TAGMSG": MAX_TARGETS,
    "WHOIS": 1,
}
"""Targets one line of each command may name (ISUPPORT TARGMAX; commands.py keeps to
it). Each target is its own intent, and flood control counts intents: a line to four
targets costs what four lines cost, so naming several never multiplies what one line
may make the server do. More targets than this: 407 and nothing done (KICK drops the
extra users silently, as modern.ircdocs.horse says; NOTICE is never answered)."""
MODES = 4
"""Role changes one MODE line makes (ISUPPORT MODES); more are dropped: each is an intent
that flood control counts, and a line of fifty would be one line for fifty changes."""
STATUSMSG = {"@": Role.OPERATOR, "+": Role.VOICE}
"""What a PRIVMSG or NOTICE target may start with to reach a room's operators (``@#room``)
or its voiced members and operators (``+#room``): ISUPPORT STATUSMSG (messages.py rule 6)."""
STATUS_PREFIXES = "".join(STATUSMSG)  #: the same, as ``str.lstrip`` takes them
NAMES_MANY = "names-many"
"""The label of NAMES of one room of several (``NAMES #a,#b``): its 353s without a 366,
since one 366 naming them all ends the answer (commands.names)."""
NAMES_PER_LINE = 20  #: nicks per 353 line (32 characters each stays under 512 bytes)
WHOX_ORDER = "tcuihsnfdlaor"
"""WHOX's fields, in the order a 354 gives those asked for (ircv3.net, WHOX)."""
HIDDEN_IP = "255.255.255.255"
"""WHOX's ``i`` (the IP address): what servers answer for an address they do not show;
no door shows one (``vocabulary.HOST``)."""


@attrs.frozen
class IrcSettings:
    """What the IRC door says about the server (``--server-name``, ``--motd`` ...)."""

    server_name: str = "chat-trio"
    network: str = "chat-trio"
    description: str = "chat-trio"  #: what LINKS says of the server (``--server-description``)
    motd: tuple[str, ...] = ()  #: lines of the message of the day; () sends 422
    created: str = ""  #: when the server started, for 003
    keepalive: KeepaliveSettings = attrs.field(factory=KeepaliveSettings)  #: its pings
    #: for ISUPPORT CHANLIMIT (the server sets both from the one setting: entrances.py)
    max_rooms_per_user: int = ROOMS_PER_USER
    #: the channels a user is put in once registered (``--irc-autojoin``), in order:
    #: ``#lobby`` (where the text door's and the page's users are put) by default, so
    #: that IRC users meet them without arranging a channel; () for none, as ergo's
    #: ``channels.auto-join`` and as conformance suites expect (docs/protocol.md)
    autojoin: tuple[str, ...] = (LOBBY,)


@attrs.frozen
class Hold(Local):
    """SASL: from here, hold what registering sends (001 ...) until ``Release`` (CAP END);
    ``urgent`` lines (900, 903, 904) still go at once, and the rules' login refusals are
    left out (904 says it)."""


@attrs.frozen
class Release(Local):
    """CAP END: send what ``Hold`` kept."""


@attrs.frozen
class Urgent(Local):
    """Lines to send even while holding (the SASL answers), and never part of a labelled
    answer (the server's own PING)."""

    data: bytes


@attrs.frozen
class Label(Local):
    """labeled-response: what follows, until ``Labeled``, answers the command labelled
    ``label``."""

    label: str


@attrs.frozen
class Labeled(Local):
    """The labelled command's answer is complete: send it as the capability says (ACK for
    none, the label on the only message, or a ``labeled-response`` batch)."""


@attrs.frozen
class Echo(Local):
    """echo-message: the connection's own line in ``room``, as others received it, with
    the id and time the rules gave it (``IrcDoor.posted``)."""

    room: str
    text: str
    action: bool = False
    id: str = ""
    time: float = 0.0
    notice: bool = False  #: the line was a NOTICE, and is echoed as one
    tags: tuple[tuple[str, str], ...] = ()  #: its client-only tags
    bot: bool = False  #: the connection is a bot (``UserMode.BOT``): tagged so


mask = person_mask  #: the rules' one maker of masks (room bans match what IRC shows)

_BOT_TAG = (("bot", ""),)
"""IRCv3 bot-mode: the tag on a bot's messages, to clients that take message-tags."""


NICKSERV = mask("NickServ")
"""Who speaks for accounts: every answer about one comes from this one prefix."""
CHANSERV = mask("ChanServ")
"""Who speaks for registered rooms (``PRIVMSG ChanServ :REGISTER #rust``), as NickServ
does for accounts."""


def _ctcp_action(text: str, action: bool) -> str:
    return f"\x01ACTION {text}\x01" if action else text


def _pieces(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of at most ``size`` bytes (at least 4), between characters."""
    data = text.encode()
    pieces, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # not inside a character
            end -= 1
        pieces.append(data[start:end].decode())
        start = end
    return pieces


def _privmsg(
    source: str,
    target: str,
    text: str,
    action: bool,
    notice: bool,
    tags: tuple[tuple[str, str], ...] = (),
) -> str:
    command = "NOTICE" if notice else "PRIVMSG"
    return serialize(Message(command, (target, _ctcp_action(text, action)), source, tags))


def fits(
    source: str, target: str, text: str, *, action: bool = False, notice: bool = False
) -> bool:
    """``text`` from ``source`` to ``target`` is one line of at most ``LINE_BYTES``."""
    return len(_privmsg(source, target, text, action, notice).encode()) <= LINE_BYTES


def privmsgs(
    source: str,
    target: str,
    text: str,
    *,
    action: bool = False,
    tags: Sequence[tuple[str, str]] = (),
    notice: bool = False,
) -> str:
    """``text`` from ``source`` to ``target`` as one PRIVMSG line, or several when it does
    not fit in ``LINE_BYTES``; ``notice``: as NOTICE lines, which clients never answer
    automatically."""
    t = tuple(tags)
    line = _privmsg(source, target, text, action, notice, t)
    body = line.split(" ", 1)[1] if t else line  # the 512 bytes do not count the tags
    if len(body.encode()) <= LINE_BYTES:  # the common case: one build, as fits would
        return line
    # what a line holds besides its text (a one-space text is written with its ":")
    around = len(_privmsg(source, target, " ", action, notice).encode()) - 1
    pieces = _pieces(text, max(LINE_BYTES - around, 4))
    return "".join(_privmsg(source, target, piece, action, notice, t) for piece in pieces)


def server_time(wall: float) -> str:
    """IRCv3 server-time: ISO 8601 UTC with milliseconds (``millis``: rounded down, as
    read markers and history count them)."""
    return marker_time(millis(wall))


def marker_time(millis: int) -> str:
    """A read marker (Unix time in milliseconds) as server-time writes a time, exactly:
    the milliseconds a client gave come back as it gave them."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000))
    return f"{whole}.{millis % 1000:03d}Z"


def quit_message(e: Left) -> str:
    """A QUIT's text: the server's word for why, then the user's own, as ergo writes it
    ("Quit: gone fishing"), so that no quit message can pass for the server's."""
    because = _QUIT_BECAUSE[e.reason]
    return f"{because}: {e.text}" if e.text else because


_QUIT_BECAUSE = {
    Reason.QUIT: "Quit",
    Reason.INTERRUPTED: "Quit",
    Reason.CLOSED: "Connection closed",
    Reason.LOST: "Connection lost",
    Reason.SLOW: "SendQ exceeded",
    Reason.ERROR: "Server error",
    Reason.SHUTDOWN: "Server shutting down",
    Reason.IDLE: "Idle",
    Reason.FLOOD: "Excess flood",
    Reason.KICKED: "Kicked",
    Reason.REPLACED: "Logged in elsewhere",
    Reason.NAME_LOST: "Nickname lost to another server",
    Reason.BANNED: "Banned",
    Reason.PING_TIMEOUT: "Ping timeout",
    Reason.BAD_NAME: "Too many invalid nicknames",
    Reason.NAME_TIMEOUT: "Registration timeout",
}


def broadcast_line(
    event: Event, room: str, tags: Sequence[tuple[str, str]] = (), view: IrcView | None = None
) -> str:
    """One broadcast event to ``room`` as IRC lines ("" for events IRC has no form for, or
    that ``view``'s capabilities leave out)."""
    t = tuple(tags)
    view = view or PLAIN
    if isinstance(event, (Said, Action)):
        if view.account_tag and event.account:
            t = (*t, ("account", event.account))
        if view.message_tags:  # (client-only tags: only to those who take tags)
            t = (*t, *event.tags, *((("msgid", event.id),) if event.id else ()))
            t = (*t, *_BOT_TAG) if event.bot else t
        action, notice = isinstance(event, Action), isinstance(event, Said) and event.notice
        return privmsgs(
            mask(event.name, event.user), room, event.text, action=action, tags=t, notice=notice
        )
    if isinstance(event, Tagged):  # TAGMSG: only to those who take tags
        if not view.message_tags:
            return ""
        if view.account_tag and event.account:
            t = (*t, ("account", event.account))
        t = (*t, *event.tags, ("msgid", event.id), *(_BOT_TAG if event.bot else ()))
        return serialize(Message("TAGMSG", (room,), mask(event.name, event.user), t))
    if isinstance(event, Joined):
        params = (room, event.account or "*", event.name) if view.extended_join else (room,)
        joined = serialize(Message("JOIN", params, mask(event.name, event.user), t))
        if view.away_notify and event.away:  # (ircv3 away-notify: an away joiner's AWAY)
            joined += serialize(Message("AWAY", (event.away,), mask(event.name, event.user), t))
        return joined
    if isinstance(event, Away):
        if not view.away_notify:
            return ""
        said = (event.text,) if event.text else ()
        return serialize(Message("AWAY", said, mask(event.name, event.user), t))
    if isinstance(event, AccountChanged):
        if not view.account_notify:
            return ""
        return serialize(
            Message("ACCOUNT", (event.account or "*",), mask(event.name, event.user), t)
        )
    if isinstance(event, Left):
        if event.room is not None:
            parted: tuple[str, ...] = (room, event.text) if event.text else (room,)
            return serialize(Message("PART", parted, mask(event.name, event.user), t))
        return serialize(Message("QUIT", (quit_message(event),), mask(event.name, event.user), t))
    if isinstance(event, NickChanged):
        return serialize(Message("NICK", (event.new,), mask(event.old, event.user), t))
    if isinstance(event, RealnameChanged):  # (ircv3 setname: only to those with the cap)
        if not view.setname:
            return ""
        return serialize(Message("SETNAME", (event.realname,), mask(event.name, event.user), t))
    if isinstance(event, TopicChanged):
        if view.message_tags and event.id:
            t = (*t, ("msgid", event.id))
        return serialize(Message("TOPIC", (room, event.text), mask(event.name, event.user), t))
    if isinstance(event, RoleChanged):
        change = ("+" if event.on else "-") + MODE_LETTERS[event.role]
        return serialize(
            Message("MODE", (room, change, event.name), mask(event.by, event.by_user), t)
        )
    if isinstance(event, ModeChanged):
        change = ("+" if event.on else "-") + ROOM_MODE_LETTERS[event.mode]
        value = (event.value,) if event.value else ()
        return serialize(Message("MODE", (room, change, *value), mask(event.by, event.by_user), t))
    if isinstance(event, BanChanged):
        change = "+b" if event.on else "-b"
        return serialize(
            Message("MODE", (room, change, event.ban.shown), mask(event.by, event.by_user), t)
        )
    if isinstance(event, Redacted):
        return redact_line(event, t) if view.redaction else ""
    if isinstance(event, Unreachable | Missed):  # the server's word to the channel
        words = (
            wording.unreachable(event) if isinstance(event, Unreachable) else wording.missed(event)
        )
        return serialize(Message("NOTICE", (room, words), tags=t))  # (no source: the server)
    if isinstance(event, Kicked):
        return serialize(
            Message(
                "KICK",
                (room, event.name, event.reason or event.by),
                mask(event.by, event.by_user),
                t,
            )
        )
    return ""


def redact_line(e: Redacted, tags: tuple[tuple[str, str], ...] = ()) -> str:
    """draft/message-redaction's ``REDACT <target> <msgid> [:reason]``, from the deleter.
    Only to those who asked for it: others keep the line (the spec sends them nothing)."""
    reason = (e.reason,) if e.reason else ()
    return serialize(Message("REDACT", (e.target, e.id, *reason), mask(e.by, e.user), tags))


MODE_LETTERS = {Role.OPERATOR: "o", Role.VOICE: "v"}  #: ISUPPORT PREFIX=(ov)@+
ROLES_BY_LETTER = {letter: role for role, letter in MODE_LETTERS.items()}
FIXED_MODES = "nt"
"""The channel modes every room has, fixed: ``n`` (only members talk in it: the rules
refuse others, CANNOT_SEND) and ``t`` (only operators set the topic: roles.py)."""
ROOM_MODE_LETTERS = {
    Mode.INVITE_ONLY: "i",
    Mode.KEY: "k",
    Mode.LIMIT: "l",
    Mode.MODERATED: "m",
    Mode.SECRET: "s",
}
"""The channel modes operators change: ``k`` takes a parameter (type B of CHANMODES),
``l`` one when set (type C), the others none (type D); ``b``, the room's bans (roles.py),
is a list (type A: ``MODE #r b`` lists it)."""
MODES_BY_LETTER = {letter: mode for mode, letter in ROOM_MODE_LETTERS.items()}
CHANMODES = "b,k,l," + "".join(sorted(FIXED_MODES + "ims"))  #: ISUPPORT's, by type
USER_MODE_LETTERS = {
    UserMode.BOT: "B",
    UserMode.INVISIBLE: "i",
    UserMode.OPERATOR: "o",
    UserMode.WALLOPS: "w",
}
"""The user modes (usermodes.py), in 004's order: ``B`` a bot (ISUPPORT BOT=B), ``i``
invisible, ``o`` a server operator (only OPER sets it), ``w`` receives WALLOPS."""
USER_MODES_BY_LETTER = {letter: mode for mode, letter in USER_MODE_LETTERS.items()}
USER_MODES = "".join(USER_MODE_LETTERS.values())  #: 004's user modes


def user_mode_letters(modes: Iterable[UserMode]) -> str:
    """``modes`` as their letters, in ``USER_MODES``' order."""
    return "".join(letter for mode, letter in USER_MODE_LETTERS.items() if mode in modes)


def mode_params(e: Modes) -> tuple[str, ...]:
    """A room's modes as 324 shows them: ``+iklmnst``, letters in order, then the key
    (members only: others see ``*``) and the limit."""
    letters = "".join(sorted(FIXED_MODES + "".join(ROOM_MODE_LETTERS[m] for m in e.modes)))
    params = [e.key or "*"] if Mode.KEY in e.modes else []
    params += [str(e.limit)] if Mode.LIMIT in e.modes else []
    return ("+" + letters, *params)


def prefixes(name: str, e: UserList, multi: bool) -> str:
    """``name``'s prefixes in NAMES and WHO: ``@`` for an operator (or an admin, who acts
    as one everywhere), ``+`` voiced; both with ``multi-prefix``, else the highest."""
    marks = ("@" if name in e.operators or name in e.admins else "") + (
        "+" if name in e.voiced else ""
    )
    return marks if multi else marks[:1]


@attrs.frozen(eq=False)
class IrcView:
    """How IRC members see a room's broadcasts, by the IRCv3 capabilities that change the
    bytes: ``server_time`` (each line carries its time), ``account_tag`` (chat lines carry
    the sender's account), ``extended_join`` (JOIN says account and real name),
    ``away_notify`` and ``account_notify`` (AWAY and ACCOUNT are sent at all),
    ``message_tags`` (messages carry their ``msgid``), ``setname`` (SETNAME is sent at
    all), ``redaction`` (REDACT is sent)."""

    server_time: bool = False
    account_tag: bool = False
    extended_join: bool = False
    away_notify: bool = False
    account_notify: bool = False
    message_tags: bool = False
    setname: bool = False
    redaction: bool = False  #: draft/message-redaction: REDACT is sent at all

    def __call__(self, events: Sequence[Event], room: str, wall: float) -> bytes:
        tags = (("time", server_time(wall)),) if self.server_time else ()
        return "".join(broadcast_line(e, room, tags, self) for e in events).encode()


@functools.cache
def irc_view(
    server_time: bool,
    account_tag: bool,
    extended_join: bool,
    away_notify: bool,
    account_notify: bool,
    message_tags: bool = False,
    setname: bool = False,
    redaction: bool = False,
) -> IrcView:
    """The one ``IrcView`` for these capabilities. Views are compared by identity (the hub
    looks one up per member per round), so every member with the same capabilities gets
    the same object."""
    return IrcView(
        server_time, account_tag, extended_join, away_notify, account_notify, message_tags,
        setname,
        redaction,
    )  # fmt: skip


PLAIN = irc_view(False, False, False, False, False)  #: no capabilities


FAILS: dict[Problem, tuple[str, str, Callable[[Refused], tuple[str, ...]]]] = {
    Problem.REDACT_TARGET: ("REDACT", "INVALID_TARGET", lambda e: (e.room,)),
    Problem.UNKNOWN_MESSAGE: ("REDACT", "UNKNOWN_MSGID", lambda e: (e.room, e.name)),
    Problem.REDACT_FORBIDDEN: ("REDACT", "REDACT_FORBIDDEN", lambda e: (e.room, e.name)),
    Problem.MARKER_TARGET: ("MARKREAD", "INVALID_PARAMS", lambda e: (e.name or "*",)),
    Problem.REALNAME_BAD: ("SETNAME", "INVALID_REALNAME", lambda e: ()),
}
"""Refusals IRC words as IRCv3 standard replies: ``FAIL <command> <code> <params> :text``
(command, code, the parameters before the text)."""

NumericRule = tuple[str, Callable[[Refused], tuple[str, ...]]]
"""(numeric, the parameters between the client's nick and the text)."""

_NICK: NumericRule = ("432", lambda e: (e.name or "*",))
_ROOM: NumericRule = ("403", lambda e: (e.room or "*",))
NUMERICS: dict[Problem, NumericRule] = {
    Problem.NAME_EMPTY: ("431", lambda e: ()),
    Problem.NAME_TOO_LONG: _NICK,
    Problem.NAME_START: _NICK,
    Problem.NAME_START_ASCII: _NICK,
    Problem.NAME_CHAR: _NICK,
    Problem.NAME_RESERVED: _NICK,
    Problem.NAME_TAKEN: ("433", lambda e: (e.name,)),
    Problem.NAME_REGISTERED: ("433", lambda e: (e.name,)),
    Problem.NAME_LOOKALIKE: ("433", lambda e: (e.name,)),
    Problem.NAMES_UNAVAILABLE: ("437", lambda e: (e.name,)),
    Problem.ROOM_UNAVAILABLE: ("437", lambda e: (e.room,)),
    Problem.NOT_A_NAME: ("401", lambda e: (e.name,)),
    Problem.NOT_ADMIN: ("481", lambda e: ()),
    Problem.NOT_OPER: ("491", lambda e: ()),
    Problem.OPER_PASSWORD: ("464", lambda e: ()),
    Problem.NOT_OPERATOR: ("482", lambda e: (e.room,)),
    Problem.LOBBY_ADMINS: ("482", lambda e: (e.room,)),
    Problem.USER_NOT_IN_ROOM: ("441", lambda e: (e.name, e.room)),
    Problem.ADDRESS_BANNED: ("465", lambda e: ()),
    Problem.NO_SUCH_USER: ("401", lambda e: (e.name,)),
    Problem.NO_SUCH_RECIPIENT: ("401", lambda e: (e.name,)),
    Problem.NOT_AWAY: ("305", lambda e: ()),
    Problem.NEVER_HERE: ("406", lambda e: (e.name,)),
    Problem.WATCH_FULL: ("734", lambda e: (f"{e.limit:g}", e.name)),
    Problem.ROOM_MISSING: ("461", lambda e: ("JOIN",)),
    Problem.ROOM_NO_HASH: _ROOM,
    Problem.ROOM_LENGTH: _ROOM,
    Problem.ROOM_CHAR: _ROOM,
    Problem.NO_SUCH_ROOM: _ROOM,
    Problem.NOT_IN_ROOM: ("442", lambda e: (e.room,)),
    Problem.CANNOT_SEND: ("404", lambda e: (e.room,)),
    Problem.MODERATED: ("404", lambda e: (e.room,)),
    Problem.INVITE_ONLY: ("473", lambda e: (e.room,)),
    Problem.NEEDS_KEY: ("475", lambda e: (e.room,)),
    Problem.ROOM_FULL: ("471", lambda e: (e.room,)),
    Problem.KEY_SET: ("467", lambda e: (e.room,)),
    Problem.ALREADY_IN_ROOM: ("443", lambda e: (e.name, e.room)),
    Problem.BAD_MODE_VALUE: ("696", lambda e: (e.room, e.name[:1], "*")),
    Problem.ROOM_BANNED: ("474", lambda e: (e.room,)),
    Problem.BANNED_TALK: ("404", lambda e: (e.room,)),
    Problem.BAN_LIST_FULL: ("478", lambda e: (e.room, "b")),
    Problem.NO_TEXT: ("412", lambda e: ()),
    Problem.TOO_MANY_ROOMS_FOR_USER: ("405", lambda e: (e.room or "*",)),
    Problem.TOO_MANY_ROOMS: ("405", lambda e: (e.room or "*",)),
    Problem.LINE_TOO_LONG: ("417", lambda e: ()),
    Problem.UNKNOWN_COMMAND: ("421", lambda e: (e.name,)),
    Problem.NEEDS_NAME: ("451", lambda e: ()),
    Problem.USAGE: ("461", lambda e: (e.name,)),
}
"""Refusals with a standard numeric; the others are said in a NOTICE (or, while logging
in at registration, 464)."""

_LOGIN_PROBLEMS = frozenset(
    {
        Problem.NO_ACCOUNT,
        Problem.ACCOUNT_BANNED,
        Problem.LOGIN_THROTTLED,
        Problem.WRONG_PASSWORD_FOR,
    }
)

_REFUSED_AT_THE_DOOR = frozenset(
    {Problem.SERVER_FULL, Problem.TOO_MANY_FROM_ADDRESS, Problem.CONNECTING_TOO_FAST}
)

_IRC_WORDING: dict[Problem, Callable[[Refused], str]] = {
    Problem.NAME_REGISTERED: lambda e: (
        f"{e.name} is a registered name: log in with a server password (PASS) or "
        f"/msg NickServ IDENTIFY {e.name} <password>"
    ),
    Problem.NAME_TAKEN: lambda e: "Nickname is already in use",
    Problem.NO_SUCH_USER: lambda e: "No such nick/channel",
    Problem.NO_SUCH_RECIPIENT: lambda e: "No such nick/channel",
    Problem.NOT_AWAY: lambda e: "You are no longer marked as being away",
    Problem.NO_ACCOUNT: lambda e: f'There is no account "{e.name}".',
    Problem.UNKNOWN_COMMAND: lambda e: "Unknown command",
    Problem.USAGE: lambda e: "Not enough parameters",
    Problem.NEEDS_NAME: lambda e: "You have not registered",
    Problem.NO_TEXT: lambda e: "No text to send",
    Problem.NOT_OPERATOR: lambda e: "You're not channel operator",
    Problem.MODERATED: lambda e: "Cannot send to channel (+m)",
    Problem.INVITE_ONLY: lambda e: "Cannot join channel (+i)",
    Problem.NEEDS_KEY: lambda e: "Cannot join channel (+k)",
    Problem.ROOM_FULL: lambda e: "Cannot join channel (+l)",
    Problem.KEY_SET: lambda e: "Channel key already set",
    Problem.ALREADY_IN_ROOM: lambda e: "is already on channel",
    Problem.ROOM_BANNED: lambda e: "Cannot join channel (+b)",
    Problem.BANNED_TALK: lambda e: "Cannot send to channel (you're banned)",
    Problem.BAN_LIST_FULL: lambda e: "Channel ban list is full",
    Problem.USER_NOT_IN_ROOM: lambda e: "They aren't on that channel",
    Problem.BAN_OWN_ADDRESS: lambda e: (
        f"{e.like} shares your address ({e.name}): banning it would lock you out too; "
        f"KILL them instead"
        if e.like
        else f"You are connected from {e.name}: banning it would lock you out too"
    ),
}


_ACCOUNT_NEWS = frozenset({Outcome.REGISTERED, Outcome.PASSWORD_CHANGED, Outcome.UNREGISTERED})

_ACCOUNT_PROBLEMS = _LOGIN_PROBLEMS | {
    Problem.WRONG_PASSWORD,
    Problem.BAD_PASSWORD,
    Problem.NO_ACCOUNTS,
    Problem.ACCOUNTS_UNAVAILABLE,
    Problem.ALREADY_REGISTERED,
    Problem.REGISTERED_MEANWHILE,
    Problem.NOT_LOGGED_IN,
    Problem.ADMIN_NAME,
}
"""Answers to what IRC users ask NickServ (or SASL, PASS): said by NickServ, as news of
their account is (``_ACCOUNT_NEWS``), so that one service speaks for accounts."""

_ROOM_NEWS = frozenset(
    {Outcome.ROOM_REGISTERED, Outcome.ROOM_DROPPED, Outcome.ROOM_OP_ADDED, Outcome.ROOM_OP_REMOVED}
)
_ROOM_PROBLEMS = frozenset(
    {
        Problem.NO_REGISTERED_ROOMS,
        Problem.ROOM_NOT_REGISTERED,
        Problem.ROOM_ALREADY_REGISTERED,
        Problem.SERVERS_ROOM,
        Problem.NOT_FOUNDER,
        Problem.TOO_MANY_REGISTERED,
        Problem.TOO_MANY_ROOM_OPS,
        Problem.NOT_ROOM_OP,
    }
)
"""Answers about registered rooms: said by ChanServ, whom IRC users ask."""

_IRC_OUTCOMES: dict[Outcome, Callable[[Done], str]] = {
    Outcome.REGISTERED: lambda e: (
        f"Registered {e.name}. Nobody else can use this name now; to log in next time, "
        f"use SASL or a server password (PASS) in your client, or /msg NickServ IDENTIFY "
        f"{e.name} <password>"
    ),
}
"""Outcomes said otherwise than the text door says them (it tells of its prompt)."""


_SERVICE_OF = {p: NICKSERV for p in _ACCOUNT_PROBLEMS} | {p: CHANSERV for p in _ROOM_PROBLEMS}
"""Which service says a refusal that has no numeric (the others: the server)."""


def isupport(settings: IrcSettings) -> tuple[str, ...]:
    """The 005 tokens."""
    return (
        "CASEMAPPING=ascii",
        "CHANTYPES=#",
        f"CHANLIMIT=#:{settings.max_rooms_per_user}",
        f"NICKLEN={NAME_MAX}",
        f"CHANNELLEN={ROOM_MAX + 1}",
        f"TOPICLEN={TOPIC_MAX}",
        "PREFIX=(ov)@+",
        f"CHANMODES={CHANMODES}",
        f"MODES={MODES}",
        f"NETWORK={settings.network}",
        f"MAXTARGETS={MAX_TARGETS}",
        "TARGMAX=" + ",".join(f"{command}:{n}" for command, n in TARGMAX.items()),
        "ELIST=MNU",  # LIST masks, !masks and user counts (commands.list_rooms)
        f"STATUSMSG={STATUS_PREFIXES}",
        "UTF8ONLY",
        "WHOX",
        f"CHATHISTORY={HISTORY_MAX}",
        "MSGREFTYPES=msgid,timestamp",
        f"MAXLIST=b:{BANS_MAX}",
        "EXTBAN=~,a",  # an account ban is shown as ~a:NAME (roles.py's rule 10)
        f"USERLEN={USERNAME_MAX}",  # USER's username is kept to this (words.username)
        f"BOT={USER_MODE_LETTERS[UserMode.BOT]}",  # IRCv3 bot-mode: MODE nick +B
        f"MONITOR={WATCH_MAX}",  # names one connection may watch (chat/presence.py)
    )


ISUPPORT_PER_LINE = 13
"""Tokens per 005 line: with the nick and the closing text, 15 parameters, IRC's most
(modern.ircdocs.horse says 13 tokens a line); more tokens go on another 005."""


def isupport_lines(settings: IrcSettings) -> list[tuple[str, ...]]:
    """The 005 numerics' parameters after the nick, ``ISUPPORT_PER_LINE`` tokens each."""
    tokens = isupport(settings)
    return [
        (*tokens[n : n + ISUPPORT_PER_LINE], "are supported by this server")
        for n in range(0, len(tokens), ISUPPORT_PER_LINE)
    ]


def motd(settings: IrcSettings, nick: str) -> list[Message]:
    server = settings.server_name
    if not settings.motd:
        return [Message("422", (nick, "MOTD File is missing"), server)]
    lines = [Message("375", (nick, f"- {server} Message of the day - "), server)]
    lines += [Message("372", (nick, f"- {line}"), server) for line in settings.motd]
    return [*lines, Message("376", (nick, "End of /MOTD command."), server)]


class Answering(enum.Enum):
    """Where a labelled command's answer is (IRCv3 labeled-response)."""

    NONE = "none"  #: no labelled command is being answered
    EMPTY = "empty"  #: one is (``Label`` came), with nothing in its answer yet
    ONE = "one"  #: one line held back: it may be the only one, sent with the label
    BATCH = "batch"  #: a second line came: a labeled-response batch is open


class Holding(enum.Enum):
    """Whether what registering sends waits for CAP END (SASL: ``Hold``, ``Release``)."""

    NO = "no"
    YES = "yes"


@attrs.define
class Replies:
    """Renders what is sent to one IRC connection alone (see the module docstring): each
    event by its row of ``_REPLIES``, with two named states of its own: a labelled
    answer in progress (``Answering``), and registration's output held for CAP END
    (``Holding``)."""

    settings: IrcSettings
    nick: str = "*"  #: the connection's nick as its client knows it, at this point of output
    user: str = ""  #: its username, as kept (``words.username`` of USER's; "": the nick)
    caps: frozenset[str] = frozenset()  #: capabilities enabled
    _batches: int = 0
    _answering: Answering = Answering.NONE
    _label: str = ""  # the label of the answer in progress
    _first: str = ""  # ONE: the line held back
    _batch: str = ""  # BATCH: its reference
    _holding: Holding = Holding.NO
    _held: list[str] = attrs.field(factory=list)  # YES: what was held

    def render(self, events: Iterable[Event | Local]) -> bytes:
        """Events in answer to the connection's own commands (a labelled command's answer,
        if one is in progress, includes them)."""
        return self._render(events, answer=True)

    def deliver(self, events: Iterable[Event]) -> bytes:
        """Events from elsewhere (another user's private message, the shutdown notice):
        never part of a labelled answer."""
        return self._render(events, answer=False)

    def _render(self, events: Iterable[Event | Local], answer: bool) -> bytes:
        out: list[str] = []
        for e in events:
            if isinstance(e, Label):
                self._answering, self._label = Answering.EMPTY, e.label
            elif isinstance(e, Labeled):
                self._end_label(out)
            elif isinstance(e, Urgent):
                out.append(e.data.decode())
            elif self._answering is not Answering.NONE and answer and not _to_oneself(e):
                if isinstance(e, Disconnected):  # the answer ends with the connection
                    self._end_label(out)
                    out.append(self._lines(e))
                else:
                    self._labelled(self._lines(e), out)
            elif isinstance(e, Hold):
                self._holding, self._held = Holding.YES, []
            elif isinstance(e, Release):
                self._stop_holding(out)
            elif self._holding is Holding.NO or (
                isinstance(e, Done) and e.outcome is Outcome.LOGGED_IN
            ):
                out.append(self._lines(e))
            elif not (isinstance(e, Refused) and e.problem in _LOGIN_PROBLEMS):
                self._held.append(self._lines(e))
                if sum(map(len, self._held)) > HOLD_MAX:  # no CAP END coming: stop holding
                    self._stop_holding(out)
        return "".join(out).encode()

    def _stop_holding(self, out: list[str]) -> None:
        out.extend(self._held)
        self._holding, self._held = Holding.NO, []

    def _labelled(self, lines: str, out: list[str]) -> None:
        """Part of a labelled answer. The first line waits (it may be the only one, sent
        with the label); a second opens the batch, and every line after goes at once:
        nothing more than one line is ever held."""
        for line in (piece + "\r\n" for piece in lines.split("\r\n")[:-1]):
            if self._answering is Answering.EMPTY:
                self._answering, self._first = Answering.ONE, line
                continue
            if self._answering is Answering.ONE:
                self._batches += 1
                self._answering, self._batch = Answering.BATCH, f"l{self._batches}"
                start = Message("BATCH", (f"+{self._batch}", "labeled-response"))
                out.append(_tagged(serialize(start), tag("label", self._label)))
                out.append(_in_batch(self._first, self._batch))
            out.append(_in_batch(line, self._batch))

    def _end_label(self, out: list[str]) -> None:
        answering, self._answering = self._answering, Answering.NONE
        if answering is Answering.BATCH:
            out.append(serialize(Message("BATCH", (f"-{self._batch}",))))
        elif answering is Answering.ONE:
            out.append(_tagged(self._first, tag("label", self._label)))
        elif answering is Answering.EMPTY:
            ack = Message("ACK", (), self.settings.server_name, (("label", self._label),))
            out.append(serialize(ack))

    def _m(self, command: str, *params: str) -> str:
        return serialize(Message(command, (self.nick, *params), self.settings.server_name))

    def notice(self, text: str, source: str = "") -> str:
        source = source or self.settings.server_name
        return serialize(Message("NOTICE", (self.nick, text), source))

    def _lines(self, e: Event | Local) -> str:
        """``e`` as IRC lines, by its row of ``_REPLIES`` ("" for events IRC has no form
        for here: broadcasts are rendered by ``IrcView``, and AskName has none)."""
        form = _REPLIES.get(type(e))
        return form(self, e) if form is not None else ""

    def _wire(self, e: Wire) -> str:
        return e.data.decode()

    def _welcomed(self, e: Welcome) -> str:
        self.nick = e.name
        return self._welcome(e)

    def _own_away(self, e: Away) -> str:
        if e.text:
            return self._m("306", "You have been marked as being away")
        return self._m("305", "You are no longer marked as being away")

    def _entered(self, e: RoomEntered) -> str:
        if not e.joined:
            return ""
        out = serialize(Message("JOIN", (e.room,), mask(self.nick, self.user)))
        if e.topic:
            out += self._topic(Topic(e.room, e.topic, e.topic_by, e.topic_at))
        return out + self._marked(MarkedRead(e.room, e.marker))  # (before NAMES: the spec)

    def _left(self, e: RoomLeft) -> str:
        if e.by:  # kicked out: as the room saw it
            return serialize(
                Message("KICK", (e.room, self.nick, e.reason or e.by), mask(e.by, e.by_user))
            )
        said = (e.reason,) if e.reason else ()  # as the room sees it
        return serialize(Message("PART", (e.room, *said), mask(self.nick, self.user)))

    def _renamed(self, e: NickChanged) -> str:
        line = serialize(Message("NICK", (e.new,), mask(e.old, e.user)))
        if e.old == self.nick:
            self.nick = e.new
        return line

    def _msgid(self, id: str) -> tuple[tuple[str, str], ...]:
        """The ``msgid`` tag, to a client that negotiated message-tags."""
        return (("msgid", id),) if id and "message-tags" in self.caps else ()

    def _bot(self, bot: bool) -> tuple[tuple[str, str], ...]:
        """The ``bot`` tag, for a bot's message to a client that negotiated message-tags."""
        return _BOT_TAG if bot and "message-tags" in self.caps else ()

    def _user_modes(self, e: UserModes) -> str:
        """A change of one's own modes as the MODE line servers send (``+iw-B``); else
        221 with all of them."""
        if not (e.added or e.removed):
            return self._m("221", "+" + user_mode_letters(e.modes))
        change = (f"+{user_mode_letters(e.added)}" if e.added else "") + (
            f"-{user_mode_letters(e.removed)}" if e.removed else ""
        )
        return serialize(Message("MODE", (self.nick, change), mask(self.nick, e.user)))

    def _wallops(self, e: Wallops) -> str:
        return serialize(Message("WALLOPS", (e.text,), mask(e.name, e.user)))

    def _client_tags(self, tags: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        """A message's client-only tags, to a client that negotiated message-tags."""
        return tags if "message-tags" in self.caps else ()

    def _private(self, e: Private) -> str:
        stamp = e.time or time.time()
        timed = (("time", server_time(stamp)),) if "server-time" in self.caps else ()
        account = (("account", e.account),) if e.account and "account-tag" in self.caps else ()
        tags = timed + account + self._client_tags(e.tags) + self._msgid(e.id)
        tags += self._bot(e.bot)
        if e.incoming:
            return privmsgs(
                mask(e.peer, e.user), self.nick, e.text, action=e.action, tags=tags, notice=e.notice
            )
        away = self._m("301", e.peer, e.away) if e.away else ""
        if "echo-message" in self.caps:
            echo = privmsgs(
                mask(self.nick, self.user),
                e.peer,
                e.text,
                action=e.action,
                tags=tags,
                notice=e.notice,
            )
            return echo + away
        return away

    def _targets(self, e: Targets) -> str:
        """``CHATHISTORY TARGETS <target> <time>`` each, in a ``draft/chathistory-targets``
        batch (with ``batch``)."""
        batch = "batch" in self.caps
        self._batches += 1
        ref = f"h{self._batches}"
        tags = (("batch", ref),) if batch else ()
        lines = [
            serialize(Message("CHATHISTORY", ("TARGETS", name, server_time(last)),
                              self.settings.server_name, tags))
            for name, last in e.targets
        ]  # fmt: skip
        if batch:
            opened = Message("BATCH", (f"+{ref}", "draft/chathistory-targets"))
            lines = [serialize(opened), *lines, serialize(Message("BATCH", (f"-{ref}",)))]
        return "".join(lines)

    def _redacted(self, e: Redacted) -> str:
        """A private message deleted (a room's reach its members through ``IrcView``)."""
        if "draft/message-redaction" not in self.caps:
            return ""
        timed = (("time", server_time(time.time())),) if "server-time" in self.caps else ()
        return redact_line(e, timed)

    def _tagged(self, e: Tagged) -> str:
        """TAGMSG to this user, or its own back (with echo-message): only with
        message-tags (a room's reaches its members through ``IrcView``)."""
        if "message-tags" not in self.caps or (e.own and "echo-message" not in self.caps):
            return ""
        timed = (("time", server_time(time.time())),) if "server-time" in self.caps else ()
        tags = (*timed, *e.tags, ("msgid", e.id), *self._bot(e.bot))
        source = mask(self.nick if e.own else e.name)
        target = e.target if e.own else self.nick
        return serialize(Message("TAGMSG", (target,), source, tags))

    def _status(self, e: StatusMessage) -> str:
        """A line to a room's operators (``@#room``) or voiced members (``+#room``), as
        it was sent; the sender's own copy only with echo-message."""
        if e.own and "echo-message" not in self.caps:
            return ""
        timed = (("time", server_time(time.time())),) if "server-time" in self.caps else ()
        account = (("account", e.account),) if e.account and "account-tag" in self.caps else ()
        tags = timed + account + self._client_tags(e.tags) + self._msgid(e.id) + self._bot(e.bot)
        source = mask(self.nick, self.user) if e.own else mask(e.name, e.user)
        target = {role: prefix for prefix, role in STATUSMSG.items()}[e.to] + e.room
        return privmsgs(source, target, e.text, action=e.action, tags=tags, notice=e.notice)

    def _echo(self, e: Echo) -> str:
        if "echo-message" not in self.caps:
            return ""
        stamp = e.time or time.time()
        timed = (("time", server_time(stamp)),) if "server-time" in self.caps else ()
        tags = timed + self._client_tags(e.tags) + self._msgid(e.id) + self._bot(e.bot)
        return privmsgs(
            mask(self.nick, self.user), e.room, e.text, action=e.action, tags=tags, notice=e.notice
        )

    def _modes(self, e: Modes) -> str:
        created = self._m("329", e.room, str(int(e.created))) if e.created else ""
        return self._m("324", e.room, *mode_params(e)) + created

    def _bans(self, e: BanList) -> str:
        rows = (self._m("367", e.room, b.shown, b.by, str(int(b.at))) for b in e.bans)
        return "".join(rows) + self._m("368", e.room, "End of channel ban list")

    def _invitation(self, e: Invitation) -> str:
        return serialize(Message("INVITE", (self.nick, e.room), mask(e.by, e.by_user)))

    def _invited(self, e: Invited) -> str:
        if "invite-notify" not in self.caps:
            return ""  # a client that did not ask is not told of others' invitations
        return serialize(Message("INVITE", (e.name, e.room), mask(e.by, e.by_user)))

    def _invitations(self, e: Invitations) -> str:
        rows = "".join(self._m("336", room) for room in e.rooms)
        return rows + self._m("337", "End of /INVITE list")

    def _invite_sent(self, e: InviteSent) -> str:
        return self._m("341", e.name, e.room)

    def _topic(self, e: Topic) -> str:
        if not e.text:
            return self._m("331", e.room, "No topic is set")
        set_by = self._m("333", e.room, e.by or self.settings.server_name, str(int(e.at)))
        return self._m("332", e.room, e.text) + set_by

    def _goodbye(self, e: Goodbye) -> str:
        return serialize(Message("ERROR", (f"Closing link: {_QUIT_BECAUSE[e.reason]}",)))

    def _disconnected(self, e: Disconnected) -> str:
        return serialize(Message("ERROR", (_QUIT_BECAUSE.get(e.reason, "Closing link"),)))

    def _greeting(self, e: Greeting) -> str:
        notice = ("*", "*** Welcome to chat-trio")
        return serialize(Message("NOTICE", notice, self.settings.server_name))

    def _help(self, e: Help) -> str:
        return "".join(self.notice(f"{usage}  {summary}") for usage, summary in e.commands)

    def _welcome(self, e: Welcome) -> str:
        s = self.settings
        version = f"chat-trio-{__version__}"
        lines = [
            self._m("001", f"Welcome to the {s.network} IRC network, {e.name}"),
            self._m("002", f"Your host is {s.server_name}, running version {version}"),
            self._m("003", f"This server was created {s.created or 'today'}"),
            self._m("004", s.server_name, version, USER_MODES, "nt"),
            *(self._m("005", *line) for line in isupport_lines(s)),
            *self._lusers(e.online, e.rooms, e.invisible),
        ]
        lines += [serialize(m) for m in motd(s, self.nick)]
        return "".join(lines)

    def _marked(self, e: MarkedRead) -> str:
        """draft/read-marker: ``MARKREAD <target> timestamp=...`` (``*``: none yet), only to
        a client that negotiated it."""
        if "draft/read-marker" not in self.caps:
            return ""
        at = f"timestamp={marker_time(e.at)}" if e.at is not None else "*"
        return serialize(Message("MARKREAD", (e.target, at), self.settings.server_name))

    def _refused(self, e: Refused) -> str:
        text = _IRC_WORDING.get(e.problem, refusal)(e)
        if e.problem in FAILS:
            command, code, params = FAILS[e.problem]
            line = serialize(
                Message("FAIL", (command, code, *params(e), text), self.settings.server_name)
            )
        elif e.problem in NUMERICS:
            numeric, params = NUMERICS[e.problem]
            line = self._m(numeric, *params(e), text)
        elif e.problem in _LOGIN_PROBLEMS and e.naming:
            line = self._m("464", text)
        elif (
            e.problem in (Problem.SERVER_FULL, Problem.TOO_MANY_FROM_ADDRESS)
            or e.problem is Problem.CONNECTING_TOO_FAST
        ):
            line = serialize(Message("ERROR", (text,)))
        else:
            line = self.notice(text, source=_SERVICE_OF.get(e.problem, ""))
        return line

    def _done(self, e: Done) -> str:
        text = _IRC_OUTCOMES.get(e.outcome, OUTCOMES[e.outcome])(e)
        if e.outcome is Outcome.LOGGED_IN:
            to, who = self.nick, self.nick
            if self.nick == "*":  # logged in while registering: to "*", as the name it will have
                who = self.nick = e.name
            params = (to, mask(who, self.user), e.name, f"You are now logged in as {e.name}")
            return serialize(Message("900", params, self.settings.server_name))
        if e.outcome is Outcome.OPERATOR:
            return self._m("381", "You are now an IRC operator")
        if e.outcome in (Outcome.KICKED_YOU, Outcome.BANNED_YOU, Outcome.REPLACED_YOU):
            return self.notice(text) + serialize(Message("ERROR", (f"Closing link: {text}",)))
        source = NICKSERV if e.outcome in _ACCOUNT_NEWS else ""
        return self.notice(text, source=CHANSERV if e.outcome in _ROOM_NEWS else source)

    def _room_info(self, e: RoomInfo) -> str:
        return self.notice(room_info(e), source=CHANSERV)

    def _users(self, e: UserList) -> str:
        """A list of users, as the command that asked for it answers. A room's members
        come in pages (``more``: the door asks for the next): the end of the list is
        said after the last."""
        label = e.label
        if label in ("names", NAMES_MANY) and e.room:
            return self._names(e, end=label == "names")
        if label.partition(" ")[0] == "who":
            return self._who(e)
        if label == "ison":  # the names asked for that are online, as they are spelled
            return self._m("303", " ".join(e.names))
        if label == "userhost":
            here = {p.name: "-" if p.name in e.away else "+" for p in e.people}
            shown = (
                f"{p.name}={here[p.name]}{mask(p.name, p.user)[len(p.name) + 1 :]}"
                for p in e.people
            )
            return self._m("302", " ".join(shown))
        if label == "lusers":
            return "".join(self._lusers(e.total, None, e.invisible))
        return self.notice(f"{e.total} users: {', '.join(e.names)}")

    def _who(self, e: UserList) -> str:
        """WHO's rows (352; WHOX's 354 with the fields asked for, in the spec's order
        ``tcuihsnfdlaor``, the token echoed), then 315 with the target as it was given.
        Flags: ``H`` here or ``G`` away, ``*`` a server admin (IRC's operator), then, for
        a room, the member's prefixes."""
        asked, _, token = e.label.partition(" ")[2].partition(",")
        multi = "multi-prefix" in self.caps
        server, where = self.settings.server_name, e.room or "*"
        rows = []
        for p in e.people:
            flags = "G" if p.name in e.away else "H"
            flags += ("*" if p.name in e.admins else "") + (
                prefixes(p.name, e, multi) if e.room else ""
            )
            flags += "B" if p.bot else ""  # (IRCv3 bot-mode; after the prefixes, as ergo)
            if not asked:
                row = (where, p.user, HOST, server, p.name, flags, f"0 {p.realname}")
                rows.append(self._m("352", *row))
                continue
            values = {
                "t": token or "0",
                "c": where,
                "u": p.user,
                "i": HIDDEN_IP,
                "h": HOST,
                "s": server,
                "n": p.name,
                "f": flags,
                "d": "0",
                "l": str(p.idle),
                "a": p.account or "0",
                "o": "n/a",
                "r": p.realname,
            }
            rows.append(self._m("354", *(values[f] for f in WHOX_ORDER if f in asked)))
        end = "" if e.more and e.room else self._m("315", e.room or e.mask, "End of WHO list")
        return "".join(rows) + end

    def _names(self, e: UserList, end: bool) -> str:
        room = e.room or "*"
        full = "userhost-in-names" in self.caps
        multi = "multi-prefix" in self.caps
        users = {p.name: p.user for p in e.people}  # (asked for with userhost-in-names)
        shown = [
            prefixes(n, e, multi) + (mask(n, users.get(n, "")) if full else n) for n in e.names
        ]
        lines = [
            self._m("353", "@" if e.secret else "=", room, " ".join(shown[i : i + NAMES_PER_LINE]))
            for i in range(0, len(shown), NAMES_PER_LINE)
        ]
        last = self._m("366", room, "End of /NAMES list") if end and not e.more else ""
        return "".join(lines) + last

    def _lusers(self, users: int, rooms: int | None, invisible: int) -> list[str]:
        """LUSERS: 251 (those not invisible, and those invisible), 254 (when the number
        of rooms is known), 255, 265, 266."""
        n, seen = str(users), users - invisible
        lines = [self._m("251", f"There are {seen} users and {invisible} invisible on 1 servers")]
        if rooms is not None:
            lines.append(self._m("254", str(rooms), "channels formed"))
        return [
            *lines,
            self._m("255", f"I have {n} clients and 0 servers"),
            self._m("265", n, n, f"Current local users {n}, max {n}"),
            self._m("266", n, n, f"Current global users {n}, max {n}"),
        ]

    def _rooms(self, e: RoomList) -> str:
        if e.label == "lusers":
            return self._m("254", str(e.total), "channels formed")
        rows = [
            self._m("322", name, str(members), topic)
            for (name, members), topic in zip(e.rooms, e.topics or [""] * len(e.rooms), strict=True)
        ]
        return (
            self._m("321", "Channel", "Users  Name")
            + "".join(rows)
            + self._m("323", "End of /LIST")
        )

    def _whois(self, e: Whois) -> str:
        s = self.settings
        lines = [self._m("311", e.name, e.user or e.name, HOST, "*", e.realname or e.name)]
        if e.away:
            lines.append(self._m("301", e.name, e.away))
        if e.rooms:
            multi = "multi-prefix" in self.caps  # as NAMES shows them
            marks = {
                r: (("@" if r in e.operator else "") + ("+" if r in e.voiced else ""))
                for r in e.rooms
            }
            shown = (marks[r][: None if multi else 1] + r for r in e.rooms)
            lines.append(self._m("319", e.name, " ".join(shown)))
        lines.append(self._m("312", e.name, s.server_name, s.network))
        if e.admin:
            lines.append(self._m("313", e.name, "is a server admin"))
        if e.bot:
            lines.append(self._m("335", e.name, "is a bot"))
        if e.account:
            lines.append(self._m("330", e.name, e.account, "is logged in as"))
        idle, since = str(int(e.idle)), str(int(e.since))
        lines.append(self._m("317", e.name, idle, since, "seconds idle, signon time"))
        lines.append(self._m("318", e.name, "End of /WHOIS list"))
        return "".join(lines)

    def _past_names(self, e: PastNames) -> str:
        """WHOWAS: each who had the name, newest first (what WHOIS showed: the cloak), then
        the end (after a 406, ``ANSWERED_OTHERWISE`` in door.py adds it)."""
        s, lines = self.settings, []
        for gone in e.gone:
            user, realname = gone.user or gone.name, gone.realname or gone.name
            lines.append(self._m("314", gone.name, user, HOST, "*", realname))
            when = time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime(gone.when))
            lines.append(self._m("312", gone.name, s.server_name, when))
        lines.append(self._m("369", e.name, "End of WHOWAS"))
        return "".join(lines)

    def _presence(self, e: Presence) -> str:
        """MONITOR's 730 (online, as masks) and 731 (offline), lists cut to fit."""
        online = [mask(name, user) for name, user in e.online]
        return "".join(
            self._m(numeric, listed)
            for numeric, names in (("730", online), ("731", list(e.offline)))
            for listed in _comma_lists(names)
        )

    def _watch_list(self, e: WatchList) -> str:
        listed = "".join(self._m("732", names) for names in _comma_lists(list(e.names)))
        return listed + self._m("733", "End of MONITOR list")

    def _own_realname(self, e: RealnameChanged) -> str:
        if "setname" not in self.caps:
            return ""
        return serialize(Message("SETNAME", (e.realname,), mask(e.name, e.user)))

    def _watched(self, e: Watched) -> str:
        """News of a watched person who shares no channel (ircv3 extended-monitor), as a
        shared channel would bring it, by the same capabilities."""
        caps = self.caps
        if "extended-monitor" not in caps:
            return ""
        view = irc_view(
            False, False, False, "away-notify" in caps, "account-notify" in caps,
            setname="setname" in caps,
        )  # fmt: skip
        return broadcast_line(e.event, "", (), view)

    def _history(self, e: History) -> str:
        stamped = "server-time" in self.caps
        batch = "batch" in self.caps
        if not e.entries and not (e.asked and batch):
            return self.notice(f"No history for {e.title}.") if e.asked else ""
        self._batches += 1
        ref = f"h{self._batches}"
        out = []
        if batch:
            out.append(serialize(Message("BATCH", (f"+{ref}", "chathistory", e.title))))
        for entry in e.entries:
            tags: list[tuple[str, str]] = []
            if batch:
                tags.append(("batch", ref))
            if stamped:
                tags.append(("time", server_time(entry.time)))
            tags.extend(self._msgid(entry.id))
            out.append(_history_line(entry, e.title, stamped, tags))
        if batch:
            out.append(serialize(Message("BATCH", (f"-{ref}",))))
        return "".join(out)


_REPLIES: dict[type[Any], Callable[[Replies, Any], str]] = {
    Wire: Replies._wire,
    Welcome: Replies._welcomed,
    Away: Replies._own_away,
    RoomEntered: Replies._entered,
    RoomLeft: Replies._left,
    NickChanged: Replies._renamed,
    Private: Replies._private,
    Tagged: Replies._tagged,
    StatusMessage: Replies._status,
    Echo: Replies._echo,
    Refused: Replies._refused,
    Done: Replies._done,
    Topic: Replies._topic,
    Modes: Replies._modes,
    BanList: Replies._bans,
    RoomInfo: Replies._room_info,
    Invitation: Replies._invitation,
    InviteSent: Replies._invite_sent,
    Invitations: Replies._invitations,
    Invited: Replies._invited,
    UserList: Replies._users,
    RoomList: Replies._rooms,
    Whois: Replies._whois,
    UserModes: Replies._user_modes,
    Wallops: Replies._wallops,
    PastNames: Replies._past_names,
    Presence: Replies._presence,
    WatchList: Replies._watch_list,
    RealnameChanged: Replies._own_realname,
    Watched: Replies._watched,
    History: Replies._history,
    MarkedRead: Replies._marked,
    Redacted: Replies._redacted,
    Targets: Replies._targets,
    Goodbye: Replies._goodbye,
    Disconnected: Replies._disconnected,
    Greeting: Replies._greeting,
    Help: Replies._help,
}
"""How each event replied to one connection looks (the others have no form here)."""


def _comma_lists(names: list[str]) -> list[str]:
    """``names`` joined by commas, in as few lists of at most ``LIST_BYTES`` as fit."""
    lists: list[str] = []
    for name in names:
        if lists and len(lists[-1]) + 1 + len(name) <= LIST_BYTES:
            lists[-1] += "," + name
        else:
            lists.append(name)
    return lists


def _to_oneself(e: Event | Local) -> bool:
    """``e`` is a message one sent to oneself, as its receiver gets it: news, never part
    of the labelled answer to sending it (the echo is; IRCv3 labeled-response)."""
    return (isinstance(e, Private) and e.incoming) or (isinstance(e, Tagged) and not e.own)


def _tagged(line: str, tag: str) -> str:
    """A serialized line with one more tag, first."""
    return f"@{tag};{line[1:]}" if line.startswith("@") else f"@{tag} {line}"


def _in_batch(line: str, ref: str) -> str:
    """A line of a labeled-response batch: tagged with it, unless it belongs to a batch
    inside (a chathistory batch's lines; its BATCH lines themselves are tagged)."""
    tags = line[1:].partition(" ")[0].split(";") if line.startswith("@") else []
    if any(t.startswith("batch=") for t in tags):
        return line
    return _tagged(line, tag("batch", ref))


def _history_line(entry: Entry, title: str, stamped: bool, tags: list[tuple[str, str]]) -> str:
    """A recorded line replayed as the message it was (timed by a tag, or in its text)."""
    text = entry.text
    if not stamped:
        text = f"[{time.strftime('%H:%M', time.gmtime(entry.time))}] {text}"
    target = entry.room or entry.target  # a private line: its receiver
    source, t = mask(entry.name), tuple(tags)
    if entry.kind is Kind.TOPIC:
        return serialize(Message("TOPIC", (entry.room, entry.text), source, t))
    if entry.kind is Kind.JOINED:
        return serialize(Message("JOIN", (entry.room,), source, t))
    if entry.kind is Kind.LEFT:
        return serialize(Message("PART", (entry.room,), source, t))
    if entry.kind is Kind.NICK:
        return serialize(Message("NICK", (entry.text,), source, t))
    action, notice = entry.kind is Kind.ACTION, entry.kind is Kind.NOTICE
    return privmsgs(
        mask(entry.name), target or title, text, action=action, tags=tags, notice=notice
    )
