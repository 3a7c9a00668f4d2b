"""Shared test helpers: byte splits, and a synchronous harness that runs the server's own
session, interpreter and hub over the sans-I/O core, with a backend that answers at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import argon2

from chat_trio.chat.core import Chat
from chat_trio.chat.events import ConnId, Entry, Event, Reason
from chat_trio.chat.intents import Intent, Secret
from chat_trio.chat.outputs import Claim, Outputs, QueryHistory, QueryTargets
from chat_trio.chat.registry import Account, Ban, RegisteredRoom, Verdict
from chat_trio.chat.vocabulary import name_key
from chat_trio.chat.world import Rules
from chat_trio.delivery.effects import Effects, Step
from chat_trio.delivery.hub import Hub
from chat_trio.delivery.outbox import Outbox
from chat_trio.delivery.session import Session
from chat_trio.doors import Answer, Door
from chat_trio.doors.lines import DEFAULT_MAX_LINE
from chat_trio.doors.text.door import TextDoor
from chat_trio.passwords import CHEAP
from chat_trio.storage import database
from chat_trio.storage.backend import RoomHistory

T = TypeVar("T")


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


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end at once. It must never wait for anything: the harness
    runs the server's async code without trio, with a backend that answers at once and a
    hub that flushes every delivery as it is made."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("the session waited for something; the harness runs without trio")


class InlineBackend:
    """``storage.backend.Backend`` over the server's own SQL (a SQLite database in
    memory) on the caller's thread, with argon2 at its cheapest: every answer is there at
    once. It also keeps what was recorded and which rooms were loaded, for the tests."""

    def __init__(self, db: sqlite3.Connection | None) -> None:
        self.db = db  # None: a server without a database (records are kept here only)
        self.records: list[Entry] = []
        self.loads: list[str] = []
        self.names: dict[str, ConnId] = {}  #: names held across nodes (``claim_name``)
        self.names_down = False  #: claims are answered ``Claim.UNAVAILABLE``

    @property
    def sql(self) -> sqlite3.Connection:
        assert self.db is not None, "the rules ask for storage only where there is some"
        return self.db

    def record(self, entries: tuple[Entry, ...]) -> None:
        self.records.extend(entries)
        if self.db is not None:
            database.insert(self.db, entries)

    async def load_room(self, room: str, lines: int) -> RoomHistory:
        self.loads.append(room)
        entries, topic, name = database.conversation(self.sql, room, lines)
        return RoomHistory(tuple(entries), topic, name)

    async def read_history(self, query: QueryHistory) -> Sequence[Entry] | None:
        return database.read_history(self.sql, query)

    async def read_targets(self, query: QueryTargets) -> Sequence[tuple[str, float]] | None:
        return database.targets(self.sql, query)

    async def forget(self, query: QueryHistory) -> None:
        database.forget(self.sql, query)

    async def check_password(self, key: str, password: Secret) -> tuple[Verdict, bool]:
        account = database.account(self.sql, key)
        if account is None:
            return Verdict.WRONG, False
        return Verdict.RIGHT if _verify(account.hash, password) else Verdict.WRONG, account.admin

    async def hash_password(self, password: Secret) -> str:
        return _HASHER.hash(password)

    async def save_account(self, key: str, account: Account | None) -> None:
        database.save_account(self.sql, key, account)

    async def save_ban(self, kind: str, key: str, ban: Ban | None) -> None:
        database.save_ban(self.sql, kind, key, ban)

    async def note_login(self, key: str) -> None:
        database.note_login(self.sql, key, 0.0)

    async def save_room(self, key: str, record: RegisteredRoom | None) -> None:
        database.save_room(self.sql, key, record)

    async def save_marker(self, account: str, target: str, at: int, keep: int) -> None:
        database.save_marker(self.sql, account, target, at, keep)

    async def claim_name(self, key: str, conn: ConnId, *, wait: bool = False) -> Claim:
        """As a table of names shared by several nodes would answer (``names``: key ->
        holder; a test puts another node's holder there as a connection id no session
        has; ``names_down``: it cannot be asked)."""
        if self.names_down:
            return Claim.UNAVAILABLE
        if self.names.setdefault(key, conn) != conn:
            return Claim.TAKEN
        return Claim.GRANTED

    def release_name(self, key: str, conn: ConnId) -> None:
        if self.names.get(key) == conn:
            del self.names[key]


class FlushingHub(Hub):
    """The hub, flushing each delivery as it is made: without trio, nobody runs its task.
    Each recipient gets the same bytes in the same order as with one flush per round."""

    def publish(
        self,
        events: Sequence[Event],
        room: str,
        exclude: ConnId | None = None,
        size: int = 0,
        *,
        told: frozenset[ConnId] = frozenset(),
    ) -> None:
        super().publish(events, room, exclude, size, told=told)
        self.flush()

    def send(self, conn: ConnId, data: bytes) -> None:
        super().send(conn, data)
        self.flush()

    def finish(self, conn: ConnId, reason: Reason | None = None) -> None:
        super().finish(conn, reason)
        self.flush()


class Watched(Effects):
    """The interpreter, keeping every output it was handed (``log``)."""

    log: list[Step]

    async def perform(self, conn: ConnId, door: Door, steps: Any) -> Reason | None:
        steps = list(steps)
        self.log.extend(s for s in steps if not isinstance(s, Answer))
        return await super().perform(conn, door, steps)


class Recorder:
    """A direct write that the kernel always takes whole, keeping what was written."""

    def __init__(self, into: bytearray) -> None:
        self.into = into

    def __call__(self, data: bytes | memoryview) -> int:
        self.into += data
        return len(data)


def _no_writer(outbox: Outbox) -> None:
    raise AssertionError("the harness's writes take everything: no writer is needed")


class Harness:
    """Drives a ``Chat`` through real doors with the server's own session, interpreter
    and hub, without trio, keeping each connection's received bytes.

    Each connection gets its own door (the text door unless ``connect`` is given another)
    and a session; its outbox writes into ``received`` at once. With ``stored``, history
    goes to a real SQLite database in memory (``db``), read back for ``LoadHistory`` and
    ``QueryHistory`` as the server does. With ``shared_names``, names are claimed as
    where several nodes share them, from the backend's table (``InlineBackend.names``).
    """

    def __init__(
        self,
        rules: Rules | None = None,
        *,
        stored: bool = False,
        clock: float = 1_700_000_000.0,
        max_line: int = DEFAULT_MAX_LINE,
        shared_names: bool = False,
    ) -> None:
        self.wall = clock
        self.max_line = max_line  # the text door's framing
        self.chat = Chat(rules, clock=lambda: self.wall, stored=stored, shared_names=shared_names)
        self.db = database.connect(":memory:") if stored else None
        self.backend = InlineBackend(self.db)
        self.now = 0.0
        self.hub = FlushingHub(wall=lambda: self.wall)
        self.effects = Watched(self.chat, self.hub, self.backend, clock=lambda: self.now)
        self.effects.log = []
        self.doors: dict[ConnId, Door] = {}
        self.sessions: dict[ConnId, Session] = {}
        self.received: dict[ConnId, bytearray] = {}
        self.closed: dict[ConnId, Reason] = {}

    @property
    def records(self) -> list[Entry]:
        return self.backend.records

    @property
    def loads(self) -> list[str]:
        return self.backend.loads

    @property
    def log(self) -> list[Step]:
        """Every output handed to the interpreter, in order."""
        return self.effects.log

    def pump(self, conn: ConnId, out: Outputs | None = None) -> None:
        """Hand the rules what ``conn``'s door has: ``Session.pump``, run at once."""
        closing = run_now(self.sessions[conn].pump(out or Outputs(conn)))
        if closing is not None:
            self.closed.setdefault(conn, closing)
        for other, session in self.sessions.items():  # kicked by someone else
            if session.outbox.ended is not None:
                self.closed.setdefault(other, session.outbox.ended)

    def connect(self, conn: ConnId, address: str = "", door: Door | None = None) -> None:
        self.received[conn] = bytearray()
        door = self.doors[conn] = door or TextDoor(self.max_line)
        write = Recorder(self.received[conn])  # takes everything: no writer is ever needed
        outbox = self.hub.open_outbox(
            conn, write, lambda: None, _no_writer, door.deliver, view=door.view
        )
        self.sessions[conn] = Session(conn, door, self.effects, outbox)
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

    def intent(self, conn: ConnId, intent: Intent) -> list[Event]:
        """Hand one intent straight to the rules; return the events replied to ``conn``."""
        out = Outputs(conn)
        assert self.chat.handle(conn, intent, self.now, out)
        mine = out.take_mine()
        run_now(self.effects.perform(conn, self.doors[conn], out.done()))
        return mine

    def line(self, conn: ConnId, text: str) -> str:
        """Send one line from ``conn``; return what ``conn`` received in answer."""
        self.send(conn, text.encode() + b"\r\n")
        return self.take(conn)

    def disconnect(self, conn: ConnId, reason: Reason) -> None:
        """The end of ``conn``'s session, as ``serve_connection``'s last steps."""
        self.hub.remove(conn)
        out = Outputs(conn)
        self.chat.disconnect(conn, reason, out)
        self.effects.carry_now(conn, self.doors[conn], out.done())

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
