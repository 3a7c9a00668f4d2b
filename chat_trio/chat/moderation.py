"""Moderation: admins kill users (disconnect them) and ban accounts or addresses, for a
while or for good. (Putting someone out of one room is a room operator's ``Kick``: roles.py.)

Rules:

1. Only admins (``World.is_admin``: an account marked admin, or named by ``--admins``,
   and logged in) may kill, ban or unban.
2. A killed or banned user is told who did it and why, then leaves after its last lines
   (``Close``: the hub delivers what was sent to it first). The others see it leave.
3. ``Ban`` names an address, an account (banning the account, wherever it logs in from),
   or a guest who is online (banning the guest's address). Whoever matches is thrown out
   at once; bans outlive restarts (``SaveBan``).
4. A reason is kept to ``REASON_MAX`` characters (and is one line, as every text is).
5. An admin never bans an address they are connected from (``/ban`` of it, or of a guest
   sharing it, is refused with why): it would shut them out with the others, and only
   the operator could let them in again.
6. The operator's bans (``chat-trio ban``, applied by the server as it finds them in the
   database: ``operator_ban``) throw out whoever they match, as an admin's do.

This module never imports trio and never awaits.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping

from chat_trio.chat import intents as i
from chat_trio.chat import registry
from chat_trio.chat.events import ConnId, Done, Reason, Refused
from chat_trio.chat.outputs import Outputs, SaveBan
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.state import Phase, Step
from chat_trio.chat.vocabulary import NAME_MAX, REASON_MAX, look, name_key
from chat_trio.chat.world import Client, World

_SHOWN = 64  #: characters of an unknown target shown back
BAN_LONGEST = 10 * 365 * 86400.0
"""Seconds: a ban asked for longer than ten years is a ban forever (any later end is
too far away to be a date worth keeping, and a huge one cannot be shown as a date)."""


def _admin(world: World, conn: ConnId, client: Client, command: str, out: Outputs) -> bool:
    if world.is_admin(client):
        return True
    out.reply(conn, Refused(Problem.NOT_ADMIN, name=command))
    return False


def kill(world: World, conn: ConnId, client: Client, intent: i.Kill, out: Outputs) -> None:
    if not _admin(world, conn, client, "kill", out):
        return
    target = world.names.get(look(intent.name))
    if target is None:
        out.reply(conn, Refused(Problem.NO_SUCH_USER, name=intent.name[:NAME_MAX]))
        return
    reason = intent.reason[:REASON_MAX]
    out.reply(conn, Done(Outcome.KICKED, name=world.clients[target].name, text=reason))
    throw_out(world, target, Outcome.KICKED_YOU, client.name, reason, Reason.KICKED, out)


def throw_out(
    world: World, conn: ConnId, outcome: Outcome, by: str, reason: str, why: Reason, out: Outputs
) -> None:
    client = world.clients[conn]
    if client.phase is Phase.CLOSING:
        return
    if client.phase is Phase.REMOTE:  # its own node ends it (remote.py's ``ended``)
        out.reply(conn, Done(outcome, name=by, text=reason))
        out.close(conn, why)
        return
    client.step(Step.END)
    client.parting = reason  # the others are told why too
    out.reply(conn, Done(outcome, name=by, text=reason))
    out.close(conn, why)


def ban(world: World, conn: ConnId, client: Client, intent: i.Ban, out: Outputs) -> None:
    if not _admin(world, conn, client, "ban", out):
        return
    target = _ban_target(world, intent.target)
    if target is None:
        out.reply(conn, Refused(Problem.NO_SUCH_TARGET, name=intent.target[:_SHOWN]))
        return
    if not intent.seconds > 0:  # (NaN too)
        out.reply(conn, Refused(Problem.BAN_LENGTH, limit=BAN_LONGEST))
        return
    kind, key, shown = target
    if kind == "address" and key == client.address:
        out.reply(conn, Refused(Problem.BAN_OWN_ADDRESS, name=key, like=shown))
        return
    guest = shown if kind == "address" else ""  # so that /unban Carol finds it again
    until = world.clock() + intent.seconds if intent.seconds <= BAN_LONGEST else math.inf
    entry = registry.Ban(kind, key, until, intent.reason[:REASON_MAX], client.name, guest)
    world.registry.bans[(kind, key)] = entry
    out.add(SaveBan(kind, key, entry))
    out.reply(
        conn,
        Done(Outcome.BANNED, name=shown, kind=kind, key=key, until=entry.until, text=entry.reason),
    )
    _throw_out_banned(world, entry, conn, out)


def operator_ban(
    world: World, kind: str, key: str, entry: registry.Ban | None, out: Outputs
) -> None:
    """The operator set (``entry``) or lifted (None) the ban on (``kind``, ``key``) from
    the shell while the server runs: remember it, and throw out whoever it matches."""
    if entry is None:
        world.registry.bans.pop((kind, key), None)
        return
    world.registry.bans[(kind, key)] = entry
    _throw_out_banned(world, entry, None, out)


def _throw_out_banned(world: World, entry: registry.Ban, by: ConnId | None, out: Outputs) -> None:
    """Everyone ``entry`` matches leaves (but the admin ``by`` who set it), told who
    banned them and why."""
    kind, key = entry.kind, entry.key
    for other, c in list(world.clients.items()):
        hit = c.address == key if kind == "address" else key in (c.account, name_key(c.name))
        if hit and other != by:
            throw_out(world, other, Outcome.BANNED_YOU, entry.by, entry.reason, Reason.BANNED, out)


def _ban_target(world: World, word: str) -> tuple[str, str, str] | None:
    """(kind, key, the name to show) for a ban's target, or None if it names nothing."""
    try:
        return "address", str(ipaddress.ip_address(word)), ""
    except ValueError:
        pass
    key = name_key(word)
    if key in world.registry.accounts:
        return "account", key, world.registry.accounts[key].name
    online = world.names.get(look(word))
    if online is not None and world.clients[online].address:
        who = world.clients[online]
        return "address", who.address, who.name
    return None


def unban(world: World, conn: ConnId, client: Client, intent: i.Unban, out: Outputs) -> None:
    if not _admin(world, conn, client, "unban", out):
        return
    word = intent.target
    for kind, key in bans_on(world.registry.bans, word):
        ban = world.registry.bans.pop((kind, key))
        out.add(SaveBan(kind, key, None))
        shown = f"{ban.name}'s address ({key})" if ban.name else word
        out.reply(conn, Done(Outcome.UNBANNED, name=shown))
        return
    out.reply(conn, Refused(Problem.NO_BAN, name=word[:_SHOWN]))


def bans_on(bans: Mapping[tuple[str, str], registry.Ban], word: str) -> list[tuple[str, str]]:
    """The ``bans`` that ``word`` names: an address, an account, or a guest whose address
    a ban by name caught (``/ban Carol``, then ``/unban Carol``)."""
    try:
        address = str(ipaddress.ip_address(word))
    except ValueError:
        key = name_key(word)
        found = [("account", key)] if ("account", key) in bans else []
        return found + [
            (ban.kind, ban.key)
            for ban in bans.values()
            if ban.kind == "address" and ban.name and name_key(ban.name) == key
        ]
    return [("address", address)] if ("address", address) in bans else []
