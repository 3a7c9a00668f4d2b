"""History storage for the running server: SQLite in worker threads, never on the event loop.

Writes: ``record_nowait`` puts entries in a bounded queue and returns at once; one
writer task (``run``, started by server.py) takes everything queued and inserts it in
one transaction, in a worker thread. Under load the batches grow, so the cost per line
falls as the rate rises.

Policy when the queue is full (``QUEUE_ENTRIES``): the entry is not stored, and counted
(``statistics().dropped``, and a warning in the log at most every ``WARN_EVERY``
seconds). It was still delivered to everyone live; the chat never waits for the disk.
The queue only fills if the disk cannot keep up with the chat for seconds on end.

Reads run in a worker thread on their own connection (WAL lets them run beside the
writer). Each read first waits until every entry recorded before it was written, so a
reader sees everything that happened before it asked. If the task that asked is
cancelled, the query is interrupted (``sqlite3.Connection.interrupt``) instead of being
left to run.

Shutdown: ``close`` stops taking entries; the writer writes what is queued, then
returns. server.py waits for it (within a deadline) before exiting.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import attrs
import trio

from chat_trio.chat.events import Entry
from chat_trio.metrics import Distribution, Histogram
from chat_trio.storage import database

log = logging.getLogger("chat_trio.storage")

T = TypeVar("T")

QUEUE_ENTRIES = 10_000
"""Entries waiting to be written, at most. Around a second of a very busy server's chat
(10,000 lines/s); as memory, a few MB at most (an entry is one line)."""

BATCH_ENTRIES = 2_000
"""Entries written per transaction, at most (so one commit stays short)."""

WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the write-latency histogram's buckets: a batch on a healthy
disk takes a few milliseconds; seconds mean the queue is about to fill (and drop)."""

PROBE_WAIT = 1.0
"""Seconds ``writable`` waits for another process's write lock before it says no."""

WARN_EVERY = 10.0  #: seconds between warnings about dropped entries
PRUNE_EVERY = 600.0  #: seconds between retention passes


@attrs.frozen
class Retention:
    """How long history is kept."""

    max_age: float | None = 90 * 86400.0  #: seconds; None = forever
    rows_per_room: int | None = 100_000  #: newest entries kept per room; None = all


@attrs.frozen
class StoreStatistics:
    """A snapshot of the store."""

    queued: int  #: entries waiting to be written
    max_queued: int  #: the queue's bound
    recorded: int  #: entries accepted into the queue so far
    written: int  #: entries written (committed) so far
    dropped: int  #: entries not stored because the queue was full
    failed: int  #: entries lost to a database error (logged)
    batches: int  #: transactions committed
    pruned: int  #: entries deleted by retention
    write_seconds: Distribution  #: how long each batch took to write (and commit)


class HistoryQueue:
    """The bounded queue of history entries and its one writer loop, for every backend
    that stores history (``Store`` here, ``RedisBackend`` in redis.py): ``record_nowait``
    never waits, and drops and counts what does not fit (the module docstring's policy);
    ``write_queued`` takes everything queued, up to ``BATCH_ENTRIES`` at a time, and hands
    it to ``write_batch``; ``caught_up`` waits until everything recorded before it was
    written (a read sees it); ``close`` ends the loop once the queue is empty.

    A subclass writes a batch in ``write_batch``, raising one of ``write_errors`` when
    it fails (logged and counted here), and prunes in ``prune``."""

    write_errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        # Items are the entries of one core call; the bound counts entries (``_queued``).
        self._send, self._receive = trio.open_memory_channel[tuple[Entry, ...]](QUEUE_ENTRIES)
        self._queued = 0
        self._recorded = 0
        self._written = 0  # written or lost to an error: what readers wait for
        self._progress = trio.Event()
        self._dropped = self._failed = self._batches = self._pruned = 0
        self._last_warning = -math.inf
        self._write_seconds = Histogram(WRITE_BUCKETS)

    async def write_batch(self, batch: list[Entry]) -> None:
        raise NotImplementedError

    async def prune(self) -> None:
        raise NotImplementedError

    def record_nowait(self, entries: tuple[Entry, ...]) -> None:
        """Queue ``entries`` to be written; never blocks. What does not fit in the queue is
        dropped and counted (see the module docstring)."""
        room = QUEUE_ENTRIES - self._queued
        if len(entries) > room:
            self._drop(len(entries) - room)
            entries = entries[:room]
        if not entries:
            return
        try:
            self._send.send_nowait(entries)
        except trio.ClosedResourceError:
            self._drop(len(entries))  # shutting down: lines after the shutdown notice
            return
        self._queued += len(entries)
        self._recorded += len(entries)

    def _drop(self, count: int) -> None:
        self._dropped += count
        now = trio.current_time()
        if now - self._last_warning >= WARN_EVERY:
            self._last_warning = now
            log.warning("history-dropped total=%d queue=%d", self._dropped, QUEUE_ENTRIES)

    async def write_queued(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Write what is queued until ``close``, pruning every ``PRUNE_EVERY`` seconds
        (first before it reports being started). Returns once everything queued before
        ``close`` is written."""
        await self.prune()
        next_prune = trio.current_time() + PRUNE_EVERY
        task_status.started()
        while True:
            batch: list[Entry] = []
            with trio.move_on_at(next_prune):
                try:
                    batch.extend(await self._receive.receive())
                except trio.EndOfChannel:
                    return
            while len(batch) < BATCH_ENTRIES:
                try:
                    batch.extend(self._receive.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            self._queued -= len(batch)
            if batch:
                await self._write(batch)
            if trio.current_time() >= next_prune:
                await self.prune()
                next_prune = trio.current_time() + PRUNE_EVERY

    async def _write(self, batch: list[Entry]) -> None:
        started = trio.current_time()
        try:
            await self.write_batch(batch)
            self._batches += 1
        except self.write_errors as exc:
            self._failed += len(batch)
            log.error("history-write-failed entries=%d error=%r", len(batch), str(exc))
        self._write_seconds.observe(trio.current_time() - started)
        self._written += len(batch)
        self._progress.set()
        self._progress = trio.Event()

    async def caught_up(self) -> None:
        """Wait until everything recorded so far is written (or lost to an error), or
        until ``reachable`` says that the writer cannot make progress now."""
        target = self._recorded
        while self._written < target and self.reachable():
            await self._progress.wait()

    def reachable(self) -> bool:
        """Whether the storage answers now, as far as is known (the Redis backend says no
        after a call failed); a file on disk is taken to."""
        return True

    def close(self) -> None:
        """Take no more entries; the writer writes what is queued and returns."""
        self._send.close()

    def statistics(self) -> StoreStatistics:
        return StoreStatistics(
            queued=self._queued,
            max_queued=QUEUE_ENTRIES,
            recorded=self._recorded,
            written=self._written - self._failed,
            dropped=self._dropped,
            failed=self._failed,
            batches=self._batches,
            pruned=self._pruned,
            write_seconds=self._write_seconds.snapshot(),
        )


class Store(HistoryQueue):
    """See the module docstring. Create with ``await Store.open(path)``."""

    write_errors = (sqlite3.Error,)

    def __init__(self, path: str, writer: sqlite3.Connection, reader: sqlite3.Connection) -> None:
        self.path = path
        self._writer_db = writer
        self._reader_db = reader
        shared = writer is reader  # ":memory:": one connection, used by one thread at a time
        self._write_limiter = trio.CapacityLimiter(1)
        self._read_limiter = self._write_limiter if shared else trio.CapacityLimiter(1)
        self._retention = Retention()
        super().__init__()

    @classmethod
    async def open(cls, path: str, *, make_folder: bool = False) -> Store:
        """Open the database at ``path`` (in a thread); ``make_folder``: make its folder
        if it is missing (``database.connect``).

        Raises:
          database.DatabaseError: it cannot be used; the message says why.
        """
        connect = partial(database.connect, make_folder=make_folder)
        writer = await trio.to_thread.run_sync(connect, path)
        reader = writer if path == ":memory:" else None
        if reader is None:
            try:
                reader = await trio.to_thread.run_sync(connect, path)
            except database.DatabaseError:
                writer.close()
                raise
        return cls(path, writer, reader)

    # -- writing ---------------------------------------------------------------------------

    async def run(
        self,
        retention: Retention | None = None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """The writer: write queued entries until ``close``, pruning old history now and
        then (first before it reports being started). Returns once everything queued
        before ``close`` is written."""
        self._retention = retention or Retention()
        await self.write_queued(task_status=task_status)

    async def write_batch(self, batch: list[Entry]) -> None:
        await self._in_thread(self._write_limiter, database.insert, self._writer_db, batch)

    async def prune(self) -> None:
        await self._prune(self._retention)

    async def _prune(self, retention: Retention) -> None:
        before = None
        if retention.max_age is not None:
            before = time.time() - retention.max_age
        if before is None and retention.rows_per_room is None:
            return
        try:
            deleted = await self._in_thread(
                self._write_limiter,
                database.prune,
                self._writer_db,
                before,
                retention.rows_per_room,
            )
        except sqlite3.Error as exc:
            log.error("history-prune-failed error=%r", str(exc))
            return
        self._pruned += deleted
        if deleted:
            log.info("history-pruned entries=%d", deleted)

    async def write(self, change: Callable[..., T], *args: object) -> T:
        """Run ``change(db, *args)`` (a function of ``database``) on the write connection now,
        not through the queue: for what must not be dropped (accounts, bans).

        Raises:
          sqlite3.Error: it failed; nothing was changed.
        """
        return await self._in_thread(self._write_limiter, change, self._writer_db, *args)

    async def writable(self) -> str | None:
        """None if the database takes writes now; otherwise why not, in SQLite's words
        (for the operator's /readyz). Nothing is written (``database.check_writable``);
        waits its turn behind the history writer, and at most ``PROBE_WAIT`` for another
        process's lock."""
        try:
            await self.write(database.check_writable, PROBE_WAIT)
        except sqlite3.Error as exc:
            return str(exc)
        return None

    # -- reading ---------------------------------------------------------------------------

    async def read(self, query: Callable[..., T], *args: object) -> T:
        """Run ``query(db, *args)`` (a function of ``database``) on the read connection, after
        everything recorded so far has been written.

        Raises:
          sqlite3.Error: the query failed (or was interrupted by a cancellation elsewhere).
        """
        await self.caught_up()
        return await self._in_thread(self._read_limiter, query, self._reader_db, *args)

    async def _in_thread(
        self,
        limiter: trio.CapacityLimiter,
        fn: Callable[..., T],
        db: sqlite3.Connection,
        *args: object,
    ) -> T:
        """Run ``fn(db, *args)`` in a worker thread. If we are cancelled meanwhile, interrupt
        the query rather than leave it running: the thread then ends soon, and the
        limiter (held until it does) keeps the next call off the connection until then."""
        try:
            return await trio.to_thread.run_sync(
                fn, db, *args, abandon_on_cancel=True, limiter=limiter
            )
        except trio.Cancelled:
            if self._reader_db is not self._writer_db:  # shared: it may be another's query now
                db.interrupt()
            raise

    # -- the rest --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections (after ``run`` has returned)."""
        async with self._write_limiter:
            await trio.to_thread.run_sync(self._writer_db.close)
        if self._reader_db is not self._writer_db:
            async with self._read_limiter:
                await trio.to_thread.run_sync(self._reader_db.close)
