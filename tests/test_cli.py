"""The command line (``__main__``) as operators use it: ``chat-trio serve --config``,
``config example|check``, ``ban``, ``user``, and ``--db``, as real processes and in-process
(``main([...])``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chat_trio.__main__ import main
from chat_trio.config import OPTIONS
from tests.conftest import start_doors

CHEAP = ("--password-memory", "8", "--password-time", "1")


def cli(*args: str, stdin: str | None = "", env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "chat_trio", *args], input=stdin, capture_output=True,
        text=True, timeout=30, check=False, env={**os.environ, **(env or {})},
    )  # fmt: skip


def failed(status: int, *args: str) -> str:
    """What ``chat-trio ARGS`` said on stderr, having exited with ``status`` and said
    nothing on stdout."""
    result = cli(*args)
    assert (result.returncode, result.stdout) == (status, "")
    return result.stderr


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    return err


def test_cli_serve_takes_a_config_file_and_flags_override_it(tmp_path: Path) -> None:
    config = tmp_path / "chat-trio.toml"
    # port 1 is not ours to take: the server starts only because --port 0 overrides it.
    config.write_text('port = 1\nirc-port = 0\nno-web = true\nlog-level = "warning"\n')
    process, ports = start_doors("--config", str(config), "--no-db")
    err = _stop(process)
    assert sorted(ports) == ["IRC", "text"]  # no web door: the file said so
    assert "INFO" not in err  # log-level warning, from the file


def test_cli_serve_refuses_a_bad_config_file_naming_the_key_and_line(tmp_path: Path) -> None:
    config = tmp_path / "chat-trio.toml"
    config.write_text('# settings\nflood-rate = "fast"\n')
    assert failed(2, "serve", "--config", str(config)) == (
        f'chat-trio: {config} line 2: flood-rate must be a number, not a string ("fast")\n'
    )
    env = cli("serve", "--no-db", env={"CHAT_TRIO_PORT": "99999"})
    assert env.returncode == 2
    assert (
        env.stderr == "chat-trio: environment variable CHAT_TRIO_PORT: must be 0-65535, not 99999\n"
    )


def test_cli_config_example_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "example"]) == 0
    example = capsys.readouterr().out
    assert example.startswith("# chat-trio configuration (TOML)")
    assert "\n# flood-rate = 2.0\n" in example and "\n# admins = []\n" in example
    good = tmp_path / "good.toml"
    good.write_text('admins = ["ann"]\n')
    checked = cli("config", "check", str(good))
    assert (checked.returncode, checked.stdout) == (
        0,
        f'{good}: valid; 1 of {len(OPTIONS)} options set:\n  admins = ["ann"]\n',
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("admins = ['ann']\nflood-burts = 3\n")
    assert failed(1, "config", "check", str(bad)) == (
        f"chat-trio: {bad} line 2: unknown key 'flood-burts' (did you mean 'flood-burst'?)\n"
    )


def test_cli_db_in_a_missing_folder_is_an_error_for_every_command(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    db = str(missing / "chat.db")
    said = (
        f"chat-trio: the folder {missing} of the database {db} does not exist; create it "
        f"first (mkdir -m 700 {missing}) or choose another --db\n"
    )
    for args in (["serve", "--port", "0", "--no-web"], ["user", "list"], ["ban", "list"]):
        result = cli(*args, "--db", db)
        assert (result.returncode, result.stderr) == (1, said), args
    assert not missing.exists()


def test_cli_a_second_server_on_one_database_refuses_and_the_tools_still_work(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "chat.db")
    first, _ = start_doors("--db", db)
    try:
        second = cli("serve", "--db", db, "--port", "0", "--web-port", "0")
        assert second.returncode == 1
        assert second.stderr.endswith(
            f"chat-trio: another chat-trio server (process {first.pid}) is using the "
            f"database {db}; stop it first, or give this one another --db\n"
        )
        assert cli("user", "add", "Eve", "--db", db, *CHEAP, stdin="eve-password\n").returncode == 0
        added = cli("ban", "add", "203.0.113.7", "--for", "12h", "--reason", "spam", "--db", db)
        assert added.returncode == 0 and added.stdout.startswith(
            "Banned the address 203.0.113.7 until "
        )
    finally:
        _stop(first)
    third, _ = start_doors("--db", db)  # the lock went with the first server
    _stop(third)


def test_cli_ban_of_ones_own_ssh_address_asks_for_force(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    ssh = {"SSH_CONNECTION": "198.51.100.4 52113 192.0.2.1 22"}
    refused = cli("ban", "add", "198.51.100.4", "--db", db, env=ssh)
    assert refused.returncode == 1 and "add --force if that is what you mean" in refused.stderr
    forced = cli("ban", "add", "198.51.100.4", "--force", "--db", db, env=ssh)
    assert (forced.returncode, forced.stdout) == (0, "Banned the address 198.51.100.4 forever.\n")
    wrong = cli("ban", "add", "198.51.100.9", "--for", "a week", "--db", db)
    assert wrong.returncode == 2
    assert "say how long as 90s, 30m, 12h or 7d, not 'a week'" in wrong.stderr


def test_cli_user_list_filters_by_glob_or_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "chat.db")
    for name in ("Alice", "Albert", "Bob"):
        assert cli("user", "add", name, "--db", db, *CHEAP, stdin="a-password\n").returncode == 0
    capsys.readouterr()

    def names(*pattern: str) -> list[str]:
        assert main(["user", "list", *pattern, "--db", db]) == 0
        return [line.split()[0] for line in capsys.readouterr().out.splitlines()]

    assert names() == ["Albert", "Alice", "Bob"]
    assert names("al") == ["Albert", "Alice"]  # a prefix, any case
    assert names("*e*") == ["Albert", "Alice"]  # a glob
    assert names("?ob") == ["Bob"]
    assert main(["user", "list", "z*", "--db", db]) == 0
    assert capsys.readouterr().out == f"No accounts matching 'z*' in {db}.\n"


def test_cli_user_add_with_nothing_on_standard_input_says_so(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    result = cli("user", "add", "Eve", "--db", db, *CHEAP, stdin="")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "chat-trio: no password on standard input (it is not a terminal, and it was empty); "
        "run this at a terminal to be asked for one, or give it one line: "
        'echo "$PASSWORD" | chat-trio user add Eve\n'
    )


def test_cli_server_description_is_one_short_line() -> None:
    said = failed(2, "serve", "--no-db", "--server-description", "x" * 101).splitlines()[-1]
    assert said == (
        "chat-trio serve: error: argument --server-description: must be 1-100 characters on "
        f"one line, not {'x' * 101!r}"
    )
