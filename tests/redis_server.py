"""A real, private ``redis-server`` for the tests of ``--redis``: one per test, on a free
loopback port, in the test's temporary folder, with nothing saved (``--save ''
--appendonly no``), stopped when the test ends.

``needs_redis`` skips a test where Debian's ``redis-server`` is not installed, except
under CI, where ``.ci/run`` installs it and its absence is a failure (conftest.needs).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import needs

needs_redis = needs(["redis-server"])

START_DEADLINE = 10.0
"""Seconds a redis-server may take to answer PING (it takes ~11 ms on the CI machine; a
loaded machine is given far more, and the loop is bounded by it)."""

PORT_TRIES = 5  #: ports tried, in case another process takes the free one first


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One running redis-server; ``url`` is what ``--redis`` takes."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.folder = folder
        self.extra = extra
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait (bounded) until it answers PING, on another port if one was
        taken meanwhile.

        Raises:
          RuntimeError: it did not start; its log says why.
        """
        for _ in range(PORT_TRIES):
            if self._launch(free_port()):
                return
        raise RuntimeError(f"redis-server did not start: {(self.folder / 'redis.log').read_text()}")

    def restart(self) -> None:
        """Stop it, and start it again on the same port, with nothing of what it held
        (nothing is saved): as a Redis without persistence comes back.

        Raises:
          RuntimeError: it did not start again.
        """
        self.stop()
        if not self._launch(self.port):
            raise RuntimeError(
                f"redis-server did not restart: {(self.folder / 'redis.log').read_text()}"
            )

    def _launch(self, port: int) -> bool:
        """Start one on ``port``; True once it answers PING, False (stopped) if it did not
        within ``START_DEADLINE``."""
        self.port = port
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                 *self.extra],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_DEADLINE
        while self.process.poll() is None and time.monotonic() < deadline:
            if answers_ping(self.port):
                return True
            time.sleep(0.01)
        self.stop()
        return False

    def cli(self, *args: str) -> str:
        """``redis-cli`` against it (its answer, as text)."""
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip()

    def pause(self) -> None:
        """Hang it (SIGSTOP): connections stay open, nothing is answered, as a Redis
        that is stuck (swapping, a long fork, a frozen VM)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a hung one go on (SIGCONT): it answers what it was sent meanwhile."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL it (as a crash): connections are reset; ``restart`` brings it back."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped one would ignore SIGTERM
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (see the module docstring)."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
