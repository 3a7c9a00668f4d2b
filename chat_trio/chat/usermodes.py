"""User modes: a connection's own settings that others see or that change what it
receives (IRC's ``MODE nick +iwB``), and the operators' wallops.

Rules:

1. Each connection sets and clears its own modes only; turning on what is on, or off
   what is off, changes nothing and is not answered (as IRC servers do). A change is
   answered with the modes it added and removed (``UserModes``), never told to others:
   they see it where it shows (WHO, WHOIS, the ``bot`` tag, who is listed).
2. ``UserMode.OPERATOR`` is ``Client.operator``: only ``Oper`` (accounts.py) turns it
   on; asking to turn it on is ignored, turning it off drops the connection's admin
   powers from an operator's password (logged in to an admin's account, it keeps those).
3. ``INVISIBLE``: a mask lookup (IRC's ``WHO nick*``) and the member list of a room one
   is not in leave out the invisible who share no room with the asker; looking up their
   exact name still finds them (rooms.py ``list_users``; modern.ircdocs.horse). How many
   of those online are invisible is counted (``World.invisible``: IRC's LUSERS says it).
4. ``BOT``: its room lines and private messages say so (``Said.bot`` ...), and so do
   WHO (``Person.bot``) and WHOIS (``Whois.bot``).
5. ``SendWallops`` is for admins (``World.is_admin``, operators included); it reaches
   every connection with ``WALLOPS`` on, and always its sender. Finding them is one pass
   over the connections: wallops are rare, and the sender's flood tokens pace them.

This module never imports trio and never awaits.
"""

from __future__ import annotations

from chat_trio.chat import intents as i
from chat_trio.chat.events import ConnId, Refused, UserMode, UserModes, Wallops
from chat_trio.chat.outputs import Outputs
from chat_trio.chat.problems import Problem
from chat_trio.chat.state import Phase
from chat_trio.chat.vocabulary import REASON_MAX
from chat_trio.chat.world import Client, World


def modes_of(client: Client) -> frozenset[UserMode]:
    """All of ``client``'s user modes, ``OPERATOR`` included while it is one."""
    return client.modes | {UserMode.OPERATOR} if client.operator else client.modes


def set_modes(
    world: World, conn: ConnId, client: Client, intent: i.SetUserModes, out: Outputs
) -> None:
    before = modes_of(client)
    added = tuple(m for m in dict.fromkeys(intent.add) if m not in before)
    added = tuple(m for m in added if m is not UserMode.OPERATOR)  # rule 2: only Oper
    removed = tuple(m for m in dict.fromkeys(intent.remove) if m in before and m not in added)
    if not added and not removed:
        return
    if UserMode.OPERATOR in removed:
        client.operator = ""
    client.modes = (client.modes | frozenset(added)) - frozenset(removed)
    world.invisible += (UserMode.INVISIBLE in added) - (UserMode.INVISIBLE in removed)
    shown = UserModes(client.name, modes_of(client), added, removed, client.user)
    out.reply(conn, shown)


def show_modes(
    world: World, conn: ConnId, client: Client, intent: i.ShowUserModes, out: Outputs
) -> None:
    out.reply(conn, UserModes(client.name, modes_of(client), user=client.user))


def wallops(
    world: World, conn: ConnId, client: Client, intent: i.SendWallops, out: Outputs
) -> None:
    if not world.is_admin(client):
        out.reply(conn, Refused(Problem.NOT_ADMIN, name="wallops"))
        return
    if not intent.text.strip():
        out.reply(conn, Refused(Problem.NO_TEXT))
        return
    said = Wallops(client.name, intent.text[:REASON_MAX], client.user)
    out.reply(conn, said)
    for other, c in world.clients.items():
        if other != conn and UserMode.WALLOPS in c.modes and c.phase in _LISTENING:
            out.reply(other, said)


_LISTENING = (Phase.CHATTING, Phase.BUSY)
"""The phases in which a connection has a name, and is sent what others say."""
