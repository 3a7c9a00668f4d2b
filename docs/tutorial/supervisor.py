"""Chapter 10: a supervisor that keeps a connection to an upstream service, whatever happens.

Run: ``python -m docs.tutorial.supervisor [PORT]`` (port 9000 unless you give one). It
connects to an upstream at localhost:PORT and prints each line it sends. Try it with
``nc -lk 9000`` as the upstream: type lines into nc, stop it, start it again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import trio

from docs.tutorial.run import port_from

FIRST_DELAY = 1.0  # seconds before the first retry: a restart is often that quick
MAX_DELAY = 30.0  # the wait stops doubling here: an upstream that is back is found soon
CONNECT_TIMEOUT = 5.0  # seconds for one attempt: a host that never answers is a failure too
HEALTHY = 10.0  # seconds a connection must last before its failures are forgiven
MAX_LINE = 65536  # bytes without a newline: an upstream that sends more is broken


class Backoff:
    """How long to wait before the next attempt: 1, 2, 4, ... seconds, at most 30."""

    def __init__(self) -> None:
        self.failures = 0  # in a row: a connection that lasts starts the count again

    def next_delay(self) -> float:
        delay = min(FIRST_DELAY * 2.0**self.failures, MAX_DELAY)
        self.failures += 1
        return delay


class Supervisor:
    """Connect, relay lines into ``lines``, and when the connection ends, connect again."""

    def __init__(
        self,
        port: int,
        lines: trio.MemorySendChannel[str],
        backoff: Backoff,
        log: Callable[[str], object] = print,
    ) -> None:
        self.port, self.lines, self.backoff, self.log = port, lines, backoff, log

    async def run(self) -> None:
        """Never returns: only a cancellation (or an error from ``backoff``) ends it."""
        while True:
            try:
                with trio.fail_after(CONNECT_TIMEOUT):
                    stream = await trio.open_tcp_stream("127.0.0.1", self.port)
            except (OSError, trio.TooSlowError) as error:
                problem = str(error) or "no answer"
            else:
                self.log("connected")
                connected = trio.current_time()
                async with stream:
                    problem = await self.relay(stream)
                if trio.current_time() - connected >= HEALTHY:
                    self.backoff.failures = 0  # it worked for a while: count from zero again
            delay = self.backoff.next_delay()
            self.log(f"{problem}; next try in {delay:g} s")
            await trio.sleep(delay)

    async def relay(self, stream: trio.SocketStream) -> str:
        """Hand each line to the consumer until the connection ends; say how it ended."""
        buffer = b""
        try:
            async for chunk in stream:
                buffer += chunk
                while b"\n" in buffer:
                    line, _, buffer = buffer.partition(b"\n")
                    # An awaited send: if the consumer is slow, we stop reading, and the
                    # upstream's own buffers make it wait. Nothing grows without bound.
                    await self.lines.send(line.decode(errors="replace").rstrip("\r"))
                if len(buffer) > MAX_LINE:
                    return "the upstream sent a line that is too long"
        except trio.BrokenResourceError as error:
            return f"connection broken ({error})"
        return "the upstream closed the connection"


async def main(port: int, backoff: Backoff) -> None:
    send, receive = trio.open_memory_channel[str](100)  # full: the supervisor waits
    async with trio.open_nursery() as nursery:
        nursery.start_soon(Supervisor(port, send, backoff).run)
        async for line in receive:
            print(f"upstream says: {line}", flush=True)


def cli(backoff: Backoff) -> None:
    port = port_from(sys.argv, 9000)
    print(f"connecting to an upstream on port {port}: try  nc -lk {port}", flush=True)
    try:
        trio.run(main, port, backoff)
    except* KeyboardInterrupt:
        pass


if __name__ == "__main__":
    cli(Backoff())
