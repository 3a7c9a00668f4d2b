"""The ways in: a door on a set of listeners, plain or behind TLS, and what happens to an
accepted stream before a session runs on it (``Entrance.open``): who the client is, the
TLS handshake, the web door's pages until the page opens its WebSocket, or nothing.

server.py serves every entrance alike: ``open`` asks it to let the client in or refuse
it (``Entrance.refuse`` says why, in the door's dialect), and server.py runs a session
on what ``open`` gives. The listeners of every entrance are opened together and closed
in one place (``open_entrances``, a context manager), whatever happens.

Who the client is: the socket's peer, except where that peer is a trusted proxy
(``--trusted-proxy``). Then on the text and IRC doors the PROXY v2 header it must send
first names the client (transports/proxy.py), and on the web door the WebSocket
upgrade's ``X-Forwarded-For`` or ``Forwarded`` does (doors/web/forwarded.py). The client
is asked to be let in once known: at once, after the header, or at the upgrade (a
proxy's HTTP connection is nobody's until then, and may carry several people's page
requests), so limits and bans always count the real client and never the proxy.

Error handling: ``open_entrances`` raises ``StartupError`` with one sentence that names
what is wrong (a port taken, a certificate that does not fit its key); ``Entrance.open``
never raises but ``trio.Cancelled``: a failed handshake or a bug in the HTTP part ends
that connection only (logged).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import attrs
import trio

from chat_trio.chat.events import Refused
from chat_trio.config import Config
from chat_trio.doors import Door, wording
from chat_trio.doors.irc.door import IrcDoor
from chat_trio.doors.irc.render import IrcSettings
from chat_trio.doors.proxy import Source, Trusted
from chat_trio.doors.text import render as text_render
from chat_trio.doors.text.door import TextDoor
from chat_trio.doors.web.site import Exchange, Site
from chat_trio.doors.web.site import refusal as http_refusal
from chat_trio.transports import http, proxy, tcp, tls

log = logging.getLogger("chat_trio.server")


class StartupError(Exception):
    """The server could not start (say, the port is taken); the message says why."""


@attrs.frozen
class Client:
    """Whom a connection is for: the socket's peer, or whom a trusted proxy named."""

    source: Source
    shown: str  #: for the logs: "203.0.113.7:51234"; "203.0.113.7" where no port is known


LetIn = Callable[[Client], Refused | None]
"""Admission, asked once the client is known: None to let it in, or why not."""


@attrs.define
class Entrance:
    """A door on a set of listeners, plain or behind TLS."""

    label: str  #: for the banner and the logs: "text", "IRC, TLS", ...
    listeners: list[socket.socket]
    door: str  #: which door: "text", "IRC" or "web"
    make_door: Callable[[], Door]  #: a new door for each connection (not the web door's)
    refusal: Callable[[Refused], bytes]  #: what a connection not let in is told
    tls: ssl.SSLContext | None = None
    site: Site | None = None  #: the web door: HTTP first, the door comes with the upgrade
    browsing: set[trio.CancelScope] = attrs.field(factory=set)  #: connections on HTTP
    proxies: Trusted = attrs.field(factory=Trusted)  #: peers that say whom a connection is for
    refuser: tcp.Refuser = attrs.field(factory=tcp.Refuser)  #: lingers, so refusals are
    #: read; the server's one, shared by every entrance, so its bound is the server's

    async def refuse(self, stream: trio.SocketStream, refused: Refused) -> None:
        """Tell a connection not let in why (best effort), and close it."""
        await self.refuser.refuse(stream, self.refusal(refused))

    async def open(
        self, stream: trio.SocketStream, let_in: LetIn, write_timeout: float
    ) -> tuple[trio.abc.Stream, Door, Client] | None:
        """The stream a session runs on, its door and its client, once ``let_in`` let
        the client in; None if there is none (the peer was gone, refused, or a proxy
        failed to say whom for; a failed TLS handshake; a web connection that only
        fetched pages, or broke)."""
        address = tcp.peer_address(stream)
        if address is None:  # reset before we got to it
            return None
        peer = tcp.show_address(address)
        client = Client(Source(*address), peer)
        proxied = self.proxies.trusts(client.source.host)
        if proxied and self.site is None:
            header = await proxy.read_header(stream, peer)
            if header is None:
                return None
            if header.source is not None:
                client = _client(header.source)
                log.info("proxied peer=%s proxy=%s", client.shown, peer)
        if not (proxied and self.site):  # the web behind a proxy: at the upgrade
            refused = let_in(client)
            if refused is not None:
                await self.refuse(stream, refused)
                return None
        connection: trio.abc.Stream = stream
        if self.tls is not None:
            secure = await tls.handshake(stream, self.tls, client.shown)
            if secure is None:
                return None
            connection = secure
        if self.site is None:
            return connection, self.make_door(), client
        admit = partial(self._admit_upgrade, let_in, peer) if proxied else None
        exchange = self.site.exchange(client.source)
        door = await self._browse(connection, exchange, peer, write_timeout, admit)
        if door is None:
            return None
        return connection, door, _client(exchange.client)

    def _admit_upgrade(self, let_in: LetIn, peer: str, source: Source) -> bytes | None:
        client = _client(source)
        log.info("proxied peer=%s proxy=%s", client.shown, peer)
        refused = let_in(client)
        return self.refusal(refused) if refused is not None else None

    async def _browse(
        self,
        connection: trio.abc.Stream,
        exchange: Exchange,
        peer: str,
        write_timeout: float,
        admit: Callable[[Source], bytes | None] | None,
    ) -> Door | None:
        """HTTP until the page opens its WebSocket (its door), or the connection ends."""
        with trio.CancelScope() as browsing:
            self.browsing.add(browsing)  # shutdown stops these with the listeners
            try:
                return await http.serve_pages(
                    connection, exchange, write_timeout=write_timeout, peer=peer, admit=admit
                )
            except Exception:  # a bug: it ends this connection, never the server
                log.exception("http-error peer=%s", peer)
            finally:
                self.browsing.discard(browsing)
        return None

    def stop_browsing(self) -> None:
        """Shutdown: end the connections still only on HTTP (a browser keeps an idle one
        open; nobody is chatting on it)."""
        for browsing in list(self.browsing):
            browsing.cancel()


def _client(source: Source) -> Client:
    shown = tcp.show_address((source.host, source.port)) if source.port else source.host
    return Client(source, shown)


@contextmanager
def open_entrances(config: Config, refuser: tcp.Refuser) -> Iterator[list[Entrance]]:
    """Every entrance the configuration asks for, its listeners open; all of them are
    closed when the block ends (or if one cannot be opened: ``StartupError``)."""
    opened: list[Entrance] = []
    try:
        for port, make in _wanted(config, tls_context(config), refuser):
            opened.append(make(_listen(config.host, port)))
        yield opened
    finally:
        for entrance in opened:
            for listener in entrance.listeners:
                listener.close()


@contextmanager
def open_operator_port(config: Config) -> Iterator[list[socket.socket]]:
    """The listeners of the operator's port (``--metrics-port`` on ``--metrics-host``;
    none without it), closed when the block ends. Not an entrance: nobody chats there,
    and admission's limits do not apply (a full server still answers its health checks).

    Raises:
      StartupError: the port cannot be listened on; the message says why.
    """
    listeners = (
        [] if config.metrics_port is None else _listen(config.metrics_host, config.metrics_port)
    )
    try:
        yield listeners
    finally:
        for listener in listeners:
            listener.close()


def _wanted(
    config: Config, context: ssl.SSLContext | None, refuser: tcp.Refuser
) -> list[tuple[int, Callable[[list[socket.socket]], Entrance]]]:
    """(port, how to make the entrance once listening) for each door and port served, in
    the banner's order: text, IRC, web; each plain, then with TLS."""
    irc_settings = _irc_settings(config)
    proxies = Trusted(config.trusted_proxies)
    text = partial(
        Entrance, make_door=partial(TextDoor, config.max_line), proxies=proxies,
        refusal=lambda refused: text_render.render([refused]),
    )  # fmt: skip
    irc = partial(
        Entrance, make_door=partial(IrcDoor, irc_settings), proxies=proxies,
        refusal=lambda refused: IrcDoor(irc_settings).render([refused]),
    )  # fmt: skip
    names = frozenset({config.host.lower(), config.irc.server_name.lower()})

    def web(secure: bool) -> Callable[..., Entrance]:
        site = Site(
            secure, config.web_origins, names, config.keepalive, config.max_line,
            proxies=proxies,
        )  # fmt: skip
        return partial(
            Entrance, make_door=_no_door, refusal=_web_refusal, site=site, proxies=proxies
        )

    doors: list[tuple[str, int | None, int, Callable[[bool], Callable[..., Entrance]]]] = [
        ("text", config.port, config.tls_port, lambda secure: text),
        ("IRC", config.irc_port, config.irc_tls_port, lambda secure: irc),
        ("web", config.web_port, config.web_tls_port, web),
    ]
    wanted: list[tuple[int, Callable[[list[socket.socket]], Entrance]]] = []
    for label, port, tls_port, entrance in doors:
        for secure in (False, True):
            served = context is not None if secure else config.plain
            if port is None or not served:
                continue
            shown = f"{label}, TLS" if secure else label
            made = partial(
                entrance(secure), shown, door=label, refuser=refuser,
                tls=context if secure else None,
            )  # fmt: skip
            wanted.append((tls_port if secure else port, made))
    return wanted


def _irc_settings(config: Config) -> IrcSettings:
    return attrs.evolve(
        config.irc, keepalive=config.keepalive,
        max_rooms_per_user=config.rules.max_rooms_per_user,
    )  # fmt: skip


def reload(entrances: list[Entrance], config: Config, context: ssl.SSLContext | None) -> None:
    """What can change while the server runs (SIGHUP): IRC doors opened from now on get
    ``config``'s IRC settings (the message of the day), and TLS handshakes from now on use
    ``context`` (a renewed certificate; None: keep the one they have). Connections open
    already keep what they have: nobody is dropped."""
    irc = partial(IrcDoor, _irc_settings(config))
    for entrance in entrances:
        if entrance.door == "IRC":
            entrance.make_door = irc
        if entrance.tls is not None and context is not None:
            entrance.tls = context


def _no_door() -> Door:
    raise AssertionError("the web door comes with the upgrade (Entrance.open)")


def _web_refusal(refused: Refused) -> bytes:
    return http_refusal(wording.refusal(refused))


def tls_context(config: Config) -> ssl.SSLContext | None:
    """The TLS context the configuration's certificate makes (None: no certificate).
    Reads the files: blocking.

    Raises:
      StartupError: the files cannot be read or do not fit together, saying which.
    """
    if not (config.tls_cert and config.tls_key):
        return None
    try:
        return tls.server_context(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        why = tls.which_file_is_wrong(config.tls_cert, config.tls_key) or str(exc)
        raise StartupError(
            f"cannot use TLS certificate {config.tls_cert} with key {config.tls_key}: {why}"
        ) from exc


def _listen(host: str, port: int) -> list[socket.socket]:
    try:
        return tcp.open_listeners(host, port)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)  # trio's text repeats itself
        if exc.errno == errno.EADDRINUSE:
            why += " (is another server running on it?)"
        raise StartupError(f"cannot listen on {host}:{port}: {why}") from exc
