"""Chapter 6: graceful shutdown. Stop accepting, tell everyone, wait a while, say goodbye.

Run: ``python -m docs.tutorial.shutdown [PORT]`` (port 8006 unless you give one), connect
with ``nc``, then press Ctrl-C in the server's terminal.
"""

from __future__ import annotations

import contextlib
import signal
from functools import partial

import trio

from docs.tutorial.core import Chat
from docs.tutorial.core_server import Server
from docs.tutorial.run import start

GRACE = 10.0  # seconds clients have to finish once the server has said it is stopping
GOODBYE = 1.0  # seconds a goodbye may take: a client that does not read gets none


class GracefulServer(Server):
    def __init__(self, chat: Chat | None = None) -> None:
        super().__init__(chat)
        self.grace = trio.CancelScope()  # around the clients' nursery; its deadline ends them

    async def run(
        self,
        listeners: list[trio.SocketListener],
        stop: trio.Event,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve on ``listeners`` until ``stop`` is set, then shut down in three steps."""
        with self.grace:
            async with trio.open_nursery() as clients:
                async with trio.open_nursery() as accepting:
                    serving = partial(trio.serve_listeners, handler_nursery=clients)
                    await accepting.start(serving, self.handle, listeners)
                    task_status.started(listeners[0].socket.getsockname()[1])
                    await stop.wait()
                    accepting.cancel_scope.cancel()  # 1. no new clients; the listener closes
                self.carry_out(self.chat.announce(f"Server stopping in {GRACE:g} s."))  # 2.
                self.grace.deadline = trio.current_time() + GRACE  # 3. then cancel the rest
        # Here every client's task has ended: the nursery waited for them all.

    async def handle(self, stream: trio.abc.Stream) -> None:
        async with stream:
            try:
                await self.converse(stream)
            finally:
                if self.grace.cancel_called:  # time is up: this client was still here
                    await self.goodbye(stream)

    async def goodbye(self, stream: trio.abc.Stream) -> None:
        # Shielded: this task is being cancelled, and without the shield the send would be
        # cancelled too. The deadline keeps a client that does not read from holding us up.
        with (
            trio.move_on_after(GOODBYE, shield=True),
            contextlib.suppress(trio.BrokenResourceError),  # it left at the last moment
        ):
            await stream.send_all(b"Server stopped. Goodbye!\r\n")


async def main(listeners: list[trio.SocketListener]) -> None:
    server, stop = GracefulServer(), trio.Event()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run, listeners, stop)
            async for _ in signals:  # the first Ctrl-C (or a service manager's SIGTERM)
                print(f"stopping: clients have {GRACE:g} s", flush=True)
                stop.set()
                break


if __name__ == "__main__":
    start(main, 8006)
