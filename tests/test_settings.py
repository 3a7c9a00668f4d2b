"""settings.py: a config file, the environment and the flags, into one ``Config``."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from chat_trio.config import OPTIONS, Config
from chat_trio.settings import ConfigError, check, example, load


def write(folder: Path, text: str, name: str = "chat-trio.toml") -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def test_settings_a_file_sets_every_kind_of_option(tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("Be nice.\n")
    file = write(
        tmp_path,
        f"""
        # a comment
        flood-rate = 0.5
        irc-port = 6667
        admins = ["Ann", "bob"]
        web-origin = ["https://a.example"]
        tls-only = false
        unicode-names = true
        no-web = true
        history-max-age = 7
        server-name = "irc.example"
        log-level = "warning"
        motd = "{motd}"
        """,
    )
    config = load([], file, {})
    assert (config.rules.flood_rate, config.irc_port, config.web_port) == (0.5, 6667, None)
    assert config.rules.admins == {"ann", "bob"}
    assert config.web_origins == {"https://a.example"} and config.plain
    assert config.rules.unicode_names and config.retention.max_age == 7 * 86400
    assert (config.irc.server_name, config.irc.network) == ("irc.example", "irc.example")
    assert (config.log_level, config.irc.motd) == ("warning", ("Be nice.",))


def test_settings_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    file = write(tmp_path, 'flood-rate = 1.0\nflood-burst = 3\nport = 9000\nadmins = ["ann"]\n')
    environ = {"CHAT_TRIO_FLOOD_BURST": "4", "CHAT_TRIO_PORT": "9001"}
    config = load(["--port", "9002"], file, environ)
    assert config.rules.flood_rate == 1.0  # the file
    assert config.rules.flood_burst == 4  # the environment over the file
    assert config.port == 9002  # the flag over both
    assert config.rules.admins == {"ann"} and config.max_line == Config().max_line  # default
    # A repeated flag replaces the file's list, as every flag replaces the file's value.
    origins = write(tmp_path, 'web-origin = ["https://file.example"]\n', "o.toml")
    given = load(["--web-origin", "https://a.example", "--web-origin", "https://b.example"],
                 origins, {})  # fmt: skip
    assert given.web_origins == {"https://a.example", "https://b.example"}
    assert load([], origins, {}).web_origins == {"https://file.example"}


def test_settings_argv_or_the_environment_names_the_file(tmp_path: Path) -> None:
    file = write(tmp_path, "max-line = 512\n")
    assert load(["--config", file], None, {}).max_line == 512
    assert load([], None, {"CHAT_TRIO_CONFIG": file}).max_line == 512
    assert load([], None, {}) == Config()


def test_settings_environment_values_are_the_flags_text(tmp_path: Path) -> None:
    environ = {
        "CHAT_TRIO_ADMINS": "ann,bob",
        "CHAT_TRIO_TLS_ONLY": "0",
        "CHAT_TRIO_UNICODE_NAMES": "yes",
        "CHAT_TRIO_WEB_ORIGIN": "https://a.example,https://b.example",
        "CHAT_TRIO_SCREENSHOTS": "/elsewhere",  # not an option: another tool's, ignored
    }
    config = load([], None, environ)
    assert config.rules.admins == {"ann", "bob"} and config.plain and config.rules.unicode_names
    assert config.web_origins == {"https://a.example", "https://b.example"}
    with pytest.raises(ConfigError) as bad:
        load([], None, {"CHAT_TRIO_PORT": "eighty", "CHAT_TRIO_NO_WEB": "maybe"})
    assert str(bad.value).splitlines() == [
        "environment variable CHAT_TRIO_PORT: must be a whole number, not 'eighty'",
        "environment variable CHAT_TRIO_NO_WEB: must be 1, true, yes, on or 0, false, no, "
        "off, not 'maybe'",
    ]


def test_settings_unknown_keys_and_wrong_types_are_named_with_their_line(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        'host = "0.0.0.0"\n'
        'flood-rate = "2"\n'
        "\n"
        "flod-burst = 3\n"
        "port = 70000\n"
        'admins = "ann,bob"\n'
        "tls-only = 1\n"
        "irc-port = true\n"
        'log-level = "loud"\n'
        "[web]\n"
        "port = 1\n",
    )
    with pytest.raises(ConfigError) as bad:
        load([], file, {})
    assert str(bad.value).splitlines() == [
        f'{file} line 2: flood-rate must be a number, not a string ("2")',
        f"{file} line 4: unknown key 'flod-burst' (did you mean 'flood-burst'?)",
        f"{file} line 5: port must be 0-65535, not 70000",
        f'{file} line 6: admins must be a list of names, not a string ("ann,bob")',
        f"{file} line 7: tls-only must be true or false, not a whole number (1)",
        f"{file} line 8: irc-port must be a whole number, not true/false (true)",
        f"{file} line 9: log-level must be one of debug, info, warning, error, not 'loud'",
        f"{file} line 10: unknown key 'web' (did you mean 'no-web'?)",
    ]


def test_settings_irc_autojoin_lists_channels_in_order_and_empty_is_none(tmp_path: Path) -> None:
    assert Config().irc.autojoin == ("#lobby",)
    assert load(["--irc-autojoin", "#help, #Lobby,#help"], None, {}).irc.autojoin == (
        "#help",
        "#Lobby",
    )  # in order, each once
    assert load(["--irc-autojoin", ""], None, {}).irc.autojoin == ()
    assert load([], None, {"CHAT_TRIO_IRC_AUTOJOIN": ""}).irc.autojoin == ()
    file = write(tmp_path, 'irc-autojoin = ["#rust", "#go"]\n')
    assert load([], file, {}).irc.autojoin == ("#rust", "#go")
    assert load([], write(tmp_path, "irc-autojoin = []\n", "none.toml"), {}).irc.autojoin == ()
    bad = write(tmp_path, 'irc-autojoin = "#rust"\nirc-autojoin-x = 1\n', "bad.toml")
    with pytest.raises(ConfigError) as refused:
        load([], bad, {"CHAT_TRIO_IRC_AUTOJOIN": "lobby"})
    assert str(refused.value).splitlines()[:2] == [
        f'{bad} line 1: irc-autojoin must be a list of rooms, not a string ("#rust")',
        f"{bad} line 2: unknown key 'irc-autojoin-x' (did you mean 'irc-autojoin'?)",
    ]
    with pytest.raises(ConfigError) as refused:
        load([], None, {"CHAT_TRIO_IRC_AUTOJOIN": "#ok,lobby"})
    assert str(refused.value) == (
        "environment variable CHAT_TRIO_IRC_AUTOJOIN: 'lobby' is not a room name "
        "('#' and 1-32 ASCII letters, digits, '_' or '-')"
    )
    many = ",".join(f"#r{n}" for n in range(21))
    with pytest.raises(ConfigError, match="lists 21 rooms; a user may be in 20 at most"):
        load([], None, {"CHAT_TRIO_IRC_AUTOJOIN": many})


def test_settings_a_file_that_is_not_toml_or_not_there_says_so(tmp_path: Path) -> None:
    file = write(tmp_path, "port = = 1\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(file)}: not valid TOML: .*line 1"):
        load([], file, {})
    with pytest.raises(ConfigError) as missing:
        load([], str(tmp_path / "nope.toml"), {})
    assert str(missing.value) == (
        f"cannot read the config file {tmp_path / 'nope.toml'}: No such file or directory"
    )


def test_settings_what_must_go_together_is_checked_wherever_it_was_written(
    tmp_path: Path,
) -> None:
    file = write(tmp_path, 'tls-cert = "chain.pem"\n')
    with pytest.raises(ConfigError, match=r"^--tls-cert and --tls-key go together$"):
        load([], file, {})
    with pytest.raises(ConfigError, match=r"^cannot read --motd /no/motd: No such file"):
        load([], None, {"CHAT_TRIO_MOTD": "/no/motd"})


def test_settings_the_example_has_every_option_and_uncommented_is_the_defaults(
    tmp_path: Path,
) -> None:
    text = example()
    for option in OPTIONS:
        key = option.flags[0].lstrip("-")
        assert re.search(rf"^# {key}( = |: not set by default)", text, re.M), key
    assert "\n# flood-rate = 2.0\n" in text and "\n# irc-port: not set by default" in text
    commented = write(tmp_path, text, "example.toml")
    assert load([], commented, {}) == Config()  # as printed: every line a comment
    uncommented = re.sub(r"^# ([a-z-]+ = )", r"\1", text, flags=re.M)
    file = write(tmp_path, uncommented, "all.toml")
    assert load([], file, {}) == Config()
    unset = text.count(": not set by default")  # (no value to uncomment)
    assert check(file).startswith(f"{file}: valid; {len(OPTIONS) - unset} of {len(OPTIONS)} ")


def test_settings_check_lists_what_a_file_sets(tmp_path: Path) -> None:
    file = write(tmp_path, 'admins = ["ann", "bob"]\nirc-port = 6667\nflood-rate = 2\n')
    assert check(file) == (
        f"{file}: valid; 3 of {len(OPTIONS)} options set:\n"
        "  irc-port = 6667\n"
        "  flood-rate = 2.0\n"
        '  admins = ["ann", "bob"]'
    )
    empty = write(tmp_path, "# nothing yet\n", "empty.toml")
    assert check(empty) == f"{empty}: valid, and sets nothing (every option keeps its default)."


def test_settings_load_reads_the_file_again_each_time(tmp_path: Path) -> None:
    """What a reload (SIGHUP) will call: the same arguments, the file as it is now."""
    file = write(tmp_path, "flood-burst = 5\n")
    before = load(["--port", "0"], file, {})
    write(tmp_path, "flood-burst = 7\n")
    after = load(["--port", "0"], file, {})
    assert (before.rules.flood_burst, after.rules.flood_burst) == (5, 7)
    assert after == attrs.evolve(before, rules=attrs.evolve(before.rules, flood_burst=7))
