"""Rooms: joining, leaving, topics, and who and what is where.

Rules:

1. Room names are ``#`` and 1-32 ASCII letters, digits, ``_`` or ``-``, compared without
   case; a room keeps the spelling it was first given. ``#lobby`` always exists and
   users are put in it on registering, unless their door says otherwise (``i.Lobby``);
   a door may let its users leave every room (IRC) or keep them in at least one (the
   text door).
2. A user is in at most ``Rules.max_rooms_per_user`` rooms; at most ``Rules.max_rooms``
   rooms exist. Both are checked again when a join that waited for history completes.
3. Joining a room gives its last ``Rules.history_lines`` conversation lines from memory in
   the same call that subscribes the joiner, so no line is missed or shown twice. When
   that memory is gone, the I/O layer is asked to ``LoadHistory`` first (BUSY till then).
4. Topics are at most ``TOPIC_MAX`` characters; only members set them, and only those
   roles.py lets (rooms are topic-locked: operators; ``#lobby``: admins); everyone in
   the room, the setter too, sees the change.
5. Whoever creates a room is its operator (in a registered room: its founder and listed
   operators, registered.py); room member lists say who holds which role.
   Giving and taking roles and kicking are handled here (``set_role``, ``kick``), and
   checked by roles.py's one table (its rules 1-7); so are room modes (``set_mode``)
   and bans (``ban``, ``unban``, ``show_bans``: its rules 10-12).

This module never imports trio and never awaits.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable

from chat_trio.chat import intents as i
from chat_trio.chat import registered, roles, words
from chat_trio.chat.events import (
    BanChanged,
    BanList,
    ConnId,
    History,
    Invitation,
    Invitations,
    Invited,
    InviteSent,
    Joined,
    Kicked,
    Kind,
    Left,
    Mode,
    ModeChanged,
    Modes,
    Person,
    Reason,
    Refused,
    Role,
    RoleChanged,
    RoomEntered,
    RoomLeft,
    RoomList,
    Topic,
    TopicChanged,
    UserList,
    UserMode,
)
from chat_trio.chat.outputs import LoadHistory, Outputs, Subscribe, Unsubscribe
from chat_trio.chat.problems import Problem
from chat_trio.chat.roles import KEY_MAX, LIMIT_MAX
from chat_trio.chat.state import Step
from chat_trio.chat.vocabulary import (
    HOST,
    LIST_MAX,
    LOBBY,
    NAME_MAX,
    REASON_MAX,
    ROOM_MAX,
    TOPIC_MAX,
    look,
    name_key,
)
from chat_trio.chat.world import Client, Memory, Room, World

_ROOM = re.compile(r"#[A-Za-z0-9_-]+\Z")
_KEY = re.compile(f"[!-+\\--~]{{1,{KEY_MAX}}}")  # printable ASCII but space and comma (IRC)


def check_room(name: str) -> Refused | None:
    """Return why ``name`` cannot be a room name, or None if it can."""
    if not name.startswith("#"):
        if not name:
            return Refused(Problem.ROOM_MISSING)
        return Refused(Problem.ROOM_NO_HASH, name=name, room=name)
    if len(name) == 1 or len(name) > ROOM_MAX + 1:
        return Refused(Problem.ROOM_LENGTH, limit=ROOM_MAX, room=name)
    if _ROOM.match(name) is None:
        bad = next(c for c in name[1:] if not (c.isascii() and (c.isalnum() or c in "_-")))
        return Refused(Problem.ROOM_CHAR, char=bad, room=name)
    return None


def spelled(world: World, name: str) -> str:
    """``name`` as the room it names was first spelled (as given if it is new)."""
    key = name_key(name)
    memory = world.rooms[key].memory if key in world.rooms else world.remembered.get(key)
    return memory.name if memory is not None else name


def member_room(world: World, conn: ConnId, client: Client, name: str, out: Outputs) -> Room | None:
    """The room ``name`` if ``conn`` is in it; else None, and says why: the room does
    not exist (IRC's 403), or ``conn`` is not in it (442)."""
    problem = check_room(name)
    if problem is None and name_key(name) not in world.rooms:
        problem = Refused(Problem.NO_SUCH_ROOM, room=name)
    elif problem is None and name_key(name) not in client.rooms:
        problem = Refused(Problem.NOT_IN_ROOM, room=name)
    if problem is not None:
        out.reply(conn, problem)
        return None
    return world.rooms[name_key(name)]


def join(world: World, conn: ConnId, client: Client, intent: i.Join, out: Outputs) -> None:
    problem = check_room(intent.room)
    if problem is not None:
        out.reply(conn, problem)
        return
    enter(world, conn, client, spelled(world, intent.room), out, with_key=intent.key)


def focus(world: World, conn: ConnId, client: Client, intent: i.Focus, out: Outputs) -> None:
    room = member_room(world, conn, client, intent.room, out)
    if room is not None:
        memory = room.memory
        out.reply(conn, RoomEntered(memory.name, len(room.members), memory.topic, False))


def enter(
    world: World,
    conn: ConnId,
    client: Client,
    name: str,
    out: Outputs,
    *,
    quiet: bool = False,
    with_key: str = "",
    placed: bool = False,
    founds: bool | None = None,
    loaded: bool = False,
) -> None:
    """Put ``conn`` in the room ``name`` (first checking the limits and, with its key,
    the room's modes and bans: roles.admission), or show it if it is in it already.
    ``placed``: the server puts it there (``#lobby``: roles.py's rule 12). ``founds``:
    whether ``conn`` founds the room, as the nodes decided it (remote.py's rule 7: False,
    someone is in it somewhere); None: it does if nobody here is in it. ``loaded``: its
    history was just loaded for this join (rule 3)."""
    key = name_key(name)
    rules = world.rules
    if key in client.rooms:
        here = world.rooms[key]
        out.reply(conn, RoomEntered(here.memory.name, len(here.members), here.memory.topic, False))
        return
    if len(client.rooms) >= rules.max_rooms_per_user:
        out.reply(conn, Refused(Problem.TOO_MANY_ROOMS_FOR_USER, limit=rules.max_rooms_per_user))
        return
    if key not in world.rooms and len(world.rooms) >= rules.max_rooms:
        out.reply(conn, Refused(Problem.TOO_MANY_ROOMS))
        return
    known = world.rooms.get(key)
    remembered = key in world.remembered and not world.shared_names  # (else: ask the nodes)
    if (world.stored and not loaded) and (
        (known is None and not remembered) or (known is not None and not known.current)
    ):
        client.step(Step.WAIT)
        client.joining_key = with_key  # (a registered room's +k is checked after the load)
        out.add(LoadHistory(conn, name))
        return
    joined = world.rooms.get(key)
    record = world.registry.rooms.get(key)
    if joined is None and record is not None:  # registered.py's rule 4: as it was kept
        joined = _create(world, key, name)
        registered.restore(world, joined, record)
    entitled = registered.entitled(record, client)
    occupied = founds is False or record is not None
    if joined is not None and (joined.members or occupied) and not entitled:
        refused = roles.admission(world, conn, client, joined, with_key, placed=placed)
        if refused is not None:
            out.reply(conn, refused)
            world.maybe_forget(key)  # (a registered room restored for nobody)
            return
    if joined is None:
        joined = _create(world, key, name)
    room, memory = joined, joined.memory
    if record is None and (not room.members if founds is None else founds):
        roles.found(room, conn)
    room.seat(conn, client.name)
    room.told_alone = False
    client.rooms.append(key)
    account, admin = world.account_name(client), world.is_admin(client)
    operator = conn in room.roles[Role.OPERATOR]
    where = None if quiet else memory.name
    joined_as = Joined(client.name, where, account, admin, operator, client.away, client.user)
    out.broadcast(memory.name, joined_as, conn)
    if entitled:
        registered.reop(world, conn, client, room, out)
    world.record(out, Kind.JOINED, memory.name, client.name)
    members, topic = len(room.members), memory.topic  # and who set it, when (IRC's 333)
    marker = world.marker(client, key)  # (chat/markers.py's rule 4)
    entered = RoomEntered(
        memory.name, members, topic, True, quiet, memory.topic_by, memory.topic_at, marker
    )
    out.reply(conn, entered)
    if memory.recent:
        out.reply(conn, History(memory.name, tuple(memory.recent), world.today()))
    # In the same call as the history: live lines start exactly where it ends.
    out.add(Subscribe(conn, memory.name))


def _create(world: World, key: str, name: str) -> Room:
    """The room ``name`` comes into being (with what memory remembers of it)."""
    memory = world.remembered.pop(key) if key in world.remembered else world.memory(name)
    room = world.rooms[key] = Room(memory, created=world.clock())
    return room


def history_loaded(
    world: World,
    conn: ConnId,
    client: Client,
    room: str,
    out: Outputs,
    founds: bool | None,
    unknown: bool = False,
) -> None:
    """The history ``enter`` asked for is in memory now: go on with the join (``founds``:
    as ``enter`` takes it), unless how the room is run is ``unknown`` (the other nodes
    could not be asked: remote.py's rule 7): then it is refused, never let in unchecked."""
    client.step(Step.RESUME)
    key, client.joining_key = client.joining_key, ""
    if unknown:
        out.reply(conn, Refused(Problem.ROOM_UNAVAILABLE, room=room))
    else:
        enter(world, conn, client, room, out, with_key=key, founds=founds, loaded=True)
    joined = world.rooms.get(name_key(room))
    if joined is not None and name_key(room) not in client.rooms:  # (refused)
        joined.current = joined.current and joined.local > 0  # (not heard: loaded anew)
        world.maybe_forget(name_key(room))


def remember(world: World, room: str, memory: Memory, *, joining: bool = True) -> None:
    """``room``'s history, loaded from storage, unless the room came back meanwhile (what
    is in memory then is newer and wins; but a room with only people of other nodes in it
    was not heard here, nor, with several nodes, one remembered: what storage has is
    newer). ``joining``: a local person joins it now (else it stays not heard here)."""
    key = name_key(room)
    if key not in world.rooms and (key not in world.remembered or world.shared_names):
        world.remember(key, memory)
    elif key in world.rooms and not world.rooms[key].current:  # (people elsewhere in it)
        joined = world.rooms[key]
        joined.memory.recent, joined.memory.topic = memory.recent, memory.topic
        joined.current = joining


def leave(world: World, conn: ConnId, client: Client, intent: i.Leave, out: Outputs) -> None:
    room = member_room(world, conn, client, intent.room, out)
    if room is None:
        return
    key, name = name_key(room.memory.name), room.memory.name
    client.rooms.remove(key)
    room.unseat(conn, client.name)
    room.told_alone = False
    out.add(Unsubscribe(conn, name))
    said = intent.reason[:REASON_MAX]
    out.broadcast(name, Left(client.name, Reason.QUIT, name, said, client.user), conn)
    world.record(out, Kind.LEFT, name, client.name, Reason.QUIT.value)
    still = tuple(world.rooms[k].memory.name for k in client.rooms)
    out.reply(conn, RoomLeft(name, still, reason=said))
    world.maybe_forget(key)


def show_topic(
    world: World, conn: ConnId, client: Client, intent: i.ShowTopic, out: Outputs
) -> None:
    room = member_room(world, conn, client, intent.room, out)
    if room is not None:
        memory = room.memory
        out.reply(conn, Topic(memory.name, memory.topic, memory.topic_by, memory.topic_at))


def acting_room(
    world: World, conn: ConnId, client: Client, name: str, act: roles.Act, out: Outputs
) -> Room | None:
    """The room ``name`` if ``conn`` is in it and may do ``act`` there (roles.py's one
    check); else None, and says why."""
    room = member_room(world, conn, client, name, out)
    problem = None if room is None else roles.refusal(world, conn, client, room, act)
    if problem is not None:
        out.reply(conn, problem)
        return None
    return room


def set_topic(world: World, conn: ConnId, client: Client, intent: i.SetTopic, out: Outputs) -> None:
    room = acting_room(world, conn, client, intent.room, roles.Act.TOPIC, out)
    if room is None:
        return
    if len(intent.text) > TOPIC_MAX:
        out.reply(conn, Refused(Problem.TOPIC_TOO_LONG, length=len(intent.text), limit=TOPIC_MAX))
        return
    memory = room.memory
    memory.topic, memory.topic_by, memory.topic_at = intent.text, client.name, world.clock()
    entry = world.record(out, Kind.TOPIC, memory.name, client.name, intent.text)
    memory.recent.append(entry)
    changed = TopicChanged(client.name, memory.name, intent.text, entry.id, client.user)
    out.broadcast(memory.name, changed, exclude=None)
    registered.keep(world, room, out)


def list_users(
    world: World, conn: ConnId, client: Client, intent: i.ListUsers, out: Outputs
) -> None:
    limit = LIST_MAX if intent.limit is None else max(0, min(intent.limit, LIST_MAX))
    if intent.names:  # which of these are online: as many lookups as names asked
        found = []
        for name in intent.names[:LIST_MAX]:
            holder = world.names.get(look(name))
            if holder is not None and name_key(world.clients[holder].name) == name_key(name):
                found.append(world.clients[holder])
        shown = tuple(c.name for c in found)
        gone = frozenset(c.name for c in found if c.away)  # (IRC's USERHOST shows it)
        people = tuple(person(world, c) for c in found) if intent.detail else ()
        out.reply(conn, UserList(len(found), shown, label=intent.label, away=gone, people=people))
        return
    after = intent.after.casefold()
    operators = voiced = frozenset[str]()
    secret = False
    if intent.mask:  # those the mask names (WHO nick*): the first page only
        listed = _masked(world, intent.mask, limit + 1, _seen_by(world, conn, client))
        total, where = len(listed), None
    elif intent.room is None:  # everyone online, but the invisible (usermodes.py's rule 3)
        seen = _seen_by(world, conn, client)
        who = [c for k, c in world.clients.items() if c.name and seen(k)]
        total, where = len(who), None
        rest = [c for c in who if c.name.casefold() > after] if after else who
        listed = heapq.nsmallest(limit + 1, rest, key=_name_order)
    else:
        problem = check_room(intent.room)
        room = world.rooms.get(name_key(intent.room))
        if problem is not None or room is None:
            out.reply(conn, problem or Refused(Problem.NO_SUCH_ROOM, room=intent.room))
            return
        total, where = len(room.members), room.memory.name
        secret = Mode.SECRET in room.modes
        # usermodes.py's rule 3: from outside, the invisible are left out
        outside = conn not in room.members
        page = room.page(after, limit + 1, _seen_by(world, conn, client) if outside else None)
        listed = [world.clients[c] for c in page]
        operators, voiced = (
            frozenset(world.clients[c].name for c in page[:limit] if c in room.roles[role])
            for role in (Role.OPERATOR, Role.VOICE)
        )
    more, listed = len(listed) > limit, listed[:limit]
    admins = frozenset(c.name for c in listed if (c.account or c.operator) and world.is_admin(c))
    away = frozenset(c.name for c in listed if c.away) if world.away else frozenset()
    names = tuple(c.name for c in listed)
    people = tuple(person(world, c) for c in listed) if intent.detail else ()
    invisible = world.invisible if intent.room is None and not intent.mask else 0
    listed_users = UserList(
        total, names, where, admins, intent.label, more, away, operators, voiced, secret,
        intent.mask, people, invisible,
    )  # fmt: skip
    out.reply(conn, listed_users)


def _seen_by(world: World, conn: ConnId, asker: Client) -> Callable[[ConnId], bool]:
    """Whom ``asker`` sees in a mask lookup or the member list of a room it is not in:
    everyone but the invisible who share no room with it (usermodes.py's rule 3)."""
    mine = frozenset(asker.rooms)

    def seen(other: ConnId) -> bool:
        c = world.clients[other]
        return UserMode.INVISIBLE not in c.modes or other == conn or not mine.isdisjoint(c.rooms)

    return seen


def _masked(world: World, mask: str, most: int, seen: Callable[[ConnId], bool]) -> list[Client]:
    """At most ``most`` of those online whose name, username, host or real name
    ``mask`` matches, in name order, of those ``seen`` lets through. A mask without
    ``*`` or ``?`` is a name: one look-up (and whoever holds it is found, invisible or
    not). Otherwise every client is tried (a microsecond each: ``roles.glob``), which the
    asker's flood tokens pace like any command."""
    if "*" not in mask and "?" not in mask:
        holder = world.names.get(look(mask))
        found = world.clients[holder] if holder is not None else None
        return [found] if found is not None and name_key(found.name) == name_key(mask) else []
    wanted = mask.casefold()
    host = HOST.casefold()
    matching = (
        c
        for other, c in world.clients.items()
        if c.name
        and seen(other)
        and any(
            roles.glob(wanted, field.casefold())
            for field in (c.name, c.user or c.name, host, c.realname or c.name)
        )
    )
    return heapq.nsmallest(most, matching, key=_name_order)


def person(world: World, client: Client) -> Person:
    """Who ``client`` is, as a detailed list (IRC's WHO) shows it."""
    account = world.registry.accounts.get(client.account) if client.account else None
    idle = int(max(0.0, world.now - client.last_input))
    return Person(
        client.name,
        client.user or client.name,
        client.realname or client.name,
        account.name if account is not None else "",
        idle,
        UserMode.BOT in client.modes,
    )


def _name_order(client: Client) -> str:
    return client.name.casefold()


LIST_MASKS_MAX = 8
"""Masks of one ``ListRooms`` tried (each way: ``masks``, ``not_masks``); more are
ignored. Each costs about a microsecond per room (``roles.glob``), rooms are at most
``Rules.max_rooms``, and the asker's flood tokens pace the lists: a list can never cost
more than eight looks at every room."""


def _matches(masks: tuple[str, ...], room: Room) -> bool:
    """Does one of ``masks`` (casefolded) match ``room``'s name?"""
    name = room.memory.name.casefold()
    return any(roles.glob(mask, name) for mask in masks)


def list_rooms(
    world: World, conn: ConnId, client: Client, intent: i.ListRooms, out: Outputs
) -> None:
    limit = LIST_MAX if intent.limit is None else max(0, min(intent.limit, LIST_MAX))
    order = lambda r: (-len(r.members), r.memory.name.casefold())  # noqa: E731
    masks = tuple(m.casefold() for m in intent.masks[:LIST_MASKS_MAX])
    candidates: list[Room] = []
    if intent.rooms:  # the rooms named (IRC's LIST #a,#b), as many as asked
        named = (world.rooms.get(name_key(n)) for n in intent.rooms[:LIST_MAX])
        candidates = list({id(r): r for r in named if r is not None}.values())
    elif not masks:
        candidates = list(world.rooms.values())
    if masks:  # the rooms a mask matches, with those named (both were asked for)
        chosen = {id(r) for r in candidates}
        everyone = world.rooms.values()
        candidates += [r for r in everyone if id(r) not in chosen and _matches(masks, r)]
    not_masks = tuple(m.casefold() for m in intent.not_masks[:LIST_MASKS_MAX])
    more, fewer = intent.more_than, intent.fewer_than
    # An empty room (only #lobby stays when empty) has nothing to show: a room exists
    # for those who list rooms while it has members, as an IRC channel does.
    shown = [
        r
        for r in candidates
        if r.members
        and roles.listed(client, r)
        and (more is None or len(r.members) > more)
        and (fewer is None or len(r.members) < fewer)
        and not (not_masks and _matches(not_masks, r))
    ]
    rooms = heapq.nsmallest(limit, shown, key=order)
    listed = tuple((r.memory.name, len(r.members)) for r in rooms)
    topics = tuple(r.memory.topic for r in rooms)
    out.reply(conn, RoomList(len(shown), listed, topics, intent.label))


# -- roles (the table and its check are roles.py's) -------------------------------------


def _role_target(
    world: World,
    conn: ConnId,
    client: Client,
    intent: i.SetRole | i.Kick,
    act: roles.Act,
    out: Outputs,
) -> tuple[Room, ConnId] | None:
    """The room of ``intent`` and the member it acts on, once every check has passed;
    else None, and the refusal is told."""
    room = member_room(world, conn, client, intent.room, out)
    if room is None:
        return None
    target = world.names.get(look(intent.name))
    problem = roles.refusal(world, conn, client, room, act)
    if problem is None:
        if target is None:
            problem = Refused(Problem.NO_SUCH_USER, name=intent.name[:NAME_MAX])
        elif target not in room.members:
            shown = world.clients[target].name
            problem = Refused(Problem.USER_NOT_IN_ROOM, name=shown, room=room.memory.name)
    if problem is not None:
        out.reply(conn, problem)
        return None
    assert target is not None  # no problem: it was found
    return room, target


def set_role(world: World, conn: ConnId, client: Client, intent: i.SetRole, out: Outputs) -> None:
    acted = _role_target(world, conn, client, intent, roles.ACTS[(intent.role, intent.on)], out)
    if acted is None:
        return
    room, target = acted
    holders = room.roles[intent.role]
    if (target in holders) == intent.on:
        return  # roles.py's rule 4: nothing changes, nobody is told
    if intent.on:
        holders.add(target)
    else:
        holders.discard(target)
    name = room.memory.name
    changed = RoleChanged(
        name, world.clients[target].name, intent.role, intent.on, client.name, client.user
    )
    out.broadcast(name, changed, exclude=None)


def show_modes(
    world: World, conn: ConnId, client: Client, intent: i.ShowModes, out: Outputs
) -> None:
    """Anyone may see an existing room's modes, as IRC shows them, except a secret
    room's to those not in it (to them it does not exist)."""
    room = _visible_room(world, conn, client, intent.room, out)
    if room is None:
        return
    member = name_key(room.memory.name) in client.rooms  # only members are told the key
    key = room.key if member and Mode.KEY in room.modes else ""
    limit = room.limit if Mode.LIMIT in room.modes else 0
    modes = frozenset(room.modes)
    out.reply(conn, Modes(room.memory.name, modes, key, limit, intent.label, room.created))


def _visible_room(
    world: World, conn: ConnId, client: Client, name: str, out: Outputs
) -> Room | None:
    """The room ``name`` if it exists and ``client`` may see it (a secret one only its
    members); else None, and says why."""
    problem = check_room(name)
    room = world.rooms.get(name_key(name))
    if problem is None and (room is None or not roles.listed(client, room)):
        problem = Refused(Problem.NO_SUCH_ROOM, room=name)
    if problem is not None:
        out.reply(conn, problem)
        return None
    return room


def set_mode(world: World, conn: ConnId, client: Client, intent: i.SetMode, out: Outputs) -> None:
    room = acting_room(world, conn, client, intent.room, roles.Act.MODE, out)
    if room is None:
        return
    name, mode, value = room.memory.name, intent.mode, ""
    problem = None
    if intent.on and mode in roles.OPEN_MODES and name_key(name) == name_key(LOBBY):
        problem = Refused(Problem.LOBBY_OPEN, name=mode.value, room=name)
    elif intent.on and mode is Mode.KEY:
        if mode in room.modes:  # IRC 467: take the old key away first
            problem = Refused(Problem.KEY_SET, room=name)
        elif not _KEY.fullmatch(intent.key):
            problem = Refused(Problem.BAD_MODE_VALUE, name=mode.value, room=name, limit=KEY_MAX)
        else:
            room.key = value = intent.key
    elif intent.on and mode is Mode.LIMIT:
        if not 1 <= intent.limit <= LIMIT_MAX:
            problem = Refused(Problem.BAD_MODE_VALUE, name=mode.value, room=name, limit=LIMIT_MAX)
        else:
            if room.limit != intent.limit:  # a new limit is a change even while +l
                room.modes.discard(mode)
            room.limit, value = intent.limit, str(intent.limit)
    if problem is not None:
        out.reply(conn, problem)
        return
    if (mode in room.modes) == intent.on:
        return  # roles.py's rule 6: nothing changes, nobody is told
    if intent.on:
        room.modes.add(mode)
    else:
        room.modes.discard(mode)
    changed = ModeChanged(name, mode, intent.on, client.name, value, client.user)
    out.broadcast(name, changed, exclude=None)
    registered.keep(world, room, out)


def invite(world: World, conn: ConnId, client: Client, intent: i.Invite, out: Outputs) -> None:
    room = acting_room(world, conn, client, intent.room, roles.Act.INVITE, out)
    if room is None:
        return
    target = world.names.get(look(intent.name))
    name = room.memory.name
    if target is None:
        out.reply(conn, Refused(Problem.NO_SUCH_USER, name=intent.name[:NAME_MAX]))
        return
    invited = world.clients[target]
    if target in room.members:
        out.reply(conn, Refused(Problem.ALREADY_IN_ROOM, name=invited.name, room=name))
        return
    roles.invite(world, room, target)
    out.reply(target, Invitation(name, client.name, client.user))
    out.reply(conn, InviteSent(name, invited.name))
    for operator in room.roles[Role.OPERATOR]:  # the others who run the room are told
        if operator != conn:
            out.reply(operator, Invited(name, client.name, invited.name, client.user))


def kick(world: World, conn: ConnId, client: Client, intent: i.Kick, out: Outputs) -> None:
    acted = _role_target(world, conn, client, intent, roles.Act.KICK, out)
    if acted is not None:
        _put_out(world, conn, client, *acted, intent.reason, out)


def _put_out(
    world: World, conn: ConnId, client: Client, room: Room, target: ConnId, said: str, out: Outputs
) -> None:
    """``conn`` (``client``) puts its fellow member ``target`` out of ``room``, telling
    ``said`` as the reason (roles.py's rule 5)."""
    kicked = world.clients[target]
    key, name = name_key(room.memory.name), room.memory.name
    always = kicked.lobby is i.Lobby.ALWAYS  # never in no room (roles.py's rule 5)
    if always and kicked.rooms == [key] and key == name_key(LOBBY):
        out.reply(conn, Refused(Problem.KICK_LAST_ROOM, name=kicked.name, room=name))
        return
    reason = said[:REASON_MAX]
    kicked.rooms.remove(key)
    room.unseat(target, kicked.name)
    room.told_alone = False
    out.add(Unsubscribe(target, name))
    out.broadcast(name, Kicked(name, kicked.name, client.name, reason, client.user), target)
    world.record(out, Kind.LEFT, name, kicked.name, Reason.KICKED.value)
    if always and not kicked.rooms:
        enter(world, target, kicked, LOBBY, out, placed=True)
    still = tuple(world.rooms[k].memory.name for k in kicked.rooms)
    out.reply(target, RoomLeft(name, still, by=client.name, reason=reason, by_user=client.user))
    world.maybe_forget(key)


# -- bans (roles.py's rules 10-12) --------------------------------------------------------


def ban(world: World, conn: ConnId, client: Client, intent: i.BanFromRoom, out: Outputs) -> None:
    """Ban ``intent.target`` from the room, telling its members as a mode change is; a
    kick-ban then puts out the members it names (but the operator itself and admins)."""
    room = acting_room(world, conn, client, intent.room, roles.Act.BAN, out)
    if room is None:
        return
    made = roles.make_ban(world, intent.target, client.name, intent.reason[:REASON_MAX])
    if isinstance(made, Refused):
        out.reply(conn, made)
        return
    new = roles.ban_key(made) not in room.bans
    problem = roles.ban(world, room, made)
    if problem is not None:
        out.reply(conn, problem)
        return
    name = room.memory.name
    if new:  # a ban it holds already changes nothing and tells no one (as rule 4)
        out.broadcast(name, BanChanged(name, made, True, client.name, client.user), exclude=None)
        registered.keep(world, room, out)
    if intent.kick:
        for member in list(room.members):
            other = world.clients[member]
            if member != conn and not world.is_admin(other) and roles.matches(made, other):
                _put_out(world, conn, client, room, member, intent.reason, out)


def unban(
    world: World, conn: ConnId, client: Client, intent: i.UnbanFromRoom, out: Outputs
) -> None:
    room = acting_room(world, conn, client, intent.room, roles.Act.UNBAN, out)
    if room is None:
        return
    key = roles.find_ban(room, intent.target)
    name = room.memory.name
    if key is None:
        shown = words.line(intent.target)[: roles.MASK_MAX]
        out.reply(conn, Refused(Problem.ROOM_NO_BAN, name=shown, room=name))
        return
    lifted = roles.unban(world, room, key)
    out.broadcast(name, BanChanged(name, lifted, False, client.name, client.user), exclude=None)
    registered.keep(world, room, out)


def show_invitations(
    world: World, conn: ConnId, client: Client, intent: i.ShowInvitations, out: Outputs
) -> None:
    out.reply(conn, Invitations(tuple(roles.invitations(world, conn))))


def show_bans(world: World, conn: ConnId, client: Client, intent: i.ShowBans, out: Outputs) -> None:
    """Anyone who may see a room may see its bans (as InspIRCd lets IRC's ``MODE #r b``)."""
    room = _visible_room(world, conn, client, intent.room, out)
    if room is not None:
        out.reply(conn, BanList(room.memory.name, tuple(room.bans.values())))
