"""The state the rules govern, shared by every rule module: users, names, rooms, memory.

``World`` holds what all connections share (who holds which name, which rooms exist and
who is in them, each room's recent lines, accounts and bans) and one ``Client`` per
connection. The rule modules (names, rooms, messages, accounts, moderation, flood) change
it; ``core.Chat`` is the world plus the calls the I/O layer makes.

Invariants:

1. ``names`` maps ``look(client.name)`` to the connection of every client that has a
   name (CHATTING or BUSY, and CLOSING until ``disconnect``), and nothing else: no two
   users online have names that look alike (vocabulary.look).
2. A room is in ``rooms`` while it has members (``#lobby`` always); its ``Memory`` (name
   as first spelled, topic, recent conversation) then moves to ``remembered``, of which
   the ``ROOMS_REMEMBERED`` most recently emptied are kept.
3. ``client.rooms`` and ``room.members`` always agree, and ``room.by_name`` holds the
   same members in name order (``Room.seat``, ``unseat``, ``rename``).

This module never imports trio and never awaits.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

import attrs

from chat_trio.chat import presence
from chat_trio.chat.events import (
    BanKind,
    ConnId,
    Entry,
    Event,
    Goodbye,
    Kind,
    Left,
    Mode,
    NickChanged,
    Reason,
    Role,
    RoomBan,
    UserMode,
)
from chat_trio.chat.intents import Lobby, Secret
from chat_trio.chat.outputs import Outputs, ReleaseName
from chat_trio.chat.registry import Registry
from chat_trio.chat.state import Phase, Step, advance
from chat_trio.chat.vocabulary import LOBBY, REALNAME_MAX, ROOMS_PER_USER, look, name_key

DEFAULT_RESERVED_NAMES = frozenset(
    {"admin", "server", "system", "root", "operator", "moderator", "chat-trio"}
)
ROOMS_REMEMBERED = 1000
"""Empty rooms whose topic and recent history stay in memory (least recently emptied
forgotten first; a forgotten room's history is loaded from storage when it is joined)."""


@attrs.frozen
class Rules:
    """The rules' settings (all have defaults; the CLI exposes each one)."""

    reserved_names: frozenset[str] = DEFAULT_RESERVED_NAMES  #: refused, case-insensitively
    name_attempts: int = 5  #: bad usernames before the connection is closed
    name_timeout: float = 60.0  #: seconds to choose a valid username
    unicode_names: bool = False  #: letters and digits of every script (allows look-alikes)
    idle_timeout: float = 0.0  #: seconds without input before a user is disconnected; 0 = never
    max_rooms_per_user: int = ROOMS_PER_USER  #: rooms one user may be in at once
    max_rooms: int = 10_000  #: rooms that may exist at once (each costs memory)
    history_lines: int = 20  #: conversation lines replayed on joining a room; 0 = none
    flood_burst: int = 10  #: lines a user may send at once (flood control)
    flood_rate: float = 2.0  #: lines per second after the burst; 0 = no flood control
    admins: frozenset[str] = frozenset()  #: name_keys of accounts that are admins when logged in
    flood_queue: int = 100
    """Lines that may wait under flood control; one more disconnects. At five times the
    rate this fills after about 10 s: (10 lines/s - 2 drained) x 12.5 s, after the burst."""


@attrs.define
class PendingLogin:
    """A password check for logging in to ``name`` (the account's spelling)."""

    name: str


@attrs.define
class PendingRegister:
    """A hash for registering the current name."""


@attrs.define
class PendingPasswordChange:
    """A check of the old password; then a hash of ``new``."""

    new: Secret = attrs.field(converter=Secret)


@attrs.define
class PendingRehash:
    """A hash of the new password, to store."""


@attrs.define
class PendingUnregister:
    """A check of the password before the account is deleted."""


@attrs.define
class PendingOper:
    """A check of the password of ``name`` (an admin's account, as spelled), to make the
    connection an operator (``Oper``)."""

    name: str


@attrs.define
class PendingName:
    """A claim of ``name`` across the nodes (``ClaimName``), to choose it or rename to it;
    or (``login``) to take it as the name of the account (its id ``account_id``) a
    login's password was right for."""

    name: str
    login: bool = False
    account_id: str = ""


Pending = (
    PendingLogin
    | PendingName
    | PendingRegister
    | PendingPasswordChange
    | PendingRehash
    | PendingUnregister
    | PendingOper
)


@attrs.define
class Client:
    """One connection, as the rules see it."""

    deadline: float  #: when NAMING ends with NAME_TIMEOUT
    since: float  #: when it connected (Unix time), for /whois
    last_input: float = 0.0  #: for the idle timeout and /whois
    phase: Phase = Phase.NAMING
    name: str = ""
    attempts: int = 0  #: bad names so far
    rooms: list[str] = attrs.Factory(list)  #: room keys, in the order joined
    tokens: float = 0.0  #: flood control's token bucket (filled on connecting)
    stamp: float = 0.0  #: when ``tokens`` was last brought up to date
    held: bool = False  #: an intent waits for a token (see flood.py)
    warned: bool = False  #: told to slow down since the held intents last ran out
    address: str = ""  #: the client's IP address, for throttling and bans
    account: str = ""  #: name_key of the account it is logged in to
    account_id: str = ""  #: that account's id (what its private messages are stored under)
    pending: Pending | None = None  #: what a password check or hash is for
    away: str = ""  #: why it is away ("": it is not)
    parting: str = ""  #: what its leave notice will say: its quit message, a kick's reason
    joining_key: str = ""  #: the key given with a join that waits for its room's history
    lobby: Lobby = Lobby.ALWAYS  #: where its first name puts it, and whether it may be in
    #: no room (its door's ``ChooseName`` or ``LogIn`` says)
    #: IRC's ``USER`` username and real name, from the first ``ChooseName`` or ``LogIn``
    #: ("": the name stands for them, as for the text door's and the page's users)
    user: str = ""
    realname: str = ""
    #: name_key of the admin account whose password made this connection an operator
    #: (IRC's ``OPER``; "": it is none): its admin powers last while the connection does
    #: and the account stays an admin's, whatever name and account it uses
    operator: str = ""
    #: its user modes (usermodes.py), but ``UserMode.OPERATOR``, which ``operator`` is;
    #: a frozenset, so that every connection without any shares the one empty value
    modes: frozenset[UserMode] = frozenset()
    #: a guest's read markers (chat/markers.py: name_key of the target -> Unix time in
    #: milliseconds, the least recently set first; None until it sets one: an empty dict
    #: per connection is 64 bytes that 10,000 idle guests would carry for nothing); a
    #: logged-in one's are its account's
    markers: dict[str, int] | None = None

    def step(self, step: Step) -> None:
        self.phase = advance(self.phase, step)

    def identify(self, user: str, realname: str) -> None:
        """Keep IRC's ``USER`` (checked by the intent: ``words.username``, one line), the
        real name cut to ``REALNAME_MAX``; only while naming (the first name)."""
        if self.phase is Phase.NAMING:
            self.user, self.realname = user, realname[:REALNAME_MAX]


@attrs.define
class Memory:
    """What outlives a room's members: its name, topic and recent conversation."""

    name: str
    topic: str
    recent: deque[Entry]
    topic_by: str = ""  #: who set the topic
    topic_at: float = 0.0  #: when (Unix time)


@attrs.define
class Room:
    memory: Memory
    members: dict[ConnId, None] = attrs.Factory(dict)  #: in the order they joined
    #: (casefolded name, conn) of each member, sorted: a page of the member list costs
    #: what it lists, not the room (IRC's NAMES of a room of thousands comes in pages)
    by_name: list[tuple[str, ConnId]] = attrs.Factory(list)
    told_alone: bool = False  #: its one member was told nobody else hears it (see Unheard)
    #: its members who hold each role (roles.py): connections, never names, which someone
    #: else may take next; a member who leaves loses its roles
    roles: dict[Role, set[ConnId]] = attrs.Factory(lambda: {role: set() for role in Role})
    #: the modes its operators turned on (roles.py); a room forgotten forgets them
    modes: set[Mode] = attrs.Factory(set)
    key: str = ""  #: what joining needs while ``Mode.KEY`` is on
    limit: int = 0  #: the most members while ``Mode.LIMIT`` is on
    created: float = 0.0  #: when it was created (``World.clock``: Unix time)
    #: who may join past +i, +k and +l, and until when (``World.now``): connections,
    #: oldest first, at most ``INVITES_MAX`` (roles.py's rule 8)
    invited: OrderedDict[ConnId, float] = attrs.Factory(OrderedDict)
    #: who may not join nor talk in it, oldest first, by ``roles.ban_key`` (roles.py's
    #: rules 10-12): at most ``BANS_MAX``; a room forgotten forgets them
    bans: dict[tuple[BanKind, str], RoomBan] = attrs.Factory(dict)
    #: changes with every change of ``bans``, never to one any room had before: the
    #: verdicts remembered for the bans as they were are not asked for again
    bans_version: int = 0
    #: its members connected here (the others are people on other nodes: chat/remote.py,
    #: whose mirrors have negative connection ids)
    local: int = 0
    #: its memory holds what was said in it; False while only people on other nodes are
    #: in it (this node does not hear it then): a local member joining loads its history
    current: bool = True

    def seat(self, conn: ConnId, name: str) -> None:
        self.members[conn] = None
        bisect.insort(self.by_name, (name.casefold(), conn))
        if conn > 0:
            self.local += 1

    def unseat(self, conn: ConnId, name: str) -> None:
        del self.members[conn]
        if conn > 0:
            self.local -= 1
            self.current = self.current and (self.local > 0 or not self.members)
        self._unlist(conn, name)
        for holders in self.roles.values():
            holders.discard(conn)

    def rename(self, conn: ConnId, old: str, new: str) -> None:
        self._unlist(conn, old)
        bisect.insort(self.by_name, (new.casefold(), conn))

    def page(
        self, after: str, count: int, keep: Callable[[ConnId], bool] | None = None
    ) -> list[ConnId]:
        """Up to ``count`` members whose casefolded names come after ``after``, in order;
        only those ``keep`` keeps, if given (then as many are read as it takes)."""
        start = bisect.bisect_right(self.by_name, (after, math.inf)) if after else 0
        if keep is None:
            return [conn for _, conn in self.by_name[start : start + count]]
        rest = itertools.islice(self.by_name, start, None)
        return list(itertools.islice((c for _, c in rest if keep(c)), count))

    def _unlist(self, conn: ConnId, name: str) -> None:
        index = bisect.bisect_left(self.by_name, (name.casefold(), conn))
        assert self.by_name[index] == (name.casefold(), conn), "rule 3: by_name out of step"
        del self.by_name[index]


class World:
    """The shared state and the helpers every rule module uses. See the module docstring.

    Args:
      rules: the settings.
      clock: the wall clock for history timestamps (Unix time); ``now`` arguments are a
        monotonic clock for deadlines.
      stored: True when history is kept in storage the I/O layer can ``LoadHistory``
        from; False: history lives only in memory.
      instance: what tells this run of the server from every other one that used the
        same storage (default: the start time in microseconds): a connection's identity
        in stored history (``session``) and the ids of accounts made here start with it.
      shared_names: other nodes share the names (``--redis``): a name free here is
        claimed across the nodes (``ClaimName``) before it is taken, and let go
        (``ReleaseName``) when it is no longer used; and the rooms: a room joined
        that is not here with a local member in it is asked of them (``LoadHistory``:
        remote.py's rule 7), never taken from what this node remembers.
    """

    def __init__(
        self,
        rules: Rules | None = None,
        *,
        clock: Callable[[], float] = time.time,
        stored: bool = False,
        instance: str = "",
        shared_names: bool = False,
    ) -> None:
        self.rules = rules or Rules()
        self.shared_names = shared_names
        self.clock = clock
        self.stored = stored
        self.instance = instance or f"{int(clock() * 1e6):x}"
        self._accounts_made = 0
        self._messages_made = 0
        self.clients: dict[ConnId, Client] = {}
        self.names: dict[str, ConnId] = {}  # look(name) -> its connection
        self.rooms: dict[str, Room] = {}  # room key -> a room with members (and #lobby)
        self.remembered: OrderedDict[str, Memory] = OrderedDict()  # emptied rooms
        self.lines_in = 0  #: lines users sent that ran, each once (flood.py counts them)
        self.flood_delays = 0  #: times flood control began to delay someone's lines (flood.py)
        self.rooms[name_key(LOBBY)] = Room(self.memory(LOBBY), created=clock())
        self.registry = Registry()  # accounts and bans, loaded from storage at start-up
        self.shutting_down = False
        self.flood_lifted = False  # shutting down: what flood control holds runs now
        self.now = 0.0  # the latest ``now`` passed in (for /whois idle times)
        self.away = 0  # clients marked away: while none is, lists need not look for them
        self.invisible = 0  # clients with a name and UserMode.INVISIBLE (IRC's LUSERS)
        #: (Room.bans_version, name, account) -> the ban that names them (None: none), the
        #: least recently asked first, at most roles.VERDICTS_MAX: a cache, not state
        self.ban_verdicts: OrderedDict[tuple[int, str, str, str], RoomBan | None] = OrderedDict()
        self._bans_versions = 0
        #: account id -> its read markers (chat/markers.py), loaded from storage at start-up
        self.markers: dict[str, dict[str, int]] = {}
        #: account id -> the connections logged in to it (``identify_account``): what one
        #: of them does for the account reaches the others without a look at every client
        self.logged_in: dict[str, set[ConnId]] = {}
        self.past = presence.Past()  #: names given up lately (presence.py's rule 1)
        self.watchers = presence.Watchers()  #: who watches which name (rules 2-4)

    def memory(self, name: str, topic: str = "") -> Memory:
        return Memory(name, topic, deque(maxlen=self.rules.history_lines))

    def record(
        self,
        out: Outputs,
        kind: Kind,
        room: str,
        name: str,
        text: str = "",
        target: str = "",
        *,
        by: tuple[str, str] = ("", ""),
    ) -> Entry:
        """Record a room's entry (``by``: whose it is, its sender's session and account id,
        for a line said: who may delete it, messages.py rule 7)."""
        session, account = by
        entry = Entry(
            self.clock(), kind, room, name, text, target, session, account=account,
            id=self.message_id(),
        )  # fmt: skip
        out.record(entry)
        return entry

    def message_id(self) -> str:
        """An id for a message made now: ``<instance>:<n>``, the n-th of this run (from 1).

        Unique across restarts because ``instance`` is (no two runs share a storage
        with the same one), and across nodes once each node's instance is (the start time
        with the node's name in it); no clock is read and nothing random is drawn, so
        the ids of one run increase with the order the rules saw the messages in. Made
        only here: a door never makes one. Every id made here has a colon; a row
        stored before ids existed reads back as ``r<row>``, which has none
        (storage/database.py), so the two can never be the same."""
        self._messages_made += 1
        return f"{self.instance}:{self._messages_made}"

    def next_bans_version(self) -> int:
        """A ``Room.bans_version`` no room has had in this run."""
        self._bans_versions += 1
        return self._bans_versions

    def today(self) -> str:
        """Today's date by ``clock`` (UTC, YYYY-MM-DD): history older than this shows its date."""
        return time.strftime("%Y-%m-%d", time.gmtime(self.clock()))

    def remember(self, key: str, memory: Memory) -> None:
        self.remembered[key] = memory
        self.remembered.move_to_end(key)
        while len(self.remembered) > ROOMS_REMEMBERED:
            self.remembered.popitem(last=False)

    def tell_peers(
        self, conn: ConnId, client: Client, event: Event, out: Outputs, record: Kind | None = None
    ) -> None:
        """Tell ``event``, news of ``client`` itself (a rename, a quit, being away, a
        login), **once** to each other connection that shares a room with it: each room's
        broadcast leaves out whom an earlier room told (an IRC client in two of its rooms
        got two QUITs, and irssi printed a rename twice). ``record``: keep it in each
        room's history too, as that kind (``event``'s name and text)."""
        told: set[ConnId] = set()
        last = len(client.rooms) - 1
        for i, key in enumerate(client.rooms):
            room = self.rooms[key]
            name = room.memory.name
            already = frozenset(told.intersection(room.members))
            if len(already) < len(room.members) - 1:  # someone new (besides the person)
                out.broadcast(name, event, conn, already)
            if i < last:  # (one room, the usual case: nothing to remember)
                told.update(room.members)
                told.discard(conn)
            if record is not None:
                self._record_news(out, record, name, event)
        presence.tell_watchers(self, conn, client, event, out)

    def _record_news(self, out: Outputs, kind: Kind, room: str, event: Event) -> None:
        if isinstance(event, Left):
            self.record(out, kind, room, event.name, event.reason.value)
        elif isinstance(event, NickChanged):
            self.record(out, kind, room, event.old, event.new)

    def release(self, conn: ConnId, client: Client, reason: Reason, out: Outputs) -> None:
        """``client`` leaves: free its name and tell each of its rooms once (not while
        shutting down). Its connection may still be closing (``Client.name`` is "" after)."""
        if not client.name:
            return
        del self.names[look(client.name)]
        self.let_go(conn, look(client.name), out)
        if not self.shutting_down:
            left = Left(client.name, reason, text=client.parting, user=client.user)
            self.tell_peers(conn, client, left, out, Kind.LEFT)
        for key in client.rooms:
            room = self.rooms[key]
            room.unseat(conn, client.name)
            room.told_alone = False
            self.maybe_forget(key)
        presence.left(self, conn, client, out)  # (not in its rooms: none may be shared)
        client.name, client.rooms = "", []
        if UserMode.INVISIBLE in client.modes:
            self.invisible -= 1
        client.modes = frozenset()
        if client.away:
            client.away = ""
            self.away -= 1

    def let_go(self, conn: ConnId, key: str, out: Outputs) -> None:
        """``conn`` no longer uses the name whose ``look`` is ``key``: where names are
        shared, the other nodes may give it to someone now (even while shutting down: the
        names outlive this node's users only until their leases end). The one way a name
        is let go."""
        if self.shared_names and conn > 0:  # (a mirror's lease is its own node's)
            out.add(ReleaseName(conn, key))

    def maybe_forget(self, key: str) -> None:
        room = self.rooms[key]
        if not room.members and room.memory.name != LOBBY:
            del self.rooms[key]
            if room.current:  # (else what was said in it elsewhere was not heard here)
                self.remember(key, room.memory)

    def session(self, conn: ConnId) -> str:
        """``conn``'s identity in stored history: no other connection, of this run or any
        other, ever has it."""
        return f"{self.instance}.{conn}"

    def new_account_id(self) -> str:
        """An id for an account made now (the operator's ``chat-trio user add`` makes its
        own, of another form)."""
        self._accounts_made += 1
        return f"{self.instance}-{self._accounts_made}"

    def identify_account(self, conn: ConnId, client: Client, key: str, account_id: str) -> None:
        """``conn`` is logged in to the account ``key`` (its id ``account_id``) from now
        on ("", "": to none), in ``Client`` and in ``logged_in``."""
        if client.account_id:
            others = self.logged_in[client.account_id]
            others.discard(conn)
            if not others:
                del self.logged_in[client.account_id]
        client.account, client.account_id = key, account_id
        if account_id:
            self.logged_in.setdefault(account_id, set()).add(conn)

    def remove_account(self, key: str) -> None:
        """The account ``key`` is deleted (unregistered, or by the operator): from the
        registry, and its read markers with it (storage drops their rows with the account).
        Connections still logged in to it keep markers of their own from now on
        (``marker_account``), never stored: no row outlives the account."""
        account = self.registry.accounts.get(key)
        self.registry.remove(key)
        if account is not None:
            self.markers.pop(account.id, None)

    def marker_account(self, client: Client) -> str:
        """The account whose read markers are ``client``'s: its own, or "" (the
        connection's own markers) for a guest and for a connection whose account was
        deleted while it was logged in."""
        account_id = client.account_id
        return account_id if account_id and self.registry.by_id(account_id) else ""

    def marker(self, client: Client, key: str) -> int | None:
        """``client``'s read marker of the target ``key`` (a name_key), if it has one."""
        account_id = self.marker_account(client)
        book = self.markers.get(account_id) if account_id else client.markers
        return book.get(key) if book is not None else None

    def read_markers(self, client: Client) -> dict[str, int]:
        """The read markers of ``client``'s account, or of its connection for a guest
        (chat/markers.py)."""
        if account_id := self.marker_account(client):
            return self.markers.setdefault(account_id, {})
        if client.markers is None:
            client.markers = {}
        return client.markers

    def account_name(self, client: Client) -> str:
        """The account ``client`` is logged in to, as spelled ("" for a guest)."""
        if not client.account:
            return ""
        account = self.registry.accounts.get(client.account)
        return account.name if account is not None else ""

    def is_admin(self, client: Client) -> bool:
        """``client`` has admin powers: logged in to an admin's account, or an operator
        (``Client.operator``) by the password of one that is still an admin's."""
        return self.admin_account(client.account) or (
            bool(client.operator) and self.admin_account(client.operator)
        )

    def admin_account(self, key: str) -> bool:
        """The account ``key`` (a name_key; "": none) is an admin's: marked admin, or
        named by ``Rules.admins``."""
        account = self.registry.accounts.get(key) if key else None
        return account is not None and (account.admin or key in self.rules.admins)

    def end(self, conn: ConnId, client: Client, out: Outputs, reason: Reason) -> None:
        """Say goodbye and close: the user asked, or a limit or timeout ends it."""
        client.step(Step.END)
        out.reply(conn, Goodbye(reason))
        out.close(conn, reason)

    def idle_deadline(self, client: Client) -> float:
        timeout = self.rules.idle_timeout
        return client.last_input + timeout if timeout else math.inf
