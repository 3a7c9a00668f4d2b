"""Shared test helpers: byte splits, and a synchronous harness around the sans-I/O core."""

from __future__ import annotations

from collections.abc import Iterator

import argon2

from chat_trio.chat.core import Chat
from chat_trio.chat.events import ConnId, Entry, Event, History, Reason
from chat_trio.chat.outputs import (
    Broadcast,
    CheckPassword,
    Close,
    HashPassword,
    LoadHistory,
    NoteLogin,
    Output,
    Outputs,
    QueryHistory,
    Record,
    Reply,
    SaveAccount,
    SaveBan,
    Subscribe,
    Unsubscribe,
)
from chat_trio.chat.registry import Account, Verdict
from chat_trio.chat.vocabulary import name_key
from chat_trio.chat.world import Rules
from chat_trio.delivery.session import hand_over
from chat_trio.doors import Door, View
from chat_trio.doors.text.door import TextDoor
from chat_trio.passwords import CHEAP
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
    """Drives a ``Chat`` through real doors like the session does, without trio, keeping
    each connection's received bytes.

    Each connection gets its own door (the text door unless ``connect`` is given another);
    broadcasts go to the room's members except the excluded one, each rendered by the view
    its door asked for; replies are rendered by the receiver's door: the hub's semantics.
    With ``stored``, history goes to a real SQLite database in memory, read back for
    ``LoadHistory`` and ``QueryHistory`` as the session does.
    """

    def __init__(
        self, rules: Rules | None = None, *, stored: bool = False, clock: float = 1_700_000_000.0
    ) -> None:
        self.wall = clock
        self.chat = Chat(rules, clock=lambda: self.wall, stored=stored)
        self.db = database.connect(":memory:") if stored else None
        self.now = 0.0
        self.doors: dict[ConnId, Door] = {}
        self.received: dict[ConnId, bytearray] = {}
        self.rooms: dict[str, dict[ConnId, View]] = {}  # room -> member -> its view
        self.closed: dict[ConnId, Reason] = {}
        self.records: list[Entry] = []
        self.loads: list[str] = []  # rooms whose history was loaded
        self.log: list[Output] = []  # every output carried out, in order

    def apply(self, conn: ConnId, outputs: list[Output]) -> None:
        """Carry out ``outputs`` of ``conn``'s session, as delivery/session.py does."""
        pending = list(outputs)
        while pending:
            output = pending.pop(0)
            self.log.append(output)
            answer = Outputs(conn)
            if isinstance(output, Reply):
                door = self.doors[output.to]
                render = door.render if output.to == conn else door.deliver
                self.received[output.to] += render(output.events)
            elif isinstance(output, Broadcast):
                for member, view in self.rooms.get(output.room, {}).items():
                    if member != output.exclude:
                        self.received[member] += view(output.events, output.room, self.wall)
            elif isinstance(output, Subscribe):
                view = self.doors[output.conn].view(output.room)
                self.rooms.setdefault(output.room, {})[output.conn] = view
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
                self.chat.history_loaded(
                    output.conn, name or output.room, entries, topic, self.now, answer
                )
            elif isinstance(output, CheckPassword):
                assert self.db is not None
                account = database.account(self.db, output.key)
                ok = account is not None and _verify(account.hash, output.password)
                admin = account is not None and account.admin
                verdict = Verdict.RIGHT if ok else Verdict.WRONG
                self.chat.password_checked(output.conn, verdict, admin, self.now, answer)
            elif isinstance(output, HashPassword):
                hashed = _HASHER.hash(output.password)
                self.chat.password_hashed(output.conn, hashed, self.now, answer)
            elif isinstance(output, SaveAccount):
                assert self.db is not None
                database.save_account(self.db, output.key, output.account)
            elif isinstance(output, NoteLogin):
                assert self.db is not None
                database.note_login(self.db, output.key, self.wall)
            elif isinstance(output, SaveBan):
                assert self.db is not None
                database.save_ban(self.db, output.kind, output.key, output.ban)
            elif isinstance(output, QueryHistory):
                assert self.db is not None
                if output.peer:
                    entries = database.private_history(
                        self.db, output.session, output.account, output.peer_key,
                        output.peer_session, output.peer_account, output.limit,
                    )  # fmt: skip
                else:
                    entries = database.room_history(
                        self.db, output.room, output.limit, before=output.before, after=output.after
                    )
                event = History(output.peer or output.room, tuple(entries), self.chat.today(), True)
                self.received[output.conn] += self.doors[output.conn].render([event])
            self.doors[conn].observe(answer.take_mine())
            pending[:0] = answer.done()

    def pump(self, conn: ConnId, out: Outputs | None = None) -> None:
        """Hand the rules what ``conn``'s door has, as ``session.pump`` does."""
        out = out or Outputs(conn)
        door = self.doors[conn]
        while True:
            waiting = hand_over(conn, door, self.chat, self.now, out)
            self.apply(conn, out.done())
            for room, view in door.views_changed():
                self.rooms.setdefault(room, {})[conn] = view
            if not waiting:
                return

    def connect(self, conn: ConnId, address: str = "", door: Door | None = None) -> None:
        self.received[conn] = bytearray()
        self.doors[conn] = door or TextDoor(self.chat.rules.max_line)
        out = Outputs(conn)
        self.chat.connect(conn, self.now, out, address or f"10.0.0.{conn}")
        self.pump(conn, out)

    def send(self, conn: ConnId, data: bytes) -> None:
        self.chat.heard(conn, self.now)
        self.doors[conn].receive_data(data, self.now)
        self.pump(conn)

    def expire(self, conn: ConnId, now: float) -> None:
        """Time passed: what the session does when ``conn``'s deadline comes."""
        self.now = now
        out = Outputs(conn)
        self.chat.expire(conn, now, out)
        if (item := self.doors[conn].expire(now)) is not None:
            self.doors[conn].push_back(item)
        self.pump(conn, out)

    def intent(self, conn: ConnId, intent: object) -> list[Event]:
        """Hand one intent straight to the rules; return the events replied to ``conn``."""
        out = Outputs(conn)
        assert self.chat.handle(conn, intent, self.now, out)  # type: ignore[arg-type]
        mine = out.take_mine()
        self.apply(conn, out.done())
        return mine

    def line(self, conn: ConnId, text: str) -> str:
        """Send one line from ``conn``; return what ``conn`` received in answer."""
        self.send(conn, text.encode() + b"\r\n")
        return self.take(conn)

    def disconnect(self, conn: ConnId, reason: Reason) -> None:
        for members in self.rooms.values():
            members.pop(conn, None)
        out = Outputs(conn)
        self.chat.disconnect(conn, reason, out)
        self.apply(conn, out.done())

    def add_account(self, name: str, password: str, admin: bool = False) -> None:
        """What the operator's ``chat-trio user add NAME`` does, then a server start."""
        assert self.db is not None
        account = Account(name, _HASHER.hash(password), admin, id=f"op-{name_key(name)}")
        database.save_account(self.db, name_key(name), account)
        self.chat.load_accounts(database.accounts(self.db), database.bans(self.db, self.wall))

    def take(self, conn: ConnId) -> str:
        """What ``conn`` received since the last ``take``, as text."""
        text = self.received[conn].decode()
        self.received[conn].clear()
        return text

    def register(self, conn: ConnId, name: str) -> None:
        self.connect(conn)
        self.send(conn, name.encode() + b"\r\n")
        assert f"Welcome to the chat, {name}!" in self.take(conn)
