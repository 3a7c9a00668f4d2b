"""Client processes for the benchmark: many plain non-blocking sockets on one epoll loop.

The clients are deliberately not written with trio: they must be cheaper than the server
they measure. Each worker process owns a slice of the clients and obeys commands from the
parent (``benchmarks/run.py``) over a pipe: connect and register, flood, send at a steady
rate, send one line each, report, close. Every wait is bounded by a deadline.

Message lines are ``m <sender> <seq> <monotonic_ns>``; the text door renders them as
``<name>: m ...``, the IRC door as ``:<name>!... PRIVMSG #lobby :m ...`` and the web door
as ``{"type":"said",...,"text":"m ...","account":"","room":"#lobby",...}``, so receivers
count ``": m "`` (or ``" :m "``, or what follows a line's text in JSON) and can compute
latency (CLOCK_MONOTONIC is shared by all processes on Linux). With an IRC port, some
clients come in through the IRC door: they register with NICK and USER, send PRIVMSG
#lobby and answer PINGs. With a web port, some come in
through the web door: they upgrade ``/ws``, choose a name and say lines as JSON in masked
frames (the mask key is zero, which is valid and costs the client nothing); the server's
frames are not masked, so its JSON can be counted in the raw bytes like text lines. Web
clients do not answer the server's pings (after 90 s of silence): no phase is that long.
With several nodes (``--nodes``), each client connects to the ports of its own node (its
"home"); the counting is the same, whichever node a line came through.
"""

from __future__ import annotations

import errno
import resource
import select
import socket
import time
from multiprocessing.connection import Connection
from typing import Any

MARKS = {  # door -> (a chat line's marker, a join notice's marker)
    "text": (b": m ", b" joined the chat"),
    "irc": (b" :m ", b" JOIN #lobby"),
    # A line said by someone else (its own line comes back with "own" after the text).
    "web": (b'","account":"","room":"#lobby"', b'"type":"joined"'),
}
WEB_TEXT = b'"text":"m '  # where a web line's text starts, for its latency
TAIL = max(len(m) for pair in MARKS.values() for m in pair) - 1
"""Bytes kept so a marker split in two counts once."""

WEB_UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def web_frame(payload: bytes) -> bytes:
    """A client's text frame, masked with the key 0 (so the payload is as it is)."""
    size = len(payload)
    header = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0xFE]) + size.to_bytes(2)
    return header + b"\0\0\0\0" + payload


class Client:
    __slots__ = (
        "buffer",
        "closed",
        "door",
        "index",
        "joins",
        "latencies",
        "outgoing",
        "received",
        "registered",
        "sock",
        "tail",
    )

    def __init__(self, index: int, sock: socket.socket, door: str = "text") -> None:
        self.index = index
        self.sock = sock
        self.door = door  # "text", "irc" or "web"
        self.buffer = b""  # before registration: everything; after: the unfinished line
        self.tail = b""  # last bytes, so a marker split between reads is counted once
        self.registered = False
        self.received = 0  # message lines received
        self.joins = 0  # join notices received after registering
        self.outgoing = memoryview(b"")
        self.latencies: list[int] = []
        self.closed = False


class Worker:
    def __init__(
        self,
        port: int,
        indices: list[int],
        slow: set[int],
        rcvbuf_slow: int,
        ports: dict[str, int] | None = None,
        doors: dict[int, str] | None = None,
        homes: dict[int, dict[str, int]] | None = None,
    ) -> None:
        self.port = port
        self.ports = {"text": port, **(ports or {})}  # door -> port
        self.doors = doors or {}  # client -> its door, if not the text door
        # client -> its node's ports (door -> port), if not the first node's (--nodes)
        self.homes = homes or {}
        self.indices = indices
        self.slow = slow
        self.rcvbuf_slow = rcvbuf_slow
        self.clients: dict[int, Client] = {}  # by fd
        self.epoll = select.epoll()
        self.measure_latency = False
        self.errors: dict[str, int] = {}
        self.scratch = bytearray(65536)
        self.view = memoryview(self.scratch)

    # -- connection and registration -----------------------------------------------------

    def connect(self, deadline: float) -> dict[str, Any]:
        start = time.monotonic()
        for index in self.indices:
            self.open(index)
        self.pump(lambda: all(c.registered for c in self.clients.values()), deadline)
        registered = sum(c.registered for c in self.clients.values())
        closed = sum(c.closed for c in self.clients.values())
        return {
            "registered": registered,
            "seconds": time.monotonic() - start,
            "closed": closed,
            "errors": dict(self.errors),
        }

    def open(self, index: int) -> Client:
        """Connect client ``index`` and queue its registration as ``c<index>``; the loop
        (``pump``) carries it out. A slow client's receive buffer is ``rcvbuf_slow`` bytes
        (0: the kernel's default)."""
        sock = socket.socket()
        if index in self.slow and self.rcvbuf_slow:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf_slow)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as chat clients do
        sock.setblocking(False)
        door = self.doors.get(index, "text")
        err = sock.connect_ex(("127.0.0.1", self.homes.get(index, self.ports)[door]))
        if err not in (0, errno.EINPROGRESS):
            raise OSError(err, f"connect failed: {errno.errorcode.get(err)}")
        client = Client(index, sock, door)
        if door == "irc":
            client.outgoing = memoryview(b"NICK c%d\r\nUSER c 0 * :c\r\n" % index)
        elif door == "web":
            name = b'{"type":"choose-name","name":"c%d"}' % index
            client.outgoing = memoryview(WEB_UPGRADE + web_frame(name))
        else:
            client.outgoing = memoryview(b"c%d\n" % index)
        self.clients[sock.fileno()] = client
        self.epoll.register(sock.fileno(), select.EPOLLIN | select.EPOLLOUT)
        return client

    def _register(self, client: Client) -> None:
        if client.door == "web":  # registered once the lobby's members are listed
            members = client.buffer.find(b'"label":"members"')
            if members < 0:
                return
            client.registered = True
            rest, client.buffer = client.buffer[members + 17 :], b""
            self._count(client, rest)
            return
        if client.door == "irc":  # registered once the lobby's NAMES have ended
            welcome = client.buffer.find(b" 366 ")
        else:
            prompt = client.buffer.find(b"username: ")
            if prompt < 0:
                return
            welcome = client.buffer.find(b"Welcome", prompt)
        end = client.buffer.find(b"\n", welcome)
        if welcome < 0 or end < 0:
            return
        client.registered = True
        rest, client.buffer = client.buffer[end + 1 :], b""
        if client.index in self.slow:  # from now on it never reads
            self.epoll.modify(client.sock.fileno(), select.EPOLLOUT)
        self._count(client, rest)

    # -- the loop ----------------------------------------------------------------------------

    def pump(self, done: Any, deadline: float, tick: Any = None) -> None:
        """Serve sockets until ``done()`` or ``deadline``; call ``tick()`` every round."""
        while not done():
            now = time.monotonic()
            if now >= deadline:
                return
            timeout = min(deadline - now, 0.01 if tick else 0.1)
            for fd, events in self.epoll.poll(timeout):
                client = self.clients.get(fd)
                if client is None or client.closed:
                    continue
                if events & select.EPOLLIN or events & (select.EPOLLHUP | select.EPOLLERR):
                    self._read(client)
                if events & select.EPOLLOUT and not client.closed:
                    self._write(client)
            if tick:
                tick()

    def _read(self, client: Client) -> None:
        try:
            size = client.sock.recv_into(self.scratch)  # one buffer for all: no allocations
            data = bytes(self.view[:size])
        except BlockingIOError:
            return
        except OSError as exc:
            self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
            data = b""
        if not data:
            client.closed = True
            self.epoll.unregister(client.sock.fileno())
            return
        if not client.registered:
            client.buffer += data
            self._register(client)
        else:
            self._count(client, data)

    def _count(self, client: Client, data: bytes) -> None:
        mark, joined_mark = MARKS[client.door]
        joined = client.tail + data
        # Markers wholly inside the tail were counted with the previous read.
        client.received += joined.count(mark) - client.tail.count(mark)
        client.joins += joined.count(joined_mark) - client.tail.count(joined_mark)
        client.tail = joined[-TAIL:]
        if client.door == "irc" and b"PING " in data:  # as real clients do, or it is dropped
            self.queue(client, b"PONG :c\r\n")
        if self.measure_latency and client.door == "web":
            self._web_latencies(client, data)
        elif self.measure_latency:
            now = time.monotonic_ns()
            lines = (client.buffer + data).split(b"\n")
            client.buffer = lines.pop()
            for line in lines:
                at = line.find(mark)
                if at >= 0:
                    client.latencies.append(now - int(line[at + len(mark) :].split()[2]))
        elif client.buffer:
            client.buffer = b""

    def _web_latencies(self, client: Client, data: bytes) -> None:
        now = time.monotonic_ns()
        text = client.buffer + data
        at = text.find(WEB_TEXT)
        while at >= 0:
            end = text.find(b'"', at + len(WEB_TEXT))
            if end < 0 or len(text) < end + 12:  # the rest comes with the next read
                client.buffer = text[at:]
                return
            if text.startswith(b'","account"', end):  # not its own line, echoed
                client.latencies.append(now - int(text[at + len(WEB_TEXT) : end].split()[2]))
            at = text.find(WEB_TEXT, end)
        client.buffer = b""

    def _write(self, client: Client) -> None:
        if client.outgoing:
            try:
                sent = client.sock.send(client.outgoing)
            except BlockingIOError:
                sent = 0
            except OSError:
                client.closed = True
                self.epoll.unregister(client.sock.fileno())
                return
            client.outgoing = client.outgoing[sent:]
        if not client.outgoing:
            mask = 0 if client.index in self.slow and client.registered else select.EPOLLIN
            self.epoll.modify(client.sock.fileno(), mask)

    def queue(self, client: Client, data: bytes) -> None:
        if client.closed:
            return
        client.outgoing = memoryview(bytes(client.outgoing) + data)
        mask = select.EPOLLOUT | (0 if client.index in self.slow else select.EPOLLIN)
        self.epoll.modify(client.sock.fileno(), mask)

    # -- phases ------------------------------------------------------------------------------

    def reset_counts(self) -> None:
        for client in self.clients.values():
            client.received = 0
            client.latencies = []

    @staticmethod
    def line(client: Client, text: bytes) -> bytes:
        """``text`` as one chat line in the client's dialect."""
        if client.door == "irc":
            return b"PRIVMSG #lobby :" + text + b"\r\n"
        if client.door == "web":
            return web_frame(b'{"type":"say","room":"#lobby","text":"' + text + b'"}')
        return text + b"\n"

    def flood(self, senders: set[int], messages: int, expect: Any, deadline: float) -> None:
        for client in self.clients.values():
            if client.index in senders:
                self.queue(
                    client,
                    b"".join(
                        self.line(client, b"m %d %d 0" % (client.index, seq))
                        for seq in range(messages)
                    ),
                )
        self.pump(lambda: self._all_received(expect), deadline)

    def steady(self, senders: set[int], rate: float, seconds: float, expect: Any) -> None:
        self.measure_latency = True
        mine = [c for c in self.clients.values() if c.index in senders]
        start = time.monotonic()
        sent = dict.fromkeys((c.index for c in mine), 0)
        total = int(rate * seconds)

        def tick() -> None:
            elapsed = time.monotonic() - start
            for client in mine:
                due = min(total, int(elapsed * rate) + 1)
                while sent[client.index] < due:
                    text = b"m %d %d %d" % (client.index, sent[client.index], time.monotonic_ns())
                    self.queue(client, self.line(client, text))
                    sent[client.index] += 1

        self.pump(lambda: False, start + seconds, tick)
        self.pump(lambda: self._all_received(expect), time.monotonic() + 10)
        self.measure_latency = False

    def one_each(self, expect: Any, deadline: float) -> None:
        for client in self.clients.values():
            self.queue(
                client, self.line(client, b"m %d 0 %d" % (client.index, time.monotonic_ns()))
            )
        self.pump(lambda: self._all_received(expect), deadline)

    def _all_received(self, expect: Any) -> bool:
        return all(
            c.received >= expect(c.index) for c in self.clients.values() if c.index not in self.slow
        )

    def report(self) -> dict[str, Any]:
        normal = [c for c in self.clients.values() if c.index not in self.slow]
        latencies: list[int] = []
        for client in normal:
            latencies += client.latencies
        return {
            "received": {c.index: c.received for c in normal},
            "joins": {c.index: c.joins for c in normal},
            "closed_by_server": sorted(c.index for c in self.clients.values() if c.closed),
            "latencies_ns": latencies,
        }

    def slow_cut(self, deadline: float) -> list[int]:
        """Read what the slow clients were sent, until the server closes them."""
        slow = [c for c in self.clients.values() if c.index in self.slow and not c.closed]
        for client in slow:
            self.epoll.modify(client.sock.fileno(), select.EPOLLIN)
        self.pump(lambda: all(c.closed for c in slow), deadline)
        return sorted(c.index for c in slow if c.closed)

    def close(self) -> None:
        for client in self.clients.values():
            client.sock.close()
        self.epoll.close()


def worker_main(
    port: int,
    indices: list[int],
    slow: list[int],
    pipe: Connection,
    ports: dict[str, int] | None = None,
    doors: dict[int, str] | None = None,
    homes: dict[int, dict[str, int]] | None = None,
) -> None:
    """Entry point of one client process: obey commands until "close"."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    worker = Worker(port, indices, set(slow), 4096, ports, doors, homes)
    pipe.send("ready")
    try:
        while True:
            command, args = pipe.recv()
            if command == "close":
                break
            if command == "connect":
                pipe.send(worker.connect(time.monotonic() + args["seconds"]))
            elif command == "flood":
                worker.reset_counts()
                worker.flood(
                    set(args["senders"]),
                    args["messages"],
                    _expect(args),
                    time.monotonic() + args["seconds"],
                )
                pipe.send(worker.report())
            elif command == "steady":
                worker.reset_counts()
                worker.steady(set(args["senders"]), args["rate"], args["duration"], _expect(args))
                pipe.send(worker.report())
            elif command == "one_each":
                worker.reset_counts()
                worker.one_each(_expect(args), time.monotonic() + args["seconds"])
                pipe.send(worker.report())
            elif command == "joins":
                worker.pump(lambda: False, time.monotonic() + args["seconds"])
                pipe.send(worker.report())
            elif command == "slow_cut":
                pipe.send(worker.slow_cut(time.monotonic() + args["seconds"]))
    finally:
        worker.close()


def _expect(args: dict[str, Any]) -> Any:
    """How many message lines client ``i`` must receive: all from senders but itself."""
    senders = set(args["senders"])
    per_sender = args["per_sender"]
    return lambda i: per_sender * (len(senders) - (1 if i in senders else 0))
