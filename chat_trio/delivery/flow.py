"""Flow control: who waits before more input is carried out, and why.

Input must not outrun output: the server reads far faster than a thousand clients can
read what it sends, so without this a flood fills every queue and cuts everyone. But
waiting for *every* client would hand control to the slowest one. The rule:

    **A backlog slows only those who add to it.** A connection's own backlog slows its
    own input (``Outbox.wait_for_room``); an outbox near its bound whose client is still
    reading slows the senders into its rooms, and those writing to it privately; nobody
    else waits.

Three waits, each for its own reason:

1. **The round budget** (``wait_for_round``, before a reader takes in a chunk, and
   ``has_room``, before each item of it that delivers to others): once the broadcasts and
   news published since the last flush reach ``round_budget``, readers wait for the next
   flush. A round carries its budget and one item more at most, so three eighths of a
   queue's bound leaves room for a whole round in any queue that holds nobody up (at
   most half full, below). A wait of one scheduler round, for whoever reads.
2. **Congestion** (``held``, for each intent before the rules carry it out, and
   ``wait_for_clear``): where an intent would deliver (``Chat.reach``: its rooms, another
   connection) has an outbox more than half full whose client is still reading
   (``Outbox.draining``), the intent waits, and so does the input after it. A client
   that stopped reading holds nobody up; it is cut at its bound (or at the writer's
   deadline).
3. **Its own backlog** (outbox.py): a connection whose backlog passed a quarter of its
   bound gets none of its input carried out until it drains.

The check and the publish are atomic (no await between them), so thousands of readers
cannot all pass the check in the same round.

This module awaits only on behalf of the reader that asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import trio

from chat_trio.chat.events import ConnId
from chat_trio.delivery.outbox import PROBE_INTERVAL, PROGRESS_WINDOW, Outbox

MIN_GROWTH = 1.0
"""The least the round budget counts of an estimated byte. The estimates are exact for the
text door's lines (effects.size), so text-only rounds are counted as they always were."""

WAKE_BATCH = 64
"""Readers woken at once when a round was flushed (see ``flushed``)."""

CLEAR_WAIT = PROGRESS_WINDOW / 2
"""Seconds a reader held by congestion waits before it looks again (sooner if an outbox
near its bound drains): whether a client still counts as reading is a matter of time."""


class Flow:
    """Flow control for every connection of one hub. See the module docstring."""

    def __init__(self, max_queue_bytes: int) -> None:
        self.round_budget = max(1, max_queue_bytes * 3 // 8)
        self.round_bytes = 0  # published since the last flush (estimated, see ``charge``)
        self.growth = 1.0  # rendered bytes per estimated byte, widest view (``flushed``)
        self.at_risk: set[Outbox] = set()  # more than half full
        self.closed = False
        self._round = trio.lowlevel.ParkingLot()  # readers waiting for a flush, FIFO
        self._clear = trio.lowlevel.ParkingLot()  # readers held by congestion
        self._looked_at = -math.inf  # when congestion was last worked out
        self._rooms: frozenset[str] = frozenset()  # rooms with a draining outbox near its bound
        self._conns: frozenset[ConnId] = frozenset()  # such outboxes' connections

    # -- the round budget ----------------------------------------------------------------

    def charge(self, size: int) -> None:
        """A broadcast of about ``size`` bytes was published this round; scaled by how much
        the widest view rendered the last rounds grew past the estimate (IRC's prefixes
        triple a short line)."""
        self.round_bytes += int(size * self.growth)

    def charge_exactly(self, size: int) -> None:
        """News for another connection, rendered already: ``size`` bytes."""
        self.round_bytes += size

    def has_room(self, size: int) -> bool:
        """Would the round still be under its budget with about ``size`` bytes more (the
        estimate, scaled as ``charge`` scales it)?"""
        return self.closed or self.round_bytes + size * self.growth < self.round_budget

    @property
    def full(self) -> bool:
        """Has this round published its budget (so that readers wait for the flush)?"""
        return not self.closed and self.round_bytes >= self.round_budget

    async def wait_for_round(self) -> None:
        """Wait while this round has published its budget (a checkpoint). No await after
        the last check: the caller publishes while it still holds."""
        await trio.lowlevel.checkpoint()
        while self.full:
            await self._round.park()  # the next flush wakes us
        self._round.unpark(count=1)  # the line keeps moving while there is room

    def flushed(self, growth: float) -> None:
        """A round was flushed; ``growth``: how much bigger than estimated its widest view
        rendered (0: nothing to learn). The next rounds' budget counts that much (quickly
        up, slowly down).

        Wakes the longest-waiting readers, not all: when thousands wait (10,000 clients
        joining at once), waking all after every flush cost a third of the server's time,
        nearly all of it for readers that found the new round full again. Each reader that
        gets through wakes the next one (``wait_for_round``)."""
        self.round_bytes = 0
        if growth > self.growth:
            self.growth = growth
        elif growth:
            self.growth = max(MIN_GROWTH, 0.9 * self.growth + 0.1 * growth)
        self._round.unpark(count=WAKE_BATCH)

    # -- congestion ----------------------------------------------------------------------

    def risk(self, outbox: Outbox, at_risk: bool) -> None:
        """``outbox`` passed half its bound (True), or is back under it or gone (False)."""
        if at_risk:
            self.at_risk.add(outbox)
        else:
            self.at_risk.discard(outbox)
            self._clear.unpark_all()
        self._looked_at = -math.inf  # work it out again at the next look

    def held(self, rooms: Sequence[str], other: ConnId | None, now: float) -> bool:
        """Must an intent that delivers to ``rooms`` (and to ``other``) wait?"""
        if not self.at_risk or (not rooms and other is None):
            return False
        if now - self._looked_at >= PROBE_INTERVAL:
            self._looked_at = now
            draining = [outbox for outbox in self.at_risk if outbox.draining(now)]
            self._rooms = frozenset(room for outbox in draining for room in outbox.rooms)
            self._conns = frozenset(outbox.conn for outbox in draining)
        return other in self._conns or any(room in self._rooms for room in rooms)

    async def wait_for_clear(self) -> None:
        """Wait a while (``CLEAR_WAIT``, or until an outbox near its bound drains) before
        looking at congestion again."""
        with trio.move_on_after(CLEAR_WAIT):
            await self._clear.park()

    def close(self) -> None:
        """Shutting down: nobody waits any more."""
        self.closed = True
        self._round.unpark_all()
        self._clear.unpark_all()
