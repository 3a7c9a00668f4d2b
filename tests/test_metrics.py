"""The operator's numbers, sans-I/O: the Prometheus text exposition (read back with the
reference parser, prometheus_client's), histograms and the counts kept for it."""

from __future__ import annotations

import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chat_trio.metrics import (
    Counts,
    Histogram,
    counter,
    exposition,
    gauge,
    histogram,
    info,
)


def parsed(text: bytes) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each sample a Prometheus server would store: name -> labels -> value."""
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_exposition_is_read_by_prometheus_as_written() -> None:
    text = exposition(
        [
            info("chat_trio_build_info", "The version.", {"version": "0.3.0"}),
            gauge("chat_trio_users", "Users online.", 2),
            counter("chat_trio_lines_in_total", "Lines in.", 17),
            counter(
                "chat_trio_disconnects_total",
                "By reason.",
                {"quit": 3, "slow": 1},
                "reason",
            ),
            gauge("chat_trio_start_time_seconds", "When.", 1796407032.25),
        ]
    )
    samples = parsed(text)
    assert samples["chat_trio_build_info"] == {(("version", "0.3.0"),): 1}
    assert samples["chat_trio_users"] == {(): 2}
    assert samples["chat_trio_lines_in_total"] == {(): 17}
    assert samples["chat_trio_disconnects_total"] == {
        (("reason", "quit"),): 3,
        (("reason", "slow"),): 1,
    }
    assert samples["chat_trio_start_time_seconds"] == {(): 1796407032.25}
    types = {f.name: f.type for f in text_string_to_metric_families(text.decode())}
    assert types["chat_trio_lines_in"] == "counter"
    assert types["chat_trio_users"] == "gauge"


def test_metrics_exposition_escapes_what_would_break_a_line() -> None:
    awkward = 'a "quoted" back\\slash and a\nbreak'
    text = exposition([gauge("chat_trio_x", f"Help with {awkward}.", {awkward: 1}, "why")])
    (family,) = text_string_to_metric_families(text.decode())
    assert family.documentation == f"Help with {awkward}."
    assert family.samples[0].labels == {"why": awkward}
    assert text.count(b"\n") == 3  # HELP, TYPE, one sample: no line of its own for "break"


def test_metrics_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    latency = Histogram([0.01, 0.1, 1.0])
    for seconds in (0.005, 0.01, 0.05, 0.5, 3.0):
        latency.observe(seconds)
    samples = parsed(
        exposition([histogram("chat_trio_write_seconds", "Writes.", latency.snapshot())])
    )
    buckets = {
        dict(labels)["le"]: value
        for labels, value in samples["chat_trio_write_seconds_bucket"].items()
    }
    # A bucket counts what is at most its bound (0.01 is in le="0.01").
    assert buckets == {"0.01": 2, "0.1": 3, "1.0": 4, "+Inf": 5}
    assert samples["chat_trio_write_seconds_count"] == {(): 5}
    assert samples["chat_trio_write_seconds_sum"][()] == pytest.approx(3.565)


def test_metrics_numbers_that_are_not_finite_are_written_as_prometheus_spells_them() -> None:
    text = exposition([gauge("chat_trio_x", "X.", {"a": math.inf, "b": math.nan}, "v")])
    assert b'chat_trio_x{v="a"} +Inf\n' in text and b'chat_trio_x{v="b"} NaN\n' in text
    values = parsed(text)["chat_trio_x"]
    assert values[(("v", "a"),)] == math.inf and math.isnan(values[(("v", "b"),)])


def test_metrics_counts_sessions_open_by_door_until_they_end() -> None:
    counts = Counts()
    counts.opened("text")
    counts.opened("IRC, TLS")
    assert counts.sessions == {"text": 1, "IRC, TLS": 1}
    counts.closed("IRC, TLS")
    counts.opened("text")
    counts.closed("text")
    assert counts.sessions == {"text": 1, "IRC, TLS": 0}
    counts.closed("text")
    assert counts.sessions == {"text": 0, "IRC, TLS": 0}
    assert counts.sessions_total == {"text": 2, "IRC, TLS": 1}
