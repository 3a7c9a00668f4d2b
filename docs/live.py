"""What the docs show of a running server, taken from one: ``python -m docs.live``.

It starts ``chat-trio serve`` as a user would (a process of its own, every door on a free
port of 127.0.0.1, the operator's port too, history in memory), connects two clients on
each door (nc-style text, IRC, the page's WebSocket) and lets them pick names; then

- asks ``/tasks`` for the task tree, and writes it into docs/architecture.md between
  ``<!-- tasks: begin -->`` and ``<!-- tasks: end -->``;
- sends SIGINT (Ctrl-C), lets each client read until the server hangs up, and writes the
  server's log, as ``normalised``, into docs/shutdown.md between ``<!-- shutdown-log:
  begin -->`` and ``<!-- shutdown-log: end -->``.

tests/test_tasks.py and tests/test_shutdown.py start a server the same way and check that
the docs hold what it shows now, so neither picture can drift from the code.

Blocking sockets, no trio: this is a client script, and plain calls with timeouts are the
shortest way to drive six clients one step at a time.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

DOCS = Path(__file__).resolve().parent
TIMEOUT = 10.0
"""Seconds any one step may take (a read, the server's start or its shutdown)."""

PEOPLE = {"text": ("Alice", "Bob"), "IRC": ("Carol", "Dave"), "web": ("Erin", "Frank")}
"""Who connects through which door, in this order."""


class Client:
    """One blocking connection that reads until what it expects has come."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""

    def expect(self, wanted: bytes) -> None:
        while wanted not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"closed before {wanted!r}; got {self.buffer!r}")
            self.buffer += data
        self.buffer = self.buffer[self.buffer.index(wanted) + len(wanted) :]

    def until_closed(self) -> None:
        """Read until the server hangs up, then close our side."""
        while self.sock.recv(65536):
            pass
        self.sock.close()


def text(port: int, name: str) -> Client:
    client = Client(port)
    client.expect(b"Enter your username: ")
    client.sock.sendall(name.encode() + b"\r\n")
    client.expect(b"Type /help for commands.\r\n")
    return client


def irc(port: int, name: str) -> Client:
    client = Client(port)
    client.sock.sendall(f"NICK {name}\r\nUSER {name} 0 * :{name}\r\n".encode())
    client.expect(f" 366 {name} #lobby :".encode())
    return client


def web(port: int, name: str) -> Client:
    client, host = Client(port), f"127.0.0.1:{port}"
    ws = WSConnection(ConnectionType.CLIENT)
    origin = [(b"Origin", f"http://{host}".encode())]
    client.sock.sendall(ws.send(Request(host, "/ws", extra_headers=origin)))
    while not any(isinstance(event, AcceptConnection) for event in ws.events()):
        ws.receive_data(client.sock.recv(65536))
    choose = json.dumps({"type": "choose-name", "name": name})
    client.sock.sendall(ws.send(TextMessage(choose)))
    client.expect(b'"names":')  # the lobby's members: the name is taken
    return client


DOORS = {"text": text, "IRC": irc, "web": web}


@contextmanager
def server() -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    """``chat-trio serve`` with every door and the operator's port on free ports; yields
    it and its ports by door ("text", "IRC", "web", "metrics"). Killed if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chat_trio", "serve", "--port", "0", "--irc-port", "0",
         "--web-port", "0", "--metrics-port", "0", "--db", ":memory:"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        found = re.findall(r"127\.0\.0\.1:(\d+)/? \(([^)]+)\)", banner)
        yield process, {door: int(port) for port, door in found}
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=TIMEOUT)


@contextmanager
def busy_server() -> Iterator[tuple[subprocess.Popen[str], dict[str, int], list[Client]]]:
    """``server()``, with ``PEOPLE`` connected and named on their doors."""
    with server() as (process, ports):
        clients = [
            DOORS[door](ports[door], name) for door, names in PEOPLE.items() for name in names
        ]
        try:
            yield process, ports, clients
        finally:
            for client in clients:
                client.sock.close()


def tree() -> str:
    """The task tree of a server with ``PEOPLE`` connected, as ``chat-trio tasks`` shows it."""
    with busy_server() as (_, ports, _clients):
        url = f"http://127.0.0.1:{ports['metrics']}/tasks"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            shown: str = response.read().decode()
    return shown


def shutdown_log() -> str:
    """What a server with ``PEOPLE`` connected logs from Ctrl-C (SIGINT) to its exit,
    ``normalised``, and its exit status as a last line."""
    with busy_server() as (process, _, clients):
        process.send_signal(signal.SIGINT)
        for client in clients:
            client.until_closed()
        _, log = process.communicate(timeout=TIMEOUT)
    return normalised(log) + f"(exit status {process.returncode})\n"


TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)
PEER = re.compile(r"\b127\.0\.0\.1:\d+")


def normalised(log: str) -> str:
    """``log`` from the signal on, without what changes from run to run: the time each
    line was written, the clients' port numbers (``peer=127.0.0.1:PORT``), and the order
    of the sessions' own lines in a row (each session ends in its own task, at its own
    pace: they are sorted by connection)."""
    log = PEER.sub("127.0.0.1:PORT", TIMESTAMP.sub("", log))
    lines = log.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if "shutdown step=begin" in line)
    ordered: list[str] = []
    for session, run in itertools.groupby(lines[first:], key=_session):
        lines_of_run = list(run)
        ordered += sorted(lines_of_run, key=_conn) if session else lines_of_run
    return "".join(ordered)


SESSION = re.compile(r"\w+ chat_trio\.session ")
CONN = re.compile(r"\bconn=(\d+)")


def _session(line: str) -> bool:
    return SESSION.match(line) is not None


def _conn(line: str) -> int:
    found = CONN.search(line)
    return int(found[1]) if found else 0


def block(doc: str, marker: str, folder: Path = DOCS) -> str:
    """What ``doc`` in ``folder`` holds between ``<!-- marker: begin -->`` and its end,
    without the fence around it."""
    found = re.search(_between(marker), (folder / doc).read_text(), re.DOTALL)
    if found is None:
        raise ValueError(f"docs/{doc} has no <!-- {marker}: begin --> ... end block")
    return found["body"]


def write(doc: str, marker: str, body: str, folder: Path = DOCS) -> None:
    """Put ``body``, fenced, between ``marker``'s lines in ``doc`` in ``folder``."""
    path = folder / doc
    text, count = re.subn(
        _between(marker),
        lambda m: f"{m['begin']}```\n{body}```\n{m['end']}",
        path.read_text(),
        flags=re.DOTALL,
    )
    if count != 1:
        raise ValueError(f"docs/{doc} has no <!-- {marker}: begin --> ... end block")
    path.write_text(text)


def _between(marker: str) -> str:
    return (
        rf"(?P<begin><!-- {marker}: begin -->\n)```\n(?P<body>.*?)```\n"
        rf"(?P<end><!-- {marker}: end -->)"
    )


def main() -> None:
    write("architecture.md", "tasks", tree())
    write("shutdown.md", "shutdown-log", shutdown_log())
    print("docs/architecture.md and docs/shutdown.md: written from a running server")


if __name__ == "__main__":
    main()
