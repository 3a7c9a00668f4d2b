"""Bytes to lines: bounded framing, telnet IAC stripping, UTF-8 decoding, sanitising.

``LineDecoder`` owns everything between the raw bytes of one connection and the text
lines the chat rules see. Its invariants:

1. Memory is bounded. The unfinished line kept between calls is at most
   ``max_line + 1`` bytes (the ``+ 1`` is a ``\\r`` waiting for its ``\\n``). A longer line
   produces one ``TooLong`` and is discarded up to its newline, however long it grows,
   even from a client that never sends a newline.
2. Nothing is lost or reordered. Bytes may arrive split anywhere (inside a UTF-8
   sequence, between ``\\r`` and ``\\n``, inside a telnet command); the lines produced
   are the same for every split. A final line without a newline is delivered at EOF.
3. Nothing unsafe reaches another terminal. Invalid UTF-8 becomes U+FFFD (or, for a
   ``strict`` decoder, as the IRC door's, which promises UTF8ONLY, the line is a
   ``NotUtf8``, for the door to refuse whole); ANSI/VT escape
   sequences, C0/C1 control characters (except TAB) and bidi controls are removed
   (``words.clean``; every intent's text is checked again as one line, words.py).
4. Telnet negotiation (IAC ...) never shows up as text; a 0xFF before a byte that is no
   telnet command (below 236: a stray byte from a client that is not telnet) is data.
   Telnet's interrupt (IAC IP, sent by Ctrl-C) ends the input politely: complete lines
   before it are kept, the unfinished line is dropped (as a terminal would), and nothing
   after it is read.

Lines end at ``\\n``; one ``\\r`` before it is removed. The limit counts bytes after telnet
stripping and before decoding, not counting the line ending.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import attrs

from chat_trio.chat.words import clean

DEFAULT_MAX_LINE = 2048
"""Bytes per line. Four times IRC's 512, long enough for a pasted paragraph, small enough
that a line (and the notice rendered from it) fits many times in a send queue."""


@attrs.frozen
class TooLong:
    """A line longer than the limit arrived and was discarded (up to its newline)."""

    limit: int


@attrs.frozen
class NotUtf8:
    """A line that is not valid UTF-8 (only from a ``strict`` decoder): ``text`` is it
    with U+FFFD for what is invalid, for the door to say which command it refuses."""

    text: str


@attrs.frozen
class Interrupted:
    """The client sent telnet's interrupt (Ctrl-C in telnet): end the session politely."""


@attrs.frozen
class EndOfInput:
    """The client closed its side of the connection. Always the last item."""


Input = str | TooLong | NotUtf8 | Interrupted | EndOfInput

# Telnet (RFC 854) command bytes that matter to us.
_IAC = 255
_SE, _SB = 240, 250
_COMMANDS_FROM = 236  # EOF (RFC 1184); a byte below it after IAC is no command: data
_WILL, _WONT, _DO, _DONT = 251, 252, 253, 254
_INTERRUPTS = frozenset({244, 238})  # IP (interrupt process), ABORT
_DATA, _COMMAND, _OPTION, _SUBNEG, _SUBNEG_IAC = range(5)


class LineDecoder:
    """Turns the bytes of one connection into ``Input`` items. See the module docstring.

    Call ``receive(data)`` with each chunk as it arrives and ``receive(b"")`` at EOF.
    """

    __slots__ = (
        "_discarding", "_ended", "_partial", "_telnet", "_text", "max_line", "strict", "telnet",
    )  # fmt: skip

    def __init__(
        self,
        max_line: int = DEFAULT_MAX_LINE,
        *,
        telnet: bool = True,
        sanitizing: bool = True,
        strict: bool = False,
    ) -> None:
        """``telnet``: strip telnet commands (False: 0xFF is data, as on IRC);
        ``sanitizing``: remove unsafe characters (False: the caller reads what it needs
        first, such as IRC's CTCP markers; the intents it makes are checked anyway);
        ``strict``: a line that is not UTF-8 is a ``NotUtf8`` (False: U+FFFD in it)."""
        if max_line < 1:
            raise ValueError(f"max_line must be at least 1, not {max_line}")
        self.max_line = max_line
        self.telnet = telnet
        self.strict = strict
        self._text = _to_text if sanitizing else _to_raw_text
        self._partial: bytes | bytearray = b""  # the unfinished line; invariant 1 bounds it
        self._discarding = False  # inside a too-long line, dropping bytes up to its newline
        self._telnet = _DATA  # telnet parser state, carried across chunks
        self._ended = False

    def receive(self, data: bytes | bytearray) -> list[Input]:
        """Feed one chunk (``b""`` means EOF) and return every item it completes, in order.

        After ``EndOfInput`` or ``Interrupted`` has been returned, further data is ignored.
        """
        if self._ended:
            return []
        out: list[Input] = []
        if not data:
            self._ended = True
            if self._partial:
                out.extend(self._decode(self._partial))
            self._partial = b""
            out.append(EndOfInput())
            return out
        interrupted = False
        if self.telnet and (self._telnet != _DATA or _IAC in data):
            data, interrupted = self._strip_telnet(data)
        if self._partial:
            data = self._partial + data
            self._partial = b""
        last_newline = data.rfind(b"\n")
        if last_newline >= 0:
            complete, data = data[:last_newline], data[last_newline + 1 :]
            if self._discarding:
                # Up to the first newline is the tail of a too-long line, already reported.
                self._discarding = False
                _, newline, complete = complete.partition(b"\n")
                if newline:
                    out.extend(self._decode(complete))
            else:
                out.extend(self._decode(complete))
        if interrupted:
            self._ended = True
            out.append(Interrupted())
        elif not self._discarding:
            if self._too_long(data):
                self._discarding = True
                out.append(TooLong(self.max_line))
            else:
                self._partial = data
        return out

    def _too_long(self, line: bytes | bytearray) -> bool:
        limit = self.max_line
        return len(line) > limit and not (len(line) == limit + 1 and line.endswith(b"\r"))

    def _decode(self, complete: bytes | bytearray) -> list[Input]:
        """Decode complete lines (``complete`` holds no final newline)."""
        parts = complete.split(b"\n")
        if max(map(len, parts)) <= self.max_line and not (self.strict and not _utf8(complete)):
            # The common case: one decode and one sanitising pass for the whole chunk.
            return list[Input](self._text(complete).split("\n"))  # list[str] is no list[Input]
        out: list[Input] = []
        for part in parts:
            if self._too_long(part):
                out.append(TooLong(self.max_line))
            elif self.strict and not _utf8(part):
                out.append(NotUtf8(self._text(part)))
            else:
                out.append(self._text(part))
        return out

    def _strip_telnet(self, data: bytes | bytearray) -> tuple[bytes, bool]:
        """Remove telnet commands; return the plain data and whether IAC IP was seen."""
        kept = bytearray()
        state = self._telnet
        i, n = 0, len(data)
        while i < n:
            if state == _DATA:
                j = data.find(_IAC, i)
                if j < 0:
                    kept += data[i:]
                    break
                kept += data[i:j]
                state, i = _COMMAND, j + 1
                continue
            byte = data[i]
            i += 1
            if state == _COMMAND:
                if byte == _IAC:  # an escaped 0xFF data byte (invalid UTF-8: shown as U+FFFD)
                    kept.append(_IAC)
                    state = _DATA
                elif byte < _COMMANDS_FROM:  # not telnet: a stray 0xFF eats nothing
                    kept += bytes((_IAC, byte))
                    state = _DATA
                elif byte in _INTERRUPTS:
                    self._telnet = _DATA
                    return bytes(kept), True
                elif _WILL <= byte <= _DONT:
                    state = _OPTION
                elif byte == _SB:
                    state = _SUBNEG
                else:  # NOP, GA, AYT, BRK, ...: a two-byte command with no meaning for us
                    state = _DATA
            elif state == _OPTION:
                state = _DATA
            elif state == _SUBNEG:  # dropped, never buffered: memory stays bounded
                if byte == _IAC:
                    state = _SUBNEG_IAC
            else:  # _SUBNEG_IAC
                state = _DATA if byte == _SE else _SUBNEG
        self._telnet = state
        return bytes(kept), False


def _utf8(raw: bytes | bytearray) -> bool:
    """``raw`` is valid UTF-8 (ASCII, the common case, is checked without decoding)."""
    if raw.isascii():
        return True
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _to_raw_text(raw: bytes | bytearray) -> str:
    text = raw.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").removesuffix("\r")
    return text


def _to_text(raw: bytes | bytearray) -> str:
    return clean(_to_raw_text(raw))
