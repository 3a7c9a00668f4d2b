"""The benchmark: start a server, drive it from client processes, report what it cost.

    python -m benchmarks.run                      # every scenario against chat-trio
    python -m benchmarks.run --scenario flood --server locked --messages 100
    python -m benchmarks.run --json results.json  # also write the numbers as JSON

Scenarios (defaults are the targets in docs/benchmarks.md):

  flood   N clients, S senders each send M lines as fast as the server takes them
  steady  N clients, S senders at R lines/s each for D seconds: latency percentiles
  storm   N clients connect at the same moment, register, and each sends one line
  scale   N clients connect and register and stay: memory per connection, time to join
  slow    like flood, with K clients that never read: they must be cut, nobody else loses
  scale19k  the same with 19,000 clients (the server raises its open-file limit for them)
  memory  2,000 idle registered clients on each door in turn (text, IRC, web): RSS each

With --c-client, steady uses benchmarks/steady_client.c (one C process, senders spread over
each period): the Python clients cost more than the server at 100,000 reads a second.

Servers: ``chat-trio`` (this project), ``locked`` (docs/tutorial/broadcast_locked.py:
the obvious design, one awaited send_all per message per client, with a lock so it does
not crash), or ``reference`` (benchmarks/reference_server.c, built with gcc: one thread in
C on epoll with coalesced writes and nothing else, the bar to measure against). Server
CPU is read from /proc (user + system time of the server process), memory from VmRSS /
VmHWM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.load import worker_main

ROOT = Path(__file__).resolve().parent.parent
TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


def history_args(args: argparse.Namespace) -> list[str]:
    """chat-trio's history options for this run: a fresh database file, or none."""
    if args.server != "chat-trio":
        return []
    if args.history == "off":
        return ["--no-db"]
    return ["--db", os.path.join(tempfile.mkdtemp(prefix="chat-trio-bench-"), "history.db")]


def memory_kib(pid: int | str, field: str = "VmRSS") -> int:
    """A memory figure of process ``pid`` ("self": this one) from /proc, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Server:
    """A server process under test."""

    def __init__(self, kind: str, extra: list[str], flood_control: bool = False) -> None:
        """Start it; chat-trio without flood control unless ``flood_control`` (the
        benchmarks measure fan-out, not flood control; the attacks in benchmarks.attack
        measure it too)."""
        self.ports: dict[str, int] = {}  # door -> port, besides the text door's
        if kind == "chat-trio":
            command = [
                sys.executable,
                "-m",
                "chat_trio",
                "serve",
                "--port",
                "0",
                "--log-level",
                "warning",
                *([] if flood_control else ["--flood-rate", "0"]),
                "--web-port",
                "0",
                *extra,
            ]
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            assert self.process.stdout is not None
            banner = self.process.stdout.readline()
            ports = {door: int(port) for port, door in re.findall(r":(\d+)/? \(([^)]+)\)", banner)}
            self.port = ports["text"]
            self.ports = {door.lower(): port for door, port in ports.items() if door != "text"}
        elif kind == "reference":
            command = [str(built("reference_server")), "0"]
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            assert self.process.stdout is not None
            self.port = int(self.process.stdout.readline().rsplit(":", 1)[1])
        else:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            module = f"docs.tutorial.broadcast_{kind}"
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, str(self.port)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def memory_kib(self, field: str = "VmRSS") -> int:
        return memory_kib(self.process.pid, field)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        return self.process.returncode


class Workers:
    """Client processes, each with a round-robin share of the clients (``doors``: those
    that come in through another door than the text door, on ``ports[door]``)."""

    def __init__(
        self,
        port: int,
        clients: int,
        slow: list[int],
        processes: int,
        ports: dict[str, int] | None = None,
        doors: dict[int, str] | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        doors = doors or {}
        self.pipes: list[Connection] = []
        self.processes = []
        for w in range(processes):
            parent, child = context.Pipe()
            indices = list(range(w, clients, processes))
            mine = {i: door for i, door in doors.items() if i in indices}
            process = context.Process(
                target=worker_main,
                args=(port, indices, [i for i in slow if i in indices], child, ports, mine),
            )
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)
        for pipe in self.pipes:
            assert pipe.recv() == "ready"

    def ask(self, command: str, **args: Any) -> list[Any]:
        for pipe in self.pipes:
            pipe.send((command, args))
        answers = []
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            # Each phase bounds itself; this bounds a worker that died or hung.
            if not pipe.poll(args.get("seconds", 60) + 60):
                raise TimeoutError(f"client process {process.pid} did not answer {command}")
            answers.append(pipe.recv())
        return answers

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # that worker may be gone already
                pipe.send(("close", {}))
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()


def merged(reports: list[dict[str, Any]], key: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for report in reports:
        out.update(report[key])
    return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def built(name: str) -> Path:
    """Build benchmarks/NAME.c (with the machine's gcc) if it is not built yet."""
    source = ROOT / "benchmarks" / f"{name}.c"
    binary = ROOT / "benchmarks" / "out" / name
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        binary.parent.mkdir(exist_ok=True)
        subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def run_steady_c(args: argparse.Namespace) -> dict[str, Any]:
    """The steady scenario with the C client: latency of the server, not of Python clients."""
    server = Server(args.server, history_args(args))
    result: dict[str, Any] = {
        "scenario": "steady-c",
        "server": args.server,
        "clients": args.clients,
    }
    try:
        command = [
            str(built("steady_client")),
            str(server.port),
            str(args.clients),
            str(args.senders),
            str(args.rate),
            str(args.duration),
        ]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as client:
            assert client.stdout is not None
            if client.stdout.readline().strip() != "ready":
                raise RuntimeError("the C client failed to connect and register")
            cpu0 = server.cpu_seconds()  # from the first message on
            output, _ = client.communicate(timeout=args.timeout + args.duration + 30)
        result.update(json.loads(output))
        result["lost"] = result["expected"] - result["delivered"]
        cpu = server.cpu_seconds() - cpu0
        result["server_cpu_s"] = round(cpu, 3)
        result["server_cpu_us_per_delivery"] = round(cpu * 1e6 / max(result["delivered"], 1), 4)
    finally:
        result["server_exit_status"] = server.stop()
    return result


def spread(indices: list[int], share: float) -> list[int]:
    """``share`` of ``indices``, evenly: every one in ``1 / share``."""
    return [i for n, i in enumerate(indices) if int((n + 1) * share) > int(n * share)]


def door_of_each(clients: int, irc_share: float, web_share: float) -> dict[int, str]:
    """Which clients use the IRC and the web door (evenly spread, senders too); the rest
    use the text door."""
    irc = spread(list(range(clients)), irc_share)
    rest = [i for i in range(clients) if i not in set(irc)]
    web = spread(rest, min(1.0, web_share / (1 - irc_share)) if irc_share < 1 else 0.0)
    return {i: "irc" for i in irc} | {i: "web" for i in web}


def run_scenario(args: argparse.Namespace) -> dict[str, Any]:
    if args.scenario == "steady" and args.c_client:
        return run_steady_c(args)
    n, s = args.clients, args.senders
    slow = list(range(s, s + args.slow)) if args.scenario == "slow" else []
    doors = door_of_each(n, args.irc_share, args.web_share)
    server = Server(
        args.server,
        ["--send-queue", str(args.send_queue), "--max-clients", str(max(n + 16, 10_000))]
        + history_args(args)
        + (["--irc-port", "0"] if "irc" in doors.values() else [])
        if args.server == "chat-trio"
        else [],
    )
    result: dict[str, Any] = {
        "scenario": args.scenario,
        "server": args.server,
        "history": args.history if args.server == "chat-trio" else "-",
        "clients": n,
        "irc_clients": sum(door == "irc" for door in doors.values()),
        "web_clients": sum(door == "web" for door in doors.values()),
    }
    workers = Workers(server.port, n, slow, args.processes, server.ports, doors)
    try:
        rss_before = server.memory_kib()
        cpu0 = server.cpu_seconds()
        joined = workers.ask("connect", seconds=args.timeout)
        result["registered"] = sum(r["registered"] for r in joined)
        result["closed_while_joining"] = sum(r["closed"] for r in joined)
        errors: dict[str, int] = {}
        for r in joined:
            for name, count in r["errors"].items():
                errors[name] = errors.get(name, 0) + count
        if errors:
            result["client_errors"] = errors
        result["join_seconds"] = round(max(r["seconds"] for r in joined), 3)
        result["connect_cpu_s"] = round(server.cpu_seconds() - cpu0, 3)
        rss_after = server.memory_kib()
        result["rss_kib_per_connection"] = round((rss_after - rss_before) / n, 2)
        result["rss_mib"] = round(rss_after / 1024, 1)
        if args.scenario in IDLE:  # joined and idle: memory and join time only
            return result
        senders = list(range(s))
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        if args.scenario in ("flood", "slow"):
            reports = workers.ask(
                "flood",
                senders=senders,
                messages=args.messages,
                per_sender=args.messages,
                seconds=args.timeout,
            )
            expected = args.messages * (s * (n - len(slow)) - s)
        elif args.scenario == "steady":
            total = int(args.rate * args.duration)
            reports = workers.ask(
                "steady",
                senders=senders,
                rate=args.rate,
                duration=args.duration,
                per_sender=total,
                seconds=args.duration + 10,
            )
            expected = total * (s * n - s)
        else:  # storm, scale: everybody says one line after all registered
            reports = workers.ask(
                "one_each", senders=list(range(n)), per_sender=1, seconds=args.timeout
            )
            expected = n * (n - 1)
        wall = time.monotonic() - wall0
        cpu = server.cpu_seconds() - cpu0
        received = sum(merged(reports, "received").values())
        result.update(
            expected=expected,
            delivered=received,
            lost=expected - received,
            seconds=round(wall, 3),
            deliveries_per_s=round(received / wall),
            server_cpu_s=round(cpu, 3),
            server_cpu_us_per_delivery=round(cpu * 1e6 / max(received, 1), 4),
        )
        if args.scenario in ("storm", "scale", "scale19k") and args.server == "chat-trio":
            joins = sum(merged(reports, "joins").values())
            result["join_notices"] = joins
            result["join_notices_expected"] = n * (n - 1) // 2
        latencies = [ns / 1e6 for r in reports for ns in r["latencies_ns"]]
        if latencies:
            result.update(
                latency_ms_p50=round(percentile(latencies, 50), 3),
                latency_ms_p99=round(percentile(latencies, 99), 3),
                latency_ms_max=round(max(latencies), 3),
                latency_ms_mean=round(statistics.fmean(latencies), 3),
            )
        if slow:
            cut = [i for r in workers.ask("slow_cut", seconds=30) for i in r]
            result["slow_clients"] = len(slow)
            result["slow_clients_cut"] = len(cut)
            result["server_peak_rss_mib"] = round(server.memory_kib("VmHWM") / 1024, 1)
        closed = [i for r in reports for i in r["closed_by_server"] if i not in slow]
        result["normal_clients_disconnected"] = len(closed)
    finally:
        workers.close()
        result["server_exit_status"] = server.stop()
    return result


DEFAULTS = {
    "flood": {"clients": 1000, "senders": 10, "messages": 5000},
    "steady": {"clients": 1000, "senders": 10},
    "storm": {"clients": 1000},
    "scale": {"clients": 10000},
    "slow": {"clients": 1000, "senders": 10, "messages": 5000, "slow": 10},
    "scale19k": {"clients": 19000},
    "memory": {"clients": 2000},
}
IDLE = ("memory-text", "memory-irc", "memory-web")
"""Scenarios that stop once everyone joined: what idle connections cost."""

DOOR_SHARES = {"memory-text": (0.0, 0.0), "memory-irc": (1.0, 0.0), "memory-web": (0.0, 1.0)}
"""``memory`` is one run per door, all clients on that door: (IRC share, web share)."""


def table(results: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for result in results:
        keys += [k for k in result if k not in keys]
    width = max(len(k) for k in keys)
    header = "".ljust(width) + "".join(f"{r['scenario']}/{r['server']}".rjust(22) for r in results)
    rows = [header]
    for key in keys:
        if key in ("scenario", "server"):
            continue
        rows.append(key.ljust(width) + "".join(str(r.get(key, "")).rjust(22) for r in results))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", choices=[*DEFAULTS, "all"], default="all")
    parser.add_argument(
        "--server", choices=["chat-trio", "locked", "reference"], default="chat-trio"
    )
    parser.add_argument("--clients", type=int, help="connections (default: per scenario)")
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--messages", type=int, help="lines per sender in flood/slow")
    parser.add_argument("--rate", type=float, default=10.0, help="steady: lines/s per sender")
    parser.add_argument("--duration", type=float, default=10.0, help="steady: seconds")
    parser.add_argument("--slow", type=int, default=10, help="slow: clients that never read")
    parser.add_argument("--send-queue", type=int, default=96 * 1024, help="chat-trio's bound")
    parser.add_argument(
        "--history",
        choices=["file", "off"],
        default="file",
        help="chat-trio: record history in a fresh SQLite file (the default), or --no-db",
    )
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument(
        "--irc-share",
        type=float,
        default=0.0,
        help="chat-trio: the share of clients (0 to 1) that come in through the IRC door",
    )
    parser.add_argument(
        "--web-share",
        type=float,
        default=0.0,
        help="chat-trio: the share of clients (0 to 1) that come in through the web door",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on each phase, s")
    parser.add_argument("--json", type=Path, help="append results to this JSON file")
    parser.add_argument(
        "--c-client",
        action="store_true",
        help="steady: use the C client (built with gcc) instead of Python ones",
    )
    args = parser.parse_args(argv)
    scenarios = list(DEFAULTS) if args.scenario == "all" else [args.scenario]
    scenarios = [d for s in scenarios for d in (DOOR_SHARES if s == "memory" else [s])]
    results = []
    for scenario in scenarios:
        run = argparse.Namespace(**vars(args))
        run.scenario = scenario
        if scenario in DOOR_SHARES:
            run.irc_share, run.web_share = DOOR_SHARES[scenario]
        defaults = DEFAULTS[scenario.partition("-")[0]]
        run.clients = args.clients or defaults["clients"]
        run.messages = args.messages or defaults.get("messages", 0)
        print(f"running {scenario} against {args.server} ...", file=sys.stderr, flush=True)
        results.append(run_scenario(run))
    print(table(results))
    if args.json:
        append_json(args.json, results)
    return 0


def append_json(path: Path, results: list[dict[str, Any]]) -> None:
    """Add ``results`` to the list of runs in the JSON file ``path`` (made if missing)."""
    existing = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(existing + results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
