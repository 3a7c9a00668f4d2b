"""The hub: batched fan-out, ordering, exclusion, the direct path, and the full-queue policy."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_trio.hub import Hub, Outbox
from chat_trio.protocol.events import Reason


class Kicks:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


async def take(outbox: Outbox) -> bytes:
    """What the writer task would write next (everything queued, in one chunk).

    Waits one virtual second at most: callers run on the autojump clock.
    """
    with trio.move_on_after(1):
        batch = await outbox.next_batch()
        outbox.sent(len(batch))
        return bytes(batch)
    return b""


def test_hub_round_is_flushed_as_one_chunk_per_member() -> None:
    hub = Hub()
    boxes = [hub.open_outbox(i, None, Kicks()) for i in range(3)]
    for i in range(3):
        hub.subscribe(i)
    hub.publish(b"a\n", exclude=0)
    hub.publish(b"b\n", exclude=1)
    hub.publish(b"c\n")
    hub.flush()
    assert [b.statistics().queued_items for b in boxes] == [1, 1, 1]
    assert hub.statistics().flushes == 1


async def test_hub_exclusion_and_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    boxes = [hub.open_outbox(i, None, Kicks()) for i in range(3)]
    for i in range(3):
        hub.subscribe(i)
    hub.publish(b"a\n", exclude=0)
    hub.send(1, b"direct\n")
    hub.publish(b"b\n", exclude=1)
    hub.publish(b"c\n")
    hub.flush()
    assert await take(boxes[0]) == b"b\nc\n"
    assert await take(boxes[1]) == b"a\ndirect\nc\n"
    assert await take(boxes[2]) == b"a\nb\nc\n"


async def test_hub_subscriber_sees_only_what_is_published_after_it_joined(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    old = hub.open_outbox(1, None, Kicks())
    hub.subscribe(1)
    new = hub.open_outbox(2, None, Kicks())
    hub.publish(b"before\n")
    hub.send(2, b"welcome\n")
    hub.subscribe(2)
    hub.publish(b"after\n")
    hub.flush()
    assert await take(old) == b"before\nafter\n"
    assert await take(new) == b"welcome\nafter\n"


async def test_hub_unsubscribed_connection_gets_only_direct_sends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    box = hub.open_outbox(1, None, Kicks())
    hub.publish(b"chat\n")
    hub.send(1, b"prompt: ")
    hub.flush()
    assert await take(box) == b"prompt: "


async def test_hub_run_flushes_once_per_round(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    box = hub.open_outbox(1, None, Kicks())
    hub.subscribe(1)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        for i in range(100):
            hub.publish(b"%d\n" % i)
        await trio.testing.wait_all_tasks_blocked()
        assert hub.statistics().flushes == 1
        assert await take(box) == b"".join(b"%d\n" % i for i in range(100))
        hub.shut_down(b"bye\n")
    assert await take(box) == b"bye\n"


def test_hub_full_outboxes_are_kicked_without_blocking_the_publisher() -> None:
    hub = Hub(max_queue_bytes=100)
    slow_kicks, ok_kicks = Kicks(), Kicks()
    slow = hub.open_outbox(1, None, slow_kicks)
    ok = hub.open_outbox(2, None, ok_kicks)
    hub.subscribe(1)
    hub.subscribe(2)
    hub.publish(b"x" * 60)
    hub.flush()
    hub.publish(b"y" * 60)
    hub.flush()
    # Both are slow readers here: both are kicked, and publishing never blocked.
    assert slow.ended is Reason.SLOW and slow_kicks.count == 1
    assert ok.ended is Reason.SLOW and ok_kicks.count == 1
    hub.remove(1)
    assert hub.statistics().kicked_slow == 1


def test_hub_kick_is_per_connection() -> None:
    hub = Hub(max_queue_bytes=100)
    slow = hub.open_outbox(1, None, Kicks())
    hub.subscribe(1)
    taken: list[bytes] = []

    def fast_write(data: bytes | memoryview) -> int:
        taken.append(bytes(data))
        return len(data)

    fast = hub.open_outbox(2, fast_write, Kicks())
    hub.subscribe(2)
    for _ in range(3):
        hub.publish(b"z" * 60)
        hub.flush()
    assert slow.ended is Reason.SLOW
    assert fast.ended is None and taken == [b"z" * 60] * 3


def test_hub_direct_path_queues_only_the_remainder() -> None:
    hub = Hub()
    calls: list[int] = []

    def partial_write(data: bytes | memoryview) -> int:
        calls.append(len(data))
        return 4

    box = hub.open_outbox(1, partial_write, Kicks())
    hub.subscribe(1)
    hub.publish(b"0123456789")
    hub.flush()
    assert box.statistics().queued_bytes == 6
    hub.publish(b"more")
    hub.flush()
    assert calls == [10]  # something is queued: the writer owns the socket now
    assert box.statistics().queued_bytes == 10


def test_hub_direct_path_blocking_and_broken() -> None:
    hub = Hub()

    def would_block(data: bytes | memoryview) -> int:
        raise BlockingIOError

    def broken(data: bytes | memoryview) -> int:
        raise ConnectionResetError

    kicks = Kicks()
    blocked = hub.open_outbox(1, would_block, Kicks())
    gone = hub.open_outbox(2, broken, kicks)
    hub.subscribe(1)
    hub.subscribe(2)
    hub.publish(b"hello")
    hub.flush()
    assert blocked.statistics().queued_bytes == 5
    assert gone.ended is Reason.LOST and kicks.count == 1


def test_hub_statistics() -> None:
    hub = Hub(max_queue_bytes=1000)
    hub.open_outbox(1, None, Kicks())
    hub.open_outbox(2, None, Kicks())
    hub.subscribe(1)
    hub.publish(b"abc")
    stats = hub.statistics()
    assert (stats.connections, stats.subscribed, stats.pending) == (2, 1, 1)
    hub.flush()
    assert hub.statistics().queued_bytes == 3


async def test_hub_round_budget_makes_readers_wait_for_the_flush(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub(max_queue_bytes=400)  # round budget: 100 bytes
    hub.open_outbox(1, None, Kicks())
    hub.subscribe(1)
    hub.publish(b"x" * 100)
    with trio.move_on_after(5) as waited:
        await hub.wait_for_room()
    assert waited.cancelled_caught  # no room until the round is flushed
    hub.flush()
    with trio.fail_after(1):
        await hub.wait_for_room()


async def test_hub_waits_for_a_reading_client_near_its_bound_not_for_a_stalled_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub(max_queue_bytes=100)
    box = hub.open_outbox(1, None, Kicks())
    hub.subscribe(1)
    hub.publish(b"a" * 20)
    hub.flush()
    batch = await take(box)  # the client is reading: a write just finished
    assert batch == b"a" * 20
    hub.publish(b"b" * 60)
    hub.flush()  # 60 of 100 bytes queued: at risk, and still draining
    assert hub.statistics().at_risk == 1
    with trio.move_on_after(0.1) as waited:
        await hub.wait_for_room()
    assert waited.cancelled_caught
    # The client stops reading: after the progress window it holds nobody up.
    start = trio.current_time()
    with trio.fail_after(5):
        await hub.wait_for_room()
    assert trio.current_time() - start == pytest.approx(0.25, abs=0.1)


class Recorder:
    """A direct write that the kernel always takes whole, recording what was written."""

    def __init__(self, into: bytearray) -> None:
        self.into = into

    def __call__(self, data: bytes | memoryview) -> int:
        self.into += data
        return len(data)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["publish", "send", "subscribe", "unsubscribe"]),
            st.integers(0, 4),
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 2),
        ),
        max_size=40,
    )
)
@settings(max_examples=500)
def test_hub_round_shares_match_a_simple_model(steps: list[tuple[str, int, str, int]]) -> None:
    """Whatever happens in one round, each connection gets exactly what a naive model says:
    broadcasts to its rooms published while it was a member (not its own), in the variant
    it had for that room when the round was flushed, and its direct items, in order."""
    hub = Hub(max_queue_bytes=10**9)
    received = {conn: bytearray() for conn in range(5)}
    for conn in range(5):
        hub.open_outbox(conn, Recorder(received[conn]), Kicks())
    members: dict[str, dict[int, int]] = {"a": {}, "b": {}, "c": {}}
    model = {conn: bytearray() for conn in range(5)}
    # Who gets a broadcast is decided when it is published; which variant, when the round
    # is flushed (at the end, or when someone leaves a room).
    pending: dict[int, list[bytes | tuple[str, bytes, bytes]]] = {c: [] for c in range(5)}

    def flush() -> None:
        for conn, items in pending.items():
            for item in items:
                if isinstance(item, bytes):
                    model[conn] += item
                else:
                    room, data, other = item
                    model[conn] += other if members[room].get(conn) == 1 else data
            items.clear()

    for number, (action, conn, room, flag) in enumerate(steps):
        data, other = b"<%d>" % number, b"[%s<%d>]" % (room.encode(), number)
        if action == "publish":
            exclude = conn if flag else None
            hub.publish(data, exclude=exclude, room=room, other=other)
            for member in members[room]:
                if member != exclude:
                    pending[member].append((room, data, other))
        elif action == "send":
            hub.send(conn, data)
            pending[conn].append(data)
        elif action == "subscribe":
            hub.subscribe(conn, room, variant=flag % 2)
            members[room][conn] = flag % 2
        elif conn in members[room]:
            hub.unsubscribe(conn, room)
            flush()
            del members[room][conn]
    hub.flush()
    flush()
    assert received == model
