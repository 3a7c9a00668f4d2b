"""Attempt 1: the obvious broadcast. Every reader awaits send_all on every other client.

Run: python docs/tutorial/broadcast_naive.py 8080 -- then two clients that talk at the
same moment crash the whole server with trio.BusyResourceError.
"""

from __future__ import annotations

import sys

import trio

clients: dict[str, trio.SocketStream] = {}


async def read_line(stream: trio.SocketStream) -> str | None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await stream.receive_some(1)  # byte by byte: short, not fast
        if not chunk:
            return None
        data += chunk
    return data.decode(errors="replace").strip()


async def broadcast(sender: str, text: str) -> None:
    line = f"{sender}: {text}\r\n".encode()
    for name, stream in list(clients.items()):
        if name != sender:
            await stream.send_all(line)  # the bug: two senders may be here for one stream


async def handle(stream: trio.SocketStream) -> None:
    async with stream:  # closed however the session ends
        await session(stream)


async def session(stream: trio.SocketStream) -> None:
    await stream.send_all(b"Enter your username: ")
    name = await read_line(stream)
    if not name or name in clients:
        return
    clients[name] = stream
    await stream.send_all(f"Welcome, {name}!\r\n".encode())
    try:
        while (text := await read_line(stream)) is not None:
            await broadcast(name, text)
    finally:
        del clients[name]


if __name__ == "__main__":
    trio.run(trio.serve_tcp, handle, int(sys.argv[1]))
