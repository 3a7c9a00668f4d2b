"""Behind a proxy: whose word on a client's address is taken (``Trusted``), and the PROXY
protocol v2 header that a proxy such as haproxy (``send-proxy-v2``) puts before the
client's own bytes on the text and IRC doors (``HeaderReader``). Sans-I/O.

Rules:

1. Only a peer in ``--trusted-proxy`` speaks for a client; from any other peer the
   socket's address is the client's, and whatever it sends is its own bytes.
2. From a trusted peer the header is required (the I/O adapter gives it a deadline). The
   text door speaks first ("Enter your username: "): were the header optional, every
   connection would have to wait to see whether one comes. And a proxy that forgot
   ``send-proxy-v2`` would make every client look like the proxy, sharing its limits
   and its bans; refusing says at once what is wrong.
3. ``PROXY`` over TCP4 or TCP6 gives the client's address and port. ``LOCAL`` (the
   proxy's own health checks) and ``PROXY`` with an unspecified family mean "use the
   connection's own addresses", as the specification says.
4. Anything else is refused with a reason (``Problem``): not a v2 header (v1's text form
   is named as such), another version or command, UDP or UNIX addresses (no IP address
   to limit or ban), a length shorter than its addresses or longer than
   ``MAX_LENGTH``, or the end of the stream first.

Bounded: at most 16 + ``MAX_LENGTH`` bytes are ever held, and ``wanted`` says how many
bytes complete the header, so the adapter never reads a byte of the client's own.
The specification: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import enum
import ipaddress

import attrs

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
"""The twelve bytes every v2 header starts with (chosen to be invalid in any text protocol)."""

FIXED = 16  #: signature, version and command, family, length
MAX_LENGTH = 4096
"""Bytes after the fixed part that we accept. Addresses take at most 216 (two UNIX
paths); haproxy's optional TLVs (ALPN, authority, unique id, TLS details) stay well under
1 KiB. A longer header is not one a proxy we trust sends, and would only hold memory."""

_V1 = b"PROXY "  #: how the text form (v1) begins
_ADDRESS_SIZES = {0x11: 12, 0x21: 36}  #: TCP over IPv4, over IPv6: addresses and ports


class Problem(enum.Enum):
    """Why a header is refused (the adapter logs it and closes the connection)."""

    NOT_PROXY = "not-a-proxy-header"
    VERSION_1 = "proxy-protocol-v1"
    VERSION = "unknown-version"
    COMMAND = "unknown-command"
    FAMILY = "not-tcp-over-ip"
    TOO_LONG = "too-long"
    TOO_SHORT = "too-short-for-its-addresses"
    CLOSED = "closed-before-the-header-ended"


_SAID = {
    Problem.NOT_PROXY: "does not start with the PROXY protocol v2 signature",
    Problem.VERSION_1: "PROXY protocol v1 (text) is not accepted: have the proxy send v2 "
    "(haproxy: send-proxy-v2)",
    Problem.VERSION: "version {} is not 2",
    Problem.COMMAND: "command {} is neither LOCAL (0) nor PROXY (1)",
    Problem.FAMILY: "family/protocol byte 0x{:02x}: only TCP over IPv4 or IPv6 is served",
    Problem.TOO_LONG: f"{{}} bytes of addresses and extensions (at most {MAX_LENGTH})",
    Problem.TOO_SHORT: "{} bytes cannot hold the addresses of its family",
    Problem.CLOSED: "the connection ended after {} bytes of the header",
}


class BadHeader(ValueError):
    """A header that is refused: ``problem``, and what was wrong in words."""

    def __init__(self, problem: Problem, *detail: object) -> None:
        super().__init__(_SAID[problem].format(*detail))
        self.problem = problem


@attrs.frozen
class Source:
    """Where a connection comes from."""

    host: str  #: the IP address, as ``ipaddress`` writes it (IPv4 for IPv4-mapped IPv6)
    port: int | None = None  #: None where nobody said (X-Forwarded-For carries none)


@attrs.frozen
class Header:
    """A whole PROXY header."""

    source: Source | None  #: the client; None: the connection's own peer (LOCAL, UNSPEC)
    local: bool  #: the LOCAL command (the proxy's own connection, a health check)


class NeedData(enum.Enum):
    NEED_DATA = "need-data"


NEED_DATA = NeedData.NEED_DATA


def ip(text: str) -> str | None:
    """``text`` as ``ipaddress`` writes an address (IPv4-mapped IPv6 as IPv4), so that a
    ban on 192.0.2.7 matches however a proxy wrote it; None if it is not one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@attrs.frozen
class Trusted:
    """The proxies whose word on a client's address is taken (``--trusted-proxy``)."""

    networks: frozenset[Network] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str) -> bool:
        """Is ``host`` (an IP address; anything else is not trusted) one of them?"""
        if not self.networks:  # the usual case, asked for every connection: no parsing
            return False
        normal = ip(host)
        if normal is None:
            return False
        address = ipaddress.ip_address(normal)
        return any(address in network for network in self.networks)


class HeaderReader:
    """Reads one PROXY v2 header (see the module docstring). Feed it with
    ``receive_data`` (``b""``: the stream ended) and ask ``next_event``."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._closed = False
        self.trailing = b""  #: bytes received after the header (the client's own)

    @property
    def wanted(self) -> int:
        """Bytes that would complete the header (or its fixed part), never more: read
        at most this many and nothing of the client's is read with it."""
        if len(self._buffer) < FIXED:
            return FIXED - len(self._buffer)
        return max(FIXED + self._length() - len(self._buffer), 0)

    def receive_data(self, data: bytes) -> None:
        if not data:
            self._closed = True
        self._buffer += data

    def next_event(self) -> Header | NeedData:
        """The header once it is whole, else ``NEED_DATA``.

        Raises:
          BadHeader: as soon as the bytes so far cannot begin a header we take.
        """
        buffer = bytes(self._buffer[:FIXED])
        self._check_start(buffer)
        if len(buffer) == FIXED:
            length = self._length()
            if length > MAX_LENGTH:
                raise BadHeader(Problem.TOO_LONG, length)
            if len(self._buffer) >= FIXED + length:
                return self._header(buffer[12], buffer[13], length)
        if self._closed:
            raise BadHeader(Problem.CLOSED, len(self._buffer))
        return NEED_DATA

    def _check_start(self, start: bytes) -> None:
        signature = start[: len(SIGNATURE)]
        if signature != SIGNATURE[: len(signature)]:
            if _V1.startswith(start[: len(_V1)]):
                if len(start) >= len(_V1):
                    raise BadHeader(Problem.VERSION_1)
            else:
                raise BadHeader(Problem.NOT_PROXY)
        if len(start) > 12 and start[12] >> 4 != 2:
            raise BadHeader(Problem.VERSION, start[12] >> 4)
        if len(start) > 12 and start[12] & 0x0F > 1:
            raise BadHeader(Problem.COMMAND, start[12] & 0x0F)

    def _length(self) -> int:
        return int.from_bytes(self._buffer[14:16], "big")

    def _header(self, command: int, family: int, length: int) -> Header:
        block = bytes(self._buffer[FIXED : FIXED + length])
        self.trailing = bytes(self._buffer[FIXED + length :])
        del self._buffer[:]
        if command & 0x0F == 0:  # LOCAL: the address block is ignored, whatever it says
            return Header(None, local=True)
        if family == 0x00:  # UNSPEC: the proxy does not know either
            return Header(None, local=False)
        size = _ADDRESS_SIZES.get(family)
        if size is None:
            raise BadHeader(Problem.FAMILY, family)
        if length < size:
            raise BadHeader(Problem.TOO_SHORT, length)
        half = (size - 4) // 2  # the source address, then the destination
        host = ip(str(ipaddress.ip_address(block[:half])))
        assert host is not None  # 4 or 16 bytes are always an address
        port = int.from_bytes(block[2 * half : 2 * half + 2], "big")
        return Header(Source(host, port), local=False)
