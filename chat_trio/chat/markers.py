"""Read markers: where a person has read each conversation up to (IRCv3 draft/read-marker,
and the page's unread counts).

Theory of operation. A marker is a time (Unix time in milliseconds) per target: a room,
or the person of a private conversation, by its name_key. A logged-in person's markers
belong to its account (every connection of the account shares them, and storage keeps
them: ``SaveMarker``); a guest's belong to its connection and end with it (a guest has
no identity that outlives the connection to keep them under). An account deleted takes
its markers with it (``World.remove_account``); a connection still logged in to it has
markers of its own from then on, as a guest's (``World.marker_account``).

Rules:

1. A marker only moves forward. A time at or before the stored one changes nothing, and
   the asker is told the stored one (as the spec says a server answers it).
2. A marker is kept in milliseconds, rounded down as every door shows times
   (``vocabulary.millis``: a line is read when its time so counted is at or before the
   marker, as an IRC client shown that time marks it), and never
   runs ahead of the server's clock: nothing after now can have been read
   (a client whose clock runs fast would otherwise freeze the marker in the future).
3. When a marker moves, every connection of the account is told (``MarkedRead``), the
   one that moved it too; each door shows it its own way (IRC only to clients with the
   capability, the page as its unread counts, the text door not at all).
4. Joining a room tells the joiner its marker there, with the join itself
   (``RoomEntered.marker``: rooms.enter, from ``World.marker``; IRC sends it before the
   end of NAMES).
5. Bounded: at most ``MARKERS_MAX`` markers per account (or guest connection). Setting
   one more forgets the least recently set one, here and in storage (``SaveMarker.keep``):
   a person who read more than that many conversations sees the oldest of them unread
   again, which is the cheapest thing to get wrong.

This module never imports trio and never awaits.
"""

from __future__ import annotations

from chat_trio.chat import intents as i
from chat_trio.chat import names, rooms
from chat_trio.chat.events import ConnId, MarkedRead, Refused
from chat_trio.chat.outputs import Outputs, SaveMarker
from chat_trio.chat.problems import Problem
from chat_trio.chat.vocabulary import NAME_MAX, millis, name_key
from chat_trio.chat.world import Client, World

MARKERS_MAX = 512
"""Markers kept per account (and per guest connection): far more rooms and private
conversations than a person follows (a user may be in ``ROOMS_PER_USER`` rooms at once),
and 512 short rows per account in memory and storage."""


def mark_read(world: World, conn: ConnId, client: Client, intent: i.MarkRead, out: Outputs) -> None:
    """``MarkRead``: move the marker of ``intent.target`` (rules 1-3), or tell it."""
    target = intent.target
    if _bad_target(world, target):
        out.reply(conn, Refused(Problem.MARKER_TARGET, name=target[:NAME_MAX]))
        return
    key = name_key(target)
    stored = world.marker(client, key)
    if intent.time is None:
        out.reply(conn, MarkedRead(target, stored))
        return
    at = max(0, min(millis(intent.time), millis(world.clock())))  # (rule 2)
    if stored is not None and at <= stored:
        out.reply(conn, MarkedRead(target, stored))
        return
    book = world.read_markers(client)
    book.pop(key, None)
    if len(book) >= MARKERS_MAX:
        del book[next(iter(book))]  # the least recently set (rule 5)
    book[key] = at
    event = MarkedRead(target, at)
    out.reply(conn, event)
    if account_id := world.marker_account(client):  # (a guest's: its connection's alone)
        for other in sorted(world.logged_in.get(account_id, set()) - {conn}):
            out.reply(other, event)
        out.add(SaveMarker(account_id, key, at, MARKERS_MAX))  # (last: it waits)


def _bad_target(world: World, target: str) -> bool:
    """``target`` is neither a room's name nor a person's (it need not exist: a marker
    may be asked for anything that could be one)."""
    if target.startswith("#"):
        return rooms.check_room(target) is not None
    return names.check_name(target, frozenset(), unicode=world.rules.unicode_names) is not None
