"""Attempt 1: the obvious broadcast. Every reader awaits send_all on every other client.

Run: ``python -m docs.tutorial.broadcast_naive [PORT]`` (port 8002 unless you give one).
Two clients that talk at the same moment crash the whole server with
trio.BusyResourceError.
"""

from __future__ import annotations

import trio

from docs.tutorial.run import serve

clients: dict[str, trio.SocketStream] = {}


class LineReader:
    """Lines from a stream. Trio has no line reader (trio#796); this one is short, not safe:
    its buffer has no bound (chat-trio's LineDecoder has one)."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def read_line(self) -> str | None:
        while b"\n" not in self.buffer:
            chunk = await self.stream.receive_some(4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(errors="replace").strip()


async def broadcast(sender: str, text: str) -> None:
    line = f"{sender}: {text}\r\n".encode()
    for name, stream in list(clients.items()):
        if name != sender:
            await stream.send_all(line)  # the bug: two senders may be here for one stream


async def handle(stream: trio.SocketStream) -> None:
    async with stream:  # closed however the session ends
        await session(stream)


async def session(stream: trio.SocketStream) -> None:
    lines = LineReader(stream)
    await stream.send_all(b"Enter your username: ")
    name = await lines.read_line()
    if not name or name in clients:
        return
    clients[name] = stream
    await stream.send_all(f"Welcome, {name}!\r\n".encode())
    try:
        while (text := await lines.read_line()) is not None:
            await broadcast(name, text)
    finally:
        del clients[name]


if __name__ == "__main__":
    serve(handle, 8002)
