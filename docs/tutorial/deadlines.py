"""Chapter 7: deadlines and timeouts. A login deadline, and an idle timeout per client.

Run: ``python -m docs.tutorial.deadlines [PORT]`` (port 8007 unless you give one), then
``nc localhost 8007`` and say nothing for 30 seconds.
"""

from __future__ import annotations

import trio

from docs.tutorial.core_server import Server
from docs.tutorial.run import serve

LOGIN = 30.0  # seconds to choose a name: a connection that never speaks is not kept
IDLE = 300.0  # seconds of silence, once named, after which a client is let go
GOODBYE = 1.0  # seconds the writer has to send the reason before the connection ends


class TimedServer(Server):
    async def read(self, stream: trio.abc.ReceiveStream, who: int) -> None:
        try:
            with trio.fail_after(LOGIN):  # one deadline for the whole login, however many lines
                while who not in self.chat.names:
                    if not await self.read_once(stream, who):
                        return
        except trio.TooSlowError:
            await self.hang_up(who, f"No name after {LOGIN:g} s. Goodbye.")
            return
        while await self.read_within(IDLE, stream, who):
            pass

    async def read_within(self, seconds: float, stream: trio.abc.ReceiveStream, who: int) -> bool:
        """Read once, waiting at most ``seconds``; False when the connection is over."""
        with trio.move_on_after(seconds):  # a fresh timeout for each read
            return await self.read_once(stream, who)
        await self.hang_up(who, f"No word for {IDLE:g} s. Goodbye.")
        return False

    async def hang_up(self, who: int, reason: str) -> None:
        # The rules let it go, as they do for /quit: from now on nobody sends it anything,
        # and the others hear that it left. The reason goes through the outbox like every
        # other byte: the writer may be sending right now, and a second sender on one
        # stream is chapter 2's crash.
        self.carry_out(self.chat.let_go(who, reason))
        # Once the writer has sent it, it cancels this connection's scope and ends this
        # wait early. A client that does not read gets GOODBYE seconds, not forever.
        await trio.sleep(GOODBYE)


if __name__ == "__main__":
    serve(TimedServer().handle, 8007)
