"""Doors: the ways into the chat. A door is framing + parse (bytes -> intents) + render
(events -> bytes), sans-I/O: no door imports trio or awaits.

``text/`` is nc and telnet (lines, slash commands); ``irc/`` is IRC clients; ``web/``
is the page in a browser (HTTP, then JSON over a WebSocket). Every door
offers the same small interface (``Door``), so the I/O layer (delivery/session.py) runs
them all the same way, and the rules (chat/) never know which door a user came through.
A door keeps only what its own dialect needs (the text door's current room, the IRC
door's capabilities); it never decides a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from chat_trio.chat.events import Done, Entry, Event, NickChanged, Reason, Welcome
from chat_trio.chat.intents import Intent
from chat_trio.chat.problems import Outcome
from chat_trio.chat.state import Phase

View = Callable[[Sequence[Event], str, float], bytes]
"""How a door renders broadcasts to a room: (events, room, wall-clock time) -> bytes. One
view serves every member that uses it (the hub renders each room's round once per view),
so it must not depend on who receives it. There is one object per way of rendering
(module-level functions, or values from a cache such as ``irc.render.irc_view``): the
hub keys its renderings by the view and compares views by identity."""


class Local:
    """Base of what a door says to its own connection that the rules never make (IRC's
    CAP and PONG lines, a label's brackets, the web door's echo): it travels only in an
    ``Answer``, and only the door that made it renders it."""


@attrs.frozen
class Answer:
    """The door answers its own connection itself (``/help``, a line too long, IRC's
    PONG): ``events`` go back to it, in order with the rules' replies, through its
    session and the interpreter, never through the rules' outputs.

    An answer to a line the user sent counts for flood control like any line; the door's
    own bookkeeping (``free``: a label's brackets, an echo, the prompt again, its own
    ping) does not."""

    events: tuple[Event | Local, ...]
    free: bool = False


@attrs.frozen
class Wire(Local):
    """Bytes a door made itself, ready to send as they are (IRC's CAP and PONG lines, the
    web door's pongs, pings and close frames)."""

    data: bytes


@attrs.frozen
class Free:
    """An intent the door asks for on its user's behalf (IRC's NAMES after a JOIN):
    flood control does not count it."""

    intent: Intent


Item = Intent | Answer | Free


def own_name(name: str, event: Event) -> str:
    """The user's name after ``event``, a reply to it (welcomed, logged in, renamed)."""
    if isinstance(event, Welcome):
        return event.name
    if isinstance(event, Done) and event.outcome is Outcome.LOGGED_IN:
        return event.name
    if isinstance(event, NickChanged) and event.old == name:
        return event.new
    return name


class Door(Protocol):
    """One connection's door. The session calls, in this order for each chunk of input:
    ``receive_data``, then ``next_item`` until it returns None (handing each intent to the
    rules, and the events they reply to this connection to ``observe``)."""

    def receive_data(self, data: bytes | bytearray, now: float) -> None:
        """Bytes arrived at ``now`` (``b""``: the client closed its side)."""

    def next_item(self, phase: Phase) -> Item | None:
        """The next thing the user asks, parsed for ``phase``; None: more data is needed."""

    def push_back(self, item: Item) -> None:
        """Return ``item`` first next time, before anything else the door has: an item
        that could not run yet (flood control), or one that must come next (a timeout's
        ping or hang-up). Every door keeps one queue: what is pushed back goes to its
        front, as often as need be."""

    def backlog(self) -> int:
        """How many items wait in the door (pushed back, parsed or not)."""

    def observe(self, events: Sequence[Event]) -> None:
        """The rules replied these to this connection (so the door can follow its state)."""

    def posted(self, entries: Sequence[Entry]) -> None:
        """The connection's own lines just became these entries (after ``observe``): a
        door that shows a sender its own line shows it with the entry's id."""

    def render(self, events: Sequence[Event | Local]) -> bytes:
        """``events`` for this connection only, in its dialect: the answers to its own
        input."""

    def deliver(self, events: Sequence[Event]) -> bytes:
        """``events`` for this connection only that answer nothing it sent (another
        user's private message, the shutdown notice). Only IRC's labeled-response tells
        the two apart; the other doors render both alike."""

    def view(self, room: str) -> View:
        """How this connection wants ``room``'s broadcasts rendered now."""

    def views_changed(self) -> list[tuple[str, View]]:
        """Rooms whose ``view`` changed since the last call."""

    def farewell(self, reason: Reason, *, cut: bool) -> bytes:
        """The last bytes before the server closes the connection for ``reason``, after
        everything queued was sent or dropped: the notice of a slow-consumer cut, a
        WebSocket close frame. ``cut``: the last delivery was written only in part."""

    def deadline(self) -> float:
        """When ``expire`` should be called (``inf``: never), on the monotonic clock."""

    def expire(self, now: float) -> Item | None:
        """Time has passed: something to send (a ping), or an intent (drop a silent client)."""
