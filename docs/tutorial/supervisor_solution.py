"""Chapter 10, exercise: give up after five failed attempts in a row, and say so.

Run: ``python -m docs.tutorial.supervisor_solution [PORT]`` (port 9000 unless you give
one), with no upstream: after 1 + 2 + 4 + 8 seconds of retries, it stops with one line.
"""

from __future__ import annotations

from docs.tutorial.supervisor import Backoff, cli

ATTEMPTS = 5  # in a row; a connection that lasts (HEALTHY s) starts the count again


class UpstreamGone(Exception):
    pass


class GiveUp(Backoff):
    def next_delay(self) -> float:
        if self.failures + 1 == ATTEMPTS:  # that failure was the last attempt
            raise UpstreamGone(f"no upstream after {ATTEMPTS} attempts in a row")
        return super().next_delay()


if __name__ == "__main__":
    try:
        cli(GiveUp())
    except* UpstreamGone as group:  # it came up through main's nursery, in a group
        raise SystemExit(str(group.exceptions[0])) from None
