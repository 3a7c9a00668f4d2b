"""contrib/: the systemd unit as systemd reads it, and the command lines it and the
Dockerfile run, as the CLI reads them."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from chat_trio import settings
from chat_trio.config import Config
from tests.conftest import needs

CONTRIB = Path(__file__).parent.parent / "contrib"
UNIT = CONTRIB / "chat-trio.service"


def _unit_lines(key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in UNIT.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


@needs(["systemd-analyze"])
def test_contrib_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: point it at this installation's.
    installed = Path(sys.executable).with_name("chat-trio")
    assert installed.exists()
    unit = tmp_path / "chat-trio.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/chat-trio", str(installed)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # it only warns about an unknown key or a bad value


def test_contrib_unit_runs_the_server_as_the_cli_reads_it(tmp_path: Path) -> None:
    """Type=notify and a reload on SIGHUP are what the server does (test_server_reload);
    here: the command line and the environment the unit gives it are ones it takes."""
    assert _unit_lines("Type") == ["notify"]
    assert _unit_lines("ExecReload") == ["/bin/kill -HUP $MAINPID"]
    (start,) = _unit_lines("ExecStart")
    program, command, *args = shlex.split(start)
    assert (program, command) == ("/usr/local/bin/chat-trio", "serve")
    config = tmp_path / "chat-trio.toml"
    config.write_text(settings.example())  # every line a comment: the defaults
    args[args.index("/etc/chat-trio/chat-trio.toml")] = str(config)
    environ = dict(line.split("=", 1) for line in _unit_lines("Environment"))
    assert settings.load(args, None, environ) == Config(db="/var/lib/chat-trio/chat.db")


def test_contrib_dockerfile_runs_the_server_as_the_cli_reads_it() -> None:
    text = (CONTRIB / "Dockerfile").read_text()
    environ: dict[str, str] = {}
    for line in text.split("ENV ", 1)[1].split("\nEXPOSE")[0].splitlines():
        key, _, value = line.strip().rstrip("\\").strip().partition("=")
        environ[key] = value
    assert 'CMD ["chat-trio", "serve"]' in text
    config = settings.load([], None, environ)
    assert (config.host, config.irc_port, config.db) == ("0.0.0.0", 6667, "/data/chat.db")
