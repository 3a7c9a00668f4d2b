"""Rooms, private messages and history end to end: real sockets, a real SQLite file, and
the real CLI stopped and started again."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import trio
import trio.lowlevel

from chat_trio.chat.world import Rules
from chat_trio.config import Config
from chat_trio.doors.irc.render import IrcSettings
from tests.conftest import LineClient, needs, start_cli
from tests.test_server import connected, local, running
from tests.test_server_web import three_doors


async def test_server_rooms_and_private_messages_over_tcp(tmp_path: Path) -> None:
    config = local(db=str(tmp_path / "chat.db"))
    with trio.fail_after(20):
        async with (
            running(config) as (port, _),
            connected(port) as alice,
            connected(port) as bob,
            connected(port) as carol,
        ):
            await alice.register("Alice")
            await bob.register("Bob")
            await carol.register("Carol")
            await alice.send("/join #rust")
            await alice.expect("* You joined #rust (1 user here).\r\n")
            await bob.send("/join #Rust")
            await bob.expect("* You joined #rust (2 users here).\r\n")
            await alice.expect("* Bob joined #rust\r\n")
            await alice.send("borrowck says hi")
            await bob.expect("Alice: borrowck says hi\r\n")
            await carol.send("lobby news")
            await alice.expect("[#lobby] Carol: lobby news\r\n")
            await carol.send("/msg bob psst")
            await carol.expect("[PM to Bob] psst\r\n")
            await bob.expect("[PM from Carol] psst\r\n")
            await bob.send("/history @carol")
            await bob.expect("] Carol -> Bob: psst\r\n")
            await alice.send("/leave")
            await alice.expect("* You left #rust. Now talking in #lobby.\r\n")
            await bob.expect("* Alice left #rust\r\n")
            await alice.send("/rooms")
            await alice.expect("Rooms: 2 (#lobby 3, #rust 1)\r\n")
            # Carol never saw a line of #rust: it went to its members only.
            await carol.send("/users")
            seen = await carol.expect("Users online: 3")
            assert "borrowck" not in seen and "#rust" not in seen


async def test_server_joining_a_busy_room_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    """Three senders keep talking while Dave joins: the history he is shown and the live
    lines after it, per sender, are consecutive numbers with nothing missing or repeated."""
    config = local(db=str(tmp_path / "chat.db"), rules=Rules(history_lines=20, flood_rate=0))
    senders = 3
    lines = 300
    with trio.fail_after(60):
        async with running(config) as (port, _):
            clients = [
                LineClient(await trio.open_tcp_stream("127.0.0.1", port)) for _ in range(senders)
            ]
            for i, client in enumerate(clients):
                await client.register(f"s{i}")

            async def talk(i: int) -> None:
                for n in range(lines):
                    await clients[i].send(f"{n:04d}")
                    if n % 10 == 0:
                        await trio.lowlevel.checkpoint()  # let the others (and Dave) in

            async with connected(port) as dave, trio.open_nursery() as nursery:
                for i in range(senders):
                    nursery.start_soon(talk, i)
                for _ in range(senders * 25):
                    await trio.lowlevel.checkpoint()  # some lines go by before Dave joins
                await dave.register("Dave")
                text = dave.buffer.decode()  # what came with the welcome
                while not all(f"s{i}: {lines - 1:04d}" in text for i in range(senders)):
                    text += (await dave.stream.receive_some(65536)).decode()
            for client in clients:
                await client.stream.aclose()
    history, _, live = text.partition("* End of history.\r\n")
    assert "* History of #lobby (last 20 lines)" in history  # joined mid-conversation
    for i in range(senders):
        old = [int(n) for n in re.findall(rf"\] s{i}: (\d+)\r\n", history)]
        new = [int(n) for n in re.findall(rf"^s{i}: (\d+)\r", live, re.M)]
        seen = old + new
        assert new, f"sender {i} said nothing after Dave joined"
        assert seen == list(range(seen[0], lines)), f"sender {i}: {seen}"


def test_server_cli_history_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    process, port = start_cli("--db", db)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as alice:
            alice.sendall(b"Alice\n/join #keep\n/topic kept\nremember this\n/me smiles\n")
            alice.sendall(b"/msg Alice note to self\n/users\n")
            _read_until(alice, b"Users online")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr
        assert "history-closed" in stderr
    finally:
        process.kill()
    process, port = start_cli("--db", db)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as bob:
            bob.sendall(b"Bob\n/join #KEEP\n/history\n/quit\n")
            seen = _read_until(bob, b"Goodbye!")
        assert b"* You joined #keep (1 user here).\r\n* Topic: kept\r\n" in seen
        assert re.search(rb"\] Alice: remember this\r\n\[[0-9:]+\] \* Alice smiles\r\n\* End", seen)
        assert re.search(rb"\] \* Alice joined #keep\r\n", seen)  # /history shows joins too
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()


def test_server_cli_hard_kill_keeps_what_was_written_and_the_file_sound(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    process, port = start_cli("--db", db, "--flood-rate", "0")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as alice:
            alice.sendall(b"Alice\n" + b"".join(b"line %d\n" % i for i in range(1000)))
            alice.sendall(b"/history 1\n")  # answered once everything before it is written
            _read_until(alice, b"End of history")
            process.kill()  # SIGKILL: no shutdown at all
            process.communicate(timeout=20)
    finally:
        process.kill()
    process, port = start_cli("--db", db)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as bob:
            bob.sendall(b"Bob\n/history 500\n/quit\n")
            seen = _read_until(bob, b"Goodbye!")
        assert b"(last 500 lines)" in seen and b"] Alice: line 999\r\n" in seen
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()


def test_server_cli_corrupt_database_is_a_clear_startup_error(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    path.write_bytes(b"definitely not a database\n" * 200)
    path.chmod(0o600)
    result = subprocess.run(
        [*_cli(), "--db", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"chat-trio: cannot use the database {path}: ")
    assert "Traceback" not in result.stderr


def _cli() -> list[str]:
    return [sys.executable, "-m", "chat_trio", "serve", "--port", "0", "--no-web"]


def _read_until(sock: socket.socket, wanted: bytes, limit: int = 10_000) -> bytes:
    seen = b""
    for _ in range(limit):  # bounded; each recv waits at most the socket's timeout
        if wanted in seen:
            return seen
        data = sock.recv(65536)
        if not data:
            break
        seen += data
    assert wanted in seen, seen[-500:]
    return seen


@needs(["sqlite3"])
def test_server_history_backs_up_with_sqlite3_while_the_server_runs(tmp_path: Path) -> None:
    """docs/production.md's backup, as an operator types it, while people chat."""
    db, copy = tmp_path / "chat.db", tmp_path / "backup.db"
    process, port = start_cli("--db", str(db))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as alice:
            alice.sendall(b"Alice\nkept in the backup\n/history 5\n")
            _read_until(alice, b"] Alice: kept in the backup")  # read back: it is written
            backup = subprocess.run(
                ["sqlite3", str(db), f".backup {copy}"], capture_output=True, text=True,
                timeout=60,
            )  # fmt: skip
            assert backup.returncode == 0, backup.stderr
            alice.sendall(b"still chatting\n/users\n")  # the server never noticed
            _read_until(alice, b"Users online: 1")
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert process.returncode == 0
    rows = subprocess.run(
        ["sqlite3", str(copy), "SELECT text FROM history WHERE kind = 'said'"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "kept in the backup" in rows


async def test_server_message_ids_are_the_same_on_every_door_and_find_history(
    tmp_path: Path,
) -> None:
    """One line, one id: the IRC user's msgid tag, the page's id, and the stored entry's;
    each door asks for history after or before a message by its id."""
    config = Config(
        host="127.0.0.1", port=0, irc_port=0, web_port=0, db=str(tmp_path / "chat.db"),
        irc=IrcSettings(server_name="irc.test"), rules=Rules(flood_rate=0),
    )  # fmt: skip
    with trio.fail_after(20):
        async with three_doors(config) as (alice, bob, carol):
            await alice.register("Alice")
            caps = "message-tags echo-message batch server-time draft/chathistory"
            await bob.send(f"CAP REQ :{caps}")
            await bob.register("Bob")
            await carol.open()
            await carol.send(type="choose-name", name="Carol")
            await carol.expect(type="users", room="#lobby")
            await alice.send("first")
            tagged = await bob.expect(" PRIVMSG #lobby first\r\n")
            first = re.search(r"msgid=([^; ]+)", tagged)
            assert first is not None
            said = await carol.expect(type="said", text="first")
            assert said["id"] == first[1]  # the same id on IRC and on the page
            await bob.send("PRIVMSG #lobby :second")
            echo = await bob.expect(" PRIVMSG #lobby second\r\n")
            second = re.search(r"msgid=([^; ]+)", echo)
            assert second is not None and second[1] != first[1]
            assert (await carol.expect(type="said", text="second"))["id"] == second[1]
            await carol.send(type="say", room="#lobby", text="third")
            own = await carol.expect(type="said", own=True)
            await alice.expect("Carol: third\r\n")  # nc: no ids shown
            await bob.send(f"CHATHISTORY AFTER #lobby msgid={first[1]} 5")
            after = await bob.expect("BATCH -")
            assert f"msgid={second[1]} " in after and f"msgid={own['id']} " in after
            assert " PRIVMSG #lobby first" not in after
            await carol.send(type="read-history", room="#lobby", before_id=own["id"])
            history = await carol.expect(type="history", asked=True)
            texts = [(e["text"], e["id"]) for e in history["entries"] if e["kind"] == "said"]
            assert texts == [("first", first[1]), ("second", second[1])]
