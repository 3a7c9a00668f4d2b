"""Keepalive for the doors whose clients stay silent for long (IRC, the web page): ping a
client after a while of silence, and drop it if it does not answer in time.

One setting for both (``--ping-interval``), one state machine:

    LISTENING --silent for ping_interval--> PINGED --silent for ping_timeout--> GONE
    PINGED --anything heard--> LISTENING

Anything the client sends counts as an answer. A door inherits this (slots, no object of
its own per connection) and says what a ping is in its dialect (``ping``); it starts
listening when its client registers (IRC) or at once (the web door).

This module never imports trio and never does I/O: the time is passed in.
"""

from __future__ import annotations

import enum
import math

import attrs

from chat_trio.chat import intents as i
from chat_trio.doors import Answer, Item, Local


@attrs.frozen
class KeepaliveSettings:
    """When to ping, and how long to wait for the answer (``--ping-interval``)."""

    ping_interval: float = 90.0  #: seconds of silence before the server pings (ergo's)
    ping_timeout: float = 60.0  #: seconds to answer before the connection is dropped


class Keeping(enum.Enum):
    """Where a connection's keepalive is."""

    OFF = "off"  #: not yet (an IRC client before it registers)
    LISTENING = "listening"  #: the client spoke lately; a ping comes after the interval
    PINGED = "pinged"  #: pinged: anything heard before the timeout will do
    GONE = "gone"  #: no answer in time: the connection was told to hang up


class Keepalive:
    """The keepalive part of a door (see the module docstring)."""

    __slots__ = ("_heard", "_keeping", "_pinged")

    def __init__(self, listening: bool, now: float = 0.0) -> None:
        self._keeping = Keeping.LISTENING if listening else Keeping.OFF
        self._heard = now  # when the client last sent anything
        self._pinged = 0.0  # when it was pinged (PINGED)

    def heard(self, now: float) -> None:
        """The client sent something: an answer to any ping."""
        self._heard = now
        if self._keeping is Keeping.PINGED:
            self._keeping = Keeping.LISTENING

    def listen(self, now: float) -> None:
        """Start keeping the connection alive (an IRC client has registered)."""
        if self._keeping is Keeping.OFF:
            self._keeping, self._heard = Keeping.LISTENING, now

    def stop(self) -> None:
        """No more pings (the web door read a close: nothing more is read)."""
        self._keeping = Keeping.OFF

    def ping_deadline(self, settings: KeepaliveSettings) -> float:
        """When ``ping_due`` should be called (``inf``: never)."""
        if self._keeping is Keeping.LISTENING:
            return self._heard + settings.ping_interval
        if self._keeping is Keeping.PINGED:
            return self._pinged + settings.ping_timeout
        return math.inf

    def ping_due(self, now: float, settings: KeepaliveSettings) -> Item | None:
        """Time has passed: a ping to send now (an answer the door gives itself, which
        flood control does not count), a hang-up, or nothing."""
        if now < self.ping_deadline(settings):
            return None
        if self._keeping is Keeping.LISTENING:
            self._keeping, self._pinged = Keeping.PINGED, now
            return Answer(self.ping(), free=True)
        self._keeping = Keeping.GONE
        return i.Hangup(timed_out=True)

    def ping(self) -> tuple[Local, ...]:
        """What a ping is in the door's dialect (events of an ``Answer``)."""
        raise NotImplementedError
