"""Chapter 1, exercise: tell each client how many clients are connected when it arrives.

Run: ``python -m docs.tutorial.echo_solution [PORT]`` (port 8001 unless you give one).
"""

from __future__ import annotations

import trio

from docs.tutorial.echo import echo
from docs.tutorial.run import serve

connected = 0  # no lock: nothing between reading and writing it can switch tasks


async def greet_then_echo(stream: trio.abc.Stream) -> None:
    global connected
    connected += 1
    try:
        others = connected - 1
        await stream.send_all(f"Hello! {others} other client(s) connected.\n".encode())
        await echo(stream)
    except trio.BrokenResourceError:  # gone before the greeting was sent
        await stream.aclose()
    finally:
        connected -= 1


if __name__ == "__main__":
    serve(greet_then_echo, 8001)
