"""RESP, the Redis protocol, as bytes in and replies out: sans-I/O (no trio, no await).

``command`` encodes a command; ``Replies`` parses what Redis sends, fed in whatever pieces
the socket hands over, with hiredis (a C parser) doing the parsing.

What this module owns: the encoding and the bound on one reply (``max_bytes``). It never
reads or writes a socket and never decides what a reply means (that is the subscriber's).
"""

from __future__ import annotations

import enum
from typing import Final

import hiredis

MAX_BYTES = 1024 * 1024
"""Bytes one reply may take (1 MiB). A published event is a few hundred bytes; a reply that
grows past this is a broken or hostile peer, and buffering it would be unbounded, so it is
a ``ProtocolError`` instead."""


class _NeedData(enum.Enum):
    NEED_DATA = "NEED_DATA"


NEED_DATA: Final = _NeedData.NEED_DATA
"""What ``Replies.next`` returns while no whole reply has arrived yet (hiredis' own
"nothing yet" is ``False``, which a reply can never be mistaken for here, but a name says
it better)."""


class ProtocolError(Exception):
    """What Redis sent is not RESP, or one reply is larger than ``max_bytes``: the
    connection cannot be trusted any more and must be closed."""


class ErrorReply(Exception):
    """An error reply (``-ERR ...``), returned by ``Replies.next`` as a value, never raised
    by it: the caller decides whether that error ends the connection."""


def command(*args: str | bytes) -> bytes:
    """One command as RESP: an array of bulk strings (``str`` as UTF-8).

    >>> command("SUBSCRIBE", "ct:room:lobby")
    b'*2\\r\\n$9\\r\\nSUBSCRIBE\\r\\n$13\\r\\nct:room:lobby\\r\\n'
    """
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


class Replies:
    """Replies parsed from bytes as they arrive: ``feed`` what the socket gave, then call
    ``next`` until it says ``NEED_DATA``.

    Replies are ``bytes`` (bulk and simple strings), ``int``, ``None``, lists of those,
    or ``ErrorReply`` values.

    Args:
      max_bytes: the most bytes buffered while a reply is incomplete. ``next`` checks it
        whenever it has no whole reply to give, so the parser never holds more than
        ``max_bytes`` plus one ``feed`` (the socket's read size), and a reply that does not
        fit is refused before the rest of it is read. hiredis keeps up to 1 KiB of already
        parsed bytes in the same buffer, so a reply of ``max_bytes`` less 1 KiB always passes.
    """

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._reader = hiredis.Reader(notEnoughData=NEED_DATA, replyError=ErrorReply)

    def feed(self, data: bytes) -> None:
        """Add bytes as they came from the socket (any cut, even inside a reply)."""
        self._reader.feed(data)

    def next(self) -> object:
        """The next whole reply, or ``NEED_DATA``.

        Raises:
          ProtocolError: the bytes are not RESP, or the reply being read passed
            ``max_bytes``. The parser is unusable afterwards.
        """
        try:
            reply: object = self._reader.gets()
        except hiredis.ProtocolError as exc:
            raise ProtocolError(f"not RESP: {exc}") from None
        if reply is NEED_DATA and self._reader.len() > self.max_bytes:
            raise ProtocolError(f"a reply larger than {self.max_bytes} bytes")
        return reply

    def buffered(self) -> int:
        """Bytes held by the parser (the incomplete reply, and at most 1 KiB already read)."""
        length: int = self._reader.len()
        return length
