"""Draw docs/benchmarks.svg from the JSON that ``benchmarks.run --json`` wrote.

    python -m benchmarks.plot docs/benchmarks.json docs/benchmarks.svg

chat-trio beside the C reference server (benchmarks/reference_server.c) and the obvious
design (docs/tutorial/broadcast_locked.py): flood throughput (deliveries per second, log
scale), steady-load latency with the C client (p50, p99), and, when
the JSON has the ``memory`` scenario, RSS per idle connection on each door. Plain SVG, no
plotting library.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

COLORS = {"chat-trio": "#2b6cb0", "reference": "#2f855a", "locked": "#c05621"}
SERVERS = ("chat-trio", "reference", "locked")
SHORT = {"chat-trio": "trio", "reference": "C"}


def bar_panel(
    x: int, title: str, bars: list[tuple[str, str, float]], log: bool, unit: str
) -> list[str]:
    """One panel of labelled bars: (label, server, value)."""
    width, height, top = 420, 260, 40
    values = [v for _, _, v in bars if v > 0]
    high = max(values) if values else 1.0
    low = 1.0 if log else 0.0

    def scale(value: float) -> float:
        if log:
            return math.log10(max(value, low)) / math.log10(high * 1.5)
        return value / (high * 1.15)

    out = [
        f'<text x="{x + width / 2}" y="24" text-anchor="middle" font-weight="bold">{title}</text>'
    ]
    slot = width / max(len(bars), 1)
    for i, (label, server, value) in enumerate(bars):
        bar_height = max(scale(value), 0) * height
        left = x + i * slot + slot * 0.2
        out.append(
            f'<rect x="{left:.1f}" y="{top + height - bar_height:.1f}" '
            f'width="{slot * 0.6:.1f}" height="{bar_height:.1f}" '
            f'fill="{COLORS.get(server, "#666")}"/>'
        )
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
        out.append(
            f'<text x="{left + slot * 0.3:.1f}" y="{top + height - bar_height - 6:.1f}" '
            f'text-anchor="middle" font-size="12">{shown} {unit}</text>'
        )
        out.append(
            f'<text x="{left + slot * 0.3:.1f}" y="{top + height + 18}" '
            f'text-anchor="middle" font-size="12">{label}</text>'
        )
    out.append(
        f'<line x1="{x}" y1="{top + height}" x2="{x + width}" y2="{top + height}" stroke="#333"/>'
    )
    return out


def draw(results: list[dict[str, Any]]) -> str:
    def find(scenario: str, server: str) -> dict[str, Any] | None:
        matches = [r for r in results if r["scenario"] == scenario and r["server"] == server]
        return matches[-1] if matches else None

    flood = [
        (server, server, r["deliveries_per_s"])
        for server in SERVERS
        if (r := find("flood", server)) is not None
    ]
    latency = []
    for server in SERVERS:
        r = find("steady-c", server)
        if r is not None and "latency_ms_p50" in r:
            short = SHORT.get(server, server)
            latency.append((f"{short} p50", server, r["latency_ms_p50"]))
            latency.append((f"{short} p99", server, r["latency_ms_p99"]))
    memory = [
        (door, "chat-trio", r["rss_kib_per_connection"])
        for door in ("text", "irc", "web")
        if (r := find(f"memory-{door}", "chat-trio")) is not None
    ]
    width = 470 * (2 + bool(memory))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="340" '
        'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="340" fill="white"/>',
        *bar_panel(20, "Flood: deliveries per second (log)", flood, True, "/s"),
        *bar_panel(470, "Steady 100k deliveries/s, C client: latency (ms)", latency, False, "ms"),
    ]
    if memory:
        parts += bar_panel(920, "RSS per idle connection, by door", memory, False, "KiB")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    target.write_text(draw(json.loads(source.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
