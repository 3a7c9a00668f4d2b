"""Chapter 8, exercise: log the history's statistics every minute.

Run: ``python -m docs.tutorial.history_solution [PORT]`` (port 8008 unless you give one).
"""

from __future__ import annotations

import trio

from docs.tutorial.history import History, HistoryServer, open_history
from docs.tutorial.run import start

EVERY = 60.0  # seconds between two reports


async def report(history: History) -> None:
    while True:
        await trio.sleep(EVERY)
        stats = history.statistics()
        print(f"history: {stats.saved} saved, {stats.waiting} waiting, {stats.dropped} dropped")


async def main(listeners: list[trio.SocketListener], path: str = "history.sqlite3") -> None:
    async with open_history(path) as history, trio.open_nursery() as nursery:
        await nursery.start(history.run)
        nursery.start_soon(report, history)  # a sibling: it ends when the server does
        await trio.serve_listeners(HistoryServer(history).handle, listeners)


if __name__ == "__main__":
    start(main, 8008)
