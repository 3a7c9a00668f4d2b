"""What the wire format between nodes costs (chat_trio/nodes/codec.py), in this process.

    python -m benchmarks.codec
    python -m benchmarks.codec --rounds 7 --number 20000

Times, best of ``--rounds``: a typical ``Said`` envelope (one 40-character line with its
account, id and username) encoded, decoded and both; the biggest envelope encode makes
(``Said`` lines of 2 KiB up to ``MAX_BYTES``) decoded; and ``MAX_BYTES`` of junk JSON
(lists of empty lists, refused as a wrong type) decoded, what a hostile peer can cost.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

import attrs

from chat_trio.chat.events import Said
from chat_trio.nodes.codec import MAX_BYTES, CodecError, Envelope, decode, encode

TYPICAL = Envelope(
    "node-a",
    42,
    1764900000.123456,
    (Said("Alice", "x" * 40, account="alice", id="1764900000-a:1234", user="alice"),),
)


def biggest() -> Envelope:
    """As many ``Said`` lines of 2 KiB (``--max-line``'s default) as fit."""
    line = Said("Alice", "x" * 2048, account="alice", id="1764900000-a:1234", user="alice")
    count = MAX_BYTES // len(encode(attrs.evolve(TYPICAL, events=(line,))))
    return attrs.evolve(TYPICAL, events=(line,) * count)


def junk() -> bytes:
    return b"[" + b"[]," * ((MAX_BYTES - 3) // 3) + b"[]]"


def refused(data: bytes) -> None:
    try:
        decode(data)
    except CodecError:
        return
    raise AssertionError("junk was accepted")


def best(run: Callable[[], object], rounds: int, number: int) -> float:
    """Seconds per call, the best of ``rounds`` runs of ``number`` calls."""
    return min(timeit.repeat(run, repeat=rounds, number=number)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=10_000)
    args = parser.parse_args()
    data = encode(TYPICAL)
    big = encode(biggest())
    hostile = junk()
    print(f"typical Said envelope: {len(data)} bytes")
    for what, run in (
        ("encode", lambda: encode(TYPICAL)),
        ("decode", lambda: decode(data)),
        ("encode + decode", lambda: decode(encode(TYPICAL))),
    ):
        print(f"  {what}: {best(run, args.rounds, args.number) * 1e6:.1f} µs")
    few = max(1, args.number // 1000)
    took = best(lambda: decode(big), args.rounds, few)
    print(f"biggest envelope ({len(big)} bytes): decoded in {took * 1e3:.2f} ms")
    took = best(lambda: refused(hostile), args.rounds, few)
    print(f"junk ({len(hostile)} bytes): refused in {took * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
