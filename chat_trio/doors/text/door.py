"""The text door: what an nc or telnet user types, as intents; what happens, as lines.

Parsing is lazy, one line at a time, when the session asks for the next item: how a line
is read depends on where the user is by then (a first name at the prompt, a line for the
current room after a ``/join`` earlier in the same paste). The door follows where its user
is (``Place``) from the rules' replies (``observe``), and keeps the current room a second
time for rendering, following the same replies as they are rendered: the sentence "Now
talking in #x" must name the room current at that point of the output, not at its end.

Text-door rules (the rules in chat/ know none of them):

1. Plain text goes to the current room: the last one joined or switched to; after
   leaving it, the last one joined. Lines from the user's other rooms show as
   ``[#room] Bob: hi``. A text user is always in at least one room.
2. Blank lines are ignored, ``//text`` sends ``/text``, ``/cmd`` runs a command from
   ``COMMANDS`` (``/help`` is generated from it). An unknown command gets one refusal.
3. At the prompt, ``name`` chooses a name and ``name password`` logs in; the prompt is
   shown again after every answer until a name is taken.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from chat_trio.chat import intents as i
from chat_trio.chat.events import (
    Action,
    AskName,
    Away,
    Disconnected,
    Entry,
    Event,
    Reason,
    Refused,
    RoomEntered,
    RoomLeft,
)
from chat_trio.chat.problems import Problem
from chat_trio.chat.state import Phase
from chat_trio.chat.vocabulary import name_key
from chat_trio.doors import Answer, Item, Local, View, commands, own_name
from chat_trio.doors.lines import (
    DEFAULT_MAX_LINE,
    EndOfInput,
    Input,
    Interrupted,
    LineDecoder,
    NotUtf8,
    TooLong,
)
from chat_trio.doors.place import Place, follow
from chat_trio.doors.text.render import left_room, own_away, render

_PROMPT = Answer((AskName(),), free=True)


def current_view(events: Sequence[Event], room: str, wall: float) -> bytes:
    """Broadcasts to the reader's current room."""
    return render(events)


def other_view(events: Sequence[Event], room: str, wall: float) -> bytes:
    """Broadcasts to one of the reader's other rooms: every line starts ``[#room] ``."""
    return render(events, prefix=f"[{room}] ")


_FOLLOWED = frozenset({RoomEntered, RoomLeft, Away})
"""Events the text door answers in its own words (its current room, the user's own away)."""


class TextDoor:
    """One nc/telnet connection's door (see ``doors.Door``)."""

    __slots__ = (
        "_acting", "_decoder", "_focus_moved", "_items", "_next", "name", "place", "shown",
    )  # fmt: skip

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        # One per connection, most of them idle: what waits is one plain list read from
        # ``_next`` on (a deque costs ten times as much when empty).
        self._decoder = LineDecoder(max_line)
        self._items: list[Input | Item] = []  # lines not parsed yet, and items ready, in order
        self._next = 0
        self._focus_moved = False
        self.place = Place()  # where the user is, for parsing
        self.shown = ""  # the current room at the point of output being rendered
        self.name = ""  # the user's, for echoing its /me
        self._acting: i.Say | None = None  # the /me last handed to the rules

    # -- bytes to intents ------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray, now: float = 0.0) -> None:
        if self._next:
            del self._items[: self._next]
            self._next = 0
        self._items.extend(self._decoder.receive(data))

    def backlog(self) -> int:
        return len(self._items) - self._next

    def push_back(self, item: Item) -> None:
        self._items.insert(self._next, item)

    def next_item(self, phase: Phase) -> Item | None:
        item = self._next_item(phase)
        self._acting = item if isinstance(item, i.Say) and item.action else None
        return item

    def _next_item(self, phase: Phase) -> Item | None:
        while self._next < len(self._items):
            line = self._items[self._next]
            self._next += 1
            if isinstance(line, str | NotUtf8):  # (NotUtf8 only from a strict decoder)
                parsed = self._line(line if isinstance(line, str) else line.text, phase)
                if parsed is not None:
                    return parsed
            elif isinstance(line, TooLong):
                too_long = Refused(Problem.LINE_TOO_LONG, limit=line.limit)
                return Answer((too_long, AskName()) if phase is Phase.NAMING else (too_long,))
            elif isinstance(line, Interrupted):
                return i.Quit(interrupted=True)
            elif isinstance(line, EndOfInput):
                return i.Hangup()
            elif line is not _PROMPT or phase is Phase.NAMING:  # an item, ready
                return line
        self._items.clear()
        self._next = 0
        return None

    def _line(self, line: str, phase: Phase) -> Item | None:
        naming = phase is Phase.NAMING
        if naming:
            line = line.strip()
        else:
            line = line.rstrip()
            if not line or line.isspace():
                return None
        if line.startswith("/") and (naming or not line.startswith("//")):
            if naming:  # the prompt again after the answer, if still naming by then
                self.push_back(_PROMPT)
            return commands.read(line, self.place, naming=naming)
        if naming:
            name, _, password = line.partition(" ")
            return i.LogIn(name, password.strip()) if password.strip() else i.ChooseName(line)
        return i.Say(self.place.current, line[1:] if line.startswith("//") else line)

    def posted(self, entries: Sequence[Entry]) -> None:
        pass  # nc users never see ids, and their own lines are not echoed

    def observe(self, events: Sequence[Event]) -> None:
        acting, self._acting = self._acting, None
        if acting is not None and not any(isinstance(e, Refused) for e in events):
            # IRC clients show their own /me; nc shows only what was typed: show it.
            self.push_back(Answer((Action(self.name, acting.text),), free=True))
        self._follow(events)

    def _follow(self, events: Sequence[Event]) -> None:
        for event in events:
            self.name = own_name(self.name, event)
            if isinstance(event, (RoomEntered, RoomLeft)):
                before = self.place.current
                follow(self.place, event)
                self._focus_moved |= self.place.current != before

    # -- events to bytes -------------------------------------------------------------------

    def render(self, events: Sequence[Event | Local]) -> bytes:
        if not any(type(e) in _FOLLOWED for e in events):
            return render(events)
        parts = []
        for event in events:
            if isinstance(event, Away):  # the user's own: confirm it
                parts.append(own_away(event))
            elif isinstance(event, RoomLeft):
                if name_key(self.shown) == name_key(event.room):
                    self.shown = event.rooms[-1] if event.rooms else ""
                parts.append(left_room(event, self.shown))
            else:
                if isinstance(event, RoomEntered):
                    self.shown = event.room
                parts.append(render([event]))
        return b"".join(parts)

    def deliver(self, events: Sequence[Event]) -> bytes:
        """News looks like answers here; a kick (another's act) moves the user's place."""
        self._follow(events)
        return self.render(events)

    def view(self, room: str) -> View:
        return current_view if name_key(room) == name_key(self.place.current) else other_view

    def views_changed(self) -> list[tuple[str, View]]:
        if not self._focus_moved:
            return []
        self._focus_moved = False
        return [(room, self.view(room)) for room in self.place.rooms.values()]

    def farewell(self, reason: Reason, *, cut: bool) -> bytes:
        # The notice starts with a line break, so it reads well even after a cut line.
        return self.render([Disconnected(reason)]) if reason is Reason.SLOW else b""

    def deadline(self) -> float:
        return math.inf  # the text door has no timers of its own

    def expire(self, now: float) -> Item | None:
        return None
