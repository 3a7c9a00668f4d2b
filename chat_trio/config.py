"""The server's settings as one frozen value (``Config``), and the one table of command-line
options that sets it (``OPTIONS``).

Every setting is written once. Its default is the default of the settings class of the
layer that uses it (the rules' ``Rules``, admission's ``Limits``, the IRC door's
``IrcSettings``, both pinging doors' ``KeepaliveSettings``, storage's ``Retention``,
hashing's ``Cost``), gathered here into ``Config``; the command line reads every default
from ``Config()`` and builds both subcommands' parsers (``serve``, ``user``) from the same
table. So ``Config()`` and ``chat-trio serve`` with no options are the same server. The
same table names the keys of a config file and the environment variables (settings.py).

No I/O here, but reading the environment (the database's default place) and the host's
name (the IRC server's default name).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import attrs

from chat_trio.chat import words
from chat_trio.chat.limits import Limits
from chat_trio.chat.rooms import check_room
from chat_trio.chat.vocabulary import ROOM_MAX, ROOMS_PER_USER, name_key
from chat_trio.chat.world import Rules
from chat_trio.delivery.outbox import DEFAULT_MAX_QUEUE_BYTES
from chat_trio.delivery.session import DEFAULT_WRITE_TIMEOUT
from chat_trio.doors.irc.render import IrcSettings
from chat_trio.doors.keepalive import KeepaliveSettings
from chat_trio.doors.lines import DEFAULT_MAX_LINE
from chat_trio.doors.proxy import Network
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


def default_db_path() -> str:
    """Where history lives unless ``--db`` says otherwise: the user's data directory
    (``$XDG_DATA_HOME/chat-trio/chat.db``, by default ``~/.local/share/chat-trio/chat.db``)."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(data, "chat-trio", "chat.db")


def default_node_name() -> str:
    """A name no other node has: this host's name and this process's id."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _irc_settings() -> IrcSettings:
    name = socket.gethostname()
    return IrcSettings(server_name=name, network=name)


@attrs.frozen
class Config:
    """Everything ``server.serve`` needs to know; ``Config()`` is what ``chat-trio serve``
    runs with no options (tests that start servers in-process turn off the web door and
    the database: ``web_port=None``, ``db=None``)."""

    host: str = "127.0.0.1"  #: where to listen; "0.0.0.0" or "::" for every interface
    port: int = DEFAULT_PORT  #: 0 lets the kernel choose (the real port is printed)
    max_line: int = DEFAULT_MAX_LINE  #: bytes of an input line (framing, every door)
    rules: Rules = attrs.field(factory=Rules)  #: names, rooms, flood control, timeouts
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
    irc: IrcSettings = attrs.field(factory=_irc_settings)  #: server name, MOTD
    keepalive: KeepaliveSettings = attrs.field(factory=KeepaliveSettings)  #: IRC's and the
    #: web door's pings
    web_port: int | None = DEFAULT_WEB_PORT  #: where the page is served (None: no web door)
    web_tls_port: int = DEFAULT_WEB_TLS_PORT  #: the page over https://, with a certificate
    web_origins: frozenset[str] = frozenset()  #: other sites' pages that may open the chat
    db: str | None = attrs.field(factory=default_db_path)  #: the SQLite file for history
    #: and accounts; ":memory:" for SQLite in memory; None: no database (recent lines in
    #: memory only)
    retention: Retention = attrs.field(factory=Retention)  #: how long history is kept
    password_cost: Cost = attrs.field(factory=Cost)  #: argon2id parameters
    metrics_port: int | None = None  #: the operator's /metrics, /healthz, /readyz (None: none)
    metrics_host: str = "127.0.0.1"  #: where that port listens, whatever ``host`` says
    trusted_proxies: frozenset[Network] = frozenset()  #: proxies whose word on the
    #: client's address is taken: PROXY v2 on text and IRC, X-Forwarded-For/Forwarded on web
    log_level: str = "info"  #: what the CLI logs on stderr: debug, info, warning, error
    redis: str | None = None  #: Redis URL: history, accounts and bans there, not in ``db``
    node_name: str = attrs.field(factory=default_node_name)  #: this node, in logs and Redis


# -- the command line ------------------------------------------------------------------------


class BadValue(ValueError):
    """A value typed for an option that cannot be; the message says why."""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise BadValue(f"must be at least 1, not {value}")
    return value


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise BadValue(f"must be 0-65535, not {value}")
    return value


def seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise BadValue(f"must be more than 0, not {text}")
    return value


def count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise BadValue(f"must be 0 or more, not {value}")
    return value


def non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise BadValue(f"must be 0 or more, not {text}")
    return value


def network(text: str) -> Network:
    """An address (``10.0.0.5``, ``::1``) or a network (``10.0.0.0/8``)."""
    try:
        return ipaddress.ip_network(text.strip())
    except ValueError:
        try:
            wider = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise BadValue(
                f"{text!r} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/8)"
            ) from None
        raise BadValue(f"{text} has host bits set; the network is {wider}") from None


def names(text: str) -> frozenset[str]:
    return frozenset(name_key(name.strip()) for name in text.split(",") if name.strip())


def rooms(text: str) -> tuple[str, ...]:
    """Room names separated by commas (``#lobby,#help``), in order, each once; "" for none.

    Raises:
      BadValue: a name that is not a room's, or more than a user may be in.
    """
    found: dict[str, str] = {}
    for name in (part.strip() for part in text.split(",")):
        if name and check_room(name) is not None:
            raise BadValue(
                f"{name!r} is not a room name ('#' and 1-{ROOM_MAX} ASCII letters, digits, "
                f"'_' or '-')"
            )
        if name:
            found.setdefault(name_key(name), name)
    if len(found) > ROOMS_PER_USER:
        raise BadValue(f"lists {len(found)} rooms; a user may be in {ROOMS_PER_USER} at most")
    return tuple(found.values())


DESCRIPTION_MAX = 100  #: characters of --server-description (one short line in LINKS)


def description(text: str) -> str:
    """A one-line description of the server (``--server-description``).

    Raises:
      BadValue: empty, or longer than ``DESCRIPTION_MAX`` once made one line.
    """
    said = words.line(text).strip()
    if not said or len(said) > DESCRIPTION_MAX:
        raise BadValue(f"must be 1-{DESCRIPTION_MAX} characters on one line, not {text!r}")
    return said


def redis_url(text: str) -> str:
    """A Redis URL as ``--redis`` takes it: ``redis://HOST:PORT/DB``. (TLS, ``rediss://``,
    and a Unix socket, ``unix:///PATH``, are not taken: the subscription that joins the
    nodes, nodes/subscriber.py, speaks plain TCP only, for now.)

    Raises:
      BadValue: anything else, saying what is expected.
    """
    parts = urlsplit(text.strip())
    if parts.scheme in ("rediss", "unix"):
        raise BadValue(
            f"{text!r}: only redis://HOST:PORT/DB is taken for now (not TLS, rediss://, nor "
            f"a Unix socket, unix://): keep Redis on loopback or a private network"
        )
    if parts.scheme != "redis":
        raise BadValue(f"{text!r} is not a Redis URL (redis://HOST:PORT/DB)")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise BadValue(f"{text!r} has a port that is not a number 0-65535") from None
    db = parts.path.strip("/")
    if parts.scheme != "unix" and db and not (db.isascii() and db.isdigit()):
        raise BadValue(f"{text!r}: the database after the / must be a number, as /0")
    if parts.scheme != "unix" and not parts.hostname:
        raise BadValue(f"{text!r} names no host (as redis://127.0.0.1:6379/0)")
    return text.strip()


NODE_NAME_MAX = 64  #: characters of --node-name (it is part of Redis keys and log lines)


def node_name(text: str) -> str:
    """A node's name: 1-``NODE_NAME_MAX`` ASCII letters, digits, ``.``, ``_`` or ``-``.

    Raises:
      BadValue: anything else.
    """
    if not (0 < len(text) <= NODE_NAME_MAX and text.isascii()) or not all(
        c.isalnum() or c in "._-" for c in text
    ):
        raise BadValue(
            f"{text!r} is not a node name (1-{NODE_NAME_MAX} ASCII letters, digits, '.', "
            f"'_' or '-')"
        )
    return text


def _keep(value: Any) -> Any:
    return value


@attrs.frozen
class Option:
    """One command-line option: how it is typed, and the setting it sets."""

    flags: tuple[str, ...]  #: "--flood-burst"
    field: str  #: where in Config, dotted ("rules.flood_burst"); "" for the CLI's own
    help: str
    parse: Callable[[str], Any] | None = str  #: the typed text, checked; None: a switch
    metavar: str | None = None
    switch: Any = None  #: a switch's setting (``--no-web``: web_port None)
    to_config: Callable[[Any], Any] = _keep  #: the typed value as the setting
    to_cli: Callable[[Any], Any] = _keep  #: the setting's default as it would be typed
    repeat: bool = False  #: may be given several times (the setting is the set of them)
    also: tuple[str, ...] = ()  #: more fields set to the same value
    choices: tuple[str, ...] = ()
    commands: tuple[str, ...] = ("serve",)  #: the subcommands that take it
    default: Any = None  #: the CLI's own options only (``field`` ""): their default


def _days(value: float) -> float | None:
    return value * 86400 or None


def _rows(value: int) -> int | None:
    return value or None


OPTIONS: tuple[Option, ...] = (
    Option(("--host",), "host", "address to listen on; 0.0.0.0 or :: for every interface"),
    Option(("--port",), "port", "TCP port; 0 picks a free one and prints it", port, "PORT"),
    Option(("--max-line",), "max_line", "longest input line; longer lines are refused",
           positive_int, "BYTES"),
    Option(("--send-queue",), "max_queue_bytes",
           "bytes queued for one client before it is disconnected as too slow",
           positive_int, "BYTES"),
    Option(("--grace",), "grace", "at shutdown, time given to clients to receive what is queued",
           seconds, "SECONDS"),
    Option(("--name-timeout",), "rules.name_timeout",
           "time a new client has to pick a valid username", seconds, "SECONDS"),
    Option(("--name-attempts",), "rules.name_attempts",
           "invalid usernames before the connection is closed", positive_int, "N"),
    Option(("--reserved-names",), "rules.reserved_names",
           "usernames nobody may take (case-insensitive)", names, "A,B,..."),
    Option(("--max-clients",), "limits.max_clients",
           "connections at once; above it newcomers get 'Server full, try later.' and are "
           "closed", positive_int, "N"),
    Option(("--max-per-address",), "limits.max_per_address",
           "concurrent connections per client address (0: no limit)", count, "N"),
    Option(("--connect-burst",), "limits.connect_burst",
           "connection attempts per address at once", positive_int, "N"),
    Option(("--connect-rate",), "limits.connect_rate",
           "connection attempts per second per address after the burst (0: no limit)",
           non_negative, "PER_SECOND"),
    Option(("--limit-loopback",), "limits.exempt_loopback",
           "apply the per-address limits to 127.0.0.1 and ::1 too (by default they are "
           "exempt, for local tests and benchmarks)", None, switch=False),
    Option(("--idle-timeout",), "rules.idle_timeout",
           "disconnect users who send nothing for this long (0: never)", non_negative,
           "SECONDS"),
    Option(("--write-timeout",), "write_timeout",
           "a write to a client blocked this long cuts it as too slow", seconds, "SECONDS"),
    Option(("--tls-cert",), "tls_cert",
           "PEM certificate (chain) for a TLS listener; needs --tls-key", metavar="FILE"),
    Option(("--tls-key",), "tls_key", "PEM private key for --tls-cert", metavar="FILE"),
    Option(("--tls-port",), "tls_port", "port of the TLS listener", port, "PORT"),
    Option(("--tls-only",), "plain", "no plain-text listener, only TLS (needs --tls-cert)",
           None, switch=False),
    Option(("--irc-port",), "irc_port",
           "also let IRC clients in on this port (6667 is usual; 0 picks a free one)", port,
           "PORT"),
    Option(("--irc-tls-port",), "irc_tls_port",
           "with --irc-port and --tls-cert: IRC over TLS on this port", port, "PORT"),
    Option(("--web-port",), "web_port",
           "serve the chat page here (0 picks a free port; the URL is printed)", port, "PORT"),
    Option(("--web-tls-port",), "web_tls_port",
           "with --tls-cert: the page over https:// on this port", port, "PORT"),
    Option(("--no-web",), "web_port", "do not serve the page", None, switch=None),
    Option(("--web-origin",), "web_origins",
           "another site whose pages may open the chat, as https://example.org (may be "
           "repeated); the page's own origin always may", metavar="ORIGIN", repeat=True),
    Option(("--server-name",), "irc.server_name",
           "the server's name in IRC prefixes, 004 and WHOIS", metavar="NAME",
           also=("irc.network",)),
    Option(("--server-description",), "irc.description",
           f"a line about the server that IRC's LINKS shows (at most {DESCRIPTION_MAX} "
           f"characters)", description, "TEXT"),
    Option(("--motd",), "", "message of the day for IRC clients (none: 422)",
           metavar="FILE"),
    Option(("--irc-autojoin",), "irc.autojoin",
           "channels an IRC user is put in once registered, in order ('' for none: then "
           "IRC users are in no channel until they join one)", rooms, "#A,#B,...",
           to_cli=list, to_config=tuple),
    Option(("--ping-interval",), "keepalive.ping_interval",
           f"seconds of silence before the server pings an IRC or web client; no answer "
           f"within {KeepaliveSettings().ping_timeout:g} s more drops it", seconds, "SECONDS"),
    Option(("--unicode-names",), "rules.unicode_names",
           "allow letters and digits of every script in usernames (off: ASCII only, so no "
           "two names can look alike)", None, switch=True),
    Option(("--flood-burst",), "rules.flood_burst",
           "flood control: lines a user may send at once", positive_int, "N"),
    Option(("--flood-rate",), "rules.flood_rate",
           "flood control: lines per second after the burst; faster lines are delayed "
           "(0: no flood control, e.g. for benchmarks)", non_negative, "LINES_PER_S"),
    Option(("--flood-queue",), "rules.flood_queue",
           "flood control: delayed lines that may wait; one more disconnects the user",
           positive_int, "N"),
    Option(("--db",), "db", "SQLite file for history (created if missing, in a folder that "
           "exists; ':memory:' keeps it in memory only, until the server stops)",
           metavar="PATH", commands=("serve", "user", "ban")),
    Option(("--no-db",), "db", "no database: rooms keep their recent lines in memory only "
           "(no /history, nothing survives a restart)", None, switch=None),
    Option(("--history-lines",), "rules.history_lines",
           "conversation lines shown on joining a room (0: none)", count, "N"),
    Option(("--history-max-age",), "retention.max_age",
           "delete history older than this (0: keep it forever)", non_negative, "DAYS",
           to_config=_days, to_cli=lambda s: (s or 0) / 86400),
    Option(("--history-max-rows",), "retention.rows_per_room",
           "keep at most this many history lines per room (0: no limit)", count, "N",
           to_config=_rows, to_cli=lambda n: n or 0),
    Option(("--max-rooms",), "rules.max_rooms", "rooms that may exist at once",
           positive_int, "N"),
    Option(("--max-rooms-per-user",), "rules.max_rooms_per_user",
           "rooms one user may be in at once", positive_int, "N"),
    Option(("--log-level",), "log_level", "what to log on stderr",
           choices=("debug", "info", "warning", "error")),
    Option(("--admins",), "rules.admins",
           "registered names that are admins once logged in (/kick, /ban, /unban); see "
           "also 'chat-trio user promote'", names, "A,B,..."),
    Option(("--password-memory",), "password_cost.memory_kib",
           "argon2id memory per password hash (at most 2 are computed at once)",
           positive_int, "KIB", commands=("serve", "user"),
           to_config=lambda kib: max(kib, 8 * Cost().parallelism)),
    Option(("--password-time",), "password_cost.time_cost", "argon2id passes per password hash",
           positive_int, "PASSES", commands=("serve", "user")),
    Option(("--metrics-port",), "metrics_port",
           "serve /metrics (Prometheus text), /healthz, /readyz and /tasks for the operator "
           "on this port (0 picks a free one; none by default)", port, "PORT",
           commands=("serve", "tasks")),
    Option(("--metrics-host",), "metrics_host",
           "address of the --metrics-port listener: loopback by default, whatever --host "
           "says (whoever reaches it reads the counts)", metavar="ADDRESS",
           commands=("serve", "tasks")),
    Option(("--trusted-proxy",), "trusted_proxies",
           "a reverse proxy (address or network) whose word on the client's address is "
           "taken, for limits, bans and logs (may be repeated): it must send the PROXY v2 "
           "header on the text and IRC ports; on the web port its X-Forwarded-For or "
           "Forwarded is read", network, "ADDRESS[/BITS]", repeat=True),
    Option(("--redis",), "redis",
           "keep history, accounts and bans in Redis at this URL (redis://HOST:PORT/DB) "
           "instead of the --db file; every node on one Redis, each with its own "
           "--node-name, is part of one chat (docs/storage.md)",
           redis_url, "URL", commands=("serve", "user", "ban")),
    Option(("--node-name",), "node_name",
           "this node's name in the logs and in Redis, unique among the nodes on one Redis "
           "(default: host name and process id)",
           node_name, "NAME"),
)  # fmt: skip
"""Every option there is, in the order ``--help`` shows them."""


def setting(config: Config, field: str) -> Any:
    """The setting at the dotted ``field`` of ``config``."""
    value: Any = config
    for part in field.split("."):
        value = getattr(value, part)
    return value


def with_setting(config: Any, field: str, value: Any) -> Any:
    """``config`` with the setting at the dotted ``field`` replaced by ``value``."""
    first, _, rest = field.partition(".")
    if rest:
        value = with_setting(getattr(config, first), rest, value)
    return attrs.evolve(config, **{first: value})
