"""The tutorial's programs behave as the chapters of docs/learn/ say: the failures are real."""

from __future__ import annotations

import contextlib
import os
import re
import runpy
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import cast

import pytest
import trio
import trio.testing

from docs.tutorial import (
    broadcast_channels,
    broadcast_channels_solution,
    broadcast_locked,
    broadcast_locked_solution,
    broadcast_naive,
    broadcast_naive_solution,
    core,
    core_server,
    core_solution,
    deadlines,
    deadlines_solution,
    echo,
    echo_solution,
    history,
    history_solution,
    run,
    shutdown,
    shutdown_solution,
    supervisor,
    supervisor_solution,
)
from tests.conftest import LineClient

Handler = Callable[[trio.SocketStream], Awaitable[None]]


@asynccontextmanager
async def tutorial_server(handle: Handler) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def local_listeners() -> list[trio.SocketListener]:
    """Listeners on 127.0.0.1 and a free port, as ``run.start`` gives a program's ``main``."""
    return await trio.open_tcp_listeners(0, host="127.0.0.1")


async def join(port: int, name: str, receive_buffer: int | None = None) -> LineClient:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    if receive_buffer is not None:
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    client = LineClient(stream)
    await client.expect("Enter your username: ")
    await client.send(name)
    await client.expect(f"Welcome, {name}!\r\n")
    return client


async def test_tutorial_naive_broadcast_crashes_under_two_senders() -> None:
    broadcast_naive.clients.clear()
    streams: list[trio.SocketStream] = []
    with (
        trio.fail_after(10),
        pytest.RaisesGroup(trio.BusyResourceError, flatten_subgroups=True),
    ):
        async with tutorial_server(broadcast_naive.handle) as port:
            reader, alice, bob = [await join(port, n) for n in ("Reader", "Alice", "Bob")]
            streams = [c.stream for c in (reader, alice, bob)]  # type: ignore[misc]
            lines = b"".join(b"line %d\n" % i for i in range(50))
            await alice.stream.send_all(lines)
            await bob.stream.send_all(lines)
            await trio.sleep_forever()  # the server crashes: that ends the test
    for stream in streams:
        await stream.aclose()


async def slow_reader_scenario(handle: Handler) -> tuple[str, LineClient]:
    """Slow stops reading; Talker sends 2,000 lines; return what Fast saw in 10 s."""
    async with tutorial_server(handle) as port:
        slow = await join(port, "Slow", receive_buffer=4096)
        fast = await join(port, "Fast")
        talker = await join(port, "Talker")
        seen = ""

        async def fast_reads() -> None:
            nonlocal seen
            seen = await fast.expect("message 1999", wait_at_most=10)

        with trio.move_on_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(fast_reads)  # Fast reads all along, as a healthy client does
                for i in range(2000):
                    await talker.send(f"message {i:04d} with some padding to fill buffers sooner")
        for client in (fast, talker):
            await client.stream.aclose()
    return seen, slow


async def test_tutorial_locked_broadcast_lets_one_slow_reader_stall_everyone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broadcast_locked.clients.clear()
    seen, slow = await slow_reader_scenario(broadcast_locked.handle)
    assert seen == ""  # Fast never got the last line: the talker was stuck behind Slow
    await slow.stream.aclose()


async def test_tutorial_channel_broadcast_cuts_the_slow_reader_only() -> None:
    # Real clock: nothing stalls here, and draining Slow's socket at the end involves TCP
    # window updates that a jumping clock would not wait for.
    broadcast_channels.outboxes.clear()
    seen, slow = await slow_reader_scenario(broadcast_channels.handle)
    assert seen.count("Talker: message") == 2000
    assert "Slow" not in broadcast_channels.outboxes
    received = await slow.read_to_eof()  # ends: the server closed Slow's connection
    assert received.count("Talker: message") < 2000
    await slow.stream.aclose()


# The learning path (docs/learn/): one or more tests per chapter's program and exercise.


def test_tutorial_port_from_the_command_line_or_a_one_line_refusal() -> None:
    assert run.port_from(["echo"], 8001) == 8001
    assert run.port_from(["echo", "9000"], 8001) == 9000
    for bad in ("http", "0", "65536", "-1", "٣"):
        with pytest.raises(SystemExit, match="the port must be a number from 1 to 65535"):
            run.port_from(["echo", bad], 8001)


async def test_tutorial_programs_listen_on_this_machine_only_and_then_say_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[str] = []

    async def main(listeners: list[trio.SocketListener]) -> None:
        seen.append(capsys.readouterr().out)  # what was printed before main ran
        seen.extend(listener.socket.getsockname()[0] for listener in listeners)

    with trio.fail_after(10):
        await run.listen_then(main, 0)
    assert re.fullmatch(r"listening on port (\d+): try  nc localhost \1\n", seen[0])
    assert seen[1:] == ["127.0.0.1"]


def free_port() -> int:
    """A port that nothing listens on, once this returns."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_tutorial_programs_report_a_later_oserror_as_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main(listeners: list[trio.SocketListener]) -> None:
        raise OSError(5, "the disk is on fire")  # long after the listener opened

    monkeypatch.setattr(sys, "argv", ["program", str(free_port())])
    with pytest.raises(OSError, match="the disk is on fire"):  # not "cannot listen"
        run.start(main, 8000)


async def test_tutorial_echo_gives_each_client_its_own_bytes_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with trio.fail_after(10):
        async with tutorial_server(echo.echo) as port:
            first = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
            second = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
            await first.send("hello")
            await second.send("bonjour")
            assert await second.expect("\n") == "bonjour\r\n"
            assert await first.expect("\n") == "hello\r\n"
            await first.stream.aclose()  # one client leaving does not end another's task
            await second.send("encore")
            assert await second.expect("\n") == "encore\r\n"
            await second.stream.aclose()
    log = capsys.readouterr().out.splitlines()
    assert len([line for line in log if re.fullmatch(r"client \d+ connected", line)]) == 2


async def test_tutorial_echo_solution_counts_the_others() -> None:
    with trio.fail_after(10):
        async with tutorial_server(echo_solution.greet_then_echo) as port:
            first = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
            await first.expect("Hello! 0 other client(s) connected.\n")
            second = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
            await second.expect("Hello! 1 other client(s) connected.\n")
            await second.stream.aclose()
            await first.send("still here")
            await first.expect("still here\r\n")
            third = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
            await third.expect("Hello! 1 other client(s) connected.\n")  # second has left
            for client in (first, third):
                await client.stream.aclose()


async def test_tutorial_naive_solution_survives_two_senders_but_ends_a_sender() -> None:
    broadcast_naive.clients.clear()
    with trio.fail_after(10):
        async with tutorial_server(broadcast_naive_solution.handle) as port:
            reader, alice, bob = [await join(port, n) for n in ("Reader", "Alice", "Bob")]
            lines = b"".join(b"line %d\n" % i for i in range(50))
            await alice.stream.send_all(lines)
            await bob.stream.send_all(lines)
            await broadcast_naive_solution.failed.wait()
            assert len(broadcast_naive.clients) < 3  # a session ended...
            carol = await join(port, "Carol")  # ...but the server still serves
            for client in (reader, alice, bob, carol):
                await client.stream.aclose()


async def test_tutorial_locked_solution_cuts_the_slow_reader_after_one_second(
    autojump_clock: trio.testing.MockClock,
) -> None:
    broadcast_locked.clients.clear()
    seen, slow = await slow_reader_scenario(broadcast_locked_solution.handle)
    assert seen.count("Talker: message") == 2000  # Fast got everything
    assert "Slow" not in broadcast_locked.clients
    await slow.stream.aclose()


@pytest.mark.parametrize(
    "handle",
    [broadcast_locked.handle, broadcast_locked_solution.handle],
    ids=["lock", "solution"],
)
async def test_tutorial_locked_broadcast_survives_a_receiver_leaving_mid_broadcast(
    handle: Handler,
) -> None:
    broadcast_locked.clients.clear()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:  # a crash in any session ends the test
            serve = cast(Callable[[trio.abc.Stream], Awaitable[None]], handle)
            talker = connect(nursery, serve)
            slow = connect(nursery, serve, trio.testing.lockstep_stream_pair)
            leaving = connect(nursery, serve)
            for client, name in ((talker, "Talker"), (slow, "Slow"), (leaving, "Leaving")):
                await log_in(client, name)
            await talker.send("hello")
            await trio.testing.wait_all_tasks_blocked()  # the broadcast waits for Slow...
            await leaving.stream.aclose()  # ...while Leaving leaves, its stream closed
            await trio.testing.wait_all_tasks_blocked()
            assert "Leaving" not in broadcast_locked.clients
            assert await slow.expect("\n") == "Talker: hello\r\n"  # on to Leaving: skipped
            await talker.send("still here")
            assert await slow.expect("\n") == "Talker: still here\r\n"
            nursery.cancel_scope.cancel()


async def test_tutorial_channels_solution_tells_the_others_who_was_cut() -> None:
    broadcast_channels.outboxes.clear()
    seen, slow = await slow_reader_scenario(broadcast_channels_solution.handle_and_tell)
    assert "server: Slow was too slow and has been disconnected\r\n" in seen
    assert seen.count("Talker: message") == 2000
    await slow.stream.aclose()


def splits(data: bytes) -> list[list[bytes]]:
    """Every way to cut ``data`` in two, and byte by byte: how a network may deliver it."""
    halves = [[data[:i], data[i:]] for i in range(1, len(data))]
    return [*halves, [bytes([b]) for b in data]]  # never b"": to the rules that means EOF


def script(chunks: list[bytes]) -> list[core.Output]:
    """Alice is here; Bob's bytes arrive in these chunks. All that the rules answer."""
    chat = core.Chat()
    outputs = chat.connect(1) + chat.receive(1, b"Alice\r\n") + chat.connect(2)
    for chunk in chunks:
        outputs += chat.receive(2, chunk)
    return outputs


def test_tutorial_core_answers_the_same_however_the_bytes_are_cut() -> None:
    data = b"Bob\r\nhi \xc3\xa9veryone\r\n/quit\r\nignored after quit\r\n"
    whole = script([data])
    assert whole[-5:] == [
        core.Send(1, b"* Bob joined\r\n"),
        core.Send(1, "Bob: hi \u00e9veryone\r\n".encode()),
        core.Send(2, b"Bye!\r\n"),
        core.Close(2),
        core.Send(1, b"* Bob left\r\n"),
    ]
    for chunks in splits(data):
        assert script(chunks) == whole, chunks


def test_tutorial_core_refuses_a_taken_name_and_cuts_an_endless_line() -> None:
    chat = core.Chat()
    chat.connect(1), chat.receive(1, b"Alice\n"), chat.connect(2)
    assert chat.receive(2, b"Alice\n") == [
        core.Send(2, b"That name is empty or taken. Enter your username: ")
    ]
    assert chat.receive(2, b"x" * (core.MAX_LINE + 1)) == [
        core.Send(2, b"Line too long.\r\n"),
        core.Close(2),
    ]
    assert chat.receive(2, b"") == []  # the transport's EOF after the rules' Close: nothing


def test_tutorial_core_solution_lists_who_is_here() -> None:
    chat = core_solution.ChatWithWho()
    chat.connect(1), chat.receive(1, b"Bob\n"), chat.connect(2), chat.receive(2, b"Alice\n")
    assert chat.receive(1, b"/w") == []
    assert chat.receive(1, b"ho\n") == [core.Send(1, b"Here: Alice, Bob\r\n")]
    assert chat.receive(3, b"/who\n") == []  # not connected: nothing
    chat.connect(3)
    assert chat.receive(3, b"/who\n")[0].to == 3  # no name yet: "/who" is a name like any


async def reset(client: LineClient) -> None:
    """Close with a TCP reset, as a crashed client or a dropped network does."""
    assert isinstance(client.stream, trio.SocketStream)
    client.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await client.stream.aclose()


@pytest.mark.parametrize(
    "handle", [broadcast_channels.handle, core_server.Server().handle], ids=["channels", "core"]
)
async def test_tutorial_a_reset_connection_ends_only_its_own_session(handle: Handler) -> None:
    broadcast_channels.outboxes.clear()
    with trio.fail_after(10):
        async with tutorial_server(handle) as port:
            alice, bob = await join(port, "Alice"), await join(port, "Bob")
            await reset(bob)
            for i in range(20):  # the server's writes to Bob fail: that is Bob's problem
                await alice.send(f"line {i}")
            carol = await join(port, "Carol")  # the server is still up
            await alice.send("still here")
            assert "Alice: still here" in await carol.expect("still here")
            for client in (alice, carol):
                await client.stream.aclose()


async def test_tutorial_core_server_carries_out_the_rules_over_tcp() -> None:
    with trio.fail_after(10):
        async with tutorial_server(core_server.Server().handle) as port:
            alice, bob = await join(port, "Alice"), await join(port, "Bob")
            assert await alice.expect("\n") == "* Bob joined\r\n"
            await bob.send("hello")
            assert await alice.expect("\n") == "Bob: hello\r\n"
            await bob.send("/quit")
            assert await bob.read_to_eof() == "Bye!\r\n"  # then the server closed it
            assert await alice.expect("\n") == "* Bob left\r\n"
            for client in (alice, bob):
                await client.stream.aclose()


async def test_tutorial_shutdown_stops_accepting_announces_and_says_goodbye(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server, stop = shutdown.GracefulServer(), trio.Event()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run, await local_listeners(), stop)
        alice, bob = await join(port, "Alice"), await join(port, "Bob")
        began = trio.current_time()
        stop.set()
        await alice.expect("* Bob joined\r\nServer stopping in 10 s.\r\n")
        with pytest.raises(OSError, match="all attempts to connect"):  # 1. not accepting
            await trio.open_tcp_stream("127.0.0.1", port)
        await bob.send("/quit")  # Bob leaves within the grace period: no goodbye for him
        assert await bob.read_to_eof() == "Server stopping in 10 s.\r\nBye!\r\n"
        # Alice stays until the deadline, then gets the shielded goodbye.
        assert await alice.read_to_eof(wait_at_most=60) == (
            "* Bob left\r\nServer stopped. Goodbye!\r\n"
        )
    assert trio.current_time() - began == shutdown.GRACE  # exactly the grace period
    for client in (alice, bob):
        await client.stream.aclose()


class UnshieldedServer(shutdown.GracefulServer):
    """Chapter 6's server with the goodbye as people first write it: no shield."""

    async def goodbye(self, stream: trio.abc.Stream) -> None:
        with contextlib.suppress(trio.BrokenResourceError):
            await stream.send_all(b"Server stopped. Goodbye!\r\n")


async def test_tutorial_shutdown_without_the_shield_the_goodbye_is_never_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server, stop = UnshieldedServer(), trio.Event()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run, await local_listeners(), stop)
        alice = await join(port, "Alice")
        stop.set()
        assert await alice.read_to_eof(wait_at_most=60) == "Server stopping in 10 s.\r\n"
    await alice.stream.aclose()


async def test_tutorial_shutdown_solution_stops_at_once_on_a_second_signal(
    autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    server, stop = shutdown.GracefulServer(), trio.Event()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run, await local_listeners(), stop)
        alice = await join(port, "Alice")
        began = trio.current_time()
        shutdown_solution.on_signal(server, stop)
        await alice.expect("Server stopping in 10 s.\r\n")
        shutdown_solution.on_signal(server, stop)
        assert await alice.read_to_eof() == "Server stopped. Goodbye!\r\n"
    assert trio.current_time() == began  # no grace period waited
    assert capsys.readouterr().out == (
        "stopping: clients have 10 s (Ctrl-C again to stop now)\nstopping now\n"
    )
    await alice.stream.aclose()


async def test_tutorial_deadlines_let_go_of_a_silent_login_at_exactly_30_s(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with tutorial_server(deadlines.TimedServer().handle) as port:
        client = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
        began = trio.current_time()
        await client.send("")  # an empty name is refused, and the deadline does not restart
        assert await client.read_to_eof(wait_at_most=60) == (
            "Enter your username: That name is empty or taken. Enter your username: "
            "No name after 30 s. Goodbye.\r\n"
        )
        assert trio.current_time() - began == deadlines.LOGIN
        await client.stream.aclose()


async def test_tutorial_deadlines_let_go_of_a_silent_client_after_each_idle_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with tutorial_server(deadlines.TimedServer().handle) as port:
        alice, bob = await join(port, "Alice"), await join(port, "Bob")
        await trio.sleep(200)
        await alice.send("hello")  # Alice's timeout starts again; Bob has said nothing
        said = trio.current_time()
        assert await bob.read_to_eof(wait_at_most=400) == (
            "Alice: hello\r\nNo word for 300 s. Goodbye.\r\n"
        )
        assert trio.current_time() == 300  # Bob's timeout, counted from his login at 0
        assert await alice.read_to_eof(wait_at_most=400) == (
            "* Bob joined\r\n* Bob left\r\nNo word for 300 s. Goodbye.\r\n"
        )
        assert trio.current_time() - said == deadlines.IDLE
        for client in (alice, bob):
            await client.stream.aclose()


async def test_tutorial_deadlines_a_line_while_an_idle_client_is_let_go_reaches_the_others(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = deadlines.TimedServer()
    async with trio.open_nursery() as nursery:  # a crash in any handler would end the test
        alice = connect(nursery, server.handle)
        bob = connect(nursery, server.handle, trio.testing.lockstep_stream_pair)
        for client, name in ((alice, "Alice"), (bob, "Bob")):
            await log_in(client, name)
        await trio.sleep(250)
        await alice.send("one")  # Bob does not read: his writer is stuck on this line
        await trio.sleep(50.5)  # Bob was let go at 300 s; his GOODBYE second is running
        assert "Bob" not in server.chat.names.values()  # the rules let him go at once
        await alice.send("two")
        assert await alice.expect("* Bob left\r\n") == "* Bob joined\r\n* Bob left\r\n"
        await trio.sleep(5)
        carol = connect(nursery, server.handle)  # the server still serves
        await log_in(carol, "Carol")
        await alice.send("three")
        assert await carol.expect("\n") == "Alice: three\r\n"
        nursery.cancel_scope.cancel()


async def test_tutorial_core_server_sends_nothing_into_a_closed_outbox() -> None:
    server = core_server.Server()
    send, _ = trio.open_memory_channel[bytes](1)
    server.connections[7] = (send, trio.CancelScope())
    server.carry_out([core.Close(7), core.Send(7, b"late\r\n")])  # no ClosedResourceError
    assert not server.connections[7][1].cancel_called  # its writer still sends what is queued


async def test_tutorial_deadlines_solution_warns_a_minute_before(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with tutorial_server(deadlines_solution.WarningServer().handle) as port:
        alice = await join(port, "Alice")
        began = trio.current_time()
        await alice.expect("Still there? Say something within 60 s.\r\n", wait_at_most=400)
        assert trio.current_time() - began == 240
        await alice.send("yes")  # answered: a whole new idle time
        answered = trio.current_time()
        await alice.expect("Still there?", wait_at_most=400)
        assert trio.current_time() - answered == 240
        assert await alice.read_to_eof(wait_at_most=400) == (
            " Say something within 60 s.\r\nNo word for 300 s. Goodbye.\r\n"
        )
        assert trio.current_time() - answered == deadlines.IDLE
        await alice.stream.aclose()


def test_tutorial_programs_refuse_a_port_in_use_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "docs.tutorial.shutdown", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parent.parent,
        )
    assert done.returncode == 1
    assert done.stderr == f"cannot listen on port {port}: Address already in use\n"


ROOT = Path(__file__).resolve().parent.parent
LAUNCH_TIMEOUT = 30  # seconds for a program to start, or to stop; only a hung one takes long


def launch(module: str, *args: str, cwd: Path = ROOT) -> subprocess.Popen[str]:
    """``python -m docs.tutorial.MODULE ARGS``, as a reader runs it (from ``cwd``)."""
    return subprocess.Popen(
        [sys.executable, "-m", f"docs.tutorial.{module}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def first_lines(program: subprocess.Popen[str], count: int) -> list[str]:
    """The first ``count`` lines the program prints, each within LAUNCH_TIMEOUT."""
    assert program.stdout is not None
    lines: list[str] = []
    for _ in range(count):
        ready, _, _ = select.select([program.stdout], [], [], LAUNCH_TIMEOUT)
        assert ready, f"no line within {LAUNCH_TIMEOUT} s; got {lines}"
        lines.append(program.stdout.readline())
    return lines


def wait_until_serving(port: int) -> None:
    """Be served once, and leave: by then ``main`` has set up its handling of Ctrl-C."""
    with socket.create_connection(("127.0.0.1", port), timeout=LAUNCH_TIMEOUT) as client:
        greeting = b""
        while not greeting.endswith(b"Enter your username: "):
            data = client.recv(1024)
            assert data, f"closed; got {greeting!r}"
            greeting += data


def interrupt(program: subprocess.Popen[str]) -> tuple[str, str, float]:
    """Ctrl-C; what it printed after that, on stdout and stderr, and how long it took."""
    began = time.monotonic()
    program.send_signal(signal.SIGINT)
    try:
        out, err = program.communicate(timeout=LAUNCH_TIMEOUT)
    finally:
        program.kill()  # a no-op when it has exited
    return out, err, time.monotonic() - began


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("shutdown", "stopping: clients have 10 s\n"),
        ("shutdown_solution", "stopping: clients have 10 s (Ctrl-C again to stop now)\n"),
    ],
)
def test_tutorial_shutdown_programs_stop_at_once_on_ctrl_c_with_no_client(
    module: str, says: str
) -> None:
    port = free_port()
    program = launch(module, str(port))
    assert first_lines(program, 1) == [f"listening on port {port}: try  nc localhost {port}\n"]
    wait_until_serving(port)  # the line comes a moment before main watches for signals
    out, err, took = interrupt(program)
    assert (program.returncode, out, err) == (0, says, "")
    assert took < shutdown.GRACE / 2  # nobody to wait for: no grace period


def test_tutorial_history_program_keeps_its_file_where_it_runs(tmp_path: Path) -> None:
    port = free_port()
    program = launch("history", str(port), cwd=tmp_path)
    assert first_lines(program, 1) == [f"listening on port {port}: try  nc localhost {port}\n"]
    wait_until_serving(port)  # the file is opened just after the line is printed
    out, err, _ = interrupt(program)
    assert (program.returncode, out, err) == (0, "", "")
    assert (tmp_path / "history.sqlite3").is_file()


def test_tutorial_supervisor_program_relays_an_upstream_until_ctrl_c() -> None:
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen()
        upstream.settimeout(LAUNCH_TIMEOUT)
        port = upstream.getsockname()[1]
        program = launch("supervisor", str(port))
        connection, _ = upstream.accept()
        with connection:
            connection.sendall(b"hello from the upstream\n")
            assert first_lines(program, 3) == [
                f"connecting to an upstream on port {port}: try  nc -lk {port}\n",
                "connected\n",
                "upstream says: hello from the upstream\n",
            ]
            out, err, _ = interrupt(program)
    assert (program.returncode, out, err) == (0, "", "")


def test_tutorial_supervisor_solution_program_ends_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In this process, with the waits shortened: 1 + 2 + 4 + 8 s become 15 ms.
    monkeypatch.setattr(supervisor, "FIRST_DELAY", 0.001)
    monkeypatch.setattr(sys, "argv", ["supervisor_solution", str(free_port())])
    monkeypatch.delitem(sys.modules, "docs.tutorial.supervisor_solution")  # run it afresh
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("docs.tutorial.supervisor_solution", run_name="__main__")
    assert exited.value.code == "no upstream after 5 attempts in a row"  # one line, exit 1
    assert capsys.readouterr().out.count("next try in") == 4


async def test_tutorial_history_shows_a_newcomer_what_was_said_even_after_a_restart(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "history.sqlite3")
    with trio.fail_after(20):
        async with history.open_history(path) as kept, trio.open_nursery() as nursery:
            await nursery.start(kept.run)
            async with tutorial_server(history.HistoryServer(kept).handle) as port:
                alice = await join(port, "Alice")
                for text in ("hello", "is anyone here?"):
                    await alice.send(text)
                await kept.wait_saved(2)
                bob = await join(port, "Bob")
                assert await bob.expect("?\r\n") == (
                    "Earlier: Alice: hello\r\nEarlier: Alice: is anyone here?\r\n"
                )
                await bob.send("I am")
                await kept.wait_saved(3)
                for client in (alice, bob):
                    await client.stream.aclose()
            nursery.cancel_scope.cancel()
        assert kept.statistics() == history.HistoryStatistics(waiting=0, saved=3, dropped=0)
        async with history.open_history(path) as reopened:  # a new server, the same file
            assert await reopened.recent(2) == ["Alice: is anyone here?", "Bob: I am"]


async def test_tutorial_history_a_cancelled_writer_finishes_its_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, release = threading.Event(), threading.Event()
    with trio.fail_after(20):
        async with history.open_history(":memory:") as kept:
            insert = kept.insert

            def held_insert(batch: list[str]) -> None:  # a slow disk, under our control
                started.set()
                release.wait(10)
                insert(batch)

            monkeypatch.setattr(kept, "insert", held_insert)
            kept.save_nowait("hello")
            writer = trio.CancelScope()

            async def write() -> None:
                with writer:
                    await kept.run()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(write)
                await trio.to_thread.run_sync(started.wait, 10)
                writer.cancel()  # the writer's task is cancelled mid-insert...
                await trio.testing.wait_all_tasks_blocked()
                assert kept.saved == 0  # ...and still waits for its thread
                release.set()
            assert writer.cancelled_caught  # Cancelled came...
            assert kept.saved == 1  # ...after run_sync had returned and the batch was counted
            assert await kept.recent(1) == ["hello"]


async def test_tutorial_history_counts_what_a_full_queue_drops(
    autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    async with history.open_history(":memory:") as kept:
        for i in range(history.SAVES + 2):  # no writer runs: the queue fills
            kept.save_nowait(f"line {i}")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(history_solution.report, kept)
            await trio.sleep(150)
            nursery.cancel_scope.cancel()
    assert capsys.readouterr().out == "history: 0 saved, 1000 waiting, 2 dropped\n" * 2


# Chapter 9: these tests are the chapter's program. No sockets, no real time.


def connect(
    nursery: trio.Nursery,
    handle: Callable[[trio.abc.Stream], Awaitable[None]],
    pair: Callable[[], tuple[trio.abc.Stream, trio.abc.Stream]] = trio.testing.memory_stream_pair,
) -> LineClient:
    """A client of ``handle`` over an in-memory pair of streams: no socket, no port."""
    client_side, server_side = pair()
    nursery.start_soon(handle, server_side)
    return LineClient(client_side)


async def log_in(client: LineClient, name: str) -> None:
    await client.expect("Enter your username: ")
    await client.send(name)
    await client.expect(f"Welcome, {name}!\r\n")


async def test_tutorial_testing_the_login_deadline_in_memory(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        client = connect(nursery, deadlines.TimedServer().handle)
        await client.expect("Enter your username: ")
        began = trio.current_time()
        assert await client.read_to_eof(wait_at_most=3600) == "No name after 30 s. Goodbye.\r\n"
        assert trio.current_time() - began == 30  # exactly: the clock jumped, nobody waited


async def test_tutorial_testing_a_client_that_never_reads_is_cut_after_a_full_queue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = core_server.Server()
    async with trio.open_nursery() as nursery:
        alice, bob = connect(nursery, server.handle), connect(nursery, server.handle)
        # A lockstep pair has no buffer at all: a write waits until the other side reads.
        # So a client that never reads is modelled exactly, with no socket buffers to fill.
        slow = connect(nursery, server.handle, trio.testing.lockstep_stream_pair)
        for client, name in ((alice, "Alice"), (bob, "Bob"), (slow, "Slow")):
            await log_in(client, name)
        for first in range(0, 200, 10):  # 20 pastes of 10 lines
            paste = "".join(f"line {i}\n" for i in range(first, first + 10))
            await alice.stream.send_all(paste.encode())
            # Let every other task run until it waits: the server reads the paste, Bob's
            # writer sends it, Slow's writer stays stuck in its first write.
            await trio.testing.wait_all_tasks_blocked()
        said = await bob.expect("* Slow left\r\n")
        # Slow's writer took the first paste; ten more filled its queue of 100 lines; the
        # first line of paste 12 found it full. Slow leaves once that read is carried out.
        assert said.endswith("Alice: line 118\r\nAlice: line 119\r\n* Slow left\r\n")
        assert (await bob.expect("line 199\r\n")).count("Alice: line") == 80  # Bob: all
        first_paste = "".join(f"Alice: line {i}\r\n" for i in range(10))
        assert await slow.read_to_eof() == first_paste  # the write it was stuck in, no more
        assert "Slow" not in server.chat.names.values()
        nursery.cancel_scope.cancel()


async def test_tutorial_testing_solution_each_line_restarts_the_idle_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        alice = connect(nursery, deadlines.TimedServer().handle)
        await log_in(alice, "Alice")
        await trio.sleep(200)
        await alice.send("still here")
        assert await alice.read_to_eof(wait_at_most=3600) == "No word for 300 s. Goodbye.\r\n"
        assert trio.current_time() == 200 + 300


async def upstream(
    port: int, greeting: str, *, task_status: trio.TaskStatus[list[trio.SocketListener]]
) -> None:
    """A toy upstream service: says one line to each connection, then keeps it open."""

    async def greet(stream: trio.SocketStream) -> None:
        async with stream:
            await stream.send_all(f"{greeting}\n".encode())
            await trio.sleep_forever()

    await trio.serve_tcp(greet, port, host="127.0.0.1", task_status=task_status)


async def test_tutorial_supervisor_reconnects_with_backoff_when_the_upstream_returns(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[float, str]] = []
    send, receive = trio.open_memory_channel[str](10)
    async with trio.open_nursery() as nursery:
        async with trio.open_nursery() as first_run:
            listeners = await first_run.start(upstream, 0, "hello from the first run")
            port = listeners[0].socket.getsockname()[1]

            def report(said: str) -> None:
                log.append((trio.current_time(), said))

            nursery.start_soon(supervisor.Supervisor(port, send, supervisor.Backoff(), report).run)
            assert await receive.receive() == "hello from the first run"
            first_run.cancel_scope.cancel()  # the upstream stops; retries at 1, 3, 7, 15 s
        await trio.sleep(10)
        await nursery.start(upstream, port, "hello from the second run")
        assert await receive.receive() == "hello from the second run"
        nursery.cancel_scope.cancel()
    refused = f"all attempts to connect to 127.0.0.1:{port} failed"
    assert log == [
        (0, "connected"),
        (0, "the upstream closed the connection; next try in 1 s"),
        (1, f"{refused}; next try in 2 s"),
        (3, f"{refused}; next try in 4 s"),
        (7, f"{refused}; next try in 8 s"),
        (15, "connected"),  # the first try after the upstream came back at 10 s
    ]


async def test_tutorial_supervisor_backs_off_from_an_upstream_that_closes_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[float, str]] = []
    send, _ = trio.open_memory_channel[str](10)
    hold = 0.0  # how long the upstream keeps each connection before closing it

    async def close_after_hold(stream: trio.SocketStream) -> None:
        async with stream:
            await trio.sleep(hold)

    def report(said: str) -> None:
        log.append((trio.current_time(), said.split("; ")[-1]))

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, host="127.0.0.1"), close_after_hold, 0
        )
        port = listeners[0].socket.getsockname()[1]
        nursery.start_soon(supervisor.Supervisor(port, send, supervisor.Backoff(), report).run)
        await trio.sleep(7.5)  # connections at 0, 1, 3 and 7 s; each one closed at once
        hold = supervisor.HEALTHY
        await trio.sleep(20)  # the one at 15 s lasts 10 s: healthy, the count starts again
        nursery.cancel_scope.cancel()
    assert log == [
        (0, "connected"),
        (0, "next try in 1 s"),
        (1, "connected"),
        (1, "next try in 2 s"),  # not 1 s again: a connection that ends at once is a failure
        (3, "connected"),
        (3, "next try in 4 s"),
        (7, "connected"),
        (7, "next try in 8 s"),
        (15, "connected"),
        (25, "next try in 1 s"),
        (26, "connected"),
    ]


async def test_tutorial_supervisor_solution_gives_up_after_five_attempts_in_a_row(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with socket.socket() as probe:  # a port that nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log: list[str] = []
    send, _ = trio.open_memory_channel[str](10)
    gone = pytest.RaisesExc(
        supervisor_solution.UpstreamGone, match="^no upstream after 5 attempts in a row$"
    )
    with pytest.RaisesGroup(gone):  # up through the nursery: the parent hears of it
        async with trio.open_nursery() as nursery:
            backoff = supervisor_solution.GiveUp()
            nursery.start_soon(supervisor.Supervisor(port, send, backoff, log.append).run)
    assert trio.current_time() == 1 + 2 + 4 + 8  # the fifth attempt failed: no more waiting
    assert [said.split("; ")[1] for said in log] == [f"next try in {d} s" for d in (1, 2, 4, 8)]
