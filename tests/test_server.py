"""The whole server over real sockets on 127.0.0.1 (port 0), and the CLI as a user runs it."""

from __future__ import annotations

import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from chat_trio import __version__
from chat_trio.__main__ import build_parser, configure
from chat_trio.chat.limits import Limits
from chat_trio.chat.registry import Account
from chat_trio.chat.world import Rules
from chat_trio.config import Config
from chat_trio.delivery.outbox import PROGRESS_BYTES
from chat_trio.entrances import StartupError
from chat_trio.passwords import CHEAP, hasher
from chat_trio.server import serve
from chat_trio.storage import database
from chat_trio.transports import tcp
from tests.conftest import LineClient, serving, start_cli


@asynccontextmanager
async def running(config: Config) -> AsyncIterator[tuple[int, trio.Event]]:
    async with serving(config) as (addresses, stop):
        yield addresses[0][1], stop


@asynccontextmanager
async def connected(port: int) -> AsyncIterator[LineClient]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        yield LineClient(stream)


def local(**changes: Any) -> Config:
    return attrs.evolve(Config(host="127.0.0.1", port=0, web_port=None, db=None), **changes)


async def test_server_chat_over_tcp() -> None:
    with trio.fail_after(10):
        async with running(local()) as (port, _), connected(port) as alice, connected(port) as bob:
            await alice.register("Alice")
            await bob.register("Bob")
            await alice.expect("* Bob joined the chat\r\n")
            await bob.send("Hi Alice!")
            await alice.expect("Bob: Hi Alice!\r\n")
            await bob.send("/quit")
            assert (await bob.read_to_eof()).endswith("Goodbye!\r\n")
            await alice.expect("* Bob left the chat\r\n")


async def test_server_graceful_shutdown_tells_everyone_and_flushes() -> None:
    with trio.fail_after(10):
        async with running(local()) as (port, stop), connected(port) as alice:
            async with connected(port) as bob, connected(port) as newcomer:
                await alice.register("Alice")
                await bob.register("Bob")
                await newcomer.expect("Enter your username: ")
                await alice.send("last message before shutdown")
                stop.set()
                bob_saw = await bob.read_to_eof()
                assert bob_saw.endswith(
                    "Alice: last message before shutdown\r\n* Server is shutting down. Goodbye!\r\n"
                )
                assert "left the chat" not in bob_saw
                assert (await newcomer.read_to_eof()).endswith(
                    "* Server is shutting down. Goodbye!\r\n"
                )
            with pytest.raises(OSError, match="connect"):  # no longer accepting
                await trio.open_tcp_stream("127.0.0.1", port)


async def test_server_shutdown_deadline_cuts_clients_that_do_not_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = local(grace=5.0, max_queue_bytes=10**9, rules=Rules(flood_rate=0))
    async with running(config) as (port, stop):
        alice = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
        await alice.register("Alice")
        alice.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # type: ignore[attr-defined]
        async with connected(port) as flooder:
            await flooder.register("Flooder")
            for _ in range(300):  # far more than the kernel buffers: Alice's writer blocks
                await flooder.send("x" * 2000)
            await flooder.send("/users")  # answered after every line above was published
            await flooder.expect("Users online: 2")
            start = trio.current_time()
            stop.set()
    # serve has returned: Alice, who never reads, held it up for the grace period only.
    assert trio.current_time() - start == pytest.approx(5.0)
    await alice.stream.aclose()


async def test_server_shutdown_says_what_flood_control_held_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 16, hole 7: users are told their lines are "delayed, not lost"; at shutdown
    the delayed ones were dropped."""
    async with (
        running(local()) as (port, stop),
        connected(port) as alice,
        connected(port) as bob,
    ):
        await alice.register("Alice")
        await bob.register("Bob")
        await alice.expect("* Bob joined the chat\r\n")
        await alice.stream.send_all(b"".join(b"line %d\n" % n for n in range(15)))
        await alice.expect("* Slow down")  # ten went at once; five wait
        await bob.expect("Alice: line 9\r\n")
        stop.set()
        bob_saw = await bob.read_to_eof()
        assert bob_saw == (
            "".join(f"Alice: line {n}\r\n" for n in range(10, 15))
            + "* Server is shutting down. Goodbye!\r\n"
        )


async def test_server_shutdown_stores_what_flood_control_held(tmp_path: Path) -> None:
    """An admin's /ban held by flood control was carried out at shutdown, confirmed, and
    never stored: after the restart the ban was gone."""
    db = str(tmp_path / "chat.db")
    with closing(database.connect(db)) as sql:
        hashed = hasher(CHEAP).hash("boss-secret")
        database.save_account(sql, "boss", Account("Boss", hashed, admin=True, id="op-boss"))
    # Flood control lets one line through per 100 s after the burst: the /ban stays held.
    config = local(db=db, password_cost=CHEAP, rules=Rules(flood_rate=0.01))
    async with running(config) as (port, stop), connected(port) as boss, connected(port) as bob:
        await boss.stream.send_all(b"Boss boss-secret\n")
        await boss.expect("Welcome to the chat, Boss!")
        await bob.register("Bob")
        # (Not "/ban Bob": Bob is on the admin's own address here, which an admin never bans.)
        held = b"/ban 203.0.113.9\n"
        await boss.stream.send_all(b"".join(b"line %d\n" % n for n in range(12)) + held)
        await boss.expect("* Slow down")  # the /ban waits behind the lines
        stop.set()
        assert "* Banned 203.0.113.9" in await boss.read_to_eof()
    with closing(database.connect(db)) as sql:
        assert [ban.key for ban in database.bans(sql, time.time())] == ["203.0.113.9"]


async def test_server_port_in_use_is_a_clear_startup_error() -> None:
    async with running(local()) as (port, _):
        with pytest.raises(StartupError, match=rf"cannot listen on 127.0.0.1:{port}: .*in use"):
            await serve(local(port=port), trio.Event())


async def test_server_many_clients_connecting_at_once_all_register() -> None:
    count = 200
    with trio.fail_after(30):
        async with running(local()) as (port, _), connected(port) as watcher:
            await watcher.register("Watcher")
            streams = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(count)]
            try:
                async with trio.open_nursery() as nursery:
                    for i, stream in enumerate(streams):
                        nursery.start_soon(LineClient(stream).register, f"user{i}")
                seen = ""
                for _ in range(count):
                    seen += await watcher.expect(" joined the chat\r\n")
                assert sorted(seen.splitlines()) == sorted(
                    f"* user{i} joined the chat" for i in range(count)
                )
            finally:
                for stream in streams:
                    await stream.aclose()


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_trio", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_server_cli_help_explains_options() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for option in ["--host", "--port", "--max-line", "--send-queue", "--grace", "--log-level"]:
        assert option in result.stdout
    assert "8080" in result.stdout and "default" in result.stdout
    # Defaults as a person would write them, and none for what is off or unset.
    for python in ("frozenset(", "None)", "False)", "default: [])"):
        assert python not in result.stdout
    assert "admin,chat-trio,moderator,operator,root,server,system)" in " ".join(
        result.stdout.split()
    )


def test_server_cli_with_no_options_is_config_defaults_and_each_option_sets_its_setting() -> None:
    parser = build_parser()
    assert configure(parser.parse_args(["serve"])) == Config()
    config = configure(
        parser.parse_args(
            ["serve", "--no-web", "--no-db", "--server-name", "irc.example", "--max-line", "512",
             "--web-origin", "https://b.example", "--web-origin", "https://a.example",
             "--history-max-age", "0", "--history-max-rows", "0", "--history-lines", "0",
             "--unicode-names", "--tls-only", "--reserved-names", "Root, Boss"]
        )
    )  # fmt: skip
    assert (config.web_port, config.db, config.max_line) == (None, None, 512)
    assert (config.irc.server_name, config.irc.network) == ("irc.example", "irc.example")
    assert config.web_origins == {"https://a.example", "https://b.example"}
    assert (config.retention.max_age, config.retention.rows_per_room) == (None, None)
    assert (config.rules.history_lines, config.rules.unicode_names) == (0, True)
    assert config.plain is False and config.rules.reserved_names == {"root", "boss"}


def test_server_cli_rejects_bad_option_clearly() -> None:
    result = run_cli("serve", "--port", "70000")
    assert result.returncode == 2
    assert "must be 0-65535, not 70000" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_server_cli_prints_port_and_exits_0_on_signal(signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chat_trio", "serve", "--port", "0", "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith(f"chat-trio {__version__} listening on 127.0.0.1:")
        assert re.search(
            r" \(text\), http://127\.0\.0\.1:\d+/ \(web\) \(Ctrl-C to stop\)\n$", banner
        )
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        assert port > 0
        process.send_signal(signum)
        out, err = process.communicate(timeout=20)
        assert process.returncode == 0
        assert "shutdown step=done" in err
        again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
        assert out == f"Shutting down ({again} again to stop at once)...\n"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_server_cli_port_in_use_exits_1_with_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--no-web")
    assert result.returncode == 1
    assert result.stderr == (
        f"chat-trio: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is another server running on it?)\n"
    )


def test_server_cli_second_signal_stops_at_once() -> None:
    process, port = start_cli("--grace", "60", "--send-queue", str(50 * 2**20), "--flood-rate", "0")
    try:
        with (
            socket.create_connection(("127.0.0.1", port)) as stuck,
            socket.create_connection(("127.0.0.1", port)) as talker,
        ):
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.sendall(b"Stuck\n")
            talker.sendall(b"Talker\n")
            talker.settimeout(10)
            seen = b""
            while b"Talker!" not in seen:
                seen += talker.recv(4096)
            # Stuck never reads: far more than the kernel buffers, so its writer blocks.
            talker.sendall((b"y" * 2000 + b"\n") * 2000)
            talker.sendall(b"/users\n")
            while b"Users online" not in seen:
                seen += talker.recv(65536)
            process.send_signal(signal.SIGINT)  # graceful: would wait up to 60 s for Stuck
            assert process.stdout is not None
            assert process.stdout.readline().startswith("Shutting down")
            started = time.monotonic()
            process.send_signal(signal.SIGINT)  # at once
            process.communicate(timeout=20)
        assert process.returncode == 130
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


async def test_server_full_refuses_newcomers_and_nobody_else_notices() -> None:
    with trio.fail_after(10):
        async with (
            running(local(limits=Limits(max_clients=2))) as (port, _),
            connected(port) as alice,
        ):
            await alice.register("Alice")
            async with connected(port) as bob:
                await bob.register("Bob")
                async with connected(port) as late:
                    assert await late.read_to_eof() == "Server full, try later.\r\n"
                await bob.send("still fine")
                await alice.expect("Bob: still fine\r\n")
                await bob.send("/quit")
                await bob.read_to_eof()
            await trio.testing.wait_all_tasks_blocked()  # the server has let Bob go
            async with connected(port) as later:  # room again
                await later.register("Later")


async def test_server_per_address_limit_applies_to_loopback_when_asked() -> None:
    limits = Limits(max_per_address=1, exempt_loopback=False)
    with trio.fail_after(10):
        async with running(local(limits=limits)) as (port, _), connected(port) as first:
            await first.expect("Enter your username: ")
            async with connected(port) as second:
                assert (await second.read_to_eof()).startswith(
                    "Too many connections from your address (at most 1)"
                )


async def test_server_idle_timeout_on_virtual_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = local(rules=Rules(idle_timeout=30))
    async with running(config) as (port, _), connected(port) as alice, connected(port) as bob:
        await alice.register("Alice")
        await bob.register("Bob")
        start = trio.current_time()
        for _ in range(3):  # Alice keeps talking; Bob says nothing
            await trio.sleep(20)
            await alice.send("tick")
        assert (await bob.read_to_eof()).endswith(
            "Disconnected after 30 seconds without activity.\r\nGoodbye!\r\n"
        )
        await alice.expect("* Bob left the chat (idle)\r\n")
        assert trio.current_time() - start == pytest.approx(60)


def test_server_cli_raises_its_open_file_limit_and_warns_when_max_clients_cannot_fit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lower = min(hard, 1024) // 2

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (lower, hard))

    def low_hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (lower, lower))

    for preexec, args in ((low_soft_limit, ["--max-clients", "100"]), (low_hard_limit, [])):
        process, _ = start_cli(*args, preexec_fn=preexec)
        process.send_signal(signal.SIGINT)
        _, log = process.communicate(timeout=20)
        assert process.returncode == 0
        if preexec is low_soft_limit:
            assert f"open-file-limit raised from={lower} to={hard}" in log
            assert "max-clients-above-open-file-limit" not in log
        else:
            assert "open-file-limit raised" not in log
            assert (
                f"max-clients-above-open-file-limit max_clients=10000 open_file_limit={lower} "
                f"fits={lower - 64}" in log
            )


def test_server_cli_survives_running_out_of_file_descriptors() -> None:
    """With only a few descriptors, accept fails (EMFILE): logged, retried, nobody else hurt."""

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    process, port = start_cli(preexec_fn=few_descriptors)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as alice:
            alice.sendall(b"Alice\n")
            seen = b""
            while b"Type /help" not in seen:
                seen += alice.recv(4096)
            crowd = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(60)]
            assert process.stderr is not None
            log = ""
            deadline = time.monotonic() + 10
            while "accept-failed error=EMFILE" not in log:  # the server hit the limit...
                assert time.monotonic() < deadline, log
                log += process.stderr.readline()
            for sock in crowd:
                sock.close()
            alice.sendall(b"/users\n")
            while b"Users online: 1 (Alice)" not in seen:
                seen += alice.recv(4096)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as bob:
                bob.sendall(b"Bob\n")
                while b"* Bob joined the chat" not in seen:
                    seen += alice.recv(4096)
        # ...and carried on: Alice was answered, and Bob got in once descriptors were free.
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


async def test_server_sustained_flood_is_slowed_then_cut(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running(local()) as (port, _), connected(port) as alice, connected(port) as bob:
        await alice.register("Alice")
        await bob.register("Bob")
        await alice.expect("* Bob joined the chat\r\n")
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            seen = ""

            async def read_until_cut() -> None:
                nonlocal seen
                seen = await alice.read_to_eof(wait_at_most=60)
                nursery.cancel_scope.cancel()  # stop flooding once we are cut

            nursery.start_soon(read_until_cut)
            for i in range(300):  # 10 lines a second, 5x the default rate, for up to 30 s
                await alice.send(f"spam {i}")
                await trio.sleep(0.1)
        assert "* Slow down:" in seen and seen.count("* Slow down:") == 1
        assert "Disconnected for flooding" in seen
        left = await bob.expect("* Alice left the chat (flooding)\r\n")
        assert 10 <= trio.current_time() - start <= 15
        assert "Alice: spam 9\r\n" in left  # the burst and the delayed lines were delivered


async def test_server_tcp_progress_moves_only_when_the_peer_reads() -> None:
    """The edge of the peer's window (acknowledged + window) stays put while its kernel
    only buffers what it is sent, and moves when its application reads (flow control)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    with trio.fail_after(10):
        async with await trio.open_tcp_stream("127.0.0.1", port) as client:
            server = await listeners[0].accept()
            async with server:
                progress = tcp.progress(server)
                assert progress is not None
                assert progress() == (0, progress()[1]) and progress()[1] > 0
                with trio.move_on_after(1):  # more than the client takes without reading
                    await server.send_all(b"x" * 3_000_000)
                seen = progress()
                for _ in range(500):  # until its buffer is full: nothing moves any more
                    await trio.sleep(0.01)
                    if progress() == seen:
                        break
                    seen = progress()
                acked, edge = seen
                assert 0 < acked < 3_000_000  # acknowledged without being read, in part
                for _ in range(20):  # a while later, nothing has moved
                    await trio.sleep(0.01)
                    assert progress()[1] - edge < PROGRESS_BYTES
                received = 0
                while received < acked:
                    received += len(await client.receive_some(65536))
                for _ in range(500):  # the window update may still be on its way
                    if progress()[1] - edge >= PROGRESS_BYTES:
                        break
                    await trio.sleep(0.01)
                assert progress()[1] - edge >= PROGRESS_BYTES
    await listeners[0].aclose()


def _spoke_first(port: int, lines: bytes) -> trio.SocketStream:
    """A client that sends ``lines`` before the server has even accepted it (as IRC
    clients do): the bytes wait, unread, in the server's socket when it says no."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(lines)
    sock.setblocking(False)
    return trio.SocketStream(trio.socket.from_stdlib_socket(sock))


async def test_server_full_refusal_reaches_clients_that_spoke_first_and_ends_cleanly() -> None:
    config = local(irc_port=0, limits=Limits(max_clients=1))
    with trio.fail_after(10):
        async with serving(config) as (addresses, _), connected(addresses[0][1]) as first:
            await first.expect("Enter your username: ")
            text, irc = addresses[0][1], addresses[1][1]
            for port, lines, told in (
                (text, b"Alice\r\nhello\r\n", "Server full, try later.\r\n"),
                (irc, b"CAP LS 302\r\nNICK a\r\nUSER a 0 * :a\r\n", "ERROR :Server full"),
            ):
                async with _spoke_first(port, lines) as stream:
                    late = LineClient(stream)
                    # Before: the close with unread input was a reset (BrokenResourceError).
                    assert told in await late.read_to_eof()


async def test_server_banned_address_is_told_why_even_when_it_spoke_first(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    with trio.fail_after(10):
        async with running(local(db=db)):
            pass  # the database, made
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute(
            "INSERT INTO bans VALUES ('address', '127.0.0.1', 1e300, 'spam', 'root', '')"
        )
    with trio.fail_after(10):
        async with (
            running(local(db=db)) as (port, _),
            _spoke_first(port, b"Alice\r\nhello\r\n") as stream,
        ):
            told = await LineClient(stream).read_to_eof()
    assert "Your address is banned from this server" in told
