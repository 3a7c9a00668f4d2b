"""What the pub/sub subscriber costs per message received: CPU of this process.

    python -m benchmarks.subscriber                      # 200,000 messages of 100 bytes, 3 runs
    python -m benchmarks.subscriber --messages 50000 --size 500 --runs 5

Starts a private redis-server (a free loopback port, a temporary folder, nothing saved),
subscribes ``chat_trio.nodes.subscriber.Subscriber`` to one channel, and has
``redis-benchmark`` (another process: its CPU is not counted) publish the messages,
pipelined. The consumer here only counts what arrives. A run ends early if Redis cuts
the subscriber off (``Lost``: it published faster than this process reads, for long
enough to pass Redis's pub/sub output limit). Reported per run: messages received, this
process's CPU time per message (reader, RESP parsing, the hand-off and the counting
consumer: ``time.process_time``) and the receive rate.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time

import trio

from chat_trio.nodes.subscriber import Message, Subscriber

CHANNEL = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def one_run(port: int, messages: int, size: int) -> tuple[int, float, float]:
    """(received, CPU seconds, wall seconds) for one burst of ``messages``."""
    subscriber = Subscriber("127.0.0.1", port)
    subscriber.subscribe(CHANNEL)
    received = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(subscriber.run)
        publisher = await trio.lowlevel.open_process(
            ["redis-benchmark", "-p", str(port), "-c", "1", "-P", "100", "-n", str(messages),
             "-q", "PUBLISH", CHANNEL, "x" * size],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        arrivals = subscriber.arrivals()
        first = await arrivals.receive()
        assert isinstance(first, Message), first
        cpu, wall, received = time.process_time(), time.perf_counter(), 1
        with trio.move_on_after(60):
            while received < messages:
                arrival = await arrivals.receive()
                if not isinstance(arrival, Message):  # a consumer too slow: Redis cut it off
                    break
                received += 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await publisher.wait()
        nursery.cancel_scope.cancel()
    return received, cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per message")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("redis-server") is None or shutil.which("redis-benchmark") is None:
        parser.exit(1, "benchmarks.subscriber: needs redis-server and redis-benchmark\n")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(0.5)  # a redis-server answers in ~10 ms; a loaded machine is given more
            for run in range(args.runs):
                got, cpu, wall = trio.run(one_run, port, args.messages, args.size)
                print(
                    f"run {run + 1}: {got} messages of {args.size} bytes, "
                    f"{cpu / got * 1e6:.2f} µs CPU each, {got / wall:,.0f} msg/s"
                )
        finally:
            redis.terminate()
            redis.wait(10)


if __name__ == "__main__":
    main()
