"""Fixtures: an in-memory chat server (hub + core + sessions) and line-oriented test clients."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing
import trustme

from chat_trio.chat.core import Chat
from chat_trio.chat.world import Rules
from chat_trio.config import Config
from chat_trio.delivery.effects import Effects
from chat_trio.delivery.hub import Hub
from chat_trio.delivery.session import serve_connection
from chat_trio.doors import Door
from chat_trio.doors.text.door import TextDoor
from chat_trio.server import Listening, serve
from chat_trio.transports import TrySend


@asynccontextmanager
async def serving(config: Config) -> AsyncIterator[tuple[list[Listening], trio.Event]]:
    """Run ``server.serve`` in-process; yield its addresses (plain first) and its stop event.
    Leaving the block stops the server and waits for its graceful shutdown."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        yield await nursery.start(serve, config, stop), stop
        stop.set()


def tls_config(config: Config, folder: Path, **ports: Any) -> tuple[Config, ssl.SSLContext]:
    """``config`` with a certificate for 127.0.0.1 (files in ``folder``) and TLS ``ports``;
    and a client context that trusts it."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    chain, key = folder / "chain.pem", folder / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return attrs.evolve(config, tls_cert=str(chain), tls_key=str(key), **ports), context


@pytest.fixture(autouse=True)
def _no_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the home directory of whoever runs the tests: ``serve`` without
    ``--db`` would use ``~/.local/share/chat-trio/chat.db``. The servers the tests start
    inherit this environment."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))


def needs(tools: list[str]) -> pytest.MarkDecorator:
    """Skip where ``tools`` (real programs the test drives) are not installed, except under
    CI, where ``.ci/run`` installs them and a missing one is a failure."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing and os.environ.get("CI"):
        raise RuntimeError(f"CI must install {missing} (see .ci/run)")
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {missing}")


def start_cli(*args: str, **popen: Any) -> tuple[subprocess.Popen[str], int]:
    """Start ``python -m chat_trio serve --port 0 ARGS`` as a user would; return it and the
    port its banner announces first. History stays in memory unless ARGS name a ``--db``
    (never in the home directory of whoever runs the tests)."""
    process, ports = start_doors(*args, **popen)
    return process, next(iter(ports.values()))


def start_doors(*args: str, **popen: Any) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """``start_cli``, returning every port of the banner by its door: {"text": 8080, ...}."""
    db = [] if "--db" in args else ["--db", ":memory:"]
    web = [] if "--web-port" in args or "--no-web" in args else ["--web-port", "0"]
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    process = subprocess.Popen(
        [sys.executable, "-m", "chat_trio", "serve", "--port", "0", *db, *web, *args],
        text=True,
        **(pipes | popen),  # a long run logs to a file: a full stderr pipe would stall it
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    ports = {
        door: int(port) for port, door in re.findall(r"127\.0\.0\.1:(\d+)/? \(([^)]+)\)", banner)
    }
    assert ports, f"no addresses in the banner {banner!r}"
    return process, ports


class LineClient:
    """A test client: sends lines, and reads until the text it expects has arrived."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = b""

    async def send(self, text: str) -> None:
        await self.stream.send_all(text.encode() + b"\r\n")

    async def expect(self, text: str, wait_at_most: float = 5) -> str:
        """Read until ``text`` has arrived; return everything up to and including it."""
        wanted = text.encode()
        with trio.move_on_after(wait_at_most) as waited:
            while wanted not in self.buffer:
                data = await self.stream.receive_some(65536)
                if not data:
                    raise EOFError(f"closed before {text!r}; got {self.buffer!r}")
                self.buffer += data
        if waited.cancelled_caught:
            raise trio.TooSlowError(f"no {text!r} within {wait_at_most} s; got {self.buffer!r}")
        end = self.buffer.index(wanted) + len(wanted)
        seen, self.buffer = self.buffer[:end], self.buffer[end:]
        return seen.decode()

    async def read_to_eof(self, wait_at_most: float = 5) -> str:
        with trio.fail_after(wait_at_most):
            while data := await self.stream.receive_some(65536):
                self.buffer += data
        seen, self.buffer = self.buffer, b""
        return seen.decode()

    async def register(self, name: str) -> str:
        await self.expect("Enter your username: ")
        await self.send(name)
        return await self.expect("Type /help for commands.\r\n")


class MemoryServer:
    """The server's insides (core, hub, sessions) over in-memory streams."""

    def __init__(self, nursery: trio.Nursery, chat: Chat, hub: Hub) -> None:
        self.nursery = nursery
        self.chat = chat
        self.hub = hub
        self.effects = Effects(chat, hub)
        self._ids = itertools.count(1)

    def attach(
        self,
        server_side: trio.abc.Stream,
        try_send: TrySend | None = None,
        door: Door | None = None,
    ) -> None:
        self.nursery.start_soon(
            partial(serve_connection, try_send=try_send),
            server_side,
            next(self._ids),
            self.effects,
            door or TextDoor(),
        )

    def connect(self, door: Door | None = None) -> LineClient:
        """A client of ``door`` (the text door's if None)."""
        client_side, server_side = trio.testing.memory_stream_pair()
        self.attach(server_side, door=door)
        return LineClient(client_side)


@asynccontextmanager
async def open_memory_server(
    rules: Rules | None = None, max_queue_bytes: int = 96 * 1024
) -> AsyncIterator[MemoryServer]:
    async with trio.open_nursery() as nursery:
        hub = Hub(max_queue_bytes)
        await nursery.start(hub.run)
        yield MemoryServer(nursery, Chat(rules), hub)
        nursery.cancel_scope.cancel()


@pytest.fixture
async def server() -> AsyncIterator[MemoryServer]:
    """The server's insides without flood control (tests of it make their own)."""
    async with open_memory_server(Rules(flood_rate=0)) as memory_server:
        yield memory_server
