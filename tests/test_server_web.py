"""The web door in the server: HTTP and WebSocket on a real socket on 127.0.0.1 (port 0),
beside the text door, and the HTTP adapter's deadlines over memory streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from chat_trio.chat.limits import Limits
from chat_trio.chat.world import Rules
from chat_trio.config import Config
from chat_trio.doors.irc.render import IrcSettings
from chat_trio.doors.web.site import Action, Exchange, Site
from chat_trio.transports.http import REQUEST_TIMEOUT, serve_pages
from tests.conftest import LineClient, serving, tls_config
from tests.test_server_irc import IrcClient

CONFIG = Config(host="127.0.0.1", port=0, web_port=0, db=None, rules=Rules(flood_rate=0))


class WebClient:
    """A minimal WebSocket client over a trio stream (what the page's script does)."""

    def __init__(self, stream: trio.abc.Stream, host: str) -> None:
        self.stream = stream
        self.host = host
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: list[dict[str, Any]] = []
        self.closed: CloseConnection | None = None

    async def open(self, origin: str | None = None) -> None:
        extra = [(b"Origin", (origin or f"http://{self.host}").encode())]
        await self.stream.send_all(self.ws.send(Request(self.host, "/ws", extra_headers=extra)))
        while not any(isinstance(e, AcceptConnection) for e in await self._read()):
            pass

    async def send(self, **obj: Any) -> None:
        await self.stream.send_all(self.ws.send(TextMessage(json.dumps(obj))))

    async def _read(self) -> list[object]:
        data = await self.stream.receive_some(65536)
        self.ws.receive_data(bytes(data) or None)
        found: list[object] = list(self.ws.events())
        for event in found:
            if isinstance(event, TextMessage):
                self.events.extend(json.loads(event.data))
            elif isinstance(event, CloseConnection):
                self.closed = event
        return found

    async def expect(self, **wanted: Any) -> dict[str, Any]:
        """Read until an event with these fields arrives; return it (and forget those before)."""
        with trio.fail_after(5):
            while True:
                for n, event in enumerate(self.events):
                    if wanted.items() <= event.items():
                        del self.events[: n + 1]
                        return event
                if self.closed is not None:
                    raise EOFError(f"closed {self.closed} before {wanted}; got {self.events}")
                await self._read()

    async def wait_closed(self) -> CloseConnection:
        with trio.fail_after(5):
            while self.closed is None:
                await self._read()
        return self.closed


@asynccontextmanager
async def web_and_text(config: Config = CONFIG) -> AsyncIterator[tuple[int, int, trio.Event]]:
    async with serving(config) as (addresses, stop):
        ports = {a.label: a.port for a in addresses}
        yield ports["text"], ports["web"], stop


async def http(port: int, request: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        received = b""
        with trio.fail_after(5):
            while data := await stream.receive_some(65536):
                received += data
    return received


async def test_server_web_browser_and_nc_users_chat_both_ways() -> None:
    async with (
        web_and_text() as (text_port, web_port, _),
        await trio.open_tcp_stream("127.0.0.1", text_port) as a,
        await trio.open_tcp_stream("127.0.0.1", web_port) as c,
    ):
        alice, carol = LineClient(a), WebClient(c, f"127.0.0.1:{web_port}")
        await alice.register("Alice")
        await carol.open()
        await carol.expect(type="ask-name")
        await carol.send(type="choose-name", name="Carol")
        await carol.expect(type="users", room="#lobby", names=["Alice", "Carol"])
        await alice.expect("* Carol joined the chat\r\n")
        await alice.send("hi Carol")
        await carol.expect(type="said", room="#lobby", name="Alice", text="hi Carol")
        await carol.send(type="say", room="#lobby", text="<img src=x onerror=alert(1)>")
        await carol.expect(type="said", own=True)
        await alice.expect("Carol: <img src=x onerror=alert(1)>\r\n")
        await carol.send(type="command", line="/quit", room="#lobby")
        await carol.expect(type="goodbye")
        assert (await carol.wait_closed()).code == 1000
        await alice.expect("* Carol left the chat\r\n")


async def test_server_web_serves_the_page_and_404s_the_rest() -> None:
    async with web_and_text() as (_, web_port, _):
        page = await http(web_port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert page.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Security-Policy: default-src 'self'" in page
        assert b'aria-label="Message"' in page
        missing = await http(web_port, b"GET /secret HTTP/1.1\r\nHost: x\r\n\r\n")
        assert missing.startswith(b"HTTP/1.1 404 Not Found\r\n")
        bad = await http(web_port, b"\x16\x03\x01 not http\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert b"Traceback" not in bad


async def test_server_web_refuses_another_sites_page() -> None:
    async with (
        web_and_text() as (_, web_port, _),
        await trio.open_tcp_stream("127.0.0.1", web_port) as stream,
    ):
        client = WSConnection(ConnectionType.CLIENT)
        evil = [(b"Origin", b"https://evil.example")]
        await stream.send_all(
            client.send(Request(f"127.0.0.1:{web_port}", "/ws", extra_headers=evil))
        )
        with trio.fail_after(5):
            answer = await stream.receive_some(65536)
        assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")


async def test_server_web_shutdown_says_so_and_closes_going_away() -> None:
    async with (
        web_and_text() as (_, web_port, stop),
        await trio.open_tcp_stream("127.0.0.1", web_port) as c,
    ):
        carol = WebClient(c, f"127.0.0.1:{web_port}")
        await carol.open()
        await carol.send(type="choose-name", name="Carol")
        await carol.expect(type="welcome")
        stop.set()
        shutdown = await carol.expect(type="disconnected")
        assert shutdown["message"] == "Server is shutting down. Goodbye!"
        closed = await carol.wait_closed()
        assert (closed.code, closed.reason) == (1001, "server shutting down")


async def test_server_web_admission_refusal_is_a_503() -> None:
    config = attrs.evolve(CONFIG, limits=Limits(max_clients=0))
    async with web_and_text(config) as (_, web_port, _):
        answer = await http(web_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert answer.endswith(b"\r\n\r\n503 Server full, try later.\n")


async def test_server_web_over_tls(tmp_path: Path) -> None:
    config, context = tls_config(CONFIG, tmp_path, tls_port=0, web_tls_port=0)
    async with serving(config) as (addresses, _):
        assert [a.label for a in addresses] == ["text", "text, TLS", "web", "web, TLS"]
        port = addresses[3].port
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        secure = trio.SSLStream(stream, context, server_hostname="127.0.0.1")
        async with secure:
            carol = WebClient(secure, f"127.0.0.1:{port}")
            await carol.open(origin=f"https://127.0.0.1:{port}")
            await carol.send(type="choose-name", name="Carol")
            await carol.expect(type="welcome", name="Carol")


# -- the adapter's deadlines, on memory streams and virtual time ---------------------------


async def test_server_web_a_silent_connection_is_closed_after_the_request_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = trio.testing.memory_stream_pair()
    start = trio.current_time()
    door = await serve_pages(server, Site().exchange(), write_timeout=10)
    assert door is None
    assert trio.current_time() - start == REQUEST_TIMEOUT
    await client.aclose()


async def test_server_web_a_trickled_request_gets_the_same_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = trio.testing.memory_stream_pair()
    start = trio.current_time()

    async def slowloris() -> None:
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\n":
            await client.send_all(bytes([byte]))
            await trio.sleep(1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slowloris)
        assert await serve_pages(server, Site().exchange(), write_timeout=10) is None
        nursery.cancel_scope.cancel()
    assert trio.current_time() - start == REQUEST_TIMEOUT


async def test_server_web_a_client_that_stops_reading_is_not_waited_for(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = trio.testing.lockstep_stream_pair()  # no buffer: nothing is read
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.send_all, b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await serve_pages(server, Site().exchange(), write_timeout=3) is None
    assert trio.current_time() - start == 3


async def per_read_timeout(stream: trio.abc.Stream, exchange: Exchange) -> None:
    """The tempting adapter (docs/web.md): a timeout on each read instead of a deadline
    on the request. Each byte restarts the clock."""
    while exchange.next_action() is Action.NEED_DATA:
        with trio.move_on_after(REQUEST_TIMEOUT) as waited:
            exchange.receive_data(bytes(await stream.receive_some(4096)))
        if waited.cancelled_caught:
            return


async def test_server_web_a_timeout_per_read_does_not_bound_a_trickle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = trio.testing.memory_stream_pair()

    async def slowloris() -> None:
        for _ in range(100):  # one header byte every 9 s, for 15 minutes
            await client.send_all(b"X")
            await trio.sleep(9)

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(slowloris)
        with trio.move_on_after(600):  # still held after ten minutes
            await per_read_timeout(server, Site().exchange())
        nursery.cancel_scope.cancel()
    assert trio.current_time() - start == 600


@asynccontextmanager
async def three_doors(config: Config) -> AsyncIterator[tuple[LineClient, IrcClient, WebClient]]:
    """A server with ``config``'s text, IRC and web doors, and a client connected to each
    (none has chosen a name yet): Alice's on nc, Bob's on IRC, Carol's on the page."""
    async with serving(config) as (addresses, _):
        ports = {a.label: a.port for a in addresses}
        async with (
            await trio.open_tcp_stream("127.0.0.1", ports["text"]) as a,
            await trio.open_tcp_stream("127.0.0.1", ports["IRC"]) as b,
            await trio.open_tcp_stream("127.0.0.1", ports["web"]) as c,
        ):
            yield LineClient(a), IrcClient(b), WebClient(c, f"127.0.0.1:{ports['web']}")


async def test_server_web_an_nc_operator_bans_an_irc_user_and_a_web_user_sees_it() -> None:
    config = attrs.evolve(CONFIG, irc_port=0, irc=IrcSettings(server_name="irc.test"))
    with trio.fail_after(20):
        async with three_doors(config) as (alice, bob, carol):
            await alice.register("Alice")
            await alice.send("/join #rust")
            await alice.expect("* You joined #rust (1 user here).\r\n")
            await bob.register("Bob")
            await bob.send("JOIN #rust")
            await bob.expect(":irc.test 353 Bob = #rust :@Alice Bob\r\n")
            await carol.open()
            await carol.send(type="choose-name", name="Carol")
            await carol.send(type="join", room="#rust")
            await carol.expect(type="users", room="#rust")
            await alice.send("/ban #rust Bob trolling")
            await alice.expect("* Alice banned Bob from #rust: trolling.\r\n")
            await bob.expect(":Alice!Alice@chat-trio MODE #rust +b Bob!*@*\r\n")
            await bob.expect(":Alice!Alice@chat-trio KICK #rust Bob trolling\r\n")
            ban = await carol.expect(type="ban", room="#rust", on=True, by="Alice")
            assert ban["ban"]["shown"] == "Bob!*@*" and ban["ban"]["reason"] == "trolling"
            await carol.expect(type="kicked", room="#rust", name="Bob", reason="trolling")
            await bob.send("JOIN #rust")
            await bob.expect(":irc.test 474 Bob #rust :Cannot join channel (+b)\r\n")
            await bob.send("MODE #rust b")
            await bob.expect(" 367 Bob #rust Bob!*@* Alice ")
            await bob.expect(":irc.test 368 Bob #rust :End of channel ban list\r\n")
