"""The web door: one WebSocket connection (after the HTTP upgrade in site.py).

wsproto reads the client's frames; the door keeps each complete text message and parses
it (dialect.py) only when the session asks for the next item, like the text door's lines.
Everything the server sends is a frame from frames.py holding a JSON array of events.

Web-door rules (the rules in chat/ know none of them):

1. A message is at most ``MAX_MESSAGE`` characters; a longer one closes the connection
   with 1009. Binary messages close it with 1003, broken frames or UTF-8 with wsproto's
   code (1002, 1007). Nothing after such a close is read.
2. A ping is answered with a pong, in order with the replies; the client's close is
   answered with a close, then the connection hangs up.
3. After ``ping_interval`` seconds of silence the server pings; no answer within
   ``ping_timeout`` drops the connection (``Reason.PING_TIMEOUT``: doors/keepalive.py).
4. A line said in a room is echoed to its sender once the rules took it (the page shows
   one's own lines only once they are really sent).
5. Whenever the server ends the connection it says why in a close frame (``farewell``).
6. ``/help`` lists only what the user may use (doors/commands.py ``help_rows``).
   The greeting tells the page the limits it checks before sending (dialect.greeting).

This module never imports trio and never does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from wsproto.connection import Connection
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from chat_trio.chat import intents as i
from chat_trio.chat.events import (
    Disconnected,
    Entry,
    Event,
    Reason,
    RoomEntered,
    RoomLeft,
)
from chat_trio.chat.state import Phase
from chat_trio.chat.vocabulary import LIST_MAX
from chat_trio.doors import Answer, Free, Item, Local, View, Wire, own_name
from chat_trio.doors.keepalive import Keepalive, KeepaliveSettings
from chat_trio.doors.lines import DEFAULT_MAX_LINE
from chat_trio.doors.place import Place, follow
from chat_trio.doors.web import dialect, frames
from chat_trio.doors.web.frames import CloseCode

MAX_MESSAGE = 16 * 1024
"""Characters in one client message (16 KiB of ASCII; at most 64 KiB held). A chat line
is far shorter (``--max-line``); this leaves room for a pasted paragraph, and the
close (1009) says what went wrong."""

MEMBERS_SHOWN = LIST_MAX
"""Names of a room's members the page is sent when it joins (the first this many, in
alphabetical order, and how many there are: the page says "and N more"). IRC's NAMES
lists everyone, in pages; a page need not, and 10,000 people joining a room of 10,000
would otherwise be sent 10^8 names between them."""


@attrs.frozen
class Echo(Local):
    """The user's own line, taken by the rules: shown to it as it is to the room, with
    the id the rules gave it (``posted``)."""

    room: str
    name: str
    text: str
    action: bool
    id: str
    notice: bool = False


@attrs.frozen
class _Close:
    """The connection ends here: answer with ``code`` (None: the socket is gone)."""

    code: CloseCode | None
    reason: str = ""


_CLOSE_BECAUSE: dict[Reason, tuple[CloseCode, str]] = {
    Reason.QUIT: (CloseCode.NORMAL, "goodbye"),
    Reason.CLOSED: (CloseCode.NORMAL, ""),
    Reason.SHUTDOWN: (CloseCode.GOING_AWAY, "server shutting down"),
    Reason.PING_TIMEOUT: (CloseCode.GOING_AWAY, "ping timeout"),
    Reason.ERROR: (CloseCode.ERROR, "server error"),
    Reason.SLOW: (CloseCode.POLICY, "too slow to receive"),
    Reason.KICKED: (CloseCode.POLICY, "kicked"),
    Reason.REPLACED: (CloseCode.POLICY, "logged in elsewhere"),
    Reason.NAME_LOST: (CloseCode.POLICY, "name lost to another server"),
    Reason.BANNED: (CloseCode.POLICY, "banned"),
    Reason.FLOOD: (CloseCode.POLICY, "flooding"),
    Reason.IDLE: (CloseCode.POLICY, "idle"),
    Reason.BAD_NAME: (CloseCode.POLICY, "too many invalid usernames"),
    Reason.NAME_TIMEOUT: (CloseCode.POLICY, "no valid username in time"),
}
"""The close frame for each way the server ends a connection (LOST and INTERRUPTED
cannot happen here: there is nobody to tell, and no telnet)."""


def room_view(events: Sequence[Event], room: str, wall: float) -> bytes:
    """Broadcasts to a room, as every web member sees them."""
    data = dialect.encode_room(events, room, wall)
    return frames.text(data) if data else b""


class WebDoor(Keepalive):
    """One WebSocket connection's door (see ``doors.Door``)."""

    __slots__ = (
        "_closed", "_max_line", "_messages", "_next", "_partial", "_said", "_sent_close",
        "_size", "_ws", "name", "place", "settings",
    )  # fmt: skip

    def __init__(
        self,
        ws: Connection,
        settings: KeepaliveSettings | None = None,
        max_line: int = DEFAULT_MAX_LINE,
        now: float = 0.0,
    ) -> None:
        """``ws``: wsproto's frame-level connection of a server that accepted the upgrade
        (without the handshake's HTTP state, which an idle connection need not keep)."""
        self._ws = ws
        super().__init__(listening=True, now=now)
        self.settings = settings or KeepaliveSettings()
        self._max_line = max_line
        # Messages read but not parsed yet, and items ready (pushed back, or the door's
        # own), in order, read from ``_next`` on.
        self._messages: list[str | _Close | Item] = []
        self._next = 0
        self._partial: list[str] = []  # a message arriving in several frames
        self._size = 0
        self._closed = False  # nothing more is read
        self._sent_close = False
        self._said: i.Say | None = None
        self.name = ""  # the user's name, for echoes
        self.place = Place()  # the user's rooms, for command lines

    # -- bytes to items --------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray, now: float = 0.0) -> None:
        self.heard(now)
        if self._closed:
            return
        if self._next:
            del self._messages[: self._next]
            self._next = 0
        self._ws.receive_data(bytes(data) if data else None)
        for event in self._ws.events():
            if isinstance(event, TextMessage):
                self._text(event)
            elif isinstance(event, Ping):
                self._messages.append(Answer((Wire(frames.pong(event.payload)),)))
            elif isinstance(event, BytesMessage):
                self._close(CloseCode.UNSUPPORTED, "binary messages are not used")
            elif isinstance(event, CloseConnection):
                if event.code in (1005, 1006):  # no code given; the socket is gone
                    code = None if event.code == 1006 else CloseCode.NORMAL
                    self._close(code)
                else:
                    known = event.code in CloseCode._value2member_map_
                    self._close(CloseCode(event.code) if known else CloseCode.NORMAL)
            if self._closed:
                break

    def _text(self, event: TextMessage) -> None:
        self._size += len(event.data)
        if self._size > MAX_MESSAGE:
            self._close(CloseCode.TOO_BIG, f"a message is at most {MAX_MESSAGE} characters")
            return
        self._partial.append(event.data)
        if event.message_finished:
            self._messages.append("".join(self._partial))
            self._partial.clear()
            self._size = 0

    def _close(self, code: CloseCode | None, reason: str = "") -> None:
        self._partial.clear()
        self._messages.append(_Close(code, reason))
        self._closed = True
        self.stop()  # nothing more is read: no more pings either

    def backlog(self) -> int:
        return len(self._messages) - self._next

    def push_back(self, item: Item) -> None:
        self._messages.insert(self._next, item)

    def next_item(self, phase: Phase) -> Item | None:
        item = self._next_item(phase)
        self._said = item if isinstance(item, i.Say) else None
        return item

    def _next_item(self, phase: Phase) -> Item | None:
        if self._next == len(self._messages):
            return None
        message = self._messages[self._next]
        self._next += 1
        if isinstance(message, _Close):
            return self._hang_up(message)
        if isinstance(message, str):
            naming = phase is Phase.NAMING
            return dialect.parse(message, self.place, self._max_line, naming=naming)
        return message

    def _hang_up(self, close: _Close) -> Item:
        if close.code is None:
            return i.Hangup()
        self._sent_close = True
        self.push_back(i.Hangup())
        return Answer((Wire(frames.close(close.code, close.reason)),), free=True)

    def observe(self, events: Sequence[Event]) -> None:
        for event in events:
            self.name = own_name(self.name, event)
            if isinstance(event, RoomEntered | RoomLeft):
                self._follow(event)

    def posted(self, entries: Sequence[Entry]) -> None:
        if self._said is not None:  # only when the rules took the line: none if refused
            said, self._said, entry = self._said, None, entries[-1]
            echo = Echo(entry.room, self.name, said.text, said.action, entry.id, said.notice)
            self.push_back(Answer((echo,), free=True))

    # -- events to bytes -------------------------------------------------------------------

    def render(self, events: Sequence[Event | Local]) -> bytes:
        if not any(isinstance(e, Local) for e in events):
            data = dialect.encode(events, self._max_line)
            return frames.text(data) if data else b""
        parts: list[bytes] = []
        run: list[Event | Local] = []
        for event in events:
            if isinstance(event, Wire):
                if run and (data := dialect.encode(run, self._max_line)):
                    parts.append(frames.text(data))
                run = []
                parts.append(event.data)
            elif isinstance(event, Echo):
                own = dialect.encode_own(
                    event.room, event.name, event.text, event.action, event.id, event.notice
                )
                parts.append(frames.text(own))
            else:
                run.append(event)
        if run and (data := dialect.encode(run, self._max_line)):
            parts.append(frames.text(data))
        return b"".join(parts)

    def deliver(self, events: Sequence[Event]) -> bytes:
        """News looks like answers here; a kick (another's act) moves the user's place,
        and may put it in ``#lobby``, whose members and modes it then asks for (the
        session hands them over at once: ``Session.deliver``)."""
        for event in events:
            if isinstance(event, RoomEntered | RoomLeft):
                self._follow(event)
        return self.render(events)

    def _follow(self, event: RoomEntered | RoomLeft) -> None:
        follow(self.place, event)
        if isinstance(event, RoomEntered) and event.joined:
            # The page shows who is in each room, and its modes under the topic: ask, as
            # IRC's NAMES and MODE do (pushed back: the members first).
            self.push_back(Free(i.ShowModes(event.room, label="modes")))
            self.push_back(Free(i.ListUsers(event.room, MEMBERS_SHOWN, label="members")))

    def view(self, room: str) -> View:
        return room_view

    def views_changed(self) -> list[tuple[str, View]]:
        return []  # every web member sees a room the same way

    def farewell(self, reason: Reason, *, cut: bool) -> bytes:
        if self._sent_close or reason is Reason.LOST or cut:  # cut: a frame is half sent
            return b""
        self._sent_close = True
        code, said = _CLOSE_BECAUSE.get(reason, (CloseCode.NORMAL, ""))
        notice = self.render([Disconnected(reason)]) if reason is Reason.SLOW else b""
        return notice + frames.close(code, said)

    # -- keepalive (doors/keepalive.py) -----------------------------------------------------

    def deadline(self) -> float:
        return self.ping_deadline(self.settings)

    def expire(self, now: float) -> Item | None:
        return self.ping_due(now, self.settings)

    def ping(self) -> tuple[Local, ...]:
        return (Wire(frames.ping(b"chat-trio")),)
