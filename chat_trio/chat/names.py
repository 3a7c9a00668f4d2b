"""Names: what a username may be, who holds which, choosing one and changing it.

Rules:

1. Usernames are 1-32 ASCII letters, digits, ``_`` or ``-``, starting with a letter
   (``Rules.unicode_names`` allows every script, look-alikes too). No two users online
   have names that look alike, whatever the case ("AIice", "A1ice" and "alice" are
   Alice's: ``vocabulary.look``), and nobody but its owner takes a name that looks like
   a registered one. A name is claimed in the same call that checks it (no await in
   between: two racing clients, exactly one wins). Reserved names and the network's
   service names (``NickServ`` ...) are refused. A rename follows the same rules, and is
   the same on every door.
2. A refused first name is explained and asked for again; the ``Rules.name_attempts``-th
   invalid one closes the connection. A name someone holds (online, registered, or
   looking like one of those) is not the typist's mistake and does not count, nor does
   an empty one: a person trying names that are taken is never shut out for it.
3. Where names are shared across nodes (``World.shared_names``: ``--redis``), a name that
   passes every check here is not taken at once unless this connection holds its
   look-alike key already (a change of case): ``claim`` asks the other nodes
   (``ClaimName``), the connection waits (CLAIMING, or BUSY for a rename), and ``claimed``
   takes it, checked here again, or refuses it as a name someone holds (``NAME_TAKEN``)
   or one that cannot be checked now (``NAMES_UNAVAILABLE``, said, uncounted). A name no
   longer used is let go (``ReleaseName``). The one way in stays ``claim``: choosing,
   renaming and a login's taking of its account's name all go through it.
4. Registering puts the user in ``#lobby``, without a join notice of its own: the others
   see ``Joined`` with no room, "joined the chat"; unless its door's intent said
   ``Lobby.NEVER`` (IRC without auto-join): then it is in no room until it joins one.

This module never imports trio and never awaits.
"""

from __future__ import annotations

import re
import unicodedata

import attrs

from chat_trio.chat import intents as i
from chat_trio.chat import presence, rooms
from chat_trio.chat.events import (
    AskName,
    ConnId,
    Kind,
    NickChanged,
    PastNames,
    Reason,
    Refused,
    WatchList,
    Welcome,
)
from chat_trio.chat.outputs import Claim, ClaimName, Outputs
from chat_trio.chat.problems import Problem
from chat_trio.chat.state import Phase, Step
from chat_trio.chat.vocabulary import LOBBY, NAME_MAX, SERVICES, look, name_key
from chat_trio.chat.world import DEFAULT_RESERVED_NAMES, Client, PendingName, World

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_SERVICE_LOOKS = frozenset(look(service) for service in SERVICES)


def check_name(
    name: str, reserved: frozenset[str] = DEFAULT_RESERVED_NAMES, *, unicode: bool = False
) -> Refused | None:
    """Return why ``name`` cannot be a username, or None if it can (uniqueness aside).

    ``unicode`` allows letters and digits of every script (pass the name NFC-normalised).

    .. warning:: Unicode names allow look-alikes (Latin "a" and Cyrillic "\\u0430" are different
       names that look the same), which is why they are off by default.
    """
    if not name:
        return Refused(Problem.NAME_EMPTY)
    if len(name) > NAME_MAX:
        return Refused(Problem.NAME_TOO_LONG, length=len(name), limit=NAME_MAX, name=name[:64])
    if unicode:
        if not name[0].isalpha():
            return Refused(Problem.NAME_START, name=name)
        bad = next((c for c in name if not (c.isalnum() or c in "_-")), None)
    else:
        if not name[0].isascii() or not name[0].isalpha():
            return Refused(Problem.NAME_START_ASCII, name=name)
        bad = None
        if _NAME.match(name) is None:
            bad = next(c for c in name if not (c.isascii() and (c.isalnum() or c in "_-")))
    if bad is not None:
        return Refused(Problem.NAME_CHAR, char=bad, name=name)
    seen = look(name)  # "NlckServ" is NickServ to whoever reads it
    if seen in _SERVICE_LOOKS or any(look(kept) == seen for kept in reserved):
        return Refused(Problem.NAME_RESERVED, name=name)
    return None


@attrs.frozen
class Claiming:
    """``claim``'s answer where the other nodes are asked first: ``claimed`` goes on."""


CLAIMING = Claiming()

_FIRST = (Phase.NAMING, Phase.CLAIMING)
"""The phases of a connection choosing its first name."""


def claim(
    world: World,
    conn: ConnId,
    client: Client,
    name: str,
    out: Outputs,
    *,
    owner: bool = False,
    account_id: str = "",
    claimed: bool = False,
    wait: bool = False,
) -> Refused | Claiming | None:
    """Give ``conn`` the name ``name`` if it may have it; else return why not; or, where
    names are shared and ``conn`` does not hold its key yet, ask the other nodes first
    (rule 3: ``CLAIMING``, and the answer comes to ``claimed``). ``owner``: it has just
    logged in to the account of that name (its id ``account_id``). ``claimed``: the other
    nodes granted it (``settle``): take it if it passes here still. ``wait``: its holder
    was just put out for this login (``ClaimName.wait``)."""
    rules = world.rules
    if rules.unicode_names:
        name = unicodedata.normalize("NFC", name)
    problem = check_name(name, rules.reserved_names, unicode=rules.unicode_names)
    if problem is not None:
        return problem
    key, seen = name_key(name), look(name)
    holder = world.names.get(seen, conn)
    if holder != conn:
        other = world.clients[holder].name
        if name_key(other) == key:
            return Refused(Problem.NAME_TAKEN, name=name)
        return Refused(Problem.NAME_LOOKALIKE, name=name, like=other)
    account = world.registry.like(name)
    if account is not None and not owner and client.account != account:
        if account == key:
            return Refused(Problem.NAME_REGISTERED, name=name, naming=client.phase in _FIRST)
        like = world.registry.accounts[account].name
        return Refused(Problem.NAME_LOOKALIKE, name=name, like=like)
    if world.shared_names and not claimed and world.names.get(seen) != conn:  # (held: a
        # change of case, or to a look-alike of its own name: nothing new to claim)
        client.pending = PendingName(name, owner, account_id)
        if client.phase in (Phase.NAMING, Phase.LOGGING_IN):
            client.step(Step.CLAIM)
        elif client.phase is Phase.CHATTING:  # a rename (a login is BUSY already)
            client.step(Step.WAIT)
        out.add(ClaimName(conn, seen, wait))
        return CLAIMING
    if client.name:
        del world.names[look(client.name)]
        if look(client.name) != seen:
            world.let_go(conn, look(client.name), out)
        for room in client.rooms:
            world.rooms[room].rename(conn, client.name, name)
    client.name = name
    world.names[seen] = conn
    return None


def settle(
    world: World, conn: ConnId, client: Client, pending: PendingName, answer: Claim, out: Outputs
) -> Refused | None:
    """The other nodes answered the claim of ``pending.name`` (rule 3): take it, checked
    here again (a login here may have taken it meanwhile), or return why not. A name
    granted but not taken is let go at once."""
    if answer is Claim.TAKEN:
        return Refused(Problem.NAME_TAKEN, name=pending.name)
    if answer is Claim.UNAVAILABLE:
        return Refused(Problem.NAMES_UNAVAILABLE, name=pending.name)
    taken = claim(
        world, conn, client, pending.name, out,
        owner=pending.login, account_id=pending.account_id, claimed=True,
    )  # fmt: skip
    assert not isinstance(taken, Claiming)  # (claimed: never asked again)
    if taken is not None:
        world.let_go(conn, look(pending.name), out)
    return taken


def claimed(
    world: World, conn: ConnId, client: Client, pending: PendingName, answer: Claim, out: Outputs
) -> None:
    """The answer to the claim of a first name or a rename: go on as ``choose`` or
    ``rename`` would have, had the name been taken at once."""
    old = client.name
    problem = settle(world, conn, client, pending, answer, out)
    if client.phase is Phase.CLAIMING:
        if problem is None:
            registered(world, conn, client, out)
        else:
            client.step(Step.REFUSED)
            refuse(world, conn, client, problem, out, counts=False)
        return
    client.step(Step.RESUME)
    if problem is not None:
        out.reply(conn, attrs.evolve(problem, still=old))
    else:
        renamed(world, conn, client, old, out)


def choose(world: World, conn: ConnId, client: Client, intent: i.ChooseName, out: Outputs) -> None:
    client.lobby = intent.lobby
    client.identify(intent.user, intent.realname)
    problem = claim(world, conn, client, intent.name, out)
    if problem is None:
        registered(world, conn, client, out)
    elif not isinstance(problem, Claiming):
        counts = bool(intent.name) and problem.problem not in _HELD
        refuse(world, conn, client, problem, out, counts=counts)


_HELD = frozenset(
    {Problem.NAME_TAKEN, Problem.NAME_REGISTERED, Problem.NAME_LOOKALIKE, Problem.NAMES_UNAVAILABLE}
)
"""Refusals of a valid name that someone else holds: said, and asked again, uncounted
(rule 2). A client trying names forever is still bounded by the name timeout."""


def refuse(
    world: World, conn: ConnId, client: Client, problem: Refused, out: Outputs, *, counts: bool
) -> None:
    """A first name (or login) was refused: ask again, or close after too many."""
    if counts:
        client.attempts += 1
    if client.attempts >= world.rules.name_attempts:
        out.reply(conn, attrs.evolve(problem, naming=True, final=True))
        world.end(conn, client, out, Reason.BAD_NAME)
    else:
        out.reply(conn, attrs.evolve(problem, naming=True), AskName())


def registered(world: World, conn: ConnId, client: Client, out: Outputs) -> None:
    """``conn`` has its name: welcome it and put it in the lobby (rule 3)."""
    client.step(Step.NAMED)
    # A full bucket to start chatting with, whatever the prompt took (flood.py).
    client.tokens, client.stamp = float(world.rules.flood_burst), world.now
    out.reply(conn, Welcome(client.name, len(world.names), len(world.rooms), world.invisible))
    presence.arrived(world, conn, client, out)
    if client.lobby is not i.Lobby.NEVER:
        rooms.enter(world, conn, client, LOBBY, out, quiet=True, placed=True)


def rename(world: World, conn: ConnId, client: Client, intent: i.Rename, out: Outputs) -> None:
    old = client.name
    if intent.name == old:  # nothing to announce or record (a change of case is a rename)
        out.reply(conn, Refused(Problem.NAME_UNCHANGED, name=old))
        return
    problem = claim(world, conn, client, intent.name, out)
    if isinstance(problem, Refused):
        out.reply(conn, attrs.evolve(problem, still=old))
    elif problem is None:
        renamed(world, conn, client, old, out)


def renamed(world: World, conn: ConnId, client: Client, old: str, out: Outputs) -> None:
    """Tell ``conn`` and its rooms that ``old`` is now ``client.name``."""
    renamed = NickChanged(old, client.name, client.user)
    out.reply(conn, renamed)
    world.tell_peers(conn, client, renamed, out, Kind.NICK)
    presence.renamed(world, conn, client, old, out)


def look_up_past(
    world: World, conn: ConnId, client: Client, intent: i.LookUpPast, out: Outputs
) -> None:
    """Who had the name lately (presence.py's rule 1)."""
    found = world.past.find(intent.name, intent.count)
    if not found:
        out.reply(conn, Refused(Problem.NEVER_HERE, name=intent.name[:NAME_MAX]))
        return
    out.reply(conn, PastNames(intent.name[:NAME_MAX], found))


def watch(world: World, conn: ConnId, client: Client, intent: i.Watch, out: Outputs) -> None:
    """Change or show the names ``conn`` watches (presence.py's rules 2 and 3)."""
    watchers, mine = world.watchers, world.watchers.of.get(conn, {})
    if intent.act is i.WatchAct.CLEAR:
        watchers.clear(conn)
    elif intent.act is i.WatchAct.REMOVE:
        for name in intent.names:
            watchers.remove(conn, name)
    elif intent.act is i.WatchAct.LIST:
        out.reply(conn, WatchList(tuple(mine.values())))
    elif intent.act is i.WatchAct.STATUS:
        out.reply(conn, presence.status(world, tuple(mine.values())))
    else:
        _watch(world, conn, intent.names, out)


def _watch(world: World, conn: ConnId, names: tuple[str, ...], out: Outputs) -> None:
    """Watch ``names`` too: each must be a name (no masks: nobody is followed through
    renames by address), at most ``presence.WATCH_MAX`` in all."""
    watchers, added = world.watchers, []
    for n, name in enumerate(names):
        problem = check_name(name, frozenset(), unicode=True)
        if problem is not None:
            out.reply(conn, problem)
            continue
        if watchers.count(conn) >= presence.WATCH_MAX and not watchers.has(conn, name):
            limit = presence.WATCH_MAX
            out.reply(conn, Refused(Problem.WATCH_FULL, name=",".join(names[n:]), limit=limit))
            break
        watchers.add(conn, name)
        added.append(name)
    if added:
        out.reply(conn, presence.status(world, tuple(added)))
