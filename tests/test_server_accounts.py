"""Accounts, admins and bans end to end: the real CLI, real sockets, a real SQLite file,
real argon2id (at a cheap cost), across restarts."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
import trio.testing

from chat_trio import bans, users
from chat_trio.chat.core import Chat
from chat_trio.entrances import StartupError
from chat_trio.passwords import Cost, Passwords
from chat_trio.server import ACCOUNTS_POLL, serve, watch_accounts
from chat_trio.storage import database
from chat_trio.storage.sqlite import SqliteBackend
from chat_trio.storage.store import Retention, Store
from tests.conftest import start_cli
from tests.test_server import connected, local, running
from tests.test_server_history import _read_until

CHEAP = ("--password-memory", "8", "--password-time", "1")
CHEAP_COST = Cost(time_cost=1, memory_kib=32, parallelism=1)


def _stop(process: subprocess.Popen[str]) -> str:
    """Stop the server; return what it logged."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    return err


def _session(port: int, lines: bytes, until: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(lines)
        return _read_until(client, until)


def test_server_cli_accounts_admins_and_bans_survive_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    process, port = start_cli("--db", db, *CHEAP)
    try:
        seen = _session(port, b"Alice\n/register alice-secret\n/quit\n", b"Goodbye!")
        assert b"* Registered Alice." in seen and b"alice-secret" not in seen
        _session(port, b"Boss\n/register boss-secret\n/quit\n", b"Goodbye!")
        _stop(process)
    finally:
        process.kill()
    promoted = subprocess.run(
        [sys.executable, "-m", "chat_trio", "user", "promote", "boss", "--db", db],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (promoted.returncode, promoted.stdout) == (0, "Boss is now an admin.\n")
    missing = subprocess.run(
        [sys.executable, "-m", "chat_trio", "user", "promote", "nobody", "--db", db],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert missing.returncode == 1 and "there is no account 'nobody'" in missing.stderr

    process, port = start_cli("--db", db, *CHEAP)
    try:
        # After the restart nobody may take "alice" without her password.
        seen = _session(port, b"alice\nalice wrong-guess\nAlice alice-secret\n/quit\n", b"Goodbye!")
        assert b'The name "alice" is registered. To log in, type: alice <password>' in seen
        assert b"Wrong password for Alice." in seen
        assert b"* Logged in as Alice.\r\nWelcome to the chat, Alice!" in seen
        # The admin bans Alice's account; it stays banned after another restart.
        seen = _session(port, b"Boss boss-secret\n/ban alice 7d spam\n/quit\n", b"Goodbye!")
        assert b"* Banned the account Alice until " in seen
        _stop(process)
    finally:
        process.kill()
    process, port = start_cli("--db", db, *CHEAP)
    try:
        seen = _session(port, b"Alice alice-secret\n", b" UTC.\r\n")
        assert b"The account Alice is banned until " in seen
        seen = _session(port, b"Guest\n/ban alice\n/quit\n", b"Goodbye!")
        assert b"Only admins can use /ban." in seen
        _stop(process)
    finally:
        process.kill()


def user(db: str, *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    """``chat-trio user ARGS --db DB``, with ``password`` on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "chat_trio", "user", *args, "--db", db, *CHEAP],
        input=password + "\n", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_server_cli_user_add_list_passwd_delete(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    assert user(db, "list").stdout == f"No accounts in {db}.\n"
    added = user(db, "add", "Eve", password="eve-password")
    assert (added.returncode, added.stdout) == (0, "Added the account Eve.\n")
    assert "eve-password" not in added.stdout + added.stderr
    again = user(db, "add", "eve", password="other-password")
    assert (again.returncode, again.stderr) == (1, "chat-trio: there is an account Eve already\n")
    short = user(db, "add", "Mallory", password="short")
    assert short.returncode == 1
    assert short.stderr == "chat-trio: A password must be 8 to 128 characters, without spaces.\n"
    bad = user(db, "add", "9lives", password="good-password")
    assert bad.returncode == 1 and "must start with a letter" in bad.stderr
    assert user(db, "promote", "eve").stdout == "Eve is now an admin.\n"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert user(db, "list").stdout == f"Eve  admin  created {today}  last login never\n"
    assert user(db, "passwd", "EVE", password="new-password").stdout == (
        "Changed the password of Eve.\n"
    )
    process, port = start_cli("--db", db, *CHEAP)
    try:
        seen = _session(port, b"Eve new-password\n/quit\n", b"Goodbye!")
        assert b"* Logged in as Eve." in seen
    finally:
        _stop(process)
    listed = user(db, "list").stdout
    assert listed.startswith(f"Eve  admin  created {today}  last login {today} ")
    assert listed.endswith(" UTC\n")
    assert user(db, "delete", "eve").stdout == "Deleted the account Eve; the name is free now.\n"
    assert user(db, "list").stdout == f"No accounts in {db}.\n"
    which = user(db, "passwd")
    assert (which.returncode, which.stderr) == (
        1,
        "chat-trio: which account? chat-trio user passwd NAME\n",
    )


def test_server_cli_an_admins_name_cannot_be_registered_by_whoever_comes_first(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "chat.db")
    process, port = start_cli("--db", db, "--admins", "Eve", *CHEAP)
    try:
        seen = _session(port, b"Eve\n/register eve-password\n/kill Bob\n/quit\n", b"Goodbye!")
        assert (
            b'The name "Eve" is kept for an admin, so it cannot be registered here; the '
            b"server's operator makes its account with: chat-trio user add Eve" in seen
        )
        assert b"Only admins can use /kill." in seen
    finally:
        err = _stop(process)
    assert "admin-without-account name=eve fix='chat-trio user add eve'" in err
    assert user(db, "add", "Eve", password="eve-password").returncode == 0
    process, port = start_cli("--db", db, "--admins", "Eve", *CHEAP)
    try:
        seen = _session(port, b"Eve eve-password\n/kick Nobody\n/quit\n", b"Goodbye!")
        assert b'No user named "Nobody" is online.' in seen  # an admin: the kick was tried
    finally:
        _stop(process)


async def test_server_sees_the_operators_changes_while_it_runs(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # The database is read in worker threads: let virtual time jump only when they are done.
    autojump_clock.autojump_threshold = 0.05
    path = str(tmp_path / "chat.db")
    quiet = io.StringIO()
    assert users.run("add", "Eve", path, CHEAP_COST, io.StringIO("eve-password\n"), quiet) == 0
    store = await Store.open(path)
    chat = Chat(stored=True)
    chat.load_accounts(await store.read(database.accounts), [])
    eve = chat.registry.accounts["eve"]
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, Retention())
        await nursery.start(watch_accounts, SqliteBackend(store, Passwords(CHEAP_COST)), chat)
        assert users.run("promote", "eve", path, CHEAP_COST, io.StringIO(), quiet) == 0
        await trio.sleep(ACCOUNTS_POLL * 1.5)
        assert chat.registry.accounts["eve"].admin  # a user online now is an admin now
        assert users.run("delete", "eve", path, CHEAP_COST, io.StringIO(), quiet) == 0
        await trio.sleep(ACCOUNTS_POLL)
        assert "eve" not in chat.registry.accounts
        nursery.cancel_scope.cancel()
    await store.aclose()
    assert not eve.admin  # accounts are values: the old one is unchanged


def test_server_cli_audit_trail_says_who_did_what_and_never_a_password(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    assert user(db, "add", "Boss", password="boss-password").returncode == 0
    process, port = start_cli("--db", db, "--admins", "Boss", *CHEAP)
    try:
        _session(port, b"Carol\n/nick Caro\n/register carol-secret\n/password carol-secret "
                 b"carol-secret-2\n/quit\n", b"Goodbye!")  # fmt: skip
        with socket.create_connection(("127.0.0.1", port), timeout=10) as bob:
            bob.sendall(b"Bob\n")
            _read_until(bob, b"Type /help")
            _session(port, b"Boss boss-password\n/kill Bob spam\n/ban 203.0.113.9 1h\n"
                     b"/unban 203.0.113.9\n/quit\n", b"Goodbye!")  # fmt: skip
        _session(port, b"Dave\n/quit\n", b"Goodbye!")  # a name and a quit in one packet
    finally:
        err = _stop(process)
    audit = [line.split(" ", 3)[3] for line in err.splitlines() if " chat_trio.audit " in line]
    trail = [t for t in audit if t.split()[1] not in ("register", "password-check")]
    assert [t.split()[1] for t in trail] == [
        "rename", "account-created", "password-changed", "kill", "ban", "unban",
    ]  # fmt: skip
    assert "old=Carol new=Caro" in trail[0] and "name=Caro" in trail[1]
    assert "by=Boss target='Bob' reason='spam'" in trail[3]
    assert "by=Boss target='203.0.113.9' reason='' kind=address key=203.0.113.9 until=" in trail[4]
    assert "carol-secret" not in err and "boss-password" not in err
    # Issue 17, item 7: what an operator (and fail2ban) reads.
    assert err.count("register conn=") == 4  # once per user, Dave's one packet included
    assert "register conn=" in err and "name=Dave" in err
    assert re.search(
        r"password-check conn=\d+ address=127\.0\.0\.1 account=boss verdict=right", err
    )
    assert err.count("door=text tls=no") == 4  # each connect line names its door
    assert "listening on" not in err  # the banner is printed (stdout), not logged again


async def test_server_applies_the_operators_bans_while_it_runs(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """``chat-trio ban`` from the shell: whoever a new ban matches is thrown out within a
    poll, told it was the operator; a lifted ban lets them in again."""
    autojump_clock.autojump_threshold = 0.05  # worker threads read the database
    db = str(tmp_path / "chat.db")
    quiet = io.StringIO()
    assert users.run("add", "Dave", db, CHEAP_COST, io.StringIO("dave-password\n"), quiet) == 0
    config = local(db=db, password_cost=CHEAP_COST)
    async with running(config) as (port, _), connected(port) as dave, connected(port) as carol:
        await dave.expect("Enter your username: ")
        await dave.send("Dave dave-password")
        await dave.expect("Welcome to the chat, Dave!")
        await carol.register("Carol")
        assert bans.run("add", "dave", db, reason="spam", stdout=quiet) == 0
        assert (await dave.read_to_eof()).endswith("* You were banned by the operator: spam\r\n")
        await carol.expect("* Dave left the chat (banned: spam)\r\n")
        # Everyone here is on 127.0.0.1, the operator too: that takes --force.
        assert bans.run("add", "127.0.0.1", db, stdout=quiet) == 1
        await carol.send("still here")
        assert bans.run("add", "127.0.0.1", db, force=True, stdout=quiet) == 0
        assert "* You were banned by the operator" in await carol.read_to_eof()
        async with connected(port) as late:
            assert "Your address is banned from this server forever." in await late.read_to_eof()
        assert bans.run("remove", "127.0.0.1", db, stdout=quiet) == 0
        await trio.sleep(ACCOUNTS_POLL * 1.5)  # the next poll, and the read in its thread
        async with connected(port) as again:
            await again.register("Again")


async def test_server_a_second_server_on_one_database_refuses_to_start(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    quiet = io.StringIO()
    with trio.fail_after(20):
        async with running(local(db=db)):
            with pytest.raises(StartupError) as refused:
                await serve(local(db=db), trio.Event())
            assert str(refused.value) == (
                f"another chat-trio server (process {os.getpid()}) is using the database "
                f"{db}; stop it first, or give this one another --db"
            )
            # The operator's commands work while it runs.
            assert users.run("list", None, db, CHEAP_COST, io.StringIO(), quiet) == 0
            assert bans.run("list", None, db, stdout=quiet) == 0
        async with running(local(db=db)):  # the first one gone, the next one starts
            pass
        async with running(local(db=":memory:")), running(local(db=":memory:")):
            pass  # a database in memory is nobody else's


def test_server_cli_a_registered_room_survives_a_restart_and_reops_its_founder(
    tmp_path: Path,
) -> None:
    """Issue 18: a real SQLite file, two servers one after the other on it. The second
    restores #rust's topic, modes and bans; a guest who joins it first is not its operator;
    its founder, logging in and joining, is, and the guest sees it."""
    db = str(tmp_path / "chat.db")
    process, port = start_cli("--db", db, *CHEAP)
    try:
        seen = _session(
            port,
            b"Alice\n/register alice-secret\n/join #rust\n/topic Rust talk\n"
            b"/room register\n/mode +m\n/ban #rust Mallory spam\n/quit\n",
            b"Goodbye!",
        )
        assert b"* Registered #rust: its topic, modes and bans are kept" in seen
        assert b"* Alice made #rust moderated." in seen
        assert b"* Alice banned Mallory from #rust: spam." in seen
        assert re.search(r"room-registered conn=\d+ by=Alice room=#rust\n", _stop(process))
    finally:
        process.kill()
    process, port = start_cli("--db", db, *CHEAP)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as mallory:
            mallory.sendall(b"Mallory\n/join #rust\n")  # its bans came back too
            assert b"You are banned from #rust." in _read_until(mallory, b"banned from #rust")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as guest:
            guest.sendall(b"Guest\n/join #rust\n")
            seen = _read_until(guest, b"* Topic: Rust talk\r\n")
            assert b"* You joined #rust (1 user here)." in seen
            guest.sendall(b"/mode\n/topic vandalised\n")
            seen = _read_until(guest, b"Only operators of #rust can use /topic there.")
            assert b"* #rust is moderated;" in seen
            with socket.create_connection(("127.0.0.1", port), timeout=10) as alice:
                alice.sendall(b"Alice alice-secret\n/join #rust\n")
                seen = _read_until(alice, b"* Topic: Rust talk")
                assert b"* You joined #rust (2 users here)." in seen
                seen = _read_until(guest, b"* ChanServ made Alice an operator of #rust.\r\n")
                assert b"* Alice joined #rust" in seen
                guest.sendall(b"/users #rust\n")
                assert b"Users in #rust: 2 (@Alice, Guest)" in _read_until(guest, b")\r\n")
        _stop(process)
    finally:
        process.kill()
