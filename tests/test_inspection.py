"""The operator's port of a real server (127.0.0.1, port 0): /metrics scraped over HTTP and
read with Prometheus' own parser while clients connect, talk, get refused and fail a
login; /healthz; /readyz failing while the database takes no writes."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import trio

from chat_trio.chat.limits import Limits
from chat_trio.chat.world import Rules
from chat_trio.config import Config
from chat_trio.inspection import MAX_CONNECTIONS
from chat_trio.passwords import Cost
from chat_trio.server import Listening
from tests.conftest import LineClient, serving, start_doors
from tests.test_metrics import parsed

CHEAP = Cost(time_cost=1, memory_kib=32, parallelism=1)


def config(db: Path, limits: Limits | None = None) -> Config:
    return Config(
        port=0, web_port=None, irc_port=0, db=str(db), metrics_port=0, password_cost=CHEAP,
        rules=Rules(flood_burst=10, flood_rate=20), limits=limits or Limits(),
    )  # fmt: skip


def port_of(listening: list[Listening], label: str) -> int:
    (port,) = [bound.port for bound in listening if bound.label == label]
    return port


def fetch(port: int, path: str) -> tuple[int, str, str]:
    """GET ``path`` as a scraper would: (status, content type, body)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


async def get(port: int, path: str) -> tuple[int, str, str]:
    return await trio.to_thread.run_sync(fetch, port, path)


async def scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    status, kind, body = await get(port, "/metrics")
    assert (status, kind) == (200, "text/plain; version=0.0.4; charset=utf-8")
    return parsed(body.encode())


def one(
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str, **labels: str
) -> float:
    return samples[name][tuple(sorted(labels.items()))]


async def connect(port: int) -> LineClient:
    return LineClient(await trio.open_tcp_stream("127.0.0.1", port))


async def test_inspection_metrics_follow_connections_talk_refusals_and_failed_logins(
    tmp_path: Path,
) -> None:
    limits = Limits(max_clients=3)
    async with serving(config(tmp_path / "chat.db", limits=limits)) as (listening, _):
        text, metrics = port_of(listening, "text"), port_of(listening, "metrics")
        before = await scrape(metrics)
        assert one(before, "chat_trio_connections", door="text") == 0
        assert one(before, "chat_trio_connections", door="irc") == 0
        assert one(before, "chat_trio_users") == 0
        assert one(before, "chat_trio_rooms") == 1  # #lobby
        assert one(before, "chat_trio_whowas_entries") == 0
        assert one(before, "chat_trio_monitor_watches") == 0
        assert one(before, "chat_trio_lines_in_total") == 0

        alice, bob = await connect(text), await connect(text)
        await alice.register("Alice")
        await bob.register("Bob")
        await alice.send("/register alice-secret")
        await alice.expect("* Registered Alice.")
        await alice.send("/join #rust")
        await alice.expect("You joined #rust")
        await alice.send("/switch #lobby")
        await alice.expect("#lobby")
        quiet = await scrape(metrics)
        await alice.send("hello Bob")
        await bob.expect("Alice: hello Bob")
        talked = await scrape(metrics)
        assert one(talked, "chat_trio_connections", door="text") == 2
        assert one(talked, "chat_trio_connections_total", door="text") == 2
        assert one(talked, "chat_trio_users") == 2
        assert one(talked, "chat_trio_accounts") == 1
        assert one(talked, "chat_trio_rooms") == 2
        # Two names, /register, /join, /switch and the line.
        assert one(talked, "chat_trio_lines_in_total") == 6
        # Her line went to one other member of #lobby: Bob.
        lines_out = "chat_trio_lines_out_total"
        assert one(talked, lines_out) - one(quiet, lines_out) == 1
        assert one(talked, "chat_trio_deliveries_total", path="direct") > 0
        # What was said is written to the database (a read waits for the writes before
        # it), and how long that took is measured.
        await bob.send("/history 1")
        await bob.expect("Alice: hello Bob")
        written = await scrape(metrics)
        assert one(written, "chat_trio_history_written_total") >= 1
        assert one(written, "chat_trio_history_write_seconds_count") >= 1
        assert one(written, "chat_trio_history_write_seconds_bucket", le="+Inf") >= 1
        assert one(written, "chat_trio_history_queue_limit") == 10_000

        # A third client fits; a fourth is refused: the server is full.
        carol = await connect(text)
        await carol.expect("Enter your username: ")
        late = await connect(text)
        assert await late.read_to_eof() == "Server full, try later.\r\n"
        full = await scrape(metrics)  # the operator's port is no entrance: never full
        assert one(full, "chat_trio_connections_refused_total", reason="full") == 1
        assert one(full, "chat_trio_connections", door="text") == 3

        # Alice leaves; Carol tries her name with a wrong password.
        await alice.send("/quit")
        await alice.read_to_eof()
        await carol.send("Alice wrong-guess")
        await carol.expect("Wrong password for Alice.")
        failed = await scrape(metrics)
        assert one(failed, "chat_trio_password_checks_total", result="wrong") == 1
        assert one(failed, "chat_trio_password_checks_total", result="right") == 0
        assert one(failed, "chat_trio_disconnects_total", reason="quit") == 1
        assert one(failed, "chat_trio_connections", door="text") == 2
        assert one(failed, "chat_trio_users") == 1
        assert one(failed, "chat_trio_whowas_entries") == 1  # Alice, for WHOWAS

        # Bob pastes more than flood control lets through at once.
        await bob.send("\r\n".join(f"line {n}" for n in range(12)))
        await bob.expect("Slow down")
        flooded = await scrape(metrics)
        assert one(flooded, "chat_trio_flood_delays_total") == 1

        for client in (alice, bob, carol, late):
            await client.stream.aclose()


async def test_inspection_health_and_readiness_while_the_database_is_locked(
    tmp_path: Path,
) -> None:
    db = tmp_path / "chat.db"
    async with serving(config(db)) as (listening, _):
        metrics = port_of(listening, "metrics")
        assert await get(metrics, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
        status, _, body = await get(metrics, "/readyz")
        assert status == 200, body
        assert f"database: ok, {db} takes writes\n" in body
        assert body.startswith("listening: ok, 127.0.0.1:")

        # Another process (a backup, a stuck sqlite3 shell) holds the write lock.
        other = sqlite3.connect(db, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            status, _, body = await get(metrics, "/readyz")
            assert status == 503
            assert f"database: FAILED, {db} does not take writes: database is locked\n" in body
            assert await get(metrics, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
        finally:
            other.close()
        status, _, body = await get(metrics, "/readyz")
        assert status == 200, body


async def test_inspection_the_operators_port_is_not_a_way_into_the_chat(tmp_path: Path) -> None:
    async with serving(config(tmp_path / "chat.db")) as (listening, _):
        metrics = port_of(listening, "metrics")
        assert (await get(metrics, "/ws"))[0] == 404
        assert (await get(metrics, "/"))[0] == 404
        assert (await get(metrics, "/app.js"))[0] == 404


async def test_inspection_holds_a_bounded_number_of_connections(tmp_path: Path) -> None:
    async with serving(config(tmp_path / "chat.db")) as (listening, _):
        metrics = port_of(listening, "metrics")
        kept: list[LineClient] = []
        for _ in range(MAX_CONNECTIONS):  # each answered once, and kept open (keep-alive)
            kept.append(await connect(metrics))
            await kept[-1].stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await kept[-1].expect("\r\n\r\nok\n")
        extra = await connect(metrics)
        refused = await extra.read_to_eof()
        assert refused.startswith("HTTP/1.1 503 Service Unavailable\r\n")
        assert refused.endswith("503 Too many connections to the operator's port.\n")
        for client in kept:
            await client.stream.aclose()
        await extra.stream.aclose()
        # Once they are gone, the port answers again.
        assert (await get(metrics, "/healthz"))[0] == 200


def test_inspection_cli_serves_it_on_the_port_it_announces() -> None:
    process, ports = start_doors("--metrics-port", "0")
    try:
        assert fetch(ports["metrics"], "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
        status, _, body = fetch(ports["metrics"], "/readyz")
        assert status == 200 and "database: ok, :memory: takes writes" in body
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_inspection_cli_says_why_it_cannot_listen_on_the_metrics_port() -> None:
    def serve(port: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chat_trio", "serve", "--port", "0", "--no-web",
             "--db", ":memory:", "--metrics-port", port],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    wrong = serve("70000")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "--metrics-port: must be 0-65535, not 70000" in wrong.stderr
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        taken = serve(str(port))
    assert taken.returncode != 0 and "Traceback" not in taken.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in taken.stderr
