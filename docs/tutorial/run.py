"""How every program of the learning path starts: ``python -m docs.tutorial.NAME [PORT]``.

This module owns the command line of the tutorial programs, so that each chapter's program
holds only what its chapter teaches. A bad port or a port in use ends with one line, never a
traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from functools import partial

import trio

HOST = "127.0.0.1"  # this machine only: lessons, not services for the whole network

Handler = Callable[[trio.SocketStream], Awaitable[None]]
Main = Callable[[list[trio.SocketListener]], Awaitable[object]]  # runs on open listeners


def port_from(argv: list[str], default: int) -> int:
    """The port to listen on: ``argv[1]`` if there is one, else ``default``.

    Raises:
        SystemExit: with a one-line message when ``argv[1]`` is not a port number.
    """
    if len(argv) < 2:
        return default
    text = argv[1]
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise SystemExit(f"the port must be a number from 1 to 65535, not {text!r}")
    return int(text)


def serve(handler: Handler, default_port: int) -> None:
    """Serve ``handler`` on the port from the command line until Ctrl-C."""
    start(partial(trio.serve_listeners, handler), default_port)


def start(main: Main, default_port: int) -> None:
    """Listen on the port from the command line, then run ``main(listeners)`` until it
    returns or Ctrl-C."""
    port = port_from(sys.argv, default_port)
    try:
        trio.run(listen_then, main, port)
    except* KeyboardInterrupt:  # Ctrl-C is how these small programs stop
        pass


async def listen_then(main: Main, port: int) -> None:
    """Open the listener, say so, then run ``main`` with it.

    Raises:
        SystemExit: with one line when the port cannot be listened on. Only this step:
            an ``OSError`` later in the run is a real error, and shows its traceback.
    """
    try:
        listeners = await trio.open_tcp_listeners(port, host=HOST)
    except OSError as error:
        raise SystemExit(f"cannot listen on port {port}: {error.strerror}") from None
    port = listeners[0].socket.getsockname()[1]  # the same, unless it was 0: "any free one"
    print(f"listening on port {port}: try  nc localhost {port}", flush=True)
    try:
        await main(listeners)
    finally:
        for listener in listeners:  # main may have closed them: a second close does nothing
            listener.socket.close()
