"""Chapter 6, exercise: a second Ctrl-C stops at once, without waiting for the grace period.

Run: ``python -m docs.tutorial.shutdown_solution [PORT]`` (port 8006 unless you give one).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import trio

from docs.tutorial.run import start
from docs.tutorial.shutdown import GRACE, GracefulServer


def on_signal(server: GracefulServer, stop: trio.Event) -> None:  # plain def: never waits
    if not stop.is_set():
        print(f"stopping: clients have {GRACE:g} s (Ctrl-C again to stop now)", flush=True)
        stop.set()
    else:
        print("stopping now", flush=True)
        server.grace.cancel()  # the same as the deadline passing, only sooner


async def main(listeners: list[trio.SocketListener]) -> None:
    server, stop = GracefulServer(), trio.Event()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(react, signals, server, stop)
            await server.run(listeners, stop)
            nursery.cancel_scope.cancel()  # the server has stopped: stop watching for signals


async def react(signals: AsyncIterator[int], server: GracefulServer, stop: trio.Event) -> None:
    async for _ in signals:
        on_signal(server, stop)


if __name__ == "__main__":
    start(main, 8006)
