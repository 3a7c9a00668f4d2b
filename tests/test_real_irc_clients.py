"""IRC clients as people use them, against the real CLI: irssi in tmux and WeeChat
(weechat-headless, driven through its FIFO, read through its logs), talking with nc users.

These need irssi, weechat-headless and tmux (``.ci/run`` installs them). Where they are
missing the tests are skipped, except under CI, where that is a failure.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import needs, start_doors
from tests.test_real_clients import read_until

TOOLS = ["irssi", "weechat-headless", "tmux"]
pytestmark = needs(TOOLS)


@pytest.fixture
def server() -> Iterator[dict[str, int]]:
    process, ports = start_doors("--irc-port", "0", "--server-name", "irc.test")
    yield ports
    process.terminate()
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def wait_for(what: str, look: Callable[[], str], seconds: float = 15) -> str:
    """Poll another program's screen or log until ``what`` shows (bounded by ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        seen = look()
        if what in seen:
            return seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what!r} not shown:\n{seen}")
        time.sleep(0.1)  # another process's output: there is nothing to await


def nc_user(port: int, name: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    read_until(sock, b"Enter your username: ")
    sock.sendall(name.encode() + b"\r\n")
    read_until(sock, f"Welcome to the chat, {name}!".encode())
    return sock


def tmux(*args: str, check: bool = True) -> str:
    return subprocess.run(
        ["tmux", "-L", "chat-trio-irc-test", *args], capture_output=True, text=True, check=check
    ).stdout


def test_real_irssi_chats_with_an_nc_user(server: dict[str, int], tmp_path: Path) -> None:
    alice = nc_user(server["text"], "Alice")
    home = tmp_path / "irssi"
    home.mkdir()
    command = f"irssi --home={home} -c 127.0.0.1 -p {server['IRC']} -n Bob"
    tmux("new-session", "-d", "-s", "irssi", "-x", "160", "-y", "40", command)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "irssi")

    def type_(line: str) -> None:
        tmux("send-keys", "-t", "irssi", "-l", line)
        tmux("send-keys", "-t", "irssi", "Enter")

    try:
        with alice:
            read_until(alice, b"* Bob joined the chat\r\n", 15)
            type_("/window 2")
            wait_for("#lobby", screen)
            alice.sendall(b"hello Bob\r\n")
            wait_for("< Alice> hello Bob", screen)
            type_("hi Alice, from irssi")
            read_until(alice, b"Bob: hi Alice, from irssi\r\n", 15)
            type_("/me waves")
            read_until(alice, b"* Bob waves\r\n", 15)
            type_("/msg Alice a secret")
            read_until(alice, b"[PM from Bob] a secret\r\n", 15)
            type_("/nick Bobby")
            read_until(alice, b"* Bob is now known as Bobby\r\n", 15)
            alice.sendall(b"/join #rust\r\n")
            type_("/join #rust")
            read_until(alice, b"* Bobby joined #rust\r\n", 15)
            type_("/topic all about Rust")
            read_until(alice, b"* Bobby set the topic of #rust: all about Rust\r\n", 15)
            type_("/quit see you")
            read_until(alice, b"* Bobby left the chat\r\n", 15)
    finally:
        tmux("kill-server", check=False)  # gone already if irssi quit


def test_real_weechat_chats_with_an_nc_user(server: dict[str, int], tmp_path: Path) -> None:
    home = tmp_path / "weechat"
    setup = "; ".join(
        [
            "/set logger.file.flush_delay 0",
            "/set fifo.file.enabled on",
            f"/server add test 127.0.0.1/{server['IRC']} -notls",
            "/set irc.server.test.nicks Carol",
            "/connect test",
        ]
    )
    weechat = subprocess.Popen(
        ["weechat-headless", "--dir", str(home), "-r", setup],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = home / "logs" / "irc.test.#lobby.weechatlog"

    def lobby() -> str:
        return log.read_text() if log.exists() else ""

    try:
        wait_for("Carol (Carol@chat-trio) has joined #lobby", lobby)
        with nc_user(server["text"], "Alice") as alice:
            # WeeChat asks for extended-join: "Alice (Alice) (Alice@chat-trio) has joined"
            wait_for("(Alice@chat-trio) has joined #lobby", lobby)
            alice.sendall(b"hello Carol\r\n")
            wait_for("Alice\thello Carol", lobby)
            fifo = next(home.glob("weechat_fifo_*"))
            fifo.write_text("irc.server.test */msg #lobby hi Alice, from WeeChat\n")
            read_until(alice, b"Carol: hi Alice, from WeeChat\r\n", 15)
            fifo.write_text("irc.server.test */quit\n")
            read_until(alice, b"* Carol left the chat\r\n", 15)
    finally:
        weechat.terminate()
        weechat.wait(timeout=20)
