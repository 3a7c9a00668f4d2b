"""Sessions over in-memory streams: the reader/writer pair, errors, slow readers, timeouts."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
import trio
import trio.testing

from chat_trio.chat.world import Rules
from chat_trio.delivery.session import READ_SIZE
from chat_trio.transports.tcp import direct_writer
from tests.conftest import LineClient, MemoryServer, open_memory_server
from tests.test_web_door import Browser


async def test_session_conversation(server: MemoryServer) -> None:
    alice = server.connect()
    assert "Welcome to the chat, Alice! 1 user online." in await alice.register("Alice")
    bob = server.connect()
    assert "2 users online" in await bob.register("Bob")
    await alice.expect("* Bob joined the chat\r\n")
    await bob.send("Hi Alice!")
    await alice.expect("Bob: Hi Alice!\r\n")
    await alice.send("/users")
    await alice.expect("Users online: 2 (Alice, Bob)\r\n")
    await alice.send("/quit")
    assert (await alice.read_to_eof()).endswith("Goodbye!\r\n")
    await bob.expect("* Alice left the chat\r\n")
    assert server.chat.online == 1


async def test_session_half_typed_line_is_not_mixed_with_broadcasts(
    server: MemoryServer,
) -> None:
    alice, bob, carol = server.connect(), server.connect(), server.connect()
    for client, name in [(alice, "Alice"), (bob, "Bob"), (carol, "Carol")]:
        await client.register(name)
    await alice.stream.send_all(b"hel")
    await bob.send("interrupting!")
    await alice.expect("Bob: interrupting!\r\n")
    await alice.stream.send_all(b"lo\r\n")
    seen = await carol.expect("Alice: hello\r\n")
    assert "Bob: interrupting!\r\n" in seen


async def test_session_paste_arrives_whole_and_in_order(server: MemoryServer) -> None:
    alice, bob = server.connect(), server.connect()
    await alice.register("Alice")
    await bob.register("Bob")
    paste = "".join(f"line {i}\n" for i in range(500))
    await alice.stream.send_all(paste.encode())
    seen = await bob.expect("Alice: line 499\r\n")
    lines = [ln for ln in seen.split("\r\n") if ln.startswith("Alice: ")]
    assert lines == [f"Alice: line {i}" for i in range(500)]


async def test_session_slow_reader_is_cut_and_nobody_else_loses_a_line(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_memory_server(Rules(flood_rate=0), max_queue_bytes=4096) as server:
        alice, bob = server.connect(), server.connect()
        await alice.register("Alice")
        await bob.register("Bob")
        # Carol registers, then stops reading: a real socket whose kernel buffers fill up.
        carol_sock, server_sock = trio.socket.socketpair()
        for sock in (carol_sock, server_sock):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        server_stream = trio.SocketStream(server_sock)
        server.attach(server_stream, try_send=direct_writer(server_stream))
        carol = LineClient(trio.SocketStream(carol_sock))
        await carol.register("Carol")
        await alice.expect("* Carol joined the chat\r\n")
        for i in range(2000):
            await alice.send(f"message number {i:04d}, long enough to fill a queue quickly")
        seen = await bob.expect("Alice: message number 1999")
        assert seen.count("Alice: message number") == 2000
        await alice.expect("* Carol left the chat (too slow to receive)\r\n")
        assert server.chat.online == 2
        stats = server.hub.statistics()
        assert stats.kicked_slow == 1 and stats.connections == 2
        # Carol reads at last: what she gets ends with the reason she was cut.
        assert (await carol.read_to_eof()).endswith(
            "* Disconnected: too slow to receive (your send queue was full).\r\n"
        )
        await carol.stream.aclose()


class ExplodingStream(trio.abc.Stream):
    """A stream whose receive fails with a bug-like error after the name was sent."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.sent = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        if not self.sent:
            self.sent = True
            return b"Eve\n"
        raise self.error

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_session_bug_in_one_client_is_logged_and_contained(
    server: MemoryServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = server.connect()
    await alice.register("Alice")
    server.attach(ExplodingStream(RuntimeError("boom")))
    await alice.expect("* Eve joined the chat\r\n")
    await alice.expect("* Eve left the chat (server error)\r\n")
    await alice.send("/users")
    await alice.expect("Users online: 1 (Alice)\r\n")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "error conn=2" in errors[0].getMessage()


async def test_session_reset_frees_name_with_one_leave_notice(server: MemoryServer) -> None:
    alice = server.connect()
    await alice.register("Alice")
    server.attach(ExplodingStream(trio.BrokenResourceError("reset")))
    await alice.expect("* Eve left the chat (connection lost)\r\n")
    await alice.send("/users")
    seen = await alice.expect("Users online: 1 (Alice)\r\n")
    assert "left the chat" not in seen


async def test_session_name_timeout_on_virtual_clock(
    server: MemoryServer, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    client = server.connect()
    await client.expect("Enter your username: ")
    await client.send("1bad")
    await client.expect("Enter your username: ")
    text = await client.read_to_eof(wait_at_most=120)
    assert text == "\r\nNo valid username within 60 seconds.\r\nGoodbye!\r\n"
    assert trio.current_time() - start == pytest.approx(60)


async def test_session_eof_without_newline_still_delivers_the_line(server: MemoryServer) -> None:
    alice, bob = server.connect(), server.connect()
    await alice.register("Alice")
    await bob.register("Bob")
    await bob.stream.send_all(b"last words")
    await bob.stream.send_eof()  # type: ignore[attr-defined]
    await alice.expect("Bob: last words\r\n* Bob left the chat\r\n")


async def test_session_flood_control_delays_lines_on_the_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_memory_server(Rules(flood_burst=10, flood_rate=2.0)) as server:
        alice, bob = server.connect(), server.connect()
        await alice.register("Alice")
        await bob.register("Bob")
        await alice.expect("* Bob joined the chat\r\n")
        start = trio.current_time()
        for i in range(12):
            await alice.send(f"n{i}")
        await bob.expect("Alice: n9\r\n")
        assert trio.current_time() == start  # the burst went at once
        await alice.expect("* Slow down: at most 10 lines at once, then 2 per second.")
        await bob.expect("Alice: n10\r\n")
        assert trio.current_time() - start == pytest.approx(0.5)
        await bob.expect("Alice: n11\r\n")
        assert trio.current_time() - start == pytest.approx(1.0)


class StopsReading(trio.abc.Stream):
    """The server's side of a client that stops reading when told: writes then block forever."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.stopped = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.stopped:
            await trio.sleep_forever()
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_session_write_blocked_past_the_deadline_cuts_the_client(
    autojump_clock: trio.testing.MockClock, server: MemoryServer
) -> None:
    alice = server.connect()
    await alice.register("Alice")
    bob_side, server_side = trio.testing.memory_stream_pair()
    stuck = StopsReading(server_side)
    server.attach(stuck)
    await LineClient(bob_side).register("Bob")
    await alice.expect("* Bob joined the chat\r\n")
    stuck.stopped = True
    start = trio.current_time()
    await alice.send("are you there?")  # Bob's writer now blocks on this line
    await alice.expect("* Bob left the chat (too slow to receive)\r\n", wait_at_most=20)
    assert trio.current_time() - start == pytest.approx(10.0)  # DEFAULT_WRITE_TIMEOUT


async def test_session_answers_at_the_prompt_spend_flood_tokens(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 16, hole 3: a client without a name sent one 4 KB read of /help and was
    answered 585 times (a megabyte queued); every line spends a token, answered or not."""
    async with open_memory_server(Rules()) as server:  # 10 at once, then 2 a second
        client = server.connect()
        await client.expect("Enter your username: ")
        await client.stream.send_all(b"/help\r\n" * 585)
        seen = await client.read_to_eof()
        assert seen.count("Commands:") == 10
        assert "Disconnected for flooding" in seen and seen.endswith("Goodbye!\r\n")


async def test_session_its_own_answers_wait_for_its_own_backlog(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 16, hole 3: answers were queued whole past the send-queue bound (an empty
    queue took a whole round); now a connection's input waits while its own backlog is
    over its share, and nothing is lost once it reads."""
    async with open_memory_server(Rules(flood_rate=0)) as server:
        client_side, server_side = trio.testing.lockstep_stream_pair()  # writes wait for reads
        server.attach(server_side)
        server.nursery.start_soon(client_side.send_all, b"/help\r\n" * 585 + b"/quit\r\n")
        await trio.testing.wait_all_tasks_blocked()
        outbox = server.hub.outbox(1)
        assert outbox is not None
        assert outbox.backlog <= outbox.own_share + 4096  # its share, and an answer or two
        assert not outbox.at_risk  # so it holds nobody else
        seen = await LineClient(client_side).read_to_eof(wait_at_most=60)
        assert seen.count("Commands:") == 585 and seen.endswith("Goodbye!\r\n")


class SlowLink(StopsReading):
    """The server's side of a client that reads, slowly: each write takes 0.4 s."""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.sleep(0.4)
        await self.inner.send_all(data)


async def test_session_a_slow_reader_holds_only_the_senders_into_its_rooms(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 16, hole 2: while one client near its bound was still reading, every reader
    on the server waited (two others' messages took 14 s); now only its rooms' senders do."""
    async with open_memory_server(Rules(flood_rate=0), max_queue_bytes=4096) as server:
        alice, bob, carol = server.connect(), server.connect(), server.connect()
        for client, name in [(alice, "Alice"), (bob, "Bob"), (carol, "Carol")]:
            await client.register(name)
        mallory_side, server_side = trio.testing.memory_stream_pair()
        server.attach(SlowLink(server_side))
        mallory = LineClient(mallory_side)
        await mallory.register("Mallory")
        for client in (alice, bob):
            await client.send("/join #quiet")
            await client.expect("* You joined #quiet")
        flood = "".join(f"flooding #lobby with line {n:03d}\n" for n in range(90))
        await carol.stream.send_all(flood.encode())
        for _ in range(100):  # Mallory's outbox passes half its bound
            if server.hub.statistics().at_risk:
                break
            await trio.sleep(0.01)
        assert server.hub.statistics().at_risk == 1
        start = trio.current_time()
        await bob.send("psst")
        await alice.expect("Bob: psst\r\n")
        assert trio.current_time() - start < 0.05  # not held by Mallory's backlog
        assert server.hub.statistics().at_risk == 1  # which is still there


def record_rounds(server: MemoryServer) -> list[int]:
    """What each round the hub flushes from now on published (flow control's count)."""
    rounds: list[int] = []
    flushed = server.hub.flow.flushed

    def counting(growth: float) -> None:
        rounds.append(server.hub.flow.round_bytes)
        flushed(growth)

    server.hub.flow.flushed = counting  # type: ignore[method-assign]
    return rounds


async def test_session_readers_held_by_congestion_go_on_within_the_round_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Readers held mid-chunk by a slow reader's rooms were all let go at once when its
    outbox drained, and each carried out the rest of its chunk in the same round: the
    round grew to several chunks (a web flood cut 433 of 500 page clients whose queues
    were under half full). After any wait the next line is checked against the round."""
    async with open_memory_server(Rules(flood_rate=0), max_queue_bytes=4096) as server:
        rounds = record_rounds(server)
        held = 0
        wait_for_clear = server.hub.flow.wait_for_clear

        async def counting_holds() -> None:
            nonlocal held
            held += 1
            await wait_for_clear()

        server.hub.flow.wait_for_clear = counting_holds  # type: ignore[method-assign]
        senders = [server.connect() for _ in range(4)]
        for n, client in enumerate(senders):
            await client.register(f"Sender{n}")
        mallory_side, server_side = trio.testing.memory_stream_pair()
        server.attach(SlowLink(server_side))
        await LineClient(mallory_side).register("Mallory")
        lines = [f"sender 0 floods #lobby, line {k:03d}" for k in range(130)]
        chunk = "".join(f"{line}\n" for line in lines).encode()[:READ_SIZE]  # one read
        for n, client in enumerate(senders):
            await client.stream.send_all(chunk.replace(b"sender 0", f"sender {n}".encode()))
        await trio.sleep(30)  # Mallory drains (and is cut or not), the senders go on
        assert held > 0  # Mallory's backlog held the senders into #lobby
        one_line = len(f"Sender0: {lines[0]}\r\n")  # a round: its budget and one line
        assert max(rounds) <= server.hub.flow.round_budget + one_line


async def test_session_a_chunk_of_short_lines_is_published_over_several_rounds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A round passed its budget by a whole chunk: 4 KB of short lines render to many
    times that (on the page, 292 lines of 14 bytes were 31 KB of JSON, past the budget
    of 24 KiB before any other reader's), which cut clients whose queues were under half
    full. Now a reader stops where its next line would pass the budget."""
    async with open_memory_server(Rules(flood_rate=0), max_queue_bytes=4096) as server:
        rounds = record_rounds(server)
        alice, bob = server.connect(), server.connect()
        await alice.register("Alice")
        await bob.register("Bob")
        await alice.expect("* Bob joined the chat\r\n")
        await bob.stream.send_all(b"x\n" * 2048)  # one read: 2,048 lines
        await bob.send("end")
        seen = await alice.expect("Bob: end\r\n", wait_at_most=60)
        assert seen.count("Bob: x\r\n") == 2048
        one_line = len("Bob: x\r\n")
        assert max(rounds) <= server.hub.flow.round_budget + one_line


async def test_session_a_delivery_that_gives_the_door_items_wakes_its_reader(
    server: MemoryServer, autojump_clock: trio.testing.MockClock
) -> None:
    """A page user kicked out of its last room is put in #lobby, and its door asks for
    #lobby's members (door.deliver): the reader, waiting for input until its next ping, is
    woken and hands the question over at once, without virtual time passing."""
    alice = server.connect()
    await alice.register("Alice")
    browser = Browser()
    page, server_side = trio.testing.memory_stream_pair()
    server.attach(server_side, door=browser.door)
    seen: list[dict[str, Any]] = []

    async def until(kind: str, **fields: Any) -> None:
        with trio.fail_after(300):  # virtual seconds: several pings' worth
            while not any(e["type"] == kind and fields.items() <= e.items() for e in seen):
                seen.extend(browser.events(await page.receive_some(65536)))
        seen.clear()

    await page.send_all(browser.message({"type": "choose-name", "name": "Bob"}))
    await until("users", room="#lobby", label="members")
    await alice.send("/join #rust")
    await alice.expect("* You joined #rust (1 user here).\r\n")
    await page.send_all(browser.message({"type": "join", "room": "#rust"}))
    await until("users", room="#rust", label="members")
    await page.send_all(browser.message({"type": "leave", "room": "#lobby"}))
    await until("room-left", room="#lobby")
    await alice.send("/kick Bob enough")
    before = trio.current_time()
    await until("users", room="#lobby", label="members")
    assert trio.current_time() == before  # not at the next ping, many seconds on
