"""The server's backend (backend.py): SQLite through ``Store`` (worker threads, a bounded
write queue), and argon2 through ``Passwords`` (worker threads, at most two at once).

Every storage error is logged here with what was being done, and answered as the
protocol says: no history, ``None``, ``Verdict.UNAVAILABLE``; never an exception into a
session.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial

from chat_trio.chat.events import ConnId, Entry
from chat_trio.chat.intents import Secret
from chat_trio.chat.outputs import Claim, QueryHistory, QueryTargets
from chat_trio.chat.registry import Account, Ban, RegisteredRoom, Verdict
from chat_trio.passwords import Passwords
from chat_trio.storage import database
from chat_trio.storage.backend import RoomHistory, check_password
from chat_trio.storage.store import Store, StoreStatistics

log = logging.getLogger("chat_trio.storage")


class SqliteBackend:
    """``Backend`` over a ``Store`` and ``Passwords``."""

    def __init__(self, store: Store, passwords: Passwords) -> None:
        self.store = store
        self.passwords = passwords

    def statistics(self) -> StoreStatistics:
        return self.store.statistics()

    def record(self, entries: tuple[Entry, ...]) -> None:
        self.store.record_nowait(entries)

    async def load_room(self, room: str, lines: int) -> RoomHistory:
        try:
            entries, topic, name = await self.store.read(database.conversation, room, lines)
        except sqlite3.Error as exc:
            log.error("history-read-failed room=%s error=%r", room, str(exc))
            return RoomHistory()
        return RoomHistory(tuple(entries), topic, name)

    async def read_history(self, query: QueryHistory) -> Sequence[Entry] | None:
        try:
            return await self.store.read(database.read_history, query)
        except sqlite3.Error as exc:
            log.error("history-read-failed error=%r", str(exc))
            return None

    async def read_targets(self, query: QueryTargets) -> Sequence[tuple[str, float]] | None:
        try:
            return await self.store.read(database.targets, query)
        except sqlite3.Error as exc:
            log.error("history-read-failed error=%r", str(exc))
            return None

    async def forget(self, query: QueryHistory) -> None:
        await self._save("redaction", database.forget, query)

    async def check_password(self, key: str, password: Secret) -> tuple[Verdict, bool]:
        read = partial(self.store.read, database.account, key)
        return await check_password(read, (sqlite3.Error,), self.passwords, password)

    async def hash_password(self, password: Secret) -> str:
        return await self.passwords.hash(password)

    async def save_account(self, key: str, account: Account | None) -> None:
        await self._save("account", database.save_account, key, account)

    async def save_ban(self, kind: str, key: str, ban: Ban | None) -> None:
        await self._save("ban", database.save_ban, kind, key, ban)

    async def note_login(self, key: str) -> None:
        await self._save("login", database.note_login, key, time.time())

    async def save_room(self, key: str, record: RegisteredRoom | None) -> None:
        await self._save("room", database.save_room, key, record)

    async def save_marker(self, account: str, target: str, at: int, keep: int) -> None:
        await self._save("marker", database.save_marker, account, target, at, keep)

    async def claim_name(self, key: str, conn: ConnId, *, wait: bool = False) -> Claim:
        """One node per database (``ServerLock``): the rules' own check is the whole
        answer."""
        return Claim.GRANTED

    def release_name(self, key: str, conn: ConnId) -> None:
        pass

    # -- what the server reads at start-up, and the operator's changes (as redis.py) --

    async def conversation(self, room: str, lines: int) -> RoomHistory:
        """``load_room``, raising: at start-up a database that cannot be read is an error.

        Raises:
          sqlite3.Error: it could not be read.
        """
        entries, topic, name = await self.store.read(database.conversation, room, lines)
        return RoomHistory(tuple(entries), topic, name)

    async def accounts(self) -> list[Account]:
        return await self.store.read(database.accounts)

    async def bans(self, now: float) -> list[Ban]:
        return await self.store.read(database.bans, now)

    async def rooms(self) -> list[RegisteredRoom]:
        return await self.store.read(database.rooms)

    async def read_markers(self) -> list[tuple[str, str, int]]:
        return await self.store.read(database.read_markers)

    async def last_account_change(self) -> str:
        return str(await self.store.read(database.last_account_change))

    async def account_changes(self, after: str) -> tuple[str, list[tuple[str, Account | None]]]:
        last, changed = await self.store.read(database.account_changes, int(after))
        return str(last), changed

    async def last_ban_change(self) -> str:
        return str(await self.store.read(database.last_ban_change))

    async def ban_changes(
        self, after: str, now: float
    ) -> tuple[str, list[tuple[str, str, Ban | None]]]:
        last, changed = await self.store.read(database.ban_changes, int(after), now)
        return str(last), changed

    async def _save(self, what: str, change: Callable[..., None], *args: object) -> None:
        try:
            await self.store.write(change, *args)
        except sqlite3.Error as exc:
            log.error("save-failed what=%s error=%r", what, str(exc))
