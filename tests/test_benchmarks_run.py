"""The benchmark on several nodes (benchmarks/run.py ``--nodes``), run small: a real
redis-server, two real chat-trio nodes, real client processes. It checks the figures the
benchmark reports, not speed: a benchmark that miscounts would mislead whoever reads
docs/benchmarks.md and docs/scaling.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.run import main
from tests.redis_server import needs_redis


@needs_redis
def test_run_flood_on_two_nodes_counts_lines_across_nodes(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    args = ["--scenario", "flood", "--nodes", "2", "--clients", "12", "--senders", "2"]
    args += ["--node-cpus", "0", "--redis-cpu", "0"]  # (pinned: as on a machine of its own)
    assert main([*args, "--messages", "20", "--processes", "1", "--json", str(results)]) == 0
    [result] = json.loads(results.read_text())
    assert result["nodes"] == 2
    assert result["registered"] == 12
    # 2 senders on the first node; of the 10 others, 5 on each node (in turn).
    assert result["expected"] == result["delivered"] == 20 * (2 * 12 - 2)
    assert result["lost"] == 0
    assert result["cross_node_delivered"] == 5 * 2 * 20
    assert result["redis_published"] >= 2  # the lines went through Redis
    assert result["peers_posts_dropped"] == result["peers_gaps"] == 0
    assert result["server_exit_status"] == 0


def test_run_refuses_nodes_without_chat_trio(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--scenario", "flood", "--nodes", "2", "--server", "reference"])
    assert stopped.value.code == 2
    assert "--nodes and --redis are for --server chat-trio only" in capsys.readouterr().err


def test_run_refuses_mirror_on_one_node(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--scenario", "mirror"])
    assert stopped.value.code == 2
    assert "--scenario mirror needs --nodes 2 or more" in capsys.readouterr().err


def test_run_refuses_cores_it_does_not_have(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--scenario", "flood", "--nodes", "2", "--node-cpus", "0,100000"])
    assert stopped.value.code == 2
    assert "'0,100000': this machine has cores 0-" in capsys.readouterr().err
