"""Room roles: who runs a room, and the one table of what each act in a room needs.

Theory of operation. A room is run by its operators (``Role.OPERATOR``, ``@`` on IRC);
``Role.VOICE`` (``+``) marks members worth hearing: in a moderated room
(``Mode.MODERATED``, ``+m``) only they and the operators may talk. Roles are held by
connections (``Room.roles``), never by names, which someone else may take next. Every
act that needs more than membership is a row of ``NEEDS``, and ``refusal`` is the one
place that checks it: no handler decides by itself.

Rules:

1. Whoever creates a room (joins it while it has no members) is its operator. ``#lobby``
   is the server's: it has no founder, and no one gets a role there by joining.
2. ``NEEDS`` says what each act asks of the one doing it: ``OPERATOR`` (an operator of
   the room, or an admin: admins act as operator in every room) or ``ADMIN``. In
   ``#lobby`` every act needs an admin (``LOBBY_NEEDS``).
3. Rooms are topic-locked (``+t``, fixed for now): setting a topic is an operator's act.
   Only members may act in a room, and only on its members.
4. A role change is told to every member of the room, the two concerned too; a change
   to what a member already has (or lacks) changes nothing and tells no one.
5. A kicked member leaves that room only, told who and why (``RoomLeft.by``); the
   others see ``Kicked``. It stays connected. A member whose only room it was is put in
   ``#lobby`` (before it leaves, so that it is never in no room: the text door and the
   page always have a room to talk in); kicking someone out of ``#lobby`` when it is
   their only room is refused (``/kill`` ends their connection instead). A member whose
   door lets it be in no room (``Lobby.FIRST`` or ``NEVER``: IRC) is just out.
6. Modes (``Room.modes``) are turned on and off by operators (``Act.MODE``); a change
   that changes nothing tells no one (as rule 4). In a moderated room (``+m``) a member
   who is neither operator, voiced nor admin is refused (``Problem.MODERATED``); a
   secret room (``+s``) is listed only to its members.
7. Joining a room with members is checked here too (``admission``): ``+i`` needs an
   invitation, ``+k`` the key, ``+l`` a free place. An invitation lets its holder past
   all three, as InspIRCd's default does (an operator who invites someone means them to
   come in, whatever the room's settings); admins always pass. ``#lobby`` stays open to
   everyone (everyone is put in it): ``+i``, ``+k`` and ``+l`` are refused there.
8. An invitation (``Act.INVITE``) is held by the invited connection, used up by its
   join, and lapses after ``INVITE_SECONDS``. A room holds at most ``INVITES_MAX``; when
   full, **the oldest is dropped**: the newest is the operators' latest wish, and
   refusing it would let stale invitations lock out the ones that matter.
9. Roles end with membership: leaving, a kick or a disconnect drops them, and a room
   forgotten when its last member leaves forgets them and its modes.

The handlers that carry these acts out (``set_role``, ``kick``) are rooms.py's: they
change who is in a room. This module never imports trio and never awaits.
"""

from __future__ import annotations

import enum

from chat_trio.chat.events import ConnId, Mode, Refused, Role
from chat_trio.chat.problems import Problem
from chat_trio.chat.vocabulary import LOBBY, name_key
from chat_trio.chat.world import Client, Room, World


class Act(enum.Enum):
    """Something done in a room that not every member may do. The value names it in
    refusals ("Only operators of #rust can use /kick")."""

    TOPIC = "topic"
    OP = "op"
    DEOP = "deop"
    VOICE = "voice"
    DEVOICE = "devoice"
    KICK = "kick"
    MODE = "mode"
    INVITE = "invite"


class Need(enum.Enum):
    """Who may do an act."""

    OPERATOR = "operator"  #: an operator of the room, or an admin
    ADMIN = "admin"  #: an admin


NEEDS: dict[Act, Need] = {
    Act.TOPIC: Need.OPERATOR,  # every room is +t
    Act.OP: Need.OPERATOR,
    Act.DEOP: Need.OPERATOR,
    Act.VOICE: Need.OPERATOR,
    Act.DEVOICE: Need.OPERATOR,
    Act.KICK: Need.OPERATOR,
    Act.MODE: Need.OPERATOR,
    Act.INVITE: Need.OPERATOR,
}
"""What each act needs in a room (rule 2); the docs' "who may do what" table is this."""

LOBBY_NEEDS: dict[Act, Need] = {act: Need.ADMIN for act in Act}
"""What each act needs in ``#lobby``: it is the server's, run by its admins."""

ACTS: dict[tuple[Role, bool], Act] = {
    (Role.OPERATOR, True): Act.OP,
    (Role.OPERATOR, False): Act.DEOP,
    (Role.VOICE, True): Act.VOICE,
    (Role.VOICE, False): Act.DEVOICE,
}


def is_operator(world: World, conn: ConnId, client: Client, room: Room) -> bool:
    """Does ``conn`` act as an operator of ``room`` (one, or an admin)?"""
    return conn in room.roles[Role.OPERATOR] or world.is_admin(client)


def refusal(world: World, conn: ConnId, client: Client, room: Room, act: Act) -> Refused | None:
    """Why ``conn`` may not do ``act`` in ``room`` (a member's), or None if it may: the
    one check of ``NEEDS``."""
    name = room.memory.name
    need = (LOBBY_NEEDS if name_key(name) == name_key(LOBBY) else NEEDS)[act]
    if need is Need.ADMIN and not world.is_admin(client):
        return Refused(Problem.LOBBY_ADMINS, name=act.value, room=name)
    if need is Need.OPERATOR and not is_operator(world, conn, client, room):
        return Refused(Problem.NOT_OPERATOR, name=act.value, room=name)
    return None


def may_talk(world: World, conn: ConnId, client: Client, room: Room) -> Refused | None:
    """Why ``conn`` (a member) may not talk in ``room`` (rule 6: moderated), or None."""
    if Mode.MODERATED not in room.modes or conn in room.roles[Role.VOICE]:
        return None
    if is_operator(world, conn, client, room):
        return None
    return Refused(Problem.MODERATED, room=room.memory.name)


INVITES_MAX = 100
"""Invitations a room holds at most (rule 8: when full, the oldest is dropped)."""
INVITE_SECONDS = 3600.0  #: an invitation lapses after an hour (rule 8), as the issue asks
KEY_MAX = 32  #: a key's length at most (InspIRCd's default); no spaces or commas (IRC)
LIMIT_MAX = 100_000  #: the highest member limit (more than any room here holds)
OPEN_MODES = frozenset({Mode.INVITE_ONLY, Mode.KEY, Mode.LIMIT})
"""The modes that keep people out: never on ``#lobby`` (rule 7)."""


def admission(world: World, conn: ConnId, client: Client, room: Room, key: str) -> Refused | None:
    """Why ``conn`` may not join ``room`` (which has members) with ``key``, or None if it
    may; a valid invitation is used up (rules 7 and 8)."""
    expires = room.invited.pop(conn, None)
    if (expires is not None and expires > world.now) or world.is_admin(client):
        return None
    name = room.memory.name
    if Mode.INVITE_ONLY in room.modes:
        return Refused(Problem.INVITE_ONLY, room=name)
    if Mode.KEY in room.modes and key != room.key:
        return Refused(Problem.NEEDS_KEY, room=name)
    if Mode.LIMIT in room.modes and len(room.members) >= room.limit:
        return Refused(Problem.ROOM_FULL, room=name, limit=room.limit)
    return None


def invite(world: World, room: Room, conn: ConnId) -> None:
    """Let ``conn`` join ``room`` once within ``INVITE_SECONDS`` (rule 8)."""
    room.invited.pop(conn, None)  # invited again: the newest, with a fresh hour
    while len(room.invited) >= INVITES_MAX:
        room.invited.popitem(last=False)
    room.invited[conn] = world.now + INVITE_SECONDS


def listed(client: Client, room: Room) -> bool:
    """Is ``room`` shown to ``client`` in room lists (rule 6: secret rooms only to their
    members)?"""
    return Mode.SECRET not in room.modes or name_key(room.memory.name) in client.rooms


def found(room: Room, conn: ConnId) -> None:
    """``conn`` created ``room`` (rule 1): it is its operator."""
    if name_key(room.memory.name) != name_key(LOBBY):
        room.roles[Role.OPERATOR].add(conn)
