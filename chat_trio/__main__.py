"""The command line: ``chat-trio serve ...`` (also ``python -m chat_trio serve ...``).

Parses arguments into a ``Config`` and runs ``server.run``. Nothing else imports this.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import resource
import socket
import sys
import time

import trio

from chat_trio import __version__, users
from chat_trio.chat.limits import Limits
from chat_trio.chat.vocabulary import name_key
from chat_trio.chat.world import DEFAULT_RESERVED_NAMES, Rules
from chat_trio.config import (
    DEFAULT_GRACE,
    DEFAULT_IRC_TLS_PORT,
    DEFAULT_PORT,
    DEFAULT_WEB_PORT,
    DEFAULT_WEB_TLS_PORT,
    MOTD_LINES,
    Config,
)
from chat_trio.delivery.outbox import DEFAULT_MAX_QUEUE_BYTES
from chat_trio.delivery.session import DEFAULT_WRITE_TIMEOUT
from chat_trio.doors.irc.render import IrcSettings
from chat_trio.doors.keepalive import KeepaliveSettings
from chat_trio.doors.lines import DEFAULT_MAX_LINE
from chat_trio.entrances import StartupError
from chat_trio.passwords import Cost
from chat_trio.server import run
from chat_trio.storage.store import Retention
from chat_trio.transports.tls import DEFAULT_TLS_PORT

log = logging.getLogger("chat_trio.server")


def default_db_path() -> str:
    """Where history lives unless ``--db`` says otherwise: the user's data directory
    (``$XDG_DATA_HOME/chat-trio/chat.db``, by default ``~/.local/share/chat-trio/chat.db``)."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(data, "chat-trio", "chat.db")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _names(text: str) -> frozenset[str]:
    return frozenset(name_key(name.strip()) for name in text.split(",") if name.strip())


class _Help(argparse.HelpFormatter):
    """Help that shows each default as a person would type it, and none where there is
    nothing to show (a switch that is off, an option that is unset or empty)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or default in (None, False, argparse.SUPPRESS)
            or (isinstance(default, (list, frozenset, set, tuple)) and not default)
            or not action.option_strings
        ):
            return text
        if isinstance(default, (list, frozenset, set, tuple)):
            shown = ",".join(sorted(str(x) for x in default))
        else:
            shown = f"{default:g}" if isinstance(default, float) else str(default)
        return f"{text} (default: {shown})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-trio",
        description="A multi-client chat server you reach with nc or telnet.",
    )
    parser.add_argument("--version", action="version", version=f"chat-trio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the chat server",
        description="Run the chat server until Ctrl-C or SIGTERM (a second one stops at once).",
        formatter_class=_Help,
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 or :: for every interface",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="TCP port; 0 picks a free one and prints it",
    )
    serve.add_argument(
        "--max-line",
        type=_positive_int,
        default=DEFAULT_MAX_LINE,
        metavar="BYTES",
        help="longest input line; longer lines are refused",
    )
    serve.add_argument(
        "--send-queue",
        type=_positive_int,
        default=DEFAULT_MAX_QUEUE_BYTES,
        metavar="BYTES",
        help="bytes queued for one client before it is disconnected as too slow",
    )
    serve.add_argument(
        "--grace",
        type=_seconds,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help="at shutdown, time given to clients to receive what is queued",
    )
    serve.add_argument(
        "--name-timeout",
        type=_seconds,
        default=Rules().name_timeout,
        metavar="SECONDS",
        help="time a new client has to pick a valid username",
    )
    serve.add_argument(
        "--name-attempts",
        type=_positive_int,
        default=Rules().name_attempts,
        metavar="N",
        help="invalid usernames before the connection is closed",
    )
    serve.add_argument(
        "--reserved-names",
        type=_names,
        default=",".join(sorted(DEFAULT_RESERVED_NAMES)),
        metavar="A,B,...",
        help="usernames nobody may take (case-insensitive)",
    )
    limits = Limits()
    serve.add_argument(
        "--max-clients",
        type=_positive_int,
        default=limits.max_clients,
        metavar="N",
        help="connections at once; above it newcomers get 'Server full, try later.' and are closed",
    )
    serve.add_argument(
        "--max-per-address",
        type=_count,
        default=limits.max_per_address,
        metavar="N",
        help="concurrent connections per client address (0: no limit)",
    )
    serve.add_argument(
        "--connect-burst",
        type=_positive_int,
        default=limits.connect_burst,
        metavar="N",
        help="connection attempts per address at once",
    )
    serve.add_argument(
        "--connect-rate",
        type=_non_negative,
        default=limits.connect_rate,
        metavar="PER_SECOND",
        help="connection attempts per second per address after the burst (0: no limit)",
    )
    serve.add_argument(
        "--limit-loopback",
        action="store_true",
        help="apply the per-address limits to 127.0.0.1 and ::1 too (by default "
        "they are exempt, for local tests and benchmarks)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=_non_negative,
        default=Rules().idle_timeout,
        metavar="SECONDS",
        help="disconnect users who send nothing for this long (0: never)",
    )
    serve.add_argument(
        "--write-timeout",
        type=_seconds,
        default=DEFAULT_WRITE_TIMEOUT,
        metavar="SECONDS",
        help="a write to a client blocked this long cuts it as too slow",
    )
    serve.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="PEM certificate (chain) for a TLS listener; needs --tls-key",
    )
    serve.add_argument("--tls-key", metavar="FILE", help="PEM private key for --tls-cert")
    serve.add_argument(
        "--tls-port", type=_port, default=DEFAULT_TLS_PORT, help="port of the TLS listener"
    )
    serve.add_argument(
        "--tls-only",
        action="store_true",
        help="no plain-text listener, only TLS (needs --tls-cert)",
    )
    serve.add_argument(
        "--irc-port",
        type=_port,
        help="also let IRC clients in on this port (6667 is usual; 0 picks a free one)",
    )
    serve.add_argument(
        "--irc-tls-port",
        type=_port,
        default=DEFAULT_IRC_TLS_PORT,
        help="with --irc-port and --tls-cert: IRC over TLS on this port",
    )
    serve.add_argument(
        "--web-port",
        type=_port,
        default=DEFAULT_WEB_PORT,
        help="serve the chat page here (0 picks a free port; the URL is printed)",
    )
    serve.add_argument(
        "--web-tls-port",
        type=_port,
        default=DEFAULT_WEB_TLS_PORT,
        help="with --tls-cert: the page over https:// on this port",
    )
    serve.add_argument("--no-web", action="store_true", help="do not serve the page")
    serve.add_argument(
        "--web-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another site whose pages may open the chat, as https://example.org (may be "
        "repeated); the page's own origin always may",
    )
    serve.add_argument(
        "--server-name",
        default=socket.gethostname(),
        help="the server's name in IRC prefixes, 004 and WHOIS",
    )
    serve.add_argument(
        "--motd", metavar="FILE", help="message of the day for IRC clients (none: 422)"
    )
    serve.add_argument(
        "--ping-interval",
        type=_seconds,
        default=KeepaliveSettings().ping_interval,
        help="seconds of silence before the server pings an IRC or web client; no answer within "
        f"{KeepaliveSettings().ping_timeout:g} s more drops it",
    )
    serve.add_argument(
        "--unicode-names",
        action="store_true",
        help="allow letters and digits of every script in usernames (off: ASCII only, so no "
        "two names can look alike)",
    )
    serve.add_argument(
        "--flood-burst",
        type=_positive_int,
        default=Rules().flood_burst,
        metavar="N",
        help="flood control: lines a user may send at once",
    )
    serve.add_argument(
        "--flood-rate",
        type=_non_negative,
        default=Rules().flood_rate,
        metavar="LINES_PER_S",
        help="flood control: lines per second after the burst; faster lines are delayed "
        "(0: no flood control, e.g. for benchmarks)",
    )
    serve.add_argument(
        "--flood-queue",
        type=_positive_int,
        default=Rules().flood_queue,
        metavar="N",
        help="flood control: delayed lines that may wait; one more disconnects the user",
    )
    serve.add_argument(
        "--db",
        default=default_db_path(),
        metavar="PATH",
        help="SQLite file for history (created if missing; ':memory:' keeps it in memory "
        "only, until the server stops)",
    )
    serve.add_argument(
        "--no-db",
        action="store_true",
        help="no database: rooms keep their recent lines in memory only (no /history, "
        "nothing survives a restart)",
    )
    serve.add_argument(
        "--history-lines",
        type=_count,
        default=Rules().history_lines,
        metavar="N",
        help="conversation lines shown on joining a room (0: none)",
    )
    serve.add_argument(
        "--history-max-age",
        type=_non_negative,
        default=(Retention().max_age or 0) / 86400,
        metavar="DAYS",
        help="delete history older than this (0: keep it forever)",
    )
    serve.add_argument(
        "--history-max-rows",
        type=_count,
        default=Retention().rows_per_room,
        metavar="N",
        help="keep at most this many history lines per room (0: no limit)",
    )
    serve.add_argument(
        "--max-rooms",
        type=_positive_int,
        default=Rules().max_rooms,
        metavar="N",
        help="rooms that may exist at once",
    )
    serve.add_argument(
        "--max-rooms-per-user",
        type=_positive_int,
        default=Rules().max_rooms_per_user,
        metavar="N",
        help="rooms one user may be in at once",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="what to log on stderr",
    )
    serve.add_argument(
        "--admins",
        type=_names,
        default=frozenset(),
        metavar="A,B,...",
        help="registered names that are admins once logged in (/kick, /ban, /unban); "
        "see also 'chat-trio user promote'",
    )
    serve.add_argument(
        "--password-memory",
        type=_positive_int,
        default=Cost().memory_kib,
        metavar="KIB",
        help="argon2id memory per password hash (at most 2 are computed at once)",
    )
    serve.add_argument(
        "--password-time",
        type=_positive_int,
        default=Cost().time_cost,
        metavar="PASSES",
        help="argon2id passes per password hash",
    )
    serve.set_defaults(subparser=serve)  # its own usage, for the errors main() finds
    user = commands.add_parser(
        "user",
        help="manage accounts in the database",
        description="List, add, change or delete accounts in the database, or make one an "
        "admin. A password is asked for on the terminal, or read as one line from standard "
        "input. A running server sees each change within a few seconds.",
        formatter_class=_Help,
    )
    user.add_argument("action", choices=users.ACTIONS, help="what to do")
    user.add_argument("name", nargs="?", help="the account's name (not for list)")
    user.add_argument("--db", default=default_db_path(), metavar="PATH", help="the database")
    user.add_argument(
        "--password-memory", type=_positive_int, default=Cost().memory_kib, metavar="KIB",
        help="argon2id memory for a new password's hash (as serve's option)",
    )  # fmt: skip
    user.add_argument(
        "--password-time", type=_positive_int, default=Cost().time_cost, metavar="PASSES",
        help="argon2id passes for a new password's hash",
    )  # fmt: skip
    return parser


SPARE_FILES = 64
"""Descriptors the server needs besides one per client: listeners, the history database
and its journal, epoll, trio's wake-up socket pair, a client being refused."""

GC_THRESHOLDS = (50_000, 20, 10)
"""The garbage collector's thresholds (CPython's default is 700, 10, 10). A chat server
keeps what it allocates for as long as a connection lives, so while thousands join, each
young collection finds only survivors, and every collection of the oldest generation goes
through all of them: with the default, 10,000 clients joining spent 2.5 to 3.4 s of their
5 to 7 s in 13 or 14 full collections (docs/benchmarks.md, issue 11). Sessions leave no
reference cycles behind (checked: 0 unreachable objects after 2,000 sessions on each
door), so collecting rarely costs no memory; a young collection of 50,000 objects takes
about 20 ms, and comes about once per 500 to 1,000 joins (once in the whole steady
benchmark)."""


def _tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def _raise_file_limit(max_clients: int) -> None:
    """Every connection is a descriptor: raise the soft limit to the hard one, say so, and
    warn when ``--max-clients`` needs more than the limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:  # e.g. an "unlimited" hard limit on macOS
            log.warning("open-file-limit-unchanged soft=%d hard=%d error=%r", soft, hard, str(exc))
        else:
            log.info("open-file-limit raised from=%d to=%d", soft, hard)
            soft = hard
    if max_clients + SPARE_FILES > soft:
        log.warning(
            "max-clients-above-open-file-limit max_clients=%d open_file_limit=%d fits=%d "
            "fix='raise the hard limit (ulimit -Hn, or LimitNOFILE= under systemd), "
            "or lower --max-clients'",
            max_clients, soft, max(soft - SPARE_FILES, 0),
        )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "user":
        cost = Cost(time_cost=args.password_time, memory_kib=max(args.password_memory, 32))
        return users.run(args.action, args.name, args.db, cost)
    serve_parser: argparse.ArgumentParser = args.subparser
    if bool(args.tls_cert) != bool(args.tls_key):
        serve_parser.error("--tls-cert and --tls-key go together")
    if args.tls_only and not args.tls_cert:
        serve_parser.error("--tls-only needs --tls-cert and --tls-key")
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    motd: tuple[str, ...] = ()
    if args.motd:
        try:
            with open(args.motd, encoding="utf-8", errors="replace") as file:
                motd = tuple(line.rstrip("\r\n") for line in file)[:MOTD_LINES]
        except OSError as problem:
            serve_parser.error(f"cannot read --motd {args.motd}: {problem.strerror}")
    config = Config(
        host=args.host,
        port=args.port,
        rules=Rules(
            max_line=args.max_line,
            reserved_names=args.reserved_names,
            name_attempts=args.name_attempts,
            name_timeout=args.name_timeout,
            unicode_names=args.unicode_names,
            idle_timeout=args.idle_timeout,
            max_rooms_per_user=args.max_rooms_per_user,
            max_rooms=args.max_rooms,
            history_lines=args.history_lines,
            flood_burst=args.flood_burst,
            flood_rate=args.flood_rate,
            flood_queue=args.flood_queue,
            admins=args.admins,
        ),
        max_queue_bytes=args.send_queue,
        grace=args.grace,
        limits=Limits(
            max_clients=args.max_clients,
            max_per_address=args.max_per_address,
            connect_burst=args.connect_burst,
            connect_rate=args.connect_rate,
            exempt_loopback=not args.limit_loopback,
        ),
        write_timeout=args.write_timeout,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_port=args.tls_port,
        plain=not args.tls_only,
        irc_port=args.irc_port,
        irc_tls_port=args.irc_tls_port,
        irc=IrcSettings(
            server_name=args.server_name,
            network=args.server_name,
            motd=motd,
            created=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            max_rooms_per_user=args.max_rooms_per_user,
        ),
        web_port=None if args.no_web else args.web_port,
        web_tls_port=args.web_tls_port,
        web_origins=frozenset(args.web_origin),
        keepalive=KeepaliveSettings(ping_interval=args.ping_interval),
        db=None if args.no_db else args.db,
        password_cost=Cost(
            time_cost=args.password_time,
            memory_kib=max(args.password_memory, 8 * Cost().parallelism),
        ),
        retention=Retention(
            max_age=args.history_max_age * 86400 or None,
            rows_per_room=args.history_max_rows or None,
        ),
    )
    _raise_file_limit(config.limits.max_clients)
    _tune_gc()
    status = 1
    try:
        status = trio.run(run, config)
    except* StartupError as group:
        for exc in group.exceptions:
            print(f"chat-trio: {exc}", file=sys.stderr)
    except* KeyboardInterrupt:  # a Ctrl-C that arrived as the server was finishing anyway
        status = 130
    return status


if __name__ == "__main__":
    sys.exit(main())
