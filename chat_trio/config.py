"""The server's settings, as one frozen value. No I/O: the CLI builds it, server.py reads it."""

from __future__ import annotations

import attrs

from chat_trio.chat.limits import Limits
from chat_trio.chat.world import Rules
from chat_trio.delivery.outbox import DEFAULT_MAX_QUEUE_BYTES
from chat_trio.delivery.session import DEFAULT_WRITE_TIMEOUT
from chat_trio.doors.irc.render import IrcSettings
from chat_trio.doors.keepalive import KeepaliveSettings
from chat_trio.passwords import Cost
from chat_trio.storage.store import Retention
from chat_trio.transports.tls import DEFAULT_TLS_PORT

DEFAULT_PORT = 8080
DEFAULT_IRC_TLS_PORT = 6697  #: IRC over TLS (RFC 7194)
DEFAULT_WEB_PORT = 8081  #: the page, next to the text door's 8080
DEFAULT_WEB_TLS_PORT = 8444  #: the page over https://, next to the text door's 8443
MOTD_LINES = 100  #: lines of --motd kept (a message of the day, not a book)
DEFAULT_GRACE = 5.0
"""Seconds between the shutdown notice and cancelling connections that are still
flushing; long enough for a healthy client to receive its queue, short enough for a
service manager's stop timeout (systemd's default is 90 s)."""


@attrs.frozen
class Config:
    """Everything ``server.serve`` needs to know."""

    host: str = "127.0.0.1"  #: where to listen; "0.0.0.0" or "::" for every interface
    port: int = DEFAULT_PORT  #: 0 lets the kernel choose (the real port is printed)
    rules: Rules = attrs.field(factory=Rules)  #: line limit, names, timeouts
    max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES  #: per-connection send-queue bound
    grace: float = DEFAULT_GRACE  #: shutdown grace period, seconds
    limits: Limits = attrs.field(factory=Limits)  #: who may connect
    write_timeout: float = DEFAULT_WRITE_TIMEOUT  #: a write blocked longer cuts the client
    tls_cert: str | None = None  #: PEM certificate chain; with tls_key, adds a TLS listener
    tls_key: str | None = None  #: PEM private key
    tls_port: int = DEFAULT_TLS_PORT  #: where the TLS listener listens (0: any free port)
    plain: bool = True  #: False: TLS only
    irc_port: int | None = None  #: where IRC clients come in (None: no IRC door)
    irc_tls_port: int = DEFAULT_IRC_TLS_PORT  #: IRC over TLS, with irc_port and a certificate
    irc: IrcSettings = attrs.field(factory=IrcSettings)  #: server name, MOTD, pings
    web_port: int | None = None  #: where the page is served (None: no web door; the CLI's
    #: default is DEFAULT_WEB_PORT)
    web_tls_port: int = DEFAULT_WEB_TLS_PORT  #: the page over https://, with a certificate
    web_origins: frozenset[str] = frozenset()  #: other sites' pages that may open the chat
    keepalive: KeepaliveSettings = attrs.field(factory=KeepaliveSettings)  #: IRC's and the
    #: web door's pings (the IRC door's settings' own are replaced by these)
    db: str | None = None  #: the SQLite file for history (the CLI defaults to the data dir);
    #: ":memory:" for SQLite in memory; None: no database (recent lines in memory only)
    retention: Retention = attrs.field(factory=Retention)  #: how long history is kept
    password_cost: Cost = attrs.field(factory=Cost)  #: argon2id parameters
