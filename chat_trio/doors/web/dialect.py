"""The web door's dialect: JSON messages to intents, events to JSON (docs/protocol.md).

The client sends one JSON object per WebSocket message, ``{"type": "say", "room":
"#lobby", "text": "hi"}``: one type per intent, with the intent's fields (``INTENTS``),
or ``{"type": "command", "line": "/join #x", "room": "#lobby"}`` for a line typed with a
slash, read by the slash-command table (doors/commands.py) (``room`` is where the user is looking).
The server sends one JSON array of event objects per message, in order.

A message is checked whole before anything happens: unknown types and fields, missing
fields and wrong types are refused with ``bad-message`` saying which; every string is
checked as every door's words are (chat/words.py: text that others see is one line, and
no lone surrogate gets in). Refusals and confirmations
carry the problem's code with its parameters, and ``message``: the sentence every door says
(doors/wording.py), so that every door words them alike (the page shows it as it is).

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import enum
import json
import math
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from chat_trio import __version__
from chat_trio.chat import intents as i
from chat_trio.chat import words
from chat_trio.chat.events import (
    AccountChanged,
    Action,
    AskName,
    Away,
    BanChanged,
    BanList,
    Disconnected,
    Done,
    Event,
    Gone,
    Goodbye,
    Greeting,
    Help,
    History,
    Invitation,
    Invitations,
    Invited,
    InviteSent,
    Joined,
    Kicked,
    Left,
    MarkedRead,
    Missed,
    ModeChanged,
    Modes,
    NickChanged,
    PastNames,
    Presence,
    Private,
    RealnameChanged,
    Redacted,
    Refused,
    RoleChanged,
    RoomBan,
    RoomEntered,
    RoomInfo,
    RoomLeft,
    RoomList,
    Said,
    StatusMessage,
    Tagged,
    Targets,
    Topic,
    TopicChanged,
    Unheard,
    Unreachable,
    UserList,
    UserMode,
    UserModes,
    Wallops,
    Watched,
    WatchList,
    Welcome,
    Whois,
)
from chat_trio.chat.presence import WATCH_MAX
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.registry import PASSWORD_MAX, PASSWORD_MIN
from chat_trio.chat.vocabulary import NAME_MAX
from chat_trio.doors import Answer, Item, Local, commands, wording
from chat_trio.doors.lines import DEFAULT_MAX_LINE
from chat_trio.doors.place import Place

PROTOCOL = 1
"""The dialect's version, sent in the greeting; bumped when a change would break a client."""

INTENTS: dict[str, type[i.Intent]] = {
    "choose-name": i.ChooseName,
    "log-in": i.LogIn,
    "rename": i.Rename,
    "say": i.Say,
    "send-private": i.SendPrivate,
    "set-away": i.SetAway,
    "join": i.Join,
    "leave": i.Leave,
    "show-topic": i.ShowTopic,
    "set-topic": i.SetTopic,
    "list-users": i.ListUsers,
    "list-rooms": i.ListRooms,
    "look-up": i.LookUp,
    "look-up-past": i.LookUpPast,
    "watch": i.Watch,
    "set-realname": i.SetRealname,
    "read-history": i.ReadHistory,
    "mark-read": i.MarkRead,
    "read-targets": i.ReadTargets,
    "redact": i.Redact,
    "register": i.Register,
    "change-password": i.ChangePassword,
    "unregister": i.Unregister,
    "set-role": i.SetRole,
    "show-modes": i.ShowModes,
    "set-mode": i.SetMode,
    "invite": i.Invite,
    "ban-from-room": i.BanFromRoom,
    "unban-from-room": i.UnbanFromRoom,
    "show-bans": i.ShowBans,
    "show-invitations": i.ShowInvitations,
    "kick": i.Kick,
    "register-room": i.RegisterRoom,
    "drop-room": i.DropRoom,
    "show-room-info": i.ShowRoomInfo,
    "set-room-op": i.SetRoomOp,
    "kill": i.Kill,
    "ban": i.Ban,
    "unban": i.Unban,
    "oper": i.Oper,
    "set-user-modes": i.SetUserModes,
    "show-user-modes": i.ShowUserModes,
    "send-wallops": i.SendWallops,
    "quit": i.Quit,
}
"""Every intent a client may send, by its ``type``. Left out: ``Focus`` (the text door's
current room; the page switches rooms itself), ``Hangup`` (closing the socket says it),
``Quit``'s ``interrupted`` (telnet's Ctrl-C), ``Say``'s ``to`` (IRC's STATUSMSG: the
page receives lines to a room's operators, but does not send them)."""

_HIDDEN = {
    (i.Quit, "interrupted"),
    (i.ListUsers, "names"),
    (i.Say, "to"),
    (i.Say, "tags"),  # IRC's client tags: the page sends none
    (i.SendPrivate, "tags"),
}
_MEASURED = frozenset({"text", "reason"})
"""Fields as long as a line at most (``--max-line`` bytes, as on the text door)."""


def _fields(cls: type[i.Intent]) -> dict[str, tuple[object, Any]]:
    """``cls``'s fields a client may send: name -> (type, default or NOTHING)."""
    hints = typing.get_type_hints(cls)
    return {
        field.name: (str if hints[field.name] is i.Secret else hints[field.name], field.default)
        for field in attrs.fields(cls)
        if (cls, field.name) not in _HIDDEN
    }


_SPECS: dict[str, tuple[type[i.Intent], dict[str, tuple[object, Any]]]] = {
    kind: (cls, _fields(cls)) for kind, cls in INTENTS.items()
}


class BadMessage(Exception):
    """A message that is not one of ours; the text says what is wrong with it."""


def _value(kind: str, name: str, wanted: object, value: Any) -> Any:
    """``value`` if it is of the ``wanted`` type (JSON's null for ``None``; an enum's
    value for the enum: ``"operator"`` for ``Role.OPERATOR``; a list of them for a tuple
    of an enum: ``["bot"]`` for ``(UserMode.BOT,)``); else raise."""
    if typing.get_origin(wanted) is tuple:  # a bounded list: of an enum's values, or strings
        member = typing.get_args(wanted)[0]
        if member is str:  # (Watch's names, ListRooms' masks)
            most, said = WATCH_MAX, f"at most {WATCH_MAX} strings"
        elif isinstance(member, type) and issubclass(member, enum.Enum):  # each mode once
            most, said = len(member), _describe(member)
        else:
            raise BadMessage(f'"{name}" of "{kind}" cannot be sent from the page')
        if not isinstance(value, list) or len(value) > most:
            raise BadMessage(f'"{name}" of "{kind}" must be a list of {said}')
        return tuple(_value(kind, name, member, each) for each in value)
    if isinstance(wanted, type) and issubclass(wanted, enum.Enum):
        try:
            return wanted(value)
        except ValueError:
            said = " or ".join(f'"{member.value}"' for member in wanted)
            raise BadMessage(f'"{name}" of "{kind}" must be {said}') from None
    if value is None and (wanted is float or type(None) in typing.get_args(wanted)):
        return math.inf if wanted is float else None  # Ban's seconds: null is forever
    if wanted is str or str in typing.get_args(wanted):
        ok = isinstance(value, str)
    elif wanted is bool:
        ok = isinstance(value, bool)
    elif wanted is int or int in typing.get_args(wanted):  # (SetMode's limit: a plain int)
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:  # a number: float | None, or Ban's float
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    if not ok:
        raise BadMessage(f'"{name}" of "{kind}" must be {_describe(wanted)}')
    return value


def _describe(wanted: object) -> str:
    if isinstance(wanted, type) and issubclass(wanted, enum.Enum):
        return ", ".join(f'"{member.value}"' for member in wanted)
    args = typing.get_args(wanted) or (wanted,)
    base = next(a for a in args if a is not type(None))
    said = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}
    return said[base] + (" or null" if type(None) in args else "")


def parse(message: str, place: Place, max_line: int, *, naming: bool = False) -> Item:
    """One client message as an intent, or the door's answer if it cannot be one.

    ``place`` is where the user is (its rooms), for ``command`` lines; ``max_line`` bounds
    the text fields in UTF-8 bytes, as the text door bounds a line; ``naming``: the user
    has no name yet (``command`` lines read as the text door reads them at its prompt).
    """
    try:
        return _parse(message, place, max_line, naming)
    except BadMessage as exc:
        return Answer((Refused(Problem.BAD_MESSAGE, name=str(exc)),))


def _parse(message: str, place: Place, max_line: int, naming: bool) -> Item:
    try:
        obj = json.loads(message)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        raise BadMessage("not JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise BadMessage('not an object with a "type"')
    # JSON is the one way in that can carry a lone surrogate ("\\udcff"): none gets past
    # here, into an intent or back in a refusal (words.py, rule 2).
    obj = {words.text(k): words.text(v) if isinstance(v, str) else v for k, v in obj.items()}
    kind = obj.pop("type")
    if kind == "command":
        return _command(obj, place, max_line, naming)
    if kind not in _SPECS:
        raise BadMessage(f'unknown type "{kind[:32]}"')
    cls, fields = _SPECS[kind]
    if kind == "leave" and isinstance(obj.get("room"), str):  # never the last room
        left = commands.leave(obj["room"], place)
        if isinstance(left, Refused):
            return Answer((left,))
    if unknown := sorted(set(obj) - set(fields)):
        raise BadMessage(f'"{kind}" has no field "{unknown[0][:32]}"')
    values: dict[str, Any] = {}
    for name, (wanted, default) in fields.items():
        if name not in obj:
            if default is attrs.NOTHING:
                raise BadMessage(f'"{kind}" needs "{name}"')
            continue
        value = _value(kind, name, wanted, obj[name])
        if name in _MEASURED and len(value.encode()) > max_line:
            return Answer((Refused(Problem.LINE_TOO_LONG, limit=max_line),))
        values[name] = value  # the intent checks its text (words.py)
    return cls(**values)


def _command(obj: dict[str, Any], place: Place, max_line: int, naming: bool) -> Item:
    """``{"type": "command", "line": "/join #x", "room": "#lobby"}``, as the text door
    reads the line with ``room`` as its current room."""
    line, room = obj.get("line"), obj.get("room", place.current)
    if not isinstance(line, str) or not line.startswith("/"):
        raise BadMessage('"line" of "command" must be a string starting with /')
    if not isinstance(room, str):
        raise BadMessage('"room" of "command" must be a string')
    if len(line.encode()) > max_line:
        return Answer((Refused(Problem.LINE_TOO_LONG, limit=max_line),))
    return commands.read(words.line(line), Place(place.rooms, room), naming=naming)


# -- events to JSON ------------------------------------------------------------------------


def _registered(e: Refused) -> str:
    if not e.naming:
        return wording.PROBLEMS[Problem.NAME_REGISTERED](e)
    return f'The name "{e.name}" is registered. If it is yours, enter its password too.'


_PROBLEMS = wording.PROBLEMS | {Problem.NAME_REGISTERED: _registered}
"""The page's wording: the text door's, but the page has no prompt to type a password
at; it has a Password box."""
_OUTCOMES = wording.OUTCOMES | {
    Outcome.REGISTERED: lambda e: (
        f"Registered {e.name}. Nobody else can use this name now; to log in next time, "
        "enter it with its password."
    ),
}


def _seconds(millis: int | None) -> float | None:
    """A read marker (chat/markers.py: milliseconds) in the page's Unix time (seconds)."""
    return None if millis is None else millis / 1000


def greeting(max_line: int = DEFAULT_MAX_LINE) -> dict[str, Any]:
    """The first message: the dialect's version, and the limits the page checks before
    sending (so that it can keep what was typed, and say why, instead of losing it)."""
    limits = {"name": NAME_MAX, "line": max_line, "password": [PASSWORD_MIN, PASSWORD_MAX]}
    return {"type": "greeting", "protocol": PROTOCOL, "version": __version__, "limits": limits}


def _help(e: Help) -> dict[str, Any]:
    """The commands the user may use, each with its usage and summary."""
    return {"type": "help", "commands": [{"usage": u, "summary": s} for u, s in e.commands]}


def _whois(e: Whois) -> dict[str, Any]:
    if e.label == commands.HELP_LABEL:  # the user's own, asked for by /help
        return _help(commands.help_for(e))
    return {
        "type": "whois", "name": e.name, "rooms": list(e.rooms), "since": e.since,
        "idle": e.idle, "account": e.account, "admin": e.admin, "away": e.away,
        "label": e.label, "message": wording.whois(e), "user": e.user, "realname": e.realname,
        "bot": e.bot,
    }  # fmt: skip


def _number(value: float) -> float | None:
    return None if math.isinf(value) else value  # JSON has no infinity: null is "never"


def _set_fields(event: Refused | Done) -> dict[str, Any]:
    """The parameters that are set (a refusal names only the ones its problem uses)."""
    values = attrs.asdict(event, filter=lambda a, v: v != a.default and a.name != "problem")
    values.pop("outcome", None)
    if "until" in values:
        values["until"] = _number(values["until"])
    return values


def _history(e: History) -> dict[str, Any]:
    entries = [
        {
            "time": x.time,
            "kind": x.kind.value,
            "room": x.room,
            "name": x.name,
            "text": x.text,
            "id": x.id,
        }
        | ({"target": x.target} if x.target else {})
        for x in e.entries
    ]
    return {"type": "history", "title": e.title, "asked": e.asked, "entries": entries}


_NOTICE: dict[bool, dict[str, Any]] = {False: {}, True: {"notice": True}}
"""A message that is a notice says so (``"notice": true``); others leave the field out, as
they did before notices existed."""
_BOT: dict[bool, dict[str, Any]] = {False: {}, True: {"bot": True}}
"""A bot's message (IRC's user mode ``+B``) says so (``"bot": true``), as a notice does."""


def _ban(ban: RoomBan) -> dict[str, Any]:
    """One of a room's bans: its fields, and ``shown``, the mask IRC shows for it."""
    return {
        "kind": ban.kind.value, "mask": ban.mask, "shown": ban.shown, "by": ban.by,
        "at": ban.at, "reason": ban.reason,
    }  # fmt: skip


def _gone(e: Gone) -> dict[str, Any]:
    return {"name": e.name, "realname": e.realname, "when": e.when}


_ENCODE: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    Greeting: lambda e: greeting(),
    AskName: lambda e: {"type": "ask-name"},
    Welcome: lambda e: {"type": "welcome", "name": e.name, "online": e.online, "rooms": e.rooms},
    Joined: lambda e: {
        "type": "joined", "name": e.name, "account": e.account, "chat": e.room is None,
        "admin": e.admin, "operator": e.operator, "away": e.away,
    },
    Left: lambda e: {
        "type": "left", "name": e.name, "reason": e.reason.value, "chat": e.room is None,
        "text": e.text,
    },
    Said: lambda e: {
        "type": "said", "name": e.name, "text": e.text, "account": e.account, "id": e.id
    } | _NOTICE[e.notice] | _BOT[e.bot],
    Action: lambda e: {
        "type": "action", "name": e.name, "text": e.text, "account": e.account, "id": e.id
    } | _BOT[e.bot],
    Away: lambda e: {"type": "away", "name": e.name, "text": e.text},
    RealnameChanged: lambda e: {"type": "realname", "name": e.name, "realname": e.realname},
    PastNames: lambda e: {
        "type": "past-names", "name": e.name, "gone": list(map(_gone, e.gone)),
        "message": " ".join(wording.past_names(e)),
    },
    Presence: lambda e: {
        "type": "presence", "online": [name for name, _ in e.online], "offline": list(e.offline)
    },
    WatchList: lambda e: {"type": "watch-list", "names": list(e.names)},
    Watched: lambda e: {"type": "watched", "event": _ENCODE[type(e.event)](e.event)},
    AccountChanged: lambda e: {
        "type": "account", "name": e.name, "account": e.account, "admin": e.admin
    },
    Private: lambda e: {
        "type": "private", "peer": e.peer, "text": e.text, "incoming": e.incoming,
        "action": e.action, "away": e.away, "id": e.id, "time": e.time, "account": e.account,
    } | _NOTICE[e.notice] | _BOT[e.bot],
    NickChanged: lambda e: {"type": "nick", "old": e.old, "new": e.new},
    TopicChanged: lambda e: {
        "type": "topic-changed", "room": e.room, "name": e.name, "text": e.text, "id": e.id
    },
    RoomEntered: lambda e: {
        "type": "room-entered", "room": e.room, "members": e.members, "topic": e.topic,
        "joined": e.joined, "topic_by": e.topic_by, "topic_at": e.topic_at,
        "marker": _seconds(e.marker),
    },
    Topic: lambda e: {"type": "topic", "room": e.room, "text": e.text, "by": e.by, "at": e.at},
    Unheard: lambda e: {"type": "unheard", "room": e.room},
    Unreachable: lambda e: {"type": "unreachable", "room": e.room, "text": wording.unreachable(e)},
    Missed: lambda e: {"type": "missed", "room": e.room, "text": wording.missed(e)},
    RoomLeft: lambda e: {
        "type": "room-left", "room": e.room, "rooms": list(e.rooms), "by": e.by,
        "reason": e.reason,
    } | ({"message": wording.kicked("You were", e.room, e.by, e.reason) + "."} if e.by else {}),
    RoleChanged: lambda e: {
        "type": "role", "room": e.room, "name": e.name, "role": e.role.value, "on": e.on,
        "by": e.by, "message": wording.role_changed(e) + ".",
    },
    ModeChanged: lambda e: {
        "type": "mode", "room": e.room, "mode": e.mode.value, "on": e.on, "by": e.by,
        "value": e.value, "message": wording.mode_changed(e) + ".",
    },
    Modes: lambda e: {
        "type": "modes", "room": e.room, "modes": sorted(m.value for m in e.modes),
        "key": e.key, "limit": e.limit, "message": wording.modes(e) + ".", "label": e.label,
        "created": e.created,
    },
    BanChanged: lambda e: {
        "type": "ban", "room": e.room, "on": e.on, "by": e.by, "ban": _ban(e.ban),
        "message": wording.ban_changed(e) + ".",
    },
    BanList: lambda e: {
        "type": "bans", "room": e.room, "bans": [_ban(b) for b in e.bans],
        "lines": wording.ban_lines(e),
    },
    RoomInfo: lambda e: {
        "type": "room-info", "room": e.room, "founder": e.founder,
        "registered_at": e.registered_at, "ops": list(e.ops), "server": e.server,
        "message": wording.room_info(e) + ".",
    },
    Invitation: lambda e: {
        "type": "invitation", "room": e.room, "by": e.by,
        "message": wording.invitation(e) + ".",
    },
    StatusMessage: lambda e: {
        "type": "status-message", "room": e.room, "to": e.to.value, "name": e.name,
        "text": e.text, "action": e.action, "notice": e.notice, "own": e.own,
        "account": e.account, "id": e.id, "message": wording.status_message(e),
    } | _BOT[e.bot],
    Invitations: lambda e: {
        "type": "invitations", "rooms": list(e.rooms), "message": wording.invitations(e) + ".",
    },
    InviteSent: lambda e: {
        "type": "invite-sent", "room": e.room, "name": e.name,
        "message": wording.invite_sent(e) + ".",
    },
    Invited: lambda e: {
        "type": "invited", "room": e.room, "by": e.by, "name": e.name,
        "message": wording.invited(e) + ".",
    },
    Targets: lambda e: {
        "type": "targets", "targets": [{"name": n, "time": t} for n, t in e.targets]
    },
    Redacted: lambda e: {
        "type": "redacted", "target": e.target, "id": e.id, "by": e.by, "author": e.author,
        "reason": e.reason, "message": wording.redacted(e) + ".",
    },
    Kicked: lambda e: {
        "type": "kicked", "room": e.room, "name": e.name, "by": e.by, "reason": e.reason,
        "message": wording.kicked(f"{e.name} was", e.room, e.by, e.reason) + ".",
    },
    UserList: lambda e: {
        "type": "users", "room": e.room, "total": e.total, "names": list(e.names),
        "admins": sorted(e.admins), "away": sorted(e.away), "label": e.label,
        "operators": sorted(e.operators), "voiced": sorted(e.voiced), "secret": e.secret,
        "mask": e.mask, "people": [attrs.asdict(p) for p in e.people],  # (IRC's WHO asks)
    } | ({"invisible": e.invisible} if e.invisible else {}),
    RoomList: lambda e: {
        "type": "rooms", "total": e.total, "label": e.label,
        "rooms": [
            {"name": name, "members": members, "topic": topic}
            for (name, members), topic in zip(e.rooms, e.topics or [""] * len(e.rooms), strict=True)
        ],
    },
    Whois: _whois,
    UserModes: lambda e: {
        "type": "user-modes", "name": e.name,
        "modes": [m.value for m in UserMode if m in e.modes],
        "added": [m.value for m in e.added], "removed": [m.value for m in e.removed],
        "message": wording.user_modes(e) + ".",
    },
    Wallops: lambda e: {
        "type": "wallops", "name": e.name, "text": e.text, "message": wording.wallops(e),
    },
    History: _history,
    Help: _help,
    Refused: lambda e: {"type": "refused", "problem": e.problem.value} | _set_fields(e)
    | {"message": wording.refusal(e, _PROBLEMS)},
    Done: lambda e: {"type": "done", "outcome": e.outcome.value} | _set_fields(e)
    | {"message": wording.done(e, _OUTCOMES)},
    Goodbye: lambda e: {"type": "goodbye", "reason": e.reason.value},
    MarkedRead: lambda e: {"type": "marker", "target": e.target, "time": _seconds(e.at)},
    Disconnected: lambda e: {
        "type": "disconnected", "reason": e.reason.value, "message": wording.disconnected(e)
    },
}  # fmt: skip
"""Every event the rules make, as a JSON object (docs/protocol.md lists them)."""

_IN_A_ROOM = frozenset(
    {Joined, Left, Said, Action, Away, AccountChanged, NickChanged, RealnameChanged}
)
"""Broadcasts that name the room they happened in only by where they are delivered."""


UNSHOWN = (Tagged,)
"""Events the page is never sent: client tags without text (IRC's TAGMSG) are for IRC
clients that take message-tags; the page has no form for them."""


def encode(events: Sequence[Event | Local], max_line: int = DEFAULT_MAX_LINE) -> bytes:
    """``events`` for one connection, as one JSON array (UTF-8); ``max_line``: the
    connection's bound on a line, told in the greeting. ``b""`` when every one of
    them is ``UNSHOWN``."""
    shown = [e for e in events if not isinstance(e, UNSHOWN)]
    if events and not shown:
        return b""
    return dump([greeting(max_line) if type(e) is Greeting else _ENCODE[type(e)](e) for e in shown])


def encode_room(events: Sequence[Event], room: str, wall: float) -> bytes:
    """A room's broadcasts, each with the ``room`` and the server's ``time`` (Unix time);
    ``b""`` when every one of them is ``UNSHOWN``."""
    objects = []
    for event in events:
        if isinstance(event, UNSHOWN):
            continue
        obj = _ENCODE[type(event)](event)
        if type(event) in _IN_A_ROOM:
            obj["room"] = room
        obj["time"] = wall
        objects.append(obj)
    return dump(objects) if objects or not events else b""


def encode_own(
    room: str, name: str, text: str, action: bool, id: str, notice: bool = False
) -> bytes:
    """The user's own line, as the room saw it, marked ``own``, with the ``id`` the rules
    gave it (the entry it became: ``WebDoor.posted``); no time: the page's."""
    kind = "action" if action else "said"
    own = {"type": kind, "room": room, "name": name, "text": text, "own": True, "id": id}
    return dump([own | _NOTICE[notice]])


def dump(objects: list[dict[str, Any]]) -> bytes:
    # ensure_ascii=False: UTF-8 is shorter for most scripts, and the frame is text anyway.
    return json.dumps(objects, ensure_ascii=False, separators=(",", ":")).encode()
