"""One outbox: its bound, its own backlog, and whether its client still reads."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from chat_trio.chat.events import Reason
from chat_trio.delivery.outbox import (
    HOLD_MAX,
    PROBE_INTERVAL,
    PROGRESS_BYTES,
    PROGRESS_WINDOW,
    Outbox,
)
from tests.test_hub import drained_by_hand


class Peer:
    """What a TCP peer did with what it was sent: bytes acknowledged, and the right edge
    of its receive window (``transports.Progress``), moved by hand; counts the looks."""

    def __init__(self, window: int = 64 * 1024) -> None:
        self.acked = 0
        self.window = window
        self.looks = 0

    def __call__(self) -> tuple[int, int]:
        self.looks += 1
        return self.acked, self.acked + self.window

    def reads(self, size: int) -> None:
        """Its application read ``size`` bytes: acknowledged, and the window reopened."""
        self.acked += size

    def fills(self, size: int) -> None:
        """Its kernel takes ``size`` bytes its application does not read: acknowledged,
        while the edge moves by a third of that (the kernel grows the buffer as it fills:
        a never-reader acknowledged megabytes)."""
        self.acked += size
        self.window -= size - size // 3


def at_risk(progress: Peer | None = None) -> Outbox:
    outbox = Outbox(1, 100, None, lambda: None, drained_by_hand, progress=progress)
    outbox.offer(b"x" * 60)  # more than half its bound
    assert outbox.at_risk
    return outbox


def test_outbox_without_a_view_of_the_peer_counts_finished_writes() -> None:
    outbox = at_risk()
    assert not outbox.draining(10.0)  # no write finished yet
    outbox.last_write = 10.0
    assert outbox.draining(10.0 + PROGRESS_WINDOW - 0.01)
    assert not outbox.draining(10.0 + PROGRESS_WINDOW)


def test_outbox_a_reading_peer_counts_a_peer_whose_buffer_only_fills_does_not() -> None:
    """Issue 16, hole 2: a peer that never read kept acknowledging for megabytes (its
    kernel buffer), so it counted as reading and held everyone for seconds."""
    peer = Peer()
    outbox = at_risk(peer)
    assert outbox.draining(0.0)  # the first look: PROGRESS_WINDOW to show progress
    now = 0.0
    for _ in range(10):  # a slow reader: 16 KiB every 0.4 s
        now += 0.4
        peer.reads(PROGRESS_BYTES)
        assert outbox.draining(now)
    last_read = now
    while now < last_read + 0.55:  # it stops reading; its kernel goes on acknowledging
        now += PROBE_INTERVAL
        peer.fills(64 * 1024)  # 64 KiB a look, and the edge moves (by 21 KiB)
        assert outbox.draining(now)  # within 1.5 x its usual gap (0.6 s) of its last read
    now = last_read + 0.6 + PROBE_INTERVAL
    peer.fills(64 * 1024)
    assert not outbox.draining(now)  # and no longer after it
    assert peer.acked > 900 * 1024  # it acknowledged most of a megabyte meanwhile


def test_outbox_a_reader_that_frees_its_buffer_in_big_steps_keeps_counting() -> None:
    """A client reading 70 KB/s frees about 100 KB every 1.5 s: held for 1.5 x its gap
    (at most HOLD_MAX)."""
    peer = Peer()
    outbox = at_risk(peer)
    outbox.draining(0.0)
    now = 0.0
    for step in range(6):
        for _ in range(30):  # 1.5 s of looks, no progress: reading, once its pace is known
            now += PROBE_INTERVAL
            # Before its first step its pace is unknown: PROGRESS_WINDOW, as anyone.
            if step == 0 and abs(now - PROGRESS_WINDOW) < PROBE_INTERVAL:
                continue  # (the edge of the window, in floating point)
            known = step > 0 or now < PROGRESS_WINDOW
            assert outbox.draining(now) is known, (step, now)
        peer.reads(100 * 1024)
    now += PROBE_INTERVAL
    assert outbox.draining(now)  # the last read, seen
    for _ in range(3):  # it slows down to a step every 2.5 s: 1.5 x that is over HOLD_MAX
        now += 2.5
        peer.reads(100 * 1024)
        assert outbox.draining(now)
    assert outbox.draining(now + HOLD_MAX - PROBE_INTERVAL)
    assert not outbox.draining(now + HOLD_MAX)  # never held for longer than HOLD_MAX


def test_outbox_looks_at_its_peer_at_most_once_per_probe_interval() -> None:
    peer = Peer()
    outbox = at_risk(peer)
    for _ in range(100):  # a hundred readers ask in the same moment
        outbox.draining(10.0)
    assert peer.looks == 1
    outbox.draining(10.0 + PROBE_INTERVAL)
    assert peer.looks == 2


def test_outbox_a_closed_outbox_holds_nobody() -> None:
    outbox = at_risk(Peer())
    outbox.kick(Reason.SLOW)
    assert not outbox.draining(0.0)


async def test_outbox_its_session_waits_while_its_backlog_is_over_its_share(
    autojump_clock: trio.testing.MockClock,
) -> None:
    outbox = Outbox(1, 400, None, lambda: None, drained_by_hand)  # its share: 100 bytes
    outbox.pending = 150  # answers sent to it this round
    with trio.move_on_after(5) as waited:
        await outbox.wait_for_room()
    assert waited.cancelled_caught
    outbox.pending = 0
    outbox.offer(b"x" * 150)  # flushed: now queued
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.wait_for_room)
        await trio.testing.wait_all_tasks_blocked()
        batch = outbox.take()
        assert batch is not None
        outbox.sent(len(batch))  # written: the waiter goes on
    assert outbox.backlog == 0


@pytest.mark.parametrize("ending", ["close", "kick"])
async def test_outbox_a_waiting_session_goes_on_when_its_outbox_ends(
    ending: str, autojump_clock: trio.testing.MockClock
) -> None:
    outbox = Outbox(1, 400, None, lambda: None, drained_by_hand)
    outbox.offer(b"x" * 300)
    start = trio.current_time()
    with trio.fail_after(1):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outbox.wait_for_room)
            await trio.testing.wait_all_tasks_blocked()
            outbox.close() if ending == "close" else outbox.kick(Reason.SLOW)
    assert trio.current_time() == start  # let go at once
