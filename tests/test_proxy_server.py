"""The PROXY header's I/O adapter (transports/proxy.py) on the virtual clock, and the
server behind a trusted proxy (entrances.py, server.py) on real sockets on 127.0.0.1:
the test plays the proxy (127.0.0.1, trusted) and its clients (127.0.0.2, not)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import pytest
import trio
import trio.testing

from chat_trio.chat.limits import Limits
from chat_trio.config import Config
from chat_trio.doors.proxy import Header, Source
from chat_trio.transports.proxy import HEADER_TIMEOUT, read_header
from tests.conftest import LineClient, serving, tls_config
from tests.test_proxy import tcp4

CONFIG = Config(
    host="127.0.0.1", port=0, web_port=None, db=None,
    trusted_proxies=frozenset({ipaddress.ip_network("127.0.0.1")}),
)  # fmt: skip


async def test_proxy_server_a_trusted_peer_gets_exactly_the_deadline_to_send_its_header(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    client, server = trio.testing.memory_stream_pair()
    start = trio.current_time()
    await client.send_all(tcp4("203.0.113.7", 1)[:10])  # and then nothing
    assert await read_header(server, "127.0.0.1:5000") is None
    assert trio.current_time() - start == HEADER_TIMEOUT
    assert "proxy-header-refused peer=127.0.0.1:5000 problem=timeout" in caplog.text


async def test_proxy_server_the_adapter_reads_the_header_and_not_a_byte_more() -> None:
    client, server = trio.testing.memory_stream_pair()
    await client.send_all(tcp4("203.0.113.7", 4711) + b"NICK alice\r\n")
    assert await read_header(server, "-") == Header(Source("203.0.113.7", 4711), local=False)
    assert await server.receive_some(100) == b"NICK alice\r\n"


@asynccontextmanager
async def text_door(config: Config = CONFIG) -> AsyncIterator[int]:
    async with serving(config) as (addresses, _):
        yield addresses[0].port


@asynccontextmanager
async def connected(port: int, source: str = "127.0.0.1") -> AsyncIterator[LineClient]:
    stream: trio.abc.Stream = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
    async with stream:
        yield LineClient(stream)


async def test_proxy_server_the_header_names_the_client_for_the_log_and_the_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    limits = Limits(max_per_address=1, exempt_loopback=False)
    with trio.fail_after(10):
        async with (
            text_door(attrs.evolve(CONFIG, limits=limits)) as port,
            connected(port) as alice,
            connected(port) as again,
        ):
            await alice.stream.send_all(tcp4("203.0.113.7", 4711))
            await alice.register("Alice")
            await again.stream.send_all(tcp4("203.0.113.7", 4712))
            assert (await again.read_to_eof()).startswith(
                "Too many connections from your address (at most 1)"
            )
            async with connected(port) as bob:  # the same proxy, another client
                await bob.stream.send_all(tcp4("198.51.100.8", 4713))
                await bob.register("Bob")
    assert "proxied peer=203.0.113.7:4711 proxy=127.0.0.1:" in caplog.text
    assert "connect conn=" in caplog.text and " peer=203.0.113.7:4711 door=" in caplog.text
    assert "refused peer=203.0.113.7:4712 reason=too-many-from-address" in caplog.text


async def test_proxy_server_garbage_from_a_trusted_peer_is_logged_and_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with trio.fail_after(10):
        async with text_door() as port, connected(port) as confused:
            await confused.stream.send_all(b"PROXY TCP4 203.0.113.7 127.0.0.1 1 2\r\n")
            with pytest.raises(trio.BrokenResourceError):  # reset: its bytes were unread
                await confused.read_to_eof()
            assert confused.buffer == b""  # nothing of the chat was said
    assert "problem=proxy-protocol-v1 why='PROXY protocol v1 (text) is not accepted" in (
        caplog.text
    )


async def test_proxy_server_a_header_from_an_untrusted_peer_is_just_bytes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with trio.fail_after(10):
        async with text_door() as port, connected(port, "127.0.0.2") as spoofer:
            await spoofer.expect("Enter your username: ")  # greeted at once: no header awaited
            await spoofer.stream.send_all(tcp4("203.0.113.7", 4711))
            await spoofer.register("Mallory")
    assert "203.0.113.7" not in caplog.text
    assert "proxied" not in caplog.text
    assert " peer=127.0.0.2:" in caplog.text


async def test_proxy_server_the_header_comes_before_the_tls_handshake(tmp_path: Path) -> None:
    config, context = tls_config(CONFIG, tmp_path, tls_port=0, plain=False)
    with trio.fail_after(10):
        async with serving(config) as (addresses, _), connected(addresses[0].port) as raw:
            await raw.stream.send_all(tcp4("203.0.113.7", 4711))
            assert isinstance(raw.stream, trio.SocketStream)
            secure = trio.SSLStream(raw.stream, context, server_hostname="127.0.0.1")
            client = LineClient(secure)
            await client.register("Alice")
            await secure.aclose()


async def test_proxy_server_web_behind_a_proxy_is_admitted_at_the_upgrade() -> None:
    config = attrs.evolve(
        CONFIG, web_port=0, limits=Limits(max_per_address=1, exempt_loopback=False)
    )
    upgrade = (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    with trio.fail_after(10):
        async with serving(config) as (addresses, _):
            web = addresses[1].port
            # the proxy's page requests are nobody's: three at once, under a limit of one
            async with connected(web) as a, connected(web) as b, connected(web) as c:
                for page in (a, b, c):
                    await page.stream.send_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    await page.expect("200 OK")
                async with connected(web) as alice, connected(web) as again:
                    await alice.stream.send_all(upgrade + b"X-Forwarded-For: 203.0.113.7\r\n\r\n")
                    await alice.expect("101 Switching Protocols")
                    await again.stream.send_all(upgrade + b"X-Forwarded-For: 203.0.113.7\r\n\r\n")
                    refused = await again.read_to_eof()
                    assert refused.startswith("HTTP/1.1 503 Service Unavailable\r\n")
                    assert refused.endswith(
                        "Too many connections from your address (at most 1), try later.\n"
                    )
            async with connected(web) as forged:
                await forged.stream.send_all(
                    upgrade + b"X-Forwarded-For: 203.0.113.9\r\nForwarded: for=1.2.3.4\r\n\r\n"
                )
                answer = await forged.read_to_eof()
                assert answer.startswith("HTTP/1.1 400 Bad Request\r\n")
                assert answer.endswith("400 The proxy did not say who you are.\n")
