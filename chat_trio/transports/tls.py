"""TLS: the server's SSL context and the handshake, done inside each connection's own task.

Thin like tcp.py: once the handshake is done, the session sees an ordinary trio stream
(without the hub's direct-write fast path: bytes must go through the TLS layer).
"""

from __future__ import annotations

import logging
import ssl

import trio

log = logging.getLogger("chat_trio.tls")

DEFAULT_TLS_PORT = 8443
HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client gets to finish the TLS handshake; a stalled one ties up only itself."""


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context with the certificate chain and key; TLS 1.2 at least.

    Raises:
        OSError, ssl.SSLError: the files cannot be read or do not fit together.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


async def handshake(
    stream: trio.SocketStream, context: ssl.SSLContext, peer: str
) -> trio.SSLStream[trio.SocketStream] | None:
    """Wrap ``stream`` and do the handshake; None (and the socket closed) if it fails."""
    secure = trio.SSLStream(stream, context, server_side=True)
    done = False
    try:
        with trio.move_on_after(HANDSHAKE_TIMEOUT):
            await secure.do_handshake()
            done = True
        if not done:
            log.info("tls-handshake-failed peer=%s error='timed out'", peer)
    except trio.BrokenResourceError as exc:
        log.info("tls-handshake-failed peer=%s error=%r", peer, str(exc.__cause__ or exc))
    finally:
        if not done:  # failed, timed out or cancelled: the socket is ours to close
            await trio.aclose_forcefully(stream)
    return secure if done else None
