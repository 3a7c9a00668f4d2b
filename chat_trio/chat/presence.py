"""Presence: who was here (WHOWAS), who watches whom come and go (MONITOR), real names.

This module owns the state (``Past``, ``Watchers``) and the hooks the other rules call
when a name is taken or given up (names.py, world.py) and when news of a person is told
(``World.tell_peers``); the intents are handled where their concern lives: ``LookUpPast``
and ``Watch`` in names.py, ``SetRealname`` in messages.py.

Rules:

1. **Who was here.** Each name given up, by leaving or by a rename, is remembered as a
   ``Gone`` (the name as spelled, its username and real name, when): what WHOIS showed
   of it, never more (no address: every door shows the cloak). At most
   ``PAST_PER_NAME`` are kept per name and ``PAST_MAX`` in all; when either is full the
   oldest goes (a ring: memory stays bounded whatever people do). ``LookUpPast`` lists
   the newest first, up to the count asked for (0 or less: all).
2. **Watching.** A connection watches at most ``WATCH_MAX`` names (by ``name_key``:
   whatever the case); one more is refused (``WATCH_FULL``) and nothing of that request
   is added past the bound. The index goes from a name to its watchers
   (``Watchers.by_name``), so news of one person costs what its watchers cost, never a
   scan of every connection. A connection's watches end with it.
3. **Coming and going.** When a watched name is taken (a first name, a rename, a login
   that brings its own name) each watcher is told ``Presence(online=...)``; when it is
   given up (leaving, a rename) ``Presence(offline=...)``. A change of case only is
   neither: the name is the same. This holds for people of every door.
4. **News of a watched person.** Its away state, account and real name reach a
   watcher who shares no room with it as ``Watched(event)`` (the rooms' broadcasts tell
   the others); the watcher's door decides whether it shows them (IRC's
   ``extended-monitor``).
5. **Real names.** ``SetRealname`` changes one's real name (one line, 1 to
   ``REALNAME_MAX`` characters, else ``REALNAME_BAD`` and nothing changes); the person
   and its rooms are told once each (``RealnameChanged``), and its watchers (rule 4).

This module never imports trio and never awaits.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import attrs

from chat_trio.chat.events import (
    AccountChanged,
    Away,
    ConnId,
    Event,
    Gone,
    Presence,
    RealnameChanged,
    Watched,
)
from chat_trio.chat.outputs import Outputs
from chat_trio.chat.vocabulary import look, name_key

if TYPE_CHECKING:
    from chat_trio.chat.world import Client, World

PAST_PER_NAME = 8
"""Entries kept per name: enough to tell the last few people who used a name apart,
few enough that one name taken and left in a loop cannot fill the ring alone."""
PAST_MAX = 2000
"""Entries kept in all (about 200 bytes each: ~400 KB at most)."""
WATCH_MAX = 100
"""Names one connection may watch (ISUPPORT ``MONITOR=100``, as ergo's default): 10,000
connections watching their fill are a million index entries, the worst case."""


@attrs.frozen
class PastStatistics:
    """What the WHOWAS ring holds (``Past.statistics``)."""

    entries: int  #: names given up, remembered now
    names: int  #: different names among them
    max_entries: int  #: the bound (``PAST_MAX``); past it the oldest goes


@attrs.frozen
class WatchStatistics:
    """What the MONITOR index holds (``Watchers.statistics``)."""

    watches: int  #: (connection, name) pairs, all together
    watchers: int  #: connections watching at least one name
    names: int  #: different names watched


@attrs.define
class Past:
    """The ring of names given up (rule 1): per name, its entries oldest first, and the
    order they came in overall, for dropping the oldest when ``PAST_MAX`` is reached."""

    by_name: dict[str, deque[tuple[int, Gone]]] = attrs.Factory(dict)
    order: deque[tuple[int, str]] = attrs.Factory(deque)  #: (sequence, name_key), oldest first
    made: int = 0  #: entries made so far (each one's sequence number)

    def remember(self, gone: Gone) -> None:
        """Keep ``gone``; when full, drop the oldest (of its name, or of all)."""
        key = name_key(gone.name)
        self.made += 1
        kept = self.by_name.setdefault(key, deque(maxlen=PAST_PER_NAME))
        kept.append((self.made, gone))  # (a full deque drops its oldest itself)
        self.order.append((self.made, key))
        if len(self.order) > PAST_MAX:
            # The oldest overall: still kept unless its name's bound dropped it already.
            seq, old = self.order.popleft()
            entries = self.by_name[old]
            if entries and entries[0][0] == seq:
                entries.popleft()
            if not entries:
                del self.by_name[old]

    def find(self, name: str, count: int) -> tuple[Gone, ...]:
        """The entries for ``name``, newest first, at most ``count`` (0 or less: all)."""
        kept = self.by_name.get(name_key(name), ())
        newest = tuple(gone for _, gone in reversed(kept))
        return newest[:count] if count > 0 else newest

    def __len__(self) -> int:
        return sum(map(len, self.by_name.values()))

    def statistics(self) -> PastStatistics:
        return PastStatistics(len(self), len(self.by_name), PAST_MAX)


@attrs.define
class Watchers:
    """Who watches which name (rule 2): both ways, kept in step."""

    #: name_key -> the connections watching it
    by_name: dict[str, set[ConnId]] = attrs.Factory(dict)
    #: connection -> name_key -> the name as it was given, in the order added
    of: dict[ConnId, dict[str, str]] = attrs.Factory(dict)

    def add(self, conn: ConnId, name: str) -> None:
        key = name_key(name)
        self.of.setdefault(conn, {})[key] = name
        self.by_name.setdefault(key, set()).add(conn)

    def remove(self, conn: ConnId, name: str) -> None:
        key = name_key(name)
        mine = self.of.get(conn, {})
        if mine.pop(key, None) is None:
            return
        if not mine:
            del self.of[conn]
        watchers = self.by_name[key]
        watchers.discard(conn)
        if not watchers:
            del self.by_name[key]

    def clear(self, conn: ConnId) -> None:
        for name in list(self.of.get(conn, {}).values()):
            self.remove(conn, name)

    def has(self, conn: ConnId, name: str) -> bool:
        return name_key(name) in self.of.get(conn, ())

    def count(self, conn: ConnId) -> int:
        return len(self.of.get(conn, ()))

    def statistics(self) -> WatchStatistics:
        watches = sum(map(len, self.of.values()))
        return WatchStatistics(watches, len(self.of), len(self.by_name))


# -- the hooks the other rules call ------------------------------------------------------


def arrived(world: World, conn: ConnId, client: Client, out: Outputs) -> None:
    """``client`` took its name (rule 3)."""
    for watcher in world.watchers.by_name.get(name_key(client.name), ()):
        if watcher != conn:
            out.reply(watcher, Presence(online=((client.name, client.user),)))


def left(world: World, conn: ConnId, client: Client, out: Outputs) -> None:
    """``client`` gives up its name by leaving (rules 1 and 3); its watches end."""
    world.watchers.clear(conn)
    _gone(world, conn, client, client.name, out)


def renamed(world: World, conn: ConnId, client: Client, old: str, out: Outputs) -> None:
    """``client`` was ``old`` (rules 1 and 3): a change of case is no coming or going."""
    world.past.remember(Gone(old, client.user, client.realname, world.clock()))
    if name_key(old) != name_key(client.name):
        _offline(world, conn, old, out)
        arrived(world, conn, client, out)


def _gone(world: World, conn: ConnId, client: Client, name: str, out: Outputs) -> None:
    world.past.remember(Gone(name, client.user, client.realname, world.clock()))
    _offline(world, conn, name, out)


def _offline(world: World, conn: ConnId, name: str, out: Outputs) -> None:
    for watcher in world.watchers.by_name.get(name_key(name), ()):
        if watcher != conn:
            out.reply(watcher, Presence(offline=(name,)))


def tell_watchers(world: World, conn: ConnId, client: Client, event: Event, out: Outputs) -> None:
    """News of ``client`` to its watchers who share no room with it (rule 4)."""
    watchers = world.watchers.by_name.get(name_key(client.name))
    if not watchers or not isinstance(event, _NEWS):
        return
    shared = set(client.rooms)
    for watcher in watchers:
        other = world.clients.get(watcher)
        if watcher != conn and other is not None and shared.isdisjoint(other.rooms):
            out.reply(watcher, Watched(event))


_NEWS = (Away, AccountChanged, RealnameChanged)
"""The news of a person that reaches its watchers (rule 4): its name's coming and going
is told by ``Presence``."""


def status(world: World, names: tuple[str, ...]) -> Presence:
    """Who of ``names`` is online (as they spell their names) and who is not."""
    online, offline = [], []
    for name in names:
        holder = world.names.get(look(name))
        who = world.clients[holder] if holder is not None else None
        if who is None or name_key(who.name) != name_key(name):  # (or a look-alike)
            offline.append(name)
        else:
            online.append((who.name, who.user))
    return Presence(tuple(online), tuple(offline))
