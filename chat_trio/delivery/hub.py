"""Delivery: one bounded outbox per connection, and a fan-out that never waits.

The hub owns every byte on its way out of the server. It must never await on behalf
of a publisher: one slow reader is that reader's problem, never the sender's.

How a publish travels:

1. ``publish`` / ``send`` append to a pending list and wake the hub's task. They never
   block and never touch a socket.
2. ``run`` (one long-lived task, started by server.py) wakes once per scheduler round and
   flushes everything published in that round as **one** bytes object per recipient:
   a thousand joins in one round cost each member one delivery, not a thousand. Each
   room's broadcasts are rendered at the flush, once per *view* its members use (a door's
   way of rendering a room: the text door's current room or ``[#room]`` prefix, IRC with
   or without server-time), and only in the views someone uses. Recipients that must not
   see some items (their own lines, items published before they subscribed) get their own
   copy; everyone else with the same view shares one bytes object.
3. ``Outbox.offer`` first tries a plain non-blocking write when nothing is queued for that
   connection (most deliveries end here, with no task switch at all), and queues only what
   the kernel did not take.
4. The connection's writer task (session.py), started only when something is queued,
   drains the whole queue into one write, and ends when the queue is empty.

Flow control keeps input from outrunning output: readers call ``wait_for_room`` before
publishing, and wait while the round has published ``round_budget`` bytes or while a
client near its bound is still reading (see that method). Publishing itself never waits.

Policy when an outbox is full (trio issue #987 lists the choices; we take "bounded, then
disconnect with a reason"): when data arrives for a connection that still has bytes
queued (or being written), and the total would exceed ``max_queue_bytes``, the connection
is kicked with ``Reason.SLOW``. An empty queue always accepts one round's delivery, so one
large round (a big paste) never kicks a client that is keeping up; a client that is not
keeping up holds at most ``max_queue_bytes`` plus one round. Its session is cancelled,
it gets a best-effort notice, and the others see it leave "(too slow to receive)".
Nobody else waits or loses anything.
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Callable, Sequence

import attrs
import trio

from chat_trio.chat.events import ConnId, Event, Reason
from chat_trio.doors import View

log = logging.getLogger("chat_trio.hub")

DEFAULT_MAX_QUEUE_BYTES = 96 * 1024
"""Per-connection send-queue bound, in bytes (ergo's 96 KiB). The worst case at 10,000
connections is ~1 GiB of accounted bytes; in practice far less, because queued data is
shared views of one bytes object per round, not per-recipient copies."""

MAX_QUEUE_ITEMS = 4096
"""Bound on queued items per outbox. The byte bound is the policy; this only caps the
per-item bookkeeping (a slot and maybe a view), since the hub adds at most one item per
connection per scheduler round and a writer drains them all at once."""

Room = str
"""Names an audience: broadcasts to a room reach the connections subscribed to it."""

Render = Callable[[Sequence[Event]], bytes]
"""How one connection's door renders what is sent to it alone."""


Chunk = bytes | memoryview
TrySend = Callable[[Chunk], int]
"""A non-blocking write: returns how many bytes the kernel took, raises BlockingIOError
when it took none, OSError when the connection is broken."""


@attrs.frozen
class OutboxStatistics:
    """A snapshot of one outbox."""

    queued_bytes: int  #: waiting in the queue or being written by the writer task
    queued_items: int  #: chunks queued (each a bytes object or a view)
    max_bytes: int  #: the bound; exceeding it kicks the connection
    direct_writes: int  #: deliveries the kernel took whole, without the writer task
    queued_writes: int  #: deliveries (or remainders) handed to the writer task


PROGRESS_WINDOW = 0.5
"""Seconds: an outbox near its bound holds up the readers only while its writes keep
completing at least this often. One that stopped (its client stopped reading) holds no one
up; it is cut when it reaches the bound. It was 0.25 s until the IRC door: IRC lines are
three times longer, and a client reading them steadily on a busy machine sometimes took
longer than that to finish a write (the benchmark's flood then cut 21-500 IRC clients,
and, in 2 of 10 runs, 2-17 text clients); at 0.5 s none were cut in 12 runs."""


PROBE_INTERVAL = 0.05
"""Seconds between two reads of one outbox's acknowledged bytes: ``holding`` runs for every
chunk a reader publishes, and with hundreds of outboxes at risk a ``getsockopt`` each time
would cost more than the publishing."""

PROGRESS_BYTES = 16 * 1024
"""What a client must acknowledge within ``PROGRESS_WINDOW`` to count as reading while a
write to it is still in progress. Less is not reading: a peer that never reads still
acknowledges a trickle for a while, as its kernel compacts its full receive queue."""


MIN_GROWTH = 1.0
"""The least the round budget counts of an estimated byte. The estimates are exact for the
text door's lines (effects.size), so text-only rounds are counted as they always were."""

WAKE_BATCH = 64
"""Readers woken at once when room may have appeared (see ``_Flow.wake``)."""


class _Flow:
    """Input flow control shared by the hub and its outboxes (see ``Hub.wait_for_room``)."""

    def __init__(self) -> None:
        self.at_risk: set[Outbox] = set()  # more than half full
        self._waiting = trio.lowlevel.ParkingLot()  # readers in wait_for_room, FIFO

    def holding(self, now: float) -> bool:
        """Is an outbox near its bound still draining? Then input must wait for it."""
        return any(outbox.draining(now) for outbox in self.at_risk)

    async def wait(self, *, timed: bool) -> None:
        """Wait to be woken; ``timed``: at most ``PROGRESS_WINDOW`` (when waiting on a client's
        progress, which is a matter of time rather than of an event)."""
        if timed:
            with trio.move_on_after(PROGRESS_WINDOW):
                await self._waiting.park()
        else:
            await self._waiting.park()

    def wake(self) -> None:
        """Room may have appeared: let the longest-waiting readers check.

        Not all of them: when thousands wait (10,000 clients joining at once), waking all
        after every flush cost a third of the server's time, nearly all of it for readers
        that found the new round full again. Each reader that gets through wakes the next
        one (``wake_next``), so the line keeps moving while there is room.
        """
        self._waiting.unpark(count=WAKE_BATCH)

    def wake_next(self) -> None:
        self._waiting.unpark(count=1)


class Outbox:
    """One connection's send queue: a bounded list of chunks plus byte accounting.

    Only the hub puts data in (``offer``); only the connection's writer takes it out
    (``take`` then ``sent``). The writer is a task of the connection's own nursery that
    exists only while something is queued: ``offer`` starts it (``start_writer``) when a
    delivery does not go straight into the socket, and it ends when the queue is empty.
    An idle connection has no writer (nor a channel): that is most of what it saves.

    ``end`` ends the connection's session: called on a kick, and once the outbox is
    closed and everything queued was written (the graceful end: after ``/quit``, EOF, or
    at shutdown).
    """

    __slots__ = (  # one per connection: no per-instance dict
        "_acked",
        "_acked_at",
        "_acked_seen",
        "_closed",
        "_cut",
        "_direct",
        "_end",
        "_flow",
        "_items",
        "_probed_at",
        "_queued",
        "_queued_writes",
        "_start_writer",
        "_try_send",
        "_writing",
        "conn",
        "ended",
        "last_write",
        "max_bytes",
        "render",
        "rooms",
    )

    def __init__(
        self,
        conn: ConnId,
        max_bytes: int,
        try_send: TrySend | None,
        end: Callable[[], None],
        flow: _Flow | None = None,
        render: Render | None = None,
        acked: Callable[[], int] | None = None,
        start_writer: Callable[[Outbox], None] | None = None,
    ) -> None:
        self.conn = conn
        self.render = render  #: its door's rendering of what is sent to it alone
        self.max_bytes = max_bytes
        self.rooms: dict[Room, Member] = {}  # the rooms it is subscribed to
        self.ended: Reason | None = None  # why the server side ended it, if it did
        self._try_send = try_send
        self._end = end
        self._start_writer = start_writer  # None: the caller drains it (tests)
        self._items: list[Chunk] | None = None  # queued, oldest first; None when empty
        self._writing = False  # a writer task is running (or about to)
        self._closed = False
        self._flow = flow or _Flow()
        self.last_write = -math.inf  # when the writer last finished a write
        self._queued = 0
        self._direct = 0
        self._queued_writes = 0
        self._cut = False  # a delivery is on the wire in part (see ``cut``)
        self._acked = acked  # bytes the peer acknowledged so far (plain TCP and TLS)
        self._acked_seen = 0
        self._acked_at = -math.inf  # when that count last grew
        self._probed_at = -math.inf  # when it was last read

    def offer(self, data: Chunk) -> None:
        """Deliver ``data`` or queue it; never blocks. Kicks the connection if it is full."""
        if self._closed:
            return
        if self._queued == 0 and self._try_send is not None:
            # Nothing queued and no write in progress, so writing here cannot reorder bytes.
            try:
                written = self._try_send(data)
            except BlockingIOError:
                written = 0
            except OSError:
                self.kick(Reason.LOST)
                return
            if written == len(data):
                self._direct += 1
                return
            self._cut = written > 0
            data = memoryview(data)[written:]
        size = len(data)
        if self._queued and self._queued + size > self.max_bytes:
            self.kick(Reason.SLOW)
            return
        if self._items is None:
            self._items = [data]
        elif len(self._items) < MAX_QUEUE_ITEMS:
            self._items.append(data)
        else:
            self.kick(Reason.SLOW)
            return
        self._queued += size
        self._queued_writes += 1
        if self._queued * 2 > self.max_bytes:
            self._flow.at_risk.add(self)
        if not self._writing and self._start_writer is not None:
            self._writing = True
            self._start_writer(self)

    def take(self) -> Chunk | None:
        """Everything queued, as one chunk, for the writer; None when nothing is: the
        writer then ends (and, if the outbox is closed, so does the session)."""
        items, self._items = self._items, None
        if not items:
            self._writing = False
            if self._closed:
                self._end()
            return None
        self._cut = True  # until ``sent``: the writer may be stopped half-way
        return items[0] if len(items) == 1 else b"".join(items)

    def sent(self, size: int) -> None:
        """The writer finished writing ``size`` bytes returned by ``take``."""
        self._cut = False
        self._queued -= size
        self.last_write = trio.current_time()
        if self._queued * 2 <= self.max_bytes:
            self._safe()

    def _safe(self) -> None:
        if self in self._flow.at_risk:
            self._flow.at_risk.discard(self)
            self._flow.wake()

    def draining(self, now: float) -> bool:
        """Is the client still reading what is queued for it? Yes if a write finished
        within ``PROGRESS_WINDOW``, or, while a long write is still going, if the peer
        acknowledged more bytes within it (a client that reads slowly, on a busy machine,
        may take longer than that to take a whole batch; one that stopped reading
        acknowledges nothing)."""
        if now - self.last_write < PROGRESS_WINDOW:
            return True
        if self._acked is None:
            return False
        if now - self._probed_at >= PROBE_INTERVAL:  # a system call: not on every check
            self._probed_at = now
            acked = self._acked()
            if acked - self._acked_seen >= PROGRESS_BYTES:
                self._acked_seen, self._acked_at = acked, now
        return now - self._acked_at < PROGRESS_WINDOW

    @property
    def cut(self) -> bool:
        """Was a delivery written only in part when the connection ended (a direct write
        whose rest was still queued, or a write stopped half-way)? Then anything sent
        after it lands inside it: a line break ends a cut line, but nothing mends a cut
        WebSocket frame."""
        return self._cut

    def close(self, reason: Reason | None = None) -> None:
        """Accept no more data; once what is queued is written, end the session."""
        if reason is not None and self.ended is None:
            self.ended = reason
        if self._closed:
            return
        self._closed = True
        if not self._writing and self._start_writer is not None:
            self._end()  # nothing left to write

    def forget(self) -> None:
        """The connection is gone: close, and stop counting it as behind."""
        self._closed = True
        self._items = None
        self._safe()

    def kick(self, reason: Reason) -> None:
        """End this connection now, dropping what is queued (its session is cancelled)."""
        if self.ended is not None:
            return
        self.ended = reason
        self._closed = True
        if reason is Reason.SLOW:
            log.warning(
                "slow-consumer conn=%d queued=%d bound=%d", self.conn, self._queued, self.max_bytes
            )
        self._items = None
        self._end()

    def statistics(self) -> OutboxStatistics:
        return OutboxStatistics(
            queued_bytes=self._queued,
            queued_items=len(self._items or ()),
            max_bytes=self.max_bytes,
            direct_writes=self._direct,
            queued_writes=self._queued_writes,
        )


@attrs.frozen
class HubStatistics:
    """A snapshot of the hub."""

    connections: int  #: outboxes open
    subscribed: int  #: outboxes that receive broadcasts
    rooms: int  #: rooms with at least one member
    at_risk: int  #: outboxes more than half full (readers wait while one is draining)
    pending: int  #: items published this round, not yet flushed
    queued_bytes: int  #: sum over all outboxes
    flushes: int  #: rounds flushed so far
    kicked_slow: int  #: connections kicked for a full outbox and since removed


class Member:
    """One connection's membership of one room (shared by the outbox and the hub's index)."""

    __slots__ = ("outbox", "since", "view")

    def __init__(self, outbox: Outbox, since: int, view: View) -> None:
        self.outbox = outbox
        self.since = since  #: hub sequence number when it subscribed: it gets later items
        self.view = view  #: how its door renders the room's broadcasts


@attrs.frozen
class _Broadcast:
    seq: int
    room: Room
    events: Sequence[Event]  #: rendered at the flush, once per view that a member uses
    exclude: ConnId | None  #: left out (its sender)
    size: int = 0  #: the publisher's estimate of its rendered size


class Hub:
    """Who receives what. See the module docstring."""

    def __init__(self, max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES) -> None:
        self.max_queue_bytes = max_queue_bytes
        self.round_budget = max(1, max_queue_bytes // 4)
        self._flow = _Flow()
        self._round_bytes = 0  # published since the last flush (estimated, see ``publish``)
        self._growth = 1.0  # rendered bytes per estimated byte, widest view (see ``flush``)
        self._outboxes: dict[ConnId, Outbox] = {}
        self._rooms: dict[Room, dict[ConnId, Member]] = {}
        self._broadcasts: list[_Broadcast] = []
        self._direct: list[tuple[int, bytes, ConnId]] = []
        self._finishing: list[tuple[ConnId, Reason | None]] = []
        self._seq = 0
        self._wakeup = trio.Event()
        self._closed = False
        self._flushes = 0
        self._kicked_slow = 0

    # -- connections -----------------------------------------------------------------------

    def open_outbox(
        self,
        conn: ConnId,
        try_send: TrySend | None,
        end: Callable[[], None],
        render: Render | None = None,
        acked: Callable[[], int] | None = None,
        start_writer: Callable[[Outbox], None] | None = None,
    ) -> Outbox:
        """Create ``conn``'s outbox. ``end`` must cancel the connection's session;
        ``render`` is its door's ``deliver``, for ``send_events`` and the shutdown notice;
        ``acked`` counts the bytes its peer acknowledged (see ``Outbox.draining``);
        ``start_writer`` starts a writer task for it in the connection's nursery (the
        session removes the outbox before that nursery closes to new tasks, so it is
        only called while the nursery takes them)."""
        if self._closed:
            raise trio.ClosedResourceError("the hub is shut down")
        outbox = Outbox(
            conn, self.max_queue_bytes, try_send, end, self._flow, render, acked, start_writer
        )
        self._outboxes[conn] = outbox
        return outbox

    def subscribe(self, conn: ConnId, room: Room, view: View) -> None:
        """Deliver broadcasts to ``room`` published from now on to ``conn`` as well,
        rendered by ``view``. Already a member: only its view changes (nothing is missed)."""
        outbox = self._outboxes[conn]
        member = outbox.rooms.get(room)
        if member is None:
            member = outbox.rooms[room] = Member(outbox, self._seq, view)
            self._rooms.setdefault(room, {})[conn] = member
        member.view = view

    def unsubscribe(self, conn: ConnId, room: Room) -> None:
        """Deliver no more broadcasts to ``room`` to ``conn`` after those already published.

        Flushes the round first (rare: only when a member leaves a room), so the lines said
        before the leave still reach it, and those after it do not.
        """
        outbox = self._outboxes.get(conn)
        if outbox is not None and room in outbox.rooms:
            self.flush()
            del outbox.rooms[room]
            self._leave(conn, room)

    def _leave(self, conn: ConnId, room: Room) -> None:
        members = self._rooms[room]
        del members[conn]
        if not members:
            del self._rooms[room]

    def finish(self, conn: ConnId, reason: Reason | None = None) -> None:
        """Close ``conn``'s outbox once what was sent to it so far is flushed into it.

        Its writer then drains the queue and stops: the graceful end of a connection.
        ``reason``: the server ends it (a kick), recorded as the outbox's ``ended``.
        """
        if not self._closed:
            self._finishing.append((conn, reason))
            self._wakeup.set()

    def remove(self, conn: ConnId) -> None:
        """Forget ``conn`` (its session is ending). Nothing is delivered to it afterwards."""
        outbox = self._outboxes.pop(conn, None)
        if outbox is not None:
            for room in outbox.rooms:
                self._leave(conn, room)
            outbox.rooms.clear()
            if outbox.ended is Reason.SLOW:
                self._kicked_slow += 1
            outbox.forget()

    # -- publishing (never blocks) ---------------------------------------------------------

    def publish(
        self, events: Sequence[Event], room: Room, exclude: ConnId | None = None, size: int = 0
    ) -> None:
        """Deliver ``events`` to every member of ``room`` except ``exclude``, each member
        in its own view (rendered at the flush, once per view). ``size``: about how many
        bytes that is, for flow control's round budget; scaled by how much the widest
        view rendered the last rounds grew past the estimate (IRC's prefixes triple a
        short line)."""
        if events and not self._closed:
            self._seq += 1
            self._broadcasts.append(_Broadcast(self._seq, room, events, exclude, size))
            self._round_bytes += int(size * self._growth)
            self._wakeup.set()

    def send_events(self, conn: ConnId, events: Sequence[Event]) -> None:
        """Deliver ``events`` to ``conn`` only, rendered by its door: news from another
        connection (a private message), which counts towards the round's budget: many
        senders to one recipient in one round must not fill its queue."""
        outbox = self._outboxes.get(conn)
        if outbox is not None and outbox.render is not None:
            data = outbox.render(events)
            self.send(conn, data)
            if not self._closed:
                self._round_bytes += len(data)

    def send(self, conn: ConnId, data: bytes) -> None:
        """Deliver ``data`` to ``conn`` only, in order with the broadcasts around it.

        Used for a connection's answers to its own input (the session's replies), which do
        not count towards the round's budget: a newcomer's NAMES list of thousands goes to
        it alone, and counting it held every other reader until the next flush, so that a
        storm of IRC joins was flushed one join at a time (3,000 joins: 1,152 flushes,
        26 s, against 33 flushes, 1.5 s, for text). Its own queue is still bounded as
        always, and a queue more than half full still holds the readers while it drains."""
        if data and not self._closed:
            self._seq += 1
            self._direct.append((self._seq, data, conn))
            self._wakeup.set()

    async def wait_for_room(self) -> None:
        """Wait before publishing more input while the hub cannot take it (a checkpoint).

        Flow control, so that input never outruns output: a flood faster than the clients
        can read slows the senders down (TCP pushes back on them) instead of overflowing
        queues of clients that are reading as fast as they can. There is no room while

        * this round has already published ``round_budget`` bytes (a quarter of the queue
          bound, so one round alone cannot fill a queue), or
        * some outbox is more than half full and its client is still reading (a write
          finished within ``PROGRESS_WINDOW``): it will catch up, so wait for it.

        A client that stopped reading holds nobody up: its writes stop finishing, and it
        is cut when its queue reaches the bound (or at the writer's deadline).
        """
        await trio.lowlevel.checkpoint()
        while not self._closed:
            if self._flow.holding(trio.current_time()):
                await self._flow.wait(timed=True)
            elif self._round_bytes >= self.round_budget:
                await self._flow.wait(timed=False)  # the next flush wakes us
            else:
                break
        self._flow.wake_next()
        # No await after the last check: the caller publishes while it still holds.

    # -- the hub's task --------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Flush once per scheduler round until ``shut_down``. Started by server.py."""
        task_status.started()
        while not self._closed:
            await self._wakeup.wait()
            self._wakeup = trio.Event()
            self.flush()

    def shut_down(self, farewell: Sequence[Event]) -> None:
        """Flush, send ``farewell`` to every connection (rendered by its door), and close
        every outbox.

        Each session then ends once what was queued for it is written; ``run`` returns.
        """
        self.flush()
        self._closed = True
        self._wakeup.set()
        self._flow.wake()
        for outbox in list(self._outboxes.values()):
            if outbox.render is not None:
                outbox.offer(outbox.render(farewell))
            outbox.close(Reason.SHUTDOWN)

    def flush(self) -> None:
        """Deliver everything pending, in publication order, one chunk per recipient."""
        broadcasts, direct, finishing = self._broadcasts, self._direct, self._finishing
        if not broadcasts and not direct and not finishing:
            return
        self._broadcasts, self._direct, self._finishing = [], [], []
        self._flushes += 1
        self._round_bytes = 0
        self._flow.wake()
        round_ = _Round(broadcasts, direct, time.time())
        special = round_.special
        if len(round_.rooms) > 1:  # members of two busy rooms interleave them: own share
            seen: set[ConnId] = set()
            for room in round_.rooms:
                for conn in self._rooms.get(room, ()):
                    (special if conn in seen else seen).add(conn)
        # Everyone else in a room with the same view shares one bytes object: the room's
        # broadcasts this round, rendered once for that view.
        for room, channel in round_.rooms.items():
            first = channel.seqs[0]
            shown: View | None = None  # members mostly share one view: look it up once
            data = b""
            for conn, member in self._rooms.get(room, {}).items():
                if conn in special:
                    continue
                if member.since >= first:
                    special.add(conn)  # subscribed during this round: sees only a suffix
                    continue
                if member.view is not shown:
                    shown, data = member.view, channel.everything(member.view)
                member.outbox.offer(data)
        for recipient in special:
            own = self._outboxes.get(recipient)
            if own is not None and (share := round_.share_of(recipient, own.rooms)):
                own.offer(share)
        self._learn_growth(round_)
        for leaving, reason in finishing:
            if (done := self._outboxes.get(leaving)) is not None:
                done.close(reason)

    def _learn_growth(self, round_: _Round) -> None:
        """How much bigger than estimated this round rendered, in its widest view: the
        next rounds' budget counts that much (quickly up, slowly down), so that it counts
        about the bytes the widest view really sends."""
        growth = max((channel.growth() for channel in round_.rooms.values()), default=0.0)
        if growth > self._growth:
            self._growth = growth
        elif growth:
            self._growth = max(MIN_GROWTH, 0.9 * self._growth + 0.1 * growth)

    def statistics(self) -> HubStatistics:
        outboxes = list(self._outboxes.values())
        return HubStatistics(
            connections=len(outboxes),
            subscribed=sum(1 for o in outboxes if o.rooms),
            rooms=len(self._rooms),
            at_risk=len(self._flow.at_risk),
            pending=len(self._broadcasts) + len(self._direct) + len(self._finishing),
            queued_bytes=sum(o.statistics().queued_bytes for o in outboxes),
            flushes=self._flushes,
            kicked_slow=self._kicked_slow,
        )


class _Channel:
    """One room's broadcasts in one round, rendered lazily, once per view."""

    def __init__(self, room: Room, wall: float) -> None:
        self.room = room
        self.wall = wall  # the round's time, for views that show it (IRC's server-time)
        self.seqs: list[int] = []
        self.items: list[_Broadcast] = []
        self._parts: dict[View, list[bytes]] = {}
        self._joined: dict[View, bytes] = {}
        self._offsets: dict[View, list[int]] = {}

    def parts(self, view: View) -> list[bytes]:
        """Each broadcast rendered by ``view`` (rendered once per round)."""
        parts = self._parts.get(view)
        if parts is None:
            room, wall = self.room, self.wall
            parts = self._parts[view] = [view(b.events, room, wall) for b in self.items]
        return parts

    def everything(self, view: View) -> bytes:
        """All of this round's broadcasts to the room, rendered by ``view`` (built once)."""
        joined = self._joined.get(view)
        if joined is None:
            parts = self.parts(view)
            joined = self._joined[view] = parts[0] if len(parts) == 1 else b"".join(parts)
        return joined

    def offsets(self, view: View) -> list[int]:
        """Where each broadcast starts in ``everything(view)`` (and where the last ends)."""
        offsets = self._offsets.get(view)
        if offsets is None:
            offsets = [0]
            for part in self.parts(view):
                offsets.append(offsets[-1] + len(part))
            self._offsets[view] = offsets
        return offsets

    def growth(self) -> float:
        """Bytes rendered per estimated byte, in the widest view used this round."""
        estimated = sum(b.size for b in self.items)
        if not estimated or not self._joined:
            return 0.0
        return max(len(joined) for joined in self._joined.values()) / estimated

    def piece(self, view: View, start: int, stop: int) -> memoryview:
        """Broadcasts ``start`` to ``stop - 1`` rendered by ``view``, as a view (no copy)."""
        offsets = self.offsets(view)
        return memoryview(self.everything(view))[offsets[start] : offsets[stop]]


class _Round:
    """One round's items, indexed so that each recipient's share costs O(its own items)."""

    def __init__(
        self, broadcasts: list[_Broadcast], direct: list[tuple[int, bytes, ConnId]], wall: float
    ) -> None:
        self.rooms: dict[Room, _Channel] = {}
        # (room, index in the room's channel) of each connection's own broadcasts.
        self.excluded: dict[ConnId, list[tuple[Room, int]]] = {}
        for b in broadcasts:
            channel = self.rooms.get(b.room)
            if channel is None:
                channel = self.rooms[b.room] = _Channel(b.room, wall)
            if b.exclude is not None:
                self.excluded.setdefault(b.exclude, []).append((b.room, len(channel.items)))
            channel.seqs.append(b.seq)
            channel.items.append(b)
        self.direct: dict[ConnId, list[tuple[int, bytes]]] = {}
        for seq, data, target in direct:
            self.direct.setdefault(target, []).append((seq, data))
        # Recipients whose share differs from a room's `everything`: their own broadcasts
        # are left out, or they have direct items (the flush adds more).
        self.special: set[ConnId] = set(self.excluded) | set(self.direct)

    def share_of(self, conn: ConnId, rooms: dict[Room, Member]) -> bytes:
        """``conn``'s direct items and the broadcasts meant for it, in sequence order.

        Its broadcasts from each room are runs of that room's channel (from where it
        subscribed, minus its own), cut where a direct item or another room's run goes in.
        """
        runs: list[tuple[int, Room, int, int]] = []  # (first seq, room, start, stop)
        own = self.excluded.get(conn, [])
        for room, channel in self.rooms.items():
            if room not in rooms:
                continue
            start = bisect.bisect_right(channel.seqs, rooms[room].since)
            skips = sorted(index for r, index in own if r == room and index >= start)
            for skip in [*skips, len(channel.seqs)]:
                self._add_runs(runs, room, channel, start, skip)
                start = skip + 1
        cuts = [(seq, 0, data) for seq, data in self.direct.get(conn, ())]
        if not runs:
            return b"".join(data for _, _, data in cuts)
        runs.sort(key=lambda run: run[0])  # seqs are unique: rooms are never compared
        pieces: list[Chunk] = []
        cut_at = 0
        for first, room, start, stop in runs:
            channel = self.rooms[room]
            while cut_at < len(cuts) and cuts[cut_at][0] < first:
                pieces.append(cuts[cut_at][2])
                cut_at += 1
            # A direct item inside this run splits it.
            while start < stop:
                split = stop
                if cut_at < len(cuts):
                    split = min(
                        stop, bisect.bisect_left(channel.seqs, cuts[cut_at][0], start, stop)
                    )
                if split > start:
                    pieces.append(channel.piece(rooms[room].view, start, split))
                    start = split
                if start < stop:
                    pieces.append(cuts[cut_at][2])
                    cut_at += 1
        pieces.extend(data for _, _, data in cuts[cut_at:])
        return b"".join(pieces)

    def _add_runs(
        self,
        runs: list[tuple[int, Room, int, int]],
        room: Room,
        channel: _Channel,
        start: int,
        stop: int,
    ) -> None:
        """Add broadcasts ``start``..``stop - 1`` of ``room``, split where another room's
        broadcasts fall between them (only when this round has several rooms)."""
        if start >= stop:
            return
        if len(self.rooms) == 1:
            runs.append((channel.seqs[start], room, start, stop))
            return
        run_start = start
        for index in range(start + 1, stop):
            if channel.seqs[index] != channel.seqs[index - 1] + 1:
                runs.append((channel.seqs[run_start], room, run_start, index))
                run_start = index
        runs.append((channel.seqs[run_start], room, run_start, stop))
