"""Outputs: what the rules ask of the I/O layer, in order (one small frozen class each).

Deliver events to one connection (``Reply``) or to every member of a room (``Broadcast``);
start or stop delivering a room's broadcasts to a connection (``Subscribe``,
``Unsubscribe``); end a connection (``Close``); store history (``Record``), accounts,
bans and registered rooms (``SaveAccount``, ``SaveBan``, ``SaveRoom``); or do slow work and
call the rules back with the answer (``LoadHistory``, ``QueryHistory``,
``CheckPassword``, ``HashPassword``, ``ClaimName``); let a name go on every node
(``ReleaseName``).

``Outputs`` collects them for one call into the rules, merging consecutive events for the
same audience, so that a pasted block of lines is published once, in order.

This module must never import trio or do I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from chat_trio.chat.events import ConnId, Entry, Event, Reason
from chat_trio.chat.intents import Redact, Secret
from chat_trio.chat.registry import Account, Ban, RegisteredRoom


@attrs.frozen
class Reply:
    """Deliver ``events`` to one connection only."""

    to: ConnId
    events: tuple[Event, ...]


@attrs.frozen
class Broadcast:
    """Deliver ``events`` to every member of ``room`` except ``exclude`` and ``told``
    (each member's door renders them its own way)."""

    events: tuple[Event, ...]
    exclude: ConnId | None
    room: str
    told: frozenset[ConnId] = frozenset()  #: members another room told already (news
    #: of one person: ``World.tell_peers``)


@attrs.frozen
class Subscribe:
    """From now on, deliver broadcasts to ``room`` to ``conn`` as well."""

    conn: ConnId
    room: str


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
    """Answer ``conn``'s /history: the last ``limit`` entries of ``room`` (``before``,
    ``after``: the last older, or the first newer, than that Unix time; ``around``: half
    at it or older, half newer; ``before_id`` ... the same by a message's id, where an id
    that the room never had finds nothing) or, when ``peer`` is set, the private
    messages between the asker and ``peer``. Every bound given applies.

    The asker's private messages are found by identity, never by name: those of its
    ``session`` (this connection), and, when it is logged in, all of its ``account``'s.
    The peer is whoever had the name ``peer_key`` then, or its session or account now."""

    conn: ConnId
    limit: int
    room: str = ""
    peer: str = ""  #: as the asker typed it
    before: float | None = None
    after: float | None = None
    around: float | None = None
    before_id: str = ""
    after_id: str = ""
    around_id: str = ""
    newest: bool = False  #: with ``after``/``after_id``: the last newer, not the first
    session: str = ""  #: private: the asker's connection
    account: str = ""  #: private: the asker's account id ("": a guest)
    peer_key: str = ""  #: private: name_key of the peer
    peer_session: str = ""  #: private: the peer's connection, if it is online
    peer_account: str = ""  #: private: the peer's account id, if it has one


@attrs.frozen
class QueryTargets:
    """Answer ``conn``'s ``ReadTargets``: of ``rooms`` (those it is in) and of its private
    messages (by identity: its ``session``, and its ``account`` if any), those whose
    latest message is after ``after`` and before ``before``; the ``limit`` oldest of
    them. Then call ``Chat.targets_read``."""

    conn: ConnId
    limit: int
    after: float
    before: float
    rooms: tuple[str, ...]
    session: str
    account: str = ""


@attrs.frozen
class FindMessage:
    """Find the message ``query`` asks for (by ``around_id``, alone: ``limit`` 1) for
    ``conn``'s ``intent``, then call ``Chat.message_found`` with it. Like every history
    read, it sees what was recorded before it."""

    conn: ConnId
    query: QueryHistory
    intent: Redact


@attrs.frozen
class Forget:
    """Delete the message that ``query`` found (``FindMessage``) from history. Durable;
    comes after the find, which waited for the message to be written."""

    query: QueryHistory


@attrs.frozen
class CheckPassword:
    """Check ``password`` against the stored account ``key`` (in a worker thread), then call
    ``Chat.password_checked`` with a ``registry.Verdict``. The core handles nothing else from
    ``conn`` meanwhile."""

    conn: ConnId
    key: str  #: name_key of the account
    password: Secret = attrs.field(converter=Secret)


@attrs.frozen
class HashPassword:
    """Hash ``password`` (in a worker thread), then call ``Chat.password_hashed``. The core
    handles nothing else from ``conn`` meanwhile."""

    conn: ConnId
    password: Secret = attrs.field(converter=Secret)


@attrs.frozen
class SaveAccount:
    """Store ``account`` under ``key`` (None: delete it). Durable, unlike ``Record``."""

    key: str
    account: Account | None


@attrs.frozen
class NoteLogin:
    """Store that the account ``key`` logged in now (``chat-trio user list`` shows it)."""

    key: str


@attrs.frozen
class SaveBan:
    """Store ``ban`` (None: lift the ban on (``kind``, ``key``)). Durable."""

    kind: str
    key: str
    ban: Ban | None


@attrs.frozen
class SaveRoom:
    """Store the registered room ``record`` under the room's name_key ``key`` (None: its
    registration is dropped). Durable."""

    key: str
    record: RegisteredRoom | None


@attrs.frozen
class SaveMarker:
    """Store that the account ``account`` (its id) has read ``target`` (its name_key) up
    to ``at`` (Unix time in milliseconds), keeping its ``keep`` most recently set markers.
    Durable."""

    account: str
    target: str
    at: int
    keep: int


class Claim(enum.Enum):
    """The answer to ``ClaimName``."""

    GRANTED = "granted"  #: the name is this connection's on every node now
    TAKEN = "taken"  #: a connection (of this node or another) holds it
    UNAVAILABLE = "unavailable"  #: the other nodes could not be asked (Redis is down)


@attrs.frozen
class ClaimName:
    """Claim for ``conn`` the name whose look-alike key is ``key`` (``vocabulary.look``)
    on every node that shares the names, then call ``Chat.name_claimed`` with a
    ``Claim``. Asked only where names are shared (``World.shared_names``: ``--redis``);
    the core handles nothing else from ``conn`` meanwhile."""

    conn: ConnId
    key: str
    #: its holder was just put out for this login (its account's takeover, maybe on
    #: another node): wait a moment for its node to let it go (storage/leases.py's
    #: ``TAKEOVER_WAIT``) before answering that it is taken
    wait: bool = False


@attrs.frozen
class ReleaseName:
    """``conn`` no longer uses the name whose key is ``key``: the other nodes may give it
    to someone now. Never waits; the backend lets it go only if ``conn`` still holds it
    (an owner check), so a late release never frees a name someone else took since."""

    conn: ConnId
    key: str


Output = (
    Reply
    | Broadcast
    | Subscribe
    | Unsubscribe
    | Close
    | Record
    | LoadHistory
    | QueryHistory
    | QueryTargets
    | FindMessage
    | Forget
    | CheckPassword
    | HashPassword
    | SaveAccount
    | SaveBan
    | NoteLogin
    | SaveRoom
    | SaveMarker
    | ClaimName
    | ReleaseName
)


Audience = tuple[ConnId | None, str | None, frozenset[ConnId]]
"""Who a run of events is for: (a connection, None, -) for a reply; (the sender left out,
a room, who else is left out) for a broadcast."""
_NOBODY: frozenset[ConnId] = frozenset()

WAITING = (LoadHistory, CheckPassword, HashPassword, ClaimName)
"""Outputs after which the connection's next intent must wait for the answer."""


class Outputs:
    """Collects one call's outputs, merging consecutive events for the same audience.

    History entries do not break a run: they are held back and emitted as one ``Record``
    at the end, or before a history read (which must see them). ``owner`` is the
    connection whose input is being handled: the events replied to it since the last
    ``take_mine`` are kept for its door, which follows its own state by them, and those
    for anyone else since the last ``take_theirs`` for flow control, which counts them.
    """

    __slots__ = (
        "_audience", "_events", "_mine", "_posted", "_records", "_theirs", "items", "owner"
    )  # fmt: skip

    def __init__(self, owner: ConnId | None = None) -> None:
        self.owner = owner
        self.items: list[Output] = []
        self._audience: Audience | None = None
        self._events: list[Event] = []
        self._records: list[Entry] = []
        self._mine: list[Event] = []
        self._posted: list[Entry] = []
        self._theirs: list[Event] = []

    def reply(self, conn: ConnId, *events: Event) -> None:
        (self._mine if conn == self.owner else self._theirs).extend(events)
        self._add((conn, None, _NOBODY), events)

    def confirm(self, conn: ConnId, entry: Entry) -> None:
        """``conn``'s own line became ``entry`` (its id): for its door, never sent. Kept
        when ``conn`` is the ``owner``, as the sender of a line always is, until
        ``take_posted``. Not a ``Reply``, which would cut a paste's run of broadcasts
        into one output per line, nor an event: the entry exists already, and the doors
        that show a sender its own line (IRC's echo-message, the page) are the only ones
        that look at it."""
        if conn == self.owner:
            self._posted.append(entry)

    def take_posted(self) -> list[Entry]:
        """The entries ``owner``'s own lines became since the last call."""
        posted = self._posted
        if posted:
            self._posted = []
        return posted

    def broadcast(
        self, room: str, event: Event, exclude: ConnId | None, told: frozenset[ConnId] = frozenset()
    ) -> None:
        self._theirs.append(event)
        self._add((exclude, room, told), (event,))

    def record(self, entry: Entry) -> None:
        self._records.append(entry)

    def take_mine(self) -> list[Event]:
        """The events replied to ``owner`` since the last call."""
        mine, self._mine = self._mine, []
        return mine

    def take_theirs(self) -> list[Event]:
        """The events broadcast, or replied to others than ``owner``, since the last call."""
        theirs, self._theirs = self._theirs, []
        return theirs

    @property
    def waiting(self) -> bool:
        """Does the last output ask for slow work whose answer the next intent must wait for?"""
        return bool(self.items) and isinstance(self.items[-1], WAITING)

    def add(self, output: Output) -> None:
        self._end_run()
        if isinstance(
            output,
            (LoadHistory, QueryHistory, QueryTargets, FindMessage, CheckPassword, HashPassword),
        ):
            self._flush_records()
        self.items.append(output)

    def close(self, conn: ConnId, reason: Reason) -> None:
        self.add(Close(conn, reason))

    def done(self) -> list[Output]:
        """Everything collected, in order; the collector starts empty again."""
        self._end_run()
        self._flush_records()
        items, self.items = self.items, []
        return items

    def _flush_records(self) -> None:
        if self._records:
            self.items.append(Record(tuple(self._records)))
            self._records = []

    def _add(self, audience: Audience, events: Iterable[Event]) -> None:
        if audience != self._audience:
            self._end_run()
            self._audience = audience
        self._events.extend(events)

    def _end_run(self) -> None:
        if self._audience is not None:
            conn, room, told = self._audience
            events = tuple(self._events)
            if room is None:
                assert conn is not None
                self.items.append(Reply(conn, events))
            else:
                self.items.append(Broadcast(events, exclude=conn, room=room, told=told))
        self._audience = None
        self._events = []
