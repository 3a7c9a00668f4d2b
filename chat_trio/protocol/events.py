"""The vocabulary of the protocol: what users see, and what the core asks of the I/O layer.

Two families of small frozen classes live here:

* **Events** are things a user sees (``Said``, ``Joined``, ``UserList`` ...). They carry
  meaning, not bytes: each transport renders them its own way (``render.py`` for
  nc/telnet), so the rules in ``core.py`` never depend on a wire format.
* **Outputs** are the core's instructions to the I/O layer: deliver these events to one
  connection (``Reply``), to every member of a room (``Broadcast``), start delivering
  broadcasts to a connection (``Subscribe``), or end a connection (``Close``); and
  the history it needs stored (``Record``) or read (``LoadHistory``, ``QueryHistory``).

This module must never import trio or do I/O.
"""

from __future__ import annotations

import enum

import attrs

from chat_trio.protocol.accounts import Account, Ban

ConnId = int
"""Identifies one connection for the lifetime of the server (never reused)."""


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
    BANNED = "banned"  #: the address or account is banned
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
class NameRefused:
    """A username was refused; the prompt follows."""

    reason: str  #: a complete sentence that says what is wrong


@attrs.frozen
class Welcome:
    """Registration succeeded."""

    name: str  #: the name as the user typed it
    online: int  #: registered users, including this one


@attrs.frozen
class Joined:
    """Another user entered the chat (``room`` None: by registering) or a room."""

    name: str
    room: str | None = None


@attrs.frozen
class Left:
    """Another user left the chat (``room`` None: disconnected) or a room."""

    name: str
    reason: Reason  #: rendered only when it is not an ordinary quit or close
    room: str | None = None


@attrs.frozen
class Said:
    """A chat line from another user."""

    name: str  #: who said it
    text: str  #: sanitised text, never empty


@attrs.frozen
class Action:
    """``/me``: an action of another user (``* Alice waves``)."""

    name: str
    text: str


@attrs.frozen
class Private:
    """A private message, as its receiver (``incoming``) or its sender sees it."""

    peer: str  #: the other user: the sender for the receiver, the receiver for the sender
    text: str
    incoming: bool


@attrs.frozen
class NickChanged:
    """A member of a room shared with the viewer took a new name."""

    old: str
    new: str


@attrs.frozen
class TopicChanged:
    """Someone set a room's topic (shown to every member, the setter too)."""

    name: str
    room: str
    text: str


@attrs.frozen
class RoomEntered:
    """The viewer is now in ``room`` and talking there (``/join`` or ``/switch``)."""

    room: str
    members: int  #: including the viewer
    topic: str  #: "" when none is set
    joined: bool  #: False: it was a member already and only switched to it


@attrs.frozen
class Topic:
    """The answer to /topic without text."""

    room: str
    text: str  #: "" when none is set


@attrs.frozen
class RoomLeft:
    """The viewer left ``room``; plain text now goes to ``current``."""

    room: str
    current: str


@attrs.frozen
class UserList:
    """The answer to /users (``room`` None: everyone online) or /users #room."""

    total: int  #: how many users are online (or in the room)
    names: tuple[str, ...]  #: sorted case-insensitively; at most the first ``USERS_SHOWN``
    room: str | None = None


@attrs.frozen
class RoomList:
    """The answer to /rooms."""

    total: int  #: how many rooms exist
    rooms: tuple[tuple[str, int], ...]  #: (name, members), busiest first; at most ``ROOMS_SHOWN``


@attrs.frozen
class Whois:
    """The answer to /whois."""

    name: str
    rooms: tuple[str, ...]
    since: float  #: when the user connected (Unix time)
    idle: float  #: seconds since the user last sent anything


class Kind(enum.Enum):
    """What a history entry records. The value is stored in the database."""

    SAID = "said"
    ACTION = "action"
    JOINED = "joined"
    LEFT = "left"
    TOPIC = "topic"
    NICK = "nick"
    PRIVATE = "pm"


CONVERSATION = frozenset({Kind.SAID, Kind.ACTION, Kind.TOPIC})
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


@attrs.frozen
class History:
    """Recorded lines, oldest first, shown as history (on joining a room, or /history)."""

    title: str  #: what they are the history of: "#rust", "Bob"
    entries: tuple[Entry, ...]
    today: str  #: the viewer's date (UTC, YYYY-MM-DD): older entries show their date
    asked: bool = False  #: by /history (an empty answer is said), not on joining


@attrs.frozen
class Help:
    """The answer to /help, generated from the command registry."""

    commands: tuple[tuple[str, str], ...]  #: (usage, what it does), in registry order


@attrs.frozen
class Error:
    """A request could not be carried out; nothing was sent to anyone else."""

    text: str  #: a complete sentence that says what is wrong and what to do


@attrs.frozen
class Notice:
    """A confirmation or a piece of news for one user, shown as ``* text``."""

    text: str


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
    | NameRefused
    | Welcome
    | Joined
    | Left
    | Said
    | Action
    | Private
    | NickChanged
    | TopicChanged
    | RoomEntered
    | Topic
    | RoomLeft
    | UserList
    | RoomList
    | Whois
    | History
    | Help
    | Error
    | Notice
    | Goodbye
    | Disconnected
)


# -- Outputs: what the core asks the I/O layer to do ---------------------------------------


@attrs.frozen
class Reply:
    """Deliver ``events`` to one connection only."""

    to: ConnId
    events: tuple[Event, ...]


@attrs.frozen
class Broadcast:
    """Deliver ``events`` to every member of ``room`` except ``exclude``.

    Members for whom ``room`` is not the current room see each line prefixed with
    ``[room]``."""

    events: tuple[Event, ...]
    exclude: ConnId | None
    room: str


@attrs.frozen
class Subscribe:
    """From now on, deliver broadcasts to ``room`` to ``conn`` as well (or, if it is a
    member already, just note whether ``room`` is its current room)."""

    conn: ConnId
    room: str
    current: bool


@attrs.frozen
class Unsubscribe:
    """Deliver no more broadcasts to ``room`` to ``conn``."""

    conn: ConnId
    room: str


@attrs.frozen
class Close:
    """Deliver what is already queued for ``conn``, then close it."""

    conn: ConnId
    reason: Reason


@attrs.frozen
class Record:
    """Store ``entries`` in the history, in order (best effort; see storage)."""

    entries: tuple[Entry, ...]


@attrs.frozen
class LoadHistory:
    """``conn`` is joining ``room``, whose recent history is not in memory: load it, then
    call ``Chat.history_loaded``. The core handles nothing else from ``conn`` meanwhile."""

    conn: ConnId
    room: str


@attrs.frozen
class QueryHistory:
    """Answer ``conn``'s /history: the last ``limit`` entries of ``room`` or, when
    ``peer`` is set, the private messages between ``name`` and ``peer`` since ``since``."""

    conn: ConnId
    limit: int
    room: str = ""
    name: str = ""
    peer: str = ""
    since: float = 0.0


@attrs.frozen
class CheckPassword:
    """Check ``password`` against the stored account ``key`` (in a worker thread), then call
    ``Chat.password_checked``. The core handles nothing else from ``conn`` meanwhile."""

    conn: ConnId
    key: str  #: name_key of the account
    password: str = attrs.field(repr=False)


@attrs.frozen
class HashPassword:
    """Hash ``password`` (in a worker thread), then call ``Chat.password_hashed``. The core
    handles nothing else from ``conn`` meanwhile."""

    conn: ConnId
    password: str = attrs.field(repr=False)


@attrs.frozen
class SaveAccount:
    """Store ``account`` under ``key`` (None: delete it). Durable, unlike ``Record``."""

    key: str
    account: Account | None


@attrs.frozen
class SaveBan:
    """Store ``ban`` (None: lift the ban on (``kind``, ``key``)). Durable."""

    kind: str
    key: str
    ban: Ban | None


Output = (
    Reply
    | Broadcast
    | Subscribe
    | Unsubscribe
    | Close
    | Record
    | LoadHistory
    | QueryHistory
    | CheckPassword
    | HashPassword
    | SaveAccount
    | SaveBan
)
