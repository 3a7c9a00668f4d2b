"""Several nodes, one chat (nodes/peers.py): real ``chat-trio serve --redis`` processes on
one real redis-server, and users on each, as issue 20's "What a user does" says."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
import trio

from tests.conftest import LineClient, start_cli
from tests.redis_server import RedisServer, needs_redis, redis_server

__all__ = ["redis_server"]  # the fixture, used by name

pytestmark = needs_redis

LEAVE_DEADLINE = 15.0
"""Seconds within which a node that was killed has its people's leave told elsewhere
(issue 20; by design at most ``NODE_LEASE_MS`` + ``REAP_EVERY``, 13 s)."""


@contextmanager
def nodes(redis: RedisServer, *names: str) -> Iterator[list[tuple[subprocess.Popen[str], int]]]:
    """``chat-trio serve --redis`` once per name, each with its text door's port."""
    started: list[tuple[subprocess.Popen[str], int]] = []
    try:
        for name in names:
            started.append(start_cli("--redis", redis.url, "--node-name", name, "--no-web"))
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.terminate()
            process.communicate(timeout=60)


@asynccontextmanager
async def user(port: int, name: str) -> AsyncIterator[LineClient]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        client = LineClient(stream)
        await client.register(name)
        yield client


async def test_peers_two_nodes_are_one_chat(redis_server: RedisServer) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await alice.expect("* Bob joined the chat")
            await bob.send("hello from b")
            await alice.expect("Bob: hello from b")
            await alice.send("hi from a")
            await bob.expect("Alice: hi from a")
            await bob.send("/users")
            await bob.expect("Users online: 2 (Alice, Bob)")
            await bob.send("/msg Alice psst")
            await bob.expect("[PM to Alice] psst")
            await alice.expect("[PM from Bob] psst")
            await alice.send("/msg Bob back")
            await bob.expect("[PM from Alice] back")
            await bob.send("/whois Alice")
            await bob.expect("* Alice: in #lobby")
            await bob.send("/nick alice")  # Bob can't take the name Alice has
            await bob.expect('The name "alice" is already taken')
            # A room said in on a is shown, with its lines, to whoever joins it on b.
            await alice.send("/join #rust")
            await alice.send("crabs")
            await alice.expect("* Nobody else is in #rust right now.")
            await bob.send("/join #rust")
            await bob.expect("* You joined #rust (2 users here).")
            await bob.expect("Alice: crabs")
            await alice.expect("* Bob joined #rust")
            await bob.send("/rooms")
            await bob.expect("Rooms: 2 (#lobby 2, #rust 2)")
            await bob.send("/nick Robert")
            await alice.expect("* Bob is now known as Robert")
            await alice.send("/users #rust")
            await alice.expect("Users in #rust: 2 (@Alice, Robert)")
            await bob.send("/quit")
            await alice.expect("* Robert left the chat")
            await alice.send("/users")
            await alice.expect("Users online: 1 (Alice)")


async def test_peers_a_line_is_told_once_in_order_on_every_node(redis_server: RedisServer) -> None:
    with nodes(redis_server, "a", "b", "c") as [(_, a), (_, b), (_, c)]:
        async with user(a, "Ann") as ann, user(b, "Ben") as ben, user(c, "Cid") as cid:
            await ann.expect("* Cid joined the chat")
            await ben.expect("* Cid joined the chat")
            for n in range(50):
                await ann.send(f"line {n}")
            for other in (ben, cid):
                seen = await other.expect("Ann: line 49")
                said = [line for line in seen.splitlines() if line.startswith("Ann: line")]
                assert said == [f"Ann: line {n}" for n in range(50)]


async def test_peers_kick_and_kill_reach_a_person_on_another_node(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await alice.send("/join #ops")
            await alice.expect("* Nobody else is in #ops right now.")
            await bob.send("/join #ops")
            await alice.expect("* Bob joined #ops")
            await alice.send("/kick Bob too loud")
            await alice.expect("* Bob was kicked out of #ops by Alice: too loud")
            await bob.expect("You were kicked out of #ops by Alice: too loud")
            await bob.send("/users #ops")
            await bob.expect("You are not in #ops")


async def test_peers_a_killed_node_has_its_people_leave_and_their_names_free(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (doomed, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob"):
            await alice.expect("* Bob joined the chat")
            os.kill(doomed.pid, signal.SIGKILL)
            await alice.expect("* Bob left the chat (connection lost)", LEAVE_DEADLINE)
            await alice.send("/users")
            await alice.expect("Users online: 1 (Alice)")
            async with user(a, "Bob") as again:  # his name is free again
                await again.send("/users")
                await again.expect("Users online: 2 (Alice, Bob)")


async def test_peers_redis_restarted_chat_resumes_and_the_gap_is_told(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await alice.expect("* Bob joined the chat")
            redis_server.restart()
            await alice.expect("* The other servers of this chat are out of reach", 10)
            await bob.send("said while apart")  # (on b only: a cannot hear it)
            await bob.expect("are out of reach", 10)
            await alice.send("still here")  # local users still talk to each other
            await _resumed(alice, bob)


async def _resumed(alice: LineClient, bob: LineClient) -> None:
    """Bounded: contact comes back within ~1 s of Redis; lines flow both ways again."""
    with trio.fail_after(30):
        n = 0
        while True:
            n += 1
            await bob.send(f"ping {n}")
            with trio.move_on_after(1):
                await alice.expect(f"Bob: ping {n}")
                break
    await alice.send("back")
    await bob.expect("Alice: back")


@pytest.mark.parametrize("seconds", [10])
async def test_peers_redis_stopped_nodes_serve_locally_then_recover(
    redis_server: RedisServer, seconds: int
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(a, "Ann") as ann, user(b, "Bob") as bob:
            await alice.expect("* Bob joined the chat")
            redis_server.pause()
            try:
                await alice.expect("are out of reach", 10)
                await ann.send("local talk")
                await alice.expect("Ann: local talk")
                await trio.sleep(seconds / 2)
            finally:
                redis_server.resume()
            await _resumed(alice, bob)
