"""The hub: batched fan-out, ordering, exclusion, the direct path, and the full-queue policy
(flow control: test_flow.py; one outbox: test_outbox.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import attrs
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_trio.chat.events import Event, Reason
from chat_trio.delivery.hub import Hub
from chat_trio.delivery.outbox import Outbox
from chat_trio.doors import Local
from chat_trio.transports import TrySend
from tests.helpers import Recorder


@attrs.frozen
class Raw(Local):
    """A test event that is its own rendering: ``data``, or ``other`` in the second view."""

    data: bytes
    other: bytes


def raw(data: bytes, other: bytes) -> Event:
    """A ``Raw`` where the hub takes the rules' events: it passes them to views unseen."""
    return cast(Event, Raw(data, other))


def first_view(events: Sequence[Event], room: str, wall: float) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Raw))


def second_view(events: Sequence[Event], room: str, wall: float) -> bytes:
    return b"".join(e.other for e in events if isinstance(e, Raw))


VIEWS = (first_view, second_view)


def render(events: Sequence[Event]) -> bytes:
    return first_view(events, "", 0.0)


def open_box(hub: Hub, conn: int, try_send: TrySend | None, on_kick: Callable[[], None]) -> Outbox:
    return hub.open_outbox(conn, try_send, on_kick, drained_by_hand, render)


def drained_by_hand(outbox: Outbox) -> None:
    """The writer's starter: the tests take what is queued themselves (``take``)."""


def publish(
    hub: Hub, data: bytes, exclude: int | None = None, room: str = "", other: bytes | None = None
) -> None:
    hub.publish([raw(data, data if other is None else other)], room, exclude, len(data))


def subscribe(hub: Hub, conn: int, room: str = "", variant: int = 0) -> None:
    hub.subscribe(conn, room, VIEWS[variant])


class Kicks:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


async def take(outbox: Outbox) -> bytes:
    """What the writer task would write next (everything queued, in one chunk)."""
    await trio.lowlevel.checkpoint()
    batch = outbox.take()
    if batch is None:
        return b""
    outbox.sent(len(batch))
    return bytes(batch)


def test_hub_round_is_flushed_as_one_chunk_per_member() -> None:
    hub = Hub()
    boxes = [open_box(hub, i, None, Kicks()) for i in range(3)]
    for i in range(3):
        subscribe(hub, i)
    publish(hub, b"a\n", exclude=0)
    publish(hub, b"b\n", exclude=1)
    publish(hub, b"c\n")
    hub.flush()
    assert [b.statistics().queued_items for b in boxes] == [1, 1, 1]
    assert hub.statistics().flushes == 1


async def test_hub_exclusion_and_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    boxes = [open_box(hub, i, None, Kicks()) for i in range(3)]
    for i in range(3):
        subscribe(hub, i)
    publish(hub, b"a\n", exclude=0)
    hub.send(1, b"direct\n")
    publish(hub, b"b\n", exclude=1)
    publish(hub, b"c\n")
    hub.flush()
    assert await take(boxes[0]) == b"b\nc\n"
    assert await take(boxes[1]) == b"a\ndirect\nc\n"
    assert await take(boxes[2]) == b"a\nb\nc\n"


async def test_hub_subscriber_sees_only_what_is_published_after_it_joined(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    old = open_box(hub, 1, None, Kicks())
    subscribe(hub, 1)
    new = open_box(hub, 2, None, Kicks())
    publish(hub, b"before\n")
    hub.send(2, b"welcome\n")
    subscribe(hub, 2)
    publish(hub, b"after\n")
    hub.flush()
    assert await take(old) == b"before\nafter\n"
    assert await take(new) == b"welcome\nafter\n"


async def test_hub_unsubscribed_connection_gets_only_direct_sends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    box = open_box(hub, 1, None, Kicks())
    publish(hub, b"chat\n")
    hub.send(1, b"prompt: ")
    hub.flush()
    assert await take(box) == b"prompt: "


async def test_hub_run_flushes_once_per_round(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    box = open_box(hub, 1, None, Kicks())
    subscribe(hub, 1)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        for i in range(100):
            publish(hub, b"%d\n" % i)
        await trio.testing.wait_all_tasks_blocked()
        assert hub.statistics().flushes == 1
        assert await take(box) == b"".join(b"%d\n" % i for i in range(100))
        hub.shut_down([raw(b"bye\n", b"")])
    assert await take(box) == b"bye\n"


def test_hub_full_outboxes_are_kicked_without_blocking_the_publisher() -> None:
    hub = Hub(max_queue_bytes=100)
    slow_kicks, ok_kicks = Kicks(), Kicks()
    slow = open_box(hub, 1, None, slow_kicks)
    ok = open_box(hub, 2, None, ok_kicks)
    subscribe(hub, 1)
    subscribe(hub, 2)
    publish(hub, b"x" * 60)
    hub.flush()
    publish(hub, b"y" * 60)
    hub.flush()
    # Both are slow readers here: both are kicked, and publishing never blocked.
    assert slow.ended is Reason.SLOW and slow_kicks.count == 1
    assert ok.ended is Reason.SLOW and ok_kicks.count == 1
    hub.remove(1)
    assert hub.statistics().kicked_slow == 1


def test_hub_kick_is_per_connection() -> None:
    hub = Hub(max_queue_bytes=100)
    slow = open_box(hub, 1, None, Kicks())
    subscribe(hub, 1)
    taken: list[bytes] = []

    def fast_write(data: bytes | memoryview) -> int:
        taken.append(bytes(data))
        return len(data)

    fast = open_box(hub, 2, fast_write, Kicks())
    subscribe(hub, 2)
    for _ in range(3):
        publish(hub, b"z" * 60)
        hub.flush()
    assert slow.ended is Reason.SLOW
    assert fast.ended is None and taken == [b"z" * 60] * 3


def test_hub_direct_path_queues_only_the_remainder() -> None:
    hub = Hub()
    calls: list[int] = []

    def partial_write(data: bytes | memoryview) -> int:
        calls.append(len(data))
        return 4

    box = open_box(hub, 1, partial_write, Kicks())
    subscribe(hub, 1)
    publish(hub, b"0123456789")
    hub.flush()
    assert box.statistics().queued_bytes == 6
    publish(hub, b"more")
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
    blocked = open_box(hub, 1, would_block, Kicks())
    gone = open_box(hub, 2, broken, kicks)
    subscribe(hub, 1)
    subscribe(hub, 2)
    publish(hub, b"hello")
    hub.flush()
    assert blocked.statistics().queued_bytes == 5
    assert gone.ended is Reason.LOST and kicks.count == 1


def test_hub_statistics() -> None:
    hub = Hub(max_queue_bytes=1000)
    open_box(hub, 1, None, Kicks())
    open_box(hub, 2, None, Kicks())
    subscribe(hub, 1)
    publish(hub, b"abc")
    stats = hub.statistics()
    assert (stats.connections, stats.subscribed, stats.pending) == (2, 1, 1)
    hub.flush()
    assert hub.statistics().queued_bytes == 3


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
        open_box(hub, conn, Recorder(received[conn]), Kicks())
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
            publish(hub, data, exclude=exclude, room=room, other=other)
            for member in members[room]:
                if member != exclude:
                    pending[member].append((room, data, other))
        elif action == "send":
            hub.send(conn, data)
            pending[conn].append(data)
        elif action == "subscribe":
            subscribe(hub, conn, room, variant=flag % 2)
            members[room][conn] = flag % 2
        elif conn in members[room]:
            hub.unsubscribe(conn, room)
            flush()
            del members[room][conn]
    hub.flush()
    flush()
    assert received == model


def test_hub_counts_lines_out_and_deliveries_for_the_operator() -> None:
    hub = Hub(max_queue_bytes=1000)
    sent = bytearray()
    for conn in range(3):
        open_box(hub, conn, Recorder(sent), Kicks())
        subscribe(hub, conn)
    publish(hub, b"a\n", exclude=0)  # to 1 and 2
    publish(hub, b"b\n")  # to all three
    hub.flush()
    stats = hub.statistics()
    assert stats.lines_out == 5
    assert (stats.direct_writes, stats.queued_writes) == (3, 0)  # one write each, at once
    hub.send_events(1, [raw(b"pm\n", b"pm\n")])  # a private message
    hub.flush()
    hub.remove(1)  # a departed connection's deliveries still count
    stats = hub.statistics()
    assert (stats.lines_out, stats.direct_writes) == (6, 4)
    assert bytes(sent).count(b"b\n") == 3
