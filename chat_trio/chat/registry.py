"""Accounts, bans and failed-login throttling: the state behind owned names. Sans-I/O.

The rules (accounts.py, moderation.py) ask this module who owns a name, whether a login
may be tried, and whether someone is banned; it never hashes a password itself (the I/O
layer does that in a worker thread, see ``passwords.py``). Times are passed in: ``now``
(monotonic) for throttling, ``wall`` (Unix time) for bans, which must survive a restart.

Rules:

1. A registered name can be taken only by logging in to it (``name password`` at the
   prompt, or ``/login``). Guests choose any free name that is not registered.
2. After ``FREE_FAILURES`` failed logins, further attempts for that account, and from
   that address, wait: ``LOCKOUT_BASE`` seconds, doubling with each further failure, up
   to ``LOCKOUT_MAX``. While locked out no password is even checked (so guessing costs
   the server nothing). A success clears the account's count.
3. A ban names an account or an address, with an end (``inf``: forever). Banned
   accounts cannot log in; banned addresses cannot connect; bans survive restarts.
"""

from __future__ import annotations

from collections import OrderedDict

import attrs

from chat_trio.chat.events import Refused
from chat_trio.chat.problems import Problem

FREE_FAILURES = 3  #: failed logins allowed before attempts must wait
LOCKOUT_BASE = 5.0  #: seconds of the first wait; doubles with each further failure
LOCKOUT_MAX = 300.0  #: the longest wait
TRACKED = 65_536  #: accounts and addresses with failures remembered (oldest forgotten)
PASSWORD_MIN, PASSWORD_MAX = 8, 128  #: characters


@attrs.frozen
class Account:
    """One registered name."""

    name: str  #: as registered
    hash: str = attrs.field(repr=False)  #: argon2id hash of the password (never the password)
    admin: bool = False


@attrs.frozen
class Ban:
    """Who may not come in, and until when."""

    kind: str  #: "account" (key: name_key of the name) or "address" (key: the IP address)
    key: str
    until: float  #: Unix time; inf: forever
    reason: str = ""
    by: str = ""  #: the admin who set it
    name: str = ""  #: the guest whose address this is, when the ban named a guest


def check_password(password: str) -> Refused | None:
    """Why ``password`` cannot be used, or None."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX or any(c.isspace() for c in password):
        return Refused(Problem.BAD_PASSWORD, length=PASSWORD_MIN, limit=PASSWORD_MAX)
    return None


class Throttle:
    """Failed logins per key ("account:alice", "address:10.0.0.1"); see rule 2."""

    def __init__(self) -> None:
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # count, last

    def wait(self, key: str, now: float) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        count, last = self._failures.get(key, (0, 0.0))
        if count < FREE_FAILURES:
            return 0.0
        lockout = min(LOCKOUT_MAX, LOCKOUT_BASE * 2.0 ** (count - FREE_FAILURES))
        return max(0.0, last + lockout - now)

    def failed(self, key: str, now: float) -> None:
        count, _ = self._failures.pop(key, (0, 0.0))
        self._failures[key] = (count + 1, now)
        while len(self._failures) > TRACKED:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


class Registry:
    """Accounts and bans as the running server knows them (loaded from storage at start)."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}  # name_key -> account
        self.bans: dict[tuple[str, str], Ban] = {}  # (kind, key) -> ban
        self.throttle = Throttle()

    def ban_of(self, kind: str, key: str, wall: float) -> Ban | None:
        """The ban on (``kind``, ``key``) still in force at ``wall``, if any."""
        ban = self.bans.get((kind, key))
        if ban is not None and ban.until <= wall:
            del self.bans[(kind, key)]  # expired: storage forgets it at the next ban or unban
            return None
        return ban
