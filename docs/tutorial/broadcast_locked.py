"""Attempt 2: a lock per client. No more crash, but the slowest reader sets everyone's pace.

Run: ``python -m docs.tutorial.broadcast_locked [PORT]`` (port 8003 unless you give one).
A client that stops reading stalls every sender as soon as its socket buffer is full.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import trio

from docs.tutorial.broadcast_naive import LineReader
from docs.tutorial.run import serve

clients: dict[str, tuple[trio.SocketStream, trio.Lock]] = {}

# How a line reaches the others. A parameter only so that the exercise can swap it.
Publish = Callable[[str, str], Awaitable[None]]


async def broadcast(sender: str, text: str) -> None:
    line = f"{sender}: {text}\r\n".encode()
    for name, (stream, lock) in list(clients.items()):
        if name != sender:
            await send_to(name, stream, lock, line)


async def send_to(name: str, stream: trio.SocketStream, lock: trio.Lock, line: bytes) -> None:
    """Send one line to one receiver; a receiver that has left is skipped, not an error."""
    async with lock:  # one sender at a time per stream...
        if clients.get(name) != (stream, lock):
            return  # it left while we waited: its stream is closed, or closing
        # It may vanish, or leave, during this send: its own session ends it, not ours.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(line)  # ...but each waits for the slowest reader


async def handle(stream: trio.SocketStream, publish: Publish = broadcast) -> None:
    async with stream:  # closed however the session ends
        await session(stream, publish)


async def session(stream: trio.SocketStream, publish: Publish) -> None:
    lines = LineReader(stream)
    await stream.send_all(b"Enter your username: ")
    name = await lines.read_line()
    if not name or name in clients:
        return
    clients[name] = (stream, trio.Lock())
    await stream.send_all(f"Welcome, {name}!\r\n".encode())
    try:
        while (text := await lines.read_line()) is not None:
            await publish(name, text)
    except trio.BrokenResourceError:  # a reset while reading: this client's own stream
        pass
    finally:
        del clients[name]


if __name__ == "__main__":
    serve(handle, 8003)
