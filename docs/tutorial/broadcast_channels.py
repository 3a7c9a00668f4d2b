"""Attempt 3: a bounded channel and a writer task per client. Publishing never waits.

Run: ``python -m docs.tutorial.broadcast_channels [PORT]`` (port 8004 unless you give one).
A client that stops reading is disconnected once its queue is full; everyone else
carries on.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from docs.tutorial.broadcast_naive import LineReader
from docs.tutorial.run import serve

QUEUE = 1024  # lines; one read can complete ~70 lines, published before any writer runs
outboxes: dict[str, tuple[trio.MemorySendChannel[bytes], trio.CancelScope]] = {}

# How a line reaches the others. A parameter only so that the exercise can swap it.
Publish = Callable[[str, str], None]


def broadcast(sender: str, text: str) -> None:  # plain def: it cannot block
    line = f"{sender}: {text}\r\n".encode()
    for name, (outbox, session) in list(outboxes.items()):
        if name != sender:
            try:
                outbox.send_nowait(line)
            except trio.WouldBlock:  # full: that client alone pays
                del outboxes[name]
                session.cancel()  # ends its reader and its writer, wherever they wait


async def write(stream: trio.abc.SendStream, inbox: trio.MemoryReceiveChannel[bytes]) -> None:
    async for line in inbox:
        batch = [line]
        while True:  # coalesce: one write for everything queued, or the queue outgrows us
            try:
                batch.append(inbox.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        await stream.send_all(b"".join(batch))


async def handle(stream: trio.SocketStream, publish: Publish = broadcast) -> None:
    async with stream:  # closed however the session ends
        await session(stream, publish)


async def session(stream: trio.SocketStream, publish: Publish) -> None:
    lines = LineReader(stream)
    await stream.send_all(b"Enter your username: ")
    name = await lines.read_line()
    if not name or name in outboxes:
        return
    send, receive = trio.open_memory_channel[bytes](QUEUE)
    await stream.send_all(f"Welcome, {name}!\r\n".encode())
    try:
        async with trio.open_nursery() as nursery:
            outboxes[name] = (send, nursery.cancel_scope)
            nursery.start_soon(write, stream, receive)
            while (text := await lines.read_line()) is not None:
                publish(name, text)
            nursery.cancel_scope.cancel()  # EOF: stop the writer too
    except* trio.BrokenResourceError:  # from the reader or the writer, in the nursery's group
        pass  # the connection broke: this client only
    finally:
        outboxes.pop(name, None)


if __name__ == "__main__":
    serve(handle, 8004)
