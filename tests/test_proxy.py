"""The PROXY protocol v2 reader and the trusted-proxy list (doors/proxy.py), sans-I/O:
every input is fed whole, in every split in two, and a byte at a time, and must give the
same answer each way."""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest

from chat_trio.doors.proxy import (
    MAX_LENGTH,
    NEED_DATA,
    SIGNATURE,
    BadHeader,
    Header,
    HeaderReader,
    Problem,
    Source,
    Trusted,
)

LOCAL, PROXY = 0x20, 0x21
TCP4, TCP6, UDP4, UNIX, UNSPEC = 0x11, 0x21, 0x12, 0x31, 0x00


def v2(command: int, family: int, block: bytes, *, length: int | None = None) -> bytes:
    """A v2 header as a proxy writes it."""
    size = len(block) if length is None else length
    return SIGNATURE + bytes([command, family]) + struct.pack("!H", size) + block


def tcp4(source: str, port: int, tlvs: bytes = b"") -> bytes:
    block = (
        socket.inet_aton(source) + socket.inet_aton("192.0.2.1") + struct.pack("!HH", port, 8080)
    )
    return v2(PROXY, TCP4, block + tlvs)


def tcp6(source: str, port: int) -> bytes:
    block = socket.inet_pton(socket.AF_INET6, source) + socket.inet_pton(socket.AF_INET6, "::1")
    return v2(PROXY, TCP6, block + struct.pack("!HH", port, 6667))


def read(*pieces: bytes, end: bool = False) -> tuple[Header | None, str, bytes]:
    """Feed ``pieces`` one by one (then the end of the stream, if ``end``), asking after
    each as an adapter would; (the header or None, the refusal's problem and words or
    "", the bytes after the header: the reader's and those not fed yet)."""
    reader = HeaderReader()
    fed = [p for p in pieces if p] + ([b""] if end else [])
    try:
        for n, piece in enumerate(fed):
            reader.receive_data(piece)
            event = reader.next_event()
            if event is not NEED_DATA:
                assert isinstance(event, Header)
                return event, "", reader.trailing + b"".join(fed[n + 1 :])
    except BadHeader as exc:
        return None, f"{exc.problem.value}: {exc}", b""
    return None, "need-data", b""


def every_way(data: bytes, *, end: bool = False) -> tuple[Header | None, str, bytes]:
    """The answer for ``data`` (and then the end of the stream, if ``end``), checked to
    be the same whole, in every split in two, and a byte at a time."""
    whole = read(data, end=end)
    for cut in range(len(data) + 1):
        assert read(data[:cut], data[cut:], end=end) == whole, cut
    assert read(*(data[i : i + 1] for i in range(len(data))), end=end) == whole
    return whole


def test_proxy_tcp4_names_the_client_and_leaves_its_bytes_alone() -> None:
    header, problem, rest = every_way(tcp4("203.0.113.7", 51234) + b"NICK alice\r\n")
    assert (header, problem, rest) == (
        Header(Source("203.0.113.7", 51234), local=False),
        "",
        b"NICK alice\r\n",
    )


def test_proxy_tcp6_names_the_client() -> None:
    header, _, _ = every_way(tcp6("2001:db8::7", 4711))
    assert header == Header(Source("2001:db8::7", 4711), local=False)


def test_proxy_an_ipv4_mapped_ipv6_client_is_its_ipv4_address() -> None:
    header, _, _ = every_way(tcp6("::ffff:198.51.100.9", 4711))
    assert header == Header(Source("198.51.100.9", 4711), local=False)


def test_proxy_extensions_after_the_addresses_are_skipped() -> None:
    tlvs = b"\x01\x00\x02h2" + b"\x05\x00\x04abcd"  # ALPN, unique id
    header, _, rest = every_way(tcp4("198.51.100.2", 1000, tlvs) + b"hi")
    assert header == Header(Source("198.51.100.2", 1000), local=False)
    assert rest == b"hi"


def test_proxy_local_is_the_proxys_own_connection() -> None:
    assert every_way(v2(LOCAL, UNSPEC, b"")) == (Header(None, local=True), "", b"")
    # LOCAL ignores whatever address block comes with it
    assert every_way(v2(LOCAL, UDP4, b"x" * 12))[0] == Header(None, local=True)


def test_proxy_unspecified_family_means_the_connections_own_addresses() -> None:
    assert every_way(v2(PROXY, UNSPEC, b"")) == (Header(None, local=False), "", b"")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"NICK alice\r\n", "not-a-proxy-header: does not start with"),
        (b"\r\n\r\nGET / HTTP/1.1\r\n", "not-a-proxy-header: does not start with"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "proxy-protocol-v1: PROXY protocol v1 (text)"),
        (SIGNATURE + b"\x11\x11\x00\x0c", "unknown-version: version 1 is not 2"),
        (SIGNATURE + b"\x22\x11\x00\x0c", "unknown-command: command 2 is neither"),
        (v2(PROXY, UDP4, b"x" * 12), "not-tcp-over-ip: family/protocol byte 0x12"),
        (v2(PROXY, UNIX, b"x" * 216), "not-tcp-over-ip: family/protocol byte 0x31"),
        (v2(PROXY, TCP4, b"x" * 11), "too-short-for-its-addresses: 11 bytes"),
        (v2(PROXY, TCP6, b"x" * 12), "too-short-for-its-addresses: 12 bytes"),
        (v2(PROXY, TCP4, b"", length=65535), "too-long: 65535 bytes"),
    ],
)
def test_proxy_refuses_what_is_not_a_header_it_takes_with_the_reason(
    data: bytes, expected: str
) -> None:
    _, problem, _ = every_way(data)
    assert problem.startswith(expected), problem


def test_proxy_an_absurd_length_is_refused_before_its_bytes_are_awaited() -> None:
    reader = HeaderReader()
    reader.receive_data(v2(PROXY, TCP4, b"", length=MAX_LENGTH + 1))
    with pytest.raises(BadHeader) as refused:
        reader.next_event()  # at once: nothing of the 4097 bytes announced is waited for
    assert refused.value.problem is Problem.TOO_LONG
    reader = HeaderReader()
    reader.receive_data(v2(PROXY, TCP4, b"", length=MAX_LENGTH))
    assert reader.next_event() is NEED_DATA  # the longest taken is still waited for


def test_proxy_refuses_garbage_at_its_first_wrong_byte() -> None:
    reader = HeaderReader()
    reader.receive_data(SIGNATURE[:5] + b"X")
    with pytest.raises(BadHeader):  # no waiting for the 10 bytes that would fill 16
        reader.next_event()


def test_proxy_the_end_of_the_stream_before_the_header_is_refused() -> None:
    data = tcp4("203.0.113.7", 1)
    for cut in range(len(data)):
        assert every_way(data[:cut], end=True)[1] == (
            f"closed-before-the-header-ended: the connection ended after {cut} bytes of the header"
        )


def test_proxy_wanted_never_asks_for_a_byte_past_the_header() -> None:
    data = tcp4("203.0.113.7", 51234, b"\x05\x00\x03abc")
    reader, taken = HeaderReader(), 0
    while (event := reader.next_event()) is NEED_DATA:
        assert 0 < reader.wanted <= len(data) - taken
        wanted = reader.wanted
        reader.receive_data(data[taken : taken + wanted])
        taken += wanted
    assert taken == len(data)
    assert event == Header(Source("203.0.113.7", 51234), local=False)
    assert reader.trailing == b""


@pytest.mark.parametrize(
    ("networks", "host", "trusted"),
    [
        (["127.0.0.1/32"], "127.0.0.1", True),
        (["127.0.0.1/32"], "127.0.0.2", False),
        (["10.0.0.0/8", "::1/128"], "10.20.30.40", True),
        (["10.0.0.0/8", "::1/128"], "::1", True),
        (["10.0.0.0/8"], "::ffff:10.1.2.3", True),  # a dual-stack listener's IPv4 peer
        (["10.0.0.0/8"], "2001:db8::1", False),
        (["10.0.0.0/8"], "", False),
        (["10.0.0.0/8"], "not an address", False),
        ([], "127.0.0.1", False),
    ],
)
def test_proxy_trusted_is_the_listed_addresses_and_networks_only(
    networks: list[str], host: str, trusted: bool
) -> None:
    proxies = Trusted(frozenset(ipaddress.ip_network(n) for n in networks))
    assert proxies.trusts(host) is trusted
    assert bool(proxies) is bool(networks)
