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


def which_file_is_wrong(cert_file: str, key_file: str) -> str | None:
    """Why the pair cannot be loaded, said of the file at fault (OpenSSL only says "PEM
    lib"): missing, swapped, or not PEM. None: the files look right (they may still not
    belong together)."""
    said = []
    for path, wanted, role in (
        (cert_file, "CERTIFICATE-----", "--tls-cert"),
        (key_file, "PRIVATE KEY-----", "--tls-key"),
    ):
        try:
            with open(path, encoding="ascii", errors="replace") as file:
                text = file.read(1 << 20)
        except OSError as exc:
            return f"{role} {path}: {exc.strerror}"
        if wanted not in text:
            other = "a private key" if "PRIVATE KEY-----" in text else "not PEM"
            if "CERTIFICATE-----" in text:
                other = "a certificate"
            said.append(f"{role} {path} is {other}, not a PEM {wanted[:-5].lower()}")
    if len(said) == 2 and "certificate" in said[1] and "private key" in said[0]:
        return "the certificate and the key are swapped: " + "; ".join(said)
    return "; ".join(said) or None


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
