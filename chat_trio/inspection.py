"""The operator's port (``--metrics-port``): ``/metrics``, ``/healthz``, ``/readyz`` and
``/tasks``.

``Inspection`` words what the server already knows as Prometheus metric families
(metrics.py), at each scrape and only then: every queue's ``statistics()`` (the hub's
outboxes, admission, the history store), the rules' world (users, accounts, rooms, flood
control), and the few counts kept for it (``metrics.Counts``). Nothing here runs between
scrapes, so being watched costs the chat nothing while nobody looks; a scrape costs one
look at each connection's outbox (about 10 ms at 10,000 connections).

- ``/healthz``: 200 ``ok`` whenever the process answers at all (its event loop runs).
- ``/readyz``: 200 when every listener is up and the database takes writes
  (``Store.writable``: a write of nothing, rolled back), or with ``--redis`` Redis
  answers a PING within its deadline, otherwise 503; the body has one line per check,
  saying which failed and why.
- ``/metrics``: the exposition (names and meanings in docs/production.md).
- ``/tasks``: the server's task tree (tasks.py), as text, walked at most once a second
  (``TASKS_EVERY``; in between, the last drawing is shown again). Only from loopback,
  or with the name and password of an admin's account (HTTP Basic; checked by the
  backend, throttled and logged as any login); otherwise 403 (429 while wrong passwords
  wait, 503 while the accounts cannot be read) with one line saying why.

The port is not an entrance: it goes through no admission limit (a full server still
answers its health checks), and its connections end with the listeners at shutdown.

Error handling: ``serve`` never raises but ``trio.Cancelled``: a bug ends that one
request's connection (logged), never the server.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import math
import time
import unicodedata
from collections.abc import Sequence
from functools import partial

import attrs
import trio

from chat_trio import __version__, tasks
from chat_trio.chat.events import Reason
from chat_trio.chat.intents import Secret
from chat_trio.chat.limits import Admission
from chat_trio.chat.names import check_name
from chat_trio.chat.registry import Verdict
from chat_trio.chat.vocabulary import name_key
from chat_trio.delivery import audit
from chat_trio.delivery.effects import Effects
from chat_trio.doors.web.site import Asked, Site, refusal
from chat_trio.metrics import CONTENT_TYPE, Family, counter, exposition, gauge, histogram, info
from chat_trio.nodes.peers import Peers, PeersStatistics
from chat_trio.storage.redis import RedisBackend
from chat_trio.storage.store import Store
from chat_trio.transports import http, tcp

log = logging.getLogger("chat_trio.inspection")

ROUTES = frozenset({"/metrics", "/healthz", "/readyz", "/tasks"})
TEXT = "text/plain; charset=utf-8"

MAX_CONNECTIONS = 16
"""Connections to the operator's port at once. Prometheus keeps one open, a load balancer
a few; more are answered 503 and closed, so whoever can reach the port cannot make the
server hold more than this many (each for at most one request deadline), and the refused
ones (each lingering at most ``tcp.LINGER``, at most ``tcp.REFUSALS_LINGERING`` at once)."""

TASKS_EVERY = 1.0
"""Seconds between two walks of the task tree at least. A walk holds the event loop
(about 0.2 s at 10,000 tasks, 1 s at 50,000), and 16 connections could ask back to back:
requests within this time of the last walk get its drawing again, so the chat gets at
least as much time as walking takes, however many ask."""

WRONG = "Wrong name or password."
"""The refusal of a wrong password, and of a right one for an account that is not an
admin's (which must not be told apart)."""

OPERATOR_PORT = 0
"""The connection id in the password-check log line of a login to ``/tasks``: no chat
connection's (those start at 1)."""


@attrs.frozen
class Login:
    """The name and password an HTTP Basic ``Authorization`` header carries."""

    name: str
    password: Secret  #: never shown (its repr is stars)


NAME_REFUSED = "That is not a name an account can have."


def login(authorization: str) -> Login | str | None:
    """The credentials of an ``Authorization: Basic ...`` header; None if there are none
    or they cannot be read (then the request is treated as one without); why not, in one
    line, if the name is not one an account can have.

    The name is checked here, where the request becomes a login, as every name a person
    gives is (``names.check_name``, every script allowed, as ``chat-trio users`` allows
    for accounts): one that holds a line break or another control character would write
    a line of its own into the log, a forged ``password-check`` for fail2ban. So nothing
    else but a name that passed is ever checked against a password or logged."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not colon or not name or not password:
        return None
    name = unicodedata.normalize("NFC", name)  # (as check_name takes it)
    if check_name(name, frozenset(), unicode=True) is not None:
        return NAME_REFUSED
    return Login(name, Secret(password))


def is_loopback(host: str | None) -> bool:
    """``host`` is this machine's own address (127.0.0.0/8, ::1, or IPv4 loopback mapped
    into IPv6)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


TASKS_REFUSED = "The task tree is shown to this machine only, or with an admin's password."


def tasks_access(host: str | None, authorization: str) -> Login | str | None:
    """Who may read ``/tasks``: None for a request from loopback (it may); the
    ``Login`` to check where credentials came with it; otherwise why not, in one line
    (``TASKS_REFUSED``: no credentials; ``NAME_REFUSED``: not a name).

    The tree names functions and counts tasks (tasks.py), never a user; it still says how
    many people are connected and how the server is built, so the rest of the world needs
    an admin's password, like any other admin's power."""
    if is_loopback(host):
        return None
    return login(authorization) or TASKS_REFUSED


def door_label(entrance: str) -> str:
    """An entrance's label as a metric's label value: "IRC, TLS" -> "irc-tls"."""
    return entrance.lower().replace(", ", "-")


class Inspection:
    """What the operator's port answers. See the module docstring.

    Args:
      effects: the interpreter, with the rules, the hub and the sessions' counts.
      admission: who was let in, and who was refused why.
      store: the history database, or Redis (``--redis``); None: ``--no-db``.
      entrances: the labels of the doors served ("text", "IRC, TLS", ...), so that each
        door's series exist from the start, at 0.
      write_timeout: seconds a response may take to be written.
    """

    def __init__(
        self,
        effects: Effects,
        admission: Admission,
        store: Store | RedisBackend | None,
        entrances: Sequence[str],
        *,
        write_timeout: float,
        refuser: tcp.Refuser | None = None,
    ) -> None:
        self.effects = effects
        self.admission = admission
        self.store = store
        self.entrances = tuple(entrances)
        self.write_timeout = write_timeout
        self.started = time.time()
        self.site = Site(files={}, routes=ROUTES, chat=False)
        #: where the server listens, once every listener is up (server.py sets it)
        self.listening: tuple[str, ...] = ()
        #: the other nodes (``--redis``: server.py sets it)
        self.peers: Peers | None = None
        self._open = 0  # connections to the port now
        self._refuser = refuser or tcp.Refuser()  # so the 503 is read, not lost in a reset
        self._tree = b""  # the last drawing of the task tree,
        self._tree_until = -math.inf  # shown again until then (trio's clock)

    async def serve(self, stream: trio.SocketStream) -> None:
        """One connection to the operator's port (``tcp.serve``'s handler); closes it."""
        address = tcp.peer_address(stream)
        peer = tcp.show_address(address) if address is not None else "-"
        if self._open >= MAX_CONNECTIONS:
            log.warning("inspection-refused peer=%s open=%d", peer, self._open)
            await self._refuser.refuse(
                stream, refusal("Too many connections to the operator's port.")
            )
            return
        self._open += 1
        try:
            host = address[0] if address is not None else None
            await http.serve_pages(
                stream, self.site.exchange(), write_timeout=self.write_timeout, peer=peer,
                answer=partial(self.answer, host),
            )  # fmt: skip
        except Exception:  # a bug: it ends this connection, never the server
            log.exception("inspection-error peer=%s", peer)
        finally:
            self._open -= 1
            await trio.aclose_forcefully(stream)

    async def answer(self, host: str | None, asked: Asked) -> tuple[int, bytes, str]:
        """(status, body, content type) for one of ``ROUTES``, asked from ``host``."""
        path = asked.path
        if path == "/tasks":
            return await self.task_tree(host, asked.authorization)
        if path == "/metrics":
            return 200, exposition(self.families()), CONTENT_TYPE
        if path == "/healthz":
            return 200, b"ok\n", TEXT
        checks = await self.readiness()
        ready = all(ok for _, ok, _ in checks)
        body = "".join(f"{name}: {'ok' if ok else 'FAILED'}, {why}\n" for name, ok, why in checks)
        return (200 if ready else 503), body.encode(), TEXT

    async def task_tree(self, host: str | None, authorization: str) -> tuple[int, bytes, str]:
        """``/tasks``: the tree (tasks.py) for whoever may read it, else 403 (429 while
        wrong passwords from ``host`` or for the account wait, as a chat login would)."""
        access = tasks_access(host, authorization)
        if isinstance(access, Login):
            status, why = await self._admin(host or "-", access)
            if status != 200:
                return status, f"{status} {why}\n".encode(), TEXT
        elif access is not None:
            why = "bad-name" if access == NAME_REFUSED else "no-password"
            log.warning("tasks-refused peer=%s why=%s", host or "-", why)
            return 403, f"403 {access}\n".encode(), TEXT
        return 200, self.drawn_tree(), TEXT

    def drawn_tree(self) -> bytes:
        """The task tree, drawn: walked now, or the last drawing if that walk ended less
        than ``TASKS_EVERY`` seconds ago."""
        if trio.current_time() >= self._tree_until:
            self._tree = tasks.render(tasks.walk()).encode()
            self._tree_until = trio.current_time() + TASKS_EVERY  # from the walk's end
        return self._tree

    async def _admin(self, host: str, credentials: Login) -> tuple[int, str]:
        """(200, "") if ``credentials`` are an admin account's, else the status and why.
        Throttled with the chat's own logins (``Registry.check_wait``), and logged in
        the same ``password-check`` line that fail2ban reads."""
        chat = self.effects.chat
        if not chat.stored:
            return 403, "This server keeps no accounts (--no-db): only this machine may see it."
        key, registry = name_key(credentials.name), chat.registry
        now = trio.current_time()
        wait = registry.check_wait(key, host, now)
        if wait > 0:
            return 429, f"Too many wrong passwords: try again in {math.ceil(wait)} s."
        registry.check_begins(key, host, now)
        verdict, admin = await self.effects.backend.check_password(key, credentials.password)
        registry.check_answered(key, host, verdict)
        audit.password_checked(OPERATOR_PORT, host, key, verdict)
        if verdict is Verdict.UNAVAILABLE:
            return 503, "The accounts cannot be read now: try again later."
        if verdict is Verdict.WRONG:
            return 403, WRONG
        if not (admin or key in chat.rules.admins):
            # The same answer as a wrong password: another answer would tell whoever
            # reaches the port that the password of any chat account is right.
            log.warning("tasks-refused peer=%s why=not-admin account=%s", host, key)
            return 403, WRONG
        return 200, ""

    async def readiness(self) -> list[tuple[str, bool, str]]:
        """Each check of ``/readyz``: (name, passed, what was found)."""
        listening = (
            ("listening", True, ", ".join(self.listening))
            if self.listening
            else ("listening", False, "not yet")
        )
        if self.store is None:
            return [listening, ("database", True, "none (--no-db)")]
        if isinstance(self.store, RedisBackend):
            why = await self.store.writable()
            if why is None:
                return [listening, ("redis", True, f"{self.store.path} answers")]
            return [listening, ("redis", False, f"{self.store.path} does not answer: {why}")]
        why = await self.store.writable()
        if why is None:
            return [listening, ("database", True, f"{self.store.path} takes writes")]
        return [listening, ("database", False, f"{self.store.path} does not take writes: {why}")]

    def families(self) -> list[Family]:
        """Every metric, as it is now (docs/production.md explains each)."""
        chat, counts = self.effects.chat, self.effects.counts
        hub = self.effects.hub.statistics()
        admitted = self.admission.statistics()
        past, watching = chat.past.statistics(), chat.watchers.statistics()
        doors = [*self.entrances, *counts.sessions_total]  # every door, even at 0
        reasons = [*(r.value for r in Reason), *counts.disconnects]
        verdicts = [*(v.value for v in Verdict), *counts.password_checks]
        families = [
            info("chat_trio_build_info", "The version running.", {"version": __version__}),
            gauge("chat_trio_start_time_seconds", "When the server started (Unix time).",
                  self.started),
            gauge("chat_trio_connections", "Chat connections open now, by door.",
                  {door_label(d): counts.sessions[d] for d in doors}, "door"),
            counter("chat_trio_connections_total", "Chat connections opened, by door.",
                    {door_label(d): counts.sessions_total[d] for d in doors}, "door"),
            counter("chat_trio_connections_refused_total",
                    "Connections refused on arrival, by reason: full (--max-clients), "
                    "per-address (--max-per-address), rate (--connect-burst, --connect-rate).",
                    {"full": admitted.refused_full, "per-address": admitted.refused_per_address,
                     "rate": admitted.refused_rate}, "reason"),
            counter("chat_trio_disconnects_total",
                    "Chat connections ended, by reason (as in the log's disconnect lines).",
                    {r: counts.disconnects[r] for r in reasons}, "reason"),
            gauge("chat_trio_users", "Users online with a name.", chat.online),
            gauge("chat_trio_accounts", "Registered accounts.", len(chat.registry.accounts)),
            gauge("chat_trio_rooms", "Rooms with members (and #lobby).", len(chat.rooms)),
            gauge("chat_trio_whowas_entries",
                  "Names given up (left or renamed) that WHOWAS remembers; at most "
                  f"{past.max_entries}, the oldest going first.", past.entries),
            gauge("chat_trio_monitor_watches",
                  "Names watched with MONITOR, counted once per watching connection.",
                  watching.watches),
            counter("chat_trio_lines_in_total",
                    "Lines users sent that ran, counted as flood control counts them "
                    "(commands, IRC and web messages too).", chat.lines_in),
            counter("chat_trio_lines_out_total",
                    "Lines handed to recipients: each room line times the members it "
                    "reached, and each private message.", hub.lines_out),
            counter("chat_trio_deliveries_total",
                    "Writes towards clients, by path: direct (the socket took it at once) or "
                    "queued (left to the connection's writer).",
                    {"direct": hub.direct_writes, "queued": hub.queued_writes}, "path"),
            gauge("chat_trio_queued_bytes", "Bytes queued for clients, all together.",
                  hub.queued_bytes),
            gauge("chat_trio_queue_limit_bytes",
                  "One connection's queue bound (--send-queue); past it the client is cut.",
                  self.effects.hub.max_queue_bytes),
            counter("chat_trio_slow_consumer_cuts_total",
                    "Clients cut as too slow to receive (a full queue, or a write blocked "
                    "past --write-timeout).", hub.kicked_slow),
            counter("chat_trio_flood_delays_total",
                    "Times flood control began to delay someone's lines (each told to slow "
                    "down).", chat.flood_delays),
            counter("chat_trio_password_checks_total",
                    "Passwords checked (logins, /password, /unregister), by result; "
                    "result=\"wrong\" are the failed logins.",
                    {v: counts.password_checks[v] for v in verdicts}, "result"),
        ]  # fmt: skip
        if self.store is not None:
            stored = self.store.statistics()
            families += [
                gauge("chat_trio_history_queued", "History entries waiting to be written.",
                      stored.queued),
                gauge("chat_trio_history_queue_limit",
                      "The history queue's bound; past it entries are not stored.",
                      stored.max_queued),
                counter("chat_trio_history_written_total", "History entries written.",
                        stored.written),
                counter("chat_trio_history_dropped_total",
                        "History entries not stored: the queue was full (the disk fell "
                        "behind).", stored.dropped),
                counter("chat_trio_history_failed_total",
                        "History entries lost to a database error (logged).", stored.failed),
                histogram("chat_trio_history_write_seconds",
                          "Time to write and commit one batch of history entries.",
                          stored.write_seconds),
            ]  # fmt: skip
        if isinstance(self.store, RedisBackend):
            families.append(
                gauge("chat_trio_redis_up",
                      "1 if the last call to Redis (--redis) was answered, else 0.",
                      int(self.store.up))
            )  # fmt: skip
        if isinstance(self.store, RedisBackend) and self.store.leases is not None:
            names = self.store.leases.statistics()
            families += [
                gauge("chat_trio_names_held",
                      "Names this node's users hold as leases in Redis (--redis).", names.held),
                gauge("chat_trio_name_releases_waiting",
                      "Names let go here whose leases are not deleted in Redis yet.",
                      names.releasing),
                counter("chat_trio_name_releases_dropped_total",
                        "Releases dropped while too many waited (their leases just end).",
                        names.dropped),
                counter("chat_trio_names_lost_total",
                        "Names another node took while this one was cut off from Redis "
                        "(their users were disconnected).", names.lost),
                counter("chat_trio_name_refresh_failures_total",
                        "Refreshes of this node's name leases that Redis did not answer.",
                        names.refresh_failures),
            ]  # fmt: skip
        if self.peers is not None:
            families += _peers(self.peers.statistics())
        return families


def _peers(peers: PeersStatistics) -> list[Family]:
    """The other nodes (``--redis``: nodes/peers.py), as this node sees them."""
    return [
        gauge("chat_trio_peers_connected",
              "1 while this node hears the other nodes (its subscription to Redis is up).",
              int(peers.connected)),
        counter("chat_trio_peers_reconnects_total",
                "Times the subscription to Redis was lost and made again.", peers.reconnects),
        gauge("chat_trio_peers_nodes", "Other nodes with people online.", peers.nodes),
        gauge("chat_trio_peers_people", "People online on the other nodes.", peers.people),
        gauge("chat_trio_peers_rooms_heard",
              "Room channels heard: rooms with a member on this node.", peers.rooms_followed),
        gauge("chat_trio_peers_posts_queued", "Posts to the other nodes waiting for Redis.",
              peers.posts_queued),
        counter("chat_trio_peers_posts_total",
                "Posts to the other nodes, by result: sent, dropped (the queue was full), "
                "failed (Redis did not take them).",
                {"sent": peers.posts_sent, "dropped": peers.posts_dropped,
                 "failed": peers.posts_failed}, "result"),
        counter("chat_trio_peers_heard_total",
                "Messages from the other nodes handed to the rules (cross-node deliveries).",
                peers.heard),
        counter("chat_trio_peers_gaps_total",
                "Times messages from the other nodes were found missing by their numbers.",
                peers.gaps),
        counter("chat_trio_peers_dropped_total",
                "Messages from the other nodes dropped, by why: duplicate, undecodable.",
                {"duplicate": peers.duplicates, "undecodable": peers.undecodable}, "why"),
    ]  # fmt: skip
