"""Accounts, admins and bans end to end: the real CLI, real sockets, a real SQLite file,
real argon2id (at a cheap cost), across restarts."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import start_cli
from tests.test_server_history import _read_until

CHEAP = ("--password-memory", "8", "--password-time", "1")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)
    assert process.returncode == 0


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
