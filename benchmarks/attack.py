"""Attacks on the server's limits: what one misbehaving client costs everyone else.

    python -m benchmarks.attack                          # every scenario
    python -m benchmarks.attack --scenario stall --json results.json
    python -m benchmarks.attack --scenario stall --attackers 0   # the probe, undisturbed

Scenarios (issue 16, part 1, holes 2 and 3):

  stall        one client that never chooses a name sends one write of "/help" lines
               (about 1 MB of answers) and then reads at 70 KB/s through a 16 KiB
               receive buffer; meanwhile a probe pair in #lobby talks (latency, loss)
               and newcomers register (time to "Welcome")
  room-flood   12 registered clients flood #lobby and never read while a probe pair talks
               in #quiet: the pair's latency, and whether the 12 are cut as too slow
  answers      250 connections that never choose a name each send one write of "/help"
               lines and never read: the server's RSS growth, how many it cut
  answers-web  3,000 registered idle text clients, then 10 web clients that never choose a
               name each ask for every name ({"type":"list-users","limit":null}, one write
               of such frames) and never read: RSS growth, how many were cut

The rule they check: a connection's backlog slows only that connection (and, for a room
flood, the senders into that room), and every byte a connection is sent counts against its
send-queue bound, whoever made it. Flood control is part of what is measured, so the
server runs with its default flood control except in room-flood, which measures
isolation (with flood control the 12 could only send 2 lines/s each); ``--flood-control``
overrides either. With flood control on, each probe user sends a line every 0.5 s (the
default 2 lines/s; faster lines would be delayed by flood control, not by the attack); in
room-flood every 0.1 s. The two of a pair send half an interval apart.

The stall's attacker sets a small receive buffer (``--attacker-rcvbuf``) because that is
the stronger attack: its kernel then acknowledges in small steps, so a server that counts
acknowledged bytes as reading sees it reading all the time. With the kernel's default
buffer, loopback acknowledges in ~64 KB steps (one segment), about one a second at 70 KB/s,
and such a server sees it reading only part of the time (``--attacker-rcvbuf 0``).

The clients are those of benchmarks/load.py (plain non-blocking sockets on epoll), each
group in its own process so that one group's pace (the attacker's sleeps, the flooders'
writes) does not delay another's reads; latency is from the sender's ``send`` to the
receiver's ``recv`` on CLOCK_MONOTONIC, as in ``benchmarks.run``. Server memory is VmRSS
(sampled) and VmHWM from /proc; the connections it holds are its socket descriptors in
/proc/PID/fd.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.load import WEB_UPGRADE, Client, Worker, web_frame
from benchmarks.run import Server, Workers, append_json, history_args, percentile, table

HELP = b"/help\r\n"
"""A text door command a client may send before it chooses a name; about 1.5 KB answers it."""
LIST_USERS = web_frame(b'{"type":"list-users","limit":null}')
"""A web request for every name online, which a client may send before it chooses one."""
PAIR = [0, 1]
"""The probe pair's client numbers (names c0 and c1)."""
NEWCOMERS = 100
"""The first newcomer's number (c100, c101, ...); flooders are numbered from FLOODERS."""
FLOODERS = 1000
SAMPLE = 0.25
"""Seconds between samples of the server's memory and connections."""
MAX_COMMANDS = 100
"""Commands a client process obeys at most before it ends."""

LONG = ("timeline",)
"""Figures left out of the table (they are in the JSON): (seconds, RSS growth MiB, attackers
held) every ``SAMPLE`` s."""

DEFAULTS: dict[str, dict[str, Any]] = {
    "stall": {"attackers": 1, "duration": 10.0, "flood_control": "on"},
    "room-flood": {"attackers": 12, "duration": 10.0, "flood_control": "off"},
    "answers": {"attackers": 250, "duration": 30.0, "flood_control": "on"},
    "answers-web": {"attackers": 10, "duration": 30.0, "flood_control": "on"},
}


def repeated(unit: bytes, size: int) -> bytes:
    """``unit`` as many whole times as fit in ``size`` bytes (at least once)."""
    return unit * max(1, size // len(unit))


def commands(pipe: Connection, seconds: float = 600) -> Iterator[tuple[str, dict[str, Any]]]:
    """The parent's commands to a client process, until "close", ``seconds`` of silence
    or ``MAX_COMMANDS`` commands."""
    for _ in range(MAX_COMMANDS):
        if not pipe.poll(seconds):
            return
        command, args = pipe.recv()
        if command == "close":
            return
        yield command, args


class Child:
    """A client process running ``target(pipe, *args)``, which obeys commands over ``pipe``."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=target, args=(child, *args))
        self.process.start()

    def send(self, command: str, **args: Any) -> None:
        self.pipe.send((command, args))

    def answer(self, seconds: float) -> Any:
        """Its next answer, waiting at most ``seconds`` (a process that died or hung)."""
        if not self.pipe.poll(seconds):
            raise TimeoutError(f"client process {self.process.pid} did not answer")
        return self.pipe.recv()

    def ask(self, command: str, wait: float, **args: Any) -> Any:
        """Send ``command`` and return its answer, waiting at most ``wait`` seconds."""
        self.send(command, **args)
        return self.answer(wait)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # it may be gone already
            self.send("close")
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# -- the probe pair and newcomers (one process) ----------------------------------------------


def pair_main(pipe: Connection, port: int) -> None:
    """Entry point of the probe process: two users who talk in a room, and newcomers who
    register while they do."""
    worker = Worker(port, PAIR, set(), 0)
    try:
        for command, args in commands(pipe):
            if command == "connect":
                pipe.send(join_pair(worker, args["room"], time.monotonic() + args["seconds"]))
            elif command == "probe":
                pipe.send(probe(worker, **args))
    finally:
        worker.close()


def pair_of(worker: Worker) -> list[Client]:
    return sorted((c for c in worker.clients.values() if c.index in PAIR), key=lambda c: c.index)


def join_pair(worker: Worker, room: str, deadline: float) -> dict[str, Any]:
    """Register the pair, move both to ``room`` (from #lobby) and check that each hears
    the other there: the route the probe's lines take works."""
    joined = worker.connect(deadline)
    pair = pair_of(worker)
    if room != "#lobby":
        for client in pair:
            worker.queue(client, b"/join %s\n/leave #lobby\n" % room.encode())
    for _ in range(10):  # a line may reach the room before the other one is in it
        if all(c.received for c in pair) or time.monotonic() >= deadline:
            break
        for listener, speaker in ((pair[0], pair[1]), (pair[1], pair[0])):
            if not listener.received:
                worker.queue(speaker, worker.line(speaker, b"m %d 0 0" % speaker.index))
        worker.pump(lambda: all(c.received for c in pair), min(deadline, time.monotonic() + 0.5))
    joined["heard"] = sum(1 for c in pair if c.received)
    worker.reset_counts()
    return joined


def probe(
    worker: Worker, interval: float, duration: float, grace: float, newcomers: int
) -> dict[str, Any]:
    """The pair sends a line each every ``interval`` s (half an interval apart) for
    ``duration`` s, and ``newcomers`` clients connect and register, evenly spread over it;
    then wait up to ``grace`` s for what is late."""
    pair = pair_of(worker)
    worker.reset_counts()
    worker.measure_latency = True
    per_client = max(1, int(duration / interval))
    sent = [0, 0]
    start = time.monotonic()
    due = {
        NEWCOMERS + k: start + (k + 0.5) * duration / max(newcomers, 1) for k in range(newcomers)
    }
    opened: dict[int, tuple[Client, float]] = {}
    registered: dict[int, float] = {}

    def tick() -> None:
        now = time.monotonic()
        for k, client in enumerate(pair):
            # Line j of client k is due at start + (j + k / 2) * interval.
            owed = min(per_client, max(0, math.floor((now - start) / interval - k / 2) + 1))
            while sent[k] < owed:
                text = b"m %d %d %d" % (client.index, sent[k], time.monotonic_ns())
                worker.queue(client, worker.line(client, text))
                sent[k] += 1
        for index, at in due.items():
            if index not in opened and now >= at:
                opened[index] = (worker.open(index), now)
        for index, (client, at) in opened.items():
            if index not in registered and client.registered:
                registered[index] = now - at

    def done() -> bool:
        heard = all(c.received >= sent[1 - k] for k, c in enumerate(pair))
        return heard and len(registered) == newcomers

    worker.pump(lambda: False, start + duration, tick)
    worker.pump(done, time.monotonic() + grace, tick)
    worker.measure_latency = False
    return {
        "latencies_ns": [ns for c in pair for ns in c.latencies],
        "expected": sum(sent),
        "received": sum(c.received for c in pair),
        "registration_s": [registered.get(NEWCOMERS + k) for k in range(newcomers)],
        "pair_closed": sum(c.closed for c in pair),
    }


# -- attackers -------------------------------------------------------------------------------


def slow_reader_main(pipe: Connection, port: int) -> None:
    """Entry point of the slow readers' process: on "attack", connect, send the payload in
    one write, say "sent", then read at ``rate`` bytes/s until "stop" (or ``seconds``)."""
    for command, args in commands(pipe):
        if command == "attack":
            pipe.send(read_slowly(pipe, port, **args))


def read_slowly(
    pipe: Connection,
    port: int,
    count: int,
    payload: bytes,
    rate: float,
    every: float,
    rcvbuf: int,
    seconds: float,
) -> dict[str, Any]:
    """``count`` connections send ``payload`` in one write each, then read at ``rate``
    bytes/s each, a read every ``every`` s, until "stop" or ``seconds``: how much each read
    and when the server closed it."""
    socks = []
    for _ in range(count):
        sock = socket.socket()
        if rcvbuf:  # before connecting: the window scale is agreed then
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.sendall(payload)
        sock.setblocking(False)
        socks.append(sock)
    pipe.send("sent")
    start = last = time.monotonic()
    read = [0] * count
    budget = [0.0] * count  # bytes each may read now: a bucket one read deep
    closed_at: list[float | None] = [None] * count
    try:
        for _ in range(int(seconds / every) + 1):
            if pipe.poll(every):  # the sleep between reads; "stop" ends it
                break
            now = time.monotonic()
            for k, sock in enumerate(socks):
                budget[k] = min(budget[k] + rate * (now - last), rate * every)
                if closed_at[k] is not None or budget[k] < 1:
                    continue
                try:
                    data = sock.recv(int(budget[k]))
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed_at[k] = round(now - start, 2)
                read[k] += len(data)
                budget[k] -= len(data)
            last = now
        if pipe.poll(60):
            pipe.recv()  # "stop"
    finally:
        for sock in socks:
            sock.close()
    return {"read_bytes": read, "closed_after_s": closed_at}


def flooders_main(pipe: Connection, port: int, indices: list[int], line_bytes: int) -> None:
    """Entry point of the flooders' process: registered clients that never read ("slow"
    to load.Worker, with the kernel's own receive buffer) and, on "flood", send lines
    as fast as the server takes them."""
    worker = Worker(port, indices, set(indices), 0)
    try:
        for command, args in commands(pipe):
            if command == "connect":
                pipe.send(worker.connect(time.monotonic() + args["seconds"]))
            elif command == "flood":
                pipe.send(flood_for(worker, line_bytes, args["seconds"]))
            elif command == "cut":
                pipe.send(cut(worker, args["seconds"]))
    finally:
        worker.close()


def flood_for(worker: Worker, line_bytes: int, seconds: float) -> dict[str, Any]:
    """Keep 64 KiB of lines queued on every flooder for ``seconds``; note when each is
    found closed (a write failed: the server cut it)."""
    clients = list(worker.clients.values())
    chunks = {}
    for client in clients:
        text = b"f %d " % client.index
        line = worker.line(client, text + b"x" * max(1, line_bytes - len(text) - 1))
        chunks[client.index] = repeated(line, 65536)
    queued = dict.fromkeys(chunks, 0)
    closed_at: dict[int, float] = {}
    start = time.monotonic()

    def tick() -> None:
        for client in clients:
            chunk = chunks[client.index]
            if client.closed:
                closed_at.setdefault(client.index, time.monotonic() - start)
            elif len(client.outgoing) < len(chunk):
                worker.queue(client, chunk)
                queued[client.index] += len(chunk)

    worker.pump(lambda: False, start + seconds, tick)
    unsent = sum(len(c.outgoing) for c in clients)
    for client in clients:
        client.outgoing = memoryview(b"")
    return {"sent_bytes": sum(queued.values()) - unsent, "closed_at": list(closed_at.values())}


def cut(worker: Worker, seconds: float) -> dict[str, int]:
    """Which flooders the server closed: already (a write failed), or once they read what
    they were sent (within ``seconds``)."""
    before = sum(c.closed for c in worker.clients.values())
    worker.slow_cut(time.monotonic() + seconds)
    return {"during_flood": before, "in_all": sum(c.closed for c in worker.clients.values())}


def silent(port: int, count: int, payload: bytes) -> list[socket.socket]:
    """``count`` connections that each send ``payload`` in one write and never read."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(payload)
        socks.append(sock)
    return socks


def answered(socks: list[socket.socket], prefix: bytes) -> int:
    """How many of ``socks`` were answered with ``prefix`` first (peeked, not read)."""
    count = 0
    for sock in socks:
        with contextlib.suppress(OSError):
            count += sock.recv(len(prefix), socket.MSG_PEEK | socket.MSG_DONTWAIT) == prefix
    return count


# -- the server ------------------------------------------------------------------------------


def server_sockets(pid: int) -> int:
    """How many sockets process ``pid`` holds open (listeners and connections)."""
    count = 0
    for fd in os.scandir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(fd.path).startswith("socket:")
    return count


def watch(server: Server, seconds: float) -> list[tuple[float, int, int]]:
    """(seconds, VmRSS KiB, sockets) of the server every ``SAMPLE`` s for ``seconds``."""
    start = time.monotonic()
    samples = []
    for k in range(int(seconds / SAMPLE) + 1):
        pid = server.process.pid
        samples.append((time.monotonic() - start, server.memory_kib(), server_sockets(pid)))
        time.sleep(max(0.0, start + (k + 1) * SAMPLE - time.monotonic()))
    return samples


def start_server(args: argparse.Namespace, extra: Sequence[str] = ()) -> Server:
    """chat-trio with a fresh history file (or none), and flood control as asked."""
    return Server("chat-trio", history_args(args) + list(extra), args.flood_control == "on")


def mib(kib: float) -> float:
    return round(kib / 1024, 1)


def latency_figures(latencies_ns: list[int]) -> dict[str, float]:
    ms = [ns / 1e6 for ns in latencies_ns]
    if not ms:
        return {}
    return {
        "latency_ms_p50": round(percentile(ms, 50), 1),
        "latency_ms_p90": round(percentile(ms, 90), 1),
        "latency_ms_p99": round(percentile(ms, 99), 1),
        "latency_ms_max": round(max(ms), 1),
    }


def probe_figures(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "probe_lines": report["expected"],
        "probe_lost": report["expected"] - report["received"],
        **latency_figures(report["latencies_ns"]),
    }
    if report["pair_closed"]:
        out["probe_closed"] = report["pair_closed"]
    return out


# -- scenarios -------------------------------------------------------------------------------


def run_stall(args: argparse.Namespace) -> dict[str, Any]:
    """Hole 2: one slow-draining client that never chose a name, and a probe pair."""
    server = start_server(args)
    result: dict[str, Any] = {"attackers": args.attackers}
    pair = Child(pair_main, server.port)
    reader = Child(slow_reader_main, server.port)
    try:
        joined = pair.ask("connect", 60, room="#lobby", seconds=30)
        if joined["heard"] != len(PAIR):
            raise RuntimeError(f"the probe pair did not hear each other: {joined}")
        rss0 = server.memory_kib()
        payload = repeated(HELP, args.attack_bytes)
        result["attack_write_bytes"] = len(payload)
        if args.attackers:
            seconds = args.duration + args.grace + 60
            reader.send(
                "attack",
                count=args.attackers,
                payload=payload,
                rate=args.read_rate,
                every=args.read_every,
                rcvbuf=args.attacker_rcvbuf,
                seconds=seconds,
            )
            assert reader.answer(30) == "sent"
        report = pair.ask(
            "probe",
            args.duration + args.grace + 60,
            interval=args.probe_interval,
            duration=args.duration,
            grace=args.grace,
            newcomers=args.registrations,
        )
        result["probe_interval_s"] = args.probe_interval
        result.update(probe_figures(report))
        times = [t for t in report["registration_s"] if t is not None]
        result["registered"] = f"{len(times)} of {args.registrations}"
        if times:
            result["registration_s_p50"] = round(percentile(times, 50), 3)
            result["registration_s_max"] = round(max(times), 3)
        result["server_rss_growth_mib"] = mib(server.memory_kib() - rss0)
        result["server_peak_rss_mib"] = mib(server.memory_kib("VmHWM"))
        if args.attackers:
            attack = reader.ask("stop", 90)
            result["attacker_read_kib"] = round(sum(attack["read_bytes"]) / 1024)
            cut = [t for t in attack["closed_after_s"] if t is not None]
            result["attackers_cut"] = len(cut)
            if cut:
                result["attacker_cut_after_s"] = max(cut)
    finally:
        pair.close()
        reader.close()
        result["server_exit_status"] = server.stop()
    return result


def run_room_flood(args: argparse.Namespace) -> dict[str, Any]:
    """Hole 2, a room's flood: flooders who never read, and a probe pair in another room."""
    server = start_server(args)
    result: dict[str, Any] = {"attackers": args.attackers, "line_bytes": args.line_bytes}
    indices = list(range(FLOODERS, FLOODERS + args.attackers))
    flooders = Child(flooders_main, server.port, indices, args.line_bytes)
    pair = Child(pair_main, server.port)
    try:
        registered = flooders.ask("connect", 90, seconds=30)["registered"]
        result["attackers_registered"] = registered
        joined = pair.ask("connect", 60, room="#quiet", seconds=30)
        if joined["heard"] != len(PAIR):
            raise RuntimeError(f"the probe pair did not hear each other: {joined}")
        flood_seconds = args.duration + 2
        flooders.send("flood", seconds=flood_seconds)
        time.sleep(1)  # the flood fills the queues before the probe starts
        report = pair.ask(
            "probe",
            args.duration + args.grace + 60,
            interval=args.probe_interval,
            duration=args.duration,
            grace=args.grace,
            newcomers=0,
        )
        result["probe_interval_s"] = args.probe_interval
        result.update(probe_figures(report))
        flood = flooders.answer(flood_seconds + 60)
        result["flood_sent_mib"] = mib(flood["sent_bytes"] / 1024)
        if flood["closed_at"]:  # from the flood's start, a second before the probe's
            result["attackers_cut_from_s"] = round(min(flood["closed_at"]), 2)
            result["attackers_cut_until_s"] = round(max(flood["closed_at"]), 2)
        result["server_peak_rss_mib"] = mib(server.memory_kib("VmHWM"))
        cuts = flooders.ask("cut", args.grace + 60, seconds=args.grace)
        result["attackers_cut_during_flood"] = cuts["during_flood"]
        result["attackers_cut"] = cuts["in_all"]
    finally:
        pair.close()
        flooders.close()
        result["server_exit_status"] = server.stop()
    return result


def memory_figures(
    samples: list[tuple[float, int, int]], rss0: int, sockets0: int, attackers: int
) -> dict[str, Any]:
    """RSS growth (at its sampled peak, and at the end) and the attackers the server held
    (at most, and at the end): those it accepted and has not cut."""
    peak = max(samples, key=lambda s: s[1])
    held = [count - sockets0 for _, _, count in samples]
    first_cut = next(
        (t for k, (t, _, _) in enumerate(samples) if k and held[k] < max(held[:k])), None
    )
    return {
        "rss_before_mib": mib(rss0),
        "rss_growth_mib_peak": mib(peak[1] - rss0),
        "rss_peak_at_s": round(peak[0], 1),
        "rss_growth_mib_end": mib(samples[-1][1] - rss0),
        "rss_kib_per_attacker": round((peak[1] - rss0) / max(attackers, 1), 1),
        "attackers_held_max": max(held),
        "attackers_held_end": held[-1],
        "attackers_cut": attackers - held[-1],
        "first_cut_at_s": None if first_cut is None else round(first_cut, 1),
        "timeline": [(round(t, 2), mib(rss - rss0), n - sockets0) for t, rss, n in samples],
    }


def run_answers(args: argparse.Namespace) -> dict[str, Any]:
    """Hole 3, text door: silent connections that each ask for ~1 MB of /help answers."""
    server = start_server(args)
    result: dict[str, Any] = {"attackers": args.attackers}
    socks: list[socket.socket] = []
    try:
        time.sleep(0.5)
        rss0, sockets0 = server.memory_kib(), server_sockets(server.process.pid)
        payload = repeated(HELP, args.attack_bytes)
        result["attack_write_bytes"] = len(payload)
        start = time.monotonic()
        socks = silent(server.port, args.attackers, payload)
        result["connect_s"] = round(time.monotonic() - start, 2)
        samples = watch(server, args.duration)
        result.update(memory_figures(samples, rss0, sockets0, args.attackers))
        result["attackers_answered"] = answered(socks, b"Welcome to chat-trio!")
        result["server_peak_rss_mib"] = mib(server.memory_kib("VmHWM"))
    finally:
        for sock in socks:
            sock.close()
        result["server_exit_status"] = server.stop()
    return result


def run_answers_web(args: argparse.Namespace) -> dict[str, Any]:
    """Hole 3, web door: silent web clients that each ask for every name, many times."""
    server = start_server(args, ["--max-clients", str(max(args.clients + 16, 10_000))])
    result: dict[str, Any] = {"idle_clients": args.clients, "attackers": args.attackers}
    workers = Workers(server.port, args.clients, [], args.processes, server.ports)
    socks: list[socket.socket] = []
    try:
        joined = workers.ask("connect", seconds=120)
        result["idle_registered"] = sum(r["registered"] for r in joined)
        result["join_s"] = round(max(r["seconds"] for r in joined), 2)
        time.sleep(2)  # the last join notices
        rss0, sockets0 = server.memory_kib(), server_sockets(server.process.pid)
        requests = repeated(LIST_USERS, args.attack_bytes)
        result["requests_per_attacker"] = len(requests) // len(LIST_USERS)
        socks = silent(server.ports["web"], args.attackers, WEB_UPGRADE + requests)
        samples = watch(server, args.duration)
        result.update(memory_figures(samples, rss0, sockets0, args.attackers))
        result["attackers_answered"] = answered(socks, b"HTTP/1.1 101")
        result["server_peak_rss_mib"] = mib(server.memory_kib("VmHWM"))
    finally:
        for sock in socks:
            sock.close()
        workers.close()
        result["server_exit_status"] = server.stop()
    return result


SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "stall": run_stall,
    "room-flood": run_room_flood,
    "answers": run_answers,
    "answers-web": run_answers_web,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.attack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument(
        "--attackers", type=int, help="attacking connections (default: 1, 12, 250, 10)"
    )
    parser.add_argument(
        "--duration", type=float, help="seconds the probe talks, or memory is watched"
    )
    parser.add_argument(
        "--flood-control",
        choices=["on", "off"],
        help="the server's flood control: its defaults, or off (default: off in room-flood)",
    )
    parser.add_argument(
        "--probe-interval",
        type=float,
        help="seconds between one probe user's lines (default: 0.5 with flood control, 0.1)",
    )
    parser.add_argument("--grace", type=float, default=45.0, help="wait for late lines, s")
    parser.add_argument("--registrations", type=int, default=5, help="stall: newcomers")
    parser.add_argument(
        "--read-rate", type=float, default=70_000, help="stall: attacker reads, bytes/s"
    )
    parser.add_argument(
        "--read-every", type=float, default=0.05, help="stall: seconds between its reads"
    )
    parser.add_argument(
        "--attacker-rcvbuf",
        type=int,
        default=16384,
        help="stall: the attacker's SO_RCVBUF, bytes (0: the kernel's default)",
    )
    parser.add_argument(
        "--attack-bytes", type=int, default=4096, help="the one write of each attacker"
    )
    parser.add_argument("--line-bytes", type=int, default=500, help="room-flood: line size")
    parser.add_argument(
        "--clients", type=int, default=3000, help="answers-web: idle registered clients"
    )
    parser.add_argument("--processes", type=int, default=2, help="answers-web: their processes")
    parser.add_argument(
        "--history",
        choices=["file", "off"],
        default="file",
        help="record history in a fresh SQLite file (the default), or --no-db",
    )
    parser.add_argument("--json", type=Path, help="append results to this JSON file")
    parser.set_defaults(server="chat-trio")
    args = parser.parse_args(argv)
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    results = []
    for scenario in scenarios:
        run = argparse.Namespace(**vars(args))
        run.scenario = scenario
        for key, value in DEFAULTS[scenario].items():
            if getattr(run, key) is None:
                setattr(run, key, value)
        if run.probe_interval is None:
            run.probe_interval = 0.5 if run.flood_control == "on" else 0.1
        print(f"running {scenario} against chat-trio ...", file=sys.stderr, flush=True)
        result = {"scenario": scenario, "server": "chat-trio", "flood_control": run.flood_control}
        result.update(SCENARIOS[scenario](run))
        results.append(result)
    print(table([{k: v for k, v in r.items() if k not in LONG} for r in results]))
    if args.json:
        append_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
