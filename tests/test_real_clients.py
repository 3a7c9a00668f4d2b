"""The server as people use it: the CLI, with the real nc and telnet programs as clients.

These need netcat-openbsd, telnet and tmux (``.ci/run`` installs them). Where they are
missing the tests are skipped, except under CI, where that is a failure.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import IO

import pytest

from tests.conftest import needs, start_cli

TOOLS = ["nc", "telnet", "tmux"]
pytestmark = needs(TOOLS)


@pytest.fixture
def server() -> Iterator[tuple[int, subprocess.Popen[str]]]:
    process, port = start_cli()
    yield port, process
    process.terminate()
    process.communicate(timeout=20)
    assert process.returncode == 0


def read_until(stream: socket.socket | IO[bytes], wanted: bytes, seconds: float = 10) -> bytes:
    """Read a pipe or socket until ``wanted`` arrives (bounded by ``seconds``)."""
    deadline = time.monotonic() + seconds
    seen = b""
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {wanted!r} in {seen!r}")
        ready, _, _ = select.select([stream], [], [], remaining)
        if ready:
            chunk = (
                stream.recv(4096)
                if isinstance(stream, socket.socket)
                else os.read(stream.fileno(), 4096)
            )
            if not chunk:
                raise EOFError(f"closed before {wanted!r}; got {seen!r}")
            seen += chunk
    return seen


def test_real_nc_client_chats_with_a_socket_client(server: tuple[int, object]) -> None:
    port, _ = server
    with subprocess.Popen(
        ["nc", "127.0.0.1", str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as nc:
        assert nc.stdin is not None and nc.stdout is not None
        try:
            talk_through_nc(port, nc.stdin, nc.stdout)
            nc.stdin.close()  # openbsd nc runs until its stdin ends as well
            assert nc.wait(timeout=10) == 0
        finally:
            nc.kill()


def talk_through_nc(port: int, to_nc: IO[bytes], from_nc: IO[bytes]) -> None:
    read_until(from_nc, b"Enter your username: ")
    to_nc.write(b"Alice\n")
    to_nc.flush()
    read_until(from_nc, b"Welcome to the chat, Alice!")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as bob:
        read_until(bob, b"Enter your username: ")
        bob.sendall(b"Bob\r\n")
        read_until(bob, b"2 users online")
        read_until(from_nc, b"* Bob joined the chat\r\n")
        bob.sendall(b"Hi Alice!\r\n")
        read_until(from_nc, b"Bob: Hi Alice!\r\n")
        to_nc.write(b"hello Bob\n/users\n")
        to_nc.flush()
        read_until(bob, b"Alice: hello Bob\r\n")
        read_until(from_nc, b"Users online: 2 (Alice, Bob)\r\n")
        to_nc.write(b"/quit\n")
        to_nc.flush()
        read_until(from_nc, b"Goodbye!\r\n")
        read_until(bob, b"* Alice left the chat\r\n")


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", "chat-trio-test", *args], capture_output=True, text=True, check=True
    ).stdout


def screen_shows(text: str, seconds: float = 10) -> str:
    deadline = time.monotonic() + seconds
    while True:
        screen = tmux("capture-pane", "-p", "-t", "client")
        if text in screen:
            return screen
        if time.monotonic() > deadline:
            raise TimeoutError(f"{text!r} not on screen:\n{screen}")
        time.sleep(0.05)  # polling another process's screen: there is nothing to await


def test_real_telnet_client_registers_chats_and_ctrl_c_says_goodbye(
    server: tuple[int, object],
) -> None:
    port, _ = server
    tmux("new-session", "-d", "-s", "client", "-x", "100", "-y", "20")
    try:
        tmux("set-option", "-t", "client", "remain-on-exit", "on")
        tmux("respawn-pane", "-k", "-t", "client", f"telnet 127.0.0.1 {port}")
        screen_shows("Enter your username:")  # the screen keeps no trailing space
        tmux("send-keys", "-t", "client", "Tess", "Enter")
        screen_shows("Welcome to the chat, Tess!")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as bob:
            read_until(bob, b"Enter your username: ")
            bob.sendall(b"Bob\r\n")
            screen_shows("* Bob joined the chat")
            tmux("send-keys", "-t", "client", "typed in telnet", "Enter")
            read_until(bob, b"Tess: typed in telnet\r\n")
            tmux("send-keys", "-t", "client", "C-c")
            screen = screen_shows("Connection closed by foreign host.")
            assert "Goodbye!" in screen
            read_until(bob, b"* Tess left the chat\r\n")
    finally:
        tmux("kill-server")


def test_real_nc_after_quit_says_goodbye_and_exits_at_the_next_enter(
    server: tuple[int, object],
) -> None:
    """What the README tells nc users (issue 17, item 6): Debian's nc 1.219 stays after
    the server closes, with or without -N, until Enter."""
    port, _ = server
    tmux("new-session", "-d", "-s", "client", "-x", "100", "-y", "20")
    try:
        tmux("set-option", "-t", "client", "remain-on-exit", "on")
        tmux("respawn-pane", "-k", "-t", "client", f"nc -N 127.0.0.1 {port}; echo nc-exited")
        screen_shows("Enter your username:")
        tmux("send-keys", "-t", "client", "Nina", "Enter")
        screen_shows("Welcome to the chat, Nina!")
        tmux("send-keys", "-t", "client", "/quit", "Enter")
        assert "nc-exited" not in screen_shows("Goodbye!")
        tmux("send-keys", "-t", "client", "Enter")
        screen_shows("nc-exited")
    finally:
        tmux("kill-server")
