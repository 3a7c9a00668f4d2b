"""Fan-out: one round's publications, rendered once per room and way of seeing, and each
recipient's share of them.

The hub (hub.py) collects what is published in one scheduler round and flushes it here:
each room's broadcasts are rendered at the flush, once per *view* its members use (a
door's way of rendering a room: the text door's current room or ``[#room]`` prefix, IRC
with or without server-time), and only in the views someone uses. Everyone in a room with
the same view shares one bytes object; recipients that must not see some items (their
own lines, items published before they subscribed) or that get direct items in between
get their own copy, built from runs of the shared objects in O(their own items).

This module never awaits and never touches a socket.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

import attrs

from chat_trio.chat.events import ConnId, Event
from chat_trio.delivery.outbox import Outbox
from chat_trio.doors import View
from chat_trio.transports import Chunk

Room = str
"""Names an audience: broadcasts to a room reach the connections subscribed to it."""


class Member:
    """One connection's membership of one room (shared by the outbox and the hub's index)."""

    __slots__ = ("outbox", "since", "view")

    def __init__(self, outbox: Outbox, since: int, view: View) -> None:
        self.outbox = outbox
        self.since = since  #: hub sequence number when it subscribed: it gets later items
        self.view = view  #: how its door renders the room's broadcasts


@attrs.frozen
class Published:
    """One publication: ``events`` for every member of ``room`` but ``exclude``."""

    seq: int
    room: Room
    events: Sequence[Event]  #: rendered at the flush, once per view that a member uses
    exclude: ConnId | None  #: left out (its sender)
    size: int = 0  #: the publisher's estimate of its rendered size
    told: frozenset[ConnId] = frozenset()  #: left out too: told through another room


class Channel:
    """One room's broadcasts in one round, rendered lazily, once per view."""

    def __init__(self, room: Room, wall: float) -> None:
        self.room = room
        self.wall = wall  # the round's time, for views that show it (IRC's server-time)
        self.seqs: list[int] = []
        self.items: list[Published] = []
        self._parts: dict[View, list[bytes]] = {}
        self._joined: dict[View, bytes] = {}
        self._offsets: dict[View, list[int]] = {}

    def parts(self, view: View) -> list[bytes]:
        """Each broadcast rendered by ``view`` (rendered once per round)."""
        parts = self._parts.get(view)
        if parts is None:
            room, wall = self.room, self.wall
            parts = self._parts[view] = [view(b.events, room, wall) for b in self.items]
        return parts

    def everything(self, view: View) -> bytes:
        """All of this round's broadcasts to the room, rendered by ``view`` (built once)."""
        joined = self._joined.get(view)
        if joined is None:
            parts = self.parts(view)
            joined = self._joined[view] = parts[0] if len(parts) == 1 else b"".join(parts)
        return joined

    def offsets(self, view: View) -> list[int]:
        """Where each broadcast starts in ``everything(view)`` (and where the last ends)."""
        offsets = self._offsets.get(view)
        if offsets is None:
            offsets = [0]
            for part in self.parts(view):
                offsets.append(offsets[-1] + len(part))
            self._offsets[view] = offsets
        return offsets

    def lines(self, members: Mapping[ConnId, Member]) -> int:
        """Events this round's broadcasts hand to ``members`` (the room's, as the flush
        finds them): each broadcast's, times the members but its sender. For the
        operator's count of lines out: one pass over the broadcasts, none over members."""
        everyone = len(members)
        return sum(
            len(b.events) * (everyone - (b.exclude in members) - len(b.told)) for b in self.items
        )

    def growth(self) -> float:
        """Bytes rendered per estimated byte, in the widest view used this round."""
        estimated = sum(b.size for b in self.items)
        if not estimated or not self._joined:
            return 0.0
        return max(len(joined) for joined in self._joined.values()) / estimated

    def piece(self, view: View, start: int, stop: int) -> memoryview:
        """Broadcasts ``start`` to ``stop - 1`` rendered by ``view``, as a view (no copy)."""
        offsets = self.offsets(view)
        return memoryview(self.everything(view))[offsets[start] : offsets[stop]]


class Round:
    """One round's items, indexed so that each recipient's share costs O(its own items)."""

    def __init__(
        self, broadcasts: list[Published], direct: list[tuple[int, bytes, ConnId]], wall: float
    ) -> None:
        self.rooms: dict[Room, Channel] = {}
        # (room, index in the room's channel) of each connection's own broadcasts.
        self.excluded: dict[ConnId, list[tuple[Room, int]]] = {}
        for b in broadcasts:
            channel = self.rooms.get(b.room)
            if channel is None:
                channel = self.rooms[b.room] = Channel(b.room, wall)
            if b.exclude is not None:
                self.excluded.setdefault(b.exclude, []).append((b.room, len(channel.items)))
            for told in b.told:  # (news of one person, rare: a rename, a quit, ...)
                self.excluded.setdefault(told, []).append((b.room, len(channel.items)))
            channel.seqs.append(b.seq)
            channel.items.append(b)
        self.direct: dict[ConnId, list[tuple[int, bytes]]] = {}
        for seq, data, target in direct:
            self.direct.setdefault(target, []).append((seq, data))
        # Recipients whose share differs from a room's `everything`: their own broadcasts
        # are left out, or they have direct items (the flush adds more).
        self.special: set[ConnId] = set(self.excluded) | set(self.direct)

    def share_of(self, conn: ConnId, rooms: dict[Room, Member]) -> bytes:
        """``conn``'s direct items and the broadcasts meant for it, in sequence order.

        Its broadcasts from each room are runs of that room's channel (from where it
        subscribed, minus its own), cut where a direct item or another room's run goes in.
        """
        runs: list[tuple[int, Room, int, int]] = []  # (first seq, room, start, stop)
        own = self.excluded.get(conn, [])
        for room, channel in self.rooms.items():
            if room not in rooms:
                continue
            start = bisect.bisect_right(channel.seqs, rooms[room].since)
            skips = sorted(index for r, index in own if r == room and index >= start)
            for skip in [*skips, len(channel.seqs)]:
                self._add_runs(runs, room, channel, start, skip)
                start = skip + 1
        cuts = [(seq, 0, data) for seq, data in self.direct.get(conn, ())]
        if not runs:
            return b"".join(data for _, _, data in cuts)
        runs.sort(key=lambda run: run[0])  # seqs are unique: rooms are never compared
        pieces: list[Chunk] = []
        cut_at = 0
        for first, room, start, stop in runs:
            channel = self.rooms[room]
            while cut_at < len(cuts) and cuts[cut_at][0] < first:
                pieces.append(cuts[cut_at][2])
                cut_at += 1
            # A direct item inside this run splits it.
            while start < stop:
                split = stop
                if cut_at < len(cuts):
                    split = min(
                        stop, bisect.bisect_left(channel.seqs, cuts[cut_at][0], start, stop)
                    )
                if split > start:
                    pieces.append(channel.piece(rooms[room].view, start, split))
                    start = split
                if start < stop:
                    pieces.append(cuts[cut_at][2])
                    cut_at += 1
        pieces.extend(data for _, _, data in cuts[cut_at:])
        return b"".join(pieces)

    def _add_runs(
        self,
        runs: list[tuple[int, Room, int, int]],
        room: Room,
        channel: Channel,
        start: int,
        stop: int,
    ) -> None:
        """Add broadcasts ``start``..``stop - 1`` of ``room``, split where another room's
        broadcasts fall between them (only when this round has several rooms)."""
        if start >= stop:
            return
        if len(self.rooms) == 1:
            runs.append((channel.seqs[start], room, start, stop))
            return
        run_start = start
        for index in range(start + 1, stop):
            if channel.seqs[index] != channel.seqs[index - 1] + 1:
                runs.append((channel.seqs[run_start], room, run_start, index))
                run_start = index
        runs.append((channel.seqs[run_start], room, run_start, stop))
