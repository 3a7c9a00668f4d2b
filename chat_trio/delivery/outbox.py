"""One connection's way out: a bounded queue of bytes, a writer task only while it holds
something, and what flow control reads of it (is it near its bound, is its client still
reading).

Every byte a connection is sent goes through its outbox and counts against its bound,
whoever made it: broadcasts, news from other connections, the rules' answers and the
door's own (a PONG, ``/help``). Only the hub puts data in (``offer``); only the
connection's writer takes it out (``take`` then ``sent``).

Policy when full (trio issue #987 lists the choices; we take "bounded, then disconnect
with a reason"): when data arrives while bytes are still queued (or being written) and
the total would pass ``max_bytes``, the connection is kicked with ``Reason.SLOW``. An
empty queue always accepts one round's delivery, so one large round (a big paste) never
kicks a client that keeps up; a client that does not holds at most ``max_bytes`` plus one
round. Its own answers cannot make a round large: its session stops handing the rules its
input while its backlog is over ``own_share`` (``wait_for_room``), and every answer is
bounded (lists, history).

This module never awaits on behalf of anyone but the connection itself.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import trio

from chat_trio.chat.events import ConnId, Reason
from chat_trio.transports import Chunk, Progress, TrySend

if TYPE_CHECKING:
    from chat_trio.delivery.fanout import Member

log = logging.getLogger("chat_trio.hub")

DEFAULT_MAX_QUEUE_BYTES = 96 * 1024
"""Per-connection send-queue bound, in bytes (ergo's 96 KiB). The worst case at 10,000
connections is ~1 GiB of accounted bytes; in practice far less, because queued data is
shared views of one bytes object per round, not per-recipient copies."""

MAX_QUEUE_ITEMS = 4096
"""Bound on queued items per outbox. The byte bound is the policy; this only caps the
per-item bookkeeping (a slot and maybe a view), since the hub adds at most one item per
connection per scheduler round and a writer drains them all at once."""

PROGRESS_WINDOW = 0.5
"""Seconds: an outbox near its bound whose client made no progress for this long (or for
``1.5 x`` its usual gap between two, up to ``HOLD_MAX``) counts as stopped: long enough
for a client reading long IRC lines on a busy machine (docs/benchmarks.md, issue 8)."""

HOLD_MAX = 3.0
"""Seconds: the longest a client may go without visible progress and still count as
reading: a slow reader frees its receive buffer in steps the sender sees seconds apart
(docs/benchmarks.md, issue 16)."""

PROBE_INTERVAL = 0.05
"""Seconds between two looks at one outbox's peer (a ``getsockopt``): ``draining`` runs
for every at-risk outbox each time flow control looks, and with hundreds at risk a
system call each time would cost more than the publishing."""

PROGRESS_BYTES = 16 * 1024
"""How far the peer's window edge must move to count as progress. Less is not reading:
a peer whose buffer only fills still moves it a little, as its kernel grows the buffer."""


class Life(enum.Enum):
    """Where an outbox is in its life. Only these transitions happen: IDLE -> WRITING
    (something queued) -> IDLE (drained); WRITING -> CLOSING (closed) -> ENDED (drained);
    IDLE -> ENDED (closed); any -> ENDED (kicked, or forgotten)."""

    IDLE = "idle"  #: open, nothing queued: a delivery may go straight into the socket
    WRITING = "writing"  #: open, its writer task has something to write
    CLOSING = "closing"  #: closed: its writer writes what is queued, then the session ends
    ENDED = "ended"  #: the session was told to end (drained after closing, or kicked)


_OPEN = (Life.IDLE, Life.WRITING)


@attrs.frozen
class OutboxStatistics:
    """A snapshot of one outbox."""

    queued_bytes: int  #: waiting in the queue or being written by the writer task
    queued_items: int  #: chunks queued (each a bytes object or a view)
    pending_bytes: int  #: sent to it this round, not flushed into the queue yet
    max_bytes: int  #: the bound; exceeding it kicks the connection
    direct_writes: int  #: deliveries the kernel took whole, without the writer task
    queued_writes: int  #: deliveries (or remainders) handed to the writer task


class Outbox:
    """One connection's send queue: a bounded list of chunks plus byte accounting.

    The writer is a task of the connection's own nursery that exists only while something
    is queued: ``offer`` starts it (``start_writer``) when a delivery does not go straight
    into the socket, and it ends when the queue is empty. An idle connection has no
    writer (nor a channel): that is most of what it saves.

    ``end`` ends the connection's session: called on a kick, and once the outbox is
    closed and everything queued was written (the graceful end: after ``/quit``, EOF, or
    at shutdown).
    """

    __slots__ = (  # one per connection: no per-instance dict
        "_acked_seen",
        "_cut",
        "_direct",
        "_edge_seen",
        "_end",
        "_fresh",
        "_gap",
        "_gap_before",
        "_items",
        "_life",
        "_moved_at",
        "_probed_at",
        "_progress",
        "_queued",
        "_queued_writes",
        "_roomy",
        "_start_writer",
        "_try_send",
        "conn",
        "ended",
        "last_write",
        "max_bytes",
        "on_risk",
        "pending",
        "render",
        "rooms",
    )

    def __init__(
        self,
        conn: ConnId,
        max_bytes: int,
        try_send: TrySend | None,
        end: Callable[[], None],
        start_writer: Callable[[Outbox], None],
        render: Callable[..., bytes] | None = None,
        progress: Progress | None = None,
        on_risk: Callable[[Outbox, bool], None] | None = None,
    ) -> None:
        self.conn = conn
        self.render = render  #: its door's rendering of what is sent to it alone
        self.max_bytes = max_bytes
        self.rooms: dict[str, Member] = {}  #: the rooms it is subscribed to (the hub's)
        self.ended: Reason | None = None  #: why the server side ended it, if it did
        self.pending = 0  #: bytes sent to it this round, not flushed yet (see ``backlog``)
        self.on_risk = on_risk  #: flow control: it passed half its bound (True), or not
        self._try_send = try_send
        self._end = end
        self._start_writer = start_writer  # starts a writer task in the connection's nursery
        self._items: list[Chunk] | None = None  # queued, oldest first; None when empty
        self._life = Life.IDLE
        self._roomy: trio.Event | None = None  # its session waits for room (rarely)
        self.last_write = -math.inf  #: when the writer last finished a write
        self._queued = 0
        self._direct = 0
        self._queued_writes = 0
        self._cut = False  # a delivery is on the wire in part (see ``cut``)
        self._progress = progress  # the peer's acknowledged bytes and window edge
        self._probed_at = -math.inf  # when the peer was last looked at
        self._edge_seen = self._acked_seen = 0  # as of the last progress
        self._moved_at = -math.inf  # when the edge last moved (progress)
        self._gap = self._gap_before = 0.0  # the last two times between progresses
        self._fresh = False  # it just passed half its bound: nobody has looked since

    # -- in ----------------------------------------------------------------------------

    def offer(self, data: Chunk) -> None:
        """Deliver ``data`` or queue it; never blocks. Kicks the connection if it is full."""
        if self._life not in _OPEN:
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
                self._room_now()
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
        was_at_risk = self.at_risk
        self._queued += size
        self._queued_writes += 1
        if not was_at_risk and self.at_risk:
            self._risk_begins()
        if self._life is Life.IDLE:
            self._life = Life.WRITING
            self._start_writer(self)
        self._room_now()

    # -- out (the writer) ----------------------------------------------------------------

    def take(self) -> Chunk | None:
        """Everything queued, as one chunk, for the writer; None when nothing is: the
        writer then ends (and, if the outbox is closed, so does the session)."""
        items, self._items = self._items, None
        if not items:
            if self._life is Life.CLOSING:
                self._life = Life.ENDED
                self._end()
            elif self._life is Life.WRITING:
                self._life = Life.IDLE
            return None
        self._cut = True  # until ``sent``: the writer may be stopped half-way
        return items[0] if len(items) == 1 else b"".join(items)

    def sent(self, size: int) -> None:
        """The writer finished writing ``size`` bytes returned by ``take``."""
        was_at_risk = self.at_risk
        self._cut = False
        self._queued -= size
        self.last_write = trio.current_time()
        if was_at_risk and not self.at_risk and self.on_risk is not None:
            self.on_risk(self, False)
        self._room_now()

    # -- its own session's backlog -------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Bytes on their way to this connection: queued, being written, or sent to it
        this round and not flushed yet."""
        return self._queued + self.pending

    @property
    def own_share(self) -> int:
        """The backlog above which its session hands the rules none of its input: a
        quarter of the bound, so that its own answers (each bounded far below that)
        never make it an outbox near its bound, which would hold its rooms' senders."""
        return self.max_bytes // 4

    async def wait_for_room(self) -> None:
        """Wait until the backlog is at most ``own_share`` (or the outbox is closed).

        Only its own session waits here: the connection's backlog slows its own input,
        never anyone else's. A client that never reads is cut meanwhile, at its bound or
        at the write deadline (session.py)."""
        while self.backlog > self.own_share and self._life in _OPEN:
            roomy = self._roomy = trio.Event()
            await roomy.wait()
        await trio.lowlevel.checkpoint()

    def _room_now(self) -> None:
        if self._roomy is not None and (self.backlog <= self.own_share or self._life not in _OPEN):
            self._roomy.set()
            self._roomy = None

    # -- what flow control reads ---------------------------------------------------------

    @property
    def at_risk(self) -> bool:
        """More than half full."""
        return self._queued * 2 > self.max_bytes

    def _risk_begins(self) -> None:
        """It passed half its bound: from now on its client counts as reading only while
        it makes progress; until its first, it has ``PROGRESS_WINDOW`` from the first
        look (as a client whose write just finished)."""
        self._fresh = True
        if self.on_risk is not None:
            self.on_risk(self, True)

    def draining(self, now: float) -> bool:
        """Is the client still reading what is queued for it?

        Where the transport says what the peer did (``Progress``: plain TCP and TLS on
        Linux), yes if the edge of its receive window moved by ``PROGRESS_BYTES`` (and
        by at least half as much as it acknowledged meanwhile: a buffer that only fills
        moves it a little) within ``PROGRESS_WINDOW``, or within one and a half times the
        longer of its last two gaps between such moves, up to ``HOLD_MAX`` (a slow
        reader frees its buffer in steps). Elsewhere, yes if a write finished within
        ``PROGRESS_WINDOW``.
        """
        if self._life is Life.ENDED:
            return False
        if self._progress is None:
            return now - self.last_write < PROGRESS_WINDOW
        if self._fresh:  # the first look since it passed half its bound: where it stands
            self._fresh = False
            self._probed_at, self._moved_at, self._gap, self._gap_before = now, now, 0.0, 0.0
            self._acked_seen, self._edge_seen = self._progress()
        elif now - self._probed_at >= PROBE_INTERVAL:  # a system call: not every time
            self._probed_at = now
            acked, edge = self._progress()
            moved = edge - self._edge_seen
            if moved >= PROGRESS_BYTES and 2 * moved >= acked - self._acked_seen:
                self._gap_before, self._gap = self._gap, now - self._moved_at
                self._acked_seen, self._edge_seen, self._moved_at = acked, edge, now
        hold = min(HOLD_MAX, max(PROGRESS_WINDOW, 1.5 * max(self._gap, self._gap_before)))
        return now - self._moved_at < hold

    @property
    def cut(self) -> bool:
        """Was a delivery written only in part when the connection ended (a direct write
        whose rest was still queued, or a write stopped half-way)? Then anything sent
        after it lands inside it: a line break ends a cut line, but nothing mends a cut
        WebSocket frame."""
        return self._cut

    # -- the end -------------------------------------------------------------------------

    def close(self, reason: Reason | None = None) -> None:
        """Accept no more data; once what is queued is written, end the session."""
        if reason is not None and self.ended is None:
            self.ended = reason
        if self._life is Life.IDLE:  # nothing left to write
            self._life = Life.ENDED
            self._end()
        elif self._life is Life.WRITING:
            self._life = Life.CLOSING
        self._room_now()

    def forget(self) -> None:
        """The connection is gone: close, and stop counting it as behind."""
        was_at_risk = self.at_risk
        self._life = Life.ENDED
        self._items = None
        self._queued = 0
        self._room_now()
        if was_at_risk and self.on_risk is not None:
            self.on_risk(self, False)

    def kick(self, reason: Reason) -> None:
        """End this connection now, dropping what is queued (its session is cancelled)."""
        if self.ended is not None:
            return
        self.ended = reason
        self._life = Life.ENDED
        if reason is Reason.SLOW:
            log.warning(
                "slow-consumer conn=%d queued=%d bound=%d", self.conn, self._queued, self.max_bytes
            )
        self._items = None
        self._room_now()
        self._end()

    def statistics(self) -> OutboxStatistics:
        return OutboxStatistics(
            queued_bytes=self._queued,
            queued_items=len(self._items or ()),
            pending_bytes=self.pending,
            max_bytes=self.max_bytes,
            direct_writes=self._direct,
            queued_writes=self._queued_writes,
        )
