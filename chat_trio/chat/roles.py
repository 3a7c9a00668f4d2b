"""Room roles: who runs a room, and the one table of what each act in a room needs.

Theory of operation. A room is run by its operators (``Role.OPERATOR``, ``@`` on IRC);
``Role.VOICE`` (``+``) marks members worth hearing: in a moderated room
(``Mode.MODERATED``, ``+m``) only they and the operators may talk. Roles are held by
connections (``Room.roles``), never by names, which someone else may take next. Every
act that needs more than membership is a row of ``NEEDS``, and ``refusal`` is the one
place that checks it: no handler decides by itself.

Rules:

1. Whoever creates a room (joins it while it has no members) is its operator. ``#lobby``
   is the server's: it has no founder, and no one gets a role there by joining. A
   registered room (registered.py) has a founder account: its first joiner is not made
   its operator for being first; its founder and the operator accounts the founder
   listed are, whenever they join (logged in), and the room is told.
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
   refusing it would let stale invitations lock out the ones that matter. Its holder
   may list those it still holds (``invitations``: IRC's ``INVITE`` alone, ``/invites``).
9. Roles end with membership: leaving, a kick or a disconnect drops them, and a room
   forgotten when its last member leaves forgets them, its modes and its bans.
10. A room's bans (``Room.bans``, ``Act.BAN``/``Act.UNBAN``) name an account (its owner
    is kept out whatever name it uses, after a rename too), a guest's name, or a mask
    ``nick!user@host`` with ``*`` and ``?``, matched without case against the mask IRC
    shows for the person (``vocabulary.person_mask``), so that it catches the people of
    every door alike. A banned person cannot join (``admission``), and a banned member
    (a ban does not put anyone out, as IRC's ``+b``) cannot talk unless voiced or an
    operator (``may_talk``). Admins always pass, and so do a registered room's founder
    and listed operators when they join (registered.py's rule 4): the room is theirs,
    and they could lift the ban themselves.
11. **An invitation does not let its holder past a ban.** An invitation is one
    operator's pass for one join; a ban is the room's standing decision about a person.
    Were it the other way, an invitation given before a kick-ban (they last an hour)
    would let the person straight back in, and any operator could quietly undo a ban
    another set; lifting one is ``/unban``, which every member sees.
12. A room holds at most ``BANS_MAX`` bans; when full, **a new ban is refused**
    (``Problem.BAN_LIST_FULL``): each ban there was set on purpose, and dropping the
    oldest would let back in someone an operator meant to keep out. The people
    ``#lobby`` puts everyone in (on choosing a name, after a kick out of one's last
    room) are seated there even if banned: no one is ever in no room; they cannot talk
    there, and an explicit join is refused.

The handlers that carry these acts out (``set_role``, ``kick``) are rooms.py's: they
change who is in a room. This module never imports trio and never awaits.
"""

from __future__ import annotations

import enum
import functools
import re

from chat_trio.chat import words
from chat_trio.chat.events import BanKind, ConnId, Mode, Refused, Role, RoomBan
from chat_trio.chat.problems import Problem
from chat_trio.chat.vocabulary import LOBBY, NAME_MAX, look, name_key, person_mask
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
    BAN = "ban"
    UNBAN = "unban"


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
    Act.BAN: Need.OPERATOR,
    Act.UNBAN: Need.OPERATOR,
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
    """Why ``conn`` (a member) may not talk in ``room`` (rule 6: moderated; rule 10:
    banned), or None. Voiced members and operators always may."""
    if Mode.MODERATED not in room.modes and not room.bans:
        return None  # most rooms: nothing more to look up
    if conn in room.roles[Role.VOICE] or is_operator(world, conn, client, room):
        return None
    if Mode.MODERATED in room.modes:
        return Refused(Problem.MODERATED, room=room.memory.name)
    if banned(world, client, room) is not None:
        return Refused(Problem.BANNED_TALK, room=room.memory.name)
    return None


INVITES_MAX = 100
"""Invitations a room holds at most (rule 8: when full, the oldest is dropped)."""
INVITE_SECONDS = 3600.0  #: an invitation lapses after an hour (rule 8), as the issue asks
KEY_MAX = 32  #: a key's length at most (InspIRCd's default); no spaces or commas (IRC)
LIMIT_MAX = 100_000  #: the highest member limit (more than any room here holds)
OPEN_MODES = frozenset({Mode.INVITE_ONLY, Mode.KEY, Mode.LIMIT})
"""The modes that keep people out: never on ``#lobby`` (rule 7)."""


def admission(
    world: World, conn: ConnId, client: Client, room: Room, key: str, *, placed: bool = False
) -> Refused | None:
    """Why ``conn`` may not join ``room`` (which has members) with ``key``, or None if it
    may; a valid invitation is used up (rules 7, 8, 10-12). ``placed``: the server puts
    it there (``#lobby``), whatever its bans say (rule 12)."""
    name = room.memory.name
    admin = world.is_admin(client)
    if not (admin or placed) and room.bans and banned(world, client, room) is not None:
        return Refused(Problem.ROOM_BANNED, room=name)  # rule 11: before any invitation
    expires = room.invited.pop(conn, None)
    if (expires is not None and expires > world.now) or admin:
        return None
    if Mode.INVITE_ONLY in room.modes:
        return Refused(Problem.INVITE_ONLY, room=name)
    if Mode.KEY in room.modes and key != room.key:
        return Refused(Problem.NEEDS_KEY, room=name)
    if Mode.LIMIT in room.modes and len(room.members) >= room.limit:
        return Refused(Problem.ROOM_FULL, room=name, limit=room.limit)
    return None


def invitations(world: World, conn: ConnId) -> list[str]:
    """The rooms ``conn`` holds an invitation to that has not lapsed (rule 8). One look
    at each room: they are at most ``Rules.max_rooms``."""
    held = sorted(
        (room.invited[conn], room.memory.name)
        for room in world.rooms.values()
        if conn in room.invited
    )
    return [name for expires, name in held if expires > world.now]


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


BANS_MAX = 100
"""Bans a room holds at most (rule 12: when full, a new ban is refused; those there were
set on purpose). A hundred, as the issue asks: room for a busy room's troublemakers, and
a bound on what working out one person's verdict costs (a join, a first line: one check
per ban)."""
MASK_MAX = 2 * NAME_MAX + 32
"""Characters of a mask at most: two names and a host, with room to spare."""
_MASK_CHARS = re.compile(r"[^\s,]+")  # no spaces (IRC parameters), no commas (IRC lists)
_WILD = frozenset("!@*?")


def plain_mask(text: str) -> bool:
    """May ``text`` be a ban's name or mask: short enough, no spaces or commas, and
    nothing ``words.line`` would take out (escape sequences, controls, bidi marks), since
    every member, on every door, is shown it?"""
    return len(text) <= MASK_MAX and bool(_MASK_CHARS.fullmatch(text)) and words.line(text) == text


def normal_mask(text: str) -> str:
    """``text`` as a whole ``nick!user@host`` mask, the parts it leaves out being ``*``:
    ``Dave`` is ``Dave!*@*``, ``*@host`` is ``*!*@host``, ``Dave!u`` is ``Dave!u@*``
    (as IRC servers complete one)."""
    nick, bang, rest = text.partition("!")
    if not bang:
        nick, rest = ("*", text) if "@" in text else (text, "*")
    user, at, host = rest.partition("@")
    return f"{nick or '*'}!{user or '*'}@{host if at and host else '*'}"


def make_ban(world: World, target: str, by: str, reason: str) -> RoomBan | Refused:
    """The ban ``target`` asks for (rule 10), or why it cannot be one.

    ``~a:NAME`` names an account; a target with ``!``, ``@``, ``*`` or ``?`` is a mask
    (completed by ``normal_mask``); any other is a name: the account of whoever is
    online with it, or the account registered under it, else a guest's name.
    """
    if target.startswith("~a:"):
        account = world.registry.accounts.get(name_key(target[3:]))
        if account is None:
            return Refused(Problem.NO_ACCOUNT, name=target[3:][:NAME_MAX])
        return RoomBan(BanKind.ACCOUNT, account.name, by, world.clock(), reason)
    if not plain_mask(target):  # (it is shown to the room, and kept)
        return Refused(Problem.BAD_BAN_MASK, name=words.line(target)[:MASK_MAX], limit=MASK_MAX)
    if _WILD.intersection(target):
        return RoomBan(BanKind.MASK, normal_mask(target), by, world.clock(), reason)
    if len(target) > NAME_MAX:
        return Refused(Problem.BAD_BAN_MASK, name=target, limit=MASK_MAX)
    online = world.names.get(look(target))
    holder = world.clients[online] if online is not None else None
    key = holder.account if holder is not None and holder.account else name_key(target)
    account = world.registry.accounts.get(key)
    if account is not None:
        return RoomBan(BanKind.ACCOUNT, account.name, by, world.clock(), reason)
    name = holder.name if holder is not None else target
    return RoomBan(BanKind.NAME, name, by, world.clock(), reason)


def ban_key(ban: RoomBan) -> tuple[BanKind, str]:
    """What two bans of a room must differ in to be two bans (``Room.bans``' keys)."""
    return ban.kind, ban.mask.casefold() if ban.kind is BanKind.MASK else name_key(ban.mask)


@functools.lru_cache(maxsize=16_384)
def glob(mask: str, text: str) -> bool:
    """Does ``mask`` (``*``: any run of characters, ``?``: any one; nothing else is
    special) match the whole of ``text``? Both casefolded already.

    The mask is cut at its ``*``: the first piece must begin ``text``, the last end it,
    and each piece between is found, leftmost, after the one before (taking the leftmost
    place never loses a match a later place would give). Each find is one C-level
    ``str.find`` (or, for a piece with ``?``, a fixed-length pattern): the worst mask
    the bounds allow costs about a microsecond. (A regular expression made from the
    whole mask backtracks instead: ``*a*a*a*a*a*a!*@*b`` took 0.8 s against one
    32-letter name, and any operator could have stopped the server with one ban; a
    character-by-character walk took 135 µs, and 100 such bans 13 ms a line.) Cached: a
    member talking is checked against the same bans with the same mask again and again.
    """
    first, *middle = mask.split("*")
    if not middle:
        return len(mask) == len(text) and _fits(mask, text, 0)
    last = middle.pop()
    end = len(text) - len(last)
    if end < len(first) or not (_fits(first, text, 0) and _fits(last, text, end)):
        return False
    at = len(first)
    for piece in middle:
        if piece:
            found = _find(piece, text, at, end)
            if found < 0:
                return False
            at = found + len(piece)
    return True


def _fits(piece: str, text: str, at: int) -> bool:
    """Does ``piece`` (no ``*``) match ``text`` at ``at``, which has room for it?"""
    if "?" not in piece:
        return text.startswith(piece, at)
    return all(c in ("?", text[at + k]) for k, c in enumerate(piece))


def _find(piece: str, text: str, start: int, end: int) -> int:
    """Where ``piece`` (no ``*``) first matches wholly within ``text[start:end]``; -1 if
    nowhere."""
    if "?" not in piece:
        return text.find(piece, start, end)
    found = _piece(piece).search(text, start, end)
    return found.start() if found else -1


@functools.lru_cache(maxsize=1024)
def _piece(piece: str) -> re.Pattern[str]:
    """``piece`` with ``?`` as a regular expression of fixed length (nothing to backtrack
    into: no ``*``)."""
    return re.compile("".join("." if c == "?" else re.escape(c) for c in piece), re.DOTALL)


def matches(ban: RoomBan, client: Client) -> bool:
    """Does ``ban`` name ``client`` (rule 10)?"""
    if ban.kind is BanKind.ACCOUNT:
        return bool(client.account) and client.account == name_key(ban.mask)
    if ban.kind is BanKind.NAME:
        return name_key(client.name) == name_key(ban.mask)
    return glob(ban.mask.casefold(), person_mask(client.name, client.user).casefold())


VERDICTS_MAX = 16_384
"""Verdicts remembered (``World.ban_verdicts``), for every room together; the least
recently asked is forgotten first (working one out again costs one check per ban)."""


def banned(world: World, client: Client, room: Room) -> RoomBan | None:
    """The first of ``room``'s bans that names ``client``, or None. Remembered per name,
    username and account (all a verdict depends on) and the room's bans as they stand
    (``Room.bans_version``): a banned room's unvoiced member talking costs one look-up,
    not one check per ban (79 µs a line with 100 bans, measured)."""
    verdicts = world.ban_verdicts
    asked = (room.bans_version, client.name, client.user, client.account)
    if asked in verdicts:
        verdicts.move_to_end(asked)
        return verdicts[asked]
    found = next((ban for ban in room.bans.values() if matches(ban, client)), None)
    verdicts[asked] = found
    if len(verdicts) > VERDICTS_MAX:
        verdicts.popitem(last=False)
    return found


def find_ban(room: Room, target: str) -> tuple[BanKind, str] | None:
    """The key of ``room``'s ban that ``target`` names: as it was banned (``Dave``,
    ``*!*@host``) or as IRC shows it (``Dave!*@*``, ``~a:Dave``); None if none."""
    said = {target.casefold(), normal_mask(target).casefold()}
    for key, ban in room.bans.items():
        if ban.mask.casefold() in said or ban.shown.casefold() in said:
            return key
    return None


def ban(world: World, room: Room, made: RoomBan) -> Refused | None:
    """Keep ``made`` in ``room``'s bans, or say why not (rule 12: full). A ban it holds
    already changes nothing (returns None too)."""
    key = ban_key(made)
    if key in room.bans:
        return None
    if len(room.bans) >= BANS_MAX:
        return Refused(Problem.BAN_LIST_FULL, room=room.memory.name, limit=BANS_MAX)
    room.bans[key] = made
    room.bans_version = world.next_bans_version()
    return None


def unban(world: World, room: Room, key: tuple[BanKind, str]) -> RoomBan:
    """Lift ``room``'s ban ``key`` (one ``find_ban`` found); returns it."""
    room.bans_version = world.next_bans_version()
    return room.bans.pop(key)
