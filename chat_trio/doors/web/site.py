"""HTTP for the web door (h11): the page's files, and the upgrade to a WebSocket.

``Exchange`` is one HTTP connection, sans-I/O: feed it bytes with ``receive_data``; ask
``next_action`` what to do (send bytes, read more, close, or run the WebSocket door it
made). The I/O adapter is transports/http.py.

Rules:

1. ``GET`` (or ``HEAD``) of ``/``, ``/app.js``, ``/app.css`` or ``/favicon.svg`` serves
   the file; other paths are 404, other methods 405, malformed requests 400 and a request
   head over ``MAX_HEAD`` bytes 431. After an error the connection closes. Every
   response carries the security headers (``SECURITY_HEADERS``); none shows a traceback.
2. ``GET /ws`` with ``Upgrade: websocket`` opens the chat, if its ``Origin`` is one of
   ``origins`` (``--web-origin``), or the page's own (scheme and Host) where that Host
   names the server itself: an IP address, ``localhost``, or one of ``names`` (``--host``
   and ``--server-name``); or if there is none (not a browser: a browser always sends
   it). Any other Origin gets 403: another site's page must not act as the user who
   visits it (cross-site WebSocket hijacking), and a page whose own name merely resolves
   to this server (DNS rebinding: Host and Origin both ``evil.example``) is another
   site's page.
3. Connections are kept alive between requests; the adapter bounds how long a request
   may take.
4. A path in ``routes`` (the operator's port: ``/metrics``, ``/healthz``, ``/readyz``)
   is answered by whoever runs the exchange: ``next_action`` returns ``Asked``, and the
   adapter hands the answer to ``Exchange.answer``. A site with ``chat=False`` has no
   ``/ws`` (404): the operator's port is not a way into the chat.
5. The client of the upgrade (``Exchange.client``) is the connection's peer, or, where
   that peer is a trusted proxy (``--trusted-proxy``), the client its
   ``X-Forwarded-For`` or ``Forwarded`` names (forwarded.py); headers it cannot vouch
   for get 400 and the reason (``Exchange.refused``) for the log.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import enum
import ipaddress
from http import HTTPStatus
from importlib import resources

import attrs
import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection
from wsproto.utilities import RemoteProtocolError

from chat_trio import __version__
from chat_trio.doors.keepalive import KeepaliveSettings
from chat_trio.doors.lines import DEFAULT_MAX_LINE
from chat_trio.doors.proxy import Source, Trusted
from chat_trio.doors.web import forwarded
from chat_trio.doors.web.door import WebDoor

MAX_HEAD = 8 * 1024
"""Bytes of a request line and headers (a browser's are well under 2 KiB); more is 431."""

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    # Only our own script, style and socket; no inline script; never inside a frame.
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)

_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}


class Action(enum.Enum):
    NEED_DATA = "need-data"  #: read more and call ``receive_data``
    CLOSE = "close"  #: the exchange is over: close the connection


@attrs.frozen
class Upgraded:
    """Send ``response`` (101), then run ``door`` on the connection."""

    response: bytes
    door: WebDoor


@attrs.frozen
class Asked:
    """Answer a request for ``path`` (one of ``Site.routes``) with ``Exchange.answer``."""

    path: str
    head: bool  #: a HEAD request: the answer's headers only
    authorization: str = ""  #: the request's Authorization header ("": none)


@attrs.frozen
class Site:
    """What the web door serves, and to whom its WebSocket is open."""

    secure: bool = False  #: served over TLS (the page's origin is https://)
    origins: frozenset[str] = frozenset()  #: other origins allowed ("*": any)
    names: frozenset[str] = frozenset()  #: host names of this server, as configured
    settings: KeepaliveSettings = attrs.field(factory=KeepaliveSettings)  #: pings
    max_line: int = DEFAULT_MAX_LINE
    files: dict[str, tuple[bytes, str]] = attrs.field(factory=lambda: _load())
    routes: frozenset[str] = frozenset()  #: paths answered by the adapter (``Asked``)
    chat: bool = True  #: serves ``/ws``, the way into the chat
    proxies: Trusted = attrs.field(factory=Trusted)  #: peers whose forwarding headers are believed

    def exchange(self, peer: Source | None = None) -> Exchange:
        """One connection's exchange, from ``peer`` (None: unknown, never trusted)."""
        return Exchange(self, peer or Source(""))


def _load() -> dict[str, tuple[bytes, str]]:
    static = resources.files("chat_trio.doors.web") / "static"
    return {path: ((static / name).read_bytes(), kind) for path, (name, kind) in _FILES.items()}


class Exchange:
    """One HTTP connection (see the module docstring)."""

    def __init__(self, site: Site, peer: Source) -> None:
        self.site = site
        self._http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._closing = False
        self.served = 0  #: responses sent
        self.client = peer  #: who opened the WebSocket: the peer, or whom its proxy names
        self.refused = ""  #: why forwarding headers were refused, for the log

    def receive_data(self, data: bytes) -> None:
        """``data`` arrived (``b""``: the client closed its side)."""
        self._http.receive_data(data)

    def next_action(self, now: float = 0.0) -> bytes | Upgraded | Asked | Action:
        """Bytes to send, the WebSocket to run, or what else to do. ``now`` (monotonic)
        starts the door's keepalive clock."""
        while not self._closing:
            try:
                event = self._http.next_event()
            except h11.RemoteProtocolError as exc:
                return self._error(exc.error_status_hint, "Bad request.")
            if event is h11.NEED_DATA:
                return Action.NEED_DATA
            if isinstance(event, h11.Request):
                return self._request(event, now)
            if isinstance(event, h11.EndOfMessage):
                if self._http.our_state is h11.MUST_CLOSE:
                    break
                self._http.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                break
            # h11.Data: a body nobody asked for, dropped as it arrives
        return Action.CLOSE

    def _request(self, request: h11.Request, now: float) -> bytes | Upgraded | Asked | Action:
        method, path = request.method, request.target.split(b"?")[0].decode("ascii", "replace")
        # h11 bounds a head that is still arriving; one that came whole is measured here.
        if len(request.target) + sum(len(n) + len(v) + 4 for n, v in request.headers) > MAX_HEAD:
            return self._error(431, "Request header fields too large.")
        if path == "/ws" and self.site.chat:
            return self._upgrade(request, now)
        if method not in (b"GET", b"HEAD"):
            return self._error(405, "Only GET is served here.", [("Allow", "GET, HEAD")])
        if path in self.site.routes:
            authorization = dict(request.headers).get(b"authorization", b"")
            return Asked(path, method == b"HEAD", authorization.decode("latin-1"))
        if path not in self.site.files:
            return self._error(404, "Not found.")
        body, kind = self.site.files[path]
        return self._send(200, body, kind, head=method == b"HEAD")

    def _upgrade(self, request: h11.Request, now: float) -> bytes | Upgraded | Action:
        headers = {name.lower(): value for name, value in request.headers}
        if request.method != b"GET" or headers.get(b"upgrade", b"").lower() != b"websocket":
            return self._error(400, "This address is for WebSocket connections.")
        origin = headers.get(b"origin", b"").decode("ascii", "replace")
        host = headers.get(b"host", b"").decode("ascii", "replace")
        if origin and not self._allowed(origin, host):
            return self._error(403, "This origin may not open the chat.")
        if not isinstance(self._http.next_event(), h11.EndOfMessage):
            return self._error(400, "A WebSocket upgrade has no body.")
        try:
            self.client = forwarded.client(self.client, request.headers, self.site.proxies)
        except (forwarded.Unknown, forwarded.Disagree) as exc:
            self.refused = str(exc)
            return self._error(400, "The proxy did not say who you are.")
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.initiate_upgrade_connection(list(request.headers), request.target)
        except RemoteProtocolError:
            return self._error(400, "Not a valid WebSocket upgrade.")
        for _ in ws.events():  # its Request: Origin and the rest were checked above
            pass
        response = ws.send(AcceptConnection())  # no extensions, no subprotocol
        if ws.connection is None:  # wsproto makes it with the acceptance: cannot happen
            return self._error(500, "The WebSocket connection could not start.")
        door = WebDoor(ws.connection, self.site.settings, self.site.max_line, now)
        trailing, _ = self._http.trailing_data  # h11 is paused: the rest is WebSocket
        if trailing:
            door.receive_data(bytes(trailing), now)
        self._closing = True
        return Upgraded(response, door)

    def answer(self, asked: Asked, status: int, body: bytes, kind: str) -> bytes:
        """The response to what ``next_action`` ``asked``: ``status``, ``body`` of type
        ``kind``. Then ask ``next_action`` again."""
        return self._send(status, body, kind, head=asked.head)

    def _allowed(self, origin: str, host: str) -> bool:
        origins = self.site.origins
        if origin in origins or "*" in origins:
            return True
        own = f"{'https' if self.site.secure else 'http'}://{host}"
        return origin.lower() == own.lower() and _ours(host, self.site.names)

    def _error(
        self, status: int, text: str, extra: list[tuple[str, str]] | None = None
    ) -> bytes | Action:
        if self._http.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return Action.CLOSE
        self._closing = True
        body = f"{status} {text}\n".encode()
        return self._send(status, body, "text/plain; charset=utf-8", extra, close=True)

    def _send(
        self,
        status: int,
        body: bytes,
        kind: str,
        extra: list[tuple[str, str]] | None = None,
        *,
        head: bool = False,
        close: bool = False,
    ) -> bytes:
        headers = [
            ("Content-Type", kind),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("Server", f"chat-trio/{__version__}"),
            *SECURITY_HEADERS,
            *(extra or []),
            *([("Connection", "close")] if close else []),
        ]
        reason = HTTPStatus(status).phrase.encode()
        parts = [self._http.send(h11.Response(status_code=status, headers=headers, reason=reason))]
        if not head:
            parts.append(self._http.send(h11.Data(data=body)))
        parts.append(self._http.send(h11.EndOfMessage()))
        self.served += 1
        return b"".join(p for p in parts if p)


def _ours(host: str, names: frozenset[str]) -> bool:
    """Does the Host header ``host`` (``name[:port]``, ``[v6]:port``) name this server:
    an IP address, ``localhost``, or a name it was configured with? Nobody else can
    serve a page from an IP address of ours; a DNS name can be made to point at us."""
    name = host[1 : host.find("]")] if host.startswith("[") else host.rpartition(":")[0]
    name = (name or host).lower()
    if name == "localhost" or name in names:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def refusal(text: str) -> bytes:
    """A whole HTTP response for a connection refused before it was read (server full,
    too many from one address): 503, saying ``text``."""
    body = f"503 {text}\n".encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("Retry-After", "10"),
        *SECURITY_HEADERS,
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"HTTP/1.1 503 Service Unavailable\r\n{head}\r\n".encode() + body
