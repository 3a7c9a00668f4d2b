"""Registered rooms: rooms that outlive their members. What a registration keeps, and what
it changes when its room is used. Sans-I/O.

Theory of operation. A room is forgotten when its last member leaves (world.py's
invariant 2), roles, modes and all. A logged-in operator may register it (founders.py
carries out ``/room register``): a frozen ``RegisteredRoom`` in the registry (registry.py,
loaded from storage at start-up, saved with ``SaveRoom``) keeps its founder account, the
accounts the founder lists as operators, and what its members set last: topic, modes and bans.
What the record keeps of a room comes from one function, ``snapshot``, and goes back into
a room through one, ``restore``: a new thing to keep is one field and a line in each.

Rules:

1. Registering needs being logged in to an account and being an operator of the room
   (admins act as operators everywhere). ``#lobby`` is the server's own room, run by its
   admins: nobody registers or drops it, and ``/room info #lobby`` says so; it is kept
   as a registered room without a founder (``founder`` ""), so that the topic and modes
   its admins set survive restarts like any registered room's.
2. A founder account founds at most ``ROOMS_PER_ACCOUNT`` rooms; a room lists at most
   ``ROOM_OPS_MAX`` operator accounts. Both refuse when full (see the constants).
3. While a registered room is used, every change to its topic, modes or bans is kept in its
   record and saved (``keep``), so that it survives the room's being forgotten and the
   server's restart.
4. A registered room created again (its first joiner) gets its topic, modes and bans back
   (``restore``); its modes apply to that first joiner too (a ``+i`` room stays invite
   only when nobody is in it). Its founder and listed operators, when logged in, get
   operator status whenever they join, past its modes, or log in while in it, and the
   room is told (by ``SERVICE``); nobody else becomes its operator by being first
   (roles.py's rule 1).
5. Only the founder or an admin drops a registration or changes its list of operators;
   anyone may ask who founded a room and whom it lists, but a secret room's record is
   shown only to its members (to others it does not exist).
6. Accounts are named by their ``id``: a later account of a deleted one's name is
   nobody in its rooms (registry.py's rule 4 drops the rooms a deleted account founded).

This module never imports trio and never awaits.
"""

from __future__ import annotations

import attrs

from chat_trio.chat import roles
from chat_trio.chat.events import ConnId, Mode, Role, RoleChanged
from chat_trio.chat.outputs import Outputs, SaveRoom
from chat_trio.chat.registry import RegisteredRoom
from chat_trio.chat.vocabulary import LOBBY, name_key
from chat_trio.chat.world import Client, Room, World

ROOMS_PER_ACCOUNT = 10
"""Rooms one account may found (rule 2). When reached, registering another is refused
(``Problem.TOO_MANY_REGISTERED``) rather than dropping an older one: each registration
was a deliberate act of its founder, and no new one may undo it. The founder drops one
to make room. It also bounds what the registry holds: 10 per account."""
ROOM_OPS_MAX = 32
"""Operator accounts one registered room may list (rule 2). When full, adding another is
refused (``Problem.TOO_MANY_ROOM_OPS``): the list is the founder's, and only the founder
decides whom to take off. 32 is more than rooms here are run by, and keeps a record
small."""
SERVICE = "ChanServ"
"""Who gives operator status back on joining (rule 4), as the room is told: a reserved
name (vocabulary.SERVICES), so that nobody can pose as it."""


def snapshot(record: RegisteredRoom, room: Room) -> RegisteredRoom:
    """``record`` with what it keeps of ``room`` as the room is now (the one place that
    says what a registration keeps of its room)."""
    memory = room.memory
    return attrs.evolve(
        record,
        topic=memory.topic,
        topic_by=memory.topic_by,
        topic_at=memory.topic_at,
        modes=frozenset(room.modes),
        key=room.key if Mode.KEY in room.modes else "",
        limit=room.limit if Mode.LIMIT in room.modes else 0,
        bans=tuple(room.bans.values()),
    )


def restore(world: World, room: Room, record: RegisteredRoom) -> None:
    """Give ``room``, created again, what ``record`` kept of it (rule 4)."""
    memory = room.memory
    memory.topic, memory.topic_by, memory.topic_at = record.topic, record.topic_by, record.topic_at
    room.modes, room.key, room.limit = set(record.modes), record.key, record.limit
    for ban in record.bans:
        roles.ban(world, room, ban)


def keep(world: World, room: Room, out: Outputs) -> None:
    """``room``'s topic, modes or bans changed: if it is registered, keep and save them (rule 3).
    ``#lobby`` is registered to the server from its first change on (rule 1)."""
    key = name_key(room.memory.name)
    record = world.registry.rooms.get(key)
    if record is None and key == name_key(LOBBY):
        record = RegisteredRoom(LOBBY, founder="", registered_at=0.0)
    if record is None:
        return
    kept = snapshot(record, room)
    if kept != record:
        world.registry.rooms[key] = kept
        out.add(SaveRoom(key, kept))


def entitled(record: RegisteredRoom | None, client: Client) -> bool:
    """Does ``client`` get operator status in the room ``record`` keeps (rule 4)?"""
    account = client.account_id
    return (
        record is not None
        and bool(account)
        and (account == record.founder or account in record.ops)
    )


def reop(world: World, conn: ConnId, client: Client, room: Room, out: Outputs) -> None:
    """``conn``, entitled to it, has joined ``room`` or logged in there: make it an
    operator, and tell the room (a joiner, not subscribed yet, sees it in the member list
    its join shows it)."""
    room.roles[Role.OPERATOR].add(conn)
    name = room.memory.name
    out.broadcast(name, RoleChanged(name, client.name, Role.OPERATOR, True, SERVICE), None)


def logged_in(world: World, conn: ConnId, client: Client, out: Outputs) -> None:
    """``client`` logged in while in rooms (an IRC client joins its channels first and
    identifies after): it becomes operator of each registered one its account is
    entitled to (rule 4), as if it had joined now."""
    for key in client.rooms:
        room = world.rooms[key]
        if conn not in room.roles[Role.OPERATOR] and entitled(
            world.registry.rooms.get(key), client
        ):
            reop(world, conn, client, room, out)


def founded(world: World, account_id: str) -> int:
    """How many rooms ``account_id`` founded."""
    return sum(1 for r in world.registry.rooms.values() if r.founder == account_id)
