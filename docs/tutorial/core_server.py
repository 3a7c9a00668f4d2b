"""Chapter 5: a thin trio transport around the rules of docs/tutorial/core.py.

Run: ``python -m docs.tutorial.core_server [PORT]`` (port 8005 unless you give one).
It accepts, reads bytes, feeds them to the rules and carries out what they return. It
decides nothing about the chat.
"""

from __future__ import annotations

import itertools

import trio

from docs.tutorial import broadcast_channels
from docs.tutorial.core import Chat, Close, Output, Send
from docs.tutorial.run import serve

QUEUE = 100  # outputs waiting for one client; full: that client is cut (chapter 4's policy)


class Server:
    """One chat: the rules, and a queue and a cancel scope for each connection."""

    def __init__(self, chat: Chat | None = None) -> None:
        self.chat = chat or Chat()  # the exercise brings rules of its own
        self.ids = itertools.count(1)
        self.connections: dict[int, tuple[trio.MemorySendChannel[bytes], trio.CancelScope]] = {}

    def carry_out(self, outputs: list[Output]) -> None:  # plain def: it never waits
        for output in outputs:
            if output.to not in self.connections:
                continue  # it left while these outputs were made
            outbox, scope = self.connections[output.to]
            match output:
                case Send(data=data):
                    try:
                        outbox.send_nowait(data)
                    except trio.WouldBlock:  # too slow: cut
                        scope.cancel()
                    except trio.ClosedResourceError:  # already closed by a Close: it is going
                        pass
                case Close():
                    outbox.close()  # its writer sends what is queued, then ends the connection

    async def handle(self, stream: trio.abc.Stream) -> None:
        async with stream:
            await self.converse(stream)

    async def converse(self, stream: trio.abc.Stream) -> None:
        who = next(self.ids)
        send, receive = trio.open_memory_channel[bytes](QUEUE)
        try:
            async with trio.open_nursery() as nursery:
                self.connections[who] = (send, nursery.cancel_scope)
                nursery.start_soon(write, stream, receive, nursery.cancel_scope)
                self.carry_out(self.chat.connect(who))
                await self.read(stream, who)
                nursery.cancel_scope.cancel()  # EOF: stop the writer too
        except* (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the connection broke: this client only
        finally:
            del self.connections[who]
            self.carry_out(self.chat.receive(who, b""))  # the rules hear that it has gone

    async def read(self, stream: trio.abc.ReceiveStream, who: int) -> None:
        """Feed what the client sends to the rules, until it closes."""
        while await self.read_once(stream, who):
            pass

    async def read_once(self, stream: trio.abc.ReceiveStream, who: int) -> bool:
        """Feed one read to the rules; False once the client has closed."""
        data = await stream.receive_some()
        self.carry_out(self.chat.receive(who, bytes(data)))
        return bool(data)


async def write(
    stream: trio.abc.SendStream, inbox: trio.MemoryReceiveChannel[bytes], scope: trio.CancelScope
) -> None:
    await broadcast_channels.write(stream, inbox)  # chapter 4's writer, until Close
    scope.cancel()  # the rules closed this connection: end its reader too


if __name__ == "__main__":
    serve(Server().handle, 8005)
