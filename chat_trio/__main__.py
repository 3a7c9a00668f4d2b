"""The command line: ``chat-trio serve ...`` (also ``python -m chat_trio serve ...``) and
``chat-trio user ...``.

Both subcommands' options come from one table (``config.OPTIONS``), each default from
``Config()``; this module turns the table into parsers, the parsed values into a
``Config``, and runs ``server.run``. Nothing else imports this.
"""

from __future__ import annotations

import argparse
import gc
import logging
import resource
import sys
import time
from typing import Any

import trio

from chat_trio import __version__, users
from chat_trio.config import MOTD_LINES, OPTIONS, BadValue, Config, Option, setting, with_setting
from chat_trio.entrances import StartupError
from chat_trio.server import run

log = logging.getLogger("chat_trio.server")


class _Help(argparse.HelpFormatter):
    """Help that shows each default as a person would type it, and none where there is
    nothing to show (a switch that is off, an option that is unset or empty)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or default is None
            or default is False
            or default == argparse.SUPPRESS
            or (isinstance(default, (list, frozenset, set, tuple)) and not default)
            or not action.option_strings
        ):
            return text
        if isinstance(default, (list, frozenset, set, tuple)):
            shown = ",".join(sorted(str(x) for x in default))
        else:
            shown = f"{default:g}" if isinstance(default, float) else str(default)
        return f"{text} (default: {shown})"


def _checked(option: Option) -> Any:
    """The option's parser, its refusals said as argparse says them."""
    parse = option.parse
    assert parse is not None

    def checked(text: str) -> Any:
        try:
            return parse(text)
        except BadValue as problem:
            raise argparse.ArgumentTypeError(str(problem)) from None

    checked.__name__ = getattr(parse, "__name__", "value")  # argparse names it in errors
    return checked


def _add(parser: argparse.ArgumentParser, option: Option, defaults: Config) -> None:
    """One row of the table as an argument of ``parser``."""
    dest = option.flags[0].lstrip("-").replace("-", "_")
    if option.parse is None:  # a switch
        parser.add_argument(*option.flags, dest=dest, action="store_true", help=option.help)
        return
    default = option.to_cli(setting(defaults, option.field)) if option.field else option.default
    parser.add_argument(
        *option.flags, dest=dest, type=_checked(option), metavar=option.metavar,
        action="append" if option.repeat else "store",
        default=sorted(default) if option.repeat else default,
        choices=option.choices or None, help=option.help,
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-trio",
        description="A multi-client chat server you reach with nc, telnet, IRC or a browser.",
    )
    parser.add_argument("--version", action="version", version=f"chat-trio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the chat server",
        description="Run the chat server until Ctrl-C or SIGTERM (a second one stops at once).",
        formatter_class=_Help,
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
    defaults = Config()
    for option in OPTIONS:
        for name, subparser in (("serve", serve), ("user", user)):
            if name in option.commands:
                _add(subparser, option, defaults)
    return parser


def configure(args: argparse.Namespace) -> Config:
    """The ``Config`` the parsed options of ``args.command`` say (the table's rows, in
    order; what that subcommand does not take stays as ``Config()`` has it)."""
    config = Config()
    for option in OPTIONS:
        if not option.field or args.command not in option.commands:
            continue
        value = getattr(args, option.flags[0].lstrip("-").replace("-", "_"))
        if option.parse is None:  # a switch: set only when given
            if not value:
                continue
            value = option.switch
        elif option.repeat:
            value = frozenset(value)
        else:
            value = option.to_config(value)
        for field in (option.field, *option.also):
            config = with_setting(config, field, value)
    return config


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "user":
        config = configure(args)
        return users.run(args.action, args.name, args.db, config.password_cost)
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
    config = configure(args)
    motd: tuple[str, ...] = ()
    if args.motd:
        try:
            with open(args.motd, encoding="utf-8", errors="replace") as file:
                motd = tuple(line.rstrip("\r\n") for line in file)[:MOTD_LINES]
        except OSError as problem:
            serve_parser.error(f"cannot read --motd {args.motd}: {problem.strerror}")
    created = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    config = with_setting(config, "irc.motd", motd)
    config = with_setting(config, "irc.created", created)
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
