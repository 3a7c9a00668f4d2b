"""RESP, the Redis protocol, as bytes in and replies out: sans-I/O (no trio, no await).

``command`` encodes a command; ``Replies`` parses what Redis sends, fed in whatever pieces
the socket hands over, with hiredis (a C parser) doing the parsing.

What this module owns: the encoding and the bound on one reply (``max_bytes``). It never
reads or writes a socket and never decides what a reply means (that is the subscriber's).
"""

from __future__ import annotations

import collections
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
      max_bytes: the most bytes the parser holds. Bytes fed wait (as given, not copied)
        until the parser has room; a reply that still needs more once the parser is full
        is a ``ProtocolError``. So a reply larger than ``max_bytes`` is always refused,
        before the rest of it is read, and one up to ``max_bytes`` less 1 KiB always
        passes (hiredis keeps up to 1 KiB already parsed in the same buffer).
    """

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._reader = hiredis.Reader(notEnoughData=NEED_DATA, replyError=ErrorReply)
        self._waiting: collections.deque[tuple[bytes, int]] = collections.deque()  # (data, offset)

    def feed(self, data: bytes) -> None:
        """Add bytes as they came from the socket (any cut, even inside a reply).

        Resource handling: ``data`` is held until ``next`` has parsed it; the caller
        feeds one read and drains ``next`` before reading again, so that is one read.
        """
        if data:
            self._waiting.append((data, 0))

    def next(self) -> object:
        """The next whole reply, or ``NEED_DATA``.

        Raises:
          ProtocolError: the bytes are not RESP, or the reply being read is larger than
            ``max_bytes``. The parser is unusable afterwards.
        """
        while True:
            try:
                reply: object = self._reader.gets()
            except hiredis.ProtocolError as exc:
                raise ProtocolError(f"not RESP: {exc}") from None
            if reply is not NEED_DATA or not self._waiting:
                return reply
            room = self.max_bytes - self._reader.len()
            if room <= 0:
                raise ProtocolError(f"a reply larger than {self.max_bytes} bytes")
            data, offset = self._waiting[0]
            taken = min(room, len(data) - offset)
            self._reader.feed(data, offset, taken)
            if offset + taken < len(data):
                self._waiting[0] = (data, offset + taken)
            else:
                self._waiting.popleft()

    def buffered(self) -> int:
        """Bytes held: in the parser (the incomplete reply, and at most 1 KiB already
        parsed) and fed but not parsed yet."""
        length: int = self._reader.len()
        return length + sum(len(data) - offset for data, offset in self._waiting)
