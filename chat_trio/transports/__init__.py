"""Thin adapters between the network and a connection's session: TCP (tcp.py), TLS as a
wrapper of it (tls.py), and HTTP before the web door's upgrade (http.py).

The types below are what a transport hands the session and the hub besides its trio
stream: calls that never wait, for the paths where a stream's own methods cost too much
(the hub's direct write, the reader's wait, flow control's look at the peer's window).
Each is optional: a transport that cannot offer one passes None, and the slower general
path is taken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Chunk = bytes | memoryview
"""Bytes on their way out: one shared rendering, or a view of a part of one."""

TrySend = Callable[[Chunk], int]
"""A non-blocking write: returns how many bytes the kernel took, raises BlockingIOError
when it took none, OSError when the connection is broken."""

Receive = Callable[[int], Awaitable[bytes | bytearray]]
"""One read of at most that many bytes, as ``trio.abc.ReceiveStream.receive_some``."""

Progress = Callable[[], tuple[int, int]]
"""What the peer has done with what was sent to it, as a call that never blocks: (bytes it
acknowledged, the right edge of its receive window: acknowledged + window). The edge
moves only when the peer's application reads (tcp.py, ``progress``)."""
