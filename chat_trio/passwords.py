"""Password hashing (argon2id, argon2-cffi) in worker threads, never on the event loop.

One hash costs ``memory_kib`` of memory and ~0.1 s of CPU at the defaults (argon2-cffi's
RFC 9106 "low memory" profile: 64 MiB, 3 passes, 4 lanes). ``LIMIT`` of them run at once;
further logins wait their turn, so a burst of logins cannot use more than
``LIMIT x memory_kib`` of memory or more than ``LIMIT`` cores. The password itself never
leaves this module and the core's ``CheckPassword``/``HashPassword`` outputs (whose
``repr`` hides it); it is never logged.
"""

from __future__ import annotations

import argon2
import attrs
import trio

LIMIT = 2  #: hashes computed at once (the machine this was built on has 2 cores)


@attrs.frozen
class Cost:
    """argon2id parameters (``CHEAP``, below, is for tests only)."""

    time_cost: int = 3  #: passes
    memory_kib: int = 65536  #: memory per hash
    parallelism: int = 4  #: lanes


CHEAP = Cost(time_cost=1, memory_kib=8, parallelism=1)


def hasher(cost: Cost) -> argon2.PasswordHasher:
    """argon2-cffi's hasher for ``cost`` (its calls block: use ``Passwords`` in the server)."""
    return argon2.PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
    )


class Passwords:
    """Hashes and checks passwords in worker threads, at most ``LIMIT`` at a time."""

    def __init__(self, cost: Cost | None = None) -> None:
        self._hasher = hasher(cost or Cost())
        self._limiter = trio.CapacityLimiter(LIMIT)

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (salted; parameters included)."""
        return await trio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, hashed: str, password: str) -> bool:
        """Does ``password`` match ``hashed``? (False for a malformed hash too.)"""
        return await trio.to_thread.run_sync(self._check, hashed, password, limiter=self._limiter)

    def _check(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
