"""What ``chat-trio user`` and ``chat-trio ban`` (users.py, bans.py) change, wherever the
server keeps it: the SQLite file (``--db``) or Redis (``--redis``). One small protocol,
``Records``, so that the commands are written once.

Both are plain blocking calls: these commands run with no event loop of their own.
``RedisRecords`` runs each call in ``trio.run`` over a client it opens for it (a few
calls per command: the cost of a connection each is nothing next to a person typing).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

import attrs
import trio
from coredis.exceptions import RedisError

from chat_trio.chat.registry import Account, Ban
from chat_trio.chat.vocabulary import name_key
from chat_trio.passwords import Passwords
from chat_trio.storage import database, redis
from chat_trio.storage.database import DatabaseError

T = TypeVar("T")


class Records(Protocol):
    """The accounts and bans, as the operator's commands read and change them. Each
    change is told to running servers (``database.operator_account``'s rule)."""

    where: str  #: the file or the URL, for messages

    def accounts(self) -> list[Account]: ...
    def account(self, key: str) -> Account | None: ...
    def account_dates(self) -> dict[str, tuple[float, float]]: ...
    def operator_account(self, key: str, account: Account | None) -> None: ...
    def bans(self, now: float) -> list[Ban]: ...
    def operator_ban(self, kind: str, key: str, ban: Ban | None) -> None: ...

    def set_admin(self, name: str, admin: bool) -> Account | None:
        """The account ``name`` made an admin (or not), told to running servers; None if
        there is none."""
        ...


class SqliteRecords:
    """``Records`` in the SQLite file (``database``)."""

    def __init__(self, db: sqlite3.Connection, where: str) -> None:
        self.db = db
        self.where = where

    def accounts(self) -> list[Account]:
        return database.accounts(self.db)

    def account(self, key: str) -> Account | None:
        return database.account(self.db, key)

    def account_dates(self) -> dict[str, tuple[float, float]]:
        return database.account_dates(self.db)

    def operator_account(self, key: str, account: Account | None) -> None:
        database.operator_account(self.db, key, account)

    def set_admin(self, name: str, admin: bool) -> Account | None:
        return database.set_admin(self.db, name, admin)

    def bans(self, now: float) -> list[Ban]:
        return database.bans(self.db, now)

    def operator_ban(self, kind: str, key: str, ban: Ban | None) -> None:
        database.operator_ban(self.db, kind, key, ban)


class RedisRecords:
    """``Records`` in Redis (storage/redis.py's keys).

    Raises (every method):
      DatabaseError: Redis did not answer, or failed; the message names it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redis.shown_url(url)

    def _run(self, work: Callable[[redis.RedisBackend], Awaitable[T]]) -> T:
        async def session() -> T:
            async with redis.client(self.url) as client:
                backend = redis.RedisBackend(client, Passwords())
                return await redis.call(work(backend))  # under the same deadline

        try:
            return trio.run(session)
        except* (redis.RedisUnavailable, RedisError, OSError) as group:
            first = redis.leaves(group)[0]
            raise DatabaseError(f"cannot reach Redis at {self.where}: {first}") from None

    def accounts(self) -> list[Account]:
        return self._run(lambda b: b.accounts())

    def account(self, key: str) -> Account | None:
        return self._run(lambda b: b.account(key))

    def account_dates(self) -> dict[str, tuple[float, float]]:
        return self._run(lambda b: b.account_dates())

    def operator_account(self, key: str, account: Account | None) -> None:
        self._run(lambda b: b.write_account(key, account, operator=True))

    def set_admin(self, name: str, admin: bool) -> Account | None:
        found = self.account(name_key(name))
        if found is None:
            return None
        changed = attrs.evolve(found, admin=admin)
        self.operator_account(name_key(name), changed)
        return changed

    def bans(self, now: float) -> list[Ban]:
        return self._run(lambda b: b.bans(now))

    def operator_ban(self, kind: str, key: str, ban: Ban | None) -> None:
        self._run(lambda b: b.write_ban(kind, key, ban, operator=True))


@contextmanager
def opened(path: str, redis: str | None, make_folder: bool) -> Iterator[Records | None]:
    """The records for a command of the operator's: in Redis if ``redis`` (a URL) is
    given, else in the database at ``path`` (closed after); None, with the reason said
    on stderr, if they cannot be used. The database's folder is made only if
    ``make_folder`` (the default place: ``--db`` in a missing folder is an error naming
    it, not a new, empty database that no server reads)."""
    if redis is not None:
        records = RedisRecords(redis)
        try:
            records.bans(0.0)  # reached, or said why not
        except DatabaseError as exc:
            print(f"chat-trio: {exc}", file=sys.stderr)
            yield None
            return
        yield records
        return
    try:
        db = database.connect(path, make_folder=make_folder)
    except DatabaseError as exc:
        print(f"chat-trio: {exc}", file=sys.stderr)
        yield None
        return
    try:
        yield SqliteRecords(db, path)
    finally:
        db.close()
