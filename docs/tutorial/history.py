"""Chapter 8: blocking work in threads. The chat's history in SQLite, off the event loop.

Run: ``python -m docs.tutorial.history [PORT]`` (port 8008 unless you give one). The
history is kept in ``history.sqlite3`` in the current folder; a newcomer sees the last ten
lines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from docs.tutorial.core import Chat, Output, Send
from docs.tutorial.core_server import Server
from docs.tutorial.run import start

SAVES = 1000  # lines waiting for the disk; full: the line is not saved, only counted
RECENT = 10  # lines a newcomer is shown


@dataclass(frozen=True)
class HistoryStatistics:
    waiting: int  # lines queued, not yet saved
    saved: int
    dropped: int  # lines never saved because the queue was full


class History:
    """Lines in an SQLite file. Every call into SQLite runs in a worker thread."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.limiter = trio.CapacityLimiter(1)  # one thread at a time uses the connection
        self.send, self.receive = trio.open_memory_channel[str](SAVES)
        self.saved = self.dropped = 0
        self.progress = trio.Event()  # set, and replaced, each time a batch is saved

    def save_nowait(self, line: str) -> None:  # plain def: the chat never waits for the disk
        try:
            self.send.send_nowait(line)
        except trio.WouldBlock:  # the disk is far behind: lose history, not the chat
            self.dropped += 1

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Save what is queued, everything queued in one transaction, until cancelled."""
        task_status.started()
        async for line in self.receive:
            batch = [line]
            while True:
                try:
                    batch.append(self.receive.receive_nowait())
                except trio.WouldBlock:
                    break
            await trio.to_thread.run_sync(self.insert, batch, limiter=self.limiter)
            self.saved += len(batch)
            self.progress.set()
            self.progress = trio.Event()

    def insert(self, batch: list[str]) -> None:  # runs in a worker thread
        with self.db:  # one transaction: all of the batch, or none of it
            self.db.executemany("INSERT INTO lines (line) VALUES (?)", [(b,) for b in batch])

    async def recent(self, count: int) -> list[str]:
        query = "SELECT line FROM lines ORDER BY id DESC LIMIT ?"
        rows = await trio.to_thread.run_sync(
            lambda: self.db.execute(query, (count,)).fetchall(), limiter=self.limiter
        )
        return [line for (line,) in reversed(rows)]

    async def wait_saved(self, count: int) -> None:
        """Wait until ``count`` lines have been saved since the start."""
        while self.saved < count:
            await self.progress.wait()

    def statistics(self) -> HistoryStatistics:
        waiting = self.send.statistics().current_buffer_used
        return HistoryStatistics(waiting, self.saved, self.dropped)


@asynccontextmanager
async def open_history(path: str) -> AsyncIterator[History]:
    def connect() -> sqlite3.Connection:
        # check_same_thread=False: worker threads take turns, held to one by the limiter
        db = sqlite3.connect(path, check_same_thread=False)
        db.execute("CREATE TABLE IF NOT EXISTS lines (id INTEGER PRIMARY KEY, line TEXT)")
        return db

    db = await trio.to_thread.run_sync(connect)
    try:
        yield History(db)
    finally:
        db.close()  # quick, and every thread that used it has finished


class RecordedChat(Chat):
    """Chapter 5's rules, also keeping what people say, for the transport to save."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []  # emptied by the transport after each call

    def say(self, who: int, line: str) -> list[Output]:
        self.said.append(line)
        return super().say(who, line)


class HistoryServer(Server):
    def __init__(self, history: History) -> None:
        self.recorded = RecordedChat()
        super().__init__(self.recorded)
        self.history = history

    def carry_out(self, outputs: list[Output]) -> None:
        super().carry_out(outputs)
        for line in self.recorded.said:
            self.history.save_nowait(line)
        self.recorded.said.clear()

    async def read_once(self, stream: trio.abc.ReceiveStream, who: int) -> bool:
        named = who in self.chat.names
        more = await super().read_once(stream, who)
        if not named and who in self.chat.names:  # this read completed the login
            lines = [f"Earlier: {line}\r\n" for line in await self.history.recent(RECENT)]
            self.carry_out([Send(who, "".join(lines).encode())] if lines else [])
        return more


async def main(listeners: list[trio.SocketListener], path: str = "history.sqlite3") -> None:
    async with open_history(path) as history, trio.open_nursery() as nursery:
        await nursery.start(history.run)
        await trio.serve_listeners(HistoryServer(history).handle, listeners)


if __name__ == "__main__":
    start(main, 8008)
