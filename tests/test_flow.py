"""Flow control: the round budget, and congestion that holds only those who add to it."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from chat_trio.chat.events import Said
from chat_trio.delivery.hub import Hub
from chat_trio.delivery.outbox import PROGRESS_WINDOW
from chat_trio.doors.text.door import current_view
from tests.test_hub import drained_by_hand


def join(hub: Hub, conn: int, *rooms: str) -> None:
    hub.open_outbox(conn, None, lambda: None, drained_by_hand)
    for room in rooms:
        hub.subscribe(conn, room, current_view)


async def test_flow_round_budget_makes_readers_wait_for_the_flush(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub(max_queue_bytes=400)  # round budget: 150 bytes
    join(hub, 1, "#a")
    hub.publish([Said("a", "x")], "#a", size=150)
    with trio.move_on_after(5) as waited:
        await hub.flow.wait_for_round()
    assert waited.cancelled_caught  # no room until the round is flushed
    hub.flush()
    with trio.fail_after(1):
        await hub.flow.wait_for_round()


async def test_flow_a_reading_client_near_its_bound_holds_its_rooms_senders_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 16, hole 2: any outbox near its bound held every reader on the server."""
    hub = Hub(max_queue_bytes=100)
    join(hub, 1, "#flood", "#lobby")
    join(hub, 2, "#quiet", "#lobby")
    hub.publish([Said("b", "x" * 60)], "#flood")
    hub.flush()  # 1 is more than half full
    outbox = hub.outbox(1)
    assert outbox is not None and outbox.at_risk
    outbox.last_write = trio.current_time()  # and reading: a write just finished
    now = trio.current_time()
    assert hub.flow.held(("#flood",), None, now)  # its rooms' senders wait
    assert hub.flow.held(("#lobby",), None, now)
    assert hub.flow.held((), 1, now)  # and private messages to it
    assert not hub.flow.held(("#quiet",), None, now)  # nobody else does
    assert not hub.flow.held((), 2, now)
    assert not hub.flow.held((), None, now)  # nor what goes to the sender alone
    # It stops reading: after the progress window it holds nobody.
    assert not hub.flow.held(("#flood",), None, now + PROGRESS_WINDOW)


@pytest.mark.parametrize("how", ["drained", "gone"])
async def test_flow_a_held_reader_is_woken_when_the_outbox_drains(
    how: str, autojump_clock: trio.testing.MockClock
) -> None:
    hub = Hub(max_queue_bytes=100)
    join(hub, 1, "#a")
    hub.publish([Said("b", "x" * 60)], "#a")
    hub.flush()
    outbox = hub.outbox(1)
    assert outbox is not None
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(hub.flow.wait_for_clear)
        await trio.testing.wait_all_tasks_blocked()
        if how == "drained":
            batch = outbox.take()
            assert batch is not None
            outbox.sent(len(batch))
        else:
            hub.remove(1)
    assert trio.current_time() == start  # at once, not after CLEAR_WAIT
    assert not hub.flow.at_risk
