"""Names across nodes in Redis (storage/leases.py), against a real redis-server: two
"nodes" are two clients with two run tokens. Then one server with ``--redis`` where
another node holds a name.

Real Redis means the real clock: the leases here live a few hundred milliseconds, and
every wait is bounded by ``trio.fail_after``."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio

from chat_trio.chat.events import ConnId
from chat_trio.chat.outputs import Claim
from chat_trio.storage import redis as redis_storage
from chat_trio.storage.leases import SCRIPT_KEYS, TAKEOVER_WAIT, NameLeases
from chat_trio.storage.redis import CALL_TIMEOUT
from tests.conftest import LineClient, start_doors
from tests.redis_server import RedisServer, needs_redis, redis_server

__all__ = ["redis_server"]  # the fixture, used by name

pytestmark = needs_redis

SHORT_MS = 600  #: a lease's life in these tests (six refreshes: a loaded machine may miss some)
TICK = 0.1  #: between refreshes in these tests


@asynccontextmanager
async def node(redis_server: RedisServer, token: str) -> AsyncIterator[NameLeases]:
    """One node's leases on the test's Redis, over a client of its own."""
    async with redis_storage.client(redis_server.url) as client:
        yield NameLeases(client, token, lease_ms=SHORT_MS, refresh=TICK)


@pytest.fixture
async def a(redis_server: RedisServer) -> AsyncIterator[NameLeases]:
    """Node a's leases."""
    async with node(redis_server, "a:0001") as leases:
        yield leases


@pytest.fixture
async def b(redis_server: RedisServer) -> AsyncIterator[NameLeases]:
    """Node b's leases, on the same Redis as node a's."""
    async with node(redis_server, "b:0002") as leases:
        yield leases


@asynccontextmanager
async def keeping(leases: NameLeases) -> AsyncIterator[None]:
    """``leases.keep`` runs (refreshing and releasing) inside the block."""
    async with trio.open_nursery() as nursery:
        await nursery.start(leases.keep)
        yield
        nursery.cancel_scope.cancel()


async def _until(check: Callable[[], bool], limit: float = 5.0) -> None:
    """Look at Redis (another process: nothing to wait on) until ``check`` holds."""
    with trio.fail_after(limit):
        while not check():  # noqa: ASYNC110 - another process's state: no event to wait on
            await trio.sleep(0.02)


async def test_leases_two_nodes_racing_for_a_name_exactly_one_wins_each_time(
    a: NameLeases, b: NameLeases, redis_server: RedisServer
) -> None:
    for n in range(50):
        key = f"racer{n}"
        got: dict[str, Claim] = {}

        async def race(
            leases: NameLeases, conn: ConnId, key: str = key, got: dict[str, Claim] = got
        ) -> None:
            got[leases.token] = await leases.claim(key, conn)

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(race, a, n)
                nursery.start_soon(race, b, n)
        assert sorted(claim.value for claim in got.values()) == ["granted", "taken"]
        winner = a if got[a.token] is Claim.GRANTED else b
        assert redis_server.cli("GET", f"ct:name:{key}") == winner.owner(n)


async def test_leases_a_refreshed_lease_outlives_its_ttl_and_one_not_refreshed_ends(
    a: NameLeases, b: NameLeases, redis_server: RedisServer
) -> None:
    assert await a.claim("kept", 1) is Claim.GRANTED
    assert await b.claim("dropped", 2) is Claim.GRANTED
    async with keeping(a):  # only a refreshes its leases
        await trio.sleep(SHORT_MS / 1000 * 3)  # three lifetimes of a lease
        assert redis_server.cli("GET", "ct:name:kept") == a.owner(1)
        assert redis_server.cli("EXISTS", "ct:name:dropped") == "0"
        assert await a.claim("dropped", 3) is Claim.GRANTED  # free for anyone again
    assert a.statistics().held == 2


async def test_leases_only_the_owner_releases_and_a_late_release_frees_nothing(
    a: NameLeases, b: NameLeases, redis_server: RedisServer
) -> None:
    assert await a.claim("bob", 1) is Claim.GRANTED
    b.release("bob", 1)  # the same connection id on another node: not the owner
    a.release("bob", 2)  # another connection of the owner's node: not the owner either
    await b.send_releases()
    await a.send_releases()
    assert redis_server.cli("GET", "ct:name:bob") == a.owner(1)
    a.release("bob", 1)
    await a.send_releases()
    assert redis_server.cli("EXISTS", "ct:name:bob") == "0"
    assert await b.claim("bob", 7) is Claim.GRANTED
    a.release("bob", 1)  # late: Bob of node b holds it now
    await a.send_releases()
    assert redis_server.cli("GET", "ct:name:bob") == b.owner(7)


async def test_leases_a_name_let_go_here_is_handed_to_another_connection_here(
    a: NameLeases, redis_server: RedisServer
) -> None:
    assert await a.claim("alice", 1) is Claim.GRANTED
    a.release("alice", 1)  # queued (a login takes the name over: the old one goes)
    assert await a.claim("alice", 2) is Claim.GRANTED
    assert redis_server.cli("GET", "ct:name:alice") == a.owner(2)
    await a.send_releases()  # nothing queued is left to delete the new holder's
    assert redis_server.cli("GET", "ct:name:alice") == a.owner(2)


async def test_leases_a_takeover_waits_for_the_other_node_to_let_the_name_go(
    a: NameLeases, b: NameLeases, redis_server: RedisServer
) -> None:
    """Dan logs in on b while a holds his name for his old connection, which b's login
    just put out: a lets it go a moment later, and b's claim, waiting, gets it. A claim
    that does not wait is told at once that it is taken, as before."""
    assert await a.claim("dan", 1) is Claim.GRANTED
    assert await b.claim("dan", 2) is Claim.TAKEN

    async def let_go() -> None:
        await trio.sleep(0.3)  # (a hears of the takeover, closes the connection)
        a.release("dan", 1)
        await a.send_releases()

    with trio.fail_after(TAKEOVER_WAIT + 5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(let_go)
            assert await b.claim("dan", 2, wait=True) is Claim.GRANTED
    assert redis_server.cli("GET", "ct:name:dan") == b.owner(2)


async def test_leases_a_name_taken_elsewhere_while_cut_off_is_reported_lost(
    a: NameLeases, b: NameLeases, redis_server: RedisServer
) -> None:
    lost: list[list[tuple[ConnId, str]]] = []
    a.on_lost = lost.append
    assert await a.claim("bob", 4) is Claim.GRANTED
    assert await a.claim("carol", 5) is Claim.GRANTED
    # a is cut off (it refreshes nothing) for longer than a lease lives: b takes Bob
    await _until(lambda: redis_server.cli("EXISTS", "ct:name:bob") == "0")
    assert await b.claim("bob", 9) is Claim.GRANTED
    await a.refresh_all()  # a is back
    assert lost == [[(4, "bob")]]
    assert redis_server.cli("GET", "ct:name:bob") == b.owner(9)  # untouched
    assert redis_server.cli("GET", "ct:name:carol") == a.owner(5)  # nobody took it: a's again
    assert a.statistics().lost == 1
    assert a.statistics().held == 1


async def test_leases_thousands_of_names_are_refreshed_and_released_in_one_round(
    a: NameLeases, b: NameLeases, redis_server: RedisServer
) -> None:
    count = SCRIPT_KEYS * 2 + 500  # three script calls in each pipeline
    for n in range(count):
        assert await a.claim(f"user{n}", n) is Claim.GRANTED
    lost: list[list[tuple[ConnId, str]]] = []
    a.on_lost = lost.append
    redis_server.cli("SET", "ct:name:user2400", b.owner(1))  # in the third call's part
    await a.refresh_all()
    assert lost == [[(2400, "user2400")]]
    assert int(redis_server.cli("PTTL", "ct:name:user0")) > 0
    assert int(redis_server.cli("PTTL", f"ct:name:user{count - 1}")) > 0
    for n in range(count):
        a.release(f"user{n}", n)
    await a.send_releases()
    assert redis_server.cli("DBSIZE") == "1"  # only the name b holds is left
    assert a.statistics().held == 0


async def test_leases_redis_down_or_hung_is_an_answer_and_refreshes_go_on_after(
    a: NameLeases, redis_server: RedisServer
) -> None:
    assert await a.claim("kept", 1) is Claim.GRANTED
    async with keeping(a):
        assert redis_server.process is not None
        redis_server.process.send_signal(signal.SIGSTOP)  # hung
        try:
            with trio.fail_after(CALL_TIMEOUT + 2):
                assert await a.claim("bob", 2) is Claim.UNAVAILABLE
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        redis_server.restart()  # down, then back without its data
        # The keeper takes its lease again (a failed refresh is logged, never raised).
        await _until(lambda: redis_server.cli("GET", "ct:name:kept") == a.owner(1), 10)
        assert await a.claim("bob", 2) is Claim.GRANTED  # and claims are answered again
    assert a.statistics().refresh_failures >= 1


async def _metrics(port: int) -> str:
    """The node's /metrics (its operator's port)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    got = b""
    with trio.fail_after(20):
        async with stream:
            await stream.send_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while chunk := await stream.receive_some():
                got += chunk
    return got.decode()


@asynccontextmanager
async def serving(
    redis_server: RedisServer,
) -> AsyncIterator[tuple[subprocess.Popen[str], LineClient, dict[str, int]]]:
    """Node a on the test's Redis (its text door and its operator's port) and a text
    client of it; the node is killed at the end if it still runs."""
    process, ports = start_doors(
        "--redis", redis_server.url, "--node-name", "a", "--no-web", "--metrics-port", "0"
    )
    try:
        client = LineClient(await trio.open_tcp_stream("127.0.0.1", ports["text"]))
        async with client.stream:
            yield process, client, ports
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=60)


async def test_leases_server_refuses_a_name_another_node_holds_and_leases_its_own(
    redis_server: RedisServer,
) -> None:
    redis_server.cli("SET", "ct:name:bob", "b:0123456789abcdef:7", "PX", "60000")
    async with serving(redis_server) as (process, client, ports):
        await client.expect("Enter your username: ")
        await client.send("Bob")
        refused = await client.expect("Enter your username: ")
        assert 'The name "Bob" is already taken; please choose another.' in refused
        await client.send("Carol")
        await client.expect("Welcome to the chat, Carol!")
        owner = redis_server.cli("GET", "ct:name:carol")
        assert owner.startswith("a:"), owner  # this node's, with its run token
        assert 0 < int(redis_server.cli("PTTL", "ct:name:carol")) <= 10_000
        assert "chat_trio_names_held 1\n" in await _metrics(ports["metrics"])
        await client.send("/quit")
        await client.read_to_eof()
        await _until(lambda: redis_server.cli("EXISTS", "ct:name:carol") == "0")
        assert redis_server.cli("GET", "ct:name:bob") == "b:0123456789abcdef:7"
        assert "chat_trio_names_held 0\n" in await _metrics(ports["metrics"])
        process.terminate()
        _, log = process.communicate(timeout=60)
    assert "Traceback" not in log


async def test_leases_a_killed_nodes_names_are_free_again_within_15_s(
    redis_server: RedisServer,
) -> None:
    async with serving(redis_server) as (process, client, _):
        await client.register("Alice")
        first_run = redis_server.cli("GET", "ct:name:allce")  # (Alice's look-alike key)
        assert first_run.startswith("a:")
        process.kill()  # kill -9: nothing is let go
        process.communicate(timeout=60)
    assert redis_server.cli("GET", "ct:name:allce") == first_run
    await _until(lambda: redis_server.cli("EXISTS", "ct:name:allce") == "0", 15)
    await _until(lambda: redis_server.cli("EXISTS", "ct:node:a") == "0", 15)  # (to start)
    # A node of the same name started again owns nothing of its dead run's: Alice is free.
    async with serving(redis_server) as (_, client, _):
        await client.register("Alice")
        assert redis_server.cli("GET", "ct:name:allce") not in ("", first_run)


async def test_leases_a_node_stopped_gracefully_lets_its_names_go_at_once(
    redis_server: RedisServer,
) -> None:
    async with serving(redis_server) as (process, client, _):
        await client.register("Carol")
        assert redis_server.cli("GET", "ct:name:carol").startswith("a:")
        process.terminate()  # SIGTERM: a graceful shutdown, Carol still online
        _, log = process.communicate(timeout=60)
    assert redis_server.cli("EXISTS", "ct:name:carol") == "0"  # not 10 s later: now
    assert "Traceback" not in log
