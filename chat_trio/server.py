"""The task tree and the shutdown steps. Read ``serve`` first: it is the whole server.

::

    run                         signals: 1st SIGINT/SIGTERM -> graceful, 2nd -> at once
    └── serve
        └── storage (nursery)   lives until the history queue is written
            ├── store.run       writes history in a worker thread, in batches
            └── clients (nursery)   lives until every connection has ended
                ├── hub.run         flushes each scheduler round's deliveries
                ├── serve_connection (one per client)
                │   ├── _read       bytes -> core -> hub (and history -> store)
                │   └── _write      outbox -> socket
                └── listening (nursery) cancelled first at shutdown
                    └── tcp.serve   accepts, starts serve_connection in `clients`
                                    (one per listener set: plain, and TLS with --tls-cert)

Shutdown, in four steps: stop accepting (cancel `listening`); tell everyone and close
every outbox, so each writer flushes and its session ends; give the stragglers
``config.grace`` seconds (a deadline on `clients`), then cancel them; write the history
still queued (within ``HISTORY_FLUSH_TIMEOUT``) and close the database.
"""

from __future__ import annotations

import itertools
import logging
import signal
import socket
import ssl
import time
from functools import partial

import trio

from chat_trio import __version__
from chat_trio.config import Config
from chat_trio.hub import Hub
from chat_trio.passwords import Passwords
from chat_trio.protocol.core import LOBBY, Chat
from chat_trio.protocol.events import Disconnected, Error, Reason
from chat_trio.protocol.limits import Admission
from chat_trio.protocol.render import render
from chat_trio.session import Services, serve_connection
from chat_trio.storage import database
from chat_trio.storage.database import DatabaseError
from chat_trio.storage.store import Store
from chat_trio.transports import tcp, tls

log = logging.getLogger("chat_trio.server")

HISTORY_FLUSH_TIMEOUT = 30.0
"""Seconds the last history writes may take at shutdown (a full queue is ~10,000 lines,
written in well under a second on any disk that works)."""


class StartupError(Exception):
    """The server could not start (say, the port is taken); the message says why."""


async def serve(
    config: Config,
    stop: trio.Event,
    *,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stop`` is set, then shut down gracefully and return.

    Reports the bound (host, port) addresses through ``task_status``.
    """
    context = None
    if config.tls_cert and config.tls_key:
        try:
            context = tls.server_context(config.tls_cert, config.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise StartupError(
                f"cannot use TLS certificate {config.tls_cert} with key {config.tls_key}: {exc}"
            ) from exc
    plain = _listen(config.host, config.port) if config.plain else []
    try:
        secure = _listen(config.host, config.tls_port) if context else []
    except StartupError:
        for listener in plain:
            listener.close()
        raise
    try:
        store = await Store.open(config.db) if config.db is not None else None
    except DatabaseError as exc:
        for listener in plain + secure:
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
    services = Services(store, Passwords(config.password_cost) if store else None)
    hub = Hub(config.max_queue_bytes)
    conn_ids = itertools.count(1)

    admission = Admission(config.limits)

    async def handle(stream: trio.SocketStream, tls_context: ssl.SSLContext | None = None) -> None:
        address = tcp.peer_address(stream)
        if address is None:  # reset before we got to it
            await trio.aclose_forcefully(stream)
            return
        host, peer = address[0], tcp.show_address(address)
        refusal = admission.admit(host, trio.current_time())
        if refusal is not None:
            log.warning("refused peer=%s reason=%r", peer, refusal)
            tcp.refuse(stream, render([Error(refusal)]))
            return
        try:
            if tls_context is None:
                await serve_connection(
                    stream, next(conn_ids), chat, hub, services=services, address=host,
                    try_send=tcp.direct_writer(stream), peer=peer,
                    write_timeout=config.write_timeout,
                )  # fmt: skip
            elif (secured := await tls.handshake(stream, tls_context, peer)) is not None:
                await serve_connection(
                    secured, next(conn_ids), chat, hub, services=services, address=host,
                    peer=peer, write_timeout=config.write_timeout,
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
                    if plain:
                        await listening.start(tcp.serve, handle, plain, clients)
                    if secure:
                        await listening.start(
                            tcp.serve, partial(handle, tls_context=context), secure, clients
                        )
                    addresses = tcp.bound_addresses(plain + secure)  # plain first
                    log.info("listening on %s", " ".join(map(tcp.show_address, addresses)))
                    task_status.started(addresses)
                    await stop.wait()
                    listening.cancel_scope.cancel()
                log.info("shutdown step=announce connections=%d", hub.statistics().connections)
                chat.shut_down()
                hub.shut_down(render([Disconnected(Reason.SHUTDOWN)]))
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


def _listen(host: str, port: int) -> list[socket.socket]:
    try:
        return tcp.open_listeners(host, port)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc}") from exc


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
                    print("Shutting down (Ctrl-C again to stop at once)...", flush=True)
                    stop.set()

            async def serve_then_stop_watching(
                *, task_status: trio.TaskStatus[list[tuple[str, int]]]
            ) -> None:
                await serve(config, stop, task_status=task_status)
                root.cancel_scope.cancel()

            root.start_soon(watch_signals)
            addresses = await root.start(serve_then_stop_watching)
            where = ", ".join(map(tcp.show_address, addresses))
            print(f"chat-trio {__version__} listening on {where} (Ctrl-C to stop)", flush=True)
    return 130 if forced else 0
