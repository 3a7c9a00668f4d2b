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

Handler = Callable[[trio.SocketStream], Awaitable[None]]


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
    start(partial(trio.serve_tcp, handler), default_port)


def start(main: Callable[[int], Awaitable[object]], default_port: int) -> None:
    """Run ``main(port)`` with the port from the command line, until it returns or Ctrl-C."""
    port = port_from(sys.argv, default_port)
    print(f"listening on port {port}: try  nc localhost {port}", flush=True)
    try:
        trio.run(main, port)
    except* OSError as group:  # from opening the listener, maybe inside a nursery's group
        error = group.exceptions[0]
        while isinstance(error, ExceptionGroup):
            error = error.exceptions[0]
        raise SystemExit(f"cannot listen on port {port}: {error.strerror}") from None
    except* KeyboardInterrupt:  # Ctrl-C is how these small programs stop
        pass
