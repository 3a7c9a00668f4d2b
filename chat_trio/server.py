"""The task tree and the shutdown steps. Read ``serve`` first: it is the whole server.

::

    run                         signals: 1st SIGINT/SIGTERM -> graceful, 2nd -> at once
    └── serve
        └── storage (nursery)   lives until the history queue is written
            ├── store.run       writes history in a worker thread, in batches
            └── clients (nursery)   lives until every connection has ended
                ├── hub.run         flushes each scheduler round's deliveries
                ├── admit           one per connection; the web door's first serves pages
                │   └── serve_connection (each client, with its own door)
                │       ├── read    bytes -> door -> rules -> effects -> hub (and store)
                │       └── _write  outbox -> socket (only while it holds bytes)
                └── listening (nursery) cancelled first at shutdown
                    ├── watch_accounts  applies the operator's `chat-trio user` changes
                    └── tcp.serve   accepts, starts `admit` in `clients`
                                    (one per entrance: a door on a port, plain or TLS)

Shutdown, in four steps: stop accepting (cancel `listening`, and the web connections
still on HTTP: `pages`, which are no one's chat yet); say what flood control still holds
(users were told "delayed, not lost"), then tell everyone and close every outbox, so each
writer flushes and its session ends; give the stragglers ``config.grace`` seconds (a
deadline on `clients`), then cancel them; write the history still queued (within
``HISTORY_FLUSH_TIMEOUT``) and close the database.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import signal
import socket
import sqlite3
import ssl
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import attrs
import trio

from chat_trio import __version__
from chat_trio.chat.core import Chat
from chat_trio.chat.events import Disconnected, Reason, Refused
from chat_trio.chat.limits import Admission
from chat_trio.chat.vocabulary import LOBBY, name_key
from chat_trio.config import Config
from chat_trio.delivery.effects import Effects
from chat_trio.delivery.hub import Hub
from chat_trio.delivery.session import Session, serve_connection
from chat_trio.doors import Door, wording
from chat_trio.doors.irc.door import IrcDoor
from chat_trio.doors.text import render as text_render
from chat_trio.doors.text.door import TextDoor
from chat_trio.doors.web.site import Site
from chat_trio.doors.web.site import refusal as http_refusal
from chat_trio.passwords import Passwords
from chat_trio.storage import database
from chat_trio.storage.database import DatabaseError
from chat_trio.storage.sqlite import SqliteBackend
from chat_trio.storage.store import Store
from chat_trio.transports import http, tcp, tls

log = logging.getLogger("chat_trio.server")

ACCOUNTS_POLL = 2.0
"""Seconds between looks at the accounts the operator changed (``chat-trio user``): a
promotion counts for a user who is online within this long. One indexed read."""

HISTORY_FLUSH_TIMEOUT = 30.0
"""Seconds the last history writes may take at shutdown (a full queue is ~10,000 lines,
written in well under a second on any disk that works)."""


class StartupError(Exception):
    """The server could not start (say, the port is taken); the message says why."""


class Listening(NamedTuple):
    """One address the server listens on, and for which door."""

    host: str
    port: int
    label: str  #: "text", "text, TLS", ...


@attrs.frozen
class Entrance:
    """A door on a set of listeners, plain or behind TLS: every entrance is served the
    same way (``admit``)."""

    label: str  #: for the banner and the logs
    listeners: list[socket.socket]
    door: Callable[[], Door] | None  #: a new door for each connection; None: see ``site``
    refuse: Callable[[Refused], bytes]  #: what a connection not let in is told
    tls: ssl.SSLContext | None = None
    site: Site | None = None  #: the web door: HTTP first, the door comes with the upgrade


def _entrances(config: Config) -> list[Entrance]:
    """Open every listener the configuration asks for (closing them all if one fails)."""
    context = None
    if config.tls_cert and config.tls_key:
        try:
            context = tls.server_context(config.tls_cert, config.tls_key)
        except (OSError, ssl.SSLError) as exc:
            why = tls.which_file_is_wrong(config.tls_cert, config.tls_key) or str(exc)
            raise StartupError(
                f"cannot use TLS certificate {config.tls_cert} with key {config.tls_key}: {why}"
            ) from exc
    text = partial(TextDoor, config.rules.max_line)
    irc = partial(IrcDoor, attrs.evolve(config.irc, keepalive=config.keepalive))
    wanted: list[tuple[int, Callable[[list[socket.socket]], Entrance]]] = []

    def want(port: int, label: str, secure: bool, **how: Any) -> None:
        """An entrance on ``port``, if the configuration serves it plain or with TLS."""
        served = context is not None if secure else config.plain
        if not served:
            return
        label = f"{label}, TLS" if secure else label
        wanted.append((port, partial(Entrance, label, tls=context if secure else None, **how)))

    for secure in (False, True):
        want(config.tls_port if secure else config.port, "text", secure,
             door=text, refuse=_text_refuse)  # fmt: skip
    if config.irc_port is not None:
        for secure in (False, True):
            want(config.irc_tls_port if secure else config.irc_port, "IRC", secure,
                 door=irc, refuse=partial(_irc_refuse, config))  # fmt: skip
    if config.web_port is not None:
        for secure in (False, True):
            names = frozenset({config.host.lower(), config.irc.server_name.lower()})
            site = Site(secure, config.web_origins, names, config.keepalive, config.rules.max_line)
            want(config.web_tls_port if secure else config.web_port, "web", secure,
                 door=None, refuse=_web_refuse, site=site)  # fmt: skip
    entrances: list[Entrance] = []
    try:
        for port, make in wanted:
            entrances.append(make(_listen(config.host, port)))
    except StartupError:
        for entrance in entrances:
            for listener in entrance.listeners:
                listener.close()
        raise
    return entrances


def _text_refuse(refused: Refused) -> bytes:
    return text_render.render([refused])


def _irc_refuse(config: Config, refused: Refused) -> bytes:
    return IrcDoor(config.irc).render([refused])


def _web_refuse(refused: Refused) -> bytes:
    return http_refusal(wording.refusal(refused))


async def serve(
    config: Config,
    stop: trio.Event,
    *,
    task_status: trio.TaskStatus[list[Listening]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stop`` is set, then shut down gracefully and return.

    Reports the addresses it listens on through ``task_status`` (plain text first).
    """
    entrances = _entrances(config)
    try:
        store = await Store.open(config.db) if config.db is not None else None
    except DatabaseError as exc:
        for entrance in entrances:
            for listener in entrance.listeners:
                listener.close()
        raise StartupError(str(exc)) from exc
    chat = Chat(config.rules, stored=store is not None)
    if store is not None:
        entries, topic, _ = await store.read(
            database.conversation, LOBBY, config.rules.history_lines
        )
        chat.seed_history(LOBBY, entries, topic)
        accounts = await store.read(database.accounts)
        chat.load_accounts(accounts, await store.read(database.bans, time.time()))
        for key in sorted(config.rules.admins - {name_key(a.name) for a in accounts}):
            log.warning("admin-without-account name=%s fix='chat-trio user add %s'", key, key)
    hub = Hub(config.max_queue_bytes)
    backend = SqliteBackend(store, Passwords(config.password_cost)) if store else None
    effects = Effects(chat, hub, backend)
    sessions: set[Session] = set()  # every connection's, for the last look at shutdown
    conn_ids = itertools.count(1)
    admission = Admission(config.limits)
    pages: set[trio.CancelScope] = set()  # web connections still on HTTP, not chatting yet

    async def browse(connection: trio.abc.Stream, site: Site, peer: str) -> Door | None:
        """HTTP until the page opens its WebSocket (its door), or the connection ends."""
        with trio.CancelScope() as browsing:
            pages.add(browsing)  # shutdown stops these with the listeners
            try:
                return await http.serve_pages(
                    connection, site.exchange(), write_timeout=config.write_timeout, peer=peer
                )
            except Exception:  # a bug: it ends this connection, never the server
                log.exception("http-error peer=%s", peer)
            finally:
                pages.discard(browsing)
        return None

    async def admit(entrance: Entrance, stream: trio.SocketStream) -> None:
        """One accepted connection, through any entrance."""
        address = tcp.peer_address(stream)
        if address is None:  # reset before we got to it
            await trio.aclose_forcefully(stream)
            return
        host, peer = address[0], tcp.show_address(address)
        refusal = admission.admit(host, trio.current_time())
        if refusal is not None:
            log.warning("refused peer=%s reason=%s", peer, refusal.problem.value)
            tcp.refuse(stream, entrance.refuse(refusal))
            return
        try:
            connection: trio.abc.Stream | None = stream
            try_send, receive = tcp.direct_writer(stream), tcp.direct_reader(stream)
            if entrance.tls is not None:
                connection = await tls.handshake(stream, entrance.tls, peer)
                try_send, receive = None, None
            door: Door | None = None
            if connection is not None and entrance.site is not None:  # pages, then a socket
                door = await browse(connection, entrance.site, peer)
                if door is None:
                    await trio.aclose_forcefully(connection)
            elif connection is not None and entrance.door is not None:
                door = entrance.door()
            if connection is not None and door is not None:
                await serve_connection(
                    connection, next(conn_ids), effects, door, address=host,
                    try_send=try_send, receive=receive, progress=tcp.progress(stream),
                    peer=peer, write_timeout=config.write_timeout, sessions=sessions,
                )  # fmt: skip
        finally:
            admission.release(host)

    try:
        async with trio.open_nursery() as storage:
            if store is not None:
                await storage.start(store.run, config.retention)
            async with trio.open_nursery() as clients:
                await clients.start(hub.run)
                async with trio.open_nursery() as listening:
                    if store is not None:
                        await listening.start(watch_accounts, store, chat)
                    for entrance in entrances:
                        handler = partial(admit, entrance)
                        await listening.start(tcp.serve, handler, entrance.listeners, clients)
                    bound = [
                        Listening(host, port, entrance.label)
                        for entrance in entrances
                        for host, port in tcp.bound_addresses(entrance.listeners)
                    ]
                    log.info("listening on %s", " ".join(_show(b) for b in bound))
                    task_status.started(bound)
                    await stop.wait()
                    listening.cancel_scope.cancel()
                    for browsing in list(pages):  # idle keep-alive connections: not a chat
                        browsing.cancel()
                log.info("shutdown step=announce connections=%d", hub.statistics().connections)
                chat.lift_flood_control()  # "delayed, not lost": say what it held, first
                for session in list(sessions):
                    if not session.busy:
                        session.release(trio.current_time())
                chat.shut_down()
                hub.shut_down([Disconnected(Reason.SHUTDOWN)])
                clients.cancel_scope.deadline = trio.current_time() + config.grace
            if store is not None:
                log.info("shutdown step=history queued=%d", store.statistics().queued)
                store.close()
                storage.cancel_scope.deadline = trio.current_time() + HISTORY_FLUSH_TIMEOUT
    finally:
        if store is not None:
            with trio.move_on_after(HISTORY_FLUSH_TIMEOUT, shield=True):
                await store.aclose()
            log.info("history-closed written=%d", store.statistics().written)
    log.info("shutdown step=done")


async def watch_accounts(
    store: Store, chat: Chat, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Apply what the operator's ``chat-trio user`` changes in the database, every
    ``ACCOUNTS_POLL`` seconds, until cancelled (with the listeners, at shutdown)."""
    seen = await store.read(database.last_account_change)
    task_status.started()
    while True:
        await trio.sleep(ACCOUNTS_POLL)
        try:
            seen, changed = await store.read(database.account_changes, seen)
        except sqlite3.Error as exc:
            log.error("account-changes-read-failed error=%r", str(exc))
            continue
        for key, account in changed:
            log.info("account-changed name=%s admin=%s", key, account.admin if account else "-")
            chat.account_changed(key, account)


def _show(bound: Listening) -> str:
    where = tcp.show_address((bound.host, bound.port))
    if bound.label.startswith("web"):  # a browser wants the URL
        where = f"{'https' if 'TLS' in bound.label else 'http'}://{where}/"
    return f"{where} ({bound.label})"


def _listen(host: str, port: int) -> list[socket.socket]:
    try:
        return tcp.open_listeners(host, port)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)  # trio's text repeats itself
        if exc.errno == errno.EADDRINUSE:
            why += " (is another server running on it?)"
        raise StartupError(f"cannot listen on {host}:{port}: {why}") from exc


async def run(config: Config) -> int:
    """The CLI's entry: serve, printing the address; stop on signals. Returns the exit status.

    The first SIGINT or SIGTERM starts a graceful shutdown; a second one cancels
    everything at once.
    """
    stop = trio.Event()
    forced = False
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as root:

            async def watch_signals() -> None:
                nonlocal forced
                async for signum in signals:
                    if stop.is_set():
                        log.warning("shutdown step=forced signal=%s", signal.Signals(signum).name)
                        forced = True
                        root.cancel_scope.cancel()
                        return
                    log.info("shutdown step=begin signal=%s", signal.Signals(signum).name)
                    again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
                    print(f"Shutting down ({again} again to stop at once)...", flush=True)
                    stop.set()

            async def serve_then_stop_watching(
                *, task_status: trio.TaskStatus[list[Listening]]
            ) -> None:
                await serve(config, stop, task_status=task_status)
                root.cancel_scope.cancel()

            root.start_soon(watch_signals)
            addresses = await root.start(serve_then_stop_watching)
            where = ", ".join(map(_show, addresses))
            print(f"chat-trio {__version__} listening on {where} (Ctrl-C to stop)", flush=True)
    return 130 if forced else 0
