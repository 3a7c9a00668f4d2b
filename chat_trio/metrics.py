"""What the server tells its operator, in the Prometheus text format (version 0.0.4).

Two things live here, both sans-I/O:

1. ``Counts``: the few counts no layer keeps already, in plain ints, bumped where the
   deciding happens (a session ending, a password checked, a connection opened through
   a door); the rules count lines in and flood delays themselves (``World``). Everything
   else is read at scrape time from the ``statistics()`` each queue already offers
   (inspection.py gathers it), so the hot path (a delivery) pays nothing for being
   watched.
2. ``Family`` and ``exposition``: one metric family and its samples, and the text a
   Prometheus server scrapes. ``Histogram`` buckets observations (the history writer's
   latency).

Why not ``prometheus-client``: its metrics live in a process-global registry and lock on
every update, which is thread-safety this single-threaded event loop does not need and
would pay for per count; and what it offers beyond that is this module's forty lines of
formatting. The tests read our output with its parser
(``prometheus_client.parser.text_string_to_metric_families``), so the format is checked
by the reference implementation.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The exposition format's media type (what Prometheus asks for and accepts)."""

Labels = tuple[tuple[str, str], ...]
"""A sample's labels, as (name, value) pairs in the order they are written."""


class Counts:
    """Counts kept where they are decided, read at scrape time. All are totals since the
    server started, but ``sessions`` (open now)."""

    __slots__ = ("disconnects", "password_checks", "sessions", "sessions_total")

    def __init__(self) -> None:
        self.sessions: Counter[str] = Counter()  #: entrance label -> sessions open now
        self.sessions_total: Counter[str] = Counter()  #: entrance label -> sessions opened
        self.disconnects: Counter[str] = Counter()  #: reason -> sessions that ended so
        self.password_checks: Counter[str] = Counter()  #: verdict -> password checks

    def opened(self, entrance: str) -> None:
        """A session begins through ``entrance`` ("text", "IRC, TLS", ...). Plain calls
        (``opened``/``closed`` in a ``finally``), not a context manager: a suspended
        generator would cost every idle connection 232 bytes."""
        self.sessions[entrance] += 1
        self.sessions_total[entrance] += 1

    def closed(self, entrance: str) -> None:
        """A session that ``opened`` ended."""
        self.sessions[entrance] -= 1


@attrs.frozen
class Distribution:
    """A histogram's state: ``counts[i]`` observations were at most ``bounds[i]`` and more
    than the bound before (the last: more than every bound)."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: float  #: the sum of the observations


class Histogram:
    """Observations counted in buckets by upper bound: one ``bisect`` and two adds each."""

    __slots__ = ("_bounds", "_counts", "_total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self._bounds = tuple(sorted(bounds))
        self._counts = [0] * (len(self._bounds) + 1)
        self._total = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self._bounds, value)] += 1
        self._total += value

    def snapshot(self) -> Distribution:
        return Distribution(self._bounds, tuple(self._counts), self._total)


@attrs.frozen
class Family:
    """One metric: its name, type, help text and samples."""

    name: str  #: ``chat_trio_...``; a counter's ends in ``_total``
    kind: str  #: "counter", "gauge" or "histogram"
    help: str
    samples: tuple[tuple[str, Labels, float], ...]  #: (name, labels, value)


def _labelled(
    name: str, values: float | Mapping[str, float], label: str
) -> Iterator[tuple[str, Labels, float]]:
    if isinstance(values, Mapping):
        for key in sorted(values):
            yield name, ((label, key),), values[key]
    else:
        yield name, (), values


def counter(name: str, help: str, values: float | Mapping[str, float], label: str = "") -> Family:
    """A counter: one value, or one per value of ``label`` (``values`` a mapping)."""
    return Family(name, "counter", help, tuple(_labelled(name, values, label)))


def gauge(name: str, help: str, values: float | Mapping[str, float], label: str = "") -> Family:
    """A gauge: one value, or one per value of ``label`` (``values`` a mapping)."""
    return Family(name, "gauge", help, tuple(_labelled(name, values, label)))


def info(name: str, help: str, labels: Mapping[str, str]) -> Family:
    """A gauge that is always 1 and says what it says in its labels (the version)."""
    return Family(name, "gauge", help, ((name, tuple(labels.items()), 1),))


def histogram(name: str, help: str, distribution: Distribution) -> Family:
    """A histogram, its buckets cumulative as the format wants them."""
    samples: list[tuple[str, Labels, float]] = []
    seen = 0
    for bound, count in zip((*distribution.bounds, math.inf), distribution.counts, strict=True):
        seen += count
        le = "+Inf" if bound == math.inf else repr(float(bound))  # as Prometheus writes it
        samples.append((f"{name}_bucket", (("le", le),), seen))
    samples.append((f"{name}_sum", (), distribution.total))
    samples.append((f"{name}_count", (), seen))
    return Family(name, "histogram", help, tuple(samples))


def exposition(families: Iterable[Family]) -> bytes:
    """The text a Prometheus server scrapes: each family's HELP, TYPE and samples."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for name, labels, value in family.samples:
            shown = ",".join(f'{key}="{_escape(text, quote=True)}"' for key, text in labels)
            lines.append(
                f"{name}{{{shown}}} {_number(value)}" if labels else f"{name} {_number(value)}"
            )
    return ("\n".join(lines) + "\n").encode()


def _escape(text: str, *, quote: bool = False) -> str:
    """HELP text and label values: backslash and line feed escaped (and ``"`` in a label)."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if quote else text


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return repr(value)
