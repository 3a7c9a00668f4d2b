"""WebSocket frames from the server (RFC 6455 section 5.2), as bytes.

A server's frames are not masked, so a frame is the same bytes for everyone who receives
it: the hub renders a room's round once and shares the one frame among all its web
members. wsproto reads the client's (masked) frames; writing ours here keeps that sharing.
We negotiate no extension, so the header is all there is to a frame.

This module never imports trio.
"""

from __future__ import annotations

import enum
import struct


class Opcode(enum.IntEnum):
    TEXT = 0x1
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Why a WebSocket closes (RFC 6455 section 7.4.1); the page shows the reason text."""

    NORMAL = 1000  #: /quit, or the client closed
    GOING_AWAY = 1001  #: the server shuts down; the client stopped answering pings
    PROTOCOL = 1002  #: frames that break the protocol (say, a client frame not masked)
    UNSUPPORTED = 1003  #: a binary message (the protocol is JSON text)
    INVALID = 1007  #: text that is not UTF-8
    POLICY = 1008  #: kicked, banned, flooding, too slow to receive, timed out naming
    TOO_BIG = 1009  #: a message longer than ``door.MAX_MESSAGE``
    ERROR = 1011  #: a bug on our side


_FIN = 0x80
_CLOSE_REASON_MAX = 123  # a control frame's payload is at most 125 bytes, 2 are the code


def frame(opcode: Opcode, payload: bytes) -> bytes:
    """One final, unmasked frame carrying ``payload``."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", _FIN | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", _FIN | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", _FIN | opcode, 127, size)
    return header + payload


def text(payload: bytes) -> bytes:
    """A text frame; ``payload`` must be UTF-8."""
    return frame(Opcode.TEXT, payload)


def close(code: CloseCode, reason: str = "") -> bytes:
    """A close frame with ``code`` and ``reason`` (cut to fit a control frame)."""
    said = reason.encode()[:_CLOSE_REASON_MAX].decode(errors="ignore").encode()
    return frame(Opcode.CLOSE, struct.pack("!H", code) + said)


def ping(payload: bytes = b"") -> bytes:
    return frame(Opcode.PING, payload[:125])


def pong(payload: bytes) -> bytes:
    return frame(Opcode.PONG, payload[:125])
