"""The PROXY protocol v2 header under trio: the thin adapter around ``doors.proxy``'s
sans-I/O ``HeaderReader``, for connections from a trusted proxy on the text and IRC doors.

It reads exactly the header's bytes (``HeaderReader.wanted``), never one of the
client's, so the session that follows reads the client's first line from the socket
itself, and a TLS handshake starts on the right byte.
"""

from __future__ import annotations

import logging

import trio

from chat_trio.doors.proxy import NEED_DATA, BadHeader, Header, HeaderReader

log = logging.getLogger("chat_trio.proxy")

HEADER_TIMEOUT = 5.0
"""Seconds a trusted proxy gets to send the header. haproxy sends it with the connection
itself; a proxy that has not sent it by then never will (``send-proxy-v2`` is missing),
and the connection would otherwise wait without end."""


async def read_header(stream: trio.abc.ReceiveStream, peer: str) -> Header | None:
    """The PROXY header that begins ``stream``; None (logged with the reason) where
    there is none within ``HEADER_TIMEOUT`` or it is refused. The caller closes."""
    reader = HeaderReader()
    with trio.move_on_after(HEADER_TIMEOUT):
        try:
            while (header := reader.next_event()) is NEED_DATA:
                reader.receive_data(bytes(await stream.receive_some(reader.wanted)))
        except BadHeader as exc:
            log.warning(
                "proxy-header-refused peer=%s problem=%s why=%r", peer, exc.problem.value, str(exc)
            )
            return None
        except trio.BrokenResourceError:
            log.info("proxy-header-refused peer=%s problem=lost", peer)
            return None
        assert not reader.trailing  # only ``wanted`` bytes were read
        return header
    log.warning(
        "proxy-header-refused peer=%s problem=timeout why='no header within %g s'",
        peer, HEADER_TIMEOUT,
    )  # fmt: skip
    return None
