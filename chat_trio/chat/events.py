"""Events: what users see, as meaning rather than bytes (one small frozen class each).

The rules (``core.py`` and the modules it dispatches to) produce events; each door renders
them its own way (``doors/text/render.py`` for nc/telnet, ``doors/irc/render.py`` for IRC),
so the rules never depend on a wire format or a wording. Refusals and confirmations are
``Refused`` and ``Done``, carrying a typed ``Problem`` or ``Outcome`` (problems.py).

This module must never import trio or do I/O.
"""

from __future__ import annotations

import enum

import attrs

from chat_trio.chat.problems import Outcome, Problem

ConnId = int
"""Identifies one connection for the lifetime of the server (never reused)."""


class Role(enum.Enum):
    """What a member may do in a room beyond talking (chat/roles.py). The value is the
    web dialect's word; IRC shows them as ``@`` (``o``) and ``+`` (``v``)."""

    OPERATOR = "operator"  #: runs the room: roles, kicks, the topic
    VOICE = "voice"  #: marked as someone to hear (moderated rooms are a later step)


class Mode(enum.Enum):
    """A room's setting that an operator turns on or off (roles.py's ``Act.MODE``). The
    value is the web dialect's word; IRC shows them as channel mode letters (``m``,
    ``s``)."""

    MODERATED = "moderated"  #: only operators and voiced members may talk in it
    SECRET = "secret"  #: not listed (``/rooms``, LIST) to those who are not in it
    INVITE_ONLY = "invite-only"  #: only those invited may join
    KEY = "key"  #: joining needs the room's key (``Room.key``)
    LIMIT = "limit"  #: at most ``Room.limit`` members


class UserMode(enum.Enum):
    """A setting of one connection that others may see or that changes what it receives
    (chat/usermodes.py). The value is the web dialect's word; IRC shows them as user mode
    letters (``i``, ``w``, ``B``, ``o``)."""

    INVISIBLE = "invisible"  #: left out of mask and room lookups by those who share no room
    WALLOPS = "wallops"  #: receives the operators' ``Wallops``
    BOT = "bot"  #: a bot: marked on its messages, in WHO and WHOIS (IRCv3 bot-mode)
    OPERATOR = "operator"  #: a server operator on this connection (``Oper``; never set directly)


class Reason(enum.Enum):
    """Why a connection ended. The value is the word used in logs."""

    QUIT = "quit"  #: the user typed /quit
    INTERRUPTED = "interrupted"  #: telnet's interrupt (IAC IP: Ctrl-C in telnet)
    CLOSED = "closed"  #: the client closed its side of the connection (EOF)
    LOST = "lost"  #: the connection broke (reset, broken pipe)
    SLOW = "slow"  #: the client did not read fast enough; its send queue overflowed
    BAD_NAME = "bad-name"  #: too many invalid usernames
    NAME_TIMEOUT = "name-timeout"  #: no valid username in time
    IDLE = "idle"  #: a registered user sent nothing for the idle timeout
    FLOOD = "flood"  #: too many lines waiting under flood control
    KICKED = "kicked"  #: an admin used /kick (or /ban)
    REPLACED = "replaced"  #: its account logged in on another connection, which took the name
    NAME_LOST = "name-lost"  #: cut off from the other nodes, its name was given to another
    BANNED = "banned"  #: the address or account is banned
    PING_TIMEOUT = "ping-timeout"  #: the client stopped answering the door's pings
    SHUTDOWN = "shutdown"  #: the server is shutting down
    ERROR = "error"  #: a bug on our side; logged with its traceback


# -- Events: what a user sees --------------------------------------------------------------


@attrs.frozen
class Greeting:
    """The first line a new connection receives."""


@attrs.frozen
class AskName:
    """The username prompt (no line break: the user types after it)."""


@attrs.frozen
class Welcome:
    """Registration succeeded."""

    name: str  #: the name as the user typed it
    online: int  #: registered users, including this one
    rooms: int = 1  #: rooms that exist
    invisible: int = 0  #: how many of ``online`` are invisible (``UserMode.INVISIBLE``)


@attrs.frozen
class Joined:
    """Another user entered the chat (``room`` None: by registering) or a room."""

    name: str
    room: str | None = None
    account: str = ""  #: the account it is logged in to ("" for a guest)
    admin: bool = False  #: it is an admin (the page marks admins in its member list)
    operator: bool = False  #: it is the room's operator (it created the room)
    away: str = ""  #: why it is away ("": it is not; IRC's away-notify tells it after JOIN)
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)


@attrs.frozen
class Left:
    """Another user left the chat (``room`` None: disconnected) or a room."""

    name: str
    reason: Reason  #: rendered only when it is not an ordinary quit or close
    room: str | None = None
    text: str = ""  #: in their own words (``/quit gone fishing``), or a kick's reason
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)


@attrs.frozen
class Said:
    """A chat line from another user."""

    name: str  #: who said it
    text: str  #: sanitised text, never empty
    account: str = ""  #: the sender's account ("" for a guest)
    id: str = ""  #: the message's id (``World.message_id``), as stored with history
    notice: bool = False  #: a notice (IRC's NOTICE): never to be answered automatically
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)
    tags: tuple[tuple[str, str], ...] = ()  #: the sender's client-only tags (``Say.tags``)
    bot: bool = False  #: the sender is a bot (``UserMode.BOT``)


@attrs.frozen
class Action:
    """``/me``: an action of another user (``* Alice waves``)."""

    name: str
    text: str
    account: str = ""  #: the sender's account ("" for a guest)
    id: str = ""  #: the message's id (``World.message_id``), as stored with history
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)
    tags: tuple[tuple[str, str], ...] = ()  #: the sender's client-only tags (``Say.tags``)
    bot: bool = False  #: the sender is a bot (``UserMode.BOT``)


@attrs.frozen
class Tagged:
    """Client-only tags with no text (``SendTags``, IRC's TAGMSG) from ``name``, to a
    room's members (broadcast), to the user ``target``, or back to the sender (``own``);
    only IRC clients that take message-tags see it: the other doors show nothing."""

    name: str  #: who sent them
    target: str  #: the room or the user they were sent to
    tags: tuple[tuple[str, str], ...]
    account: str = ""  #: the sender's account ("" for a guest)
    id: str = ""  #: an id of its own (``World.message_id``), the same for every copy
    own: bool = False  #: the sender's copy (IRC's echo-message)
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)
    bot: bool = False  #: the sender is a bot (``UserMode.BOT``)


@attrs.frozen
class StatusMessage:
    """A line said to ``room``'s operators only (``to`` OPERATOR), or to its voiced members
    and operators (``to`` VOICE): IRC's STATUSMSG (``PRIVMSG @#room``). Sent to each of
    them, and back to its sender (``own``), never broadcast to the room, never stored."""

    room: str
    to: Role
    name: str  #: who said it
    text: str
    action: bool = False  #: as ``/me``
    notice: bool = False  #: a notice: never answered automatically
    account: str = ""  #: the sender's account ("" for a guest)
    id: str = ""  #: an id of its own (``World.message_id``), the same for every copy
    own: bool = False  #: the sender's copy (IRC's echo-message)
    user: str = ""  #: the username of ``name`` (``person_mask``; "": the name)
    tags: tuple[tuple[str, str], ...] = ()  #: the sender's client-only tags
    bot: bool = False  #: the sender is a bot (user mode ``bot``)


@attrs.frozen
class Away:
    """``name`` is away, saying ``text`` ("": back again); to the user and its rooms."""

    name: str
    text: str
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)


@attrs.frozen
class AccountChanged:
    """A member of a room shared with the viewer logged in to ``account`` ("": it was
    deleted) while chatting."""

    name: str
    account: str
    admin: bool = False  #: the account is an admin's
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)


@attrs.frozen
class Private:
    """A private message, as its receiver (``incoming``) or its sender sees it."""

    peer: str  #: the other user: the sender for the receiver, the receiver for the sender
    text: str
    incoming: bool
    action: bool = False  #: a ``/me`` sent privately (IRC's CTCP ACTION to a nick)
    away: str = ""  #: to the sender: the receiver is away, saying this
    id: str = ""  #: the message's id (``World.message_id``), the same for both ends
    notice: bool = False  #: a notice (IRC's NOTICE): never to be answered automatically
    user: str = ""  #: the username of ``peer`` (IRC's ``USER``: ``person_mask``; "": the name)
    tags: tuple[tuple[str, str], ...] = ()  #: the sender's client-only tags (``Say.tags``)
    time: float = 0.0  #: when it was sent (Unix time), as stored with history
    account: str = ""  #: the sender's account ("" for a guest)
    bot: bool = False  #: the sender is a bot (``UserMode.BOT``)


@attrs.frozen
class NickChanged:
    """A member of a room shared with the viewer took a new name."""

    old: str
    new: str
    user: str = ""  #: the username of ``old`` (IRC's ``USER``: ``person_mask``; "": the name)


@attrs.frozen
class TopicChanged:
    """Someone set a room's topic (shown to every member, the setter too)."""

    name: str
    room: str
    text: str
    id: str = ""  #: the change's id (``World.message_id``), as stored with history
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)


@attrs.frozen
class RoomEntered:
    """The viewer is in ``room`` now: it joined it, or asked to see it (``Focus``)."""

    room: str
    members: int  #: including the viewer
    topic: str  #: "" when none is set
    joined: bool  #: False: it was a member already
    quiet: bool = False  #: joined as part of registering (the lobby), not by asking
    topic_by: str = ""  #: who set the topic ("" when none is set, or not known)
    topic_at: float = 0.0  #: when (Unix time)
    #: on joining: the viewer's read marker in the room (chat/markers.py; Unix time in
    #: milliseconds; None: nothing read yet, or ``joined`` is False)
    marker: int | None = None


@attrs.frozen
class Unheard:
    """The viewer said something in ``room`` with nobody else in it (told once, until
    someone joins or leaves)."""

    room: str


@attrs.frozen
class Unreachable:
    """The other nodes of the chat are out of reach (``--redis``: Redis is): people on
    them do not hear ``room``, nor its people here them, until contact comes back. Told
    once per outage, in the first of the viewer's rooms with people elsewhere."""

    room: str


@attrs.frozen
class Missed:
    """Contact with the other nodes came back after ``seconds`` (0: not known): some of
    what people elsewhere said in ``room`` may not have reached the viewer."""

    room: str
    seconds: float = 0.0


@attrs.frozen
class Topic:
    """A room's topic, asked for."""

    room: str
    text: str  #: "" when none is set
    by: str = ""  #: who set it
    at: float = 0.0  #: when (Unix time)


@attrs.frozen
class RoomLeft:
    """The viewer left ``room``."""

    room: str
    rooms: tuple[str, ...] = ()  #: the rooms the viewer is still in, in the order joined
    by: str = ""  #: the operator who kicked the viewer out ("": it left by itself)
    reason: str = ""  #: why it was kicked, or what it said leaving ("": none given)
    by_user: str = ""  #: the username of ``by`` (``person_mask``; "": the name)


@attrs.frozen
class Person:
    """Who someone is, as a detailed list shows it (IRC's WHO)."""

    name: str
    user: str  #: the username (IRC's ``USER``; the name for the other doors' users)
    realname: str  #: the real name (IRC's ``USER``; the name for the other doors' users)
    account: str = ""  #: the account it is logged in to ("" for a guest)
    idle: int = 0  #: seconds since it last sent anything
    bot: bool = False  #: it is a bot (``UserMode.BOT``)


@attrs.frozen
class UserList:
    """Who is online (``room`` None) or in ``room``."""

    total: int  #: how many users are online (or in the room)
    names: tuple[str, ...]  #: sorted case-insensitively; at most the ``limit`` asked for
    room: str | None = None
    admins: frozenset[str] = frozenset()  #: which of ``names`` are admins
    label: str = ""  #: the asking intent's
    more: bool = False  #: names after the last listed remain (ask again, ``after`` it)
    away: frozenset[str] = frozenset()  #: which of ``names`` are away
    operators: frozenset[str] = frozenset()  #: which of ``names`` are the room's operators
    voiced: frozenset[str] = frozenset()  #: which of ``names`` are voiced in the room
    secret: bool = False  #: the room is secret (``Mode.SECRET``; IRC's NAMES shows ``@``)
    mask: str = ""  #: the mask asked for (``ListUsers.mask``), as it was given
    people: tuple[Person, ...] = ()  #: each of ``names``, in order, if details were asked
    #: of everyone online (``room`` None, no mask), how many are invisible (IRC's LUSERS)
    invisible: int = 0


@attrs.frozen
class RoleChanged:
    """``by`` gave (``on``) or took away ``role`` in ``room`` of its member ``name``
    (shown to every member, both of them too)."""

    room: str
    name: str
    role: Role
    on: bool
    by: str
    by_user: str = ""  #: the username of ``by`` (``person_mask``; "": the name)


@attrs.frozen
class ModeChanged:
    """``by`` turned ``mode`` of ``room`` on (``on``) or off (shown to every member, ``by``
    too)."""

    room: str
    mode: Mode
    on: bool
    by: str
    value: str = ""  #: the key or the limit set (``Mode.KEY``, ``Mode.LIMIT`` turned on)
    by_user: str = ""  #: the username of ``by`` (``person_mask``; "": the name)


@attrs.frozen
class Modes:
    """A room's modes, asked for (besides the two every room has: only members talk in
    it, only operators set its topic)."""

    room: str
    modes: frozenset[Mode]
    key: str = ""  #: the room's key, told to its members only ("" otherwise)
    limit: int = 0  #: its member limit (``Mode.LIMIT``)
    label: str = ""  #: the asking intent's
    created: float = 0.0  #: when the room was created (Unix time: IRC's 329)


class BanKind(enum.Enum):
    """What a room's ban names (``RoomBan.mask``)."""

    ACCOUNT = "account"  #: a registered name: whatever name its owner uses, after renames too
    NAME = "name"  #: a guest's name
    MASK = "mask"  #: ``nick!user@host`` with ``*`` and ``?``, matched against ``person_mask``


@attrs.frozen
class RoomBan:
    """One of a room's bans (``Room.bans``, roles.py's rules 10-12): plain fields only,
    so that storing it is writing them."""

    kind: BanKind
    mask: str  #: the account's or guest's name as spelled, or the mask as normalised
    by: str  #: the operator who set it
    at: float  #: when (Unix time)
    reason: str = ""

    @property
    def shown(self) -> str:
        """The ban as a mask, as IRC shows it (367, ``MODE +b``) and ``-b`` takes it: a
        guest's name as ``Dave!*@*``, an account as ``~a:Dave`` (ergo's extban)."""
        if self.kind is BanKind.ACCOUNT:
            return f"~a:{self.mask}"
        return f"{self.mask}!*@*" if self.kind is BanKind.NAME else self.mask


@attrs.frozen
class BanChanged:
    """``by`` set (``on``) or lifted a ban of ``room``: told to every member, as a mode
    change is (IRC ``MODE #r +b mask``)."""

    room: str
    ban: RoomBan
    on: bool
    by: str
    by_user: str = ""  #: the username of ``by`` (``person_mask``; "": the name)


@attrs.frozen
class BanList:
    """A room's bans, oldest first (``/bans #rust``; IRC 367 ... 368)."""

    room: str
    bans: tuple[RoomBan, ...]


@attrs.frozen
class RoomInfo:
    """What is known of a registered room (``/room info``; chat/registered.py)."""

    room: str
    founder: str = ""  #: the founding account's name ("": the server's own room)
    registered_at: float = 0.0  #: Unix time (0: the server's own room)
    ops: tuple[str, ...] = ()  #: the accounts listed as operators, by name
    server: bool = False  #: the server's own room (``#lobby``): run by its admins


@attrs.frozen
class Invitation:
    """The operator ``by`` invited the viewer to ``room``: it may join it past ``+i``,
    ``+k`` and ``+l`` once, within the hour."""

    room: str
    by: str
    by_user: str = ""  #: the username of ``by`` (``person_mask``; "": the name)


@attrs.frozen
class Invited:
    """The operator ``by`` invited ``name`` to ``room``: told to the room's other
    operators, so that they know who may come in (IRC's ``invite-notify``)."""

    room: str
    by: str
    name: str
    by_user: str = ""  #: the username of ``by`` (``person_mask``; "": the name)


@attrs.frozen
class Invitations:
    """The rooms the viewer holds an invitation to, that it may still use (IRC 336 each,
    then 337), in the order they were given."""

    rooms: tuple[str, ...]


@attrs.frozen
class InviteSent:
    """The viewer's invitation of ``name`` to ``room`` was given (IRC 341)."""

    room: str
    name: str


@attrs.frozen
class Kicked:
    """The operator ``by`` kicked ``name`` out of ``room``, saying ``reason``; shown to
    the room's other members (``name`` itself gets ``RoomLeft`` with ``by`` set)."""

    room: str
    name: str
    by: str
    reason: str = ""
    by_user: str = ""  #: the username of ``by`` (``person_mask``; "": the name)


@attrs.frozen
class RoomList:
    """The rooms that exist, busiest first."""

    total: int  #: how many rooms exist (that the viewer may see: a secret one only its members)
    rooms: tuple[tuple[str, int], ...]  #: (name, members); at most the ``limit`` asked for
    topics: tuple[str, ...] = ()  #: each listed room's topic ("" when none), same order
    label: str = ""  #: the asking intent's


@attrs.frozen
class Whois:
    """What is known about a user who is online."""

    name: str
    rooms: tuple[str, ...]
    since: float  #: when the user connected (Unix time)
    idle: float  #: seconds since the user last sent anything
    account: str = ""  #: the account it is logged in to ("" for a guest)
    admin: bool = False
    label: str = ""  #: the asking intent's
    away: str = ""  #: why it is away ("": it is not)
    operator: frozenset[str] = frozenset()  #: which of ``rooms`` it is an operator of
    voiced: frozenset[str] = frozenset()  #: which of ``rooms`` it has voice in
    user: str = ""  #: its username (``Person.user``)
    realname: str = ""  #: its real name (``Person.realname``)
    bot: bool = False  #: it is a bot (``UserMode.BOT``)


@attrs.frozen
class UserModes:
    """The viewer's own user modes: all of them (``modes``), and what the change it asked
    for (or ``Oper``) added and removed; neither: it asked what they are."""

    name: str  #: the viewer's name
    modes: frozenset[UserMode]
    added: tuple[UserMode, ...] = ()
    removed: tuple[UserMode, ...] = ()
    user: str = ""  #: the viewer's username (``person_mask``; "": the name)


@attrs.frozen
class Wallops:
    """A message from a server operator to every connection with ``UserMode.WALLOPS``
    (and back to the operator)."""

    name: str  #: the operator who sent it
    text: str
    user: str = ""  #: the username of ``name`` (``person_mask``; "": the name)


@attrs.frozen
class Gone:
    """Someone who had the name ``name`` and gave it up (chat/presence.py's rule 1)."""

    name: str  #: as it was spelled
    user: str  #: its username ("": the name)
    realname: str  #: its real name ("": the name)
    when: float  #: when it was given up (Unix time)


@attrs.frozen
class PastNames:
    """Who had the name ``name`` (IRC's WHOWAS): newest first, never empty."""

    name: str  #: as asked
    gone: tuple[Gone, ...]  #: who had it, newest first (at most the count asked for)


@attrs.frozen
class Presence:
    """Which of the names the viewer watches are online (each with its username, as
    they spell their names) and which are not (as the viewer gave them, or as they were
    spelled when given up): the answer to adding or checking watches, or news of one."""

    online: tuple[tuple[str, str], ...] = ()  #: (name, username)
    offline: tuple[str, ...] = ()


@attrs.frozen
class WatchList:
    """The names the viewer watches, in the order added (IRC's ``MONITOR L``)."""

    names: tuple[str, ...]  #: as the viewer gave them


@attrs.frozen
class RealnameChanged:
    """``name`` set its real name (IRC's SETNAME); to the person and its rooms."""

    name: str  #: who changed it
    realname: str  #: the new real name (1 to ``REALNAME_MAX`` characters)
    user: str = ""  #: the username of ``name`` (IRC's ``USER``: ``person_mask``; "": the name)


@attrs.frozen
class Watched:
    """News of a person the viewer watches and shares no room with (chat/presence.py's
    rule 4): its away state, account or real name, as its rooms were told."""

    event: Away | AccountChanged | RealnameChanged  #: the news, as the person's rooms got it


class Kind(enum.Enum):
    """What a history entry records. The value is stored in the database."""

    SAID = "said"
    ACTION = "action"
    JOINED = "joined"
    LEFT = "left"
    TOPIC = "topic"
    NICK = "nick"
    PRIVATE = "pm"
    NOTICE = "notice"  #: a notice in a room (the column is text: older databases open)


CONVERSATION = frozenset({Kind.SAID, Kind.ACTION, Kind.NOTICE, Kind.TOPIC})
"""The kinds replayed to someone joining a room (joins and leaves would crowd them out)."""


@attrs.frozen
class Entry:
    """One recorded line of history."""

    time: float  #: when the server saw it (Unix time)
    kind: Kind
    room: str  #: the room's name, or "" for a private message
    name: str  #: who did it
    text: str = ""  #: what was said; the topic; the new name (NICK); why (LEFT)
    target: str = ""  #: the receiver of a private message
    # Of a private message, who sent and received it (whose it is): the connections,
    # and their accounts' ids ("": a guest). Never the names, which others take next.
    session: str = ""
    target_session: str = ""
    account: str = ""
    target_account: str = ""
    #: the server-made id (``World.message_id``); an entry stored before ids existed
    #: (schema 4) reads back as ``r<row>`` (storage/database.py)
    id: str = ""


@attrs.frozen
class Targets:
    """The answer to ``ReadTargets``: (a room or a person, the time of its latest
    message), oldest first."""

    targets: tuple[tuple[str, float], ...]


@attrs.frozen
class Redacted:
    """A message was deleted (shown to a room's members, the one who deleted it too; or
    to both people of a private conversation): it is gone from history, and a door that
    still shows it takes it away."""

    by: str  #: who deleted it
    target: str  #: the room; for a private message, its receiver
    id: str  #: the message's id (``Entry.id``)
    reason: str = ""
    author: str = ""  #: who wrote it (as its history entry names them)
    user: str = ""  #: the username of ``by`` (IRC's ``USER``: ``person_mask``)


@attrs.frozen
class History:
    """Recorded lines, oldest first, shown as history (on joining a room, or /history)."""

    title: str  #: what they are the history of: "#rust", "Bob"
    entries: tuple[Entry, ...]
    today: str  #: the viewer's date (UTC, YYYY-MM-DD): older entries show their date
    asked: bool = False  #: by /history (an empty answer is said), not on joining


@attrs.frozen
class Help:
    """The answer to /help, generated from the slash-command table (doors/commands.py)."""

    commands: tuple[tuple[str, str], ...]  #: (usage, what it does), in the table's order


@attrs.frozen
class MarkedRead:
    """Where the viewer's account (a guest: this connection) has read ``target`` up to:
    its read marker, set or asked for (IRCv3 draft/read-marker; the page's unread
    counts). Told to every connection of the account when it moves (chat/markers.py)."""

    target: str  #: a room, or the person of a private conversation, as asked
    at: int | None  #: Unix time in milliseconds; None: nothing read yet


@attrs.frozen
class Refused:
    """A request could not be carried out (nothing was sent to anyone else), or the
    connection is about to close for this reason. Only the fields ``problem`` names are set.
    """

    problem: Problem
    name: str = ""  #: the name, command or word concerned
    room: str = ""
    char: str = ""  #: the character that is not allowed
    length: int = 0  #: how long what was given is
    limit: float = 0  #: the bound it broke (characters, lines, seconds)
    rate: float = 0.0  #: lines per second (flood control)
    until: float = 0.0  #: Unix time a ban ends (inf: never)
    naming: bool = False  #: it happened while choosing a first name
    final: bool = False  #: too many bad names: the connection closes after this
    still: str = ""  #: a rename was refused: the name kept
    like: str = ""  #: the name (of someone online, or an account's) that ``name`` looks like


@attrs.frozen
class Done:
    """Something was done at the viewer's request, or to the viewer (kicked, banned)."""

    outcome: Outcome
    name: str = ""
    text: str = ""  #: a reason given
    kind: str = ""  #: of a ban: "account" or "address"
    key: str = ""  #: of a ban: the account key or the address
    until: float = 0.0
    room: str = ""  #: the room concerned (registered rooms)


@attrs.frozen
class Goodbye:
    """The last line before the server closes the connection at the user's request."""

    reason: Reason


@attrs.frozen
class Disconnected:
    """The server ends the connection for a reason of its own (shutdown, too slow)."""

    reason: Reason


Event = (
    Greeting
    | AskName
    | Welcome
    | Joined
    | Left
    | Said
    | Action
    | Tagged
    | StatusMessage
    | Away
    | AccountChanged
    | Private
    | NickChanged
    | TopicChanged
    | RoleChanged
    | ModeChanged
    | Modes
    | BanChanged
    | BanList
    | RoomInfo
    | Invitation
    | Invitations
    | InviteSent
    | Invited
    | Kicked
    | RoomEntered
    | Unheard
    | Unreachable
    | Missed
    | Topic
    | RoomLeft
    | UserList
    | RoomList
    | Whois
    | UserModes
    | Wallops
    | PastNames
    | Presence
    | WatchList
    | RealnameChanged
    | Watched
    | History
    | Targets
    | Redacted
    | Help
    | MarkedRead
    | Refused
    | Done
    | Goodbye
    | Disconnected
)
