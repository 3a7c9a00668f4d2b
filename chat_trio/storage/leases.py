"""Names across nodes (``--redis``): each name a user of this node holds is a lease in
Redis, so that no two users of any nodes hold one name.

The protocol (docs/storage.md, "Names across nodes"):

- **Claim**: ``SET ct:name:{key} {owner} NX PX 10000``, where ``key`` is the name's
  look-alike key (``vocabulary.look``: "AIice" and "Alice" are one name, on one node as
  across nodes) and ``owner`` is this node's run token (``NodeLease.token``: the node's
  name and a random part, new at each start) and the connection's id. One command: two
  nodes racing for a name, exactly one wins. A name this node is letting go of (a login
  that takes its account's name over from a stale connection here) is deleted first.
- **Keep**: ``keep`` refreshes every name this node holds every ``NAME_REFRESH`` seconds
  in one round trip (``_REFRESH``, a script over ``SCRIPT_KEYS`` of them per call, the
  calls in one pipeline): ``PEXPIRE`` only where the value is still ours; one that
  expired while Redis was out of reach and nobody took is taken again; those another
  node holds now are returned, and reported as lost.
- **Release**: compare-and-delete (``_RELEASE``), never waited for by the rules: queued
  here (bounded, ``RELEASES_MAX``) and deleted by ``keep`` at once, in one round trip for
  all that are queued (``SCRIPT_KEYS`` per call, as refreshes). A node deletes only what
  it owns: a late release, or one by another node, never frees a name someone else holds.

Lost names: a node cut off from Redis for longer than a lease lives may find one of its
names taken by another node (whose user had every right to it). ``keep`` reports it
(``on_lost``) and the server disconnects the local user with the reason said
(``Chat.name_lost``): two people are never shown under one name.

Redis down: a claim answers ``Claim.UNAVAILABLE`` within ``redis.CALL_TIMEOUT`` (the
rules refuse with "try again"); a refresh or release that fails is logged and tried
again at the next round; nothing here raises into a session or the server.

It must never: block the event loop, delete a lease it does not own, or hold more
pending releases than ``RELEASES_MAX``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

import attrs
import coredis
import trio

from chat_trio.chat.events import ConnId
from chat_trio.chat.outputs import Claim
from chat_trio.storage.redis import RedisUnavailable, call

log = logging.getLogger("chat_trio.storage")

NAME_LEASE_MS = 10_000
"""How long a name's lease lives without a refresh: a node killed (kill -9) frees its
users' names this long after (the node's own lease lives as long)."""

NAME_REFRESH = 3.0
"""Seconds between refreshes: three tries before a lease ends, as for the node's lease."""

SCRIPT_KEYS = 1000
"""Names one script call refreshes or releases: a script holds Redis for its whole run
(about 3 ms per 1,000 names here), so more are sent as several calls in one pipeline (one
round trip), between which Redis serves everyone else."""

TAKEOVER_WAIT = 3.0
"""Seconds a login that put out its account's connection on another node waits for that
node to let the name go (``claim``'s ``wait``): it does within a round trip or two (the
connection closes there, and its release is sent at once); after that, taken."""
TAKEOVER_RETRY = 0.05  #: seconds between its asks meanwhile (one SET each)

RELEASES_MAX = 10_000
"""Releases that may wait to be sent to Redis (while it is down). One more drops the
oldest: its lease then ends by itself within ``NAME_LEASE_MS`` (a name free a few
seconds later, never a name held twice)."""

_REFRESH = """
-- KEYS: the names this node holds. ARGV[1]: the lease in ms; ARGV[1 + i]: KEYS[i]'s owner.
local lost = {}
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
  elseif not held then
    redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
  else
    lost[#lost + 1] = key
  end
end
return lost
"""
"""Every lease of this node made to live ``NAME_LEASE_MS`` more, in one step; returns the
keys another owner holds now. One that ended while Redis was out of reach (or lost its
data in a restart) and nobody took is ours again."""

_RELEASE = """
-- KEYS: names to let go. ARGV[i]: the owner KEYS[i] is deleted for.
local deleted = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return deleted
"""
"""Compare-and-delete: each lease is deleted only if its owner is the one given."""


def _parts(keys: Sequence[str]) -> list[Sequence[str]]:
    """``keys`` in runs of at most ``SCRIPT_KEYS``."""
    return [keys[start : start + SCRIPT_KEYS] for start in range(0, len(keys), SCRIPT_KEYS)]


def lease_key(key: str) -> str:
    """The Redis key of the name whose look-alike key is ``key``."""
    return f"ct:name:{key}"


@attrs.frozen
class LeaseStatistics:
    """What the name leases of this node are doing (``NameLeases.statistics``)."""

    held: int  #: names this node holds
    releasing: int  #: releases waiting to be sent (at most ``RELEASES_MAX``)
    dropped: int  #: releases dropped because that many waited (their leases just end)
    lost: int  #: names found taken by another node since the start
    refresh_failures: int  #: refreshes that Redis did not answer


class NameLeases:
    """This node's names in Redis (see the module docstring). ``claim`` and ``release``
    are the backend's; ``keep`` runs beside the server for as long as it serves.

    Args:
      redis: the client (entered).
      token: this run of this node (``NodeLease.token``), the first part of every owner.
      lease_ms, refresh: a lease's life and the time between refreshes (tests shorten them).
    """

    def __init__(
        self,
        redis: coredis.Redis[str],
        token: str,
        *,
        lease_ms: int = NAME_LEASE_MS,
        refresh: float = NAME_REFRESH,
    ) -> None:
        self.redis = redis
        self.token = token
        self.lease_ms = lease_ms
        self.refresh = refresh
        #: what to do with the connections whose names another node took, as
        #: (connection, key) pairs: the server disconnects them (``Chat.name_lost``)
        self.on_lost: Callable[[list[tuple[ConnId, str]]], None] = lambda lost: None
        self._held: dict[str, str] = {}  # key -> owner: the names this node holds
        # key -> owner, oldest first: releases not yet sent (bounded: ``RELEASES_MAX``)
        self._releasing: OrderedDict[str, str] = OrderedDict()
        self._wake = trio.Event()  # set when a release is queued
        self._refresh = redis.register_script(_REFRESH)
        self._release = redis.register_script(_RELEASE)
        self._dropped = 0
        self._lost = 0
        self._refresh_failures = 0

    def owner(self, conn: ConnId) -> str:
        """What the lease of a name held by ``conn`` of this run of this node holds."""
        return f"{self.token}:{conn}"

    def statistics(self) -> LeaseStatistics:
        return LeaseStatistics(
            len(self._held), len(self._releasing), self._dropped, self._lost,
            self._refresh_failures,
        )  # fmt: skip

    async def claim(self, key: str, conn: ConnId, *, wait: bool = False) -> Claim:
        """Take the name ``key`` for ``conn``, unless someone holds it (see the module
        docstring); ``wait``: its holder is letting it go (a login's takeover of its
        account's connection on another node), so it is asked again every
        ``TAKEOVER_RETRY`` seconds for up to ``TAKEOVER_WAIT`` before it is taken.
        Answers within ``redis.CALL_TIMEOUT`` per round trip, whatever Redis does."""
        owner = self.owner(conn)
        patience = trio.current_time() + (TAKEOVER_WAIT if wait else 0.0)
        name = lease_key(key)
        letting_go = self._releasing.pop(key, None)
        asked = False  # the SET was sent
        try:
            if letting_go is not None:  # (ours: it goes first, or the SET NX would fail)
                try:
                    await call(self._release(keys=[name], args=[letting_go]))
                except RedisUnavailable:
                    self._queue(key, letting_go)  # (still to go; the SET was not sent)
                    raise
            asked = True
            taken = await call(
                self.redis.set(name, owner, condition=coredis.PureToken.NX, px=self.lease_ms)
            )
            while not taken and trio.current_time() < patience:
                await trio.sleep(TAKEOVER_RETRY)
                taken = await call(
                    self.redis.set(name, owner, condition=coredis.PureToken.NX, px=self.lease_ms)
                )
        except RedisUnavailable as exc:
            log.warning("name-claim-failed key=%s error=%r", key, str(exc))
            if asked:  # it may have been set all the same (an answer too late): let it go
                self.release(key, conn)
            return Claim.UNAVAILABLE
        if not taken:
            return Claim.TAKEN
        self._held[key] = owner
        return Claim.GRANTED

    def release(self, key: str, conn: ConnId) -> None:
        """Let the name ``key`` go if ``conn`` holds it (never waits: ``keep`` sends it)."""
        owner = self.owner(conn)
        if self._held.get(key) == owner:
            del self._held[key]
        self._queue(key, owner)

    def _queue(self, key: str, owner: str) -> None:
        self._releasing[key] = owner
        self._releasing.move_to_end(key)
        self._bound()
        self._wake.set()

    def _bound(self) -> None:
        """Drop the oldest releases past ``RELEASES_MAX`` (their leases just end)."""
        while len(self._releasing) > RELEASES_MAX:
            self._releasing.popitem(last=False)
            self._dropped += 1

    async def keep(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send queued releases as they come, and refresh every held lease every
        ``refresh`` seconds, until cancelled. Failures are logged and tried again."""
        task_status.started()
        due = trio.current_time() + self.refresh
        while True:
            with trio.move_on_at(due):
                await self._wake.wait()
            self._wake = trio.Event()
            if self._releasing:
                await self.send_releases()
            if trio.current_time() >= due:
                await self.refresh_all()
                due = trio.current_time() + self.refresh

    async def send_releases(self) -> None:
        """Delete every queued release's lease that its owner still holds, in one round
        trip; if Redis does not answer, they wait for the next round (bounded)."""
        batch, self._releasing = self._releasing, OrderedDict()
        try:
            await call(self._scripts(self._release, list(batch), [], batch))
        except RedisUnavailable as exc:
            log.warning("name-release-failed names=%d error=%r", len(batch), str(exc))
            for key, owner in reversed(batch.items()):  # (oldest first again)
                if key not in self._releasing:  # (a newer release of it came meanwhile)
                    self._releasing[key] = owner
                    self._releasing.move_to_end(key, last=False)
            self._bound()

    async def refresh_all(self) -> None:
        """Refresh every lease this node holds, in one round trip; report those another
        node holds now (``on_lost``)."""
        if not self._held:
            return
        held = dict(self._held)
        try:
            answers = await call(self._scripts(self._refresh, list(held), [self.lease_ms], held))
        except RedisUnavailable as exc:
            self._refresh_failures += 1
            log.warning("name-refresh-failed names=%d error=%r", len(held), str(exc))
            return
        gone: list[tuple[ConnId, str]] = []
        for name in (name for lost in answers for name in cast(list[str], lost)):
            key = str(name).removeprefix("ct:name:")
            owner = held[key]
            if self._held.get(key) == owner:  # (not released nor claimed again meanwhile)
                del self._held[key]
                gone.append((int(owner.rpartition(":")[2]), key))
        if gone:
            self._lost += len(gone)
            log.warning("names-lost count=%d keys=%s", len(gone), ",".join(k for _, k in gone))
            self.on_lost(gone)

    async def _scripts(
        self,
        script: coredis.commands.Script[str],
        keys: list[str],
        first: list[int],
        owners: dict[str, str],
    ) -> list[object]:
        """``script`` over ``keys`` (names, with their ``owners`` as arguments after
        ``first``), ``SCRIPT_KEYS`` at a time, in one pipeline; each call's answer.

        Raises:
          RedisError, OSError: as coredis does (``call`` turns them into one).
        """
        requests: list[Awaitable[object]] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for part in _parts(keys):
                args: list[str | int] = [*first, *(owners[key] for key in part)]
                keyed = [lease_key(key) for key in part]
                requests.append(script(keys=keyed, args=args, client=pipe))
        return [await request for request in requests]

    async def release_all(self) -> None:
        """Let go of every name this node holds or was letting go of (at shutdown; what
        fails ends by itself within ``lease_ms``)."""
        for key, owner in self._held.items():
            self._releasing.setdefault(key, owner)
        self._held.clear()
        if self._releasing:
            await self.send_releases()
