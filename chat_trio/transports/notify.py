"""Telling a service manager how the server is doing: systemd's ``sd_notify`` protocol,
on a trio socket.

systemd starts a ``Type=notify`` service with ``$NOTIFY_SOCKET`` naming a Unix datagram
socket; the service sends it lines such as ``READY=1`` (listening: start what depends on
it), ``RELOADING=1`` then ``READY=1`` around a reload, and ``STOPPING=1`` when it begins
to shut down. ``STATUS=`` is free text that ``systemctl status`` shows. Without
``$NOTIFY_SOCKET`` (not under systemd, or ``Type=simple``) every send does nothing.

The protocol is a few lines of text in one datagram, so this is written here rather than
taken from a library (``sdnotify`` and ``systemd-python`` block, and the latter needs
libsystemd's headers to install). Failures are logged once and never stop the server:
telling systemd is a courtesy, serving is the job.
"""

from __future__ import annotations

import logging
import os
import socket

import trio

log = logging.getLogger("chat_trio.notify")

SEND_TIMEOUT = 1.0
"""Seconds a message may wait for room in the service manager's socket: never longer may
telling systemd hold up what the server is doing (a shutdown, say)."""


class Notifier:
    """The service manager's socket, or nothing (``$NOTIFY_SOCKET`` unset)."""

    def __init__(self, address: str | None) -> None:
        """``address``: ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace)."""
        if address and address.startswith("@"):
            address = "\0" + address[1:]
        self._address = address or None
        self._socket: trio.socket.SocketType | None = None
        self._failed = False

    @classmethod
    def from_environment(cls) -> Notifier:
        return cls(os.environ.get("NOTIFY_SOCKET"))

    async def send(self, *lines: str) -> None:
        """Send ``lines`` as one message (``"READY=1"``, ``"STATUS=..."``); does nothing
        without a service manager. Never raises but ``trio.Cancelled``."""
        if self._address is None or self._failed:
            return
        try:
            if self._socket is None:
                self._socket = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            with trio.move_on_after(SEND_TIMEOUT) as waited:
                await self._socket.sendto("\n".join(lines).encode(), self._address)
            if waited.cancelled_caught:
                log.warning("notify-dropped socket=%r lines=%r (it was full)", self._address, lines)
        except OSError as exc:
            self._failed = True  # say it once; the server goes on either way
            log.warning("notify-failed socket=%r error=%r", self._address, str(exc))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def reloading(now_usec: int) -> tuple[str, ...]:
    """What a reload begins with: systemd wants the time (CLOCK_MONOTONIC, in
    microseconds) with it, to tell this reload from an earlier one."""
    return ("RELOADING=1", f"MONOTONIC_USEC={now_usec}")
