"""Per-channel sequence numbers: what tells a node that it missed or repeated an event.

Each room's events carry a number from a counter in Redis (one ``INCR`` per event, 1, 2,
3, ...). A node watches the numbers of each channel it is subscribed to; sans-I/O, no
trio: the subscriber's consumer calls it.

Theory of operation, one rule per case of ``Sequences.observe(channel, seq)``:

- Rule 1 (NEW): the first number seen on a channel, or ``last + 1``: deliver it.
- Rule 2 (DUPLICATE): ``seq <= last``: seen already (a retried publish, a replay): drop it.
- Rule 3 (GAP): ``seq > last + 1``: deliver it, and tell the room that ``seq - last - 1``
  events were missed (Redis cut a slow subscriber off, or the link was down).
- Rule 4 (forget): ``forget(channel)`` after unsubscribing: the next number seen on it is
  a first again (Rule 1), since what was published meanwhile was never ours to see.
- Rule 5 (a counter that went back): a Redis restarted without its data restarts every
  counter at 1, and by Rule 2 every later event would be dropped as a duplicate until the
  counter caught up. Nothing is guessed from the numbers alone, because a number lower
  than ``last`` is exactly what a genuine duplicate looks like, and a counter that
  restarted may have climbed past ``last`` before this node hears it. The caller knows:
  nodes/peers.py sends, with every number, the epoch of Redis' data (``ct:epoch``,
  written anew by the first post after Redis lost its data), and on a new epoch calls
  ``forget(channel)`` (the next number is a first one; the loss was told when contact came
  back). ``restart`` and ``last`` are for a caller that compares counters itself.

What this module never does: reset anything by itself on a reconnect (a reconnect to the
same Redis keeps its counters, and numbers then go on where they were), read a clock, or
talk to Redis.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import attrs


class Kind(enum.Enum):
    """What one observed number means (see the module's rules)."""

    NEW = "new"
    DUPLICATE = "duplicate"
    GAP = "gap"


@attrs.frozen
class Seen:
    """The verdict on one event's number: ``Seen.NEW``, ``Seen.DUPLICATE``, or a gap
    (``kind`` is ``Kind.GAP``) with how many were missed."""

    kind: Kind  #: which rule applied
    missed: int = 0  #: events missed just before this one (a GAP only; else 0)

    NEW: ClassVar[Seen]
    DUPLICATE: ClassVar[Seen]

    @classmethod
    def gap(cls, missed: int) -> Seen:
        return cls(Kind.GAP, missed)


Seen.NEW = Seen(Kind.NEW)
Seen.DUPLICATE = Seen(Kind.DUPLICATE)


class Sequences:
    """The last number seen on each channel (one entry per subscribed channel: bounded by
    the subscriptions, and ``forget`` removes one)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def observe(self, channel: str, seq: int) -> Seen:
        """Take an event's number and say what it means (the rules above).

        Raises:
          ValueError: ``seq`` is below 1 (counters start at 1): the event is malformed.
        """
        if seq < 1:
            raise ValueError(f"sequence numbers start at 1, not {seq} (channel {channel!r})")
        last = self._last.get(channel)
        if last is not None and seq <= last:
            return Seen.DUPLICATE
        self._last[channel] = seq
        if last is None or seq == last + 1:
            return Seen.NEW
        return Seen.gap(seq - last - 1)

    def last(self, channel: str) -> int | None:
        """The highest number seen on ``channel``, or None if none since it was forgotten
        (or ever)."""
        return self._last.get(channel)

    def forget(self, channel: str) -> None:
        """Unsubscribed from ``channel``: its next number is a first one (Rule 4)."""
        self._last.pop(channel, None)

    def restart(self, channel: str) -> None:
        """The channel's counter restarted (Rule 5): count from 0 again, so that event 1 is
        NEW and any later first number is a GAP for those before it."""
        self._last[channel] = 0

    def channels(self) -> int:
        """How many channels are tracked."""
        return len(self._last)
