"""The hub: who receives what, batched per scheduler round. It owns every byte on its way
out of the server, and never awaits on behalf of a publisher: one slow reader is that
reader's problem, never the sender's.

How a publish travels:

1. ``publish`` / ``send`` / ``send_events`` append to a pending list and wake the hub's
   task. They never block and never touch a socket.
2. ``run`` (one long-lived task, started by server.py) wakes once per scheduler round and
   ``flush``es everything published in that round as **one** bytes object per recipient
   (fanout.py): a thousand joins in one round cost each member one delivery, not a
   thousand.
3. ``Outbox.offer`` first tries a plain non-blocking write when nothing is queued for that
   connection (most deliveries end here, with no task switch at all), and queues only what
   the kernel did not take (outbox.py).
4. The connection's writer task (session.py), started only when something is queued,
   drains the whole queue into one write, and ends when the queue is empty.

Flow control (flow.py) keeps input from outrunning output, and holds only those whose
input would add to a backlog.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import attrs
import trio

from chat_trio.chat.events import ConnId, Event, Reason
from chat_trio.delivery.fanout import Member, Published, Room, Round
from chat_trio.delivery.flow import Flow
from chat_trio.delivery.outbox import DEFAULT_MAX_QUEUE_BYTES, Outbox
from chat_trio.doors import View
from chat_trio.transports import Progress, TrySend

Render = Callable[[Sequence[Event]], bytes]
"""How one connection's door renders what is sent to it alone."""


@attrs.frozen
class HubStatistics:
    """A snapshot of the hub."""

    connections: int  #: outboxes open
    subscribed: int  #: outboxes that receive broadcasts
    rooms: int  #: rooms with at least one member
    at_risk: int  #: outboxes more than half full (they hold their rooms' senders)
    pending: int  #: items published this round, not yet flushed
    queued_bytes: int  #: sum over all outboxes
    flushes: int  #: rounds flushed so far
    kicked_slow: int  #: cut as too slow (a full outbox, a write past its deadline), removed
    lines_out: int  #: events handed to recipients so far: each room broadcast's events
    #: times the members it reached (its sender left out), and news for one connection
    direct_writes: int  #: deliveries the kernel took whole at once, every outbox ever
    queued_writes: int  #: deliveries (or their remainders) left to a writer task, ever


class Hub:
    """Who receives what. See the module docstring."""

    def __init__(
        self, max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES, wall: Callable[[], float] = time.time
    ) -> None:
        self.max_queue_bytes = max_queue_bytes
        self.wall = wall  # a round's time, for views that show it (IRC's server-time)
        self.flow = Flow(max_queue_bytes)
        self._outboxes: dict[ConnId, Outbox] = {}
        # each connection's door's ``view``: for subscriptions another's action makes
        # (an operator's kick puts its member in #lobby), which that door must render
        self._views: dict[ConnId, Callable[[Room], View]] = {}
        self._rooms: dict[Room, dict[ConnId, Member]] = {}
        self._broadcasts: list[Published] = []
        self._direct: list[tuple[int, bytes, ConnId]] = []
        self._finishing: list[tuple[ConnId, Reason | None]] = []
        self._seq = 0
        self._wakeup = trio.Event()
        self._closed = False
        self._flushes = 0
        self._kicked_slow = 0
        self._lines_out = 0
        self._retired = (0, 0)  # removed outboxes' (direct_writes, queued_writes)

    # -- connections -----------------------------------------------------------------------

    def open_outbox(
        self,
        conn: ConnId,
        try_send: TrySend | None,
        end: Callable[[], None],
        start_writer: Callable[[Outbox], None],
        render: Render | None = None,
        progress: Progress | None = None,
        view: Callable[[Room], View] | None = None,
    ) -> Outbox:
        """Create ``conn``'s outbox. ``end`` must cancel the connection's session;
        ``render`` is its door's ``deliver``, for ``send_events`` and the shutdown notice;
        ``progress`` says what its peer did with what it was sent (see
        ``Outbox.draining``); ``start_writer`` starts a writer task for it in the
        connection's nursery (the session removes the outbox before that nursery closes to
        new tasks, so it is only called while the nursery takes them); ``view`` is its
        door's ``view``, for ``view_of``."""
        if self._closed:
            raise trio.ClosedResourceError("the hub is shut down")
        outbox = Outbox(
            conn, self.max_queue_bytes, try_send, end, start_writer, render, progress,
            self.flow.risk,
        )  # fmt: skip
        self._outboxes[conn] = outbox
        if view is not None:
            self._views[conn] = view
        return outbox

    def view_of(self, conn: ConnId, room: Room) -> View | None:
        """How ``conn``'s own door renders ``room`` now (None: it gave no ``view``)."""
        view = self._views.get(conn)
        return view(room) if view is not None else None

    def refresh_views(self, conn: ConnId) -> None:
        """``conn``'s door may render its rooms otherwise now (another's action moved its
        place: a kick out of its current room): ask it again for each."""
        outbox, view = self._outboxes.get(conn), self._views.get(conn)
        if outbox is not None and view is not None:
            for room, member in outbox.rooms.items():
                member.view = view(room)

    def outbox(self, conn: ConnId) -> Outbox | None:
        return self._outboxes.get(conn)

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
        self._views.pop(conn, None)
        if outbox is not None:
            for room in outbox.rooms:
                self._leave(conn, room)
            outbox.rooms.clear()
            if outbox.ended is Reason.SLOW:
                self._kicked_slow += 1
            done = outbox.statistics()
            direct, queued = self._retired
            self._retired = (direct + done.direct_writes, queued + done.queued_writes)
            outbox.forget()

    # -- publishing (never blocks) ---------------------------------------------------------

    def publish(
        self,
        events: Sequence[Event],
        room: Room,
        exclude: ConnId | None = None,
        size: int = 0,
        *,
        told: frozenset[ConnId] = frozenset(),
    ) -> None:
        """Deliver ``events`` to every member of ``room`` except ``exclude`` and ``told``
        (told already, through another room), each member in its own view (rendered at
        the flush, once per view). ``size``: about how many bytes that is, for flow
        control's round budget."""
        if events and not self._closed:
            self._seq += 1
            self._broadcasts.append(Published(self._seq, room, events, exclude, size, told))
            self.flow.charge(size)
            self._wakeup.set()

    def send_events(self, conn: ConnId, events: Sequence[Event]) -> None:
        """Deliver ``events`` to ``conn`` only, rendered by its door: news from another
        connection (a private message), which counts towards the round's budget: many
        senders to one recipient in one round must not fill its queue."""
        outbox = self._outboxes.get(conn)
        if outbox is not None and outbox.render is not None:
            data = outbox.render(events)
            self.send(conn, data)
            self._lines_out += len(events)
            if not self._closed:
                self.flow.charge_exactly(len(data))

    def send(self, conn: ConnId, data: bytes) -> None:
        """Deliver ``data`` to ``conn`` only, in order with the broadcasts around it.

        Used for a connection's answers to its own input (the session's replies). They do
        not count towards the round's budget (a newcomer's NAMES list would hold every
        other reader until the next flush: docs/benchmarks.md, issue 11) but in its own
        backlog (``Outbox.backlog``), which holds its own input only."""
        if data and not self._closed:
            self._seq += 1
            self._direct.append((self._seq, data, conn))
            outbox = self._outboxes.get(conn)
            if outbox is not None:
                outbox.pending += len(data)
            self._wakeup.set()

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
        self.flow.close()
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
        round_ = Round(broadcasts, direct, self.wall())
        for conn, items in round_.direct.items():  # flushed now: no longer pending
            if (outbox := self._outboxes.get(conn)) is not None:
                outbox.pending -= sum(len(data) for _, data in items)
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
            members = self._rooms.get(room, {})
            self._lines_out += channel.lines(members)  # per broadcast, not per recipient
            for conn, member in members.items():
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
        growth = max((channel.growth() for channel in round_.rooms.values()), default=0.0)
        self.flow.flushed(growth)
        for leaving, reason in finishing:
            if (done := self._outboxes.get(leaving)) is not None:
                done.close(reason)

    def statistics(self) -> HubStatistics:
        """O(connections): one look at each outbox (a scrape at 10,000 costs ~10 ms)."""
        subscribed = queued_bytes = 0
        direct, queued = self._retired
        for outbox in self._outboxes.values():
            each = outbox.statistics()
            subscribed += bool(outbox.rooms)
            queued_bytes += each.queued_bytes
            direct += each.direct_writes
            queued += each.queued_writes
        return HubStatistics(
            connections=len(self._outboxes),
            subscribed=subscribed,
            rooms=len(self._rooms),
            at_risk=len(self.flow.at_risk),
            pending=len(self._broadcasts) + len(self._direct) + len(self._finishing),
            queued_bytes=queued_bytes,
            flushes=self._flushes,
            kicked_slow=self._kicked_slow,
            lines_out=self._lines_out,
            direct_writes=direct,
            queued_writes=queued,
        )
