"""Accounts, bans and failed-login throttling: the state behind owned names. Sans-I/O.

The rules (accounts.py, moderation.py) ask this module who owns a name, whether a login
may be tried, and whether someone is banned; it never hashes a password itself (the I/O
layer does that in a worker thread, see ``passwords.py``). Times are passed in: ``now``
(monotonic) for throttling, ``wall`` (Unix time) for bans, which must survive a restart.

Rules:

1. A registered name can be taken only by logging in to it (``name password`` at the
   prompt, or ``/login``). Guests choose any free name that is not registered, and that
   does not look like one (``vocabulary.look``). An account has an ``id`` that a later
   account of the same name never gets: what is the account's (its private messages)
   follows the id, not the name.
2. Every password check is throttled (logging in, changing the password, deleting the
   account; on every door), by two counts: the failures from the address, and the
   failures for the account from addresses it has not logged in from lately
   (``KNOWN_ADDRESSES``), so that nobody can lock an owner out from where the owner logs
   in. A check counts as a failure from the moment it starts until its answer, so that
   checks made at once cannot all get through before the first answer. After
   ``FREE_FAILURES`` (``ACCOUNT_FREE_FAILURES`` for an account), further checks wait:
   ``LOCKOUT_BASE`` seconds, doubling with each further failure, up to ``LOCKOUT_MAX``.
   While one waits no password is even checked, so guessing costs the server nothing.
   A right password clears the account's count; an answer that could not be given
   (storage down) counts for nothing.
3. A ban names an account or an address, with an end (``inf``: forever). Banned
   accounts cannot log in; banned addresses cannot connect; bans survive restarts.
4. A registered room (``RegisteredRoom``, chat/registered.py) is kept under its room's
   name_key and names accounts by ``id`` only (its founder, its listed operators): a
   later account of the same name is nobody there. Deleting an account (``remove``)
   drops the rooms it founded and takes it off every room's list of operators.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterable

import attrs

from chat_trio.chat.events import Mode, Refused, RoomBan
from chat_trio.chat.problems import Problem
from chat_trio.chat.vocabulary import look, name_key

FREE_FAILURES = 3  #: failed checks from one address allowed before checks must wait
ACCOUNT_FREE_FAILURES = 10
"""Failed checks for one account, from addresses it has not logged in from lately,
allowed before checks from such addresses must wait (guessing from many addresses)."""
KNOWN_ADDRESSES = 4  #: addresses an account last logged in from, remembered per account
LOCKOUT_BASE = 5.0  #: seconds of the first wait; doubles with each further failure
LOCKOUT_MAX = 300.0  #: the longest wait
TRACKED = 65_536
"""Accounts and addresses with failures remembered, and accounts with addresses
remembered (the oldest forgotten first): memory stays bounded whoever guesses."""
PASSWORD_MIN, PASSWORD_MAX = 8, 128  #: characters


@attrs.frozen
class Account:
    """One registered name."""

    name: str  #: as registered
    hash: str = attrs.field(repr=False)  #: argon2id hash of the password (never the password)
    admin: bool = False
    id: str = ""  #: never the id of another account, even one of the same name


@attrs.frozen
class Ban:
    """Who may not come in, and until when."""

    kind: str  #: "account" (key: name_key of the name) or "address" (key: the IP address)
    key: str
    until: float  #: Unix time; inf: forever
    reason: str = ""
    by: str = ""  #: the admin who set it
    name: str = ""  #: the guest whose address this is, when the ban named a guest


@attrs.frozen
class RegisteredRoom:
    """A room that outlives its members (chat/registered.py): who founded it, who gets
    operator status back on joining, and what its members set last. What it keeps of the
    room itself comes from one function, ``registered.snapshot``."""

    name: str  #: as registered
    founder: str  #: the founding account's ``id`` (never a name)
    registered_at: float  #: Unix time
    ops: tuple[str, ...] = ()  #: ids of the accounts the founder listed as operators
    topic: str = ""
    topic_by: str = ""
    topic_at: float = 0.0  #: Unix time
    modes: frozenset[Mode] = frozenset()
    key: str = ""  #: while ``Mode.KEY`` is on
    limit: int = 0  #: while ``Mode.LIMIT`` is on
    bans: tuple[RoomBan, ...] = ()  #: the room's bans (roles.py's rules 10-12)


def check_password(password: str) -> Refused | None:
    """Why ``password`` cannot be used, or None."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX or any(c.isspace() for c in password):
        return Refused(Problem.BAD_PASSWORD, length=PASSWORD_MIN, limit=PASSWORD_MAX)
    return None


class Verdict(enum.Enum):
    """The answer to a password check."""

    RIGHT = "right"
    WRONG = "wrong"  #: the password is wrong, or the account is gone
    UNAVAILABLE = "unavailable"  #: it could not be checked (storage is down): no failure


class Throttle:
    """Failed checks per key ("account:alice", "address:10.0.0.1"); see rule 2. A check
    in progress counts as a failure (``begin``) until it is answered."""

    def __init__(self) -> None:
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # count, last

    def wait(self, key: str, now: float, free: int = FREE_FAILURES) -> float:
        """Seconds before ``key`` may try again (0: now), after ``free`` failures."""
        count, last = self._failures.get(key, (0, 0.0))
        if count < free:
            return 0.0
        lockout = min(LOCKOUT_MAX, LOCKOUT_BASE * 2.0 ** (count - free))
        return max(0.0, last + lockout - now)

    def begin(self, key: str, now: float) -> None:
        """A check for ``key`` starts: a failure until ``undo`` or ``clear``."""
        count, _ = self._failures.pop(key, (0, 0.0))
        self._failures[key] = (count + 1, now)
        while len(self._failures) > TRACKED:
            self._failures.popitem(last=False)

    def undo(self, key: str) -> None:
        """The check ``begin`` counted was no failure after all."""
        count, last = self._failures.get(key, (0, 0.0))
        if count <= 1:
            self._failures.pop(key, None)
        else:
            self._failures[key] = (count - 1, last)

    def clear(self, key: str) -> None:
        """``key`` proved itself: forget its failures."""
        self._failures.pop(key, None)


class Registry:
    """Accounts and bans as the running server knows them (loaded from storage at start).

    Change accounts with ``put`` and ``remove`` only: they keep the index of how names
    look (``like``) in step.
    """

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}  # name_key -> account
        self.bans: dict[tuple[str, str], Ban] = {}  # (kind, key) -> ban
        self.rooms: dict[str, RegisteredRoom] = {}  # room name_key -> registered room
        self.throttle = Throttle()
        self._looks: dict[str, str] = {}  # look(name) -> name_key of its account
        self._ids: dict[str, str] = {}  # account id -> name_key (registered rooms name ids)
        self._known: OrderedDict[str, tuple[str, ...]] = OrderedDict()  # key -> addresses

    def put(self, key: str, account: Account) -> Account:
        self.accounts[key] = account
        self._looks.setdefault(look(account.name), key)
        if account.id:
            self._ids[account.id] = key
        return account

    def by_id(self, account_id: str) -> Account | None:
        """The account whose id is ``account_id``, if it still exists."""
        key = self._ids.get(account_id)
        account = self.accounts.get(key) if key is not None else None
        return account if account is not None and account.id == account_id else None

    def remove(self, key: str) -> None:
        """The account ``key`` is deleted: whoever registers the name next starts afresh
        (no addresses its owner was known at, no failed checks of its own)."""
        self._known.pop(key, None)
        self.throttle.clear(f"account:{key}")
        account = self.accounts.pop(key, None)
        if account is not None:
            self._ids.pop(account.id, None)
            self._forget_rooms_of(account.id)
        if account is not None and self._looks.get(look(account.name)) == key:
            del self._looks[look(account.name)]
            # An older account that looks the same (made before looks were compared)
            # takes its place in the index.
            for other, kept in self.accounts.items():
                if look(kept.name) == look(account.name):
                    self._looks[look(kept.name)] = other
                    break

    def _forget_rooms_of(self, account_id: str) -> None:
        """Rule 4: the rooms ``account_id`` founded are dropped (storage drops them with
        the account: ``database.save_account``), and it is nobody's operator any more.
        Dropped rather than kept without a founder: nobody could ever manage such a room
        but the admins (no later account gets the id), and its ``+i``/``+k`` would keep
        everyone out of its name for good."""
        for key, room in list(self.rooms.items()):
            if room.founder == account_id:
                del self.rooms[key]
            elif account_id in room.ops:
                self.rooms[key] = attrs.evolve(
                    room, ops=tuple(o for o in room.ops if o != account_id)
                )

    def load(self, accounts: Iterable[Account]) -> None:
        """Every account there is (at start-up)."""
        self.accounts, self._looks, self._ids = {}, {}, {}
        for account in accounts:
            self.put(name_key(account.name), account)

    def like(self, name: str) -> str | None:
        """The name_key of the account whose name looks like ``name``, if any."""
        return self._looks.get(look(name))

    # -- throttling checks (rule 2) --------------------------------------------------------

    def check_wait(self, key: str, address: str, now: float) -> float:
        """Seconds before a password of the account ``key`` may be checked for someone at
        ``address`` (0: now)."""
        wait = self.throttle.wait(f"address:{address}", now)
        if address not in self._known.get(key, ()):
            wait = max(wait, self.throttle.wait(f"account:{key}", now, ACCOUNT_FREE_FAILURES))
        return wait

    def check_begins(self, key: str, address: str, now: float) -> None:
        self.throttle.begin(f"address:{address}", now)
        self.throttle.begin(f"account:{key}", now)

    def check_answered(self, key: str, address: str, verdict: Verdict) -> None:
        """The check ``check_begins`` counted was answered."""
        if verdict is Verdict.WRONG:
            return  # counted already
        self.throttle.undo(f"address:{address}")
        if verdict is Verdict.UNAVAILABLE:
            self.throttle.undo(f"account:{key}")
            return
        self.throttle.clear(f"account:{key}")
        self.known_from(key, address)

    def known_from(self, key: str, address: str) -> None:
        """The owner of the account ``key`` proved itself from ``address`` (a right
        password, or registering): no guessing elsewhere makes it wait there."""
        known = tuple(a for a in self._known.pop(key, ()) if a != address)
        self._known[key] = (address, *known[: KNOWN_ADDRESSES - 1])
        while len(self._known) > TRACKED:
            self._known.popitem(last=False)

    def ban_of(self, kind: str, key: str, wall: float) -> Ban | None:
        """The ban on (``kind``, ``key``) still in force at ``wall``, if any."""
        ban = self.bans.get((kind, key))
        if ban is not None and ban.until <= wall:
            del self.bans[(kind, key)]  # expired: storage forgets it at the next ban or unban
            return None
        return ban
