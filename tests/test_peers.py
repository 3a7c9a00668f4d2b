"""Several nodes, one chat (nodes/peers.py): real ``chat-trio serve --redis`` processes on
one real redis-server, and users on each, as issue 20's "What a user does" says."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
import trio

from chat_trio.chat.core import Chat
from chat_trio.chat.events import Missed, Said
from chat_trio.chat.outputs import Broadcast, Output
from chat_trio.chat.world import Rules
from chat_trio.nodes.codec import Envelope, encode
from chat_trio.nodes.peers import REAP_EVERY, REAP_QUIET, Peers
from chat_trio.nodes.subscriber import Subscriber
from chat_trio.storage.redis import client as redis_client
from tests.conftest import LineClient, start_doors
from tests.redis_server import RedisServer, needs_redis, redis_server
from tests.test_chat_rules import named
from tests.test_server_irc import IrcClient

__all__ = ["redis_server"]  # the fixture, used by name

pytestmark = needs_redis

CHEAP = ["--password-memory", "32", "--password-time", "1"]  #: argon2 made quick for tests
LEAVE_DEADLINE = 15.0
"""Seconds within which a node that was killed has its people's leave told elsewhere
(issue 20; by design at most ``NODE_LEASE_MS`` + ``REAP_EVERY``, 13 s)."""


@contextmanager
def nodes(
    redis: RedisServer, *names: str, irc: bool = False, db: int = 0, more: tuple[str, ...] = ()
) -> Iterator[list[tuple[subprocess.Popen[str], int]]]:
    """``chat-trio serve --redis`` once per name, each with its text door's port (and,
    ``irc``, an IRC door: ``irc_ports``), on Redis' database ``db``."""
    started: list[tuple[subprocess.Popen[str], int]] = []
    url = redis.url.removesuffix("/0") + f"/{db}"
    try:
        for name in names:
            node = ["--redis", url, "--node-name", name, "--no-web", "--flood-rate", "0"]
            irc_door = ["--irc-port", "0"] if irc else []
            process, ports = start_doors(*node, *CHEAP, *irc_door, *more)
            irc_ports[process.pid] = ports.get("IRC", 0)
            started.append((process, ports["text"]))
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.terminate()
            process.communicate(timeout=60)


irc_ports: dict[int, int] = {}  #: a node's IRC port, by its process id


@asynccontextmanager
async def user(port: int, name: str, source: str | None = None) -> AsyncIterator[LineClient]:
    """``name``, a guest on the node at ``port`` (from the address ``source``: any of
    127/8 is this machine's)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
    async with stream:
        client = LineClient(stream)
        await client.register(name)
        yield client


async def until(client: LineClient, command: str, text: str) -> None:
    """Send ``command`` until its answer has ``text`` (news from another node takes a
    moment: a Redis round trip), within 10 s."""
    with trio.fail_after(10):
        while True:
            await client.send(command)
            if text in await client.expect("\r\n"):
                return
            await trio.sleep(0.05)


async def answer(client: LineClient, command: str, text: str) -> str:
    """``until``, returning the line of the answer that has ``text``."""
    line = ""
    with trio.move_on_after(10):
        while True:
            await client.send(command)
            line = await client.expect("\r\n")
            if text in line:
                return line
            await trio.sleep(0.05)
    raise AssertionError(f"no {text!r} in answers to {command!r} within 10 s; last {line!r}")


@asynccontextmanager
async def login(port: int, name: str, password: str) -> AsyncIterator[LineClient]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        client = LineClient(stream)
        await client.expect("Enter your username: ")
        await client.send(f"{name} {password}")
        await client.expect("Type /help for commands.\r\n")
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
            await alice.send("/history 5")  # (a's reads see a's writes: it is stored)
            await alice.expect("] Alice: crabs")
            await until(bob, "/rooms", "#rust 1")  # (b has heard that Alice is in it)
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


def _admin(redis: RedisServer, name: str, password: str) -> None:
    """``name``'s account, an admin's, made as the operator makes one."""
    for step, stdin in (("add", f"{password}\n"), ("promote", "")):
        done = subprocess.run(
            [sys.executable, "-m", "chat_trio", "user", step, name, "--redis", redis.url,
             *CHEAP], input=stdin, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


async def test_peers_kick_and_kill_reach_a_person_on_another_node(
    redis_server: RedisServer,
) -> None:
    _admin(redis_server, "Alice", "s3cret-pw")
    with nodes(redis_server, "a", "b", "c") as [(_, a), (_, b), (_, c)]:
        async with (
            login(a, "Alice", "s3cret-pw") as alice,
            user(b, "Bob") as bob,
            user(c, "Cid") as cid,
        ):
            await alice.send("/join #ops")
            await alice.expect("* You joined #ops")
            await bob.send("/join #ops")
            await alice.expect("* Bob joined #ops")
            await cid.send("/join #ops")
            await alice.expect("* Cid joined #ops")
            await alice.send("/kick Bob too loud")
            await alice.expect("* Bob was kicked out of #ops by Alice: too loud")
            await bob.expect("You were kicked out of #ops by Alice: too loud")
            await bob.expect("Now talking in #lobby")
            await cid.expect("* Bob was kicked out of #ops by Alice: too loud")
            await until(alice, "/users #ops", "Users in #ops: 2 (@Alice, Cid)")
            await until(cid, "/users #ops", "Users in #ops: 2 (@Alice, Cid)")  # (b told c)
            await alice.send("/kill Bob spam")
            await bob.expect("You were kicked by Alice: spam")
            await bob.read_to_eof()
            await alice.expect("* Bob left the chat (kicked")


async def test_peers_a_room_is_run_alike_through_a_node_where_nobody_is_in_it(
    redis_server: RedisServer,
) -> None:
    """Its bans, modes, roles and invitations are the room's, not a node's: b, where
    nobody is in #den, keeps out whom a keeps out, and lets in whom a invited."""
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob, user(b, "Carol") as carol:
            await alice.send("/join #den")
            await alice.expect("* You joined #den (1 user here).")
            await alice.send("/ban #den Bob spam")
            await alice.expect("Bob")
            await alice.send("/mode #den +i")
            await alice.expect("invite only")
            await until(bob, "/rooms", "#den 1")  # (b has heard that Alice is in it)
            await bob.send("/join #den")
            await bob.expect("You are banned from #den.")
            await carol.send("/join #den")
            await carol.expect("#den is invite only (ask an operator for an invite).")
            await alice.send("/invite Carol #den")
            await carol.expect("* Alice invites you to #den (/join #den).")
            await carol.send("/join #den")
            await carol.expect("* You joined #den (2 users here).")
            await carol.send("/users #den")
            await carol.expect("Users in #den: 2 (@Alice, Carol)")
            await alice.expect("* Carol joined #den")
            await alice.send("/op Carol")  # (a role given on a: b's rules follow it)
            await carol.expect("* Alice made Carol an operator of #den.")
            await carol.send("/mode #den -i")
            await alice.expect("Carol")
            await bob.send("/join #den")  # (still banned, though no longer invite only)
            await bob.expect("You are banned from #den.")


async def test_peers_two_people_founding_one_room_on_two_nodes_one_runs_it(
    redis_server: RedisServer,
) -> None:
    """Alice on a and Bob on b join a new room at the same moment, 20 times: each time
    exactly one of them is its operator, as both nodes show; and a room everyone left,
    on every node, is founded anew by the next to join it."""
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await alice.expect("* Bob joined the chat")
            for n in range(20):
                room = f"#race{n}"
                await alice.send(f"/join {room}")
                await bob.send(f"/join {room}")
                shown = [
                    await answer(client, f"/users {room}", f"Users in {room}: 2")
                    for client in (alice, bob)
                ]
                assert shown[0] == shown[1], shown
                assert shown[0].count("@") == 1, shown
                await alice.send(f"/leave {room}")
                await bob.send(f"/leave {room}")
                await until(alice, "/whois Bob", "* Bob: in #lobby;")  # (b told his leave)
            await bob.send("/join #race0")
            await bob.expect("* You joined #race0 (1 user here).")
            await bob.send("/users #race0")
            await bob.expect("Users in #race0: 1 (@Bob)")


async def test_peers_a_killed_node_has_its_people_leave_and_their_names_free(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (doomed, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await alice.expect("* Bob joined the chat")
            await bob.send("/join #den")
            await bob.expect("* You joined #den (1 user here).")
            await until(alice, "/rooms", "#den 1")
            os.kill(doomed.pid, signal.SIGKILL)
            await alice.expect("* Bob left the chat (connection lost)", LEAVE_DEADLINE)
            await alice.send("/users")
            await alice.expect("Users online: 1 (Alice)")
            await alice.send("/join #den")  # (nobody is in it: she founds it)
            await alice.send("/users #den")
            await alice.expect("Users in #den: 1 (@Alice)")
            async with user(a, "Bob") as again:  # his name is free again
                await again.send("/users")
                await again.expect("Users online: 2 (Alice, Bob)")
            # b starts again, clean: its connections count from 1 again, and nobody of
            # its last run is taken for one of this run's.
            with nodes(redis_server, "b") as [(_, b)]:
                async with user(b, "Carol") as carol:
                    await alice.expect("* Carol joined the chat")
                    await alice.send("/msg Carol hello")
                    await carol.expect("[PM from Alice] hello")
                    await carol.send("/users")
                    await carol.expect("Users online: 2 (Alice, Carol)")


async def test_peers_redis_restarted_chat_resumes_and_the_gap_is_told(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await alice.expect("* Bob joined the chat")
            await alice.send("/join #den")
            await alice.send("/ban #den Eve spam")
            await alice.expect("Eve")
            await alice.send("/join #lobby")  # (back to talking in #lobby)
            await alice.expect("#lobby")
            redis_server.restart()
            await alice.expect("* The other servers of this chat are out of reach", 10)
            await bob.send("said while apart")  # (on b only: a cannot hear it)
            await bob.expect("are out of reach", 10)
            await alice.send("still here")  # local users still talk to each other
            await alice.expect("* Some messages may be missing (the server lost contact", 15)
            await _resumed(alice, bob)
            # Redis forgot who is where; the nodes told it again: nobody left, nobody twice.
            await trio.sleep(REAP_EVERY * 2 + REAP_QUIET)  # (past any look at the leases)
            await alice.send("/users")
            seen = await alice.expect("Users online: 2 (Alice, Bob)")
            assert "left the chat" not in seen and "joined the chat" not in seen
            await bob.send("/users")
            await bob.expect("Users online: 2 (Alice, Bob)")
            # How #den is run, forgotten by Redis, was kept again by a: Eve, on b, where
            # nobody is in #den, is still kept out of it.
            async with user(b, "Eve") as eve:
                await eve.send("/join #den")
                await eve.expect("You are banned from #den.")


async def _resumed(alice: LineClient, bob: LineClient) -> None:
    """Bounded: contact comes back within ~1 s of Redis (more on a loaded machine); lines
    flow both ways again."""
    await _heard_again(bob, alice, "Bob")
    await _heard_again(alice, bob, "Alice")


async def _heard_again(speaker: LineClient, listener: LineClient, name: str) -> None:
    with trio.fail_after(30):
        n = 0
        while True:
            n += 1
            await speaker.send(f"ping {n}")
            with trio.move_on_after(1):
                await listener.expect(f"{name}: ping {n}")
                return


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


async def test_peers_an_account_registered_on_one_node_logs_in_on_another(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Dan") as dan:
            await dan.send("/register s3cret-pw")
            await dan.expect("\r\n")
            await dan.send("/quit")
            await dan.read_to_eof()
        with trio.fail_after(20):  # (b hears of the new account within a few seconds)
            while not await _logs_in(b, "Dan", "s3cret-pw"):  # noqa: ASYNC110 - another process's state
                await trio.sleep(0.5)


async def test_peers_logging_in_on_one_node_takes_over_the_account_online_on_another(
    redis_server: RedisServer,
) -> None:
    """Dan is online on a (his laptop); he logs in on b (his phone): a closes the old
    connection, saying why, and b gives him his name at once (it waited for a to let the
    name go), as one node does."""
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Dan") as dan:
            await dan.send("/register s3cret-pw")
            await dan.expect("\r\n")
        with trio.fail_after(20):  # (b hears of the new account within a few seconds)
            while not await _logs_in(b, "Dan", "s3cret-pw"):  # noqa: ASYNC110 - another process's state
                await trio.sleep(0.5)
        for _ in range(3):
            with trio.fail_after(10):  # (b let go of the phone's lease: Redis' state)
                while redis_server.cli("EXISTS", "ct:name:dan") != "0":  # noqa: ASYNC110
                    await trio.sleep(0.05)
            async with login(a, "Dan", "s3cret-pw") as laptop:
                await until(laptop, "/users", "Users online: 1 (Dan)")  # (b let go of it)
                assert await _logs_in(b, "Dan", "s3cret-pw")  # at once: never "taken"
                await laptop.expect("You logged in as Dan on another connection")
                await laptop.read_to_eof()


async def test_peers_an_admin_bans_a_guest_on_another_node(redis_server: RedisServer) -> None:
    """Boss (an admin, on a) bans Bob, a guest on b, by his name: Bob is put out on b, told
    why, and his address is refused there from then on; Carol, from another address,
    is not."""
    for command in (("add", "Boss"), ("promote", "Boss")):
        with trio.fail_after(60):
            await trio.run_process(
                [sys.executable, "-m", "chat_trio", "user", *command, "--redis", redis_server.url,
                 *CHEAP], stdin=b"s3cret-pw\n", capture_stdout=True, capture_stderr=True,
            )  # fmt: skip
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with login(a, "Boss", "s3cret-pw") as root, user(b, "Bob", "127.0.0.2") as bob:
            await until(root, "/whois Bob", "* Bob: in #lobby")
            await root.send("/ban Bob 1d flooding")
            await root.expect("Banned Bob")
            await bob.expect("flooding")
            await bob.read_to_eof()
        with trio.fail_after(20):  # (b applies the ban itself within a few seconds)
            while True:
                stream = await trio.open_tcp_stream("127.0.0.1", b, local_address="127.0.0.2")
                async with stream:
                    said = await LineClient(stream).read_to_eof()
                if "Your address is banned from this server" in said:
                    break
                await trio.sleep(0.5)
        async with user(b, "Carol", "127.0.0.3") as carol:
            await carol.send("/users")
            await carol.expect("Users online: 1 (Carol)")


async def _logs_in(port: int, name: str, password: str) -> bool:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        client = LineClient(stream)
        await client.expect("Enter your username: ")
        await client.send(f"{name} {password}")
        answer = await client.expect("\r\n")
        return answer.startswith(f"* Logged in as {name}.")


async def test_peers_an_irc_client_on_one_node_and_nc_on_another_share_a_room(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b", irc=True) as [(_, a), (b_node, _)]:
        async with user(a, "Alice") as alice:
            stream = await trio.open_tcp_stream("127.0.0.1", irc_ports[b_node.pid])
            async with stream:
                bob = IrcClient(stream)
                await bob.register("Bob")
                await alice.expect("* Bob joined the chat")
                await alice.send("hello irc")
                await bob.expect(":Alice!Alice@chat-trio PRIVMSG #lobby :hello irc\r\n")
                await bob.send("PRIVMSG #lobby :hello nc")
                await alice.expect("Bob: hello nc")
                await bob.send("NAMES #lobby")
                await bob.expect(" 353 Bob = #lobby :")
                names = await bob.expect("\r\n")
                assert set(names.split()) == {"Alice", "Bob"}
                await alice.send("/nick Alicia")
                await bob.expect(":Alice!Alice@chat-trio NICK Alicia\r\n")
                await bob.send("QUIT :bye")
                await alice.expect("* Bob left the chat (bye)")


async def test_peers_a_node_started_later_knows_who_is_where_without_old_news(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a") as [(_, a)]:
        async with user(a, "Alice") as alice:
            await alice.send("/join #rust")
            await alice.expect("* You joined #rust")
            with nodes(redis_server, "b") as [(_, b)]:
                async with user(b, "Bob") as bob:
                    await bob.send("/users")
                    await bob.expect("Users online: 2 (Alice, Bob)")
                    await bob.send("/rooms")
                    await bob.expect("Rooms: 2 (#lobby 2, #rust 1)")
                    await alice.expect("* Bob joined the chat")
                    await alice.send("/quit")
                    seen = await bob.expect("* Alice left the chat")
                    assert "Alice joined" not in seen  # (what happened before b: not news)


async def test_peers_two_people_racing_for_one_name_on_two_nodes_one_wins(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        for n in range(50):
            answers: list[str] = []
            both_answered = trio.Event()
            async with trio.open_nursery() as both:
                both.start_soon(_choose, a, f"racer{n}", answers, both_answered)
                both.start_soon(_choose, b, f"Racer{n}", answers, both_answered)
            won = [answer for answer in answers if answer.startswith("Welcome to the chat")]
            assert len(won) == 1, answers


async def _choose(port: int, name: str, answers: list[str], both_answered: trio.Event) -> None:
    """Connect, choose ``name``, keep the answer; quit once both racers have theirs (a
    winner that left at once would free the name for the other: no race then)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        client = LineClient(stream)
        await client.expect("Enter your username: ")
        await client.send(name)
        answers.append(await client.expect("\r\n"))
        if len(answers) == 2:
            both_answered.set()
        with trio.fail_after(10):
            await both_answered.wait()
        await client.send("/quit")
        await client.read_to_eof()


class Carried:
    """The interpreter's two calls peers makes, keeping what they were handed."""

    def __init__(self) -> None:
        self.heard: list[object] = []

    def carry_remote(self, steps: Iterable[Output]) -> None:
        self.heard.extend(steps)

    def carry_now(self, conn: int, door: None, steps: Iterable[Output]) -> object:
        self.heard.extend(steps)
        return None


def test_peers_numbers_drop_repeats_tell_gaps_and_count_anew_when_redis_lost_its_data() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")  # a member of #lobby here
    carried = Carried()
    url = "redis://127.0.0.1:1/0"  # (never reached: only what is heard is told)
    peers = Peers(chat, carried, redis_client(url), Subscriber.from_url(url), "a:1")

    def hear(n: int, epoch: str, text: str) -> list[object]:
        said = encode(Envelope("b:2", 5, 1.0, (Said("Bob", text),))).decode()
        carried.heard.clear()
        peers._heard("ct:room:#lobby", f"{n} {epoch} {said}".encode())
        return [e for o in carried.heard if isinstance(o, Broadcast) for e in o.events]

    assert hear(1, "E1", "one") == [Said("Bob", "one")]
    assert hear(2, "E1", "two") == [Said("Bob", "two")]
    assert hear(2, "E1", "two") == []  # a repeat (a publish that timed out, then went)
    assert hear(5, "E1", "five") == [Missed("#lobby"), Said("Bob", "five")]
    # Redis restarted without its data: its numbers start again, in a new epoch.
    assert hear(1, "E2", "again") == [Said("Bob", "again")]
    assert peers.statistics().duplicates == 1 and peers.statistics().gaps == 1


async def test_peers_a_node_stopped_gracefully_says_why_its_people_leave(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a") as [(_, a)]:
        async with user(a, "Alice") as alice:
            with nodes(redis_server, "b") as [(b_node, b)]:
                async with user(b, "Bob"):
                    await alice.expect("* Bob joined the chat")
                    b_node.terminate()
                    await alice.expect("* Bob left the chat (server shutting down)")


async def test_peers_a_node_that_died_unseen_leaves_no_ghosts_for_the_next(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "b") as [(doomed, b)]:
        async with user(b, "Bob") as bob:
            await bob.send("/join #den")
            await bob.expect("* You joined #den (1 user here).")
            with trio.fail_after(10):  # (Bob is written down for nodes to come)
                while redis_server.cli("HLEN", "ct:people:b") != "1":  # noqa: ASYNC110
                    await trio.sleep(0.05)
            os.kill(doomed.pid, signal.SIGKILL)  # (nobody else was there to see it)
    with trio.fail_after(15):  # its lease ends
        while redis_server.cli("EXISTS", "ct:node:b") == "1":  # noqa: ASYNC110 - Redis' clock
            await trio.sleep(0.2)
    with nodes(redis_server, "a") as [(_, a)]:
        async with user(a, "Alice") as alice:
            await alice.send("/users")
            await alice.expect("Users online: 1 (Alice)")
            await alice.send("/join #den")  # (Bob is not in it any more: she founds it)
            await alice.send("/users #den")
            await alice.expect("Users in #den: 1 (@Alice)")


async def test_peers_two_nodes_talking_at_once_in_one_room_keep_every_line(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a", "b") as [(_, a), (_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await alice.expect("* Bob joined the chat")
            async with trio.open_nursery() as both:
                for client, name in ((alice, "Alice"), (bob, "Bob")):
                    both.start_soon(_say_many, client, name)
            await bob.expect(f"Alice: A {LINES - 1}", 20)
            await alice.expect(f"Bob: B {LINES - 1}", 20)
            for client in (alice, bob):  # (each node's reads see its own writes)
                await client.send("/history 1")
                await client.expect("* End of history.")
    said = redis_server.cli("XRANGE", "ct:hist:#lobby", "-", "+")
    assert all(f'"A {n}"' in said and f'"B {n}"' in said for n in range(LINES))


LINES = 300  #: each of two people says at once (the history writes of two nodes race)


async def _say_many(client: LineClient, name: str) -> None:
    for n in range(LINES):
        await client.send(f"{name[0]} {n}")


async def test_peers_two_chats_on_two_databases_of_one_redis_stay_apart(
    redis_server: RedisServer,
) -> None:
    with nodes(redis_server, "a") as [(_, a)], nodes(redis_server, "b", db=1) as [(_, b)]:
        async with user(a, "Alice") as alice, user(b, "Bob") as bob:
            await bob.send("hello, other chat")
            for _ in range(5):  # (news crosses in milliseconds: it had time to, and did not)
                await trio.sleep(0.2)
                await alice.send("/users")
                await alice.expect("Users online: 1 (Alice)")
