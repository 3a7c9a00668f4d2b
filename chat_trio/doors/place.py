"""Where a user is, for the doors that have a current room (the text door, and the web
page's command lines): its rooms in the order joined, and the one plain lines go to. The
rules name the room every time; IRC names it in every command.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import attrs

from chat_trio.chat.events import Event, RoomEntered, RoomLeft
from chat_trio.chat.vocabulary import name_key


@attrs.define
class Place:
    """Where a user is: its rooms in the order joined, and the current one (where
    plain lines go). The text door's and the page's notion: IRC names the room every time."""

    rooms: dict[str, str] = attrs.Factory(dict)  #: room key -> name, in the order joined
    current: str = ""  #: the current room's name

    def only(self, room: str) -> bool:
        """Is ``room`` the one room this user is in?"""
        return len(self.rooms) == 1 and name_key(room) in self.rooms


def follow(place: Place, event: Event) -> None:
    """Move ``place`` as ``event`` (a reply to this user) says."""
    if isinstance(event, RoomEntered):
        place.rooms.setdefault(name_key(event.room), event.room)
        place.current = event.room
    elif isinstance(event, RoomLeft):
        place.rooms.pop(name_key(event.room), None)
        if name_key(place.current) == name_key(event.room):
            place.current = next(reversed(place.rooms.values()), "")
