"""Plain TCP: listeners, the peer's address, the non-blocking write for the outbox's fast
path, and what the peer did with what it was sent.

Thin by design: everything the chat means lives in ``chat/`` and ``doors/``; everything about
delivery lives in ``delivery/`` (hub, fan-out, outboxes, flow control).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable

import attrs
import trio

from chat_trio.transports import Progress, Receive, TrySend

ACCEPT_BATCH = 1000
"""Connections accepted per wake-up. trio's own accept loop takes one per scheduler round;
when thousands connect at once, that makes joins trickle in one round each, and every
round pays a fan-out to everyone already there. Taking what the backlog holds lets the
hub announce them together."""

BACKLOG = 65535  # the kernel caps it at net.core.somaxconn
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

log = logging.getLogger("chat_trio.tcp")


def open_listeners(host: str, port: int) -> list[socket.socket]:
    """Listen on ``host:port`` (port 0: the kernel picks one). Raises OSError."""
    if ":" in host:  # IPv6; "::" also accepts IPv4 where the system allows it
        return [
            socket.create_server(
                (host, port),
                family=socket.AF_INET6,
                backlog=BACKLOG,
                dualstack_ipv6=host == "::" and socket.has_dualstack_ipv6(),
            )
        ]
    return [socket.create_server((host, port), backlog=BACKLOG)]


def bound_addresses(listeners: list[socket.socket]) -> list[tuple[str, int]]:
    """The (host, port) each listener is bound to, with the real port when 0 was asked."""
    return [tuple(listener.getsockname()[:2]) for listener in listeners]


async def serve(
    handler: Callable[[trio.SocketStream], Awaitable[None]],
    listeners: list[socket.socket],
    handler_nursery: trio.Nursery,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Accept forever, starting ``handler(stream)`` in ``handler_nursery`` for each client.

    Closes the listeners when cancelled. Running out of descriptors or memory is logged
    and retried after a pause (existing clients are unaffected); other errors propagate.
    """
    try:
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                listener.setblocking(False)
                nursery.start_soon(_accept_loop, handler, listener, handler_nursery)
            task_status.started()
    finally:
        for listener in listeners:
            listener.close()


async def _accept_loop(
    handler: Callable[[trio.SocketStream], Awaitable[None]],
    listener: socket.socket,
    handler_nursery: trio.Nursery,
) -> None:
    while True:
        await trio.lowlevel.wait_readable(listener)
        for _ in range(ACCEPT_BATCH):
            try:
                sock, _ = listener.accept()
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRORS:
                    raise
                log.error("accept-failed error=%s (retrying in 0.1 s)", errno.errorcode[exc.errno])
                await trio.sleep(0.1)
                break
            _keepalive(sock)
            stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
            handler_nursery.start_soon(handler, stream)
        await trio.lowlevel.checkpoint()


KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 60, 15, 4
"""A peer that vanished (power cut, cable pulled) is found within 2 minutes."""


def _keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):  # Linux; elsewhere the system defaults apply
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)


def show_address(address: tuple[str, int]) -> str:
    """``host:port``, with IPv6 hosts in brackets (``[::1]:8080``)."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def peer_address(stream: trio.SocketStream) -> tuple[str, int] | None:
    """(host, port) of the client, or None if the connection is already gone."""
    try:
        host, port = stream.socket.getpeername()[:2]
    except OSError:  # already reset by the peer
        return None
    return host, port


LINGER = 1.0
"""Seconds a closing connection waits for its peer to close too (``linger``)."""

LINGER_BYTES = 64 * 1024
"""Bytes of input read and thrown away while lingering; a peer that sends more is cut."""

REFUSALS_LINGERING = 256
"""Refused connections that may linger at once (``Refuser``); beyond it they are closed
at once, so a storm of refused connections holds at most this many descriptors."""


async def linger(stream: trio.abc.HalfCloseableStream) -> None:
    """Half-close ``stream``, then read and throw away what the peer still sends until it
    closes its side too (at most ``LINGER_BYTES``). The caller bounds the time.

    Why: closing a TCP socket with unread input makes the kernel answer with a reset, and
    a reset may destroy what was just sent before the peer reads it: the reason a client
    was refused or disconnected (an IRC client sends NICK and USER before it reads
    anything). Half-closing first sends what is queued and then a FIN; once the input is
    drained, the close is an orderly one (Apache's "lingering close").
    """
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_eof()
        drained = 0
        while drained <= LINGER_BYTES and (data := await stream.receive_some(16384)):
            drained += len(data)


@attrs.define
class Refuser:
    """Tells connections not let in why, and makes sure they can read it (``linger``),
    for at most ``REFUSALS_LINGERING`` connections at a time."""

    lingering: int = 0  #: refused connections waiting for their peer to close

    async def refuse(self, stream: trio.SocketStream, line: bytes) -> None:
        """Write ``line`` without waiting (best effort), linger up to ``LINGER`` seconds
        where the bound allows, then close."""
        with contextlib.suppress(OSError):
            os.write(stream.socket.fileno(), line)
        if self.lingering < REFUSALS_LINGERING:
            self.lingering += 1
            try:
                with trio.move_on_after(LINGER):
                    await linger(stream)
            finally:
                self.lingering -= 1
        stream.socket.close()


def direct_writer(stream: trio.SocketStream) -> TrySend | None:
    """A synchronous non-blocking write to ``stream``'s socket, or None where unsupported.

    trio's sockets are already in non-blocking mode, so ``os.write`` on the descriptor
    either takes bytes at once or raises BlockingIOError: no task switch, no wake-up.

    .. warning:: Only the connection's outbox (``Outbox.offer``) may call it, only while
       nothing is queued for this connection (so it never interleaves with the writer
       task's ``send_all``), and only until the session removes the connection from the
       hub, which happens before the socket is closed (so the descriptor is never reused
       under it).
    """
    if sys.platform == "win32":  # os.write does not accept sockets there
        return None
    return functools.partial(os.write, stream.socket.fileno())


def direct_reader(stream: trio.SocketStream) -> Receive | None:
    """A read from ``stream``'s socket that waits with two coroutine frames fewer than
    ``SocketStream.receive_some`` (about 1 KB per idle connection, which is always
    waiting in it); None where unsupported. Same contract: a checkpoint, b"" at EOF,
    ``BrokenResourceError`` for a broken connection, and nothing read if cancelled.

    .. warning:: Only the connection's reader may call it, and only until the session
       closes the stream.
    """
    if sys.platform == "win32":  # os.read does not accept sockets there
        return None
    return functools.partial(_receive, stream.socket.fileno())


async def _receive(fd: int, size: int) -> bytes:
    await trio.lowlevel.checkpoint_if_cancelled()
    waited = False
    while True:
        try:
            data: bytes | None = os.read(fd, size)
        except BlockingIOError:
            data = None  # (waiting outside the except block keeps no exception alive)
        except OSError as exc:
            raise trio.BrokenResourceError(str(exc)) from exc
        if data is not None:
            if not waited:  # it was there at once: still let others run
                await trio.lowlevel.cancel_shielded_checkpoint()
            return data
        await trio.lowlevel.wait_readable(fd)  # cancelled here: nothing was read
        waited = True


# Offsets in Linux's struct tcp_info (include/uapi/linux/tcp.h): tcpi_bytes_acked (u64)
# since Linux 4.1, tcpi_snd_wnd (u32: the peer's advertised window, scaled) since 5.4.
_BYTES_ACKED, _SND_WND, _TCP_INFO_SIZE = 120, 228, 232


def progress(stream: trio.SocketStream) -> Progress | None:
    """What the peer did with what it was sent (``transports.Progress``): the bytes it
    acknowledged, and the right edge of its receive window; None where the kernel does
    not say (not Linux, or older than 5.4).

    Flow control needs to tell a client that reads, however slowly, from one that
    stopped. Acknowledged bytes alone cannot: a client that never reads still
    acknowledges what fits in its receive buffer (megabytes, once the kernel grew it for
    a fast reader), and a write to it keeps completing while the server's own send
    buffer fills. The window's edge (acknowledged + window) moves only when the client's
    application takes bytes out of its buffer (measured: docs/benchmarks.md).
    """
    if not hasattr(socket, "TCP_INFO") or _progress(stream.socket)[1] < 0:
        return None
    return functools.partial(_progress, stream.socket)  # smaller than a closure


def _progress(sock: trio.socket.SocketType) -> tuple[int, int]:
    """(acknowledged, window edge) of ``sock``; (-1, -1) if the kernel does not say."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return -1, -1
    if len(info) < _TCP_INFO_SIZE:
        return -1, -1
    acked = int.from_bytes(info[_BYTES_ACKED : _BYTES_ACKED + 8], sys.byteorder)
    return acked, acked + int.from_bytes(info[_SND_WND : _SND_WND + 4], sys.byteorder)
