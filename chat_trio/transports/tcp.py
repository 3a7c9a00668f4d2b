"""Plain TCP: listeners, the peer's address, and the non-blocking write for the hub's fast path.

Thin by design: everything the protocol means lives in ``protocol/``; everything about
delivery lives in ``hub.py``.
"""

from __future__ import annotations

import functools
import os
import sys

import trio

from chat_trio.hub import TrySend


async def open_listeners(host: str, port: int) -> list[trio.SocketListener]:
    """Listen on ``host:port`` (port 0: the kernel picks one)."""
    return await trio.open_tcp_listeners(port, host=host)


def bound_addresses(listeners: list[trio.SocketListener]) -> list[tuple[str, int]]:
    """The (host, port) each listener is bound to, with the real port when 0 was asked."""
    return [tuple(listener.socket.getsockname()[:2]) for listener in listeners]


def peer_of(stream: trio.SocketStream) -> str:
    """``host:port`` of the client, for the logs."""
    try:
        host, port = stream.socket.getpeername()[:2]
    except OSError:  # already reset by the peer
        return "-"
    return f"{host}:{port}"


def direct_writer(stream: trio.SocketStream) -> TrySend | None:
    """A synchronous non-blocking write to ``stream``'s socket, or None where unsupported.

    trio's sockets are already in non-blocking mode, so ``os.write`` on the descriptor
    either takes bytes at once or raises BlockingIOError: no task switch, no wake-up.

    .. warning:: Only the hub may call it, only while nothing is queued for this
       connection (so it never interleaves with the writer task's ``send_all``), and only
       until the session removes the connection from the hub, which happens before the
       socket is closed (so the descriptor is never reused under it).
    """
    if sys.platform == "win32":  # os.write does not accept sockets there
        return None
    return functools.partial(os.write, stream.socket.fileno())
