"""docs/shutdown.md: the log it shows is what a server with clients on every door prints
from Ctrl-C to its exit, now (docs/live.py makes it; this checks it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docs import live


def test_shutdown_docs_log_is_what_a_server_prints_now() -> None:
    """Run ``python -m docs.live`` after changing what shutdown logs."""
    log = live.shutdown_log()
    assert log.startswith("INFO chat_trio.server shutdown step=begin signal=SIGINT\n")
    assert log.count("reason=shutdown\n") == 6  # every client on every door says goodbye
    assert log.endswith("shutdown step=done\n(exit status 0)\n")
    assert live.block("shutdown.md", "shutdown-log") == log


def test_shutdown_log_normalised_drops_times_ports_and_the_sessions_order() -> None:
    log = (
        "2026-12-05 03:35:41,900 INFO chat_trio.session connect conn=1 peer=127.0.0.1:5 door=text\n"
        "2026-12-05 03:35:41,955 INFO chat_trio.server shutdown step=begin signal=SIGINT\n"
        "2026-12-05 03:35:41,956 INFO chat_trio.server shutdown step=announce connections=2\n"
        "2026-12-05 03:35:41,957 INFO chat_trio.session disconnect conn=12 name=B reason=shutdown\n"
        "2026-12-05 03:35:41,958 INFO chat_trio.session disconnect conn=3 name=A reason=shutdown\n"
        "2026-12-05 03:35:41,958 WARNING chat_trio.http http-closed peer=127.0.0.1:40112 why=x\n"
        "2026-12-05 03:35:41,959 INFO chat_trio.server shutdown step=done\n"
    )
    assert live.normalised(log) == (
        "INFO chat_trio.server shutdown step=begin signal=SIGINT\n"
        "INFO chat_trio.server shutdown step=announce connections=2\n"
        "INFO chat_trio.session disconnect conn=3 name=A reason=shutdown\n"
        "INFO chat_trio.session disconnect conn=12 name=B reason=shutdown\n"
        "WARNING chat_trio.http http-closed peer=127.0.0.1:PORT why=x\n"
        "INFO chat_trio.server shutdown step=done\n"
    )


def test_shutdown_docs_blocks_are_written_between_their_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("a\n<!-- log: begin -->\n```\nold\n```\n<!-- log: end -->\nb\n")
    live.write(page.name, "log", "new\nlines\n", folder=tmp_path)
    assert page.read_text() == (
        "a\n<!-- log: begin -->\n```\nnew\nlines\n```\n<!-- log: end -->\nb\n"
    )
    assert live.block(page.name, "log", folder=tmp_path) == "new\nlines\n"
    with pytest.raises(ValueError, match="has no <!-- tasks: begin -->"):
        live.block(page.name, "tasks", folder=tmp_path)
