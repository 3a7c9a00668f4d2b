"""Chapter 1: an echo server. One task per client, every task inside one nursery.

Run: ``python -m docs.tutorial.echo [PORT]`` (port 8001 unless you give one), then
``nc localhost 8001`` in two other terminals: each gets its own lines back.
"""

from __future__ import annotations

import itertools

import trio

from docs.tutorial.run import serve

ids = itertools.count(1)  # a number for each client, so the log can tell them apart


async def echo(stream: trio.abc.Stream) -> None:
    """Send every byte a client sends straight back, until it hangs up."""
    ident = next(ids)
    print(f"client {ident} connected")
    try:
        async with stream:  # closes the socket however this task ends
            async for chunk in stream:  # stops when the client closes its side
                await stream.send_all(chunk)
        print(f"client {ident} left")
    except trio.BrokenResourceError:  # the connection broke: that client only
        print(f"client {ident} vanished")


if __name__ == "__main__":
    serve(echo, 8001)
