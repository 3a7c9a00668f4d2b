"""People on other nodes, as the rules see them: mirrored here as clients that stay REMOTE.

Theory of operation. With several nodes (``--redis``) each node runs the rules for its own
connections only. What the other nodes need to know of a connection with a name is its
``Profile``: its name, account, whether it is away, the rooms it is in. Its node
publishes the profile whenever it changes, with the news that changed it (a join, a
leave, a rename, a quit, being away) exactly as the rules made that news there
(``profile``). Every other node mirrors the person as a ``Client`` in the REMOTE phase,
under a connection id of its own (nodes/peers.py gives it; never one of a local
connection), so that every rule that counts, lists, finds or addresses people (``/users``,
``/rooms``, NAMES, WHOIS, ``/msg``, a name already taken) sees them as it sees the local
ones; and ``apply`` tells the news to the local members it concerns. A room's lines,
topics and role changes are told as they were said there (``heard``).

Rules:

1. A mirror changes only through ``apply``, from what its node published; its node is the
   one authority on its state. News that came with a profile is told to the local members
   it concerns once (rooms as ``World.tell_peers`` does), then the mirror is made to
   match the profile (what a node that joined later, or missed a message, could not
   have seen told: it is put right without being told).
2. A quit (``Left`` without a room, or no profile) ends the mirror as a local
   disconnection ends a client (``World.release``): its rooms told once, its name free.
3. A mirror's name is never taken from a local person: if one holds it (the lease that
   keeps names unique across nodes failed), the mirror stays without a name, and
   ``apply`` returns False for the caller to log.
4. ``heard`` keeps a room's conversation in its memory as local lines are kept, so a
   local member who joins later sees it, and tells the room's local members.
5. How a room is run (its roles, modes and bans) changes where an operator changes it;
   the other nodes that hear the room apply the change as they tell it (``heard``), so
   their own checks (who may talk, join, set the topic) follow it.
6. What a local rule does to a mirror (a kick, a kill) is done by the mirror's own node,
   told by the outputs addressed to the mirror (nodes/peers.py forwards them): ``put_out``
   and ``ended`` carry them out there, on the real connection, telling its local rooms
   nothing more (the node that acted told every node's members).
7. A room this node does not hear (no local member is in it) is run as Redis keeps it
   for every node (nodes/peers.py's room state): when a local person joins it, its
   modes, bans, members' roles and invitations are read and replace what is known here
   before the join is checked (``shared``), and whether the joiner founds it (is its
   operator: roles.py's rule 1) is decided there, once for every node. An invitation
   made elsewhere for a local person is kept here as a local one is (``invited``).

This module never imports trio and never awaits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs

from chat_trio.chat import presence, roles, rooms
from chat_trio.chat.events import (
    CONVERSATION,
    AccountChanged,
    Action,
    Away,
    BanChanged,
    ConnId,
    Entry,
    Event,
    Invitation,
    Joined,
    Kicked,
    Kind,
    Left,
    Missed,
    Mode,
    ModeChanged,
    NickChanged,
    Reason,
    Redacted,
    Role,
    RoleChanged,
    RoomLeft,
    Said,
    TopicChanged,
    Unreachable,
    UserMode,
)
from chat_trio.chat.intents import Lobby
from chat_trio.chat.outputs import Outputs, Unsubscribe
from chat_trio.chat.state import Phase, Step
from chat_trio.chat.vocabulary import LOBBY, look, name_key
from chat_trio.chat.world import Client, Room, World


@attrs.frozen
class Profile:
    """What other nodes know of a connection with a name (published by its node)."""

    name: str
    rooms: tuple[str, ...]  #: the rooms it is in, as spelled, in the order joined
    user: str = ""  #: IRC's ``USER`` username ("": the name stands for it)
    realname: str = ""  #: IRC's real name ("": the name stands for it)
    account: str = ""  #: name_key of the account it is logged in to ("": a guest)
    away: str = ""  #: why it is away ("": it is not)
    since: float = 0.0  #: when it connected (Unix time), for /whois
    modes: tuple[str, ...] = ()  #: its user modes' values (``UserMode``), sorted
    #: its account's id (its private messages are stored under it: messages.py)
    account_id: str = ""
    #: its IP address, which an admin's ``/ban`` of a guest bans on every node
    #: (moderation.py); the nodes trust each other with it (docs/security.md)
    address: str = ""


@attrs.frozen
class RoomState:
    """How a room is run, as Redis keeps it for every node (rule 7), read when a local
    person joins a room this node does not hear."""

    #: nobody is in the room on any node: the joiner founds it (roles.py's rule 1); False:
    #: someone is, and the join is checked against what follows
    founds: bool
    #: its modes and bans, each as the change that set it (``ModeChanged``, ``BanChanged``)
    changes: tuple[Event, ...] = ()
    #: its members that Redis knows of (by connection here), and the roles each holds; of
    #: the others (their join not yet kept there), what this node knows is kept
    members: tuple[tuple[ConnId, frozenset[Role]], ...] = ()
    #: local people invited to it, and until when (Unix time)
    invited: tuple[tuple[ConnId, float], ...] = ()


def profile(world: World, conn: ConnId) -> Profile | None:
    """What other nodes should know of the local connection ``conn`` now (None: it has no
    name, or is gone)."""
    client = world.clients.get(conn)
    if client is None or not client.name or client.phase is Phase.REMOTE:
        return None
    return Profile(
        client.name,
        tuple(world.rooms[key].memory.name for key in client.rooms),
        client.user,
        client.realname,
        client.account,
        client.away,
        client.since,
        tuple(sorted(mode.value for mode in client.modes)),
        client.account_id,
        client.address,
    )


def apply(
    world: World,
    mirror: ConnId,
    news: tuple[Event, ...],
    now: Profile | None,
    reason: Reason,
    out: Outputs,
) -> bool:
    """A remote person's node published ``news`` and ``now`` (None: it is gone, for
    ``reason``): tell the local members it concerns (rule 1) and make the mirror
    ``mirror`` match. Returns False if its name is held here by a local person (rule 3)."""
    client = world.clients.get(mirror)
    if client is None:
        if now is None:
            return True
        client = world.clients[mirror] = Client(
            deadline=math.inf, since=now.since, last_input=world.now, phase=Phase.REMOTE,
            lobby=Lobby.NEVER,  # (its own node puts it back in #lobby: rule 6)
        )  # fmt: skip
    if now is not None and not client.name and not _name(world, mirror, client, now.name, out):
        return False  # rule 3
    for event in news:
        _tell(world, mirror, client, event, out)
        if mirror not in world.clients:  # it quit
            return True
    if now is None:
        _quit(world, mirror, client, reason, "", out)
        return True
    return _match(world, mirror, client, now, out)


def forget_node(world: World, mirrors: list[ConnId], out: Outputs) -> None:
    """The node of ``mirrors`` is gone (it stopped, or died): each of its people quits,
    as a connection that was lost does (``Reason.LOST``)."""
    for mirror in mirrors:
        if (client := world.clients.get(mirror)) is not None:
            _quit(world, mirror, client, Reason.LOST, "", out)


def heard(world: World, room: str, events: tuple[Event, ...], at: float, out: Outputs) -> None:
    """A room's events from another node (lines, topics, role and mode changes): keep its
    conversation and topic as local ones are kept (rule 4) and tell its local members."""
    key = name_key(room)
    joined = world.rooms.get(key)
    if joined is None:
        return
    memory = joined.memory
    for event in events:
        if isinstance(event, Said | Action):
            kind = Kind.ACTION if isinstance(event, Action) else Kind.SAID
            if kind in CONVERSATION and not getattr(event, "notice", False):
                memory.recent.append(
                    Entry(at, kind, memory.name, event.name, event.text, account=event.account,
                          id=event.id)
                )  # fmt: skip
        elif isinstance(event, TopicChanged):
            memory.topic, memory.topic_by, memory.topic_at = event.text, event.name, at
        elif isinstance(event, Redacted):  # (deleted there: gone from memory here too)
            kept = [entry for entry in memory.recent if entry.id != event.id]
            memory.recent.clear()
            memory.recent.extend(kept)
        else:
            _run(world, joined, event)
    for event in events:
        kicked = world.names.get(look(event.name)) if isinstance(event, Kicked) else None
        out.broadcast(memory.name, event, kicked)  # (the kicked is told by ``put_out``)


def shared(world: World, name: str, state: RoomState) -> None:
    """Rule 7: the room ``name`` is run as ``state`` says, unless a local member is in it
    (what this node heard is then as new as what Redis keeps)."""
    room = world.rooms.get(name_key(name))
    if room is not None and room.current:
        return
    if room is None:
        if not (state.changes or state.members or state.invited):
            return  # (a room nobody runs: as a new one)
        room = _room(world, name)
    room.modes.clear()
    room.key, room.limit = "", 0
    if room.bans:
        room.bans.clear()
        room.bans_version = world.next_bans_version()
    for event in state.changes:
        _run(world, room, event)
    known = dict(state.members)
    for role, holders in room.roles.items():
        holders.difference_update([c for c in holders if c in known and role not in known[c]])
        holders.update(c for c, held in known.items() if role in held and c in room.members)
    for conn, until in state.invited:
        if conn in world.clients:
            room.invited[conn] = world.now + (until - world.clock())


def invited(world: World, conn: ConnId, invitation: Invitation) -> None:
    """An operator on another node invited the local ``conn`` (rule 7): it may join past
    the room's modes here too."""
    room = world.rooms.get(name_key(invitation.room))
    if room is not None and conn in world.clients:
        roles.invite(world, room, conn)


def unreachable(world: World, out: Outputs) -> None:
    """The other nodes are out of reach: tell each local person who shares a room with
    people elsewhere, once (in the first such room: ``World.tell_peers``' way)."""
    _tell_shared(world, Unreachable, out)


def restored(world: World, seconds: float, out: Outputs) -> None:
    """Contact came back after ``seconds``: what was said elsewhere meanwhile (and here:
    a post Redis did not take) did not cross. Tell whom ``unreachable`` told."""
    _tell_shared(world, lambda room: Missed(room, seconds), out)


def missed(world: World, rooms: list[str], seconds: float, out: Outputs) -> None:
    """Messages from elsewhere in ``rooms`` (keys) were found missing by their numbers
    (``seconds``: how long contact was lost before, 0 if it was not): tell their local
    members."""
    for key in rooms:
        room = world.rooms.get(name_key(key))
        if room is not None and room.local:
            out.broadcast(room.memory.name, Missed(room.memory.name, seconds), None)


def _tell_shared(world: World, notice: Callable[[str], Event], out: Outputs) -> None:
    told: set[ConnId] = set()
    for room in list(world.rooms.values()):
        if 0 < room.local < len(room.members):
            here = {conn for conn in room.members if conn > 0}
            if here - told:
                name = room.memory.name
                out.broadcast(name, notice(name), None, frozenset(told & here))
                told |= here


# -- what another node did to a local person ---------------------------------------------


def put_out(world: World, conn: ConnId, left: RoomLeft, out: Outputs) -> None:
    """An operator on another node put the local ``conn`` out of ``left.room`` (rule 6:
    its members were told there, and their nodes tell theirs): it leaves the room as a
    kicked member leaves (rooms.py), and is told so (``left``, as that node made it)."""
    client = world.clients.get(conn)
    key = name_key(left.room)
    if client is None or client.phase is Phase.REMOTE or key not in client.rooms:
        return
    room = world.rooms[key]
    client.rooms.remove(key)
    room.unseat(conn, client.name)
    room.told_alone = False
    out.add(Unsubscribe(conn, room.memory.name))
    if client.lobby is Lobby.ALWAYS and not client.rooms:
        rooms.enter(world, conn, client, LOBBY, out, placed=True)
    still = tuple(world.rooms[k].memory.name for k in client.rooms)
    out.reply(conn, attrs.evolve(left, rooms=still))
    world.maybe_forget(key)


def ended(world: World, conn: ConnId, reason: Reason, text: str, out: Outputs) -> None:
    """Another node ended the local ``conn`` (an admin's kill or ban there, or its account
    logged in there: moderation.py's ``throw_out`` of a mirror), for ``reason``, saying
    ``text`` (it was told why by that node)."""
    client = world.clients.get(conn)
    if client is None or client.phase in (Phase.CLOSING, Phase.REMOTE):
        return
    client.step(Step.END)
    client.parting = text
    out.close(conn, reason)


def _run(world: World, room: Room, event: Event) -> None:
    """Rule 5: how the room is run changed elsewhere (a role, a mode, a ban): here too."""
    if isinstance(event, RoleChanged):
        holder = world.names.get(look(event.name))
        if holder is not None and holder in room.members:
            holders = room.roles[event.role]
            holders.add(holder) if event.on else holders.discard(holder)
    elif isinstance(event, ModeChanged):
        if not event.on:
            room.modes.discard(event.mode)
            return
        room.modes.add(event.mode)
        if event.mode is Mode.KEY:
            room.key = event.value
        elif event.mode is Mode.LIMIT and event.value.isascii() and event.value.isdigit():
            room.limit = int(event.value)
    elif isinstance(event, BanChanged):
        key = roles.ban_key(event.ban)
        if event.on:
            roles.ban(world, room, event.ban)  # (full: as there, refused)
        elif key in room.bans:
            roles.unban(world, room, key)


# -- telling the news, and matching the profile ------------------------------------------


def _tell(world: World, mirror: ConnId, client: Client, event: Event, out: Outputs) -> None:
    if isinstance(event, Joined):  # (no room: the first name's #lobby, names.py)
        where = event.room or LOBBY
        if client.name and name_key(where) not in client.rooms:
            room = _seat(world, mirror, client, where)
            if event.operator:  # (it made the room: roles.py's rule 1)
                room.roles[Role.OPERATOR].add(mirror)
            out.broadcast(room.memory.name, event, mirror)
    elif isinstance(event, Left | Kicked) and event.room:
        key = name_key(event.room)
        if key in client.rooms:
            room = world.rooms[key]
            _unseat(world, mirror, client, key)
            out.broadcast(room.memory.name, event, mirror)
    elif isinstance(event, Left):
        _quit(world, mirror, client, event.reason, event.text, out)
    elif isinstance(event, NickChanged):
        if client.name and look(event.new) != look(client.name) and look(event.new) in world.names:
            return  # (rule 3: left to _match, which keeps the mirror nameless)
        if client.name:
            _rename(world, mirror, client, event.new)
            world.tell_peers(mirror, client, event, out)
            presence.renamed(world, mirror, client, event.old, out)
    elif isinstance(event, Away):
        _set_away(world, client, event.text)
        world.tell_peers(mirror, client, event, out)
    elif isinstance(event, AccountChanged):
        client.account = name_key(event.account) if event.account else ""
        world.tell_peers(mirror, client, event, out)


def _match(world: World, mirror: ConnId, client: Client, now: Profile, out: Outputs) -> bool:
    """Make the mirror what its node says it is, telling nobody (rule 1)."""
    if look(now.name) != look(client.name) or now.name != client.name:
        holder = world.names.get(look(now.name))
        if holder is not None and holder != mirror:
            _unname(world, mirror, client)
            return False  # rule 3
        if client.name:
            old = client.name
            _rename(world, mirror, client, now.name)
            presence.renamed(world, mirror, client, old, out)  # (MONITOR, and WHOWAS)
        else:
            _name(world, mirror, client, now.name, out)
    client.user, client.realname, client.address = now.user, now.realname, now.address
    if (client.account, client.account_id) != (now.account, now.account_id):
        world.identify_account(mirror, client, now.account, now.account_id)
    _set_away(world, client, now.away)
    modes = frozenset(UserMode(value) for value in now.modes if value in _MODES)
    if (UserMode.INVISIBLE in modes) != (UserMode.INVISIBLE in client.modes):
        world.invisible += 1 if UserMode.INVISIBLE in modes else -1
    client.modes = modes
    wanted = [name_key(room) for room in now.rooms]
    for key in [key for key in client.rooms if key not in wanted]:
        _unseat(world, mirror, client, key)
    for room, key in zip(now.rooms, wanted, strict=True):
        if key not in client.rooms:
            _seat(world, mirror, client, room)
    return True


_MODES = frozenset(mode.value for mode in UserMode)


def _room(world: World, name: str) -> Room:
    """The room ``name``, made here if it is not (not heard until a local member joins)."""
    key = name_key(name)
    room = world.rooms.get(key)
    if room is None:
        memory = world.remembered.pop(key) if key in world.remembered else world.memory(name)
        room = world.rooms[key] = Room(memory, created=world.clock())
        room.current = False
    return room


def _seat(world: World, mirror: ConnId, client: Client, name: str) -> Room:
    key = name_key(name)
    room = _room(world, name)
    room.seat(mirror, client.name)
    room.told_alone = False
    client.rooms.append(key)
    return room


def _unseat(world: World, mirror: ConnId, client: Client, key: str) -> None:
    room = world.rooms[key]
    client.rooms.remove(key)
    room.unseat(mirror, client.name)
    room.told_alone = False
    world.maybe_forget(key)


def _name(world: World, mirror: ConnId, client: Client, name: str, out: Outputs) -> bool:
    """The mirror takes its first name, unless a local person holds it (rule 3)."""
    holder = world.names.get(look(name))
    if holder is not None and holder != mirror:
        return False
    client.name = name
    world.names[look(name)] = mirror
    presence.arrived(world, mirror, client, out)
    return True


def _rename(world: World, mirror: ConnId, client: Client, new: str) -> None:
    del world.names[look(client.name)]
    world.names[look(new)] = mirror
    for key in client.rooms:
        world.rooms[key].rename(mirror, client.name, new)
    client.name = new


def _unname(world: World, mirror: ConnId, client: Client) -> None:
    """Rule 3: a mirror whose name is held here keeps no name and sits in no room."""
    for key in list(client.rooms):
        _unseat(world, mirror, client, key)
    if client.name and world.names.get(look(client.name)) == mirror:
        del world.names[look(client.name)]
    client.name = ""
    _set_away(world, client, "")  # (counted only for people with a name)
    if UserMode.INVISIBLE in client.modes:
        world.invisible -= 1
    client.modes = frozenset()


def _set_away(world: World, client: Client, text: str) -> None:
    if bool(client.away) != bool(text):
        world.away += 1 if text else -1
    client.away = text


def _quit(
    world: World, mirror: ConnId, client: Client, reason: Reason, text: str, out: Outputs
) -> None:
    del world.clients[mirror]
    if client.name and world.names.get(look(client.name)) != mirror:
        client.name, client.rooms = "", []  # (rule 3: its name was never ours to free)
    client.parting = text
    world.release(mirror, client, reason, out)
    world.identify_account(mirror, client, "", "")
