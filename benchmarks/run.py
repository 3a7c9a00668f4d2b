"""The benchmark: start a server, drive it from client processes, report what it cost.

    python -m benchmarks.run                      # every scenario against chat-trio
    python -m benchmarks.run --scenario flood --server locked --messages 100
    python -m benchmarks.run --json results.json  # also write the numbers as JSON
    python -m benchmarks.run --scenario flood --nodes 3   # three nodes on one Redis

Scenarios (defaults are the targets in docs/benchmarks.md):

  flood   N clients, S senders each send M lines as fast as the server takes them
  steady  N clients, S senders at R lines/s each for D seconds: latency percentiles
  storm   N clients connect at the same moment, register, and each sends one line
  scale   N clients connect and register and stay: memory per connection, time to join
  slow    like flood, with K clients that never read: they must be cut, nobody else loses
  scale19k  the same with 19,000 clients (the server raises its open-file limit for them)
  memory  2,000 idle registered clients on each door in turn (text, IRC, web): RSS each
  mirror  (--nodes 2 or more) 10,000 clients on the last node, none on the first: what
          the first node's RSS grows by for each person it mirrors from another node

With --c-client, steady uses benchmarks/steady_client.c (one C process, senders spread over
each period): the Python clients cost more than the server at 100,000 reads a second.

Servers: ``chat-trio`` (this project), ``locked`` (docs/tutorial/broadcast_locked.py:
the obvious design, one awaited send_all per message per client, with a lock so it does
not crash), or ``reference`` (benchmarks/reference_server.c, built with gcc: one thread in
C on epoll with coalesced writes and nothing else, the bar to measure against). Server
CPU is read from /proc (user + system time of the server process), memory from VmRSS /
VmHWM.

Several nodes (``--nodes N``, or ``--redis`` for one): the benchmark starts its own
redis-server (Debian's, on a free loopback port, in a temporary folder, nothing saved)
and N chat-trio nodes on it (``--redis URL --node-name nK``); the senders connect to the
first node and the other clients to each node in turn. Server CPU is then summed over
the nodes, and also given per cross-node delivery (one line reaching a client of another
node than its sender's); Redis' CPU is read from /proc too, with the number of messages
it published (``INFO commandstats``). ``--nodes 1`` without ``--redis`` is the plain
benchmark, unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.load import worker_main
from chat_trio.nodes.peers import channels
from tests.redis_server import RedisServer

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


def cpu_seconds(pid: int) -> float:
    """User + system time of process ``pid`` (all its threads) from /proc, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pin(pid: int, cpu: int) -> None:
    """Run every thread of process ``pid`` on core ``cpu`` only (threads it starts later
    inherit it)."""
    for thread in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(thread.name), {cpu})


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
        return cpu_seconds(self.process.pid)

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
        homes: dict[int, dict[str, int]] | None = None,
    ) -> None:
        """``homes``: the ports of each client's node where it is not the first node's."""
        context = multiprocessing.get_context("spawn")
        doors = doors or {}
        homes = homes or {}
        self.pipes: list[Connection] = []
        self.processes = []
        for w in range(processes):
            parent, child = context.Pipe()
            indices = list(range(w, clients, processes))
            mine = {i: door for i, door in doors.items() if i in indices}
            home = {i: homes[i] for i in indices if i in homes}
            process = context.Process(
                target=worker_main,
                args=(port, indices, [i for i in slow if i in indices], child, ports, mine, home),
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


class Cluster:
    """Several chat-trio nodes of one chat on a private redis-server (``--nodes``,
    ``--redis``): the senders on the first node, the other clients on each node in turn.

    Args:
      nodes: how many.
      extra: options for every node (``--redis`` and ``--node-name`` are added).
      node_cpus: pin node k to core ``node_cpus[k % len]`` (none: the kernel decides).
      redis_cpu: pin Redis to this core (None: the kernel decides).
    """

    SETTLE_S = 60.0
    """Bound on waiting for the nodes to hear the lobby and go quiet after the joins."""
    QUIET_CPU_S = 0.02
    """CPU seconds a node may spend in half a second and be quiet (its lease, keepalive)."""

    def __init__(
        self,
        nodes: int,
        extra: list[str],
        node_cpus: tuple[int, ...] = (),
        redis_cpu: int | None = None,
    ) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="chat-trio-bench-redis-"))
        self.redis = RedisServer(self.folder)
        self.redis.start()
        assert self.redis.process is not None
        if redis_cpu is not None:
            pin(self.redis.process.pid, redis_cpu)
        self.servers: list[Server] = []
        started = False
        try:
            for k in range(nodes):
                name = ["--redis", self.redis.url, "--node-name", f"n{k + 1}"]
                name += ["--metrics-port", "0"]  # (what its link to the others counted)
                self.servers.append(Server("chat-trio", [*extra, *name]))
                if node_cpus:
                    pin(self.servers[-1].process.pid, node_cpus[k % len(node_cpus)])
            started = True
        finally:
            if not started:  # (one did not start: none is left running)
                self.stop()

    @staticmethod
    def node_of(client: int, senders: int, nodes: int) -> int:
        """The node (0: the first) of ``client``: senders on the first, others in turn."""
        return 0 if client < senders else (client - senders) % nodes

    def homes(self, clients: int, senders: int, last: bool = False) -> dict[int, dict[str, int]]:
        """The ports of each client's node, for those not on the first node (``last``:
        everyone on the last node)."""
        homes = {}
        for client in range(clients):
            at = len(self.servers) - 1 if last else self.node_of(client, senders, len(self.servers))
            node = self.servers[at]
            if node is not self.servers[0]:
                homes[client] = {"text": node.port, **node.ports}
        return homes

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)

    def redis_cpu_seconds(self) -> float:
        assert self.redis.process is not None
        return cpu_seconds(self.redis.process.pid)

    def published(self) -> int:
        """Messages Redis has published (``PUBLISH`` calls, from scripts too)."""
        stats = self.redis.cli("INFO", "commandstats")
        found = re.search(r"cmdstat_publish:calls=(\d+)", stats)
        return int(found[1]) if found else 0

    def settle(self, hearing_lobby: int = 0) -> int:
        """Wait until ``hearing_lobby`` nodes (0: every node) hear the lobby's channel and
        no node is busy any more (the news of everyone's join heard and told everywhere).

        Returns:
          the nodes that hear the lobby (each message to it is sent that many times).

        Raises:
          TimeoutError: not so within ``SETTLE_S``.
        """
        deadline = time.monotonic() + self.SETTLE_S
        wanted = hearing_lobby or len(self.servers)
        while time.monotonic() < deadline:
            hearing = int(self.redis.cli("PUBSUB", "NUMSUB", channels(0)[1] + "#lobby").split()[-1])
            before = self.cpu_each()
            time.sleep(0.5)
            spent = [now - then for now, then in zip(self.cpu_each(), before, strict=True)]
            if hearing >= wanted and max(spent) <= self.QUIET_CPU_S:
                return hearing
        raise TimeoutError(f"the nodes did not settle within {self.SETTLE_S} s")

    def cpu_each(self) -> list[float]:
        return [server.cpu_seconds() for server in self.servers]

    def start_phase(self) -> tuple[list[float], float, int]:
        """What ``result`` counts from: each node's CPU, Redis' CPU, messages published."""
        return self.cpu_each(), self.redis_cpu_seconds(), self.published()

    def memory_kib(self) -> int:
        return sum(server.memory_kib() for server in self.servers)

    def peers_counted(self) -> dict[str, int]:
        """What the nodes' links counted, summed over the nodes (their ``/metrics``):
        posts dropped (queue full) or failed (Redis did not take them), messages found
        missing by their numbers. Any of them explains a line lost across nodes."""
        wanted = {
            "peers_posts_dropped": 'chat_trio_peers_posts_total{result="dropped"}',
            "peers_posts_failed": 'chat_trio_peers_posts_total{result="failed"}',
            "peers_gaps": "chat_trio_peers_gaps_total",
        }
        counted = dict.fromkeys(wanted, 0)
        for server in self.servers:
            url = f"http://127.0.0.1:{server.ports['metrics']}/metrics"
            with urllib.request.urlopen(url, timeout=10) as page:
                lines = page.read().decode().splitlines()
            for key, metric in wanted.items():
                counted[key] += sum(int(float(line.split()[-1])) for line in lines
                                    if line.split(" ")[0] == metric)  # fmt: skip
        return counted

    def result(
        self,
        start: tuple[list[float], float, int],
        hearing: int,
        lines: int,
        delivered: int,
        cross: int,
    ) -> dict[str, Any]:
        """What a run on several nodes adds to the plain benchmark's figures, since
        ``start`` (``start_phase``)."""
        each = [now - then for now, then in zip(self.cpu_each(), start[0], strict=True)]
        redis_cpu_s = self.redis_cpu_seconds() - start[1]
        published = self.published() - start[2]
        out = published * hearing  # each published message, to each node that hears it
        return {
            "nodes": len(self.servers),
            "server_cpu_s_each": [round(cpu, 3) for cpu in each],
            "rss_mib_each": [round(s.memory_kib() / 1024, 1) for s in self.servers],
            "cross_node_delivered": cross,
            "server_cpu_us_per_cross_node_delivery": (
                round(sum(each) * 1e6 / cross, 4) if cross else "-"
            ),
            "redis_cpu_s": round(redis_cpu_s, 3),
            "redis_published": published,
            "redis_pubsub_out": out,
            "redis_cpu_us_per_published": round(redis_cpu_s * 1e6 / max(published, 1), 3),
            "redis_cpu_us_per_pubsub_out": round(redis_cpu_s * 1e6 / max(out, 1), 3),
            "redis_cpu_us_per_line": round(redis_cpu_s * 1e6 / max(lines, 1), 3),
            "redis_cpu_us_per_delivery": round(redis_cpu_s * 1e6 / max(delivered, 1), 5),
            **self.peers_counted(),
        }  # fmt: skip

    def stop(self) -> int:
        """Stop the nodes, then Redis; the worst exit status of the nodes."""
        statuses = [server.stop() for server in self.servers]
        self.redis.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
        return max(statuses, key=abs, default=0)


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
    cluster = cluster_of(args, [])
    server = cluster.servers[0] if cluster else Server(args.server, history_args(args))
    cpu_seconds = cluster.cpu_seconds if cluster else server.cpu_seconds
    result: dict[str, Any] = {
        "scenario": "steady-c",
        "server": args.server,
        "clients": args.clients,
    }
    try:
        ports = [node.port for node in cluster.servers] if cluster else [server.port]
        command = [
            str(built("steady_client")),
            ",".join(map(str, ports)),
            str(args.clients),
            str(args.senders),
            str(args.rate),
            str(args.duration),
            *(["wait"] if cluster else []),  # (for its "go": steady_client.c)
        ]
        stdin = subprocess.PIPE if cluster else None
        with subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, text=True) as client:
            assert client.stdout is not None
            if client.stdout.readline().strip() != "ready":
                raise RuntimeError("the C client failed to connect and register")
            hearing = cluster.settle() if cluster else 0
            start = cluster.start_phase() if cluster else None
            cpu0 = cpu_seconds()  # from the first message on
            output, _ = client.communicate(
                "go\n" if stdin else None, args.timeout + args.duration + 30
            )
        result.update(json.loads(output))
        result["lost"] = result["expected"] - result["delivered"]
        cpu = cpu_seconds() - cpu0
        result["server_cpu_s"] = round(cpu, 3)
        result["server_cpu_us_per_delivery"] = round(cpu * 1e6 / max(result["delivered"], 1), 4)
        if cluster and start:
            cross = result.pop("cross_delivered", 0)
            lines = int(args.rate * args.duration) * args.senders
            result.update(cluster.result(start, hearing, lines, result["delivered"], cross))
    finally:
        result["server_exit_status"] = cluster.stop() if cluster else server.stop()
    return result


def cluster_of(args: argparse.Namespace, extra: list[str]) -> Cluster | None:
    """The nodes and Redis for ``--nodes``/``--redis``; None for the plain benchmark."""
    if args.nodes == 1 and not args.redis:
        return None
    return Cluster(args.nodes, extra, args.node_cpus, args.redis_cpu)


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
    extra = ["--send-queue", str(args.send_queue), "--max-clients", str(max(n + 16, 10_000))]
    extra += ["--irc-port", "0"] if "irc" in doors.values() else []
    cluster = cluster_of(args, extra)
    if cluster:
        server = cluster.servers[0]
    else:
        server = Server(
            args.server, extra + history_args(args) if args.server == "chat-trio" else []
        )
    cpu_seconds = cluster.cpu_seconds if cluster else server.cpu_seconds
    memory_kib = cluster.memory_kib if cluster else server.memory_kib  # (all nodes)
    result: dict[str, Any] = {
        "scenario": args.scenario,
        "server": args.server,
        "history": ("redis" if cluster else args.history) if args.server == "chat-trio" else "-",
        "clients": n,
        "irc_clients": sum(door == "irc" for door in doors.values()),
        "web_clients": sum(door == "web" for door in doors.values()),
    }
    homes = cluster.homes(n, s, last=args.scenario == "mirror") if cluster else None
    workers = Workers(server.port, n, slow, args.processes, server.ports, doors, homes)
    try:
        first_rss_before, first_cpu_before = server.memory_kib(), server.cpu_seconds()
        rss_before = memory_kib()
        cpu0 = cpu_seconds()
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
        result["connect_cpu_s"] = round(cpu_seconds() - cpu0, 3)
        rss_after = memory_kib()
        result["rss_kib_per_connection"] = round((rss_after - rss_before) / n, 2)
        result["rss_mib"] = round(rss_after / 1024, 1)
        if args.scenario in IDLE:  # joined and idle: memory and join time only
            return result
        if cluster and args.scenario == "mirror":  # what the first node holds for them
            cluster.settle(hearing_lobby=1)
            result.update(
                nodes=len(cluster.servers),
                first_node_rss_mib_before=round(first_rss_before / 1024, 1),
                first_node_rss_mib=round(server.memory_kib() / 1024, 1),
                first_node_rss_kib_per_remote_person=round(
                    (server.memory_kib() - first_rss_before) / n, 2
                ),
                first_node_cpu_us_per_remote_join=round(
                    (server.cpu_seconds() - first_cpu_before) * 1e6 / n, 1
                ),
            )
            return result
        senders = list(range(s))
        hearing = cluster.settle() if cluster else 0
        start = cluster.start_phase() if cluster else None
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        if args.scenario in ("flood", "slow"):
            reports = workers.ask(
                "flood",
                senders=senders,
                messages=args.messages,
                per_sender=args.messages,
                seconds=args.timeout,
            )
            expected = args.messages * (s * (n - len(slow)) - s)
            lines = args.messages * s
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
            lines = total * s
        else:  # storm, scale: everybody says one line after all registered
            reports = workers.ask(
                "one_each", senders=list(range(n)), per_sender=1, seconds=args.timeout
            )
            expected = n * (n - 1)
            lines = n
        wall = time.monotonic() - wall0
        cpu = cpu_seconds() - cpu0
        received_by = merged(reports, "received")
        received = sum(received_by.values())
        result.update(
            expected=expected,
            delivered=received,
            lost=expected - received,
            seconds=round(wall, 3),
            deliveries_per_s=round(received / wall),
            server_cpu_s=round(cpu, 3),
            server_cpu_us_per_delivery=round(cpu * 1e6 / max(received, 1), 4),
        )
        if cluster and start and args.scenario in ("flood", "slow", "steady"):
            # (senders on the first node only: a line received elsewhere crossed nodes)
            nodes = len(cluster.servers)
            cross = sum(k for i, k in received_by.items() if cluster.node_of(i, s, nodes))
            result.update(cluster.result(start, hearing, lines, received, cross))
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
        result["server_exit_status"] = cluster.stop() if cluster else server.stop()
    return result


DEFAULTS = {
    "flood": {"clients": 1000, "senders": 10, "messages": 5000},
    "steady": {"clients": 1000, "senders": 10},
    "storm": {"clients": 1000},
    "scale": {"clients": 10000},
    "slow": {"clients": 1000, "senders": 10, "messages": 5000, "slow": 10},
    "scale19k": {"clients": 19000},
    "memory": {"clients": 2000},
    "mirror": {"clients": 10000},
}
IDLE = ("memory-text", "memory-irc", "memory-web")
"""Scenarios that stop once everyone joined: what idle connections cost."""

DOOR_SHARES = {"memory-text": (0.0, 0.0), "memory-irc": (1.0, 0.0), "memory-web": (0.0, 1.0)}
"""``memory`` is one run per door, all clients on that door: (IRC share, web share)."""


def cpu_list(text: str) -> tuple[int, ...]:
    """Cores as ``--node-cpus`` takes them: ``4,5,6,7``."""
    try:
        cpus = tuple(int(cpu) for cpu in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of cores (as 4,5,6,7)") from None
    if any(cpu < 0 or cpu >= (os.cpu_count() or 1) for cpu in cpus):
        last = (os.cpu_count() or 1) - 1
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has cores 0-{last}")
    return cpus


def one_cpu(text: str) -> int:
    """One core, as ``--redis-cpu`` takes it."""
    cpus = cpu_list(text)
    if len(cpus) != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not one core")
    return cpus[0]


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
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="chat-trio: nodes of one chat on a private redis-server (more than 1: --redis)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="chat-trio: on a private redis-server (history there), even with one node",
    )
    parser.add_argument(
        "--node-cpus",
        type=cpu_list,
        default=(),
        help="with --nodes/--redis: pin node k to the k-th of these cores (as 4,5,6,7); "
        "run the benchmark itself under taskset -c on others",
    )
    parser.add_argument(
        "--redis-cpu", type=one_cpu, help="with --nodes/--redis: pin Redis to this core"
    )
    parser.add_argument("--json", type=Path, help="append results to this JSON file")
    parser.add_argument(
        "--c-client",
        action="store_true",
        help="steady: use the C client (built with gcc) instead of Python ones",
    )
    args = parser.parse_args(argv)
    if args.nodes < 1:
        parser.error(f"--nodes must be 1 or more, not {args.nodes}")
    if (args.nodes > 1 or args.redis) and args.server != "chat-trio":
        parser.error("--nodes and --redis are for --server chat-trio only")
    if (args.nodes > 1 or args.redis) and not shutil.which("redis-server"):
        parser.error("--nodes and --redis need redis-server (Debian: apt install redis-server)")
    if args.scenario == "mirror" and args.nodes < 2:
        parser.error("--scenario mirror needs --nodes 2 or more")
    everything = [s for s in DEFAULTS if s != "mirror"]  # ("all" is one node)
    scenarios = everything if args.scenario == "all" else [args.scenario]
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
