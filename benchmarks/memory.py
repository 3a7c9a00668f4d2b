"""What an idle registered connection costs, door by door, object by object.

    python -m benchmarks.memory                     # 2,000 connections on each door
    python -m benchmarks.memory --clients 500 --doors text,web

Runs the server in this process with tracemalloc on, connects the clients from client
processes (benchmarks/load.py, the same clients as ``benchmarks.run``), lets them register
into #lobby and go idle, and compares before and after:

- the bytes Python allocated per connection (tracemalloc), and where (file:line);
- the objects the garbage collector tracks per connection, by type, with their shallow
  sizes (``sys.getsizeof``): the containers an idle connection holds;
- RSS per connection (inflated by tracemalloc's own bookkeeping: compare the tracemalloc
  figure, and ``benchmarks.run --scenario scale`` for RSS without it).
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import resource
import sys
import tracemalloc
import types
from typing import Any

import trio

from benchmarks.run import Workers, memory_kib
from chat_trio.chat.world import Rules
from chat_trio.config import Config
from chat_trio.server import serve

SETTLE = 2.0  #: seconds to let the server finish the joins' notices before measuring


def census() -> collections.Counter[str]:
    """(count, bytes) of every object the collector tracks, by type."""
    counts: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():
        name = type(obj).__module__ + "." + type(obj).__qualname__
        if isinstance(obj, (types.CoroutineType, types.GeneratorType)):  # which function
            code = obj.cr_code if isinstance(obj, types.CoroutineType) else obj.gi_code
            name += f" {code.co_qualname}"
        counts[name + " #"] += 1
        counts[name] += sys.getsizeof(obj)
    return counts


async def measure_door(door: str, ports: dict[str, int], clients: int, top: int) -> dict[str, Any]:
    gc.collect()
    before, types0, rss0 = tracemalloc.take_snapshot(), census(), memory_kib("self")
    port = ports["text"]
    doors = {i: door for i in range(clients)} if door != "text" else {}
    workers = await trio.to_thread.run_sync(Workers, port, clients, [], 2, ports, doors)
    try:
        joined = await trio.to_thread.run_sync(lambda: workers.ask("connect", seconds=120))
        registered = sum(r["registered"] for r in joined)
        await trio.sleep(SETTLE)
        gc.collect()
        after, types1, rss1 = tracemalloc.take_snapshot(), census(), memory_kib("self")
    finally:
        await trio.to_thread.run_sync(workers.close)
    await trio.sleep(SETTLE)  # the sessions end and their memory goes back
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    lines = [
        (round(s.size_diff / clients), f"{s.traceback[0].filename}:{s.traceback[0].lineno}")
        for s in sorted(stats, key=lambda s: -s.size_diff)[:top]
    ]
    grown = {
        name: (round((types1[name + " #"] - types0[name + " #"]) / clients, 2),
               round((types1[name] - types0[name]) / clients))
        for name in types1 if not name.endswith(" #")
    }  # fmt: skip
    kinds = sorted(((v[1], k, v[0]) for k, v in grown.items() if v[1] > 0), reverse=True)
    return {
        "door": door,
        "clients": clients,
        "registered": registered,
        "traced_bytes_per_connection": round(total / clients),
        "rss_kib_per_connection": round((rss1 - rss0) / clients, 2),
        "gc_bytes_per_connection": sum(v[1] for v in grown.values()),
        "by_type": [(name, per, size) for size, name, per in kinds[:top]],
        "by_line": lines,
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    config = Config(port=0, irc_port=0, web_port=0, db=None, rules=Rules(flood_rate=0))
    stop = trio.Event()
    results = []
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(serve, config, stop)
        ports = {b.label.lower(): b.port for b in bound}
        for door in args.doors.split(","):
            print(f"measuring {args.clients} idle connections on the {door} door ...",
                  file=sys.stderr, flush=True)  # fmt: skip
            results.append(await measure_door(door, ports, args.clients, args.top))
        stop.set()
    return results


def report(result: dict[str, Any]) -> str:
    out = [
        f"## {result['door']} door: {result['registered']} of {result['clients']} registered",
        f"traced by tracemalloc: {result['traced_bytes_per_connection']} B per connection;"
        f" objects the collector tracks: {result['gc_bytes_per_connection']} B (shallow);"
        f" RSS: {result['rss_kib_per_connection']} KiB (with tracemalloc's overhead)",
        "",
        "objects per connection, by type (count, shallow bytes):",
    ]
    out += [f"  {size:6d} B  {per:5.2f} x {name}" for name, per, size in result["by_type"]]
    out += ["", "bytes per connection, by the line that allocated them:"]
    out += [f"  {size:6d} B  {where}" for size, where in result["by_line"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=2000, help="connections per door")
    parser.add_argument("--doors", default="text,irc,web", help="comma-separated doors")
    parser.add_argument("--top", type=int, default=25, help="rows per table")
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    tracemalloc.start()
    for result in trio.run(main_async, args):
        print(report(result), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
