"""One connection, from accept to close: a reader, and a writer while one is needed, in
one nursery.

The reader feeds received bytes to the connection's door and hands the rules (chat/) the
items the door parses, one at a time (``Session.hand_over``): each intent, once flow
control lets it through, and each answer the door gives itself, once flood control has
counted it. What they make is carried out by the one interpreter (effects.py). Most
deliveries go straight into the socket from the hub (``Outbox.offer``); only when the
kernel did not take one whole does the outbox start a writer task in this nursery, which
drains the queue into the stream and ends when it is empty. An idle connection is one
task. When the input is over, the reader asks the hub to close the outbox after what is
pending for it; the outbox ends the session once all of it is written (within
``FLUSH_TIMEOUT``). A kick (a full queue, a broken write) cancels the session at once.

The reader stops handing items over, and waits, for one of these reasons (``Stop``):
the door needs more bytes (or, with a deadline, a delivery from elsewhere that gives the
door items of its own: ``Session.deliver``); the rules wait for storage or a password
hash (carried out, then on); flood control holds an item (until the rules' deadline);
the connection's own backlog is over its share (until its outbox drains); the round has
published its budget (until the next flush); or where the next item goes is congested
(flow.py). Whatever it waits for, the unhandled input stays in its door, and the kernel
pushes back on the client.

This nursery lives exactly as long as the connection, so it is opened here rather than in
server.py (which owns the server-wide, long-lived ones).

Error handling: ``serve_connection`` never raises anything but ``trio.Cancelled``. A
broken connection ends the session with ``Reason.LOST``; any other exception is logged
with the connection's id and ends only this session. Whatever happened, the name is freed
and the others see exactly one leave notice.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import MutableSet, Sequence
from functools import partial

import trio

from chat_trio.chat import intents as i
from chat_trio.chat.events import ConnId, Event, Reason
from chat_trio.chat.outputs import Outputs
from chat_trio.chat.state import Phase
from chat_trio.delivery.effects import Effects, Step, size
from chat_trio.delivery.flow import Flow
from chat_trio.delivery.outbox import Outbox
from chat_trio.doors import Answer, Door, Free
from chat_trio.transports import Progress, Receive, TrySend, tcp

log = logging.getLogger("chat_trio.session")

READ_SIZE = 4096
"""Bytes per receive: a flood is published in chunks of ~100 lines (one publish per chunk),
and a round of reads stays small next to the hub's round budget."""

DEFAULT_WRITE_TIMEOUT = 10.0
"""Seconds one write may block before the client counts as too slow (NATS' write deadline).
It also bounds how long a client that stopped reading can hold up its own input, and,
while flow control still counts it as reading, the senders into its rooms."""

FLUSH_TIMEOUT = 5.0
"""Seconds the writer gets to deliver what is queued after /quit or EOF."""

NOTICE_TIMEOUT = 1.0
"""Seconds to try to tell a kicked client why (best effort: it is not reading)."""

UNLINGERED = frozenset({Reason.SLOW, Reason.LOST, Reason.QUIT, Reason.INTERRUPTED})
"""Why a connection ended when lingering would not help: its peer reads nothing more, or
it asked to leave (an nc user's next Enter should find the connection closed)."""


class Stop(enum.Enum):
    """Why ``hand_over`` stopped handing the rules items."""

    NEED_DATA = "need-data"  #: the door has no more: read
    SLOW_WORK = "slow-work"  #: the rules wait for storage or a hash: carry out, then go on
    FLOOD = "flood"  #: flood control holds an item: read (or wait) until ``chat.deadline``
    FULL = "full"  #: the connection's own backlog is over its share: wait for it to drain
    ROUND = "round"  #: the next item would carry this round past its budget: wait a round
    CONGESTED = "congested"  #: where the next item delivers cannot take more: wait
    CLOSING = "closing"  #: the connection is ending, or the server is shutting down


class Session:
    """One connection's reader side: its door, and the calls it makes for each item of
    its input to the rules, to flow control and to the interpreter."""

    __slots__ = ("_waiting", "_woken", "busy", "conn", "door", "effects", "flow", "outbox")

    def __init__(self, conn: ConnId, door: Door, effects: Effects, outbox: Outbox) -> None:
        self.conn = conn
        self.door = door
        self.effects = effects
        self.flow: Flow = effects.hub.flow
        self.outbox = outbox
        self.busy = False  #: between taking input and carrying out what it made
        self._waiting: trio.CancelScope | None = None  # the wait for input, while it has one
        self._woken = False  # the door got items while the reader was not waiting

    def deliver(self, events: Sequence[Event]) -> bytes:
        """``events`` from elsewhere, for the hub (its ``render``), through the door's
        ``deliver``. A delivery that gives the door items of its own (a kick put its user
        in ``#lobby``: the IRC door asks for NAMES, the page's for the members) wakes the
        reader, so that they are handed over now, not with the client's next line.

        .. warning:: only a wait with a deadline can be woken (``read``: a connection with
           none waits without a cancel scope, to keep idle connections small). The doors
           that ask in ``deliver``, IRC and the web's, always have one while their pings
           are on.
        """
        door = self.door
        before = door.backlog()
        data = door.deliver(events)
        if door.backlog() > before:
            if self._waiting is not None:
                self._waiting.cancel()  # as if its deadline had passed: nothing is lost
            else:  # busy (or waiting with no deadline): it looks before it waits again
                self._woken = True
        return data

    def hand_over(
        self, now: float, out: Outputs, steps: list[Step], *, holding: bool = True
    ) -> Stop:
        """Hand the rules the door's items, one at a time, collecting what they make (and
        the door's own answers) into ``steps``, in order, until a reason to ``Stop``.
        ``holding``: False at shutdown, when no backlog or congestion holds anything.

        Never blocks: each item is parsed for the phase the connection is in by then, and
        flow control's check and the rules' change happen with no await between them.
        """
        chat, door, conn = self.effects.chat, self.door, self.conn
        stop = Stop.CLOSING
        answered = 0  # about how many bytes this turn answers itself (not in its backlog yet)
        published = 0  # about how many bytes it sends others (not in the round's count yet)
        while (phase := chat.phase(conn)) is not Phase.CLOSING:
            if holding and self.outbox.backlog + answered > self.outbox.own_share:
                stop = Stop.FULL
                break
            item = door.next_item(phase)
            if item is None:
                stop = Stop.NEED_DATA
                break
            if isinstance(item, Answer):
                if item.free or chat.spend(conn, now):
                    steps.extend(out.done())  # what the rules made before it goes first
                    steps.append(item)
                    answered += size(item.events)
                    continue
            else:
                free = isinstance(item, Free)
                intent = item.intent if isinstance(item, Free) else item
                if holding and (wait := self._must_wait(intent, published, now)) is not None:
                    door.push_back(item)
                    stop = wait
                    break
                if chat.handle(conn, intent, now, out, free=free):
                    mine = out.take_mine()
                    answered += size(mine)
                    published += size(out.take_theirs())
                    door.observe(mine)
                    if posted := out.take_posted():
                        door.posted(posted)
                    if out.waiting:
                        stop = Stop.SLOW_WORK
                        break
                    continue
            door.push_back(item)  # held by flood control
            chat.waiting(conn, door.backlog(), out)
            stop = Stop.FLOOD
            break
        if stop is not Stop.SLOW_WORK:
            chat.input_done(conn, now, out)
        steps.extend(out.done())
        return stop

    def _must_wait(self, intent: i.Intent, published: int, now: float) -> Stop | None:
        """Must ``intent`` wait, after this turn ``published`` that much? A round carries
        its budget and one item more at most (a chunk of short lines can render to many
        times its size: 4 KB of one-letter lines is 200 KB of the page's JSON)."""
        if isinstance(intent, i.Quit | i.Hangup):  # leaving is never held
            return None
        rooms, other = self.effects.chat.reach(self.conn, intent)
        if not rooms and other is None:  # it answers only the sender
            return None
        if not self.flow.has_room(published):
            return Stop.ROUND
        return Stop.CONGESTED if self.flow.held(rooms, other, now) else None

    async def pump(self, out: Outputs) -> Reason | None:
        """Hand the rules every item the door has (after what ``out`` holds already), and
        carry out what they make; wait where a ``Stop`` says to, and go on. Returns the
        reason if that closes the connection."""
        conn = self.conn
        self.busy = True
        try:
            while True:
                steps: list[Step] = []
                stop = self.hand_over(self.effects.clock(), out, steps)
                closing = await self.effects.perform(conn, self.door, steps)
                if closing is not None:
                    return closing
                if stop is Stop.FULL:
                    if self.outbox.backlog > self.outbox.own_share:  # (carried out, it fit)
                        await self.outbox.wait_for_room()
                elif stop is Stop.CONGESTED:
                    await self.flow.wait_for_clear()
                elif stop is Stop.ROUND:
                    await self.flow.wait_for_round()
                elif stop is not Stop.SLOW_WORK:
                    return None
                # Whatever it waited for, others published meanwhile: the next item is
                # checked against the round as it is now (``_must_wait``), not as it was.
        finally:
            self.busy = False

    def release(self, now: float) -> None:
        """Shutdown (``Chat.lift_flood_control`` first): carry out what flood control
        holds, at once; nothing waits for storage any more. Only for a session that is
        waiting for input (not ``busy``), so that its door is read by one task at a time."""
        steps: list[Step] = []
        self.hand_over(now, Outputs(self.conn), steps, holding=False)
        self.effects.carry_now(self.conn, self.door, steps)

    async def greet(self, address: str) -> Reason | None:
        """The connection is new: the rules greet it, and what they make is carried out.
        (Its own call, so that nothing of it stays in the frame that then waits for input:
        an idle connection held the greeting's outputs, 0.4 KiB.)"""
        out = Outputs(self.conn)
        self.effects.chat.connect(self.conn, self.effects.clock(), out, address)
        return await self.pump(out)

    async def read(self, receive: Receive) -> Reason:
        """Feed the door and the rules until they close the connection; return why.

        A connection with no deadline (a registered text user, with no idle timeout) waits
        without a cancel scope, about 1 KiB less per idle connection (docs/architecture.md,
        "What an idle connection costs"). Nothing else is held across the wait: what a
        chunk needs (its ``Outputs``) is made after it arrived.
        """
        chat, door, conn, clock = self.effects.chat, self.door, self.conn, self.effects.clock
        while True:
            deadline = min(chat.deadline(conn), door.deadline())
            data: bytes | bytearray | None = None
            try:
                if self._woken:  # a delivery gave the door items while this was busy
                    self._woken = False
                elif deadline == math.inf:
                    data = await receive(READ_SIZE)
                else:
                    with trio.move_on_at(deadline) as self._waiting:
                        data = await receive(READ_SIZE)
            except trio.BrokenResourceError:
                return Reason.LOST
            finally:
                self._waiting = None
            # The round budget: hold this chunk (at most READ_SIZE), or what a deadline
            # lets go (lines flood control held), until the hub has room. No await
            # between the wait and the publish.
            await self.flow.wait_for_round()
            out = Outputs(conn)
            if data is None:  # a deadline passed
                now = clock()
                chat.expire(conn, now, out)
                if (item := door.expire(now)) is not None:
                    door.push_back(item)
            else:
                chat.heard(conn, clock())
                door.receive_data(data, clock())
                data = None
            closing = await self.pump(out)
            del out
            if closing is not None:
                return closing


async def serve_connection(
    stream: trio.abc.Stream,
    conn: ConnId,
    effects: Effects,
    door: Door,
    *,
    address: str = "",
    try_send: TrySend | None = None,
    receive: Receive | None = None,
    progress: Progress | None = None,
    peer: str = "-",
    write_timeout: float = DEFAULT_WRITE_TIMEOUT,
    sessions: MutableSet[Session] | None = None,
    via: str = "-",
) -> None:
    """Run one connection until it ends. See the module docstring.

    Args:
      stream: the connection; closed when this returns.
      conn: a connection id never used before.
      effects: the interpreter (with the rules, the hub and storage).
      door: the connection's door (its dialect), new for this connection.
      address: the client's IP address ("" if unknown), for bans and login throttling.
      try_send: a non-blocking write to the same connection, for the hub's fast path
        (plain sockets only; None for TLS and test streams).
      receive: reads from the same connection, in place of ``stream.receive_some``
        (plain sockets: ``tcp.direct_reader``, lighter while waiting).
      progress: what the peer did with what it was sent, for flow control (TCP only).
      peer: the client's address, for the logs.
      write_timeout: seconds one write may block before the client is cut as too slow.
      sessions: where the server keeps every session (for the shutdown's last look at
        what flood control holds); the session is in it while it runs.
      via: the entrance it came through, for the logs ("IRC, TLS").
    """
    chat, hub = effects.chat, effects.hub
    log.info("connect conn=%d peer=%s door=%s", conn, peer, _door(via))
    reason = Reason.ERROR
    outbox: Outbox | None = None
    session: Session | None = None
    try:
        async with trio.open_nursery() as nursery:
            outbox = hub.open_outbox(
                conn,
                try_send,
                end=nursery.cancel_scope.cancel,
                render=door.deliver,
                progress=progress,
                view=door.view,
                start_writer=partial(_start_writer, nursery, stream, write_timeout),
            )
            session = Session(conn, door, effects, outbox)
            outbox.render = session.deliver  # a delivery that gives the door items wakes it
            if sessions is not None:
                sessions.add(session)
            try:
                reason = await session.greet(address) or await session.read(
                    receive or stream.receive_some
                )
                # The outbox ends the session once everything queued so far is written.
                hub.finish(conn)
                nursery.cancel_scope.deadline = trio.current_time() + FLUSH_TIMEOUT
                await trio.sleep_forever()
            finally:
                # Before the nursery closes to new tasks: from here on no delivery can
                # reach the outbox, so none can try to start a writer in it.
                hub.remove(conn)
    except Exception:
        log.exception("error conn=%d", conn)
        reason = Reason.ERROR
    finally:
        if sessions is not None and session is not None:
            sessions.discard(session)
        name = chat.name_of(conn)
        hub.remove(conn)
        if outbox is not None and outbox.ended is not None:
            reason = outbox.ended
        farewell = Outputs(conn)
        chat.disconnect(conn, reason, farewell)
        effects.carry_now(conn, door, farewell.done())
        effects.counts.disconnects[reason.value] += 1
        # Cleanup may run in a cancelled scope: shield it, and bound it. Linger (so that
        # the last words arrive) only for a peer that may read them, and only within the
        # time the server still gives this connection (none once shutdown's grace is over).
        left = trio.current_effective_deadline() - trio.current_time()
        tcp_stream = stream if isinstance(stream, trio.SocketStream) else None
        with trio.move_on_after(NOTICE_TIMEOUT, shield=True):
            try:
                cut = outbox is not None and outbox.cut
                if last := door.farewell(reason, cut=cut):
                    await stream.send_all(last)
                if tcp_stream is not None and left > 0 and reason not in UNLINGERED:
                    with trio.move_on_after(left):
                        await tcp.linger(tcp_stream)
                await stream.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
        await trio.aclose_forcefully(stream)  # a no-op unless the above timed out or failed
        log.info("disconnect conn=%d name=%s reason=%s", conn, name or "-", reason.value)


def _door(via: str) -> str:
    """An entrance's label as the connect line says it: "IRC, TLS" -> "irc tls=yes".
    (Not locals of ``serve_connection``: each idle connection keeps its frame.)"""
    door, _, secure = via.partition(", ")
    return f"{door.lower()} tls={'yes' if secure else 'no'}"


def _start_writer(
    nursery: trio.Nursery, stream: trio.abc.Stream, write_timeout: float, outbox: Outbox
) -> None:
    """Start ``outbox``'s writer in the connection's nursery (a partial of this is smaller
    than a closure, and every idle connection keeps one)."""
    nursery.start_soon(_write, stream, write_timeout, outbox)


async def _write(stream: trio.abc.Stream, write_timeout: float, outbox: Outbox) -> None:
    """Write what the outbox queued, everything queued in one write, until it is empty;
    started by the outbox when a delivery did not go straight into the socket."""
    try:
        while (batch := outbox.take()) is not None:
            with trio.move_on_after(write_timeout) as deadline:
                await stream.send_all(batch)
            if deadline.cancelled_caught:
                outbox.kick(Reason.SLOW)
                return
            outbox.sent(len(batch))
    except trio.BrokenResourceError:
        outbox.kick(Reason.LOST)
