"""Chapter 7, exercise: warn a silent client before letting it go.

Run: ``python -m docs.tutorial.deadlines_solution [PORT]`` (port 8007 unless you give one).
"""

from __future__ import annotations

import trio

from docs.tutorial.core import Send
from docs.tutorial.deadlines import TimedServer
from docs.tutorial.run import serve

WARNING = 60.0  # seconds of notice before a silent client is let go


class WarningServer(TimedServer):
    async def read_within(self, seconds: float, stream: trio.abc.ReceiveStream, who: int) -> bool:
        with trio.move_on_after(seconds - WARNING):
            return await self.read_once(stream, who)
        warning = f"Still there? Say something within {WARNING:g} s.\r\n"
        self.carry_out([Send(who, warning.encode())])
        return await super().read_within(WARNING, stream, who)


if __name__ == "__main__":
    serve(WarningServer().handle, 8007)
