"""Who may connect: the server-wide and per-address connection limits. Sans-I/O.

``Admission`` decides, for each new connection, whether it is let in, and keeps the counts
that decision needs. Rules:

1. At most ``max_clients`` connections at once. Above it a newcomer gets one line and is
   closed; nobody already connected notices anything.
2. At most ``max_per_address`` concurrent connections from one address (0: no limit).
3. Per address, a token bucket on connection attempts: ``connect_burst`` at once, then
   ``connect_rate`` per second (0: no rate limit). Refused attempts cost no token.
4. Loopback addresses are exempt from rules 2 and 3 by default (local benchmarks and tests
   open thousands of connections from 127.0.0.1); ``exempt_loopback=False`` ends that.

Memory is bounded: the per-address buckets are forgotten oldest-first beyond
``tracked_addresses`` (a forgotten address starts again with a full bucket), and counts
of addresses with no open connection are deleted.

This module never imports trio and never does I/O: pass the time in.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict

import attrs

from chat_trio.chat.events import Refused
from chat_trio.chat.problems import Problem


@attrs.frozen
class Limits:
    """Connection limits (the CLI exposes each one)."""

    max_clients: int = 10_000  #: connections at once, server-wide
    max_per_address: int = 16  #: concurrent connections per address; 0 = no limit
    connect_burst: int = 16  #: attempts per address at once before the rate applies
    connect_rate: float = 1.0  #: attempts per second per address after the burst; 0 = no limit
    exempt_loopback: bool = True  #: 127.0.0.0/8 and ::1 skip the per-address limits
    tracked_addresses: int = 65_536  #: bound on remembered addresses (rate limiting)


@attrs.frozen
class AdmissionStatistics:
    open: int  #: connections admitted and not yet released
    addresses: int  #: addresses with open connections
    tracked: int  #: addresses with a rate-limit bucket
    refused_full: int
    refused_per_address: int
    refused_rate: int


FULL = Refused(Problem.SERVER_FULL)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # not an IP address (a Unix socket path, say)
        return False


class Admission:
    """Counts connections and applies ``Limits``. See the module docstring."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._open = 0
        self._per_address: dict[str, int] = {}
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._refused = {"full": 0, "per-address": 0, "rate": 0}

    def admit(self, address: str, now: float) -> Refused | None:
        """Count a new connection from ``address`` and return None, or return why not
        (the door tells the client; nothing is counted then)."""
        limits = self.limits
        if self._open >= limits.max_clients:
            self._refused["full"] += 1
            return FULL
        limited = not (limits.exempt_loopback and _is_loopback(address))
        per_address = self._per_address.get(address, 0)
        if limited and limits.max_per_address and per_address >= limits.max_per_address:
            self._refused["per-address"] += 1
            return Refused(Problem.TOO_MANY_FROM_ADDRESS, limit=limits.max_per_address)
        if limited and limits.connect_rate:
            tokens = self._take_token(address, now)
            if tokens is None:
                self._refused["rate"] += 1
                return Refused(Problem.CONNECTING_TOO_FAST)
        self._open += 1
        self._per_address[address] = self._per_address.get(address, 0) + 1
        return None

    def release(self, address: str) -> None:
        """A connection admitted from ``address`` has ended."""
        self._open -= 1
        left = self._per_address[address] - 1
        if left:
            self._per_address[address] = left
        else:
            del self._per_address[address]

    def _take_token(self, address: str, now: float) -> float | None:
        limits = self.limits
        tokens, at = self._buckets.pop(address, (float(limits.connect_burst), now))
        tokens = min(float(limits.connect_burst), tokens + (now - at) * limits.connect_rate)
        if tokens >= 1:
            tokens -= 1
            result: float | None = tokens
        else:
            result = None
        self._buckets[address] = (tokens, now)  # most recent last
        while len(self._buckets) > limits.tracked_addresses:
            self._buckets.popitem(last=False)
        return result

    def statistics(self) -> AdmissionStatistics:
        return AdmissionStatistics(
            open=self._open,
            addresses=len(self._per_address),
            tracked=len(self._buckets),
            refused_full=self._refused["full"],
            refused_per_address=self._refused["per-address"],
            refused_rate=self._refused["rate"],
        )
