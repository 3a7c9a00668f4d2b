"""Chapter 4, exercise: tell the others when a slow client is cut.

Run: ``python -m docs.tutorial.broadcast_channels_solution [PORT]`` (port 8004 unless you
give one).
"""

from __future__ import annotations

from functools import partial

from docs.tutorial.broadcast_channels import broadcast, handle, outboxes
from docs.tutorial.run import serve


def broadcast_and_tell(sender: str, text: str) -> None:  # still plain def: cannot block
    before = set(outboxes)
    broadcast(sender, text)
    for name in sorted(before - set(outboxes)):  # the ones broadcast just cut
        broadcast("server", f"{name} was too slow and has been disconnected")


handle_and_tell = partial(handle, publish=broadcast_and_tell)

if __name__ == "__main__":
    serve(handle_and_tell, 8004)
