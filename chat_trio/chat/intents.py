"""Intents: what a user asks for, whichever door they came through (one frozen class each).

A door turns its own syntax into these (``/join #rust`` on the text door, ``JOIN #rust``
on IRC); the rules (core.py) take nothing else. An intent carries meaning only: no
bytes, no slash syntax, no wording. Rooms and names are as the user typed them; the
rules check them. Every text field is checked as it is set (words.py): free text that
others see is one line, and no field holds a lone surrogate, whichever door made it.

This module must never import trio or do I/O.
"""

from __future__ import annotations

import enum

import attrs

from chat_trio.chat import words
from chat_trio.chat.events import Mode, Role, UserMode


class Secret(str):
    """A password: a ``str`` whose ``repr`` never shows it, so that no log line, traceback
    or repr of an intent, output or connection state can leak one. ``str(secret)`` and
    f-strings still give the text (hashing needs it); nothing else should."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('********')"


def secret(password: str) -> Secret:
    """A password given by a person, checked as words.py's rule 2."""
    return Secret(words.text(password))


class Lobby(enum.Enum):
    """Where a user is put once named, and whether it must always be in some room. The
    door says which, as what its users can do without a room (the rules never know which
    door it is): the text door and the page always show a current room to talk in; an IRC
    client lists its channels and may be in none."""

    ALWAYS = "always"
    """Put in ``#lobby``, and always in some room: kicked out of its last room, it is put
    back in ``#lobby`` (the text door and the page)."""
    FIRST = "first"
    """Put in ``#lobby``, then free to be in no room (IRC with ``#lobby`` auto-joined)."""
    NEVER = "never"
    """In no room until it joins one (IRC without auto-join, as ergo's default)."""


@attrs.frozen
class ChooseName:
    """Take ``name`` as a guest (the first name of a connection), then go where
    ``lobby`` says."""

    name: str = attrs.field(converter=words.text)
    lobby: Lobby = Lobby.ALWAYS
    #: IRC's ``USER``: the username (``words.username``; "": the name stands for it) and
    #: the real name (one line, at most ``REALNAME_MAX`` kept; "": the name)
    user: str = attrs.field(default="", converter=words.username)
    realname: str = attrs.field(default="", converter=words.line)


@attrs.frozen
class LogIn:
    """Take the registered ``name`` by proving its ``password`` (first name, or later);
    as a first name, then go where ``lobby`` says (a later login moves nobody)."""

    name: str = attrs.field(converter=words.text)
    password: Secret = attrs.field(converter=secret)
    lobby: Lobby = Lobby.ALWAYS
    user: str = attrs.field(default="", converter=words.username)  #: as ``ChooseName``'s
    realname: str = attrs.field(default="", converter=words.line)  #: as ``ChooseName``'s


@attrs.frozen
class Rename:
    """Change the chatting user's name to ``name``."""

    name: str = attrs.field(converter=words.text)


@attrs.frozen
class Say:
    """Say ``text`` in ``room`` (``action``: as ``/me``; ``notice``: as a notice, which
    nobody and nothing answers automatically)."""

    room: str = attrs.field(converter=words.text)
    text: str = attrs.field(converter=words.line)
    action: bool = False
    notice: bool = False
    #: client-only tags (IRCv3 ``+typing``, ``+draft/reply`` ...), carried unread
    tags: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=words.client_tags)
    #: only to the room's members who hold this role (``VOICE``: voiced members and
    #: operators), not stored (IRC's STATUSMSG, ``PRIVMSG @#room``); None: to everyone
    to: Role | None = None


@attrs.frozen
class SendPrivate:
    """Send ``text`` to the user ``name`` only (``action``: as ``/me``; ``notice``: as a
    notice, which is never answered automatically: no away message comes back)."""

    name: str = attrs.field(converter=words.text)
    text: str = attrs.field(converter=words.line)
    action: bool = False
    notice: bool = False
    #: client-only tags (IRCv3 ``+typing``, ``+draft/reply`` ...), carried unread
    tags: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=words.client_tags)


@attrs.frozen
class SendTags:
    """Send client-only tags with no text (IRC's TAGMSG: ``+typing``, ``+draft/react``
    ...) to ``target``: a room one is in (``#rust``), or a user. Nothing is stored, and
    nothing answers it automatically."""

    target: str = attrs.field(converter=words.text)
    tags: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=words.client_tags)


@attrs.frozen
class SetAway:
    """Say the user is away, with ``text`` ("": back again)."""

    text: str = attrs.field(converter=words.line)


@attrs.frozen
class SetRealname:
    """Set the user's real name to ``realname`` (one line; chat/presence.py's rule 5)."""

    realname: str = attrs.field(converter=words.line)


@attrs.frozen
class LookUpPast:
    """Who had the name ``name`` and gave it up (IRC's WHOWAS): the newest ``count``
    (0 or less: all that are remembered)."""

    name: str = attrs.field(converter=words.text)  #: as typed (any case)
    count: int = 0  #: the most entries to list, newest first; 0 or less: all


class WatchAct(enum.Enum):
    """What a ``Watch`` does with the connection's watched names (IRC's MONITOR)."""

    ADD = "add"  #: watch ``names`` too, and say which of them are online (``+``)
    REMOVE = "remove"  #: stop watching ``names`` (``-``)
    CLEAR = "clear"  #: stop watching every name (``C``)
    LIST = "list"  #: show the names watched (``L``)
    STATUS = "status"  #: say which of the names watched are online (``S``)


@attrs.frozen
class Watch:
    """Change or show the names the connection watches come and go (chat/presence.py)."""

    act: WatchAct  #: what to do
    #: the names to add or remove (ADD, REMOVE), as typed; each is checked as a name
    names: tuple[str, ...] = attrs.field(default=(), converter=words.texts)


@attrs.frozen
class Join:
    """Enter ``room``, creating it if needed (already a member: see it, as ``Focus``),
    with its ``key`` if it has one (``+k``)."""

    room: str = attrs.field(converter=words.text)
    key: str = attrs.field(default="", converter=words.text)


@attrs.frozen
class Focus:
    """Show ``room``, one the user is in (the text door's ``/switch``)."""

    room: str = attrs.field(converter=words.text)


@attrs.frozen
class Leave:
    """Leave ``room``, saying why (``reason``: "" for nothing)."""

    room: str = attrs.field(converter=words.text)
    reason: str = attrs.field(default="", converter=words.line)


@attrs.frozen
class ShowTopic:
    """Tell the user ``room``'s topic."""

    room: str = attrs.field(converter=words.text)


@attrs.frozen
class SetTopic:
    """Set ``room``'s topic to ``text``."""

    room: str = attrs.field(converter=words.text)
    text: str = attrs.field(converter=words.line)


@attrs.frozen
class ListUsers:
    """Who is online (``room`` None) or in ``room``, in alphabetical order: at most
    ``limit`` names (None: as many as one list holds, ``vocabulary.LIST_MAX``), those
    after ``after`` (the last name of the page before), or (``names``) which of these
    are online. ``label`` comes back on the answer unchanged (a door's own note of why
    it asked)."""

    room: str | None = attrs.field(default=None, converter=attrs.converters.optional(words.text))
    limit: int | None = None
    label: str = attrs.field(default="", converter=words.text)
    after: str = attrs.field(default="", converter=words.text)
    names: tuple[str, ...] = attrs.field(default=(), converter=words.texts)
    #: everyone online whose name, username, host or real name matches this mask (``*``:
    #: any run of characters, ``?``: any one; case does not count), at most ``limit``
    #: in name order (IRC's ``WHO nick*``); a mask without ``*`` or ``?`` is one name
    mask: str = attrs.field(default="", converter=words.text)
    detail: bool = False  #: say each listed person's username, real name ... (``Person``)


@attrs.frozen
class ListRooms:
    """Which rooms exist, busiest first: at most ``limit`` (None: as many as one list
    holds, ``vocabulary.LIST_MAX``); only those named in ``rooms`` or whose name one of
    ``masks`` matches, if any are given; and of those, only the ones the filters let
    through (IRC's ``LIST`` with ISUPPORT ``ELIST=MNU``)."""

    limit: int | None = None
    label: str = attrs.field(default="", converter=words.text)  #: comes back unchanged
    rooms: tuple[str, ...] = attrs.field(default=(), converter=words.texts)
    #: room-name masks (``*``: any run of characters, ``?``: any one; case does not
    #: count); the rules try the first ``rooms.LIST_MASKS_MAX`` of them
    masks: tuple[str, ...] = attrs.field(default=(), converter=words.texts)
    #: masks no listed room's name may match (IRC's ``LIST !mask``)
    not_masks: tuple[str, ...] = attrs.field(default=(), converter=words.texts)
    more_than: int | None = None  #: only rooms with more members than this (``LIST >n``)
    fewer_than: int | None = None  #: only rooms with fewer members than this (``LIST <n``)


@attrs.frozen
class LookUp:
    """What is known about the user ``name`` (None: the asker)."""

    name: str | None = attrs.field(default=None, converter=attrs.converters.optional(words.text))
    label: str = attrs.field(default="", converter=words.text)  #: comes back unchanged


@attrs.frozen
class ReadHistory:
    """The last ``limit`` lines (None: as many as a join shows) of ``room``, or (``peer``
    set) the private messages with ``peer``."""

    limit: int | None = None
    room: str = attrs.field(default="", converter=words.text)
    peer: str = attrs.field(default="", converter=words.text)
    before: float | None = attrs.field(default=None, converter=words.moment)  #: older (Unix time)
    #: the first lines newer than this, instead of the last
    after: float | None = attrs.field(default=None, converter=words.moment)
    #: lines around this time: half at it or older, half newer
    around: float | None = attrs.field(default=None, converter=words.moment)
    #: the same, by a message's id (``Entry.id``) instead of a time: older than it, the
    #: first newer than it, around it (the message itself and the older half, then newer)
    before_id: str = attrs.field(default="", converter=words.text)
    after_id: str = attrs.field(default="", converter=words.text)
    around_id: str = attrs.field(default="", converter=words.text)
    newest: bool = False  #: with ``after`` or ``after_id``: the last lines newer, not the first


@attrs.frozen
class MarkRead:
    """Move the read marker of ``target`` (a room, or a person for a private conversation)
    to ``time`` (Unix time), or, with no ``time``, ask where it is (chat/markers.py)."""

    target: str = attrs.field(converter=words.text)
    time: float | None = attrs.field(default=None, converter=words.moment)


@attrs.frozen
class ReadTargets:
    """Who one has talked with, and where, between two times: the rooms one is in and the
    people one has private messages with, each with the time of its latest message, if
    that is after ``after`` and before ``before`` (Unix time); at most ``limit``."""

    after: float = attrs.field(converter=words.moment)
    before: float = attrs.field(converter=words.moment)
    limit: int


@attrs.frozen
class Redact:
    """Delete the message ``id`` of ``target`` (a room one is in, or the other person of
    a private conversation) from history and from everyone's view, saying ``reason``:
    one's own message, or, for a room's operators (and admins), anyone's in that room."""

    target: str = attrs.field(converter=words.text)
    id: str = attrs.field(converter=words.text)
    reason: str = attrs.field(default="", converter=words.line)


@attrs.frozen
class Register:
    """Own the current name, with ``password``."""

    password: Secret = attrs.field(converter=secret)


@attrs.frozen
class ChangePassword:
    """Replace the account's password ``old`` with ``new``."""

    old: Secret = attrs.field(converter=secret)
    new: Secret = attrs.field(converter=secret)


@attrs.frozen
class Unregister:
    """Delete the account, proving ``password``."""

    password: Secret = attrs.field(converter=secret)


@attrs.frozen
class SetRole:
    """(Operators) give (``on``) or take away ``role`` in ``room`` of its member ``name``."""

    room: str = attrs.field(converter=words.text)
    name: str = attrs.field(converter=words.text)
    role: Role
    on: bool = True


@attrs.frozen
class ShowModes:
    """Tell the user ``room``'s modes."""

    room: str = attrs.field(converter=words.text)
    label: str = attrs.field(default="", converter=words.text)  #: comes back unchanged


@attrs.frozen
class SetMode:
    """(Operators) turn ``mode`` of ``room`` on (``on``) or off; ``key`` is the key that
    ``Mode.KEY`` sets, ``limit`` the member limit that ``Mode.LIMIT`` sets."""

    room: str = attrs.field(converter=words.text)
    mode: Mode
    on: bool = True
    key: str = attrs.field(default="", converter=words.text)
    limit: int = 0


@attrs.frozen
class Invite:
    """(Operators) let ``name`` join ``room`` once, past ``+i``, ``+k`` and ``+l``."""

    name: str = attrs.field(converter=words.text)
    room: str = attrs.field(converter=words.text)


@attrs.frozen
class Kick:
    """(Operators) put the member ``name`` out of ``room``, telling them ``reason``."""

    room: str = attrs.field(converter=words.text)
    name: str = attrs.field(converter=words.text)
    reason: str = attrs.field(default="", converter=words.line)


@attrs.frozen
class BanFromRoom:
    """(Operators) keep ``target`` out of ``room``: a name (its account if it has one) or
    a ``nick!user@host`` mask with ``*`` and ``?``; ``kick``: put out the members it
    matches too, telling them ``reason`` (the text door's ``/ban #room``)."""

    room: str = attrs.field(converter=words.text)
    target: str = attrs.field(converter=words.text)
    reason: str = attrs.field(default="", converter=words.line)
    kick: bool = False


@attrs.frozen
class UnbanFromRoom:
    """(Operators) lift ``room``'s ban on ``target`` (a name or mask, as banned or shown)."""

    room: str = attrs.field(converter=words.text)
    target: str = attrs.field(converter=words.text)


@attrs.frozen
class ShowBans:
    """Tell the user ``room``'s bans."""

    room: str = attrs.field(converter=words.text)


@attrs.frozen
class ShowInvitations:
    """Tell the user the rooms it holds an invitation to (IRC's ``INVITE`` alone)."""


@attrs.frozen
class RegisterRoom:
    """(A logged-in operator of ``room``) keep ``room`` registered to one's account."""

    room: str = attrs.field(converter=words.text)


@attrs.frozen
class DropRoom:
    """(Its founder, or an admin) forget the registration of ``room``."""

    room: str = attrs.field(converter=words.text)


@attrs.frozen
class ShowRoomInfo:
    """Tell the user who founded ``room``, when, and whom it lists as operators."""

    room: str = attrs.field(converter=words.text)


@attrs.frozen
class SetRoomOp:
    """(Its founder, or an admin) list (``on``) the account ``name`` as an operator of the
    registered ``room``, or take it off the list."""

    room: str = attrs.field(converter=words.text)
    name: str = attrs.field(converter=words.text)
    on: bool = True


@attrs.frozen
class Kill:
    """(Admins) disconnect the user ``name`` from the server, telling them ``reason``."""

    name: str = attrs.field(converter=words.text)
    reason: str = attrs.field(default="", converter=words.line)


@attrs.frozen
class Ban:
    """(Admins) keep out ``target`` (a name or an address) for ``seconds`` (inf: forever)."""

    target: str = attrs.field(converter=words.text)
    seconds: float
    reason: str = attrs.field(default="", converter=words.line)


@attrs.frozen
class Unban:
    """(Admins) lift the ban on ``target`` (an account or an address)."""

    target: str = attrs.field(converter=words.text)


@attrs.frozen
class Oper:
    """Become a server operator on this connection (IRC's ``OPER``), proving the password
    of ``name``, an admin's account; the name and the account one uses stay as they are."""

    name: str = attrs.field(converter=words.text)
    password: Secret = attrs.field(converter=secret)


@attrs.frozen
class SetUserModes:
    """Turn on the user modes in ``add`` and off those in ``remove`` (``UserMode.OPERATOR``
    can only be turned off: ``Oper`` turns it on)."""

    add: tuple[UserMode, ...] = ()
    remove: tuple[UserMode, ...] = ()


@attrs.frozen
class ShowUserModes:
    """Tell the user its own user modes."""


@attrs.frozen
class SendWallops:
    """(Admins and operators) send ``text`` to everyone who receives wallops."""

    text: str = attrs.field(converter=words.line)


@attrs.frozen
class Quit:
    """Leave the chat (``interrupted``: by telnet's Ctrl-C), saying why (``reason``)."""

    interrupted: bool = False
    reason: str = attrs.field(default="", converter=words.line)


@attrs.frozen
class Hangup:
    """The client closed its side of the connection (``timed_out``: the door gave up on
    a client that stopped answering its pings): always the last intent."""

    timed_out: bool = False


Intent = (
    ChooseName
    | LogIn
    | Rename
    | Say
    | SendPrivate
    | SendTags
    | SetAway
    | SetRealname
    | LookUpPast
    | Watch
    | Join
    | Focus
    | Leave
    | ShowTopic
    | SetTopic
    | ListUsers
    | ListRooms
    | LookUp
    | ReadHistory
    | MarkRead
    | ReadTargets
    | Redact
    | Register
    | ChangePassword
    | Unregister
    | SetRole
    | ShowModes
    | SetMode
    | Invite
    | BanFromRoom
    | UnbanFromRoom
    | ShowBans
    | ShowInvitations
    | Kick
    | RegisterRoom
    | DropRoom
    | ShowRoomInfo
    | SetRoomOp
    | Kill
    | Ban
    | Unban
    | Oper
    | SetUserModes
    | ShowUserModes
    | SendWallops
    | Quit
    | Hangup
)
