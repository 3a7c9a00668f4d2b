"""What founders, operators and admins do with registered rooms: ``/room register``,
``drop``, ``info`` and ``ops`` (ChanServ on IRC). The rules they follow are
registered.py's; this module carries them out. Sans-I/O. (Two modules, because rooms.py
calls registered.py when a room is joined or changed, and this one calls rooms.py to find
the room a person is in: one module would make an import cycle.)

Every check is made here, in the order a person would want to hear about it: storage
first (``--no-db`` keeps no registrations), then the account, then the room, then the
act's own limits.

This module never imports trio and never awaits.
"""

from __future__ import annotations

import attrs

from chat_trio.chat import intents as i
from chat_trio.chat import registered, roles
from chat_trio.chat.events import ConnId, Done, Mode, Refused, RoomInfo
from chat_trio.chat.outputs import Outputs, SaveRoom
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.registry import RegisteredRoom
from chat_trio.chat.rooms import check_room, member_room
from chat_trio.chat.vocabulary import LOBBY, NAME_MAX, name_key
from chat_trio.chat.world import Client, World


def _not_the_servers(name: str) -> Refused | None:
    """Why ``name`` cannot be a registered room's name: not a room name, or ``#lobby``
    (registered.py's rule 1)."""
    problem = check_room(name)
    if problem is None and name_key(name) == name_key(LOBBY):
        return Refused(Problem.SERVERS_ROOM, room=LOBBY)
    return problem


def register_room(
    world: World, conn: ConnId, client: Client, intent: i.RegisterRoom, out: Outputs
) -> None:
    key = name_key(intent.room)
    if not world.stored:
        problem: Refused | None = Refused(Problem.NO_REGISTERED_ROOMS)
    elif not client.account:
        problem = Refused(Problem.NOT_LOGGED_IN)
    else:
        problem = _not_the_servers(intent.room)
    if problem is not None:
        out.reply(conn, problem)
        return
    room = member_room(world, conn, client, intent.room, out)
    if room is None:
        return
    name = room.memory.name
    if not roles.is_operator(world, conn, client, room):
        problem = Refused(Problem.NOT_OPERATOR, name="room register", room=name)
    elif key in world.registry.rooms:
        problem = Refused(Problem.ROOM_ALREADY_REGISTERED, room=name)
    elif registered.founded(world, client.account_id) >= registered.ROOMS_PER_ACCOUNT:
        problem = Refused(Problem.TOO_MANY_REGISTERED, limit=registered.ROOMS_PER_ACCOUNT)
    if problem is not None:
        out.reply(conn, problem)
        return
    made = RegisteredRoom(name, client.account_id, world.clock())
    record = world.registry.rooms[key] = registered.snapshot(made, room)
    out.add(SaveRoom(key, record))
    out.reply(conn, Done(Outcome.ROOM_REGISTERED, room=name))


def _founders_room(
    world: World, conn: ConnId, client: Client, room: str, act: str, out: Outputs
) -> RegisteredRoom | None:
    """The record of the registered ``room`` if ``conn`` may change it (its founder, or
    an admin: registered.py's rule 5); else None, and says why."""
    problem = _not_the_servers(room)
    record = world.registry.rooms.get(name_key(room))
    if problem is None:
        if record is None or not _shown(world, client, record):
            problem = Refused(Problem.ROOM_NOT_REGISTERED, room=room)
        elif not _founder(world, client, record):
            problem = Refused(Problem.NOT_FOUNDER, name=act, room=record.name)
    if problem is not None:
        out.reply(conn, problem)
        return None
    return record


def _founder(world: World, client: Client, record: RegisteredRoom) -> bool:
    """Does ``client`` act as ``record``'s founder (it is, or an admin)?"""
    mine = bool(client.account_id) and client.account_id == record.founder
    return mine or world.is_admin(client)


def _shown(world: World, client: Client, record: RegisteredRoom) -> bool:
    """Is ``record`` shown to ``client``? A secret room's only to its members, and to
    whoever may change it (rule 5)."""
    room = world.rooms.get(name_key(record.name))
    shown = roles.listed(client, room) if room is not None else Mode.SECRET not in record.modes
    return shown or _founder(world, client, record)


def drop_room(world: World, conn: ConnId, client: Client, intent: i.DropRoom, out: Outputs) -> None:
    record = _founders_room(world, conn, client, intent.room, "room drop", out)
    if record is None:
        return
    key = name_key(record.name)
    del world.registry.rooms[key]
    out.add(SaveRoom(key, None))
    out.reply(conn, Done(Outcome.ROOM_DROPPED, room=record.name))
    if key in world.rooms:  # an ordinary room again: forgotten once empty
        world.maybe_forget(key)


def set_room_op(
    world: World, conn: ConnId, client: Client, intent: i.SetRoomOp, out: Outputs
) -> None:
    record = _founders_room(world, conn, client, intent.room, "room ops", out)
    if record is None:
        return
    account = world.registry.accounts.get(name_key(intent.name))
    room = record.name
    if account is None:
        out.reply(conn, Refused(Problem.NO_ACCOUNT, name=intent.name[:NAME_MAX]))
        return
    listed = account.id in record.ops
    if intent.on and not listed and len(record.ops) >= registered.ROOM_OPS_MAX:
        out.reply(
            conn, Refused(Problem.TOO_MANY_ROOM_OPS, room=room, limit=registered.ROOM_OPS_MAX)
        )
        return
    if not intent.on and not listed:
        out.reply(conn, Refused(Problem.NOT_ROOM_OP, name=account.name, room=room))
        return
    if intent.on != listed:
        ops = (
            (*record.ops, account.id)
            if intent.on
            else tuple(o for o in record.ops if o != account.id)
        )
        key = name_key(room)
        changed = world.registry.rooms[key] = attrs.evolve(record, ops=ops)
        out.add(SaveRoom(key, changed))
    outcome = Outcome.ROOM_OP_ADDED if intent.on else Outcome.ROOM_OP_REMOVED
    out.reply(conn, Done(outcome, name=account.name, room=room))


def show_room_info(
    world: World, conn: ConnId, client: Client, intent: i.ShowRoomInfo, out: Outputs
) -> None:
    """Anyone may ask; a room that is not registered (or is secret, to those not in it)
    is said to be so (rule 5)."""
    problem = check_room(intent.room)
    if problem is None and name_key(intent.room) == name_key(LOBBY):
        out.reply(conn, RoomInfo(LOBBY, server=True))
        return
    record = world.registry.rooms.get(name_key(intent.room))
    if problem is None and (record is None or not _shown(world, client, record)):
        live = world.rooms.get(name_key(intent.room))
        shown = live is not None and roles.listed(client, live)
        problem = Refused(
            Problem.ROOM_NOT_REGISTERED if shown else Problem.NO_SUCH_ROOM, room=intent.room
        )
    if problem is not None:
        out.reply(conn, problem)
        return
    assert record is not None
    listed = (world.registry.by_id(o) for o in record.ops)
    ops = tuple(account.name for account in listed if account is not None)
    founder_account = world.registry.by_id(record.founder)
    founder = founder_account.name if founder_account is not None else ""
    out.reply(conn, RoomInfo(record.name, founder, record.registered_at, ops))
