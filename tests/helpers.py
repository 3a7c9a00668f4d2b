"""Shared test helpers: byte splits, and a synchronous harness around the sans-I/O core."""

from __future__ import annotations

from collections.abc import Iterator

import argon2

from chat_trio.passwords import CHEAP
from chat_trio.protocol.core import Chat, Rules
from chat_trio.protocol.events import (
    Broadcast,
    CheckPassword,
    Close,
    ConnId,
    Entry,
    HashPassword,
    History,
    LoadHistory,
    Output,
    QueryHistory,
    Reason,
    Record,
    Reply,
    SaveAccount,
    SaveBan,
    Subscribe,
    Unsubscribe,
)
from chat_trio.protocol.render import render
from chat_trio.storage import database


def splits(data: bytes, pieces: int = 2) -> Iterator[list[bytes]]:
    """Every way of cutting ``data`` into ``pieces`` consecutive chunks (some may be empty)."""
    if pieces == 1:
        yield [data]
        return
    for cut in range(len(data) + 1):
        for rest in splits(data[cut:], pieces - 1):
            yield [data[:cut], *rest]


_HASHER = argon2.PasswordHasher(
    time_cost=CHEAP.time_cost, memory_cost=CHEAP.memory_kib, parallelism=CHEAP.parallelism
)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except argon2.exceptions.VerificationError:
        return False


class Harness:
    """Drives a ``Chat`` like the server does, keeping each connection's received text.

    Broadcasts go to the room's members except the excluded one (with the ``[#room]``
    prefix where it is not their current room), replies to their target: the hub's
    semantics, without trio. With ``stored``, history goes to a real SQLite database in
    memory, read back for ``LoadHistory`` and ``QueryHistory`` as the session does.
    """

    def __init__(
        self, rules: Rules | None = None, *, stored: bool = False, clock: float = 1_700_000_000.0
    ) -> None:
        self.wall = clock
        self.chat = Chat(rules, clock=lambda: self.wall, stored=stored)
        self.db = database.connect(":memory:") if stored else None
        self.now = 0.0
        self.received: dict[ConnId, bytearray] = {}
        self.rooms: dict[str, dict[ConnId, bool]] = {}  # room -> member -> is it current
        self.closed: dict[ConnId, Reason] = {}
        self.records: list[Entry] = []
        self.loads: list[str] = []  # rooms whose history was loaded

    def apply(self, outputs: list[Output]) -> None:
        pending = list(outputs)
        while pending:
            output = pending.pop(0)
            if isinstance(output, Reply):
                self.received[output.to] += render(output.events)
            elif isinstance(output, Broadcast):
                for conn, current in self.rooms.get(output.room, {}).items():
                    if conn != output.exclude:
                        prefix = "" if current else f"[{output.room}] "
                        self.received[conn] += render(output.events, prefix)
            elif isinstance(output, Subscribe):
                self.rooms.setdefault(output.room, {})[output.conn] = output.current
            elif isinstance(output, Unsubscribe):
                del self.rooms[output.room][output.conn]
            elif isinstance(output, Close):
                self.closed[output.conn] = output.reason
            elif isinstance(output, Record):
                self.records.extend(output.entries)
                if self.db is not None:
                    database.insert(self.db, output.entries)
            elif isinstance(output, LoadHistory):
                assert self.db is not None
                self.loads.append(output.room)
                entries, topic, name = database.conversation(
                    self.db, output.room, self.chat.rules.history_lines
                )
                more = self.chat.history_loaded(
                    output.conn, name or output.room, entries, topic, self.now
                )
                pending[:0] = more
            elif isinstance(output, CheckPassword):
                assert self.db is not None
                account = database.account(self.db, output.key)
                ok = account is not None and _verify(account.hash, output.password)
                admin = account is not None and account.admin
                pending[:0] = self.chat.password_checked(output.conn, ok, admin, self.now)
            elif isinstance(output, HashPassword):
                hashed = _HASHER.hash(output.password)
                pending[:0] = self.chat.password_hashed(output.conn, hashed, self.now)
            elif isinstance(output, SaveAccount):
                assert self.db is not None
                database.save_account(self.db, output.key, output.account)
            elif isinstance(output, SaveBan):
                assert self.db is not None
                database.save_ban(self.db, output.kind, output.key, output.ban)
            elif isinstance(output, QueryHistory):
                assert self.db is not None
                if output.peer:
                    entries = database.private_history(
                        self.db, output.name, output.peer, output.since, output.limit
                    )
                else:
                    entries = database.room_history(self.db, output.room, output.limit)
                event = History(output.peer or output.room, tuple(entries), self.chat.today(), True)
                self.received[output.conn] += render([event])

    def connect(self, conn: ConnId, address: str = "") -> None:
        self.received[conn] = bytearray()
        self.apply(self.chat.connect(conn, self.now, address or f"10.0.0.{conn}"))

    def send(self, conn: ConnId, data: bytes) -> None:
        self.apply(self.chat.receive(conn, data, self.now))

    def line(self, conn: ConnId, text: str) -> str:
        """Send one line from ``conn``; return what ``conn`` received in answer."""
        self.send(conn, text.encode() + b"\r\n")
        return self.take(conn)

    def disconnect(self, conn: ConnId, reason: Reason) -> None:
        for members in self.rooms.values():
            members.pop(conn, None)
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
