"""The command line: ``chat-trio serve ...`` (also ``python -m chat_trio serve ...``),
``chat-trio user ...``, ``chat-trio ban ...``, ``chat-trio tasks`` and ``chat-trio config ...``.

Every subcommand's options come from one table (``config.OPTIONS``), each default from
``Config()``, a config file or the environment (settings.py turns all three into a
``Config``); this module builds the parsers, dispatches, and runs ``server.run``.
Nothing else imports this.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import os
import resource
import sys
import time
from functools import partial
from typing import Any

import trio

from chat_trio import __version__, bans, settings, tasks, users
from chat_trio.config import Config, default_db_path, with_setting
from chat_trio.doors.commands import duration
from chat_trio.entrances import StartupError
from chat_trio.server import run

log = logging.getLogger("chat_trio.server")


def build_parser(values: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    """The whole command line; options default to ``values`` (``settings.values``: a
    config file's and the environment's), or to ``Config()``."""
    values = values if values is not None else settings.defaults()
    parser = argparse.ArgumentParser(
        prog="chat-trio",
        description="A multi-client chat server you reach with nc, telnet, IRC or a browser.",
    )
    parser.add_argument("--version", action="version", version=f"chat-trio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the chat server", formatter_class=settings.HELP)
    serve.set_defaults(subparser=serve)  # its own usage, for the errors main() finds
    settings.serve_parser(values, serve)
    user = _tool(
        commands, "user", users.ACTIONS, values,
        help="manage accounts in the database",
        description="List, add, change or delete accounts in the database, or make one an "
        "admin. A password is asked for on the terminal, or read as one line from standard "
        "input. A running server sees each change within a few seconds.",
    )  # fmt: skip
    user.add_argument(
        "name", nargs="?",
        help="the account's name; for list, which to list: a glob (*, ?, [...]), "
        "case-insensitive, or the start of the names",
    )  # fmt: skip
    ban = _tool(
        commands, "ban", bans.ACTIONS, values,
        help="list, add or lift bans in the database",
        description="List the bans, ban an IP address or an account (for a while or for "
        "good), or lift a ban. A running server applies each change within a few seconds, "
        "and whoever a new ban matches is disconnected. A ban on the address you are "
        "connected from (over SSH, or a loopback address) needs --force.",
    )  # fmt: skip
    ban.add_argument("target", nargs="?", help="an IP address, or an account's name")
    ban.add_argument(
        "--for", dest="length", type=_duration, metavar="DURATION", default=math.inf,
        help="how long: 90s, 30m, 12h, 7d (default: forever)",
    )  # fmt: skip
    ban.add_argument("--reason", default="", help="why, as the banned are told it")
    ban.add_argument(
        "--force", action="store_true", help="ban even the address you are connected from"
    )
    tree = commands.add_parser(
        "tasks", formatter_class=settings.HELP, help="show a running server's task tree",
        description="Ask a running server, on its operator's port (--metrics-port), for "
        "its task tree as it is now: every task, alike siblings counted on one line. "
        "From this machine no password is needed; from elsewhere, an admin's.",
    )  # fmt: skip
    tree.set_defaults(subparser=tree)
    settings.add_options(tree, "tasks", values)
    tree.add_argument(
        "--admin", metavar="NAME",
        help="ask as this admin's account; its password is asked for on the terminal, or "
        "read as one line from standard input",
    )  # fmt: skip
    config = commands.add_parser(
        "config",
        help="write or check a config file",
        description="'example' prints a config file with every option at its default; "
        "'check FILE' says whether FILE is right, and what it sets.",
    )
    config.add_argument("action", choices=("example", "check"), help="what to do")
    config.add_argument("file", nargs="?", help="the file to check")
    config.set_defaults(subparser=config)
    return parser


def _tool(
    commands: Any, name: str, actions: tuple[str, ...], values: dict[str, Any], **about: str
) -> argparse.ArgumentParser:
    """A subcommand of the operator's that works on the database (``user``, ``ban``):
    an action, then the options of the table it takes (``--db``, ``--config``, ...)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, formatter_class=settings.HELP, **about
    )
    parser.add_argument("action", choices=actions, help="what to do")
    parser.set_defaults(subparser=parser)  # its own usage, for the errors main() finds
    settings.add_options(parser, name, values)
    return parser


def configure(args: argparse.Namespace) -> Config:
    """The ``Config`` the parsed options of ``args.command`` say (``settings.configure``)."""
    return settings.configure(args, args.command)


def _duration(text: str) -> float:
    seconds = duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"say how long as 90s, 30m, 12h or 7d, not {text!r}")
    return seconds


SPARE_FILES = 64
"""Descriptors the server needs besides one per client: listeners, the history database
and its journal, epoll, trio's wake-up socket pair, a client being refused."""

GC_THRESHOLDS = (50_000, 20, 10)
"""The garbage collector's thresholds (CPython's default is 700, 10, 10). A chat server
keeps what it allocates for as long as a connection lives, so while thousands join each
collection finds only survivors; sessions leave no reference cycles behind, so collecting
rarely costs no memory (docs/benchmarks.md, issue 11)."""


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


def _read_again(argv: list[str], created: str) -> Config:
    """The settings ``chat-trio serve ARGV`` runs with, read again (a reload: SIGHUP):
    the config file and environment as they are now, the same flags."""
    config: Config = with_setting(settings.load(argv), "irc.created", created)
    return config


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:  # a config file's values, and the environment's, are every command's defaults
        file = settings.config_file(argv, os.environ) if argv[:1] != ["config"] else None
        values = settings.values(file, os.environ)
    except settings.ConfigError as problem:
        _say(problem)
        return 2
    parser = build_parser(values)
    args = parser.parse_args(argv)
    if args.command == "config":
        return _config(args)
    try:
        config = settings.serve_config(args) if args.command == "serve" else configure(args)
    except settings.ConfigError as problem:
        args.subparser.error(str(problem))
    if args.command == "tasks":
        return tasks.ask(config.metrics_host, config.metrics_port, args.admin)
    default_place = args.command != "serve" and args.db == default_db_path()
    if args.command == "user":
        return users.run(
            args.action,
            args.name,
            args.db,
            config.password_cost,
            make_folder=default_place,
            redis=config.redis,
        )
    if args.command == "ban":
        return bans.run(
            args.action, args.target, args.db, seconds=args.length, reason=args.reason,
            force=args.force, make_folder=default_place, redis=config.redis,
        )  # fmt: skip
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # coredis logs each connection attempt that our deadline cancels (a hung Redis) as an
    # ERROR with its traceback; every such failure is ours to say, in one line, already.
    logging.getLogger("coredis").setLevel(logging.CRITICAL)
    created = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    config = with_setting(config, "irc.created", created)
    _raise_file_limit(config.limits.max_clients)
    _tune_gc()
    status = 1
    try:
        status = trio.run(run, config, partial(_read_again, argv[1:], created))
    except* StartupError as group:
        for exc in group.exceptions:
            print(f"chat-trio: {exc}", file=sys.stderr)
    except* KeyboardInterrupt:  # a Ctrl-C that arrived as the server was finishing anyway
        status = 130
    return status


def _config(args: argparse.Namespace) -> int:
    """``chat-trio config example`` and ``chat-trio config check FILE``."""
    if args.action == "example":
        print(settings.example(), end="")
        return 0
    if not args.file:
        args.subparser.error("which file? chat-trio config check FILE")
    try:
        print(settings.check(args.file))
    except settings.ConfigError as problem:
        _say(problem)
        return 1
    return 0


def _say(problem: settings.ConfigError) -> None:
    """Each problem on a line of its own, as every error of ours is said."""
    for line in str(problem).splitlines():
        print(f"chat-trio: {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
