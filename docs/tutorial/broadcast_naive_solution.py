"""Chapter 2, exercise: keep the server up when a broadcast fails.

Run: ``python -m docs.tutorial.broadcast_naive_solution [PORT]`` (port 8002 unless you give
one). The server survives two clients talking at once, but the chat is still broken: the
error ends the *sender's* session, a client who did nothing wrong.
"""

from __future__ import annotations

import trio

from docs.tutorial.broadcast_naive import session
from docs.tutorial.run import serve

failed = trio.Event()  # set at the first caught failure, so a test can wait for it


async def handle(stream: trio.SocketStream) -> None:
    async with stream:
        try:
            await session(stream)
        except (trio.BusyResourceError, trio.BrokenResourceError, trio.ClosedResourceError) as e:
            # Caught here, the error ends this task only, not the nursery of serve_tcp.
            print(f"a session ended: {type(e).__name__}: {e}")
            failed.set()


if __name__ == "__main__":
    serve(handle, 8002)
