"""This node's link to the other nodes of one chat, through Redis: what it tells them and
what it hears from them.

Theory of operation. Each node runs the rules for its own connections (chat/remote.py
explains how the rules see people on other nodes). This module is the I/O between:

- **Telling.** The interpreter (delivery/effects.py) hands over what the rules told:
  ``told`` every broadcast, ``forward`` every output addressed to a person on another
  node, ``settled`` after each step. News of a local person (a join, a leave, a rename,
  a quit, being away) goes with its ``Profile`` to the channel every node hears,
  ``ct:people``; and the profile is kept in ``ct:people:{node}`` for nodes that start
  later. A room's other events (its lines, topic, role and mode changes, a kick of a
  person on another node) go to the room's channel, ``ct:room:{room_key}``. What is
  for one person on another node (a private message, a kill) goes to that node's run's
  channel, ``ct:to:{run}``. Each post is numbered per channel by Redis in the same step
  that publishes it, with the epoch of Redis' data (``_POST``), so receivers see gaps
  and duplicates, and count anew when Redis lost its data.
- **How rooms are run.** Each change of a room's roles, modes, bans or members made
  here, and each invitation of a person elsewhere, is kept in the room's state in Redis
  (``_STATE``, posted in order with the rest); a local person who joins a room with no
  local member reads it first (``room_state``, by ``_ENTER``, which also decides, once
  for every node, whether the joiner founds the room): chat/remote.py's rule 7.
- **Contact lost and back.** ``Lost``: the local people who share a room with people
  elsewhere are told once (``Unreachable``). ``Restored``: they are told what may be
  missing (``Missed``), this node tells all its people again with a census after them
  (``_census``), and reads everyone's (``_catch_up``).
- **Hearing.** The subscriber (nodes/subscriber.py) hears ``ct:people``, this node's
  channel, and the channel of every room with a local member (``_follow``); ``hear``
  hands each message to the rules (``Chat.remote_news``, ``remote_heard``,
  ``put_out_elsewhere``, ``ended_elsewhere``) and what they answer to the hub, for local
  connections only (``Effects.carry_remote``): nothing heard is ever told again.
- **Nodes that die.** ``reap`` looks at every node's lease (storage/redis.py's
  ``NodeLease``) every ``REAP_EVERY`` seconds; a node whose lease ended has its people
  quit here, their connection lost (at most 14 s after it died: ``REAP_EVERY``).

Every buffer is bounded: posts wait in ``POSTS_MAX`` (full: the post is dropped and
counted, its person re-announced at its next change), and what is heard waits in the
subscriber's own bounded channel (its policy is there).

Error handling: Redis failing or slow is logged and counted, never raised into a session;
a message that does not decode is dropped, logged and counted.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, Protocol

import attrs
import coredis
import trio

from chat_trio.chat.core import Chat
from chat_trio.chat.events import (
    AccountChanged,
    Away,
    BanChanged,
    ConnId,
    Done,
    Event,
    Invitation,
    Joined,
    Kicked,
    Left,
    Mode,
    ModeChanged,
    NickChanged,
    Reason,
    Role,
    RoleChanged,
    RoomLeft,
)
from chat_trio.chat.outputs import Broadcast, Output, Outputs
from chat_trio.chat.remote import Profile, RoomState
from chat_trio.chat.roles import INVITE_SECONDS, ban_key
from chat_trio.chat.vocabulary import LOBBY, look, name_key
from chat_trio.chat.world import Room
from chat_trio.nodes.codec import CodecError, Envelope, decode, encode
from chat_trio.nodes.sequence import Kind, Sequences
from chat_trio.nodes.subscriber import Arrival, Lost, Message, Restored, Subscriber
from chat_trio.storage.redis import ANSWER_TIMEOUT, RedisUnavailable, call

log = logging.getLogger("chat_trio.nodes")

POSTS_MAX = 10_000
"""Posts that may wait for Redis. Full (Redis slower than this node's chat for seconds,
or unreachable): the post is dropped and counted, and its person is re-announced with its
whole profile at its next change (other nodes' rooms then put it right: remote.py's
rule 1)."""
BATCH_MAX = 500  #: posts sent in one pipeline (one round trip)
HEARD_AT_ONCE = 256
"""Messages that already wait, told to the rules before the next checkpoint: the hub
then renders and writes them in one round, not one round each (measured on 2 nodes,
steady: the hearing node's CPU 2.0 -> 0.8 s, p99 85-154 -> 49-58 ms). At ~10 µs each,
256 are a few milliseconds of the event loop."""
REAP_EVERY = 2.0
"""Seconds between looks at the other nodes' leases. A node is gone when its lease is
missing at two looks in a row (a Redis restarted without its data has no lease until each
node writes its own again, within ``NODE_REFRESH``, 3 s): at most ``NODE_LEASE_MS`` +
2 x ``REAP_EVERY``, 14 s, after it died."""
REAP_QUIET = 6.0
"""Seconds after contact comes back during which no node is found gone: every node writes
its lease again within ``NODE_REFRESH`` (3 s) of Redis answering; twice that is slack."""

_POST = """
-- KEYS[1]: the channel. ARGV[1]: the post; ARGV[2]: the epoch, if none is set (this run
-- and the post's number here: never one an earlier loss of Redis' data had, whoever posts).
-- Numbered per channel, in the same step, with the epoch of Redis' data: "n epoch post".
local epoch = redis.call('GET', 'ct:epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', 'ct:epoch', epoch)
end
local n = redis.call('INCR', 'ct:seq:' .. KEYS[1])
redis.call('PUBLISH', KEYS[1], n .. ' ' .. epoch .. ' ' .. ARGV[1])
return n
"""

_GONE = """
-- ARGV: runs of nodes (name:token). Those whose lease ended (or is another run's now).
local gone = {}
for _, run in ipairs(ARGV) do
  local name = string.match(run, '^(.*):[^:]*$')
  if redis.call('GET', 'ct:node:' .. name) ~= run then table.insert(gone, run) end
end
return gone
"""

_FORGET_PEOPLE = """
-- KEYS[1]: a node's people (fields run|conn). ARGV[1]: the run that is gone. Only that
-- run's are deleted: the same name's next run may have begun writing its own; and the
-- node leaves the set of nodes unless that next run holds its lease.
local held = redis.call('HKEYS', KEYS[1])
local prefix = ARGV[1] .. '|'
for _, field in ipairs(held) do
  if string.sub(field, 1, #prefix) == prefix then redis.call('HDEL', KEYS[1], field) end
end
local name = string.match(ARGV[1], '^(.*):[^:]*$')
if redis.call('EXISTS', 'ct:node:' .. name) == 0 then redis.call('SREM', 'ct:nodes', name) end
return 0
"""

_STATE = """
-- How a room is run, for every node (chat/remote.py's rule 7). KEYS[1]: the room's state
-- (a hash: n, its members on every node; p:{run}|{conn}, a member and its roles;
-- m:{mode} and b:{ban}, the change that set each; i:{run}|{conn}, an invitation's end);
-- KEYS[2]: its founding claim. ARGV[1]: what changed; ARGV[2], ARGV[3]: a field, a value.
local op = ARGV[1]
if op == 'join' then  -- once per member (a census tells it again); its invitation is used
  if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) == 1 and
     redis.call('HINCRBY', KEYS[1], 'n', 1) == 1 then
    redis.call('DEL', KEYS[2])
  end
  redis.call('HDEL', KEYS[1], 'i:' .. string.sub(ARGV[2], 3))
elseif op == 'leave' then  -- the last member gone: the room is forgotten, as on one node
  if redis.call('HDEL', KEYS[1], ARGV[2]) == 1 and
     redis.call('HINCRBY', KEYS[1], 'n', -1) <= 0 then
    redis.call('DEL', KEYS[1])
  end
elseif redis.call('EXISTS', KEYS[1]) == 1 then  -- (a room nobody is in has no state)
  if op == 'role' then
    if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then
      redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
    end
  elseif op == 'set' then
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  else
    redis.call('HDEL', KEYS[1], ARGV[2])
  end
end
return 0
"""

_ENTER = """
-- KEYS[1]: a room's state, KEYS[2]: its founding claim; ARGV[1]: who joins ({run}|{conn}).
-- Someone is in it: {0, its state}. Nobody: the first to ask in FOUNDING_MS founds it,
-- {1, {}}; the others, {0, {}} (its first member's join then ends the claim).
if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('DEL', KEYS[1])
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) or
   redis.call('GET', KEYS[2]) == ARGV[1] then
  return {1, {}}
end
return {0, {}}
"""

FOUNDING_MS = 5000
"""How long the first joiner of an empty room holds its claim to found it before its join
is told (``_ENTER``): a join takes milliseconds; a claim whose join was refused (the
joiner's limits) lapses, and the room is founded by the next joiner."""

_NEWS = (Joined, Left, NickChanged, Away, AccountChanged)
"""Broadcast news of one person, sent with its profile to every node (``ct:people``)."""


def channels(db: int) -> tuple[str, str, str]:
    """The names of the channels of the chat on Redis' database ``db``: news of people,
    a room's (before its key), one run's (before the run). Redis' pub/sub does not know
    databases (a PUBLISH reaches every database's subscribers), so two chats on one Redis,
    on two databases, are kept apart by the names; the first database's are the plain ones."""
    prefix = "ct:" if db == 0 else f"ct:db{db}:"
    return f"{prefix}people", f"{prefix}room:", f"{prefix}to:"


def node_of(run: str) -> str:
    """The node name of a run (``Peers.run``: name:token)."""
    return run.rpartition(":")[0]


@attrs.frozen
class PeersStatistics:
    """What ``Peers.statistics`` reports (the metrics' ``chat_trio_peers_*``)."""

    connected: bool  #: the subscription is up
    reconnects: int  #: times it was lost and made again
    nodes: int  #: other nodes whose people are here
    people: int  #: people on other nodes
    rooms_followed: int  #: room channels heard (rooms with a local member)
    posts_queued: int
    posts_capacity: int
    posts_sent: int
    posts_dropped: int  #: the queue was full
    posts_failed: int  #: Redis did not take them (a pipeline failed)
    heard: int  #: messages handed to the rules
    undecodable: int
    duplicates: int
    gaps: int  #: messages found missing by their numbers


class Carrier(Protocol):
    """The interpreter (delivery/effects.py), as peers uses it."""

    def carry_remote(self, steps: Iterable[Output]) -> None: ...

    def carry_now(self, conn: ConnId, door: None, steps: Iterable[Output]) -> object: ...


@attrs.frozen
class _Heard:
    """What one message heard was, as ``hear`` needs to know it."""

    mirror: ConnId = 0  #: news of a person elsewhere: its mirror here (0: none)
    census: str = ""  #: a node's census: the run whose people to read again
    people_missed: bool = False  #: news of people was missed (a gap): catch up


_NOTHING = _Heard()


@attrs.frozen
class _Post:
    channel: str
    data: str
    person: tuple[ConnId, Profile | None] | None = None  #: kept in ``ct:people:{node}``
    reset: bool = False  #: instead: forget every person ``ct:people:{node}`` keeps
    #: instead: a change of a room's state (``_STATE``): its key, what, a field, a value
    state: tuple[str, str, str, str] | None = None


_LOBBY = name_key(LOBBY)
"""#lobby's state is not kept in Redis: every node with anyone online hears it (rule 5),
and its hash would list every person online."""


def state_keys(room: str) -> list[str]:
    """The keys of a room's state and founding claim (``_STATE``), by its key."""
    return [f"ct:roomstate:{room}", f"ct:founding:{room}"]


def _held(room: Room, conn: ConnId) -> str:
    """The roles ``conn`` holds in ``room``, as the room's state keeps them."""
    return ",".join(role.value for role in Role if conn in room.roles[role])


class Peers:
    """This node among its peers. See the module docstring.

    Args:
      chat: the rules.
      effects: the interpreter (``carry_remote`` carries out what the rules answer to
        what was heard; ``carry_now`` what this node does for a local person at another
        node's word, told as its own).
      redis: the commands client (storage/redis.py's).
      subscriber: the subscription (not yet running: ``hear`` subscribes first).
      run: this run of this node: its name (``--node-name``), a colon, and its lease's
        token (``NodeLease.token``). People are known by their node's run and connection,
        never by a node's name alone: a node restarted under the same name counts its
        connections from 1 again, and what was meant for the old run's must never reach
        the new run's.
    """

    def __init__(
        self,
        chat: Chat,
        effects: Carrier,
        redis: coredis.Redis[str],
        subscriber: Subscriber,
        run: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chat = chat
        self.effects = effects
        self.redis = redis
        self.subscriber = subscriber
        self.run = run
        self.node = node_of(run)
        self.people, self._rooms, self._to = channels(subscriber.db)
        self.clock = clock
        self._post = redis.register_script(_POST)
        self._gone = redis.register_script(_GONE)
        self._forget_people = redis.register_script(_FORGET_PEOPLE)
        self._state = redis.register_script(_STATE)
        self._enter = redis.register_script(_ENTER)
        self._posts_in, self._posts_out = trio.open_memory_channel[_Post](POSTS_MAX)
        #: (run of a node, connection there) -> its mirror here, and back
        self._mirrors: dict[tuple[str, ConnId], ConnId] = {}
        self._owners: dict[ConnId, tuple[str, ConnId]] = {}
        self._mirror_ids = itertools.count(-1, -1)
        #: what other nodes were last told of each local person (``settled``)
        self._announced: dict[ConnId, Profile] = {}
        self._news: dict[ConnId, list[Event]] = {}  #: news of local people this step
        self._last_news: Event | None = None  #: (one rename told to many rooms: once)
        self._done: dict[ConnId, Done] = {}  #: what a person elsewhere is told before its end
        self._followed: set[str] = set()  #: room channels subscribed
        self._sequences = Sequences()
        self._sent = trio.Event()  #: every post sent, after ``flush``
        #: posts queued, and posts sent (or failed) since this node started: a read of a
        #: room's state waits for this node's own changes queued before it (``room_state``)
        self._queued = self._through = 0
        self._progress = trio.Event()  #: set (and made anew) when ``_through`` grows
        #: contact is lost (until its census is sent), and Redis was heard to have lost its
        #: data meanwhile (``_restate`` then follows the census)
        self._cut_off = self._restate_due = False
        self._restored = -REAP_QUIET  #: when contact last came back (trio's clock)
        #: each heard channel's epoch: the Redis data set its numbers count in (``_POST``)
        self._epochs: dict[str, bytes] = {}
        #: runs whose lease was missing at the last look, and runs heard from since
        self._missing: set[str] = set()
        self._alive: set[str] = set()
        self._counts = dict.fromkeys(
            ("sent", "dropped", "failed", "heard", "undecodable", "duplicates", "gaps"), 0
        )

    # -- what the interpreter hands over (plain def: never waits) ---------------------------

    def told(self, conn: ConnId, output: Broadcast) -> None:
        """The rules broadcast ``output`` for ``conn``: news of a local person waits for
        ``settled``; anything else is the room's, posted to its channel now."""
        room: list[Event] = []
        for event in output.events:
            subject = output.exclude
            if isinstance(event, _NEWS) and subject is not None and subject > 0:
                if event is not self._last_news:
                    self._news.setdefault(subject, []).append(event)
                    self._last_news = event
            elif not isinstance(event, _NEWS):
                room.append(event)  # (a kick of a person elsewhere is the room's too)
                if isinstance(event, Kicked) and subject is not None and subject > 0:
                    self._news.setdefault(subject, [])  # (its rooms changed: re-announced)
                self._keep(conn, output.room, event)
        if room:
            self._send(
                self._rooms + name_key(output.room),
                Envelope(self.run, conn, self.clock(), tuple(room)),
            )

    def _keep(self, conn: ConnId, room: str, event: Event) -> None:
        """A change of how ``room`` is run, kept in its state for every node (rule 7 of
        chat/remote.py): a role as the member now holds them, a mode or ban as the change
        that made it."""
        key = name_key(room)
        if key == _LOBBY:
            return  # (every node hears #lobby: its state is not kept)
        if isinstance(event, RoleChanged):
            joined = self.chat.rooms.get(key)
            holder = self.chat.names.get(look(event.name))
            if joined is not None and holder is not None and (who := self._who(holder)):
                self._change(key, "role", f"p:{who}", _held(joined, holder))
        elif isinstance(event, ModeChanged | BanChanged):
            if isinstance(event, ModeChanged):
                field = f"m:{event.mode.value}"
            else:
                kind, mask = ban_key(event.ban)
                field = f"b:{kind.value}:{mask}"
            envelope = Envelope(self.run, conn, self.clock(), (event,))
            self._change(key, "set" if event.on else "unset", field, encode(envelope).decode())

    def _who(self, conn: ConnId) -> str:
        """``conn`` (local, or a mirror) as every node knows it: ``{run}|{connection}``
        ("": a mirror already forgotten)."""
        if conn > 0:
            return f"{self.run}|{conn}"
        owner = self._owners.get(conn)
        return "" if owner is None else f"{owner[0]}|{owner[1]}"

    def _change(self, key: str, op: str, field: str, value: str = "") -> None:
        if key != _LOBBY:
            self._send_post(_Post("", "", state=(key, op, field, value)))

    def forward(
        self, conn: ConnId, to: ConnId, events: Sequence[Event], closed: Reason | None
    ) -> None:
        """Outputs for ``to``, a person on another node: its node carries them out."""
        owner = self._owners.get(to)
        if owner is None:
            return
        for invitation in (e for e in events if isinstance(e, Invitation)):  # (for a join
            until = str(self.clock() + INVITE_SECONDS)  # made through a node not in it)
            self._change(name_key(invitation.room), "set", f"i:{owner[0]}|{owner[1]}", until)
        if closed is not None:  # (with what it was told, for its leave notice there)
            events = (self._done.pop(to),) if to in self._done else ()
        else:
            for event in events:
                if isinstance(event, Done):
                    self._done[to] = event  # (its end follows at once: moderation.py)
        run, there = owner
        envelope = Envelope(self.run, conn, self.clock(), tuple(events), to=there, closed=closed)
        self._send(self._to + run, envelope)

    def moved(self, room: str) -> None:
        """Who of this node is in ``room`` may have changed: hear its channel while some
        local member is in it, and only then."""
        key = name_key(room)
        joined = self.chat.rooms.get(key)
        self._follow(self._rooms + key, joined is not None and joined.local > 0)

    def settled(self, conn: ConnId) -> None:
        """A step of ``conn`` is done: tell the other nodes what changed of the local
        people it changed (their news, and what each is now)."""
        news, self._news, self._last_news = self._news, {}, None
        for subject in (*news, conn) if conn not in news else news:
            self._announce(subject, tuple(news.get(subject, ())))

    def _announce(self, conn: ConnId, news: tuple[Event, ...]) -> None:
        if conn <= 0:
            return
        now = self.chat.profile(conn)
        before = self._announced.get(conn)
        if now is None and before is not None and not news and self.chat.shutting_down:
            # (the rules tell no leave while shutting down: the other nodes are told why)
            news = (Left(before.name, Reason.SHUTDOWN, user=before.user),)
        if now == before and not news:
            return
        if now is None:
            self._announced.pop(conn, None)
        else:
            self._announced[conn] = now
        rooms = {*(before.rooms if before else ()), *(now.rooms if now else ())}
        for room in rooms:
            self.moved(room)
        self._seated(conn, before, now)
        envelope = Envelope(self.run, conn, self.clock(), news, profile=now)
        if not self._send(self.people, envelope, person=(conn, now)):
            self._announced.pop(conn, None)  # (told in whole at its next change)

    def _seated(self, conn: ConnId, before: Profile | None, now: Profile | None) -> None:
        """The rooms the local ``conn`` joined and left since ``before``, in their state."""
        was = {name_key(room) for room in (before.rooms if before else ())}
        is_ = {name_key(room) for room in (now.rooms if now else ())}
        for key in sorted(was - is_):
            self._change(key, "leave", f"p:{self.run}|{conn}")
        for key in sorted(is_ - was):
            joined = self.chat.rooms.get(key)
            held = "" if joined is None else _held(joined, conn)
            self._change(key, "join", f"p:{self.run}|{conn}", held)

    def _send(
        self, channel: str, envelope: Envelope, person: tuple[ConnId, Profile | None] | None = None
    ) -> bool:
        try:
            data = encode(envelope).decode()
        except CodecError as exc:  # (too big)
            self._counts["dropped"] += 1
            log.warning("peers-unsendable channel=%s error=%r", channel, str(exc))
            return False
        return self._send_post(_Post(channel, data, person))

    def _send_post(self, post: _Post) -> bool:
        try:
            self._posts_in.send_nowait(post)
        except (trio.WouldBlock, trio.ClosedResourceError):  # (closed: shutting down)
            self._counts["dropped"] += 1
            return False
        self._queued += 1
        return True

    def _follow(self, channel: str, wanted: bool) -> None:
        if wanted and channel not in self._followed:
            self._followed.add(channel)
            self.subscriber.subscribe(channel)
        elif not wanted and channel in self._followed:
            self._followed.discard(channel)
            self.subscriber.unsubscribe(channel)
            self._sequences.forget(channel)
            self._epochs.pop(channel, None)

    # -- the tasks server.py starts ----------------------------------------------------------

    async def flush(self) -> None:
        """Send what waits, and then nothing more (at shutdown: under a deadline)."""
        self._posts_in.close()
        await self._sent.wait()

    async def post(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send what waits, in order, a pipeline (one round trip) per batch, until
        ``flush`` and all is sent."""
        task_status.started()
        async for first in self._posts_out:
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._posts_out.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):  # (ended: ``flush``)
                    break
            try:
                await call(self._pipeline(batch))
                self._counts["sent"] += len(batch)
            except RedisUnavailable as exc:
                self._counts["failed"] += len(batch)
                log.warning(
                    "peers-post-failed node=%s posts=%d error=%r", self.node, len(batch), str(exc)
                )
            self._through += len(batch)
            self._progress.set()
            self._progress = trio.Event()
        self._sent.set()

    async def _pipeline(self, batch: list[_Post]) -> None:
        people = f"ct:people:{self.node}"
        async with self.redis.pipeline(transaction=False) as pipe:
            for post in batch:
                if post.reset:
                    pipe.delete([people])
                    continue
                if post.state is not None:
                    key, *args = post.state
                    self._state(keys=state_keys(key), args=args, client=pipe)
                    continue
                if post.person is not None:
                    conn, profile = post.person
                    field = f"{self.run}|{conn}"
                    if profile is None:
                        pipe.hdel(people, [field])
                    else:
                        pipe.hset(people, {field: post.data})
                epoch = f"{self.run}/{self._through + len(batch)}"
                self._post(keys=[post.channel], args=[post.data, epoch], client=pipe)

    async def hear(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hear the other nodes: first who is where (every node's ``ct:people:{node}``),
        then every message, in the order Redis published them; and when contact is lost
        and comes back, say so (``Unreachable``, ``Missed``) and catch up."""
        self.subscriber.subscribe(self.people)
        self.subscriber.subscribe(self._to + self.run)
        arrivals = self.subscriber.arrivals()
        try:  # (an earlier run of this node's name: its people are gone with it)
            await self._forget_node(self.node)
        except RedisUnavailable as exc:
            log.warning("peers-clear-failed node=%s error=%r", self.node, str(exc))
        await self._catch_up(forget=True)
        task_status.started()
        async for first in arrivals:
            await self._take(first)
            for _ in range(HEARD_AT_ONCE - 1):  # (what waits already: one flush for all)
                try:
                    await self._take(arrivals.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break

    async def _take(self, arrival: Arrival) -> None:
        """One arrival from the subscriber (a message, or contact lost or back)."""
        if isinstance(arrival, Message):
            heard = self._heard(arrival.channel, arrival.data)
            if heard.people_missed:
                await self._catch_up()
            elif heard.census:  # that node told everyone again
                await self._reconcile(node_of(heard.census))
        elif isinstance(arrival, Lost):
            log.warning("peers-lost node=%s", self.node)
            self._cut_off = True
            self._tell(self.chat.peers_unreachable)
        elif isinstance(arrival, Restored):
            log.info("peers-restored node=%s down=%.1fs", self.node, arrival.down)
            self._restored = trio.current_time()
            self._tell(partial(self.chat.peers_restored, arrival.down))
            lost = await self._data_lost() or self._restate_due
            self._census()  # (first: a room's state is kept again only once it has members)
            self._cut_off = self._restate_due = False
            if lost:
                self._restate()
            await self._catch_up()

    def _tell(self, rule: Callable[[Outputs], None]) -> None:
        out = Outputs(0)
        rule(out)
        self.effects.carry_remote(out.done())

    async def _catch_up(self, *, forget: bool = False) -> None:
        """Read every other node's people and make the mirrors match (``_reconcile``);
        ``forget`` (at start only: just after an outage every lease may have lapsed until
        its node writes it again): the people of nodes whose lease ended leave the rooms'
        states (``_forget_node``)."""
        try:
            nodes = await call(self.redis.smembers("ct:nodes"))
        except RedisUnavailable as exc:
            log.warning("peers-catch-up-failed node=%s error=%r", self.node, str(exc))
            return
        for node in sorted(nodes - {self.node}):
            try:  # (a node that died with nobody left to see it: its people are gone)
                alive = await call(self.redis.exists([f"ct:node:{node}"]))
            except RedisUnavailable as exc:
                log.warning("peers-catch-up-failed node=%s error=%r", self.node, str(exc))
                return
            if alive:
                await self._reconcile(node)
            elif forget:
                try:
                    await self._forget_node(node)
                except RedisUnavailable as exc:
                    log.warning(
                        "peers-forget-failed node=%s gone=%s error=%r", self.node, node, exc
                    )

    async def _forget_node(self, node: str) -> None:
        """The people ``ct:people:{node}`` keeps of a run of ``node`` that ended unseen
        leave the rooms' states (and the hash): nobody else will say they left.

        Raises:
          RedisUnavailable: they could not be read or forgotten (the next start tries again).
        """
        key = f"ct:people:{node}"
        held = await call(self.redis.hgetall(key))
        for field, data in held.items():
            try:
                profile = decode(data.encode()).profile
            except CodecError:
                continue
            for room in profile.rooms if profile is not None else ():
                self._change(name_key(room), "leave", f"p:{field}")
        await call(self.redis.delete([key]))

    async def _reconcile(self, node: str) -> None:
        """Make the mirrors of ``node``'s people match what ``ct:people:{node}`` keeps:
        quietly (what changed while this node was not listening is put right, not told),
        but those who left meanwhile are said to have left. A node whose people are not
        there at all (Redis restarted without its data, and that node has not told them
        again yet: its census will say when it has) loses nobody here."""
        try:
            held = await call(self.redis.hgetall(f"ct:people:{node}"))
        except RedisUnavailable as exc:
            log.warning("peers-catch-up-failed node=%s error=%r", self.node, str(exc))
            return
        if not held:
            return
        there: set[ConnId] = set()
        for data in held.values():
            there.add(self._heard(self.people, f"0 - {data}".encode(), snapshot=True).mirror)
        gone = [m for (run, _), m in self._mirrors.items() if node_of(run) == node]
        for mirror in (m for m in gone if m not in there):
            out = Outputs(0)
            self.chat.remote_news(mirror, (), None, Reason.LOST, out)
            self.effects.carry_remote(out.done())
            self._forget_mirror(mirror)

    def _census(self) -> None:
        """Contact is back: tell every local person again (a Redis restarted without its
        data has forgotten them), then a census (connection 0) after which the other
        nodes reconcile this node's people with what ``ct:people:{node}`` keeps."""
        now = self.clock()
        self._send_post(_Post("", "", reset=True))
        for conn, profile in list(self._announced.items()):
            self._send(
                self.people, Envelope(self.run, conn, now, (), profile=profile), (conn, profile)
            )
            self._seated(conn, None, profile)  # (told again: counted once all the same)
        self._send(self.people, Envelope(self.run, 0, now, ()))

    async def _data_lost(self) -> bool:
        """Did Redis lose its data while contact was lost (its epoch is not the one last
        heard: ``_POST``)?"""
        try:
            epoch = await call(self.redis.get("ct:epoch"))
        except RedisUnavailable:
            return True  # (told again: the same values, no harm)
        return epoch is None or epoch.encode() != self._epochs.get(self.people)

    def _restate(self) -> None:
        """Redis lost its data: how each room with a local member is run, as this node
        knows it (the members and roles are told again by ``_census``), kept again."""
        for room in list(self.chat.rooms.values()):
            if room.local == 0:
                continue
            name = room.memory.name
            for mode in room.modes:
                value = (
                    room.key if mode is Mode.KEY else str(room.limit) if mode is Mode.LIMIT else ""
                )
                self._keep(0, name, ModeChanged(name, mode, True, "", value))
            for ban in room.bans.values():
                self._keep(0, name, BanChanged(name, ban, True, ban.by))

    def _heard(self, channel: str, data: bytes, *, snapshot: bool = False) -> _Heard:
        """One message: told to the rules, and what they answer carried out. Returns what
        ``hear`` needs to know of it. ``snapshot``: a profile as ``ct:people:{node}``
        keeps it, put right quietly (the news that came with it was told then)."""
        number, _, rest = data.partition(b" ")
        epoch, _, payload = rest.partition(b" ")
        try:
            envelope = decode(payload)
            seq = int(number)
            if not snapshot and self._epochs.setdefault(channel, epoch) != epoch:
                self._epochs[channel] = epoch  # Redis lost its data: count anew (its
                self._sequences.forget(channel)  # loss was told when contact came back)
                if channel == self.people and self._cut_off:  # (after its census:
                    self._restate_due = True  # ``_take``)
                elif channel == self.people:
                    self._restate()
            seen = None if snapshot else self._sequences.observe(channel, seq)
        except (CodecError, ValueError) as exc:
            self._counts["undecodable"] += 1
            log.warning("peers-undecodable channel=%s error=%r", channel, str(exc))
            return _NOTHING
        if seen is not None and seen.kind is Kind.DUPLICATE:
            self._counts["duplicates"] += 1
            return _NOTHING
        if seen is not None and seen.kind is Kind.GAP:
            self._counts["gaps"] += 1
            log.warning("peers-gap node=%s channel=%s missed=%d", self.node, channel, seen.missed)
            if channel.startswith(self._rooms):
                room = channel.removeprefix(self._rooms)
                self._tell(partial(self.chat.peers_missed, [room], 0.0))
        missed = seen is not None and seen.kind is Kind.GAP and channel == self.people
        if envelope.node == self.run:
            return _Heard(people_missed=missed)  # (ours, told here; numbered all the same)
        if not snapshot:
            self._alive.add(envelope.node)
        self._counts["heard"] += 1
        out = Outputs(0)
        heard = _Heard(people_missed=missed)
        if channel == self.people and envelope.conn == 0 and envelope.profile is None:
            return _Heard(census=envelope.node, people_missed=missed)  # (``_census``)
        if channel == self.people:
            mirror = self._mirror(envelope.node, envelope.conn)
            heard = _Heard(mirror=mirror, people_missed=missed)
            reason, news = Reason.QUIT, () if snapshot else envelope.events
            if not self.chat.remote_news(mirror, news, envelope.profile, reason, out):
                log.warning("peers-name-clash node=%s conn=%d", envelope.node, envelope.conn)
            if envelope.profile is None:
                self._forget_mirror(mirror)
        elif channel.startswith(self._rooms):
            room = channel.removeprefix(self._rooms)
            self.chat.remote_heard(room, envelope.events, envelope.at, out)
        else:
            self._addressed(envelope)
        self.effects.carry_remote(out.done())
        return heard

    def _addressed(self, envelope: Envelope) -> None:
        """What another node's rules addressed to one local person: carried out as this
        node's own doing (what it changes is told to the other nodes as ever)."""
        conn, out = envelope.to, Outputs(0)
        if envelope.closed is not None:
            said = next((e.text for e in envelope.events if isinstance(e, Done)), "")
            self.chat.ended_elsewhere(conn, envelope.closed, said, out)
        else:
            events = [e for e in envelope.events if not isinstance(e, RoomLeft) or not e.by]
            if events:
                out.reply(conn, *events)
            for invitation in (e for e in events if isinstance(e, Invitation)):
                self.chat.invited_elsewhere(conn, invitation)
            for left in envelope.events:
                if isinstance(left, RoomLeft) and left.by:  # a kick there
                    self.chat.put_out_elsewhere(conn, left, out)
                    self._news.setdefault(conn, [])  # (its rooms changed: told again)
        self.effects.carry_now(0, None, out.done())

    async def room_state(self, room: str, conn: ConnId) -> RoomState | None:
        """How ``room`` is run as the nodes keep it, for the local ``conn`` who joins it
        (``_ENTER``: whether it founds it, too). None: Redis could not be asked."""
        if name_key(room) == _LOBBY:
            return RoomState(False)
        if self._cut_off:
            return None  # (Redis is out of reach: the join is refused at once, not late)
        who = f"{self.run}|{conn}"
        queued = self._queued  # (this node's changes before this join go first)
        answer: list[Any] | None = None
        with trio.move_on_after(ANSWER_TIMEOUT):  # (all a user waits for, as storage's)
            while self._through < queued:
                await self._progress.wait()
            try:
                answer = await call(
                    self._enter(keys=state_keys(name_key(room)), args=[who, FOUNDING_MS])
                )
            except RedisUnavailable as exc:
                log.warning(
                    "peers-room-state-failed node=%s room=%s error=%r", self.node, room, exc
                )
        if answer is None:
            return None
        founds, fields = int(answer[0]), [str(item) for item in answer[1]]
        changes: list[Event] = []
        members: list[tuple[ConnId, frozenset[Role]]] = []
        invited: list[tuple[ConnId, float]] = []
        pairs = iter(fields)
        for field, value in zip(pairs, pairs, strict=True):
            kind, _, rest = field.partition(":")
            try:
                if kind in ("m", "b"):
                    changes.extend(decode(value.encode()).events)
                elif kind == "p" and (here := self._here(rest)) is not None:
                    members.append((here, frozenset(Role(r) for r in value.split(",") if r)))
                elif kind == "i" and rest.startswith(f"{self.run}|"):
                    invited.append((int(rest.rpartition("|")[2]), float(value)))
            except (CodecError, ValueError) as exc:
                log.warning("peers-room-state-undecodable room=%s field=%s error=%r",
                            room, field, str(exc))  # fmt: skip
        return RoomState(bool(founds), tuple(changes), tuple(members), tuple(invited))

    def _here(self, who: str) -> ConnId | None:
        """The connection here of ``{run}|{connection}`` (a local one, or a mirror)."""
        run, _, there = who.rpartition("|")
        if not there.isdigit():
            return None
        if run == self.run:
            return int(there)
        return self._mirrors.get((run, int(there)))

    def _mirror(self, node: str, conn: ConnId) -> ConnId:
        mirror = self._mirrors.get((node, conn))
        if mirror is None:
            mirror = self._mirrors[(node, conn)] = next(self._mirror_ids)
            self._owners[mirror] = (node, conn)
        return mirror

    def _forget_mirror(self, mirror: ConnId) -> None:
        self._done.pop(mirror, None)
        owner = self._owners.pop(mirror, None)
        if owner is not None:
            del self._mirrors[owner]

    async def reap(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Every ``REAP_EVERY`` seconds: the nodes whose lease ended take their people."""
        task_status.started()
        while True:
            await trio.sleep(REAP_EVERY)
            try:
                await self._reap()
            except RedisUnavailable as exc:
                log.warning("peers-reap-failed node=%s error=%r", self.node, str(exc))

    async def _reap(self) -> None:
        runs = sorted({run for run, _ in self._mirrors})
        if not runs or trio.current_time() < self._restored + REAP_QUIET:
            self._missing = set()
            return
        missing: set[str] = set(await call(self._gone(keys=[], args=runs)))
        missing -= self._alive  # (heard since the last look: back, its lease not yet)
        self._alive = set()
        gone = sorted(missing & self._missing)
        self._missing = missing - set(gone)
        for run in gone:
            mirrors = [m for (r, _), m in self._mirrors.items() if r == run]
            log.warning("peers-node-gone node=%s gone=%s people=%d", self.node, run, len(mirrors))
            for mirror in mirrors:  # (each node that saw it go does it: once counts)
                who, client = self._who(mirror), self.chat.clients.get(mirror)
                for key in client.rooms if client is not None else ():
                    self._change(key, "leave", f"p:{who}")
            out = Outputs(0)
            self.chat.node_gone(mirrors, out)
            self.effects.carry_remote(out.done())
            for mirror in mirrors:
                self._forget_mirror(mirror)
            await call(self._forget_people(keys=[f"ct:people:{node_of(run)}"], args=[run]))

    def statistics(self) -> PeersStatistics:
        stats = self._posts_out.statistics()
        c = self._counts
        heard = self.subscriber.statistics()
        return PeersStatistics(
            heard.connected, heard.reconnects, len({node for node, _ in self._mirrors}),
            len(self._mirrors), len(self._followed),
            stats.current_buffer_used, POSTS_MAX, c["sent"], c["dropped"], c["failed"],
            c["heard"], c["undecodable"], c["duplicates"], c["gaps"],
        )  # fmt: skip
