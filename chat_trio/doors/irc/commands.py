"""The IRC commands: one table row each (``COMMANDS``), the only list there is.

Each row says how many parameters the command needs at least (fewer: 461), whether it is
taken before registration (others: 451), and its handler: a function that turns the
command into items on the door's queue, intents for the rules (a ``JOIN #a,#b`` is two
``Join``) or answers the door gives itself (PONG, MOTD, MODE ...). Registration's own
commands are in registration.py; what the rules' answers look like, in render.py.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import attrs

from chat_trio import __version__
from chat_trio.chat import intents as i
from chat_trio.chat import roles, words
from chat_trio.chat.events import Mode, UserMode
from chat_trio.chat.vocabulary import HISTORY_MAX, NAME_MAX, name_key
from chat_trio.doors.irc import registration
from chat_trio.doors.irc.message import Message
from chat_trio.doors.irc.render import (
    CHANSERV,
    MODES,
    MODES_BY_LETTER,
    NICKSERV,
    ROLES_BY_LETTER,
    STATUS_PREFIXES,
    STATUSMSG,
    TARGMAX,
    USER_MODES_BY_LETTER,
    fits,
    isupport_lines,
    mask,
    motd,
)

if TYPE_CHECKING:
    from chat_trio.doors.irc.door import IrcDoor

Handler = Callable[["IrcDoor", tuple[str, ...]], None]


@attrs.frozen
class Command:
    """One row of the table."""

    min_params: int  #: parameters it needs at least (fewer: 461)
    handler: Handler
    usage: str  #: how it is written, for HELP (modern.ircdocs.horse's notation)
    summary: str  #: what it does, in a line, for HELP
    before_registration: bool = False  #: taken before registering (others: 451)


def ping(door: IrcDoor, params: tuple[str, ...]) -> None:
    server = door.settings.server_name
    door.server_message("PONG", server, params[0])


def pong(door: IrcDoor, params: tuple[str, ...]) -> None:
    pass  # any input counts as an answer (the keepalive heard it)


def targets(door: IrcDoor, command: str, given: str, *, answer: bool = True) -> list[str] | None:
    """The comma-separated targets of one ``command`` line (empty ones left out), or None
    when there are more than ``TARGMAX[command]``: then nothing of the line is done, and
    the client is told so with 407 (unless ``answer`` is false: NOTICE is never answered).
    Each target becomes its own intent, which flood control counts like a line."""
    if "," not in given:  # one target, as most lines have
        return [given] if given else []
    named = [target for target in given.split(",") if target]
    if len(named) > TARGMAX[command]:
        if answer:
            most = TARGMAX[command]
            door.numeric("407", given, f"Too many targets: at most {most} ({command}); none used")
        return None
    return named


def join(door: IrcDoor, params: tuple[str, ...]) -> None:
    if params[0] == "0":
        door.queue.extend(i.Leave(room) for room in list(door.rooms.values()))
        return
    keys = params[1].split(",") if len(params) > 1 else []  # JOIN #a,#b keyA,keyB
    for n, room in enumerate(targets(door, "JOIN", params[0]) or ()):
        door.queue.append(i.Join(room, keys[n] if n < len(keys) else ""))


def part(door: IrcDoor, params: tuple[str, ...]) -> None:
    reason = params[1] if len(params) > 1 else ""
    for room in targets(door, "PART", params[0]) or ():
        door.queue.append(i.Leave(room, reason))


def privmsg(door: IrcDoor, params: tuple[str, ...]) -> None:
    named = targets(door, "PRIVMSG", params[0]) if params else []
    if named is None:
        return
    if not named:
        door.numeric("411", "No recipient given (PRIVMSG)")
        return
    if len(params) < 2 or not params[1]:
        door.numeric("412", "No text to send")
        return
    text, action = params[1], False
    if text.startswith("\x01"):
        word, _, rest = text.strip("\x01").partition(" ")
        if word.upper() != "ACTION":
            for target in named:
                _ctcp(door, target, word.upper(), rest)
            return
        text, action = rest, True
    for target in named:
        if not fits(mask(door.nick, door.replies.user), target, text, action=action):
            door.too_long()
        elif target.lstrip(STATUS_PREFIXES).startswith("#"):
            door.queue.append(say(door, target, text, action=action))
        elif name_key(target) == "nickserv":
            _nickserv(door, text)
        elif name_key(target) == "chanserv":
            chanserv(door, tuple(text.split()))
        else:
            door.queue.append(i.SendPrivate(target, text, action, tags=door.tags))


def say(door: IrcDoor, target: str, text: str, *, action: bool = False, notice: bool = False
        ) -> i.Say:  # fmt: skip
    """A line to the room ``target``, or (``@#room``, ``+#room``: ISUPPORT STATUSMSG) to
    its operators, or its voiced members and operators, only. One prefix: ``@+#room``
    is no room's name (the rules say so)."""
    to = STATUSMSG.get(target[0])
    room = target[1:] if to is not None else target
    return i.Say(room, text, action, notice, door.tags, to)


def notice(door: IrcDoor, params: tuple[str, ...]) -> None:
    """NOTICE: a message like PRIVMSG, but nothing answers it (RFC 2812 3.3.2): no 411/412
    for a missing target or text, no CTCP answer (a CTCP in a NOTICE is itself an answer),
    nothing for NickServ, and the door drops the rules' refusals (``IrcDoor.observe``)."""
    if len(params) < 2 or not params[0] or not params[1] or params[1].startswith("\x01"):
        return
    for target in targets(door, "NOTICE", params[0], answer=False) or ():
        if not fits(mask(door.nick, door.replies.user), target, params[1], notice=True):
            door.too_long()  # (the line is not sent: its sender is told, as for any line)
        elif target.lstrip(STATUS_PREFIXES).startswith("#"):
            door.queue.append(say(door, target, params[1], notice=True))
        elif name_key(target) not in ("nickserv", "chanserv"):
            door.queue.append(i.SendPrivate(target, params[1], notice=True, tags=door.tags))


def tagmsg(door: IrcDoor, params: tuple[str, ...]) -> None:
    """TAGMSG (IRCv3 message-tags): the line's client-only tags, without text, to each
    target (``+typing``, ``+draft/react`` ...). Nothing is sent for a line without any."""
    for target in targets(door, "TAGMSG", params[0]) or ():
        if name_key(target) not in ("nickserv", "chanserv"):
            door.queue.append(i.SendTags(target, door.tags))


def _ctcp(door: IrcDoor, target: str, word: str, rest: str) -> None:
    """A CTCP request: answered by the server on the target's behalf (VERSION, PING,
    TIME), since users of the other doors cannot answer it; others are dropped."""
    answers = {
        "VERSION": f"chat-trio {__version__}",
        "PING": rest,
        "TIME": time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime()),
    }
    if word in answers:
        reply = f"\x01{word} {answers[word]}\x01"
        door.wire(Message("NOTICE", (door.nick, reply), mask(target)))


def _nickserv(door: IrcDoor, text: str) -> None:
    said = text.split()
    command = said[0].upper() if said else "HELP"
    if command == "IDENTIFY" and len(said) in (2, 3):
        name, password = (door.nick, said[1]) if len(said) == 2 else (said[1], said[2])
        door.queue.append(i.LogIn(name, password))
    elif command == "REGISTER" and len(said) >= 2:
        door.queue.append(i.Register(said[1]))
    else:
        help_text = "Commands: IDENTIFY [name] <password>, REGISTER <password>"
        door.wire(Message("NOTICE", (door.nick, help_text), NICKSERV))


_CHANSERV_HELP = (
    "Commands: REGISTER <#room>, DROP <#room>, INFO <#room>, "
    "AMODE <#room> [+o|-o <account>] (the accounts that get +o on joining)"
)


def chanserv(door: IrcDoor, said: tuple[str, ...]) -> None:
    """``PRIVMSG ChanServ :REGISTER #rust`` (or ``/CS REGISTER #rust``): registered rooms,
    in the words of ergo's ChanServ (``UNREGISTER`` is ``DROP``; ``AMODE #rust`` lists
    the operators, ``AMODE #rust +o name`` adds one, ``-o`` removes one)."""
    command = said[0].upper() if said else "HELP"
    rest = said[1:]
    simple: dict[str, Callable[[str], i.Intent]] = {
        "REGISTER": i.RegisterRoom,
        "DROP": i.DropRoom,
        "UNREGISTER": i.DropRoom,
    }
    if command in simple and len(rest) == 1:
        door.queue.append(simple[command](rest[0]))
    elif (command == "INFO" and len(rest) == 1) or (command == "AMODE" and len(rest) == 1):
        door.queue.append(i.ShowRoomInfo(rest[0]))
    elif command == "AMODE" and len(rest) == 3 and rest[1] in ("+o", "-o"):
        door.queue.append(i.SetRoomOp(rest[0], rest[2], rest[1] == "+o"))
    else:
        door.wire(Message("NOTICE", (door.nick, _CHANSERV_HELP), CHANSERV))


def _chanserv_command(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``CS`` / ``CHANSERV``: what clients send for ``/cs ...`` (one parameter, or each
    word its own)."""
    chanserv(door, tuple(word for param in params for word in param.split()))


def topic(door: IrcDoor, params: tuple[str, ...]) -> None:
    if len(params) == 1:
        door.queue.append(i.ShowTopic(params[0]))
    else:
        door.queue.append(i.SetTopic(params[0], params[1]))


def names(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``NAMES #a`` (353s, then 366), or ``NAMES #a,#b``: each room's 353s, then one 366
    naming them all (modern.ircdocs.horse), whether each exists or not."""
    rooms = targets(door, "NAMES", params[0]) if params else []
    if rooms is None:
        return
    if len(rooms) < 2:
        door.queue.append(door.names_of(rooms[0]) if rooms else door.names_end("*"))
        return
    door.queue.extend(door.names_of(room, end=False) for room in rooms)
    door.queue.append(door.names_end(",".join(rooms), free=True))


def who(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``WHO #room``, ``WHO nick``, ``WHO mask*`` (``*`` and ``0``: everyone), and
    WHOX's ``WHO target %fields[,token]`` (ircv3.net/specs/extensions/whox): the fields
    ride on the label (door bookkeeping; the rules hand it back unchanged). A room comes
    in pages; a mask answers its first ``LIST_MAX`` matches (rooms.py ``_masked``)."""
    target = params[0] if params and params[0] else "*"
    fields = params[1] if len(params) > 1 and params[1].startswith("%") else ""
    label = f"who {fields[1:]}" if fields else "who"
    if target.startswith("#"):
        door.queue.append(i.ListUsers(target, label=label, detail=True))
    else:
        door.queue.append(
            i.ListUsers(mask="*" if target == "0" else target, label=label, detail=True)
        )


def whois(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.LookUp(params[-1].split(",")[0], label="whois"))


def whowas(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``WHOWAS nick [count]``: a count that is not a positive number asks for every
    entry kept (modern.ircdocs.horse)."""
    count = words.count(params[1]) if len(params) > 1 else None
    door.queue.append(i.LookUpPast(params[0].split(",")[0], count or 0))


_WATCH_ACTS = {
    "+": i.WatchAct.ADD,
    "-": i.WatchAct.REMOVE,
    "C": i.WatchAct.CLEAR,
    "L": i.WatchAct.LIST,
    "S": i.WatchAct.STATUS,
}


def monitor(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``MONITOR + nick,nick``, ``- nick,nick``, ``C``, ``L``, ``S`` (ircv3.net MONITOR);
    the watching is the rules' (chat/presence.py), for people of every door."""
    act = _WATCH_ACTS.get(params[0].upper())
    if act is None:
        door.numeric("400", "MONITOR", f"Unknown subcommand: {params[0]}")  # (as ergo)
        return
    if act in (i.WatchAct.ADD, i.WatchAct.REMOVE):
        if len(params) < 2:
            door.numeric("461", "MONITOR", "Not enough parameters")
            return
        door.queue.append(i.Watch(act, tuple(name for name in params[1].split(",") if name)))
    else:
        door.queue.append(i.Watch(act))


def setname(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``SETNAME :real name`` (ircv3.net setname): the rules check it (FAIL SETNAME
    INVALID_REALNAME) and tell the channels; the lines go to those with the cap."""
    door.queue.append(i.SetRealname(params[0]))


def list_rooms(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``LIST``, or ``LIST`` with channels and ISUPPORT ELIST=MNU's conditions, in its
    first parameter or its second, comma-separated: ``#room`` (that room), ``*mask?``
    (the rooms whose name it matches: M), ``!mask`` (those it does not: N), ``>n`` and
    ``<n`` (more, fewer members than n: U). A room must pass every condition, and be
    named or matched if any are. At most ``TARGMAX["LIST"]`` of them."""
    items = targets(door, "LIST", ",".join(params[:2]))
    if items is None:
        return
    rooms, masks, not_masks = [], [], []
    counts: dict[str, int] = {}
    for item in items:
        if item[0] in "<>":
            count = words.count(item[1:])
            if count is None:
                said = f"LIST {item}: a user count is a number (LIST >5, LIST <20)"
                door.server_message("NOTICE", door.nick, said)
                return
            counts[item[0]] = count
        elif item.startswith("!"):
            not_masks.append(item[1:])
        elif "*" in item or "?" in item:
            masks.append(item)
        else:
            rooms.append(item)
    listing = i.ListRooms(
        label="list",
        rooms=tuple(rooms),
        masks=tuple(masks),
        not_masks=tuple(not_masks),
        more_than=counts.get(">"),
        fewer_than=counts.get("<"),
    )
    door.queue.append(listing)


def mode(door: IrcDoor, params: tuple[str, ...]) -> None:
    target = params[0]
    if target.startswith("#"):
        if len(params) == 1:
            door.queue.append(i.ShowModes(target))
        elif params[1] in ("b", "+b") and len(params) == 2:  # anyone may list the bans
            door.queue.append(i.ShowBans(target))
        elif params[1] in ("e", "+e", "I", "+I"):
            end = {"e": "349", "I": "347"}[params[1][-1]]
            door.numeric(end, target, "End of list")
        else:
            _change_modes(door, target, params[1], list(params[2:]))
    elif name_key(target) == name_key(door.nick):
        _user_modes(door, params[1] if len(params) > 1 else "")
    else:
        door.numeric("502", "Can't change mode for other users")


def _user_modes(door: IrcDoor, modes: str) -> None:
    """``MODE mynick``: 221; ``MODE mynick +iw-B``: one ``SetUserModes`` for the letters
    known (``USER_MODES``), and one 501 if any letter is not (modern.ircdocs.horse)."""
    if not modes:
        door.queue.append(i.ShowUserModes())
        return
    on, unknown = True, False
    add: list[UserMode] = []
    remove: list[UserMode] = []
    for letter in modes:
        if letter in "+-":
            on = letter == "+"
        elif letter in USER_MODES_BY_LETTER:
            (add if on else remove).append(USER_MODES_BY_LETTER[letter])
        else:
            unknown = True
    if unknown:
        door.numeric("501", "Unknown MODE flag")
    if add or remove:
        door.queue.append(i.SetUserModes(tuple(add), tuple(remove)))


def _change_modes(door: IrcDoor, room: str, modes: str, args: list[str]) -> None:
    """``MODE #r +ov-v+m a b c``: each ``o``/``v`` with its nick is a ``SetRole``, each
    ``m``/``s`` a ``SetMode``, each ``b`` with its mask a ban or unban (at most ``MODES``
    changes in all; more are dropped, as ISUPPORT says); ``n`` and ``t`` are fixed on
    every room (``+n`` changes nothing, ``-n`` is refused); others are unknown (472)."""
    on, changes = True, 0
    for letter in modes:
        if letter in "+-":
            on = letter == "+"
        elif letter == "b":
            if not args:  # "MODE #r +b-m": the list, as servers answer a bare b
                door.queue.append(i.ShowBans(room))
                continue
            given = args.pop(0)
            if changes < MODES:
                door.queue.append(
                    i.BanFromRoom(room, ban_mask(given)) if on else i.UnbanFromRoom(room, given)
                )
            changes += 1
        elif letter in ROLES_BY_LETTER:
            if not args:
                door.numeric("461", "MODE", "Not enough parameters")
                return
            nick = args.pop(0)
            if changes < MODES:
                door.queue.append(i.SetRole(room, nick, ROLES_BY_LETTER[letter], on))
            changes += 1
        elif letter in MODES_BY_LETTER:
            mode, key, limit = MODES_BY_LETTER[letter], "", 0
            if on and mode in (Mode.KEY, Mode.LIMIT) and not args:
                door.numeric("461", "MODE", "Not enough parameters")
                return
            if on and mode is Mode.KEY:
                key = args.pop(0)
            elif on and mode is Mode.LIMIT:
                given = args.pop(0)
                if (counted := words.count(given)) is None:
                    shown = given or "*"  # (an empty parameter cannot be sent but last)
                    door.numeric("696", room, letter, shown, "A member limit is a number")
                    continue
                limit = counted
            elif mode is Mode.KEY and args:  # "-k key": clients send the key; it is not needed
                args.pop(0)
            if changes < MODES:
                door.queue.append(i.SetMode(room, mode, on, key=key, limit=limit))
            changes += 1
        elif letter in "nt":  # set on every room already; they cannot be unset
            if not on:
                door.numeric("472", letter, "is fixed on every channel here")
        else:
            door.numeric("472", letter, "is unknown mode char to me")


def ban_mask(given: str) -> str:
    """``+b``'s parameter as a mask: a bare nick ``Dave`` is ``Dave!*@*``, as servers
    complete it (the rules complete the rest: ``roles.normal_mask``); ``~a:NAME`` names
    an account."""
    if given.startswith("~") or "!" in given or "@" in given:
        return given
    return f"{given}!*@*"


def kick(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``KICK #r a,b :why`` kicks each from ``#r``; ``KICK #r,#s a,b`` pairs them up
    (``a`` from ``#r``, ``b`` from ``#s``: RFC 2812 3.2.8). Users past ``TARGMAX``'s
    are dropped silently (modern.ircdocs.horse); each kick is an intent flood control
    counts, and each is told as its own KICK."""
    reason = params[2] if len(params) > 2 else ""
    rooms, nicks = params[0].split(","), params[1].split(",")
    if len(rooms) > 1 and len(rooms) != len(nicks):
        door.numeric("461", "KICK", "Give one channel, or as many channels as nicks")
        return
    pairs = zip(rooms if len(rooms) > 1 else rooms * len(nicks), nicks, strict=True)
    kicks = [(room, nick) for room, nick in pairs if room and nick]  # (",": none)
    if not kicks:
        door.numeric("461", "KICK", "Not enough parameters")
    for room, nick in kicks[: TARGMAX["KICK"]]:
        door.queue.append(i.Kick(room, nick, reason))


def invite(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``INVITE nick #room``; ``INVITE`` alone lists one's own invitations (336, 337)."""
    if not params:
        door.queue.append(i.ShowInvitations())
    elif len(params) == 1:
        door.numeric("461", "INVITE", "Not enough parameters")
    else:
        door.queue.append(i.Invite(params[0], params[1]))


def kill(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.Kill(params[0], params[1] if len(params) > 1 else ""))


def oper(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.Oper(params[0], params[1]))


def wallops(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.SendWallops(params[0]))


def away(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.SetAway(params[0] if params else ""))


def ison(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.ListUsers(names=params, label="ison"))


def userhost(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.ListUsers(names=params[:5], label="userhost", detail=True))


def message_of_the_day(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.wire(*motd(door.settings, door.nick))


def lusers(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.ListUsers(limit=0, label="lusers"))
    door.queue.append(i.ListRooms(limit=0, label="lusers"))


def version(door: IrcDoor, params: tuple[str, ...]) -> None:
    server = door.settings.server_name
    door.numerics(
        ("351", f"chat-trio-{__version__}", server, ""),
        *(("005", *line) for line in isupport_lines(door.settings)),
    )


def server_time(door: IrcDoor, params: tuple[str, ...]) -> None:
    now = time.strftime("%A %B %d %Y -- %H:%M:%S UTC", time.gmtime())
    door.numeric("391", door.settings.server_name, now)


def info(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.numerics(
        ("371", f"chat-trio {__version__}: one chat, several doors, on Trio"),
        ("374", "End of INFO list"),
    )


_REFERENCES = {"LATEST": 1, "BEFORE": 1, "AFTER": 1, "AROUND": 1, "BETWEEN": 2}
"""CHATHISTORY's subcommands that read a target's messages, by how many message
references (``timestamp=`` or ``msgid=``) come between the target and the limit."""

_NOT_A_NICK = re.compile(r"[\s,*?!@:.#&$]")
"""What no nick can hold (modern.ircdocs.horse, and names.py's rules are stricter): a
target with one is no conversation anybody could have had."""

Reference = tuple[float | None, str]
"""A CHATHISTORY message reference: (a Unix time, "") or (None, a message id)."""


def chathistory(door: IrcDoor, params: tuple[str, ...]) -> None:
    """draft/chathistory: LATEST, BEFORE, AFTER, AROUND and BETWEEN, by ``timestamp=`` or
    ``msgid=`` (ISUPPORT MSGREFTYPES), from storage. A msgid the target never had finds
    nothing: an empty batch, as for a time with nothing around it. The target is a
    channel one is in (else ``INVALID_TARGET``: one that does not exist looks the same,
    so nobody learns which rooms exist) or a nick: the conversation with it, one's own
    only (the rules find it by identity)."""
    sub = params[0].upper()
    if sub == "TARGETS":
        _targets(door, params)
        return
    wanted = _REFERENCES.get(sub)
    if wanted is None:
        fail(
            door,
            "CHATHISTORY",
            "INVALID_PARAMS",
            sub,
            "Only LATEST, BEFORE, AFTER, AROUND and BETWEEN are supported",
        )
        return
    if len(params) != wanted + 3:
        fail(
            door,
            "CHATHISTORY",
            "INVALID_PARAMS",
            sub,
            f"CHATHISTORY {sub} takes a target, {wanted} message reference(s) and a limit",
        )
        return
    target, count = params[1], params[-1]
    if target.startswith("#"):
        invalid = name_key(target) not in door.rooms
    else:
        invalid = len(target) > NAME_MAX or _NOT_A_NICK.search(target) is not None
    if invalid:
        fail(door, "CHATHISTORY", "INVALID_TARGET", sub, target, "Messages could not be retrieved")
        return
    references: list[Reference | None] = []
    for given in params[2:-1]:
        if given == "*" and sub == "LATEST":  # the newest, whenever they are
            references.append(None)
            continue
        found = _reference(given) if given != "*" else "INVALID_PARAMS"
        if isinstance(found, str):
            fail(
                door,
                "CHATHISTORY",
                found,
                sub,
                given,
                "Use timestamp=YYYY-MM-DDThh:mm:ss.sssZ or msgid=ID",
            )
            return
        references.append(found)
    limit = words.count(count)
    if limit is None or not 1 <= limit <= HISTORY_MAX:
        fail(door, "CHATHISTORY", "INVALID_PARAMS", sub, count, f"The limit is 1 to {HISTORY_MAX}")
        return
    room, peer = (target, "") if target.startswith("#") else ("", target)
    ask = partial(i.ReadHistory, limit, room=room, peer=peer)
    first = references[0]
    if sub == "BETWEEN":  # newest first when the first is the later: storage sees which
        (after, after_id), (before, before_id) = first or (None, ""), references[1] or (None, "")
        door.queue.append(ask(after=after, after_id=after_id, before=before, before_id=before_id))
    elif first is None:
        door.queue.append(ask())
    elif sub in ("AFTER", "LATEST"):  # LATEST since a message: the newest after it
        door.queue.append(ask(after=first[0], after_id=first[1], newest=sub == "LATEST"))
    elif sub == "AROUND":
        door.queue.append(ask(around=first[0], around_id=first[1]))
    else:
        door.queue.append(ask(before=first[0], before_id=first[1]))


def _targets(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``CHATHISTORY TARGETS timestamp=… timestamp=… N``: where one has talked between
    the two times (either order), as a ``draft/chathistory-targets`` batch."""
    if len(params) != 4:
        fail(
            door,
            "CHATHISTORY",
            "INVALID_PARAMS",
            "TARGETS",
            "CHATHISTORY TARGETS takes two timestamps and a limit",
        )
        return
    moments = []
    for given in params[1:3]:
        found = _reference(given) if given != "*" else "INVALID_PARAMS"
        if not isinstance(found, str) and found[0] is None:
            found = "INVALID_PARAMS"  # TARGETS takes times only
        if isinstance(found, str):
            fail(
                door,
                "CHATHISTORY",
                found,
                "TARGETS",
                given,
                "Use timestamp=YYYY-MM-DDThh:mm:ss.sssZ",
            )
            return
        moments.append(found[0])
    limit = words.count(params[3])
    if limit is None or not 1 <= limit <= HISTORY_MAX:
        fail(
            door,
            "CHATHISTORY",
            "INVALID_PARAMS",
            "TARGETS",
            params[3],
            f"The limit is 1 to {HISTORY_MAX}",
        )
        return
    door.queue.append(i.ReadTargets(moments[0] or 0.0, moments[1] or 0.0, limit))


def fail(door: IrcDoor, command: str, code: str, *context: str) -> None:
    """An IRCv3 standard reply to ``command`` from the door itself (the rules' refusals
    have render.FAILS): ``FAIL <command> <code> <context...> :text``."""
    door.server_message("FAIL", command, code, *context)


def _reference(given: str) -> Reference | str:
    """``timestamp=2026-12-01T09:00:00.000Z`` or ``msgid=ID`` as a ``Reference``; or the
    FAIL code for what it is not: ``INVALID_MSGREFTYPE`` for another kind,
    ``INVALID_PARAMS`` for a kind we know with a value that is not one."""
    kind, _, value = given.partition("=")
    if kind == "msgid":
        return (None, value) if value else "INVALID_PARAMS"
    if kind != "timestamp":
        return "INVALID_MSGREFTYPE"
    moment = _timestamp(value)
    return "INVALID_PARAMS" if moment is None else (moment, "")


def _timestamp(value: str) -> float | None:
    """``2026-12-01T09:00:00.000Z`` (milliseconds and Z optional) as Unix time, or None."""
    whole, _, fraction = value.removesuffix("Z").partition(".")
    try:
        moment = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    if not fraction:
        return float(moment)
    if words.count(fraction) is None or len(fraction) > 9:
        return None
    return moment + float(f"0.{fraction}")


def redact(door: IrcDoor, params: tuple[str, ...]) -> None:
    """draft/message-redaction: ``REDACT <target> <msgid> [:reason]``."""
    door.queue.append(i.Redact(params[0], params[1], params[2] if len(params) > 2 else ""))


HELP_PER_LINE = 12  #: command names per 705 line of the index (short, readable lines)
HELP_SUBJECT_SHOWN = 32
"""Characters of an unknown subject said back in 524: a command's name is shorter, and
the answer stays well within 512 bytes whatever was asked."""


def help_command(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``HELP`` (and ``HELPOP``, as InspIRCd calls it): the commands there are, or one
    command's usage and what it does, from its row of ``COMMANDS``, the one place they
    are written (704, 705 ..., 706; a subject that is no command: 524)."""
    subject = params[0].removeprefix("/").upper() if params else ""
    if not subject:
        listed = sorted(COMMANDS)
        rows = [
            " ".join(listed[n : n + HELP_PER_LINE]) for n in range(0, len(listed), HELP_PER_LINE)
        ]
        door.numerics(
            ("704", "*", "The commands, as HELP <command> explains each:"),
            *(("705", "*", row) for row in rows),
            ("706", "*", "End of /HELP"),
        )
    elif (command := COMMANDS.get(subject)) is not None:
        door.numerics(
            ("704", subject, command.usage),
            ("705", subject, command.summary),
            ("706", subject, "End of /HELP"),
        )
    else:
        shown = params[0][:HELP_SUBJECT_SHOWN]
        door.numeric("524", shown, "No help on that: HELP lists the commands there are")


def links(door: IrcDoor, params: tuple[str, ...]) -> None:
    """``LINKS [[<server>] <mask>]``: the servers there are, one here (364 with hop count 0
    and ``--server-description``), if the mask (``*``, ``?``) matches its name; then 365."""
    server, given = door.settings.server_name, params[-1] if params else "*"
    found = roles.glob(given.casefold(), server.casefold())
    door.numerics(
        *((("364", server, server, f"0 {door.settings.description}"),) if found else ()),
        ("365", given, "End of /LINKS list"),
    )


def markread(door: IrcDoor, params: tuple[str, ...]) -> None:
    """draft/read-marker: ``MARKREAD <target>`` asks for the marker, ``MARKREAD <target>
    timestamp=...`` moves it (chat/markers.py). A client never sends ``*``: only the
    server says there is none."""
    if not params:
        fail(door, "MARKREAD", "NEED_MORE_PARAMS", "Missing parameters")
        return
    target = params[0]
    if len(params) == 1:
        door.queue.append(i.MarkRead(target))
        return
    found = _reference(params[1])  # (a msgid is no time)
    moment = found[0] if isinstance(found, tuple) else None
    if moment is None:
        text = "Use timestamp=YYYY-MM-DDThh:mm:ss.sssZ"
        fail(door, "MARKREAD", "INVALID_PARAMS", target, params[1], text)
        return
    door.queue.append(i.MarkRead(target, moment))


def leave(door: IrcDoor, params: tuple[str, ...]) -> None:
    door.queue.append(i.Quit(reason=params[0] if params else ""))


COMMANDS: dict[str, Command] = {
    "CAP": Command(
        1, registration.cap, "CAP LS [302] | REQ :<caps> | LIST | END",
        "negotiate IRCv3 capabilities", before_registration=True,
    ),
    "AUTHENTICATE": Command(
        1, registration.authenticate, "AUTHENTICATE PLAIN | <base64> | *",
        "log in with SASL PLAIN while registering", before_registration=True,
    ),
    "NICK": Command(
        1, registration.nick, "NICK <nick>", "choose your nick, or change it",
        before_registration=True,
    ),
    "USER": Command(
        1, registration.user, "USER <username> 0 * :<realname>",
        "give your username and real name when registering", before_registration=True,
    ),
    "PASS": Command(
        1, registration.password, "PASS <password>",
        "log in to your registered nick while registering", before_registration=True,
    ),
    "PING": Command(  # its token is echoed: needed
        1, ping, "PING <token>", "the server answers PONG with the token",
        before_registration=True,
    ),
    "PONG": Command(
        0, pong, "PONG <token>", "answer the server's PING", before_registration=True
    ),
    "QUIT": Command(
        0, leave, "QUIT [:<reason>]", "leave the chat", before_registration=True
    ),
    "JOIN": Command(
        1, join, "JOIN <#room>{,<#room>} [<key>{,<key>}] | JOIN 0",
        "enter rooms, creating those that do not exist; JOIN 0 leaves every room",
    ),
    "PART": Command(1, part, "PART <#room>{,<#room>} [:<reason>]", "leave rooms"),
    "PRIVMSG": Command(
        0, privmsg, "PRIVMSG <target>{,<target>} :<text>",
        "say something in a room, or to a person (each target costs a line)",
    ),
    "NOTICE": Command(
        0, notice, "NOTICE <target>{,<target>} :<text>",
        "like PRIVMSG, but nothing ever answers it",
    ),
    "TAGMSG": Command(
        1, tagmsg, "@+<tag>=<value> TAGMSG <target>{,<target>}",
        "send client tags without text (typing notifications, reactions)",
    ),
    "TOPIC": Command(
        1, topic, "TOPIC <#room> [:<topic>]", "show a room's topic, or set it (operators)"
    ),
    "NAMES": Command(0, names, "NAMES <#room>{,<#room>}", "who is in rooms"),
    "WHO": Command(
        0, who, "WHO <#room|nick|mask> [%<fields>[,<token>]]",
        "who is in a room, or whose nick, username or real name a mask matches",
    ),
    "WHOIS": Command(1, whois, "WHOIS <nick>", "what is known about someone"),
    "WHOWAS": Command(
        1, whowas, "WHOWAS <nick> [<count>]",
        "who had a nick lately (the newest first; no count or 0: all kept)",
    ),
    "MONITOR": Command(
        1, monitor, "MONITOR + <nick>{,<nick>} | - <nick>{,<nick>} | C | L | S",
        "be told when nicks come online or leave (at most MONITOR= of them)",
    ),
    "SETNAME": Command(
        1, setname, "SETNAME :<realname>", "change your real name (setname)"
    ),
    "LIST": Command(
        0, list_rooms, "LIST [<#room|mask|!mask|>n|<n>{,...}]",
        "the rooms, or those named, matching a mask or not, with more or fewer members",
    ),
    "MODE": Command(
        1, mode, "MODE <#room> [+|-<modes> [<params>]] | MODE <nick> [+|-<modes>]",
        "show or change a room's modes (o v b i k l m s), or your own (i w B)",
    ),
    "KICK": Command(
        2, kick, "KICK <#room>{,<#room>} <nick>{,<nick>} [:<reason>]",
        "put people out of a room (operators)",
    ),
    "INVITE": Command(
        0, invite, "INVITE <nick> <#room> | INVITE",
        "let someone into an invite-only room (operators); alone: your invitations",
    ),
    "KILL": Command(
        1, kill, "KILL <nick> [:<reason>]", "disconnect someone (server admins)"
    ),
    "OPER": Command(
        2, oper, "OPER <name> <password>",
        "become a server operator with an admin account's password",
    ),
    "WALLOPS": Command(
        1, wallops, "WALLOPS :<text>", "tell every +w user something (operators)"
    ),
    "AWAY": Command(0, away, "AWAY [:<text>]", "say you are away (no text: back)"),
    "ISON": Command(1, ison, "ISON <nick>{ <nick>}", "which of these nicks are online"),
    "USERHOST": Command(
        1, userhost, "USERHOST <nick>{ <nick>}", "the masks of up to five nicks"
    ),
    "MOTD": Command(0, message_of_the_day, "MOTD", "the message of the day"),
    "LUSERS": Command(0, lusers, "LUSERS", "how many people and rooms there are"),
    "VERSION": Command(0, version, "VERSION", "the server's version and ISUPPORT"),
    "TIME": Command(0, server_time, "TIME", "the server's time"),
    "INFO": Command(0, info, "INFO", "about the server's software"),
    "CHATHISTORY": Command(
        3, chathistory,
        "CHATHISTORY LATEST|BEFORE|AFTER|AROUND <target> <ref> <limit> | BETWEEN <target>"
        " <ref> <ref> <limit> | TARGETS <timestamp> <timestamp> <limit>",
        "earlier lines of a room or a private conversation; where you talked lately",
    ),
    "MARKREAD": Command(  # (no parameter: FAIL, as the spec says, not 461)
        0, markread, "MARKREAD <target> [timestamp=<time>]",
        "where you have read a room or conversation up to (draft/read-marker)",
    ),
    "REDACT": Command(
        2, redact, "REDACT <target> <msgid> [:<reason>]",
        "delete your own message, or any in a room you run (draft/message-redaction)",
    ),
    "CS": Command(
        0, _chanserv_command, "CS REGISTER|DROP|INFO|AMODE <#room> ...",
        "registered rooms (ChanServ)",
    ),
    "CHANSERV": Command(
        0, _chanserv_command, "CHANSERV REGISTER|DROP|INFO|AMODE <#room> ...",
        "registered rooms (ChanServ)",
    ),
    "LINKS": Command(
        0, links, "LINKS [<mask>]", "the servers of this network: this one alone"
    ),
    "HELP": Command(0, help_command, "HELP [<command>]", "these lines"),
    "HELPOP": Command(0, help_command, "HELPOP [<command>]", "the same as HELP"),
}  # fmt: skip
"""Every command there is, by its name (upper-case)."""
