"""The task tree and the shutdown steps. Read ``serve`` first: it is the whole server.

::

    run                         signals: 1st SIGINT/SIGTERM -> graceful, 2nd -> at once;
    │                           SIGHUP -> reload; tells systemd (sd_notify) how it goes
    └── serve
        └── storage (nursery)   lives until the history queue is written
            ├── store.run       writes history in a worker thread, in batches
            ├── backend.run     or, with --redis, to Redis in pipelines (the node's
            │                   lease on Redis, and its users' leases on their names
            │                   (leases.py), are kept beside, by `_open_redis`)
            └── peering (nursery)   --redis: the other nodes; lives until the last
                │                   connection's leave is told to them
                ├── subscriber.run  hears Redis (nodes/subscriber.py: reconnects)
                ├── peers.post      tells the other nodes, a pipeline per batch
                ├── peers.hear      what they tell: to the rules, then the hub
                ├── peers.reap      the people of a node whose lease ended: gone
                └── clients (nursery)   lives until every connection has ended
                    ├── hub.run         flushes each scheduler round's deliveries
                    ├── _admit          one per connection: refused, or opened
                    │                   (entrances.py: TLS, the web door's pages)
                    │   └── serve_connection (each client, with its own door)
                    │       ├── read    bytes -> door -> rules -> effects -> hub
                    │       └── _write  outbox -> socket (only while it holds bytes)
                    └── listening (nursery) cancelled first at shutdown
                        ├── watch_accounts  applies `chat-trio user`'s changes (and,
                        │                   with --redis, the other nodes')
                        ├── watch_bans      the same for bans
                        ├── apply_reloads   on SIGHUP: the settings read again, what
                        │                   may change applied (MOTD, names, admins,
                        │                   certificate)
                        ├── tcp.serve   accepts, starts `_admit` in `clients`
                        │               (one per entrance: a door on a port, plain or TLS)
                        └── tcp.serve   the operator's port (--metrics-port): /metrics,
                                        /healthz, /readyz (inspection.py), in `listening`

Shutdown, in four steps: stop accepting (cancel `listening`, and the web connections
still on HTTP, which are no one's chat yet: ``Entrance.stop_browsing``); say what flood
control still holds (users were told "delayed, not lost"), then tell everyone and close
every outbox, so each writer flushes and its session ends; give the stragglers
``config.grace`` seconds (a deadline on `clients`), then cancel them; with ``--redis``,
send the other nodes what waits for them (each leave, within ``PEERS_FLUSH_TIMEOUT``) and
cancel `peering`; store what the second step could not wait to store
(``Effects.store_unsaved``), write the history still queued (each within
``HISTORY_FLUSH_TIMEOUT``) and close the database.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import signal
import socket
import sqlite3
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import NamedTuple

import attrs
import coredis
import trio
from coredis.exceptions import RedisError

from chat_trio import __version__
from chat_trio.chat.core import Chat
from chat_trio.chat.events import Disconnected, Reason, Refused
from chat_trio.chat.limits import Admission
from chat_trio.chat.outputs import Outputs
from chat_trio.chat.vocabulary import LOBBY, name_key
from chat_trio.config import OPTIONS, Config, default_db_path, setting
from chat_trio.delivery.effects import Effects
from chat_trio.delivery.hub import Hub
from chat_trio.delivery.session import Session, serve_connection
from chat_trio.entrances import (
    Client,
    Entrance,
    StartupError,
    open_entrances,
    open_operator_port,
    tls_context,
)
from chat_trio.entrances import reload as entrances_reload
from chat_trio.inspection import Inspection
from chat_trio.nodes.peers import Peers
from chat_trio.nodes.subscriber import Subscriber
from chat_trio.passwords import Passwords
from chat_trio.settings import ConfigError
from chat_trio.storage import database
from chat_trio.storage.database import DatabaseError
from chat_trio.storage.leases import NameLeases
from chat_trio.storage.redis import (
    AnotherNode,
    LeaseLost,
    NodeLease,
    RedisBackend,
    RedisUnavailable,
    call,
    config_warnings,
    leaves,
    shown_url,
)
from chat_trio.storage.redis import client as redis_client
from chat_trio.storage.sqlite import SqliteBackend
from chat_trio.storage.store import Store
from chat_trio.transports import notify, tcp
from chat_trio.transports.notify import Notifier

log = logging.getLogger("chat_trio.server")

ACCOUNTS_POLL = 2.0
"""Seconds between looks at the accounts the operator changed (``chat-trio user``): a
promotion counts for a user who is online within this long. One indexed read."""

REDIS_RELEASE_TIMEOUT = 2.0
"""Seconds the node's lease on Redis may take to be let go at shutdown (it ends by
itself within ``redis.NODE_LEASE_MS`` otherwise)."""

PEERS_FLUSH_TIMEOUT = 2.0
"""Seconds the last posts to the other nodes may take at shutdown (the leave of each of
this node's people; if they cannot be sent, the other nodes find this node gone when its
lease ends, ``redis.NODE_LEASE_MS``, and say so then)."""

HISTORY_FLUSH_TIMEOUT = 30.0
"""Seconds the last history writes may take at shutdown (a full queue is ~10,000 lines,
written in well under a second on any disk that works)."""


class Listening(NamedTuple):
    """One address the server listens on, and for which door."""

    host: str
    port: int
    label: str  #: "text", "text, TLS", ...


async def serve(
    config: Config,
    stop: trio.Event,
    *,
    reloads: Reloads | None = None,
    task_status: trio.TaskStatus[list[Listening]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stop`` is set, then shut down gracefully and return; reload the
    settings each time ``reloads`` asks (SIGHUP).

    Reports the addresses it listens on through ``task_status`` (plain text first).
    """
    refuser = tcp.Refuser()  # every refusal lingers through it: one bound for the server
    with (
        _one_server(config),
        open_entrances(config, refuser) as entrances,
        open_operator_port(config) as operator,
    ):
        async with _open_redis(config) as redis:  # None without --redis
            await _serve(config, stop, entrances, operator, refuser, redis, reloads, task_status)


async def _serve(
    config: Config,
    stop: trio.Event,
    entrances: list[Entrance],
    operator: list[socket.socket],
    refuser: tcp.Refuser,
    redis: Redis | None,
    reloads: Reloads | None,
    task_status: trio.TaskStatus[list[Listening]],
) -> None:
    """``serve``, once its listeners and Redis (``--redis``) are open."""
    store = await _open_store(config) if redis is None else None
    passwords = Passwords(config.password_cost)
    backend: SqliteBackend | RedisBackend | None = None
    if redis is not None:
        backend = RedisBackend(redis.client, passwords, config.retention, path=redis.shown)
        backend.leases = redis.names
    elif store is not None:
        backend = SqliteBackend(store, passwords)
    writer = store or (backend if isinstance(backend, RedisBackend) else None)
    chat = await _load(config, backend)
    hub = Hub(config.max_queue_bytes)
    effects = Effects(chat, hub, backend)
    if redis is not None:
        redis.names.on_lost = partial(_names_lost, effects)
    peers = None
    if redis is not None and config.redis is not None:
        subscriber = Subscriber.from_url(config.redis)
        peers = Peers(chat, effects, redis.client, subscriber, redis.run)
    sessions: set[Session] = set()  # every connection's, for the last look at shutdown
    admission = Admission(config.limits)
    admit = partial(_admit, config, effects, admission, sessions)
    labels = [entrance.label for entrance in entrances]
    inspection = Inspection(
        effects, admission, writer, labels, write_timeout=config.write_timeout,
        refuser=refuser,
    )  # fmt: skip
    try:
        async with trio.open_nursery() as storage:
            if store is not None:
                await storage.start(store.run, config.retention)
            if isinstance(backend, RedisBackend):
                await storage.start(backend.run)
            async with trio.open_nursery() as peering:
                if peers is not None:  # (the other nodes: nodes/peers.py)
                    await peering.start(peers.subscriber.run)
                    await peering.start(peers.post)
                    await peering.start(peers.hear)
                    await peering.start(peers.reap)
                    effects.peers = inspection.peers = peers
                async with trio.open_nursery() as clients:
                    await clients.start(hub.run)
                    async with trio.open_nursery() as listening:
                        if backend is not None:
                            await listening.start(watch_accounts, backend, chat)
                            await listening.start(watch_bans, backend, effects)
                        if reloads is not None:
                            await listening.start(apply_reloads, reloads, config, chat, entrances)
                        for entrance in entrances:
                            handler = partial(admit, entrance)
                            await listening.start(tcp.serve, handler, entrance.listeners, clients)
                        if operator:
                            await listening.start(tcp.serve, inspection.serve, operator, listening)
                        bound = _bound(entrances, operator)
                        inspection.listening = tuple(map(_show, bound))
                        task_status.started(bound)
                        await stop.wait()
                        listening.cancel_scope.cancel()
                        for entrance in entrances:
                            entrance.stop_browsing()  # idle keep-alive connections: no chat
                    log.info("shutdown step=announce connections=%d", hub.statistics().connections)
                    chat.lift_flood_control()  # "delayed, not lost": say what it held, first
                    for session in list(sessions):
                        if not session.busy:
                            session.release(trio.current_time())
                    chat.shut_down()
                    hub.shut_down([Disconnected(Reason.SHUTDOWN)])
                    clients.cancel_scope.deadline = trio.current_time() + config.grace
                if peers is not None:  # our people's leaving, told before going
                    with trio.move_on_after(PEERS_FLUSH_TIMEOUT):
                        await peers.flush()
                peering.cancel_scope.cancel()
            if writer is not None:
                with trio.move_on_after(HISTORY_FLUSH_TIMEOUT):
                    await effects.store_unsaved()  # what flood control held, let go
                log.info("shutdown step=history queued=%d", writer.statistics().queued)
                writer.close()
                storage.cancel_scope.deadline = trio.current_time() + HISTORY_FLUSH_TIMEOUT
    finally:
        if store is not None:
            with trio.move_on_after(HISTORY_FLUSH_TIMEOUT, shield=True):
                await store.aclose()
            log.info("history-closed written=%d", store.statistics().written)
    log.info("shutdown step=done")


@attrs.frozen
class Reloads:
    """What SIGHUP asks of a running server, and how to do it."""

    requests: trio.MemoryReceiveChannel[None]
    """One per SIGHUP; at most one waits (``RELOADS_WAITING``): a reload reads the files
    when it runs, so a SIGHUP while one waits is in it already."""
    load: Callable[[], Config]
    """The settings read again: the same flags, the environment, the config file now."""
    notifier: Notifier  #: systemd is told a reload begins and ends


RELOADS_WAITING = 1

RELOADED = frozenset({"rules.reserved_names", "rules.admins", "tls_cert", "tls_key", "log_level"})
"""The settings a reload applies (the message of the day too, which is not a setting of
its own but read from ``--motd``); for any other, it logs that a restart is needed."""


async def apply_reloads(
    reloads: Reloads,
    config: Config,
    chat: Chat,
    entrances: list[Entrance],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """For each reload asked for, until cancelled: read the settings again (files, in a
    worker thread) and apply what may change while serving, nobody dropped: the reserved
    names and admins (the rules), the message of the day (IRC doors opened from now on),
    the TLS certificate (handshakes from now on), the log level. Settings that cannot be
    read leave everything as it was (logged)."""
    task_status.started()
    async for _ in reloads.requests:
        await reloads.notifier.send(*notify.reloading(time.monotonic_ns() // 1000))
        try:
            new, context = await trio.to_thread.run_sync(_read_again, reloads.load)
        except (ConfigError, StartupError) as exc:
            log.error("reload-failed error=%r (nothing changed)", str(exc))
        else:
            chat.reload(new.rules)
            entrances_reload(entrances, new, context)
            logging.getLogger().setLevel(new.log_level.upper())
            restart = _needs_restart(config, new)
            log.info(
                "reloaded motd_lines=%d reserved_names=%d admins=%d tls=%s%s",
                len(new.irc.motd), len(new.rules.reserved_names), len(new.rules.admins),
                "reread" if context is not None else "none",
                f" needs-restart={','.join(restart)}" if restart else "",
            )  # fmt: skip
        await reloads.notifier.send("READY=1", "STATUS=serving")


def _read_again(load: Callable[[], Config]) -> tuple[Config, ssl.SSLContext | None]:
    """The settings and the certificate, read anew (blocking: files)."""
    config = load()
    return config, tls_context(config)


def _needs_restart(old: Config, new: Config) -> list[str]:
    """The options whose change a reload does not apply."""
    return [
        option.flags[0]
        for option in OPTIONS
        if option.field
        and option.field not in RELOADED
        and setting(old, option.field) != setting(new, option.field)
    ]


_conn_ids = itertools.count(1)
"""Connection ids: never the same one twice in a process (they key the rules' state)."""
OPERATOR = 0
"""The connection id of the operator's changes from the shell: nobody's (ids start at 1)."""


async def _admit(
    config: Config,
    effects: Effects,
    admission: Admission,
    sessions: set[Session],
    entrance: Entrance,
    stream: trio.SocketStream,
) -> None:
    """One accepted connection, through any entrance: refused with the reason, or opened
    and served until it ends. The stream is closed here in every case (``finally``).

    Admission counts the connection under its client's address, asked by the entrance
    once it knows who that is (a trusted proxy says so after the connection began)."""
    # The address admission counts this connection under, once let in (a list of one, set
    # where admission is asked: a list literal has no room to spare for appends).
    counted: list[str | None] = [None]
    try:
        let_in = partial(_let_in, admission, counted)
        opened = await entrance.open(stream, let_in, config.write_timeout)
        del let_in  # 10,000 idle connections need not keep one each
        if opened is not None:
            connection, door, client = opened
            plain = connection is stream  # the fast paths need the socket itself
            effects.counts.opened(entrance.label)  # connections by door
            try:
                await serve_connection(
                    connection, next(_conn_ids), effects, door, address=client.source.host,
                    try_send=tcp.direct_writer(stream) if plain else None,
                    receive=tcp.direct_reader(stream) if plain else None,
                    progress=tcp.progress(stream), peer=client.shown,
                    write_timeout=config.write_timeout, sessions=sessions, via=entrance.label,
                )  # fmt: skip
            finally:
                effects.counts.closed(entrance.label)
    finally:
        if (host := counted[0]) is not None:
            admission.release(host)
        await trio.aclose_forcefully(stream)  # a no-op where the session closed it already


def _let_in(admission: Admission, counted: list[str | None], client: Client) -> Refused | None:
    """Admission for ``client`` (asked once per connection); the address it was counted
    under goes to ``counted[0]``."""
    refused = admission.admit(client.source.host, trio.current_time())
    if refused is None:
        counted[0] = client.source.host
    else:
        log.warning("refused peer=%s reason=%s", client.shown, refused.problem.value)
    return refused


async def _open_store(config: Config) -> Store | None:
    """The history and accounts database, if the configuration keeps one."""
    if config.db is None:
        return None
    try:
        return await Store.open(config.db, make_folder=config.db == default_db_path())
    except DatabaseError as exc:
        raise StartupError(str(exc)) from exc


@contextmanager
def _one_server(config: Config) -> Iterator[None]:
    """Hold the database's lock while the server runs (``database.ServerLock``): a second
    server on the same file would interleave its history with ours and miss the changes
    the first one makes to accounts and bans. A database in memory is nobody else's."""
    if config.db is None or config.db == ":memory:" or config.redis is not None:
        yield
        return
    try:
        lock = database.ServerLock(config.db, make_folder=config.db == default_db_path())
    except DatabaseError as exc:
        raise StartupError(str(exc)) from exc
    with lock:
        yield


async def _load(config: Config, backend: SqliteBackend | RedisBackend | None) -> Chat:
    """The rules, with what storage remembers: the lobby's recent lines, accounts, bans,
    registered rooms, read markers.

    Raises:
      StartupError: Redis (``--redis``) did not answer.
    """
    # With --redis, the node's name is in every id it makes: unique across the nodes too,
    # and names are claimed across nodes.
    node = f"{config.node_name}." if config.redis is not None else ""
    shared = isinstance(backend, RedisBackend)
    instance = f"{node}{int(time.time() * 1e6):x}"
    chat = Chat(config.rules, stored=backend is not None, instance=instance, shared_names=shared)
    if backend is not None:
        try:
            lobby = await backend.conversation(LOBBY, config.rules.history_lines)
            chat.seed_history(LOBBY, lobby.entries, lobby.topic)
            accounts = await backend.accounts()
            chat.load_accounts(accounts, await backend.bans(time.time()))
            chat.load_rooms(await backend.rooms())
            chat.load_markers(await backend.read_markers())
        except RedisUnavailable as exc:
            raise StartupError(f"cannot read from Redis: {exc}") from None
        for key in sorted(config.rules.admins - {name_key(a.name) for a in accounts}):
            log.warning("admin-without-account name=%s fix='chat-trio user add %s'", key, key)
    return chat


def _bound(entrances: list[Entrance], operator: list[socket.socket]) -> list[Listening]:
    """Where each entrance listens (with the real port where 0 was asked), and the
    operator's port last. The banner says it (``run``), once: not logged as well."""
    bound = [
        Listening(host, port, entrance.label)
        for entrance in entrances
        for host, port in tcp.bound_addresses(entrance.listeners)
    ]
    bound += [Listening(host, port, "metrics") for host, port in tcp.bound_addresses(operator)]
    return bound


async def watch_accounts(
    backend: SqliteBackend | RedisBackend,
    chat: Chat,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Apply what the operator's ``chat-trio user`` changes in the database (or Redis),
    every ``ACCOUNTS_POLL`` seconds, until cancelled (with the listeners, at shutdown)."""
    seen = await _first(backend.last_account_change)
    task_status.started()
    while True:
        await trio.sleep(ACCOUNTS_POLL)
        try:
            seen = seen or await backend.last_account_change()
            seen, changed = await backend.account_changes(seen)
        except (sqlite3.Error, RedisUnavailable) as exc:
            log.error("account-changes-read-failed error=%r", str(exc))
            continue
        for key, account in changed:
            log.info("account-changed name=%s admin=%s", key, account.admin if account else "-")
            chat.account_changed(key, account)


async def watch_bans(
    backend: SqliteBackend | RedisBackend,
    effects: Effects,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Apply the bans the operator adds or lifts with ``chat-trio ban``, every
    ``ACCOUNTS_POLL`` seconds, until cancelled: whoever a new ban matches is thrown out,
    as by an admin's ``/ban``."""
    seen = await _first(backend.last_ban_change)
    task_status.started()
    while True:
        await trio.sleep(ACCOUNTS_POLL)
        try:
            seen = seen or await backend.last_ban_change()
            seen, changed = await backend.ban_changes(seen, time.time())
        except (sqlite3.Error, RedisUnavailable) as exc:
            log.error("ban-changes-read-failed error=%r", str(exc))
            continue
        for kind, key, ban in changed:
            log.info("ban-changed kind=%s key=%s banned=%s", kind, key, ban is not None)
            out = Outputs(OPERATOR)
            effects.chat.ban_changed(kind, key, ban, out)
            effects.carry_now(OPERATOR, None, out.done())


def _names_lost(effects: Effects, lost: list[tuple[int, str]]) -> None:
    """Another node holds names this node's users had (it was cut off from Redis for
    longer than a lease lives): their users are told and disconnected."""
    for conn, key in lost:
        out = Outputs(OPERATOR)
        effects.chat.name_lost(conn, key, out)
        effects.carry_now(OPERATOR, None, out.done())


async def _first(last_change: Callable[[], Awaitable[str]]) -> str:
    """The operator's last change as the server starts; "" (read at the next poll) if
    Redis does not answer now (a database that cannot be read fails the start)."""
    try:
        return await last_change()
    except RedisUnavailable as exc:
        log.error("changes-read-failed error=%r", str(exc))
        return ""


@attrs.frozen
class Redis:
    """The server's Redis (``--redis``), open for as long as it serves."""

    client: coredis.Redis[str]
    shown: str  #: its URL, without a password
    run: str  #: this run of this node (``NodeLease.token``: its name, a colon, a token)
    names: NameLeases  #: this node's leases on its users' names (storage/leases.py)


@asynccontextmanager
async def _open_redis(config: Config) -> AsyncIterator[Redis | None]:
    """Redis, if ``--redis`` is given: reached (one clear error if not), its settings
    checked (warnings), and this node's lease on it taken (``NodeLease``: one live node
    of each name) and kept until the server is done, with its users' leases on their
    names (``NameLeases``); None without ``--redis``.

    Raises:
      StartupError: Redis cannot be reached, or a live node of this name uses it; or,
        while serving, another node of this name took this one's lease
        (``NodeLease.keep``): the server stops at once.
    """
    if config.redis is None:
        yield None
        return
    shown = shown_url(config.redis)
    serving = False  # from then on an error is the server's, not reaching Redis
    try:
        async with redis_client(config.redis) as client, trio.open_nursery() as lease_keeper:
            try:
                await call(client.ping())
            except RedisUnavailable as exc:
                raise StartupError(f"cannot reach Redis at {shown}: {exc}") from None
            for warning in await config_warnings(client):
                log.warning("%s url=%s", warning, shown)
            lease = NodeLease(client, config.node_name)
            try:
                await lease.claim()
            except (AnotherNode, RedisUnavailable) as exc:
                raise StartupError(f"cannot serve on Redis at {shown}: {exc}") from None
            log.info("redis-connected node=%s url=%s", config.node_name, shown)
            await lease_keeper.start(lease.keep)
            names = NameLeases(client, lease.token)
            await lease_keeper.start(names.keep)
            serving = True
            try:
                yield Redis(client, shown, lease.token, names)
            finally:
                lease_keeper.cancel_scope.cancel()
                with trio.move_on_after(REDIS_RELEASE_TIMEOUT, shield=True):
                    await names.release_all()
                with trio.move_on_after(REDIS_RELEASE_TIMEOUT, shield=True):
                    await lease.release()
    except* StartupError as group:  # out of coredis' own nursery: one line, as any other
        raise leaves(group)[0] from None
    except* LeaseLost as group:  # another node took over: stop at once, and say why (exit 1)
        raise StartupError(f"stopped serving on Redis at {shown}: {leaves(group)[0]}") from None
    except* (RedisError, OSError) as group:  # reaching it, in coredis' own nursery
        if serving:  # (a port in use, a disk gone: said as they are)
            raise
        raise StartupError(f"cannot reach Redis at {shown}: {leaves(group)[0]}") from None


def _show(bound: Listening) -> str:
    where = tcp.show_address((bound.host, bound.port))
    if bound.label.startswith("web") or bound.label == "metrics":  # a browser wants the URL
        where = f"{'https' if 'TLS' in bound.label else 'http'}://{where}/"
    return f"{where} ({bound.label})"


async def run(config: Config, load: Callable[[], Config] | None = None) -> int:
    """The CLI's entry: serve, printing the address; stop on signals. Returns the exit status.

    The first SIGINT or SIGTERM starts a graceful shutdown; a second one cancels
    everything at once. SIGHUP reloads the settings with ``load`` (None: SIGHUP is
    ignored, rather than ending the server as it would by default). A service manager
    that gave ``$NOTIFY_SOCKET`` is told when the server is ready, reloading, stopping.
    """
    stop = trio.Event()
    forced = False
    notifier = Notifier.from_environment()
    asks, requests = trio.open_memory_channel[None](RELOADS_WAITING)
    reloads = Reloads(requests, load, notifier) if load is not None else None
    signums = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    with trio.open_signal_receiver(*signums) as signals, asks, requests:
        async with trio.open_nursery() as root:

            async def watch_signals() -> None:
                nonlocal forced
                async for signum in signals:
                    if signum == signal.SIGHUP:
                        log.info("reload step=asked signal=SIGHUP")
                        with contextlib.suppress(trio.WouldBlock):  # one waits: this is in it
                            asks.send_nowait(None)
                        continue
                    if stop.is_set():
                        log.warning("shutdown step=forced signal=%s", signal.Signals(signum).name)
                        forced = True
                        root.cancel_scope.cancel()
                        return
                    log.info("shutdown step=begin signal=%s", signal.Signals(signum).name)
                    again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
                    print(f"Shutting down ({again} again to stop at once)...", flush=True)
                    stop.set()
                    await notifier.send("STOPPING=1", "STATUS=shutting down")

            async def serve_then_stop_watching(
                *, task_status: trio.TaskStatus[list[Listening]]
            ) -> None:
                await serve(config, stop, reloads=reloads, task_status=task_status)
                root.cancel_scope.cancel()

            root.start_soon(watch_signals)
            addresses = await root.start(serve_then_stop_watching)
            where = ", ".join(map(_show, addresses))
            print(f"chat-trio {__version__} listening on {where} (Ctrl-C to stop)", flush=True)
            await notifier.send("READY=1", f"STATUS=listening on {where}")
    notifier.close()
    return 130 if forced else 0
