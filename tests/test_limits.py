"""Admission: server-wide and per-address connection limits (sans-I/O, time passed in)."""

from __future__ import annotations

from chat_trio.chat.limits import FULL, Admission, Limits
from chat_trio.doors.wording import refusal


def test_limits_server_full_refuses_newcomers_only() -> None:
    admission = Admission(Limits(max_clients=2))
    assert admission.admit("10.0.0.1", 0) is None
    assert admission.admit("10.0.0.2", 0) is None
    full = admission.admit("10.0.0.3", 0)
    assert full == FULL and refusal(full) == "Server full, try later."
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.3", 0) is None
    assert admission.statistics().refused_full == 1


def test_limits_per_address_counts_concurrent_connections() -> None:
    admission = Admission(Limits(max_per_address=2, connect_rate=0))
    assert admission.admit("10.0.0.1", 0) is None
    assert admission.admit("10.0.0.1", 0) is None
    refused = admission.admit("10.0.0.1", 0)
    assert refused is not None
    assert refusal(refused) == "Too many connections from your address (at most 2), try later."
    assert admission.admit("10.0.0.2", 0) is None  # other addresses are not affected
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.1", 0) is None


def test_limits_loopback_is_exempt_unless_asked() -> None:
    exempt = Admission(Limits(max_per_address=1, connect_burst=1))
    for _ in range(100):
        assert exempt.admit("127.0.0.1", 0) is None
        assert exempt.admit("::1", 0) is None
    strict = Admission(Limits(max_per_address=1, exempt_loopback=False))
    assert strict.admit("127.0.0.1", 0) is None
    assert strict.admit("127.0.0.1", 0) is not None


def test_limits_connect_rate_is_a_token_bucket() -> None:
    admission = Admission(Limits(max_per_address=0, connect_burst=3, connect_rate=1.0))
    assert [admission.admit("10.0.0.1", 0) for _ in range(3)] == [None, None, None]
    refused = admission.admit("10.0.0.1", 0.5)
    assert refused is not None
    assert refusal(refused) == "Too many connection attempts from your address, try again shortly."
    assert admission.admit("10.0.0.1", 1.0) is None  # one token back after a second
    assert admission.admit("10.0.0.1", 1.0) is not None
    assert admission.admit("10.0.0.1", 100.0) is None  # refilled, capped at the burst
    assert admission.statistics().refused_rate == 2


def test_limits_memory_is_bounded() -> None:
    admission = Admission(Limits(max_per_address=0, connect_burst=1, tracked_addresses=100))
    for i in range(10_000):
        address = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        assert admission.admit(address, 0) is None
        admission.release(address)
    stats = admission.statistics()
    assert (stats.open, stats.addresses, stats.tracked) == (0, 0, 100)
