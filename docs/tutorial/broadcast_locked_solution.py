"""Chapter 3, exercise: a receiver may hold a sender up for one second; then it is cut.

Run: ``python -m docs.tutorial.broadcast_locked_solution [PORT]`` (port 8003 unless you give
one). A client that stops reading now costs each sender one second, once.
"""

from __future__ import annotations

import trio

from docs.tutorial import broadcast_locked
from docs.tutorial.run import serve

SEND_TIMEOUT = 1.0  # seconds; long enough for a busy network, short enough to notice
sessions: dict[trio.SocketStream, trio.CancelScope] = {}  # each stream's whole session


async def broadcast_or_cut(sender: str, text: str) -> None:
    line = f"{sender}: {text}\r\n".encode()
    for name, (stream, lock) in list(broadcast_locked.clients.items()):
        session = sessions.get(stream)  # None: it has left since the list was made
        if name == sender or session is None or session.cancel_called:
            continue
        with trio.move_on_after(SEND_TIMEOUT) as waited:
            await broadcast_locked.send_to(name, stream, lock, line)
        if waited.cancelled_caught:
            # A cancelled send_all may have sent half a line: this stream cannot be used
            # again. Cancelling its session ends its reader, and `async with` closes it.
            print(f"{name} held {sender} up for {SEND_TIMEOUT} s: cut")
            session.cancel()


async def handle(stream: trio.SocketStream) -> None:
    with trio.CancelScope() as scope:
        sessions[stream] = scope
        try:
            await broadcast_locked.handle(stream, broadcast_or_cut)
        finally:
            del sessions[stream]


if __name__ == "__main__":
    serve(handle, 8003)
