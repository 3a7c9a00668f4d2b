"""Shared test helpers: byte splits, and a synchronous harness around the sans-I/O core."""

from __future__ import annotations

from collections.abc import Iterator

from chat_trio.protocol.core import Chat, Rules
from chat_trio.protocol.events import Broadcast, Close, ConnId, Output, Reason, Reply, Subscribe
from chat_trio.protocol.render import render


def splits(data: bytes, pieces: int = 2) -> Iterator[list[bytes]]:
    """Every way of cutting ``data`` into ``pieces`` consecutive chunks (some may be empty)."""
    if pieces == 1:
        yield [data]
        return
    for cut in range(len(data) + 1):
        for rest in splits(data[cut:], pieces - 1):
            yield [data[:cut], *rest]


class Harness:
    """Drives a ``Chat`` like the server does, keeping each connection's received text.

    Broadcasts go to subscribed connections except the excluded one, replies to their
    target: the hub's semantics, without trio.
    """

    def __init__(self, rules: Rules | None = None) -> None:
        self.chat = Chat(rules)
        self.now = 0.0
        self.received: dict[ConnId, bytearray] = {}
        self.subscribed: set[ConnId] = set()
        self.closed: dict[ConnId, Reason] = {}

    def apply(self, outputs: list[Output]) -> None:
        for output in outputs:
            if isinstance(output, Reply):
                self.received[output.to] += render(output.events)
            elif isinstance(output, Broadcast):
                data = render(output.events)
                for conn in self.subscribed - {output.exclude}:
                    self.received[conn] += data
            elif isinstance(output, Subscribe):
                self.subscribed.add(output.conn)
            elif isinstance(output, Close):
                self.closed[output.conn] = output.reason

    def connect(self, conn: ConnId) -> None:
        self.received[conn] = bytearray()
        self.apply(self.chat.connect(conn, self.now))

    def send(self, conn: ConnId, data: bytes) -> None:
        self.apply(self.chat.receive(conn, data, self.now))

    def disconnect(self, conn: ConnId, reason: Reason) -> None:
        self.subscribed.discard(conn)
        self.apply(self.chat.disconnect(conn, reason))

    def take(self, conn: ConnId) -> str:
        """What ``conn`` received since the last ``take``, as text."""
        text = self.received[conn].decode()
        self.received[conn].clear()
        return text

    def register(self, conn: ConnId, name: str) -> None:
        self.connect(conn)
        self.send(conn, name.encode() + b"\r\n")
        assert f"Welcome to the chat, {name}!" in self.take(conn)
