"""Storage in Redis (storage/redis.py): the backend's answers, run over both backends
(SQLite and a real redis-server) so that they are the same; then the server with
``--redis``, as an operator runs it: history that survives a restart, start-up errors,
one live node of each name per Redis, /readyz, and ``chat-trio user``/``ban`` writing where it reads."""

from __future__ import annotations

import gc
import math
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import attrs
import pytest
import trio

from chat_trio.chat.events import BanKind, Entry, Kind, Mode, RoomBan
from chat_trio.chat.intents import Secret
from chat_trio.chat.outputs import QueryHistory, QueryTargets
from chat_trio.chat.registry import Account, Ban, RegisteredRoom, Verdict
from chat_trio.passwords import Cost, Passwords
from chat_trio.storage import database
from chat_trio.storage import redis as redis_storage
from chat_trio.storage.backend import RoomHistory
from chat_trio.storage.redis import LeaseLost, NodeLease, RedisBackend
from chat_trio.storage.sqlite import SqliteBackend
from chat_trio.storage.store import Retention, Store
from tests.conftest import LineClient, start_cli
from tests.redis_server import RedisServer, needs_redis, redis_server

__all__ = ["redis_server"]  # the fixture, used by name

pytestmark = needs_redis

CHEAP = Cost(time_cost=1, memory_kib=32, parallelism=1)

Either = SqliteBackend | RedisBackend


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Either]:
    """Each backend, its writer running, over a real file or a real redis-server."""
    everything = Retention(max_age=None, rows_per_room=None)
    async with writing(request.param, request, tmp_path, everything) as made:
        yield made


@asynccontextmanager
async def writing(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, retention: Retention
) -> AsyncIterator[Either]:
    """The backend ``kind`` ("sqlite", "redis"), its writer running with ``retention``
    (which prunes first), over ``tmp_path``'s file or the test's redis-server; closed
    after."""
    async with trio.open_nursery() as nursery:
        if kind == "sqlite":
            store = await Store.open(str(tmp_path / "chat.db"))
            await nursery.start(store.run, retention)
            yield SqliteBackend(store, Passwords(CHEAP))
            store.close()
            await store.aclose()
        else:
            server = request.getfixturevalue("redis_server")
            async with redis_storage.client(server.url) as client:
                made = RedisBackend(client, Passwords(CHEAP), retention)
                await nursery.start(made.run)
                yield made
                made.close()


def said(n: int, room: str = "#lobby", **more: str) -> Entry:
    return Entry(1000.0 + n, Kind.SAID, room, "Alice", f"line {n}", id=f"run:{n}", **more)


def pm(n: int, name: str, text: str, target: str, *ends: str) -> Entry:
    session, target_session, account, target_account = (*ends, "", "")[:4]
    return Entry(
        1000.0 + n, Kind.PRIVATE, "", name, text, target, session, target_session, account,
        target_account, id=f"run:{n}",
    )  # fmt: skip


async def test_redis_room_history_is_newest_last_and_case_insensitive(
    backend: Either,
) -> None:
    backend.record(tuple(said(n, "#Lobby") for n in range(8)))
    backend.record((Entry(1010.0, Kind.TOPIC, "#LOBBY", "Alice", "all about trio"),))
    backend.record((Entry(1011.0, Kind.JOINED, "#lobby", "Bob"),))
    shown = await backend.load_room("#lobby", 3)
    assert [e.text for e in shown.entries] == ["line 6", "line 7", "all about trio"]
    assert (shown.topic, shown.name) == ("all about trio", "#lobby")
    found = await backend.read_history(QueryHistory(1, 5, "#LOBBY"))
    assert found is not None
    assert [e.kind for e in found] == [Kind.SAID] * 3 + [Kind.TOPIC, Kind.JOINED]
    assert await backend.load_room("#elsewhere", 3) == (await backend.load_room("#none", 3))


async def test_redis_history_by_message_id_before_after_around_and_between(
    backend: Either,
) -> None:
    backend.record(tuple(said(n, "#a") for n in range(5)))

    async def texts(limit: int = 4, **bounds: object) -> list[str]:
        found = await backend.read_history(QueryHistory(1, limit, "#a", **bounds))  # type: ignore[arg-type]
        assert found is not None
        return [e.text.removeprefix("line ") for e in found]

    assert await texts(before_id="run:3") == ["0", "1", "2"]
    assert await texts(2, after_id="run:1") == ["2", "3"]
    assert await texts(2, after_id="run:1", newest=True) == ["3", "4"]
    assert await texts(3, around_id="run:2") == ["1", "2", "3"]  # it and the older half
    assert await texts(after_id="run:0", before_id="run:3") == ["1", "2"]
    assert await texts(2, after_id="run:4", before_id="run:0") == ["2", "3"]  # newest first
    assert await texts(after_id="no such id") == []  # an unknown id finds nothing
    assert await texts(2, around=1002.5) == ["2", "3"]
    assert await texts(before=1002.0) == ["0", "1"]
    assert await texts(2, after=1001.0) == ["2", "3"]
    assert await texts(3, around_id="run:2", before_id="run:3") == ["1", "2"]


async def test_redis_a_message_far_back_is_found_by_its_id(backend: Either) -> None:
    backend.record(tuple(said(n, "#a") for n in range(450)))  # pages of 200, walked back
    found = await backend.read_history(QueryHistory(1, 3, "#a", before_id="run:10"))
    assert found is not None and [e.id for e in found] == ["run:7", "run:8", "run:9"]


async def test_redis_private_history_is_found_by_identity_never_by_name(
    backend: Either,
) -> None:
    backend.record(
        (
            pm(5, "Alicia", "last week, as another nick", "Bob", "s0", "s9", "A", "B"),
            pm(10, "Alice", "another guest Alice, before", "Bob", "s1", "s2"),
            pm(20, "Alice", "me, as Alice", "Robert", "s3", "s4"),
            pm(21, "Robert", "back, renamed", "Ally", "s4", "s3"),
            pm(22, "Ally", "to someone else", "Carol", "s3", "s5"),
        )
    )

    async def texts(**asker: str) -> list[str]:
        found = await backend.read_history(QueryHistory(1, 10, peer="x", **asker))  # type: ignore[arg-type]
        assert found is not None
        return [e.text for e in found]

    guest = await texts(session="s3", peer_key="robert", peer_session="s4")
    assert guest == ["me, as Alice", "back, renamed"]
    assert await texts(session="s3", peer_key="bob") == []
    owner = await texts(session="s7", account="A", peer_key="bob", peer_account="B")
    assert owner == ["last week, as another nick"]
    assert await texts(session="s8", peer_key="bob") == []  # nobody else's
    targets = await backend.read_targets(QueryTargets(1, 10, 0.0, 2000.0, (), "s3"))
    assert targets == [("Robert", 1021.0), ("Carol", 1022.0)]


async def test_redis_targets_are_the_askers_rooms_with_their_latest_line(
    backend: Either,
) -> None:
    backend.record((said(1, "#a"), said(2, "#b"), said(3, "#A"), said(4, "#c")))
    backend.record((Entry(1009.0, Kind.JOINED, "#b", "Bob"),))  # not a conversation line
    found = await backend.read_targets(QueryTargets(1, 10, 0.0, 2000.0, ("#a", "#b"), "s1"))
    assert found == [("#b", 1002.0), ("#A", 1003.0)]
    assert await backend.read_targets(QueryTargets(1, 1, 1002.5, 2000.0, ("#a", "#b"), "s")) == [
        ("#A", 1003.0)
    ]


async def test_redis_forget_deletes_one_message_only_within_what_may_be_read(
    backend: Either,
) -> None:
    backend.record((said(1, "#a"), said(2, "#a"), said(3, "#b")))
    await backend.forget(QueryHistory(1, 1, "#b", around_id="run:2"))  # not #b's: kept
    await backend.forget(QueryHistory(1, 1, "#a", around_id="run:1"))
    left = await backend.read_history(QueryHistory(1, 10, "#a"))
    assert left is not None and [e.id for e in left] == ["run:2"]
    backend.record((pm(7, "Al", "oops", "Bo", "s1", "s2"), pm(8, "Al", "kept", "Bo", "s1", "s2")))
    await backend.forget(QueryHistory(1, 1, peer="Bo", around_id="run:7", session="s3"))
    asked = QueryHistory(1, 10, peer="Bo", session="s1", peer_key="bo")
    assert [e.text for e in await backend.read_history(asked) or ()] == ["oops", "kept"]
    await backend.forget(attrs.evolve(asked, around_id="run:7"))  # the sender's own
    assert [e.text for e in await backend.read_history(asked) or ()] == ["kept"]
    theirs = QueryHistory(1, 10, peer="Al", session="s2", peer_key="al")
    assert [e.text for e in await backend.read_history(theirs) or ()] == ["kept"]  # gone too


async def test_redis_accounts_bans_rooms_and_markers_round_trip(backend: Either) -> None:
    hashed = await backend.hash_password(Secret("correct horse"))
    assert "correct horse" not in hashed and hashed.startswith("$argon2")
    await backend.save_account("alice", Account("Alice", hashed, admin=True, id="A1"))
    assert await backend.check_password("alice", Secret("correct horse")) == (Verdict.RIGHT, True)
    assert await backend.check_password("alice", Secret("wrong")) == (Verdict.WRONG, True)
    assert await backend.check_password("bob", Secret("correct horse")) == (Verdict.WRONG, False)
    await backend.note_login("alice")
    assert [a.name for a in await backend.accounts()] == ["Alice"]

    await backend.save_ban("address", "10.0.0.1", Ban("address", "10.0.0.1", math.inf, "spam"))
    await backend.save_ban("account", "eve", Ban("account", "eve", time.time() + 60, "", "Al"))
    await backend.save_ban("account", "old", Ban("account", "old", time.time() - 1))
    bans = await backend.bans(time.time())
    assert sorted((b.kind, b.key, b.until) for b in bans)[1] == ("address", "10.0.0.1", math.inf)
    assert len(bans) == 2  # the ban that is over is gone
    await backend.save_ban("account", "eve", None)
    assert [b.key for b in await backend.bans(time.time())] == ["10.0.0.1"]

    ban = RoomBan(BanKind.MASK, "*!*@10.*", "Alice", 1.0, "flood")
    room = RegisteredRoom(
        "#Trio", "A1", 5.0, ("B2",), "topic", "Alice", 6.0, frozenset({Mode.MODERATED}),
        "", 0, (ban,),
    )  # fmt: skip
    await backend.save_room("#trio", room)
    await backend.save_room("#gone", attrs.evolve(room, name="#Gone"))
    await backend.save_room("#gone", None)
    assert await backend.rooms() == [room]

    await backend.save_account("bob", Account("Bob", hashed, id="B2"))
    for n, target in enumerate(["#a", "#b", "#c", "#a"]):
        await backend.save_marker("A1", target, 100 + n, keep=2)
    await backend.save_marker("B2", "#a", 7, keep=2)
    await backend.save_marker("Z9", "#a", 8, keep=2)  # no such account (deleted meanwhile)
    assert await backend.read_markers() == [("A1", "#c", 102), ("A1", "#a", 103), ("B2", "#a", 7)]

    await backend.save_account("alice", None)  # and the rooms it founded, and its markers
    assert [a.name for a in await backend.accounts()] == ["Bob"]
    assert await backend.rooms() == []
    assert await backend.read_markers() == [("B2", "#a", 7)]


async def test_redis_operator_changes_are_read_after_the_last_seen(
    backend: Either, tmp_path: Path
) -> None:
    seen = await backend.last_account_change()
    assert await backend.account_changes(seen) == (seen, [])
    seen_bans = await backend.last_ban_change()
    assert await backend.ban_changes(seen_bans, time.time()) == (seen_bans, [])
    # The operator (chat-trio user / ban) changes an account and a ban, as its tools write.
    alice = Account("Alice", "$argon2id$x", admin=True, id="A1")
    ban = Ban("account", "eve", math.inf, "spam")
    if isinstance(backend, RedisBackend):
        await backend.write_account("alice", alice, operator=True)
        await backend.write_ban("account", "eve", ban, operator=True)
    else:
        db = database.connect(str(tmp_path / "chat.db"))
        database.operator_account(db, "alice", alice)
        database.operator_ban(db, "account", "eve", ban)
        db.close()
    later, changed = await backend.account_changes(seen)
    assert later != seen and changed == [("alice", alice)]
    assert await backend.account_changes(later) == (later, [])  # read once
    later_bans, bans = await backend.ban_changes(seen_bans, time.time())
    assert later_bans != seen_bans and bans == [("account", "eve", ban)]


async def test_redis_statistics_count_what_was_written(backend: Either) -> None:
    backend.record((said(1), said(2)))
    await backend.read_history(QueryHistory(1, 1, "#lobby"))  # waits for the writes
    stats = backend.statistics()
    assert (stats.recorded, stats.written, stats.dropped, stats.queued) == (2, 2, 0, 0)


async def test_redis_history_is_trimmed_to_the_max_rows_as_it_is_written(
    redis_server: RedisServer,
) -> None:
    async with redis_storage.client(redis_server.url) as client:
        backend = RedisBackend(client, Passwords(CHEAP), Retention(rows_per_room=5))
        async with trio.open_nursery() as nursery:
            await nursery.start(backend.run)
            backend.record(tuple(said(n, "#a") for n in range(8)))
            found = await backend.read_history(QueryHistory(1, 10, "#a"))
            backend.close()
    assert found is not None and [e.id for e in found] == [f"run:{n}" for n in range(3, 8)]
    assert redis_server.cli("XLEN", "ct:hist:#a") == "5"


async def test_redis_history_older_than_the_max_age_is_pruned_at_start(
    redis_server: RedisServer,
) -> None:
    async with redis_storage.client(redis_server.url) as client:
        keep = RedisBackend(client, Passwords(CHEAP), Retention(max_age=None))
        async with trio.open_nursery() as nursery:
            await nursery.start(keep.run)
            now = time.time()
            keep.record((Entry(now - 7200, Kind.SAID, "#a", "Al", "old"),))
            keep.record((Entry(now, Kind.SAID, "#a", "Al", "new"),))
            await keep.load_room("#a", 5)
            keep.close()
        pruned = RedisBackend(client, Passwords(CHEAP), Retention(max_age=3600))
        async with trio.open_nursery() as nursery:
            await nursery.start(pruned.run)
            shown = await pruned.load_room("#a", 5)
            pruned.close()
    assert [e.text for e in shown.entries] == ["new"]
    assert pruned.statistics().pruned == 1


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_redis_a_topic_goes_with_its_history_past_the_max_age(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    now = time.time()
    async with writing(kind, request, tmp_path, Retention(max_age=None)) as keep:
        keep.record((Entry(now - 7200, Kind.TOPIC, "#a", "Al", "last month's news"),))
        keep.record((Entry(now - 7100, Kind.SAID, "#a", "Al", "old"),))
        keep.record((Entry(now, Kind.SAID, "#a", "Al", "new"),))
        assert (await keep.load_room("#a", 5)).topic == "last month's news"
    async with writing(kind, request, tmp_path, Retention(max_age=3600)) as pruned:  # pruned first
        shown = await pruned.load_room("#a", 5)
    assert ([e.text for e in shown.entries], shown.topic) == (["new"], "")


async def _writes_in_order(
    redis_server: RedisServer, first: Callable[[], Awaitable[object]],
    then: Callable[[], Awaitable[object]],
) -> None:  # fmt: skip
    """Run ``first`` and ``then`` at once, with ``first``'s write reaching Redis first:
    ``CLIENT PAUSE ... WRITE`` holds writes (reads go on) and runs them, once let go, in
    the order they came; a held client has the flag ``b``."""

    async def held(count: int) -> None:
        with trio.fail_after(10):
            while len(re.findall(r" flags=\w*b", redis_server.cli("CLIENT", "LIST"))) < count:  # noqa: ASYNC110
                await trio.sleep(0.01)  # another process's state: no event to wait on

    redis_server.cli("CLIENT", "PAUSE", "20000", "WRITE")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await held(1)
        nursery.start_soon(then)
        await held(2)
        redis_server.cli("CLIENT", "UNPAUSE")


@asynccontextmanager
async def _al_and_the_operator(
    redis_server: RedisServer,
) -> AsyncIterator[tuple[RedisBackend, Callable[[], Awaitable[None]]]]:
    """A node's backend where Al has an account (id A1), and the operator's deletion of it
    (``chat-trio user``: another process, its own connection)."""
    async with (
        redis_storage.client(redis_server.url) as client,
        redis_storage.client(redis_server.url) as operators,
    ):
        backend = RedisBackend(client, Passwords(CHEAP))
        await backend.save_account("al", Account("Al", "$argon2id$x", id="A1"))
        deleting = RedisBackend(operators, Passwords(CHEAP)).write_account
        yield backend, partial(deleting, "al", None, operator=True)


async def test_redis_a_login_never_makes_again_an_account_deleted_meanwhile(
    redis_server: RedisServer,
) -> None:
    async with _al_and_the_operator(redis_server) as (backend, delete):
        # Al logs in here as the operator deletes the account: the deletion comes first.
        await _writes_in_order(redis_server, delete, partial(backend.note_login, "al"))
        assert redis_server.cli("EXISTS", "ct:account:al") == "0"
        assert await backend.accounts() == []


async def test_redis_deleting_an_account_deletes_a_room_it_founded_meanwhile(
    redis_server: RedisServer,
) -> None:
    async with _al_and_the_operator(redis_server) as (backend, delete):
        room = RegisteredRoom("#New", "A1", 5.0, (), "", "", 0.0, frozenset(), "", 0, ())
        # Al registers #new as the operator deletes the account: the room comes first.
        await _writes_in_order(redis_server, partial(backend.save_room, "#new", room), delete)
        assert await backend.rooms() == []  # none outlives its founder's account
        assert await backend.accounts() == []


async def test_redis_a_connections_private_stream_expires_within_the_history_age(
    redis_server: RedisServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with writing("redis", request, tmp_path, Retention(max_age=60)) as backend:
        backend.record((pm(1, "Al", "hi", "Guest", "s1", "s2", "A1"),))
        await backend.read_history(QueryHistory(1, 1, "#lobby"))  # waits for the write
    # Only a connection reads its own stream: once it is gone, nobody does.
    for guest in ("ct:pm:s:s1", "ct:pm:s:s2"):
        assert 0 < int(redis_server.cli("PTTL", guest)) <= 60_000
    assert redis_server.cli("PTTL", "ct:pm:a:A1") == "-1"  # an account's: pruned by age


async def test_redis_the_account_list_of_20000_accounts_is_read_in_a_few_round_trips(
    redis_server: RedisServer,
) -> None:
    async with (
        redis_storage.client(redis_server.url) as client,
        client.pipeline(transaction=False) as pipe,
    ):
        for n in range(20_000):
            pipe.hset(f"ct:account:user{n:05}", {
                "name": f"user{n:05}", "hash": "$argon2id$x", "admin": 0, "id": f"A{n}",
                "created": 1.0,
            })  # fmt: skip
            pipe.sadd("ct:accounts", [f"user{n:05}"])
    # The whole command is under one call's deadline (2 s): one round trip per account,
    # at a few hundred microseconds each, did not fit.
    listed = _cli("user", "list", "--redis", redis_server.url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 20_000
    assert lines[-1].startswith("user19999  user   created 1970-01-01  last login never")


COREDIS_LEAK = (
    "ignore:Exception ignored in. <function MemoryObject:pytest.PytestUnraisableExceptionWarning"
)
"""coredis 6.9 leaves a pair of anyio memory streams unclosed for each connection that it
fails to make (garbage, warned about when collected): its bug, harmless to us."""


@pytest.mark.filterwarnings(COREDIS_LEAK)
async def test_redis_down_is_an_answer_of_no_history_never_an_exception(
    redis_server: RedisServer,
) -> None:
    async def ask_while_down() -> None:
        async with redis_storage.client(redis_server.url) as client:
            backend = RedisBackend(client, Passwords(CHEAP))
            redis_server.stop()
            assert await backend.read_history(QueryHistory(1, 5, "#a")) is None
            assert await backend.load_room("#a", 5) == RoomHistory()
            verdict = await backend.check_password("al", Secret("pw"))
            assert verdict == (Verdict.UNAVAILABLE, False)
            assert backend.up is False
            assert await backend.writable() is not None

    await ask_while_down()
    # Its client gone with its frame, coredis' garbage (COREDIS_LEAK) is collected, and
    # warns, here: not in a later test.
    gc.collect()


# -- the server with --redis, as an operator runs it -----------------------------------------


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_trio", *args], input=stdin, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


async def _say(port: int, *lines: str) -> str:
    """Connect with the text door, send ``lines``, and return what came back until the
    server closes (``/quit`` last)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    got = b""
    with trio.fail_after(20):
        async with stream:
            await stream.send_all("".join(f"{line}\n" for line in lines).encode())
            while chunk := await stream.receive_some():
                got += chunk
    return got.decode()


async def _wait_for(check: Callable[[], bool]) -> None:
    """Look at another process's state (nothing to wait on) until ``check`` holds,
    within 30 s."""
    with trio.fail_after(30):
        while not check():  # noqa: ASYNC110 - another process's state: no event to wait on
            await trio.sleep(0.2)


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, err = process.communicate(timeout=60)
    return err


async def test_redis_server_keeps_history_in_redis_across_a_restart(
    redis_server: RedisServer,
) -> None:
    first, port = start_cli("--redis", redis_server.url, "--node-name", "a", "--no-web")
    try:
        await _say(port, "alice", "kept in redis", "/quit")
    finally:
        log = _stop(first)
    assert "node=a" in log  # the node's name is in the logs
    assert "redis-not-durable appendonly=no" in log  # and what puts the state at risk
    assert redis_server.cli("EXISTS", "ct:hist:#lobby") == "1"
    again, port = start_cli("--redis", redis_server.url, "--no-web")
    try:
        seen = await _say(port, "bob", "/quit")
    finally:
        _stop(again)
    assert "* History of #lobby (last 1 line):" in seen
    assert "] alice: kept in redis\r\n* End of history." in seen


async def test_redis_a_second_node_of_the_same_name_is_refused_with_one_line(
    redis_server: RedisServer,
) -> None:
    first, _ = start_cli("--redis", redis_server.url, "--node-name", "a", "--no-web")
    try:
        # The lease is refreshed while the node runs: its time to live goes up again, and
        # a Redis that lost its data (restarted without it) gets it back.
        redis_server.cli("FLUSHALL")
        await _wait_for(lambda: redis_server.cli("SMEMBERS", "ct:nodes") == "a")
        lowest = int(redis_server.cli("PTTL", "ct:node:a"))
        with trio.fail_after(30):
            while (left := int(redis_server.cli("PTTL", "ct:node:a"))) <= lowest:
                lowest = min(lowest, left)
                await trio.sleep(0.2)
        same = _cli("serve", "--port", "0", "--no-web", "--redis", redis_server.url,
                    "--node-name", "a")  # fmt: skip
        other, _ = start_cli("--redis", redis_server.url, "--node-name", "b", "--no-web")
        _stop(other)  # (a node of another name is welcome: several nodes, one chat)
    finally:
        _stop(first)
    assert same.returncode == 1
    assert same.stderr.splitlines()[-1] == (
        f"chat-trio: cannot serve on Redis at {redis_server.url}: another node named a uses "
        f"this Redis (give each node its own --node-name; a node that stopped lets go within "
        f"10 s)"
    )
    # Once the first has stopped (and let go), a node of its name starts there again.
    third, _ = start_cli("--redis", redis_server.url, "--node-name", "a", "--no-web")
    _stop(third)


async def test_redis_node_lease_is_kept_and_let_go_only_while_it_is_this_nodes(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_storage, "NODE_REFRESH", 0.05)  # refresh at once, not in 3 s
    async with redis_storage.client(redis_server.url) as client:
        lease = NodeLease(client, "a")
        await lease.claim()
        # It ran out (Redis out of reach for longer than it lives): still free, taken again,
        # another node's lease beside it or not.
        redis_server.cli("DEL", "ct:node:a")
        redis_server.cli("SET", "ct:node:b", "b:x", "PX", "60000")
        redis_server.cli("SADD", "ct:nodes", "b")
        with trio.move_on_after(1):
            await lease.keep()
        assert redis_server.cli("GET", "ct:node:a") == lease.token
        # Meanwhile another process of this name took it: never refreshed over, never
        # deleted, and the node is told it lost it.
        redis_server.cli("SET", "ct:node:a", "a:another", "PX", "60000")
        with (
            trio.fail_after(10),
            pytest.raises(LeaseLost, match=r"^node a lost its lease to another node of its name"),
        ):
            await lease.keep()
        await lease.release()
        assert redis_server.cli("GET", "ct:node:a") == "a:another"


async def test_redis_node_whose_lease_was_taken_over_stops_with_one_line(
    redis_server: RedisServer,
) -> None:
    process, _ = start_cli("--redis", redis_server.url, "--node-name", "a", "--no-web")
    try:
        redis_server.cli("SET", "ct:node:a", "a:another-process", "PX", "60000")
        with trio.fail_after(20):  # the next refresh (every 3 s) finds it
            while process.poll() is None:  # noqa: ASYNC110 - another process: no event to wait on
                await trio.sleep(0.2)
    finally:
        err = _stop(process)
    assert process.returncode == 1
    assert err.splitlines()[-1] == (
        f"chat-trio: stopped serving on Redis at {redis_server.url}: node a lost its lease to "
        f"another node of its name while it could not refresh it; two nodes may not share one "
        f"name, so this one stops"
    )
    assert "redis-node-lease-lost node=a holder=a" in err
    assert redis_server.cli("GET", "ct:node:a") == "a:another-process"  # its release left it


async def test_redis_killed_node_holds_its_lease_until_it_ends_then_another_starts(
    redis_server: RedisServer,
) -> None:
    first, _ = start_cli("--redis", redis_server.url, "--node-name", "a", "--no-web")
    first.kill()  # SIGKILL: no release
    first.communicate(timeout=60)
    refused = _cli("serve", "--port", "0", "--no-web", "--redis", redis_server.url,
                   "--node-name", "a")  # fmt: skip
    assert refused.returncode == 1 and "another node named a uses this Redis" in refused.stderr
    with trio.fail_after(15):  # the lease lives 10 s from its last refresh
        while redis_server.cli("EXISTS", "ct:node:a") == "1":  # noqa: ASYNC110 - Redis' clock
            await trio.sleep(0.2)
    second, _ = start_cli("--redis", redis_server.url, "--node-name", "a", "--no-web")
    try:
        assert redis_server.cli("GET", "ct:node:a").startswith("a:")
    finally:
        _stop(second)


def test_redis_unreachable_or_wrong_url_is_one_clear_line() -> None:
    down = _cli("serve", "--port", "0", "--no-web", "--redis", "redis://127.0.0.1:1/0")
    assert down.returncode == 1
    assert down.stderr.strip().splitlines() == [
        "chat-trio: cannot reach Redis at redis://127.0.0.1:1/0: Unable to establish a "
        "connection to 127.0.0.1:1"
    ]
    wrong = _cli("serve", "--redis", "http://127.0.0.1:6379")
    assert wrong.returncode == 2
    assert "is not a Redis URL (redis://HOST:PORT/DB" in wrong.stderr
    assert "Traceback" not in down.stderr + wrong.stderr
    assert "is not a node name" in _cli("serve", "--node-name", "a b").stderr
    for url in ("rediss://127.0.0.1:6379/0", "unix:///run/redis.sock"):  # (not yet)
        refused = _cli("serve", "--redis", url)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "only redis://HOST:PORT/DB is taken for now" in refused.stderr


async def test_redis_readyz_is_not_ready_while_redis_does_not_answer(
    redis_server: RedisServer,
) -> None:
    process, ports = start_cli_doors(redis_server)
    try:
        ready = await _get(ports["metrics"], "/readyz")
        assert ready.startswith("HTTP/1.1 200") and "redis" in ready
        assert "chat_trio_redis_up 1" in await _get(ports["metrics"], "/metrics")
        redis_server.stop()
        down = await _get(ports["metrics"], "/readyz")
        assert down.startswith("HTTP/1.1 503")
        assert f"redis: FAILED, {redis_server.url} does not answer: Unable to" in down
        assert "chat_trio_redis_up 0" in await _get(ports["metrics"], "/metrics")
    finally:
        _stop(process)


def start_cli_doors(redis_server: RedisServer) -> tuple[subprocess.Popen[str], dict[str, int]]:
    from tests.conftest import start_doors

    return start_doors("--redis", redis_server.url, "--no-web", "--metrics-port", "0")


async def _get(port: int, path: str) -> str:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    got = b""
    with trio.fail_after(20):
        async with stream:
            await stream.send_all(
                f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            )
            while chunk := await stream.receive_some():
                got += chunk
    return got.decode()


async def test_redis_user_and_ban_commands_write_where_the_server_reads(
    redis_server: RedisServer,
) -> None:
    cheap = ["--password-memory", "32", "--password-time", "1"]
    added = _cli("user", "add", "Carol", "--redis", redis_server.url, *cheap, stdin="s3cret-pw\n")
    assert added.returncode == 0, added.stderr
    assert redis_server.cli("HGET", "ct:account:carol", "name") == "Carol"
    assert "s3cret-pw" not in redis_server.cli("HGET", "ct:account:carol", "hash")
    listed = _cli("user", "list", "--redis", redis_server.url)
    assert listed.stdout.startswith("Carol  user ")
    banned = _cli("ban", "add", "10.9.8.7", "--redis", redis_server.url)
    assert banned.returncode == 0, banned.stderr
    assert "10.9.8.7" in _cli("ban", "list", "--redis", redis_server.url).stdout
    process, port = start_cli("--redis", redis_server.url, "--no-web", *cheap)
    try:
        seen = await _say(port, "Carol s3cret-pw", "/quit")
    finally:
        _stop(process)
    assert "Welcome to the chat, Carol!" in seen
    down = _cli("user", "list", "--redis", "redis://127.0.0.1:1/0")
    assert down.returncode == 1
    assert down.stderr.startswith("chat-trio: cannot reach Redis at redis://127.0.0.1:1/0")


async def test_redis_a_running_server_applies_the_operators_ban_from_redis(
    redis_server: RedisServer,
) -> None:
    process, port = start_cli("--redis", redis_server.url, "--no-web")
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"dave\n")
            got = b""
            with trio.fail_after(20):
                while b"Welcome to the chat" not in got:
                    got += await stream.receive_some()
                banned = _cli("ban", "add", "127.0.0.1", "--force", "--redis", redis_server.url)
                assert banned.returncode == 0, banned.stderr
                while chunk := await stream.receive_some():  # until the server closes
                    got += chunk
    finally:
        _stop(process)
    assert "banned" in got.decode().lower().split("welcome to the chat")[-1]


async def test_redis_settings_that_risk_the_chats_state_are_warned_about(tmp_path: Path) -> None:
    risky = RedisServer(tmp_path, "--appendonly", "yes", "--maxmemory-policy", "allkeys-lru")
    risky.start()
    try:
        process, _ = start_cli("--redis", risky.url, "--no-web")
        log = _stop(process)
    finally:
        risky.stop()
    assert "redis-may-evict maxmemory-policy=allkeys-lru" in log
    assert "redis-not-durable" not in log  # appendonly yes: durable


async def _user(port: int, name: str) -> LineClient:
    """A user of the text door, registered as ``name`` (its stream is the caller's to close)."""
    user = LineClient(await trio.open_tcp_stream("127.0.0.1", port))
    await user.register(name)
    return user


ANSWERED_WITHIN = redis_storage.ANSWER_TIMEOUT + 2.5
"""What a user waits at most for an answer while Redis hangs: the backend's bound on
one answer, and room for a loaded test machine (one failing read alone takes 2 s)."""


async def test_redis_hung_a_user_is_answered_within_one_deadline_then_all_works(
    redis_server: RedisServer,
) -> None:
    process, port = start_cli("--redis", redis_server.url, "--no-web")
    try:
        alice, bob = await _user(port, "alice"), await _user(port, "bob")
        async with alice.stream, bob.stream:
            await alice.send("before the hang")
            await _wait_for(
                lambda: "before" in redis_server.cli("XRANGE", "ct:hist:#lobby", "-", "+")
            )
            redis_server.pause()
            try:
                await alice.send("while it hangs")
                await bob.expect("alice: while it hangs")  # its write now waits (2 s), in vain
                await alice.send("and more")  # written after that one: in vain too
                await alice.send("/history")
                await alice.expect("History is not available right now", ANSWERED_WITHIN)
                await alice.send("/join #elsewhere")  # how it is run cannot be read: not now
                await alice.expect("#elsewhere cannot be joined right now", ANSWERED_WITHIN)
                await alice.send("/join #lobby")  # and the chat goes on meanwhile
                await alice.send("/history")
                await alice.expect("History is not available right now", ANSWERED_WITHIN)
            finally:
                redis_server.resume()
            await alice.send("after the hang")
            await _wait_for(
                lambda: "after" in redis_server.cli("XRANGE", "ct:hist:#lobby", "-", "+")
            )
            await alice.send("/history")
            shown = await alice.expect("* End of history.", 20)
        assert process.poll() is None  # still serving
    finally:
        log = _stop(process)
    assert "alice: before the hang" in shown and "alice: after the hang" in shown
    assert "Traceback" not in log


async def test_redis_restarted_under_a_running_server_is_used_again_nothing_crashes(
    redis_server: RedisServer,
) -> None:
    process, port = start_cli("--redis", redis_server.url, "--no-web")
    try:
        await _say(port, "alice", "before", "/quit")
        redis_server.restart()  # without its data: nothing is saved
        await _say(port, "bob", "after", "/quit")
        await _wait_for(lambda: "after" in redis_server.cli("XRANGE", "ct:hist:#lobby", "-", "+"))
        assert process.poll() is None  # still serving
    finally:
        log = _stop(process)
    assert "Traceback" not in log
