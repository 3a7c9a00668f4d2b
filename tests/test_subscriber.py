"""The supervised pub/sub connection against a real redis-server (tests/redis_server.py):
messages in order, channels changed while connected and while Redis is away, Redis killed,
restarted or hung (SIGSTOP), and a consumer that stops reading.

Real time, real sockets: every wait is bounded by ``trio.fail_after``; what is asserted is
what the node would see (arrivals, statistics), never how long something took.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio

from chat_trio.nodes.resp import MAX_BYTES, NEED_DATA, Replies, command
from chat_trio.nodes.subscriber import (
    BUFFER,
    Arrival,
    Lost,
    Message,
    Restored,
    Subscriber,
    SubscriberError,
)
from tests.redis_server import RedisServer, needs_redis, redis_server

__all__ = ["redis_server"]  # the fixture, used by name

pytestmark = needs_redis

KEEPALIVE = 0.25  #: the tests' PING period: a hung Redis is noticed within 0.5 s
BOUND = 20.0  #: seconds any one step may take on a loaded machine


async def publish(port: int, channel: str, *messages: bytes) -> int:
    """PUBLISH each message (pipelined, one connection); how many subscribers the last
    one reached."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"".join(command("PUBLISH", channel, m) for m in messages))
        replies, answers = Replies(), list[object]()
        while len(answers) < len(messages):
            while (reply := replies.next()) is not NEED_DATA:
                answers.append(reply)
            if len(answers) < len(messages):
                replies.feed(await stream.receive_some(65536))
        last = answers[-1]
        assert isinstance(last, int), answers
        return last


async def wait_until(check: Callable[[], bool]) -> None:
    """Poll ``check`` (bounded by the caller's ``fail_after``)."""
    while not check():  # noqa: ASYNC110 - Redis's state, or a task's: no event to wait on
        await trio.sleep(0.01)


@asynccontextmanager
async def subscribed(
    redis: RedisServer, *channels: str, buffer: int = BUFFER, url: str = ""
) -> AsyncIterator[tuple[Subscriber, trio.MemoryReceiveChannel[Arrival]]]:
    """A subscriber to ``channels``, started (subscribed), and the whole block under the
    ``BOUND``."""
    subscriber = Subscriber.from_url(url or redis.url, keepalive=KEEPALIVE, buffer=buffer)
    for channel in channels:
        subscriber.subscribe(channel)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            await nursery.start(subscriber.run)
            yield subscriber, subscriber.arrivals()
            nursery.cancel_scope.cancel()


async def test_subscriber_messages_arrive_in_order(redis_server: RedisServer) -> None:
    async with subscribed(redis_server, "a", "b") as (subscriber, arrivals):
        assert subscriber.statistics().channels == 2  # confirmed before started()
        sent = [b"line %d" % n for n in range(500)]
        assert await publish(redis_server.port, "a", *sent) == 1
        await publish(redis_server.port, "b", b"\x00\r\n\xff binary")
        got = [await arrivals.receive() for _ in range(501)]
    assert got == [Message("a", m) for m in sent] + [Message("b", b"\x00\r\n\xff binary")]
    assert subscriber.statistics().messages == 501


async def test_subscriber_subscribe_and_unsubscribe_while_connected(
    redis_server: RedisServer,
) -> None:
    async with subscribed(redis_server, "a") as (subscriber, arrivals):
        subscriber.subscribe("b")
        await wait_until(lambda: subscriber.statistics().channels == 2)
        await publish(redis_server.port, "b", b"to b")
        assert await arrivals.receive() == Message("b", b"to b")
        subscriber.unsubscribe("a")
        await wait_until(lambda: subscriber.statistics().channels == 1)
        assert await publish(redis_server.port, "a", b"to a") == 0  # nobody listens
        await publish(redis_server.port, "b", b"to b again")
        assert await arrivals.receive() == Message("b", b"to b again")
        assert subscriber.statistics().wanted == 1


async def test_subscriber_after_unsubscribe_only_what_was_queued_arrives(
    redis_server: RedisServer,
) -> None:
    async with subscribed(redis_server, "a", buffer=1) as (subscriber, arrivals):
        await publish(redis_server.port, "a", *[b"%d" % n for n in range(50)])
        await wait_until(lambda: subscriber.statistics().blocked)
        subscriber.unsubscribe("a")
        # One was queued, one was being handed over; the 48 behind them are dropped.
        assert [await arrivals.receive() for _ in range(2)] == [
            Message("a", b"0"),
            Message("a", b"1"),
        ]
        await wait_until(lambda: subscriber.statistics().channels == 0)
        stats = subscriber.statistics()
        assert (stats.messages, stats.ignored, stats.queued) == (2, 48, 0)


async def test_subscriber_a_message_over_the_reply_bound_ends_the_link_not_the_node(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with subscribed(redis_server, "a") as (_, arrivals):
        await publish(redis_server.port, "a", b"x" * (MAX_BYTES + 1), b"lost with it")
        assert isinstance(await arrivals.receive(), Lost)
        assert isinstance(await arrivals.receive(), Restored)
        await publish(redis_server.port, "a", b"after")
        assert await arrivals.receive() == Message("a", b"after")
    assert f"reason=a reply larger than {MAX_BYTES} bytes" in caplog.text


async def test_subscriber_channels_changed_while_redis_is_down_apply_on_reconnect(
    redis_server: RedisServer,
) -> None:
    async with subscribed(redis_server, "a", "gone") as (subscriber, arrivals):
        redis_server.stop()
        assert isinstance(await arrivals.receive(), Lost)
        subscriber.subscribe("late")
        subscriber.unsubscribe("gone")
        redis_server.restart()
        restored = await arrivals.receive()
        assert isinstance(restored, Restored) and restored.down > 0
        stats = subscriber.statistics()
        assert (stats.connected, stats.channels, stats.reconnects) == (True, 2, 1)
        assert await publish(redis_server.port, "gone", b"x") == 0
        assert await publish(redis_server.port, "late", b"hello") == 1
        assert await arrivals.receive() == Message("late", b"hello")


async def test_subscriber_redis_killed_mid_stream_one_lost_one_restored(
    redis_server: RedisServer,
) -> None:
    got: list[Arrival] = []
    async with subscribed(redis_server, "room") as (subscriber, arrivals):
        await publish(redis_server.port, "room", *[b"%d" % n for n in range(200)])
        redis_server.kill()
        redis_server.restart()
        while not isinstance(arrival := await arrivals.receive(), Restored):
            got.append(arrival)
        got.append(arrival)
        await publish(redis_server.port, "room", b"after")
        got.append(await arrivals.receive())
    assert got[:200] == [Message("room", b"%d" % n) for n in range(200)]
    assert [type(a) for a in got[200:]] == [Lost, Restored, Message]
    assert got[-1] == Message("room", b"after")
    stats = subscriber.statistics()
    assert (stats.outages, stats.reconnects) == (1, 1)


async def test_subscriber_retries_back_off_to_a_second_and_the_log_tells_the_outage(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chat_trio.nodes")

    def delays() -> list[str]:
        return re.findall(r"redis-subscriber-retry in=(\S+)s", caplog.text)

    async with subscribed(redis_server, "a", "b") as (_, arrivals):
        redis_server.stop()
        assert isinstance(await arrivals.receive(), Lost)
        await wait_until(lambda: len(delays()) >= 7)
        redis_server.restart()
        assert isinstance(await arrivals.receive(), Restored)
    assert delays()[:7] == ["0.05", "0.10", "0.20", "0.40", "0.80", "1.00", "1.00"]
    retries = [r for r in caplog.records if r.getMessage().startswith("redis-subscriber-retry")]
    assert [r.levelname for r in retries[:3]] == ["WARNING", "DEBUG", "DEBUG"]  # once an outage
    assert "redis-subscriber-lost reason=Redis closed the connection channels=2" in caplog.text
    assert re.search(r"redis-subscriber-restored down=\d+\.\d\ds channels=2", caplog.text)


async def test_subscriber_a_hung_redis_is_noticed_and_found_again(
    redis_server: RedisServer,
) -> None:
    async with subscribed(redis_server, "room") as (subscriber, arrivals):
        redis_server.pause()
        try:
            with trio.fail_after(2.5):  # the bound for a hung Redis
                lost = await arrivals.receive()
            assert isinstance(lost, Lost)
            assert not subscriber.statistics().connected
        finally:
            redis_server.resume()
        restored = await arrivals.receive()
        assert isinstance(restored, Restored)
        assert restored.at - restored.down == lost.at
        await publish(redis_server.port, "room", b"back")
        assert await arrivals.receive() == Message("room", b"back")
    stats = subscriber.statistics()
    assert (stats.outages, stats.reconnects, stats.connected) == (1, 1, False)


async def test_subscriber_a_consumer_that_waits_is_not_taken_for_a_hung_redis(
    redis_server: RedisServer,
) -> None:
    """The reader blocked on a full channel does not read PONGs meanwhile: that time does
    not count against the keepalive's deadline."""
    async with subscribed(redis_server, "room", buffer=5) as (subscriber, arrivals):
        await publish(redis_server.port, "room", *[b"%d" % n for n in range(20)])
        await wait_until(lambda: subscriber.statistics().blocked)
        await trio.sleep(8 * KEEPALIVE)  # many PING periods with nobody reading
        got = [await arrivals.receive() for _ in range(20)]
    assert got == [Message("room", b"%d" % n) for n in range(20)]
    assert subscriber.statistics().outages == 0


async def test_subscriber_a_slow_consumer_holds_at_most_buffer_and_recovers(
    redis_server: RedisServer,
) -> None:
    # Redis cuts a subscriber off once 64 KiB wait for it: quick to reach in a test.
    redis_server.cli("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 32kb 1")
    most = 0
    async with subscribed(redis_server, "room", buffer=50) as (subscriber, arrivals):
        batches = 0
        # 200 messages of 200 bytes a batch, nobody reading, until Redis cuts us off
        # (once the kernels' socket buffers are full too: a few MB on loopback).
        while redis_server.cli("PUBSUB", "NUMSUB", "room").split() != ["room", "0"]:
            await publish(redis_server.port, "room", *[b"%04d" % batches + b"." * 196] * 200)
            batches += 1
            most = max(most, subscriber.statistics().queued)
        assert most == subscriber.statistics().capacity == 50
        assert subscriber.statistics().blocked  # it learns of the cut once read again
        kinds: list[type] = []
        while not isinstance(arrival := await arrivals.receive(), Restored):
            kinds.append(type(arrival))
            most = max(most, subscriber.statistics().queued)
        await publish(redis_server.port, "room", b"after")
        assert await arrivals.receive() == Message("room", b"after")
    assert most <= 50
    assert kinds.count(Lost) == 1 and kinds[-1] is Lost
    assert 50 <= kinds.count(Message) < batches * 200  # the rest: what sequence numbers reveal
    assert subscriber.statistics().outages == 1


async def test_subscriber_cancelled_closes_its_connection_and_arrivals(
    redis_server: RedisServer,
) -> None:
    async with subscribed(redis_server, "room") as (_, arrivals):
        assert redis_server.cli("PUBSUB", "NUMSUB", "room").split() == ["room", "1"]
    with pytest.raises(trio.EndOfChannel):
        arrivals.receive_nowait()
    with trio.fail_after(BOUND):
        await wait_until(lambda: redis_server.cli("PUBSUB", "NUMSUB", "room") == "room\n0")


async def test_subscriber_first_connect_failing_is_one_clear_error(
    redis_server: RedisServer,
) -> None:
    port = redis_server.port
    redis_server.stop()
    subscriber = Subscriber("127.0.0.1", port)
    with trio.fail_after(BOUND), pytest.raises(SubscriberError) as caught:
        await subscriber.run()
    assert str(caught.value) == (
        f"cannot subscribe at redis://127.0.0.1:{port}/0: "
        f"all attempts to connect to 127.0.0.1:{port} failed"
    )


async def test_subscriber_a_refused_password_is_said_as_redis_says_it(
    redis_server: RedisServer,
) -> None:
    url = f"redis://:wrong@127.0.0.1:{redis_server.port}/2"
    with trio.fail_after(BOUND), pytest.raises(SubscriberError) as caught:
        await Subscriber.from_url(url).run()
    assert str(caught.value).startswith(
        f"cannot subscribe at redis://127.0.0.1:{redis_server.port}/2: Redis refused: ERR AUTH"
    )


async def test_subscriber_selects_the_database_of_the_url(redis_server: RedisServer) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/3"
    async with subscribed(redis_server, "room", url=url) as (_, arrivals):
        await publish(redis_server.port, "room", b"hi")
        assert await arrivals.receive() == Message("room", b"hi")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://x", "^http://x: the subscriber takes redis://HOST:PORT/DB only"),
        ("redis://127.0.0.1:99999/0", "the port is not a number 0-65535"),
        ("rediss://:secret@h:6379/0", r"^rediss://:\*\*\*@h:6379/0: .* \(not TLS or a unix"),
        ("redis://127.0.0.1:6379/x", "expected redis://HOST:PORT/DB, DB a number"),
        ("redis:///0", "expected redis://HOST:PORT/DB"),
    ],
)
def test_subscriber_a_bad_url_is_refused_clearly(url: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        Subscriber.from_url(url)


def test_subscriber_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Subscriber("127.0.0.1", 6379, buffer=0)
