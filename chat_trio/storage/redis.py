"""The server's backend in Redis (``--redis URL``): history, accounts, bans, registered
rooms and read markers, for one node whose state lives in Redis instead of a SQLite file.

It implements the same ``Backend`` protocol as ``SqliteBackend`` (backend.py), with the
same answers (tests/test_redis.py runs one set of tests over both), and the reads that
the server makes at start-up and while watching the operator's changes
(``accounts``, ``bans``, ... as ``sqlite.py`` offers them over ``database``).

Every Redis call runs under a deadline (``CALL_TIMEOUT``, ``trio.fail_after``), and what
a user waits for (a join's history, /history, CHATHISTORY, a password check) runs as a
whole under another (``ANSWER_TIMEOUT``), without waiting for the write queue while Redis
is known to be out of reach (``reachable``): a Redis that is down or hung is a logged
failure, answered as the protocol says (no history, ``None``, ``Verdict.UNAVAILABLE``)
within seconds, never a blocked event loop or a crashed session.
coredis talks to Redis from the event loop (anyio under trio); argon2 still runs in
worker threads (``Passwords``).

Keys (all under ``ct:``; docs/storage.md has the table):

- ``ct:hist:{room_key}``: a room's history, a stream; ``ct:pm:s:{session}`` and
  ``ct:pm:a:{account id}``: private messages, one stream per identity (a connection, an
  account) holding each message that identity sent or received: private history is read
  by identity, never by name. A stream entry's id is ``{milliseconds}-{row}``: ``row``
  (``ct:row``) orders every entry as SQLite's row id does, and the same message has the
  same id in each of its streams. Trimmed to ``--history-max-rows`` entries per stream
  when written (exact), and by age (``--history-max-age``) every ``PRUNE_EVERY``; a
  connection's stream expires that long (or ``GUEST_STREAM_MS``) after its last message.
- ``ct:topic``: the stream id of each room's last topic entry (the topic is read from it,
  so it goes with the history). ``ct:streams``: every history stream (for pruning).
- ``ct:account:{name_key}``, sets ``ct:accounts`` and ``ct:account_ids`` (a marker is kept
  only for an account there is, as SQLite's ``save_marker``); ``ct:bans``; ``ct:rooms``;
  ``ct:marks:{account id}`` and ``ct:markat:{account id}`` (read markers, in the order set),
  set ``ct:markers``; ``ct:changes:accounts`` and ``ct:changes:bans``: what the operator
  changed (``chat-trio user``/``ban``), read by a running server as SQLite's tables are.
- ``ct:node:{name}`` and set ``ct:nodes``: the node's lease (``NodeLease``): one node per
  Redis until nodes can share one.

Reads over many keys (start-up's accounts and markers, the account list, pruning) send
``BATCH_KEYS`` commands per pipeline (``_each``), not one round trip per key.

Writes of history: ``record`` queues entries (bounded, ``QUEUE_ENTRIES``: the same policy
as store.py's, dropped and counted when full) and ``run`` writes what is queued in one
pipeline per batch.

It must never: block the event loop, raise into a session, or store a password.
"""

from __future__ import annotations

import json
import logging
import math
import operator
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Literal, TypeVar, cast
from urllib.parse import urlsplit

import coredis
import trio
from coredis.exceptions import RedisError
from coredis.patterns.pipeline import Pipeline
from coredis.response.types import StreamEntry
from coredis.retry import NoRetryPolicy

from chat_trio.chat import roles, words
from chat_trio.chat.events import CONVERSATION, BanKind, ConnId, Entry, Kind, Mode, RoomBan
from chat_trio.chat.intents import Secret
from chat_trio.chat.outputs import Claim, QueryHistory, QueryTargets
from chat_trio.chat.registry import Account, Ban, RegisteredRoom, Verdict
from chat_trio.chat.vocabulary import millis, name_key
from chat_trio.passwords import Passwords
from chat_trio.storage import database
from chat_trio.storage.backend import RoomHistory, check_password
from chat_trio.storage.store import HistoryQueue, Retention

if TYPE_CHECKING:
    from chat_trio.storage.leases import NameLeases

log = logging.getLogger("chat_trio.storage")
# coredis logs at INFO each time it loads a script that Redis did not know yet (after a
# start or a restart of Redis, routinely): not news for the operator.
logging.getLogger("coredis").setLevel(logging.WARNING)

T = TypeVar("T")

CALL_TIMEOUT = 2.0
"""Seconds one Redis call (or pipeline) may take. A healthy Redis answers in well under a
millisecond on a LAN; seconds mean it is down or hung, and the caller is answered as by
an outage rather than kept waiting (coredis' own timeout retries: 3x as long)."""

ANSWER_TIMEOUT = 2.5
"""Seconds a user waits at most for an answer that needs Redis (a join that reads the
room's history, /history, CHATHISTORY, a password check, a deletion), whatever it waits
for inside: earlier writes, then one call or several, each under ``CALL_TIMEOUT``. Without
it, a join behind a failing write batch waited 2 s for the batch, then 2 s per read: 8 s
and more while Redis hung. A little over one call, so that one slow answer still counts."""

CONNECT_TIMEOUT = 2.0  #: seconds to reach Redis at start-up before it is an error

NODE_LEASE_MS = 10_000
"""How long a node's lease (``ct:node:{name}``) lives without being refreshed: a node
that died is forgotten this long after, and another may then start on the same Redis."""

NODE_REFRESH = 3.0  #: seconds between refreshes of the lease (three tries per lease)

PAGE = 200  #: stream entries read per call when walking back through history

BATCH_KEYS = 500
"""Keys read (or trimmed) per pipeline where many are gone over at once (start-up's
accounts and read markers, the operator's account list, pruning): one round trip per 500
keys instead of one per key (10,000 accounts: 20 round trips, not 10,000), and each
pipeline stays far inside ``CALL_TIMEOUT`` (500 small replies take milliseconds)."""

GUEST_STREAM_MS = 30 * 86_400_000
"""How long a connection's private-message stream (``ct:pm:s:{session}``) lives after its
last message where history has no age limit. Only that connection reads it (a guest has
nothing else to be known by), so once the connection is gone it is garbage; with an age
limit (``--history-max-age``) it lives that long instead, as its messages would."""

CHANGES_KEPT = 1000  #: operator changes kept (a running server reads them every 2 s)

_ADD = """
-- KEYS[1]: the set of history streams; KEYS[2]: the rooms' topics; KEYS[3..]: the streams
-- of one entry. ARGV: milliseconds, (unused), rows kept per stream (0: all), the entry,
-- the room_key whose topic it sets ('': none), the life in ms of a connection's stream.
-- The row is taken here, in the step that writes it: a row taken earlier (by another
-- node, too) is in every stream before a later one, so ids only grow.
local ms = tonumber(ARGV[1])
for i = 3, #KEYS do
  local top = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
  if top[1] then
    local last = tonumber(string.match(top[1][1], '^(%d+)'))
    if last > ms then ms = last end
  end
end
local id = string.format('%d-%d', ms, redis.call('INCR', 'ct:row'))
for i = 3, #KEYS do
  if ARGV[3] ~= '0' then
    redis.call('XADD', KEYS[i], 'MAXLEN', ARGV[3], id, 'e', ARGV[4])
  else
    redis.call('XADD', KEYS[i], id, 'e', ARGV[4])
  end
  if string.sub(KEYS[i], 1, 8) == 'ct:pm:s:' then
    redis.call('PEXPIRE', KEYS[i], ARGV[6])  -- (a connection's: it ends by itself)
  else
    redis.call('SADD', KEYS[1], KEYS[i])
  end
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[5], id) end
return id
"""
"""One entry into each of its streams, under one id: the milliseconds of its time, raised
to the newest already there (a stream's ids only grow: a clock stepped back must not fail
the write), and its row, counted in the same step (so two nodes writing to one room at
once never write an id below the stream's newest). A topic's id is kept in
``ct:topic``: the topic is read from its entry, so it goes with the history (by age or
by rows), as SQLite's does. A connection's
private stream expires ``GUEST_STREAM_MS`` (or the age limit) after its last message."""

_STREAM_ID = re.compile(r"\d+-\d+")
"""What ``ct:topic`` holds: a stream id (the step before kept the topic's text there; such
a topic is not shown, and the next topic set replaces it)."""

_LOGIN = """
-- KEYS[1]: the account. ARGV[1]: the time. Only an account there is: one deleted meanwhile
-- (by the operator, or on another node) is not made again as a hash of one field.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_login', ARGV[1])
return 1
"""

_DROP_ACCOUNT = """
-- KEYS: the account, the accounts, the registered rooms, the accounts with read markers,
-- the ids of the accounts there are. ARGV[1]: its name_key.
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
if not id or id == '' then return 0 end
local rooms = redis.call('HGETALL', KEYS[3])
for i = 1, #rooms, 2 do
  if cjson.decode(rooms[i + 1])[2] == id then redis.call('HDEL', KEYS[3], rooms[i]) end
end
redis.call('DEL', 'ct:marks:' .. id, 'ct:markat:' .. id)
redis.call('SREM', KEYS[4], id)
redis.call('SREM', KEYS[5], id)
return 1
"""
"""An account deleted with the rooms it founded and its read markers, in one step: a room
it founded that is saved while the deletion runs is deleted too (read then written in
two calls, it was missed)."""

_MARK = """
-- KEYS: the account's markers (zset), their times (hash), accounts with markers, sequence,
-- the ids of the accounts there are. ARGV: target, at, account id, markers kept.
if redis.call('SISMEMBER', KEYS[5], ARGV[3]) == 0 then return -1 end  -- deleted meanwhile
local seq = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[1], seq, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
local extra = redis.call('ZRANGE', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
for _, target in ipairs(extra) do
  redis.call('HDEL', KEYS[2], target)
  redis.call('ZREM', KEYS[1], target)
end
return #extra
"""

_HOLD_NODE = """
-- KEYS[1]: the set of nodes; KEYS[2]: this node's lease. ARGV: its name, lease in ms, token.
-- Returns false once this node holds the lease; else the live node in its way.
local held = redis.call('GET', KEYS[2])
if held == ARGV[3] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[1], ARGV[1])
  return false
end
if held then return ARGV[1] end  -- another process of this name holds it
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
return false
"""
"""A node's lease, taken (at start) or kept (every refresh) only where no other process
of the same name holds one, checked and done in one step: two nodes of one name starting
at once cannot both pass, and a refresh never writes over a lease that another process
took meanwhile. A lease
that ran out (Redis out of reach for longer than it lives, or restarted without its
data) is taken again if it is still free."""

_LET_GO = """
-- KEYS[1]: the set of nodes; KEYS[2]: this node's lease. ARGV: its name, its token.
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end  -- not ours (any more)
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
return 1
"""
"""The lease deleted only if it is still this node's (compare and delete, in one step)."""


class RedisUnavailable(Exception):
    """Redis did not answer in time, or answered with an error; the message says which."""


def shown_url(url: str) -> str:
    """``url`` without its password, for logs and /readyz."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{user}{host}{port}").geturl()


def client(url: str) -> coredis.Redis[str]:
    """A coredis client for ``url`` (enter it with ``async with``), without coredis'
    own retries: a call that fails is seen failing, under our deadlines."""
    made: coredis.Redis[str] = coredis.Redis.from_url(
        url, decode_responses=True, connect_timeout=CONNECT_TIMEOUT,
        stream_timeout=CALL_TIMEOUT, retry_policy=NoRetryPolicy(),
    )  # fmt: skip
    return made


async def call(awaitable: Awaitable[T]) -> T:
    """Await one Redis call under ``CALL_TIMEOUT``.

    Raises:
      RedisUnavailable: it timed out, or failed (connection lost, an error reply).
    """
    try:
        with trio.fail_after(CALL_TIMEOUT):
            return await awaitable
    except trio.TooSlowError:
        raise RedisUnavailable(f"no answer within {CALL_TIMEOUT:g} s") from None
    except (RedisError, OSError) as exc:
        raise RedisUnavailable(str(exc) or type(exc).__name__) from exc
    except ExceptionGroup as group:  # coredis' own nurseries
        found, rest = group.split((RedisError, OSError))
        if rest is not None or found is None:
            raise
        first = found.exceptions[0]
        raise RedisUnavailable(str(first) or type(first).__name__) from group


async def config_warnings(redis: coredis.Redis[str]) -> list[str]:
    """What in Redis' settings puts the chat's state at risk, as log lines: without AOF
    a restart of Redis loses what was written since its last snapshot; with eviction it
    may delete keys (history, accounts, and in later steps the leases on names) when
    memory is short. CONFIG may be disabled (managed Redis): that is said too."""
    try:
        found = await call(redis.config_get(["appendonly", "maxmemory-policy"]))
    except RedisUnavailable as exc:
        return [f"redis-config-unknown error={str(exc)!r} (cannot check appendonly, eviction)"]
    warnings = []
    if found.get("appendonly") != "yes":
        warnings.append(
            f"redis-not-durable appendonly={found.get('appendonly', '?')} "
            "(a restart of Redis loses recent history, accounts and bans: run it with "
            "--appendonly yes)"
        )
    if found.get("maxmemory-policy") != "noeviction":
        warnings.append(
            f"redis-may-evict maxmemory-policy={found.get('maxmemory-policy', '?')} "
            "(Redis may delete the chat's keys when memory is short: use noeviction)"
        )
    return warnings


def leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The exceptions in ``group`` and in the groups within it (coredis' nurseries wrap
    what happens in them)."""
    found: list[BaseException] = []
    for exc in group.exceptions:
        found += leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found


class AnotherNode(Exception):
    """Another live node uses this Redis; the message names it."""


class LeaseLost(AnotherNode):
    """This node's lease was taken by another process while this node could not refresh
    it (out of reach of Redis for longer than the lease lives); the message names it."""


class NodeLease:
    """This node's hold on a Redis (``ct:node:{name}``, holding a token of this process,
    refreshed every ``NODE_REFRESH`` seconds, gone ``NODE_LEASE_MS`` after the node stops
    refreshing it).

    Each node of one chat has its own name; a node refuses to start where a live process
    of its name holds the lease, and stops where another took it over (``keep``). The
    token is this run's identity among the nodes (nodes/peers.py's ``run``).
    """

    def __init__(self, redis: coredis.Redis[str], name: str) -> None:
        self.redis = redis
        self.name = name
        self.token = f"{name}:{os.urandom(8).hex()}"
        self._hold = redis.register_script(_HOLD_NODE)
        self._let_go = redis.register_script(_LET_GO)
        self._keys = ["ct:nodes", f"ct:node:{name}"]

    async def claim(self) -> None:
        """Take the lease.

        Raises:
          AnotherNode: a live node of this name holds it (one that died holds it until
            its lease ends).
          RedisUnavailable: Redis did not answer.
        """
        holder = await self._holder()
        if holder:
            raise AnotherNode(
                f"another node named {holder} uses this Redis (give each node its own "
                f"--node-name; a node that stopped lets go within {NODE_LEASE_MS // 1000} s)"
            )

    async def _holder(self) -> str | None:
        """Take or keep the lease (``_HOLD_NODE``); the live node in the way, if any."""
        args: list[str | int] = [self.name, NODE_LEASE_MS, self.token]
        holder: str | None = await call(self._hold(keys=self._keys, args=args))
        return holder

    async def keep(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Refresh the lease until cancelled (a refresh that fails is logged and tried
        again); one that ran out and is still free is taken again.

        Raises:
          LeaseLost: another process of this name took it meanwhile (the node must stop
            serving: two nodes of one name would each think they own its people).
        """
        task_status.started()
        while True:
            await trio.sleep(NODE_REFRESH)
            try:
                holder = await self._holder()
            except RedisUnavailable as exc:
                log.warning("redis-node-refresh-failed node=%s error=%r", self.name, str(exc))
                continue
            if holder:
                log.error("redis-node-lease-lost node=%s holder=%s", self.name, holder)
                raise LeaseLost(
                    f"node {self.name} lost its lease to another node of its name while it "
                    f"could not refresh it; two nodes may not share one name, so this one stops"
                )

    async def release(self) -> None:
        """Let go of the lease (at shutdown) if it is still this node's; a failure is
        logged (it ends by itself)."""
        try:
            await call(self._let_go(keys=self._keys, args=[self.name, self.token]))
        except RedisUnavailable as exc:
            log.warning("redis-node-release-failed node=%s error=%r", self.name, str(exc))


def _encode(entry: Entry) -> str:
    return json.dumps(
        [entry.time, entry.kind.value, entry.room, entry.name, entry.text, entry.target,
         entry.session, entry.target_session, entry.account, entry.target_account, entry.id],
        separators=(",", ":"),
    )  # fmt: skip


_Row = tuple[int, int, Entry]
"""An entry as read back: (its row, its time in whole milliseconds as SQLite's
``_MILLIS`` makes it, the entry)."""


def _id(item: StreamEntry) -> str:
    """A stream entry's id (text: the client decodes replies)."""
    return cast(str, item.identifier)


def _fields(item: StreamEntry) -> dict[str, str]:
    return cast(dict[str, str], dict(item.field_values))


def _decode(item: StreamEntry) -> _Row:
    stream_id, fields = _id(item), _fields(item)
    at, kind, room, name, text, target, session, t_session, account, t_account, msgid = json.loads(
        fields["e"]
    )
    row = int(stream_id.partition("-")[2])
    entry = Entry(
        at, Kind(kind), room, name, words.line(text), target, session, t_session, account,
        t_account, msgid,
    )  # fmt: skip
    return row, millis(at), entry


def _streams(entry: Entry) -> list[str]:
    """The streams ``entry`` is stored in: its room's, or each of its ends' identities."""
    if entry.kind is not Kind.PRIVATE:
        return [f"ct:hist:{name_key(entry.room)}"]
    ends = [f"ct:pm:s:{entry.session}", f"ct:pm:s:{entry.target_session}"]
    ends += [f"ct:pm:a:{entry.account}", f"ct:pm:a:{entry.target_account}"]
    return [key for key in dict.fromkeys(ends) if not key.endswith(":")]


def _mine(session: str, account: str) -> list[str]:
    """The private-message streams of an asker (by identity)."""
    return [key for key in (f"ct:pm:s:{session}", f"ct:pm:a:{account}") if not key.endswith(":")]


def _is(values: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """Any set ``wanted`` value equals its counterpart (database._either)."""
    return any(w and v == w for v, w in zip(values, wanted, strict=True))


def _between(entry: Entry, query: QueryHistory) -> bool:
    """``entry`` is a private message between the asker and the peer of ``query``
    (database._private_scope: the asker by identity, the peer also by the name then)."""
    peer = (query.peer_key, query.peer_session, query.peer_account)
    me = (query.session, query.account)
    me_sent = _is((entry.session, entry.account), me)
    me_got = _is((entry.target_session, entry.target_account), me)
    peer_got = _is((name_key(entry.target), entry.target_session, entry.target_account), peer)
    peer_sent = _is((name_key(entry.name), entry.session, entry.account), peer)
    return (me_sent and peer_got) or (peer_sent and me_got)


def bounded(rows: Sequence[_Row], bounds: QueryHistory) -> list[Entry]:
    """At most ``bounds.limit`` of ``rows`` (in row order), bounded as ``database._bounded``
    bounds a scope: the same rules over rows already read."""
    limit = bounds.limit
    found = database.edges(
        bounds, lambda ref: next(((row, ms) for row, ms, e in rows if e.id == ref), None)
    )
    if found is None:
        return []
    before, after, pivot, newest = found

    def place(row: int, ms: int, edge: tuple[int | None, int]) -> tuple[int, int]:
        """(what ``edge`` compares of the row, the edge's value): the row, or the time."""
        return (row, edge[0]) if edge[0] is not None else (ms, edge[1])

    kept = []
    for row, ms, e in rows:
        if before is not None and not operator.lt(*place(row, ms, before)):
            continue
        if after is not None and not operator.gt(*place(row, ms, after)):
            continue
        kept.append((row, ms, e))
    if pivot is not None:
        half = limit // 2
        older = [e for row, ms, e in kept if operator.le(*place(row, ms, pivot))]
        newer = [e for row, ms, e in kept if operator.gt(*place(row, ms, pivot))]
        return [*(older[-(limit - half) :] if limit - half else []), *newer[:half]]
    entries = [e for _, _, e in kept]
    if after is not None and not newest:
        return entries[:limit]
    return entries[-limit:] if limit else []


class RedisBackend(HistoryQueue):
    """``Backend`` over Redis (see the module docstring). Enter the client first
    (``async with client(url)``), then ``await backend.start()``."""

    def __init__(
        self,
        redis: coredis.Redis[str],
        passwords: Passwords,
        retention: Retention | None = None,
        *,
        path: str = "redis",
    ) -> None:
        self.redis = redis
        self.passwords = passwords
        self.retention = retention or Retention()
        self.path = path  #: the URL as shown (no password), for /readyz and logs
        self.up = True  #: the last call reached Redis
        self._add = redis.register_script(_ADD)
        self._mark = redis.register_script(_MARK)
        self._login = redis.register_script(_LOGIN)
        self._drop_account = redis.register_script(_DROP_ACCOUNT)
        super().__init__()

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            found = await call(awaitable)
        except RedisUnavailable:
            self.up = False
            raise
        self.up = True
        return found

    async def _each(
        self, keys: Sequence[str], ask: Callable[[Pipeline[str], str], Awaitable[T]]
    ) -> list[T]:
        """``ask(pipe, key)`` for each of ``keys``, ``BATCH_KEYS`` to a pipeline (one round
        trip each, each under ``CALL_TIMEOUT``): the answers, in the order of ``keys``.

        Raises:
          RedisUnavailable: a pipeline failed.
        """
        found: list[T] = []
        for start in range(0, len(keys), BATCH_KEYS):
            found += await self._call(self._pipelined(keys[start : start + BATCH_KEYS], ask))
        return found

    async def _pipelined(
        self, keys: Sequence[str], ask: Callable[[Pipeline[str], str], Awaitable[T]]
    ) -> list[T]:
        async with self.redis.pipeline(transaction=False) as pipe:
            asked = [ask(pipe, key) for key in keys]
        return [await answer for answer in asked]

    async def _answer(self, read: Callable[[], Awaitable[T]]) -> T:
        """``read()``, as a whole under ``ANSWER_TIMEOUT``: what a user waits for.

        Raises:
          RedisUnavailable: it did not end in time, or one of its calls failed.
        """
        with trio.move_on_after(ANSWER_TIMEOUT):
            return await read()
        self.up = False
        raise RedisUnavailable(f"no answer within {ANSWER_TIMEOUT:g} s")

    def reachable(self) -> bool:
        """A reader waits for earlier writes only while Redis answers (the last call did):
        a writer that cannot reach Redis makes no progress worth waiting for, and its
        entries are then counted as failed (``HistoryQueue``) or may land late."""
        return self.up

    # -- writing history ---------------------------------------------------------------------

    write_errors = (RedisUnavailable,)

    def record(self, entries: tuple[Entry, ...]) -> None:
        """Queue ``entries`` (never waits); what does not fit is dropped and counted."""
        self.record_nowait(entries)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The writer (``HistoryQueue.write_queued``)."""
        await self.write_queued(task_status=task_status)

    async def write_batch(self, batch: list[Entry]) -> None:
        rows = str(self.retention.rows_per_room or 0)
        age = self.retention.max_age
        guest_ms = GUEST_STREAM_MS if age is None else max(1, math.ceil(age * 1000))

        async def pipeline() -> None:
            async with self.redis.pipeline(transaction=False) as pipe:
                for entry in batch:
                    at = str(millis(entry.time))
                    keys = ["ct:streams", "ct:topic", *_streams(entry)]
                    topic = name_key(entry.room) if entry.kind is Kind.TOPIC else ""
                    args: list[str | int] = [at, 0, rows, _encode(entry), topic, guest_ms]
                    self._add(keys=keys, args=args, client=pipe)

        await self._call(pipeline())

    async def prune(self) -> None:
        """Delete entries older than ``--history-max-age`` from every stream."""
        if self.retention.max_age is None:
            return
        cutoff = millis(time.time() - self.retention.max_age)
        minid: Literal[coredis.PureToken.MINID] = coredis.PureToken.MINID
        try:
            keys = sorted(await self._call(self.redis.smembers("ct:streams")))
            trimmed = await self._each(
                keys, lambda pipe, key: pipe.xtrim(key, trim_strategy=minid, threshold=cutoff)
            )
            lengths = await self._each(keys, lambda pipe, key: pipe.xlen(key))
            empty = [key for key, length in zip(keys, lengths, strict=True) if not length]
            if empty:  # (a stream written again since is added again by its next entry)
                rooms = [
                    key.removeprefix("ct:hist:") for key in empty if key.startswith("ct:hist:")
                ]
                await self._call(self._forget_streams(empty, rooms))
        except RedisUnavailable as exc:
            log.error("history-prune-failed error=%r", str(exc))
            return
        deleted = sum(trimmed)
        self._pruned += deleted
        if deleted:
            log.info("history-pruned entries=%d", deleted)

    async def _forget_streams(self, keys: list[str], rooms: list[str]) -> None:
        """Streams left empty by pruning: out of ``ct:streams``, and their rooms' topics."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem("ct:streams", keys)
            if rooms:
                pipe.hdel("ct:topic", rooms)

    # -- reading history ---------------------------------------------------------------------

    async def _all(self, keys: Sequence[str]) -> list[_Row]:
        """Every entry of ``keys``' streams, in row order, each once."""
        found: dict[int, _Row] = {}
        for key in keys:
            for item in await self._call(self.redis.xrange(key, "-", "+")):
                row = _decode(item)
                found[row[0]] = row
        return [found[row] for row in sorted(found)]

    async def _latest(self, key: str, count: int, kinds: frozenset[Kind] | None) -> list[Entry]:
        """The last ``count`` entries of ``key`` (of ``kinds``), oldest first, read back a
        page at a time."""
        found: list[Entry] = []
        end = "+"
        while len(found) < count:
            page = await self._call(self.redis.xrevrange(key, end, "-", count=PAGE))
            for item in page:
                entry = _decode(item)[2]
                if kinds is None or entry.kind in kinds:
                    found.append(entry)
                    if len(found) == count:
                        break
            if len(page) < PAGE:
                break
            end = f"({_id(page[-1])}"
        return found[::-1]

    async def load_room(self, room: str, lines: int) -> RoomHistory:
        try:
            return await self._answer(partial(self.conversation, room, lines))
        except RedisUnavailable as exc:
            log.error("history-read-failed room=%s error=%r", room, str(exc))
            return RoomHistory()

    async def conversation(self, room: str, lines: int) -> RoomHistory:
        """``load_room``, raising (``database.conversation``).

        Raises:
          RedisUnavailable: it could not be read.
        """
        await self.caught_up()
        key = f"ct:hist:{name_key(room)}"
        last = await self._call(self.redis.xrevrange(key, "+", "-", count=1))
        topic = await self._topic(key, name_key(room))
        entries = await self._latest(key, lines, CONVERSATION) if lines else []
        name = _decode(last[0])[2].room if last else ""
        return RoomHistory(tuple(entries), topic, name)

    async def _topic(self, key: str, room: str) -> str:
        """The room's last topic, read from its entry in the room's stream ``key``
        (``ct:topic`` holds its id): none once that entry is gone with the history's age
        or rows, as SQLite reads it from the history that is left."""
        at = await self._call(self.redis.hget("ct:topic", room))
        if at is None or not _STREAM_ID.fullmatch(at):
            return ""
        found = await self._call(self.redis.xrange(key, at, at, count=1))
        return _decode(found[0])[2].text if found else ""

    async def read_history(self, query: QueryHistory) -> Sequence[Entry] | None:
        try:
            return await self._answer(partial(self._history, query))
        except RedisUnavailable as exc:
            log.error("history-read-failed error=%r", str(exc))
            return None

    async def _history(self, query: QueryHistory) -> list[Entry]:
        await self.caught_up()
        if query.peer:
            rows = await self._all(_mine(query.session, query.account))
            return bounded([r for r in rows if _between(r[2], query)], query)
        return await self._room_history(f"ct:hist:{name_key(query.room)}", query)

    async def _room_history(self, key: str, query: QueryHistory) -> list[Entry]:
        """``query``'s entries of the room stream ``key``, read as ranges of the stream
        (its ids order it as rows do): the messages it names are found walking back from
        the newest, then only the entries asked for are read. ``around`` with another
        bound (rare) reads the stream whole and bounds it as ``bounded`` does."""
        if not query.limit:
            return []
        found: dict[str, tuple[int, int]] = {}  # message id -> (row, millisecond)
        ids: dict[int, str] = {}  # row -> stream id
        for ref in (query.before_id, query.after_id, query.around_id):
            if ref and ref not in found:
                hit = await self._find(key, ref)
                if hit is None:
                    return []
                ids[hit[1][0]] = hit[0]
                found[ref] = hit[1][:2]
        edges = database.edges(query, found.get)
        assert edges is not None  # every id was found above
        before, after, pivot, newest = edges

        def upper(edge: tuple[int | None, int], inclusive: bool) -> str:
            """The stream bound of "older than ``edge``" (or at it, ``inclusive``)."""
            if edge[0] is not None:
                return ids[edge[0]] if inclusive else f"({ids[edge[0]]}"
            return f"({edge[1] + 1}-0" if inclusive else f"({edge[1]}-0"

        def lower(edge: tuple[int | None, int]) -> str:
            """The stream bound of "newer than ``edge``"."""
            return f"({ids[edge[0]]}" if edge[0] is not None else f"{edge[1] + 1}-0"

        if pivot is not None and (before is not None or after is not None):
            return bounded(await self._all([key]), query)
        limit = query.limit
        if pivot is not None:
            half = limit // 2
            older = await self._call(
                self.redis.xrevrange(key, upper(pivot, True), "-", count=limit - half)
            )
            newer = await self._call(self.redis.xrange(key, lower(pivot), "+", count=half))
            items = [*reversed(older), *(newer if half else ())]
        else:
            high = upper(before, False) if before is not None else "+"
            low = lower(after) if after is not None else "-"
            if after is not None and not newest:
                items = list(await self._call(self.redis.xrange(key, low, high, count=limit)))
            else:
                items = list(
                    reversed(await self._call(self.redis.xrevrange(key, high, low, count=limit)))
                )
        return [_decode(item)[2] for item in items]

    async def _find(self, key: str, msgid: str) -> tuple[str, _Row] | None:
        """The stream id and row of the message ``msgid`` in ``key``, walking back from
        the newest a page at a time (a message asked about is most often a recent one)."""
        end = "+"
        while True:
            page = await self._call(self.redis.xrevrange(key, end, "-", count=PAGE))
            for item in page:
                row = _decode(item)
                if row[2].id == msgid:
                    return _id(item), row
            if len(page) < PAGE:
                return None
            end = f"({_id(page[-1])}"

    async def read_targets(self, query: QueryTargets) -> Sequence[tuple[str, float]] | None:
        try:
            found = await self._answer(partial(self._targets, query))
        except RedisUnavailable as exc:
            log.error("history-read-failed error=%r", str(exc))
            return None
        low, high = millis(query.after), millis(query.before)
        inside = [(n, t) for n, t in found if low < millis(t) < high]
        return sorted(inside, key=lambda found: found[1])[: query.limit]

    async def _targets(self, query: QueryTargets) -> list[tuple[str, float]]:
        """``read_targets``' rooms and peers, each with its latest line, unbounded."""
        await self.caught_up()
        found: list[tuple[str, float]] = []
        for key in sorted({name_key(room) for room in query.rooms}):
            last = await self._latest(f"ct:hist:{key}", 1, CONVERSATION)
            if last:
                found.append((last[0].room, last[0].time))
        peers: dict[str, tuple[str, float]] = {}
        for _, _, e in await self._all(_mine(query.session, query.account)):
            sent = _is((e.session, e.account), (query.session, query.account))
            name = e.target if sent else e.name
            peers[name_key(name)] = (name, e.time)  # row order: the latest wins
        return [*found, *peers.values()]

    async def forget(self, query: QueryHistory) -> None:
        """Delete the message ``query.around_id`` from each of its streams (it has the
        same id in each), if ``query`` may read it: its room's, or the asker's own
        conversation with the peer."""
        try:
            await self._answer(partial(self._forget, query))
        except RedisUnavailable as exc:
            log.error("save-failed what=redaction error=%r", str(exc))

    async def _forget(self, query: QueryHistory) -> None:
        await self.caught_up()
        scope = _mine(query.session, query.account) if query.peer else None
        for key in scope or [f"ct:hist:{name_key(query.room)}"]:
            hit = await self._find(key, query.around_id)
            if hit is not None and (scope is None or _between(hit[1][2], query)):
                for stream in _streams(hit[1][2]):
                    await self._call(self.redis.xdel(stream, [hit[0]]))
                return

    # -- accounts, bans, rooms, markers ---------------------------------------------------

    async def account(self, key: str) -> Account | None:
        return _account(await self._call(self.redis.hgetall(f"ct:account:{key}")))

    async def accounts(self) -> list[Account]:
        keys = sorted(await self._call(self.redis.smembers("ct:accounts")))
        stored = await self._each(keys, lambda pipe, key: pipe.hgetall(f"ct:account:{key}"))
        return [account for fields in stored if (account := _account(fields)) is not None]

    async def check_password(self, key: str, password: Secret) -> tuple[Verdict, bool]:
        """A Redis that does not answer is no verdict on the password."""
        read = partial(self._answer, partial(self.account, key))
        return await check_password(read, (RedisUnavailable,), self.passwords, password)

    async def hash_password(self, password: Secret) -> str:
        return await self.passwords.hash(password)

    async def _save(self, what: str, change: Callable[[], Awaitable[object]]) -> None:
        try:
            await self._call(change())
        except RedisUnavailable as exc:
            log.error("save-failed what=%s error=%r", what, str(exc))

    async def save_account(self, key: str, account: Account | None) -> None:
        # Told like the operator's changes: the other nodes (several on one Redis) apply
        # it within ACCOUNTS_POLL; this one finds it as it is already.
        await self._save("account", lambda: self.write_account(key, account, operator=True))

    async def write_account(self, key: str, account: Account | None, *, operator: bool) -> None:
        """Store ``account`` under ``key`` (None: delete it, and the rooms it founded, and
        its read markers); ``operator``: tell running servers (``chat-trio user``), in
        the same transaction.

        Raises:
          RedisError: it failed (in a transaction: nothing was changed).
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            if account is None:
                keys = [f"ct:account:{key}", "ct:accounts", "ct:rooms", "ct:markers",
                        "ct:account_ids"]  # fmt: skip
                self._drop_account(keys=keys, args=[key], client=pipe)
            else:
                pipe.hset(f"ct:account:{key}", {
                    "name": account.name, "hash": account.hash, "admin": int(account.admin),
                    "id": account.id,
                })  # fmt: skip
                pipe.hsetnx(f"ct:account:{key}", "created", time.time())
                pipe.sadd("ct:accounts", [key])
                pipe.sadd("ct:account_ids", [account.id])  # (markers are kept only for these)
            if operator:
                pipe.xadd(
                    "ct:changes:accounts",
                    {"key": key},
                    trim_strategy=coredis.PureToken.MAXLEN,
                    threshold=CHANGES_KEPT,
                )

    async def note_login(self, key: str) -> None:
        """(Only if the account is there, checked and written in one step: ``_LOGIN``.)"""
        await self._save(
            "login", lambda: self._login(keys=[f"ct:account:{key}"], args=[time.time()])
        )

    async def account_dates(self) -> dict[str, tuple[float, float]]:
        """name_key -> (created, last login), Unix time, 0 where never."""
        keys = sorted(await self._call(self.redis.smembers("ct:accounts")))
        fields = ["created", "last_login"]
        got = await self._each(keys, lambda pipe, key: pipe.hmget(f"ct:account:{key}", fields))
        return {
            key: (float(created or 0), float(last or 0))
            for key, (created, last) in zip(keys, got, strict=True)
        }

    async def save_ban(self, kind: str, key: str, ban: Ban | None) -> None:
        await self._save("ban", lambda: self.write_ban(kind, key, ban, operator=True))

    async def write_ban(self, kind: str, key: str, ban: Ban | None, *, operator: bool) -> None:
        """Store ``ban`` (None: lift it); ``operator``: tell running servers, in the same
        transaction (``chat-trio ban``).

        Raises:
          RedisError: it failed; nothing was changed.
        """
        field = f"{kind}\n{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            if ban is None:
                pipe.hdel("ct:bans", [field])
            else:
                until = None if math.isinf(ban.until) else ban.until
                pipe.hset("ct:bans", {field: json.dumps([until, ban.reason, ban.by, ban.name])})
            if operator:
                pipe.xadd(
                    "ct:changes:bans",
                    {"kind": kind, "key": key},
                    trim_strategy=coredis.PureToken.MAXLEN,
                    threshold=CHANGES_KEPT,
                )

    async def ban(self, kind: str, key: str, now: float) -> Ban | None:
        """The ban on (``kind``, ``key``) in force at ``now``, if any."""
        stored = await self._call(self.redis.hget("ct:bans", f"{kind}\n{key}"))
        found = _ban(f"{kind}\n{key}", stored) if stored else None
        return found if found is not None and found.until > now else None

    async def bans(self, now: float) -> list[Ban]:
        """The bans in force at ``now``; expired ones are deleted."""
        found = [_ban(f, v) for f, v in (await self._call(self.redis.hgetall("ct:bans"))).items()]
        over = [f"{b.kind}\n{b.key}" for b in found if b.until <= now]
        if over:
            await self._call(self.redis.hdel("ct:bans", over))
        return sorted((b for b in found if b.until > now), key=lambda b: (b.kind, b.key))

    async def save_room(self, key: str, record: RegisteredRoom | None) -> None:
        if record is None:
            await self._save("room", lambda: self.redis.hdel("ct:rooms", [key]))
            return
        stored = json.dumps([
            record.name, record.founder, record.registered_at, list(record.ops), record.topic,
            record.topic_by, record.topic_at, sorted(m.value for m in record.modes), record.key,
            record.limit,
            [[b.kind.value, b.mask, b.by, b.at, b.reason] for b in record.bans],
        ])  # fmt: skip
        await self._save("room", lambda: self.redis.hset("ct:rooms", {key: stored}))

    async def rooms(self) -> list[RegisteredRoom]:
        """Every registered room (a mode or kind of ban this version does not know is
        left off, as ``database.rooms`` does)."""
        known = {m.value: m for m in Mode}
        kinds = {k.value: k for k in BanKind}
        found = []
        for _, stored in sorted((await self._call(self.redis.hgetall("ct:rooms"))).items()):
            name, founder, at, ops, topic, by, topic_at, modes, key, limit, bans = json.loads(
                stored
            )
            kept = tuple(
                RoomBan(kinds[k], mask, words.line(who), when, words.line(reason))
                for k, mask, who, when, reason in bans
                if k in kinds and roles.plain_mask(mask)
            )
            found.append(
                RegisteredRoom(
                    name, founder, at, tuple(ops), words.line(topic), words.line(by), topic_at,
                    frozenset(known[m] for m in modes if m in known), key, limit, kept,
                )
            )  # fmt: skip
        return found

    async def save_marker(self, account: str, target: str, at: int, keep: int) -> None:
        keys = [
            f"ct:marks:{account}", f"ct:markat:{account}", "ct:markers", "ct:markseq",
            "ct:account_ids",
        ]  # fmt: skip
        await self._save("marker", lambda: self._mark(keys=keys, args=[target, at, account, keep]))

    async def read_markers(self) -> list[tuple[str, str, int]]:
        """Every read marker, the least recently set first (``database.read_markers``)."""
        accounts = sorted(await self._call(self.redis.smembers("ct:markers")))
        orders = await self._each(
            accounts,
            lambda pipe, account: pipe.zrange(f"ct:marks:{account}", 0, -1, withscores=True),
        )
        times = await self._each(
            accounts, lambda pipe, account: pipe.hgetall(f"ct:markat:{account}")
        )
        found = [
            (score, account, target, int(at[target]))
            for account, order, at in zip(accounts, orders, times, strict=True)
            for target, score in order
            if target in at
        ]
        return [(a, t, at) for _, a, t, at in sorted(found)]

    # -- the operator's changes, as a running server reads them ---------------------------

    async def last_account_change(self) -> str:
        """The id of the operator's latest account change ("0-0": none)."""
        return await self._last_change("accounts")

    async def account_changes(self, after: str) -> tuple[str, list[tuple[str, Account | None]]]:
        """The accounts the operator changed since ``after``, as they are now (None:
        deleted), and the last change's id (``database.account_changes``)."""
        last, changed = await self._changes("accounts", after)
        keys = list(dict.fromkeys(change["key"] for change in changed))
        return last, [(key, await self.account(key)) for key in keys]

    async def last_ban_change(self) -> str:
        """The id of the operator's latest ban change ("0-0": none)."""
        return await self._last_change("bans")

    async def ban_changes(
        self, after: str, now: float
    ) -> tuple[str, list[tuple[str, str, Ban | None]]]:
        """The bans the operator changed since ``after``, as they are at ``now`` (None:
        lifted or over), and the last change's id (``database.ban_changes``)."""
        last, changed = await self._changes("bans", after)
        pairs = list(dict.fromkeys((change["kind"], change["key"]) for change in changed))
        return last, [(kind, key, await self.ban(kind, key, now)) for kind, key in pairs]

    async def _last_change(self, what: str) -> str:
        last = await self._call(self.redis.xrevrange(f"ct:changes:{what}", "+", "-", count=1))
        return _id(last[0]) if last else "0-0"

    async def _changes(self, what: str, after: str) -> tuple[str, list[dict[str, str]]]:
        found = await self._call(self.redis.xrange(f"ct:changes:{what}", f"({after}", "+"))
        if not found:
            return after, []
        return _id(found[-1]), [_fields(item) for item in found]

    # -- the operator's view --------------------------------------------------------------

    async def writable(self) -> str | None:
        """None if Redis answers now; otherwise why not (for /readyz)."""
        try:
            await self._call(self.redis.ping())
        except RedisUnavailable as exc:
            return str(exc)
        return None

    # -- names across nodes (leases.py) ---------------------------------------------------

    leases: NameLeases | None = None
    """This node's leases on names (set by the server with ``--redis``); None: the rules'
    own check is the whole answer."""

    async def claim_name(self, key: str, conn: ConnId, *, wait: bool = False) -> Claim:
        if self.leases is None:
            return Claim.GRANTED
        return await self.leases.claim(key, conn, wait=wait)

    def release_name(self, key: str, conn: ConnId) -> None:
        if self.leases is not None:
            self.leases.release(key, conn)


def _account(fields: dict[str, str]) -> Account | None:
    """An account as stored in ``ct:account:{name_key}`` (None: there is none)."""
    if not fields:
        return None
    return Account(fields["name"], fields["hash"], fields["admin"] == "1", fields["id"])


def _ban(field: str, stored: str) -> Ban:
    kind, _, key = field.partition("\n")
    until, reason, by, name = json.loads(stored)
    return Ban(kind, key, math.inf if until is None else until, reason, by, name)
