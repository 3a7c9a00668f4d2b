"""Messages: lines said in rooms, private messages, and what is asked of history and people.

Rules:

1. A line said in a room goes to every other member, never back to its sender, and into
   the room's history (and its recent memory, replayed to whoever joins next).
2. A private message reaches its receiver and is confirmed to its sender; both are told
   the other's name as it is now. It is recorded with both names, and whose it is: both
   connections (``World.session``) and both accounts' ids.
3. Asking for history is a query of storage (``QueryHistory``): the last ``limit`` lines
   of a room one is in, at most ``HISTORY_MAX``; or one's private messages with someone,
   found by identity, never by a name that someone else may hold next: this
   connection's, and all of its account's. The same bounds (before, after or around a
   time or a message id) apply to both.
4. A notice (``notice``, IRC's NOTICE) is a message like the others, with an id, stored
   (a room's as ``Kind.NOTICE``; a private one with the private messages, as ``Kind.PRIVATE``,
   so that a conversation with someone reads back whole), but nothing answers it
   automatically: no away message goes back to its sender, no "nobody else is here". Who
   typed it may still be refused (no such user); IRC's door drops those refusals itself.
5. Client tags without text (``SendTags``, IRC's TAGMSG: typing notifications,
   reactions) go where a line would (the members of a room one may talk in, or a user),
   with an id and back to the sender, but are never stored and never answered
   automatically; with no client tag at all, nothing happens.
6. A line to a room's operators (``Say.to``, IRC's ``PRIVMSG @#room``; ``VOICE``: its
   voiced members and operators, ``+#room``) may be said by whoever may talk in the room
   (rule 1's checks), and reaches only the members who hold that role (or operator), as
   ``StatusMessage``, one copy each, and one back to its sender. Admins who do not hold
   the role are not reached: finding them would take a look at every member for every
   such line (12.7 ms a line in a room of 10,000, measured; a room line costs 6 µs), work
   that one flood token would not pay for. It is **not stored**: history is what the
   whole room saw, and replaying it to whoever joins or asks for history would tell
   everyone what was meant for a few.
7. A message is deleted (``Redact``) by its author (found by identity: the connection
   that sent it, or its account, never its name) or, in a room, by the room's
   operators and admins; nobody else, and only a room one is in or one's own
   conversation. Who may not, or names a message the target never had, is told, and
   nothing happens. It is deleted from storage (``FindMessage``, then ``Forget``) and
   from the room's recent memory, and ``Redacted`` goes to the room's members (the
   deleter too), or to both people of the conversation. Without storage only a room's
   recent memory holds messages. What is not stored (``SendTags``) cannot be deleted.

This module never imports trio and never awaits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from chat_trio.chat import intents as i
from chat_trio.chat import roles
from chat_trio.chat.events import (
    Action,
    Away,
    ConnId,
    Entry,
    Kind,
    Private,
    RealnameChanged,
    Redacted,
    Refused,
    Role,
    Said,
    StatusMessage,
    Tagged,
    Unheard,
    UserMode,
    Whois,
)
from chat_trio.chat.names import check_name
from chat_trio.chat.outputs import FindMessage, Forget, Outputs, QueryHistory, QueryTargets
from chat_trio.chat.problems import Problem
from chat_trio.chat.rooms import check_room, person, spelled
from chat_trio.chat.vocabulary import (
    AWAY_MAX,
    HISTORY_MAX,
    NAME_MAX,
    REALNAME_MAX,
    REASON_MAX,
    ROOM_MAX,
    look,
    name_key,
)
from chat_trio.chat.world import Client, Room, World

HISTORY_DEFAULT = 20  #: lines when none are asked for and ``Rules.history_lines`` is 0
HISTORY_TEXT_MAX = 12 * 1024
"""Characters of text one history answer holds at most (the newest lines that fit; about
200 ordinary lines): with lines of up to 2,048 bytes, 500 of them would be a megabyte,
ten times a send queue. Like every answer, it stays below a quarter of the default
send-queue bound once rendered (see ``vocabulary.LIST_MAX``)."""


def fit(entries: Sequence[Entry]) -> tuple[Entry, ...]:
    """The newest of ``entries`` (oldest first) whose text fits ``HISTORY_TEXT_MAX``."""
    total, start = 0, len(entries)
    while start > 0 and total + len(entries[start - 1].text) <= HISTORY_TEXT_MAX:
        start -= 1
        total += len(entries[start].text)
    return tuple(entries[start:])


def talking_in(world: World, conn: ConnId, client: Client, name: str, out: Outputs) -> Room | None:
    """The room ``name``, if ``client`` may talk in it; else None, and why is told."""
    key = name_key(name)
    if key not in client.rooms:  # not a member (or not a room): say why
        out.reply(conn, check_room(name) or Refused(Problem.CANNOT_SEND, room=name))
        return None
    room = world.rooms[key]
    unheard = roles.may_talk(world, conn, client, room)
    if unheard is not None:
        out.reply(conn, unheard)
        return None
    return room


def say(world: World, conn: ConnId, client: Client, intent: i.Say, out: Outputs) -> None:
    if not intent.text.strip():  # only spaces, or only what words.line removed
        out.reply(conn, Refused(Problem.NO_TEXT))
        return
    room = talking_in(world, conn, client, intent.room, out)
    if room is None:
        return
    if intent.to is not None:
        _to_status(world, conn, client, room, intent, intent.to, out)
        return
    memory = room.memory
    if len(room.members) == 1 and not room.told_alone and not intent.notice:
        room.told_alone = True
        out.reply(conn, Unheard(memory.name))
    account = world.account_name(client) if client.account else ""
    kind = Kind.ACTION if intent.action else Kind.NOTICE if intent.notice else Kind.SAID
    by = (world.session(conn), client.account_id)
    entry = world.record(out, kind, memory.name, client.name, intent.text, by=by)
    memory.recent.append(entry)
    bot = UserMode.BOT in client.modes
    if intent.action:
        event: Said | Action = Action(
            client.name, intent.text, account, entry.id, client.user, intent.tags, bot
        )
    else:
        event = Said(
            client.name, intent.text, account, entry.id, intent.notice, client.user, intent.tags,
            bot,
        )  # fmt: skip
    out.broadcast(memory.name, event, exclude=conn)
    out.confirm(conn, entry)


def _to_status(
    world: World, conn: ConnId, client: Client, room: Room, intent: i.Say, to: Role, out: Outputs
) -> None:
    """Rule 6: ``intent`` to those members of ``room`` who hold ``to`` (or more)."""
    said = StatusMessage(
        room.memory.name, to, client.name, intent.text, intent.action, intent.notice,
        world.account_name(client) if client.account else "", world.message_id(),
        user=client.user, tags=intent.tags, bot=UserMode.BOT in client.modes,
    )  # fmt: skip
    holders = room.roles[Role.OPERATOR]
    if to is Role.VOICE:
        holders = holders | room.roles[Role.VOICE]
    for member in holders:  # (a member's roles end with its membership: roles.py rule 9)
        if member != conn:
            out.reply(member, said)
    out.reply(conn, attrs.evolve(said, own=True))


def send_private(
    world: World, conn: ConnId, client: Client, intent: i.SendPrivate, out: Outputs
) -> None:
    target = world.names.get(look(intent.name))
    if target is None:
        out.reply(conn, Refused(Problem.NO_SUCH_RECIPIENT, name=intent.name[:NAME_MAX]))
        return
    if not intent.text.strip():
        out.reply(conn, Refused(Problem.NO_TEXT))
        return
    receiver = world.clients[target]
    peer = receiver.name
    text, action, notice, id = intent.text, intent.action, intent.notice, world.message_id()
    away = "" if notice else receiver.away  # Rule 4: a notice is never answered automatically
    tags, when, account = intent.tags, world.clock(), world.account_name(client)
    bot = UserMode.BOT in client.modes
    sent = Private(
        client.name, text, True, action, "", id, notice, client.user, tags, when, account, bot
    )
    out.reply(target, sent)
    out.reply(conn, attrs.evolve(sent, peer=peer, incoming=False, away=away, user=receiver.user))
    said = f"* {client.name} {text}" if action else text
    out.record(
        Entry(when, Kind.PRIVATE, "", client.name, said, peer, world.session(conn),
              world.session(target), client.account_id, receiver.account_id, id)
    )  # fmt: skip


def send_tags(world: World, conn: ConnId, client: Client, intent: i.SendTags, out: Outputs) -> None:
    if not intent.tags:  # (only the server's tags, or none: nothing to carry)
        return
    account = world.account_name(client) if client.account else ""
    bot = UserMode.BOT in client.modes
    if intent.target.startswith("#"):
        room = talking_in(world, conn, client, intent.target, out)
        if room is None:
            return
        name = room.memory.name
        tagged = Tagged(
            client.name, name, intent.tags, account, world.message_id(), user=client.user, bot=bot
        )
        out.broadcast(name, tagged, exclude=conn)
        out.reply(conn, attrs.evolve(tagged, own=True))
        return
    target = world.names.get(look(intent.target))
    if target is None:
        out.reply(conn, Refused(Problem.NO_SUCH_RECIPIENT, name=intent.target[:NAME_MAX]))
        return
    peer = world.clients[target].name
    tagged = Tagged(
        client.name, peer, intent.tags, account, world.message_id(), user=client.user, bot=bot
    )
    out.reply(target, tagged)
    out.reply(conn, attrs.evolve(tagged, own=True))


def look_up(world: World, conn: ConnId, client: Client, intent: i.LookUp, out: Outputs) -> None:
    target = conn if intent.name is None else world.names.get(look(intent.name))
    if target is None:
        out.reply(conn, Refused(Problem.NO_SUCH_USER, name=(intent.name or "")[:NAME_MAX]))
        return
    who = world.clients[target]
    rooms = tuple(world.rooms[k].memory.name for k in who.rooms)
    operator, voiced = (
        frozenset(
            world.rooms[k].memory.name for k in who.rooms if target in world.rooms[k].roles[r]
        )
        for r in (Role.OPERATOR, Role.VOICE)
    )  # (IRC's WHOIS shows them: @#rust)
    idle = max(0.0, world.now - who.last_input)
    seen = person(world, who)
    admin = world.is_admin(who)
    found = Whois(
        who.name, rooms, who.since, idle, seen.account, admin, intent.label, who.away,
        operator, voiced, seen.user, seen.realname, seen.bot,
    )  # fmt: skip
    out.reply(conn, found)


def set_away(world: World, conn: ConnId, client: Client, intent: i.SetAway, out: Outputs) -> None:
    if not intent.text and not client.away:  # nobody to tell of anything
        out.reply(conn, Refused(Problem.NOT_AWAY))
        return
    world.away += bool(intent.text) - bool(client.away)
    client.away = intent.text[:AWAY_MAX]
    event = Away(client.name, client.away, client.user)
    out.reply(conn, event)
    world.tell_peers(conn, client, event, out)


def set_realname(
    world: World, conn: ConnId, client: Client, intent: i.SetRealname, out: Outputs
) -> None:
    """A new real name (presence.py's rule 5): told once to the person, its rooms and its
    watchers."""
    if not intent.realname or len(intent.realname) > REALNAME_MAX:
        out.reply(conn, Refused(Problem.REALNAME_BAD, limit=REALNAME_MAX))
        return
    client.realname = intent.realname
    event = RealnameChanged(client.name, client.realname, client.user)
    out.reply(conn, event)
    world.tell_peers(conn, client, event, out)


def _unreadable(world: World, limit: int | None) -> Refused | None:
    """Why history cannot be read ``limit`` lines at a time (None: as many as a join
    shows), or None if it can."""
    if not world.stored:
        return Refused(Problem.HISTORY_OFF)
    if limit is not None and not 1 <= limit <= HISTORY_MAX:
        return Refused(Problem.HISTORY_RANGE, limit=HISTORY_MAX)
    return None


def read_history(
    world: World, conn: ConnId, client: Client, intent: i.ReadHistory, out: Outputs
) -> None:
    if (refused := _unreadable(world, intent.limit)) is not None:
        out.reply(conn, refused)
        return
    limit = intent.limit or world.rules.history_lines or HISTORY_DEFAULT
    if intent.peer:
        if check_name(intent.peer, frozenset(), unicode=True) is not None:
            out.reply(conn, Refused(Problem.NOT_A_NAME, name=intent.peer[:NAME_MAX]))
            return
        out.add(_conversation(world, conn, client, intent.peer, limit, **_bounds(intent)))
        return
    problem = check_room(intent.room)
    if problem is None and name_key(intent.room) not in client.rooms:
        problem = Refused(Problem.NOT_IN_ROOM, room=intent.room)  # a room's lines are its members'
    if problem is not None:
        out.reply(conn, problem)
        return
    room = spelled(world, intent.room)
    out.add(QueryHistory(conn, limit, room=room, **_bounds(intent)))


def _bounds(intent: i.ReadHistory) -> dict[str, Any]:
    """What bounds ``intent``'s query: the same for a room's history and a conversation's."""
    return {
        "before": intent.before, "after": intent.after, "around": intent.around,
        "before_id": intent.before_id, "after_id": intent.after_id,
        "around_id": intent.around_id, "newest": intent.newest,
    }  # fmt: skip


def _conversation(
    world: World, conn: ConnId, client: Client, peer_name: str, limit: int, **bounds: Any
) -> QueryHistory:
    """The query of ``conn``'s private messages with ``peer_name`` (a valid name), found
    by identity (rule 3)."""
    peer_key = name_key(peer_name)
    peer = world.names.get(look(peer_name))
    online = world.clients[peer] if peer is not None else None
    peer_account = online.account_id if online is not None else ""
    if not peer_account and (account := world.registry.accounts.get(peer_key)):
        peer_account = account.id
    return QueryHistory(
        conn, limit, peer=peer_name, session=world.session(conn),
        account=client.account_id, peer_key=peer_key,
        peer_session=world.session(peer) if peer is not None else "",
        peer_account=peer_account, **bounds,
    )  # fmt: skip


MESSAGE_ID_MAX = 64
"""Characters of a message id at most (ours are about 20): a longer one is no message,
and is not looked for."""


def redact(world: World, conn: ConnId, client: Client, intent: i.Redact, out: Outputs) -> None:
    """Rule 7: find the message (storage, or a room's recent memory), then ``found``."""
    target = intent.target
    if target.startswith("#"):
        key = name_key(target)
        if key not in client.rooms:  # not a member, or no such room: alike
            out.reply(conn, Refused(Problem.REDACT_TARGET, room=target[: ROOM_MAX + 1]))
            return
        memory = world.rooms[key].memory
        query = QueryHistory(conn, 1, room=memory.name, around_id=intent.id)
    elif check_name(target, frozenset(), unicode=True) is not None:
        out.reply(conn, Refused(Problem.REDACT_TARGET, room=target[:NAME_MAX]))
        return
    else:
        query = _conversation(world, conn, client, target, 1, around_id=intent.id)
    if len(intent.id) > MESSAGE_ID_MAX or not world.stored:
        recent = world.rooms[key].memory.recent if target.startswith("#") else ()
        entries = [e for e in recent if e.id == intent.id and len(intent.id) <= MESSAGE_ID_MAX]
        found(world, conn, client, FindMessage(conn, query, intent), entries, out)
        return
    out.add(FindMessage(conn, query, intent))


def found(
    world: World,
    conn: ConnId,
    client: Client,
    find: FindMessage,
    entries: Sequence[Entry] | None,
    out: Outputs,
) -> None:
    """Rule 7, once the message is found (``entries``: it alone, or none; None: storage
    could not answer): delete it if ``conn`` may."""
    intent, target = find.intent, find.intent.target
    shown_id = intent.id[:MESSAGE_ID_MAX]
    if entries is None:
        out.reply(conn, Refused(Problem.HISTORY_UNAVAILABLE))
        return
    entry = next((e for e in entries if e.id == intent.id), None)
    room = world.rooms.get(name_key(target)) if target.startswith("#") else None
    if target.startswith("#") and (room is None or name_key(target) not in client.rooms):
        out.reply(conn, Refused(Problem.REDACT_TARGET, room=target[: ROOM_MAX + 1]))
        return  # (left the room meanwhile)
    if entry is None or entry.kind not in (Kind.SAID, Kind.ACTION, Kind.NOTICE, Kind.PRIVATE):
        out.reply(conn, Refused(Problem.UNKNOWN_MESSAGE, room=target, name=shown_id))
        return
    own = entry.session == world.session(conn) or (
        bool(client.account_id) and entry.account == client.account_id
    )
    if not own and (room is None or not roles.is_operator(world, conn, client, room)):
        out.reply(conn, Refused(Problem.REDACT_FORBIDDEN, room=target, name=shown_id))
        return
    if world.stored:
        out.add(Forget(find.query))
    reason = intent.reason[:REASON_MAX]
    if room is not None:
        recent = room.memory.recent
        if any(e.id == entry.id for e in recent):
            kept = [e for e in recent if e.id != entry.id]
            recent.clear()
            recent.extend(kept)
        event = Redacted(client.name, room.memory.name, entry.id, reason, entry.name, client.user)
        out.broadcast(room.memory.name, event, exclude=None)
        return
    # Its receiver, by identity (the connection it reached, or its account's connections),
    # never whoever holds the name now: a stranger who took it learns nothing.
    holder = world.names.get(look(target))
    told = set(world.logged_in.get(entry.target_account, ())) if entry.target_account else set()
    if holder is not None and world.session(holder) == entry.target_session:
        told.add(holder)
    event = Redacted(client.name, target, entry.id, reason, entry.name, client.user)
    out.reply(conn, event)
    for peer in sorted(told - {conn}):
        out.reply(peer, event)


def read_targets(
    world: World, conn: ConnId, client: Client, intent: i.ReadTargets, out: Outputs
) -> None:
    """Rule 3, for where one has talked: the rooms one is in, one's own conversations."""
    if (refused := _unreadable(world, intent.limit)) is not None:
        out.reply(conn, refused)
        return
    rooms = tuple(world.rooms[key].memory.name for key in client.rooms)
    low, high = sorted((intent.after, intent.before))
    out.add(
        QueryTargets(conn, intent.limit, low, high, rooms, world.session(conn), client.account_id)
    )
