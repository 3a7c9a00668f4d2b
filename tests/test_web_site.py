"""The web door's HTTP side, sans-I/O: files, errors, security headers, the upgrade."""

from __future__ import annotations

import attrs
import h11
import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request

from chat_trio.doors.web.door import WebDoor
from chat_trio.doors.web.site import MAX_HEAD, Action, Asked, Site, Upgraded, refusal

SITE = Site()


@attrs.frozen
class Reply:
    """A response as the client read it."""

    status_code: int
    headers: dict[str, str]
    body: bytes


def responses(data: bytes, site: Site = SITE) -> list[Reply | Upgraded]:
    """Feed ``data``; return each response (parsed as a client would) or the upgrade."""
    exchange = site.exchange()
    exchange.receive_data(data)
    client = h11.Connection(h11.CLIENT)
    out: list[Reply | Upgraded] = []
    for _ in range(10):
        action = exchange.next_action()
        if isinstance(action, Upgraded):
            out.append(action)
            break
        if action is Action.NEED_DATA or action is Action.CLOSE:
            break
        assert isinstance(action, bytes)
        out.extend(_parse(client, action))
    return out


def reply(data: bytes, site: Site = SITE) -> Reply:
    """The one response to ``data``."""
    (response,) = responses(data, site)
    assert isinstance(response, Reply), response
    return response


def _parse(client: h11.Connection, data: bytes) -> list[Reply]:
    # The client side needs a request to pair each response with.
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    head = client.next_event()
    assert isinstance(head, h11.Response)
    body = b""
    while isinstance(event := client.next_event(), h11.Data):
        body += event.data
    assert isinstance(event, h11.EndOfMessage)
    if client.our_state is h11.DONE and client.their_state is h11.DONE:
        client.start_next_cycle()
    headers = {name.decode(): value.decode() for name, value in head.headers}
    return [Reply(head.status_code, headers, body)]


def header(response: Reply | Upgraded, name: str) -> str:
    assert isinstance(response, Reply)
    return response.headers[name.lower()]


def test_web_site_serves_the_page_and_its_files_with_security_headers() -> None:
    wanted = {
        "/": "text/html; charset=utf-8",
        "/app.js": "text/javascript; charset=utf-8",
        "/app.css": "text/css; charset=utf-8",
        "/favicon.svg": "image/svg+xml",
    }
    for path, kind in wanted.items():
        (response,) = responses(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8081\r\n\r\n".encode())
        assert isinstance(response, Reply)
        assert response.status_code == 200
        assert header(response, "content-type") == kind
        csp = header(response, "content-security-policy")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert header(response, "x-content-type-options") == "nosniff"
        assert header(response, "referrer-policy") == "no-referrer"
    page = reply(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b'<script src="/app.js" defer></script>' in page.body
    assert b"<script>" not in page.body


def test_web_site_keeps_the_connection_for_the_next_request() -> None:
    two = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /app.css HTTP/1.1\r\nHost: x\r\n\r\n"
    assert [r.status_code for r in responses(two) if isinstance(r, Reply)] == [200, 200]


def test_web_site_head_has_no_body() -> None:
    exchange = SITE.exchange()
    exchange.receive_data(b"HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n")
    action = exchange.next_action()
    assert isinstance(action, bytes)
    head, _, body = action.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: " in head
    assert body == b""


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"GET /../app.js HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", 405),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 needs a Host
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * MAX_HEAD + b"\r\n\r\n", 431),
        (b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # not an upgrade
    ],
)
def test_web_site_answers_bad_requests_plainly_and_closes(
    request_bytes: bytes, status: int
) -> None:
    exchange = SITE.exchange()
    exchange.receive_data(request_bytes)
    action = exchange.next_action()
    assert isinstance(action, bytes)
    assert action.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Traceback" not in action
    assert b"Connection: close" in action or b"connection: close" in action
    assert exchange.next_action() is Action.CLOSE


def upgrade_request(
    origin: str | None = "http://127.0.0.1:8081", host: str = "127.0.0.1:8081"
) -> bytes:
    client = WSConnection(ConnectionType.CLIENT)
    extra = [(b"Origin", origin.encode())] if origin is not None else []
    return client.send(Request(host=host, target="/ws", extra_headers=extra))


def test_web_site_upgrades_the_pages_own_origin() -> None:
    client = WSConnection(ConnectionType.CLIENT)
    origin = [(b"Origin", b"http://127.0.0.1:8081")]
    (upgraded,) = responses(client.send(Request("127.0.0.1:8081", "/ws", extra_headers=origin)))
    assert isinstance(upgraded, Upgraded)
    assert upgraded.response.startswith(b"HTTP/1.1 101 ")
    assert isinstance(upgraded.door, WebDoor)
    client.receive_data(upgraded.response)  # a real client takes the answer
    assert isinstance(next(client.events()), AcceptConnection)


def test_web_site_upgrades_in_every_split_of_the_request() -> None:
    data = upgrade_request() + b"\x81"  # and the first byte of a frame after it
    for cut in range(len(data) + 1):
        exchange = SITE.exchange()
        results = []
        for piece in (data[:cut], data[cut:]):
            if piece:
                exchange.receive_data(piece)
            action = exchange.next_action()
            results.append(action)
            if isinstance(action, Upgraded):
                break
        assert any(isinstance(r, Upgraded) for r in results), cut


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1:8081.evil.example", "null", "http://127.0.0.1:9999"],
)
def test_web_site_refuses_other_origins(origin: str) -> None:
    assert reply(upgrade_request(origin)).status_code == 403


def test_web_site_allows_the_origins_it_is_told_and_clients_without_one() -> None:
    allowed = Site(origins=frozenset({"https://chat.example"}))
    assert isinstance(responses(upgrade_request("https://chat.example"), allowed)[0], Upgraded)
    assert isinstance(responses(upgrade_request(None))[0], Upgraded)  # not a browser
    anyone = Site(origins=frozenset({"*"}))
    assert isinstance(responses(upgrade_request("https://evil.example"), anyone)[0], Upgraded)
    secure = Site(secure=True)
    assert isinstance(responses(upgrade_request("https://127.0.0.1:8081"), secure)[0], Upgraded)
    assert reply(upgrade_request("http://127.0.0.1:8081"), secure).status_code == 403
    for own in ("localhost:8081", "[::1]:8081", "192.0.2.7:8081"):
        request = upgrade_request(f"http://{own}", host=own)
        assert isinstance(responses(request)[0], Upgraded), own
    named = Site(names=frozenset({"chat.example.org"}))
    request = upgrade_request("http://chat.example.org:8081", host="chat.example.org:8081")
    assert isinstance(responses(request, named)[0], Upgraded)


def test_web_site_refuses_a_page_whose_name_only_points_here() -> None:
    """Issue 16, hole 7: DNS rebinding. evil.example's page, its name pointed at this
    server, sends Host and Origin both evil.example: the Origin check trusted the Host."""
    request = upgrade_request("http://evil.example:8081", host="evil.example:8081")
    assert reply(request).status_code == 403
    assert reply(request, Site(names=frozenset({"chat.example.org"}))).status_code == 403


def test_web_site_refuses_a_broken_upgrade() -> None:
    broken = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"  # no key
    )
    assert reply(broken).status_code == 400


def test_web_site_refusal_is_a_whole_503() -> None:
    client = h11.Connection(h11.CLIENT)
    (response,) = _parse(client, refusal("The server is full, try again later."))
    assert response.status_code == 503
    assert response.body == b"503 The server is full, try again later.\n"


@given(st.lists(st.binary(max_size=300), max_size=6))
def test_web_site_any_bytes_get_an_answer_or_a_close_never_an_exception(
    pieces: list[bytes],
) -> None:
    exchange = SITE.exchange()
    for piece in [*pieces, b""]:
        exchange.receive_data(piece)
        for _ in range(20):
            action = exchange.next_action()
            if action is Action.NEED_DATA or action is Action.CLOSE:
                break
            if isinstance(action, Upgraded):
                return
            assert isinstance(action, bytes) and action.startswith(b"HTTP/1.1 ")
        if action is Action.CLOSE:
            return


@given(
    st.sampled_from([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", upgrade_request()]),
    st.binary(max_size=200),
)
def test_web_site_garbage_after_a_request_is_no_exception(
    request_bytes: bytes, tail: bytes
) -> None:
    exchange = SITE.exchange()
    exchange.receive_data(request_bytes + tail)
    for _ in range(20):
        action = exchange.next_action()
        if not isinstance(action, bytes):
            break


OPERATOR = Site(files={}, routes=frozenset({"/metrics", "/readyz"}), chat=False)


def test_web_site_routes_are_asked_of_the_runner_and_answered_in_turn() -> None:
    exchange = OPERATOR.exchange()
    exchange.receive_data(
        b"GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    asked = exchange.next_action()
    assert asked == Asked("/metrics", head=False)
    assert isinstance(asked, Asked)
    client = h11.Connection(h11.CLIENT)
    (first,) = _parse(client, exchange.answer(asked, 200, b"up 1\n", "text/plain"))
    assert (first.status_code, first.body) == (200, b"up 1\n")
    assert first.headers["x-frame-options"] == "DENY"  # the same headers as every response
    head = exchange.next_action()
    assert head == Asked("/readyz", head=True)
    assert isinstance(head, Asked)
    response = exchange.answer(head, 503, b"database: FAILED\n", "text/plain")
    assert response.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert response.endswith(b"\r\n\r\n")  # HEAD: no body
    assert exchange.next_action() is Action.NEED_DATA


def test_web_site_without_the_chat_has_no_way_into_it() -> None:
    client = WSConnection(ConnectionType.CLIENT)
    upgrade = client.send(Request("127.0.0.1:9464", "/ws"))
    assert reply(upgrade, OPERATOR).status_code == 404
    assert reply(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", OPERATOR).status_code == 404
    assert reply(b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", OPERATOR).status_code == 405
    # The page's site does not answer the operator's paths.
    assert reply(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").status_code == 404


def test_web_site_a_routed_request_brings_its_credentials_to_the_runner() -> None:
    """The operator's ``/tasks`` decides who may read it from the Authorization header."""
    exchange = OPERATOR.exchange()
    exchange.receive_data(
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Ym9zczpwdw==\r\n\r\n"
    )
    assert exchange.next_action() == Asked("/metrics", False, "Basic Ym9zczpwdw==")
