"""From what the operator wrote to one ``Config``: command-line flags, ``CHAT_TRIO_<KEY>``
environment variables and a TOML file (``--config FILE``).

Precedence: **flag > environment > file > default.** A flag is the most deliberate (typed
for this run); the environment is what a service manager sets for this host
(``Environment=`` in a systemd unit); the file is the shared, long-lived setting; the
default is ``Config()``.

Every layer is made from the one table of options (``config.OPTIONS``): a key is its flag
without the dashes (``--flood-rate`` is ``flood-rate`` in the file and
``CHAT_TRIO_FLOOD_RATE`` in the environment), and every value passes through the flag's
own parser, so the same value is refused the same way wherever it was written. In the
file, values are TOML's own types (``flood-rate = 2.0``, ``irc-port = 6667``,
``tls-only = true``, ``admins = ["ann", "bob"]``): TOML has numbers, booleans and
arrays, so a wrong type can be named at its line, and a list is never a string to split.
In the environment, values are the flag's text (``CHAT_TRIO_ADMINS=ann,bob``;
switches ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``).

``load(argv, file, environ)`` is the one way from all three to a ``Config``, for
``chat-trio serve`` and for anything that reads them again later (a reload on SIGHUP):
it reads the file anew each time. Errors are ``ConfigError``, one sentence per problem,
naming the file, line and key (or the variable).

I/O here: reading the config file and the ``--motd`` file. Nothing else.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import os
import re
import textwrap
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from chat_trio.config import (
    MOTD_LINES,
    OPTIONS,
    BadValue,
    Config,
    Option,
    count,
    names,
    non_negative,
    port,
    positive_int,
    rooms,
    seconds,
    setting,
    with_setting,
)

ENV_PREFIX = "CHAT_TRIO_"
CONFIG_VARIABLE = "CHAT_TRIO_CONFIG"  #: the config file, where ``--config`` is not given

_TYPES: dict[Callable[[str], Any] | None, tuple[type | tuple[type, ...], str]] = {
    positive_int: (int, "a whole number"),
    port: (int, "a whole number"),
    count: (int, "a whole number"),
    seconds: ((int, float), "a number"),
    non_negative: ((int, float), "a number"),
    names: (list, "a list of names"),
    rooms: (list, "a list of rooms"),
    str: (str, "a string"),
    None: (bool, "true or false"),
}
"""What TOML type each parser of the table takes in a file, and how to name it."""

_TOML_TYPE_NAMES = {bool: "true/false", int: "a whole number", float: "a number", str: "a string"}
_TOML_TYPE_NAMES |= {list: "a list", dict: "a table"}
_SWITCH_WORDS = {"1": True, "true": True, "yes": True, "on": True}
_SWITCH_WORDS |= {"0": False, "false": False, "no": False, "off": False, "": False}


class ConfigError(Exception):
    """The configuration cannot be used; the message says every problem found, one a line."""


def key(option: Option) -> str:
    """The option's key in a file: its flag without the dashes (``flood-rate``)."""
    return option.flags[0].lstrip("-")


def dest(option: Option) -> str:
    return key(option).replace("-", "_")


def variable(option: Option) -> str:
    """The option's environment variable (``CHAT_TRIO_FLOOD_RATE``)."""
    return ENV_PREFIX + key(option).upper().replace("-", "_")


KEYS: dict[str, Option] = {key(option): option for option in OPTIONS}
"""Every option by its key."""


# -- the layers ------------------------------------------------------------------------------


def defaults(config: Config | None = None) -> dict[str, Any]:
    """Every option's value as its parser gives it (``dest`` -> value), from ``config``
    (``Config()``)."""
    config = config or Config()
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.parse is None:
            values[dest(option)] = False
        elif option.field:
            value = option.to_cli(setting(config, option.field))
            values[dest(option)] = sorted(value) if option.repeat else value
        else:
            values[dest(option)] = option.default
    return values


def values(file: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """Every option's value before the flags: the default, then the file's, then the
    environment's (``dest`` -> value as its parser gives it).

    Raises:
      ConfigError: the file cannot be read, is not TOML, or holds unknown keys or values
        of the wrong type or range; a variable's value cannot be.
    """
    merged = defaults()
    if file is not None:
        merged |= read_file(file)
    merged |= from_environ(environ)
    return merged


def read_file(path: str) -> dict[str, Any]:
    """The settings of the TOML file at ``path`` (``dest`` -> value).

    Raises:
      ConfigError: naming the file, and for each bad setting its line and key.
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from exc
    try:
        text = data.decode()
        table = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    lines = _key_lines(text)
    return _gathered(
        (f"{path} line {lines.get(name, '?')}: ", name, partial(_from_toml, name, value))
        for name, value in table.items()
    )


def _gathered(reads: Iterable[tuple[str, str, Callable[[], tuple[str, Any]]]]) -> dict[str, Any]:
    """Each read's (``dest``, value); or, if any is refused, every refusal, each after
    its ``where`` and the key it concerns.

    Raises:
      ConfigError: one line per refusal.
    """
    found: dict[str, Any] = {}
    problems = []
    for where, name, read in reads:
        try:
            option, value = read()
        except BadValue as exc:
            problems.append(f"{where}{name} {exc}" if name in KEYS else f"{where}{exc}")
        else:
            found[option] = value
    if problems:
        raise ConfigError("\n".join(problems))
    return found


_KEY_LINE = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[=.\[\]]""")


def _key_lines(text: str) -> dict[str, int]:
    """Each top-level key's line (1-based): tomllib does not say where a value was."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("["):  # a table: its name is the key
            line = line.lstrip().lstrip("[")
        match = _KEY_LINE.match(line)
        if match:
            lines.setdefault(next(g for g in match.groups() if g is not None), number)
    return lines


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, KEYS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else " (chat-trio config example lists them)"


def _from_toml(name: str, value: Any) -> tuple[str, Any]:
    """The option ``name`` and a file's ``value`` for it, as the flag's parser gives it.

    Raises:
      BadValue: an unknown key, a value of the wrong TOML type, or one the parser refuses.
    """
    option = KEYS.get(name)
    if option is None:
        raise BadValue(f"unknown key {name!r}{_did_you_mean(name)}")
    return dest(option), _toml_value(option, value)


def _toml_value(option: Option, value: Any) -> Any:
    wanted, described = _TYPES.get(option.parse, (str, "a string"))
    if option.repeat:
        wanted, described = list, "a list of strings"
    if isinstance(value, bool) is not (wanted is bool) or not isinstance(value, wanted):
        raise BadValue(f"must be {described}, not {_toml_type(value)} ({_toml(value)})")
    if option.parse is None:
        return value
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise BadValue(f"must be {described}, not {_toml(value)}")
        if option.repeat:
            return [_parsed(option, item) for item in value]
        return _parsed(option, ",".join(value))
    return _parsed(option, str(value))


def _toml_type(value: Any) -> str:
    return next(name for kind, name in _TOML_TYPE_NAMES.items() if isinstance(value, kind))


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings of ``CHAT_TRIO_<KEY>`` variables (``dest`` -> value). Other variables
    with the prefix are not ours to refuse (tests and tools use it too) and are ignored.

    Raises:
      ConfigError: naming each variable whose value cannot be.
    """
    return _gathered(
        (f"environment variable {variable(o)}: ", "", partial(_from_text, o, environ[variable(o)]))
        for o in OPTIONS
        if variable(o) in environ
    )


def _from_text(option: Option, text: str) -> tuple[str, Any]:
    """``option`` and its value in the environment's ``text`` (the flag's text).

    Raises:
      BadValue: the value cannot be.
    """
    if option.parse is None:
        word = text.strip().lower()
        if word not in _SWITCH_WORDS:
            raise BadValue(f"must be 1, true, yes, on or 0, false, no, off, not {text!r}")
        return dest(option), _SWITCH_WORDS[word]
    if option.repeat:
        return dest(option), [_parsed(option, t.strip()) for t in text.split(",") if t]
    return dest(option), _parsed(option, text)


def _parsed(option: Option, text: str) -> Any:
    """``text`` through the option's parser, refused as a sentence.

    Raises:
      BadValue: the parser's own, or a number that is not one.
    """
    assert option.parse is not None
    if option.choices and text not in option.choices:
        raise BadValue(f"must be one of {', '.join(option.choices)}, not {text!r}")
    try:
        return option.parse(text)
    except BadValue:
        raise
    except ValueError:
        _, described = _TYPES.get(option.parse, (str, "a value"))
        raise BadValue(f"must be {described}, not {text!r}") from None


# -- the command line ------------------------------------------------------------------------


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


HELP = _Help
"""The help formatter of every subcommand that takes options."""


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


class _Replace(argparse.Action):
    """A repeatable option: the first one given replaces what the file or environment
    said (flags override them, as every other option's do); the next ones add to it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        given: Any,
        option_string: str | None = None,
    ) -> None:
        items = getattr(namespace, self.dest)
        items = [] if items is self.default else list(items)
        setattr(namespace, self.dest, [*items, given])


def add_options(parser: argparse.ArgumentParser, command: str, values: dict[str, Any]) -> None:
    """The table's rows that ``command`` takes, as arguments of ``parser``, each
    defaulting to ``values`` (``values(file, environ)``), and ``--config``."""
    parser.add_argument(
        "--config", metavar="FILE",
        help=f"read settings from this TOML file (see 'chat-trio config example'); flags "
        f"override it, and so do {ENV_PREFIX}<KEY> environment variables; "
        f"${CONFIG_VARIABLE} names it too",
    )  # fmt: skip
    for option in OPTIONS:
        if command not in option.commands:
            continue
        default = values[dest(option)]
        if option.parse is None:  # a switch
            parser.add_argument(
                *option.flags, dest=dest(option), action="store_true", default=default,
                help=option.help,
            )  # fmt: skip
            continue
        parser.add_argument(
            *option.flags, dest=dest(option), type=_checked(option), metavar=option.metavar,
            action=_Replace if option.repeat else "store", default=default,
            choices=option.choices or None, help=option.help,
        )  # fmt: skip


def config_file(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The config file that ``argv`` (``--config FILE``) or the environment names."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--config")
    known, _ = early.parse_known_args(list(argv))
    given: str | None = known.config
    return given if given is not None else environ.get(CONFIG_VARIABLE)


def configure(args: argparse.Namespace, command: str = "serve") -> Config:
    """The ``Config`` the parsed options of ``command`` say (the table's rows, in order;
    what that subcommand does not take stays as ``Config()`` has it)."""
    config = Config()
    for option in OPTIONS:
        if not option.field or command not in option.commands:
            continue
        value = getattr(args, dest(option))
        if option.parse is None:  # a switch: set only when on
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


def serve_config(args: argparse.Namespace) -> Config:
    """``configure`` for ``serve``, checked whole, with the message of the day read.

    Raises:
      ConfigError: settings that do not go together, or a ``--motd`` file that cannot be
        read.
    """
    config = configure(args)
    _check_together(config)
    if args.motd:
        config = with_setting(config, "irc.motd", read_motd(args.motd))
    return config


def _check_together(config: Config) -> None:
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    if not config.plain and not config.tls_cert:
        raise ConfigError("--tls-only needs --tls-cert and --tls-key")


def read_motd(path: str) -> tuple[str, ...]:
    """The first ``MOTD_LINES`` lines of the message of the day at ``path``.

    Raises:
      ConfigError: it cannot be read.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            # Only what is kept is read (a wrong path to a log file reads no more).
            return tuple(line.rstrip("\r\n") for line in itertools.islice(file, MOTD_LINES))
    except OSError as problem:
        raise ConfigError(f"cannot read --motd {path}: {problem.strerror}") from problem


def serve_parser(values: dict[str, Any], parser: argparse.ArgumentParser | None = None) -> Any:
    """``chat-trio serve``'s parser (``parser``, or a new one), its defaults ``values``."""
    parser = parser or argparse.ArgumentParser(prog="chat-trio serve", formatter_class=HELP)
    parser.description = "Run the chat server until Ctrl-C or SIGTERM (a second one stops at once)."
    add_options(parser, "serve", values)
    return parser


def load(
    argv: Sequence[str], file: str | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """The ``Config`` that ``chat-trio serve ARGV`` runs with: ``argv`` (serve's own
    arguments), the config ``file`` (None: the one ``argv`` or ``environ`` names, if
    any), read now, and ``environ`` (None: ``os.environ``).

    Raises:
      ConfigError: what is wrong, naming the file, line and key or the variable.
      SystemExit: ``argv`` itself is wrong (argparse says why, with the usage), or asks
        for ``--help``.
    """
    environ = os.environ if environ is None else environ
    file = file if file is not None else config_file(argv, environ)
    args = serve_parser(values(file, environ)).parse_args(list(argv))
    return serve_config(args)


# -- chat-trio config example / check ------------------------------------------------------


def example() -> str:
    """A config file with every option, each commented out at its default, with its help."""
    out = [
        "# chat-trio configuration (TOML): chat-trio serve --config FILE",
        "#",
        "# Each key is a `chat-trio serve` option without its dashes. Values are TOML's own",
        '# types: numbers, true/false, "strings", ["lists", "of", "names"]. Flags override',
        "# this file, and so do CHAT_TRIO_<KEY> environment variables (flag > environment >",
        "# file > default). Every option is here, commented out at its default.",
    ]
    base = defaults()
    for option in OPTIONS:
        out.append("")
        out += textwrap.wrap(option.help, 86, initial_indent="# ", subsequent_indent="# ")
        value = base[dest(option)]
        if value is None:
            out.append(f"# {key(option)}: not set by default (e.g. {_sample(option)})")
        else:
            out.append(f"# {key(option)} = {_toml(value)}")
    return "\n".join(out) + "\n"


def _sample(option: Option) -> str:
    metavar = option.metavar or "TEXT"
    return f"{key(option)} = " + ("6667" if metavar == "PORT" else json.dumps(metavar))


def _toml(value: Any) -> str:
    """``value`` as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, frozenset, set, tuple)):
        return "[" + ", ".join(_toml(v) for v in sorted(value)) + "]"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string, for what we write


def check(path: str) -> str:
    """What ``chat-trio config check FILE`` prints when the file is right: each setting it
    makes, as ``serve`` would take it.

    Raises:
      ConfigError: what is wrong with it.
    """
    found = read_file(path)
    merged = defaults() | found
    serve_config(argparse.Namespace(**merged))  # the settings that must go together
    if not found:
        return f"{path}: valid, and sets nothing (every option keeps its default)."
    shown = [f"  {key(o)} = {_toml(found[dest(o)])}" for o in OPTIONS if dest(o) in found]
    return f"{path}: valid; {len(found)} of {len(OPTIONS)} options set:\n" + "\n".join(shown)
