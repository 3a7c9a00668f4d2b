"""The slash commands: one table row each, the only list there is, for every door that
reads typed lines (the text door; the web page's message box, as ``command`` messages).

Each row says how the command is typed (its usage, shown by ``/help`` and in ``Usage:``
refusals), what it does, whether it needs a username first, and how its arguments become
an intent. A parse either returns the intent or refuses with a ``Refused`` of its own
(missing arguments, a bad number); everything else is for the rules to check.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import attrs

from chat_trio.chat import intents as i
from chat_trio.chat.events import Help, Mode, Refused, Role, Whois
from chat_trio.chat.problems import Problem
from chat_trio.chat.vocabulary import HISTORY_MAX, name_key
from chat_trio.chat.words import count
from chat_trio.doors import Answer, Item
from chat_trio.doors.place import Place

USERS_SHOWN = 100
"""/users names at most this many, so its answer stays one readable line (and far below
any send-queue bound) even with 10,000 users online."""
ROOMS_SHOWN = 100  #: /rooms lists at most this many (the busiest)

_DURATION = re.compile(r"([0-9]{1,6})([smhd])\b")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int | None:
    """The seconds ``text`` says (``90s``, ``30m``, ``12h``, ``7d``), or None if it says
    none: a ban's length, as ``/ban`` and ``chat-trio ban add --for`` take it."""
    match = _DURATION.fullmatch(text)
    return int(match[1]) * _UNITS[match[2]] if match else None


Parse = Callable[[str, Place], "i.Intent | Refused"]


@attrs.frozen
class Command:
    """One row of the table."""

    usage: str  #: how to type it, shown by /help and in Usage: refusals
    summary: str  #: what it does, shown by /help
    parse: Parse | None  #: (arguments, where the user is) -> intent, or why not; None: the
    #: door answers it itself (/help)
    chatting: bool = True  #: only after choosing a username
    admin: bool = False  #: only admins may use it (/help lists it to admins only)
    forms: tuple[tuple[str, str], ...] = ()
    """What /help lists of it to everyone, when that is not (usage, summary): a command
    with a form for admins only (``admin_forms``) lists the others' form alone."""
    admin_forms: tuple[tuple[str, str], ...] = ()  #: its forms /help lists to admins only

    def usage_error(self) -> Refused:
        return Refused(Problem.USAGE, name=self.usage)


def _first(args: str) -> str:
    return args.split()[0] if args else ""


def _whowas(args: str, place: Place) -> i.Intent | Refused:
    name = _first(args)
    return i.LookUpPast(name) if name else COMMANDS["whowas"].usage_error()


def _addressed(args: str, notice: bool) -> i.Intent | Refused:
    """``/msg`` and ``/notice``: a name or a room, then the text."""
    name, _, text = args.partition(" ")
    if not name or not text.strip():
        return COMMANDS["notice" if notice else "msg"].usage_error()
    if name.startswith("#"):  # "/msg #rust hi": to a room, as on IRC
        return i.Say(name, text.strip(), notice=notice)
    return i.SendPrivate(name, text.strip(), notice=notice)


def _private(args: str, place: Place) -> i.Intent | Refused:
    return _addressed(args, notice=False)


def _notice(args: str, place: Place) -> i.Intent | Refused:
    return _addressed(args, notice=True)


def _me(args: str, place: Place) -> i.Intent | Refused:
    return i.Say(place.current, args, action=True) if args else COMMANDS["me"].usage_error()


def _join(args: str, place: Place) -> i.Intent | Refused:
    room, _, rest = args.partition(" ")
    key, _, more = rest.strip().partition(" ")  # "/join #rust KEY": a room with a key (+k)
    if more.strip():  # "/join #bad room name" must not quietly join #bad
        return Refused(Problem.ROOM_CHAR, char=" ")
    return i.Join(room, key)


def _switch(args: str, place: Place) -> i.Intent | Refused:
    return i.Focus(_first(args)) if args else Refused(Problem.WHICH_ROOM, name="/switch #room")


def _leave(args: str, place: Place) -> i.Intent | Refused:
    first, _, rest = args.partition(" ")  # "/leave #rust see you"; a reason needs the room
    return leave(first or place.current, place, rest.strip())


def leave(room: str, place: Place, reason: str = "") -> i.Leave | Refused:
    """Leave ``room``, unless it is the user's only one: the doors with a current room
    (the text door, the page) keep their users in at least one, so that a plain line
    always has somewhere to go (IRC lets its users PART every channel)."""
    if place.only(room):
        return Refused(Problem.ONLY_ROOM, room=place.rooms[name_key(room)])
    return i.Leave(room, reason)


def _topic(args: str, place: Place) -> i.Intent | Refused:
    return i.SetTopic(place.current, args) if args else i.ShowTopic(place.current)


def _history(args: str, place: Place) -> i.Intent | Refused:
    peer, limit = "", None  # "/history 5 @bob" or "/history @bob 5"
    for word in args.split():
        if word.startswith("@") and not peer:
            peer = word[1:]
            if not peer:  # "/history @": whose?
                return COMMANDS["history"].usage_error()
        elif limit is None:
            limit = count(word)
            if limit is None or not 1 <= limit <= HISTORY_MAX:
                return Refused(Problem.HISTORY_RANGE, limit=HISTORY_MAX)
        else:
            return COMMANDS["history"].usage_error()
    return i.ReadHistory(limit, room="" if peer else place.current, peer=peer)


def _login(args: str, place: Place) -> i.Intent | Refused:
    name, _, password = args.partition(" ")
    if not name or not password.strip():
        return COMMANDS["login"].usage_error()
    return i.LogIn(name, password.strip())


def _password(args: str, place: Place) -> i.Intent | Refused:
    old, _, new = args.partition(" ")
    return i.ChangePassword(old, new) if old and new else COMMANDS["password"].usage_error()


def _unregister(args: str, place: Place) -> i.Intent | Refused:
    return i.Unregister(args) if args else COMMANDS["unregister"].usage_error()


def _kick(args: str, place: Place) -> i.Intent | Refused:
    name, _, reason = args.partition(" ")
    return i.Kick(place.current, name, reason.strip()) if name else COMMANDS["kick"].usage_error()


def _kill(args: str, place: Place) -> i.Intent | Refused:
    name, _, reason = args.partition(" ")
    return i.Kill(name, reason.strip()) if name else COMMANDS["kill"].usage_error()


def _role(word: str, role: Role, on: bool) -> Parse:
    """``/op``, ``/deop``, ``/voice``, ``/devoice``: one name, in the current room."""

    def parse(args: str, place: Place) -> i.Intent | Refused:
        names = args.split()
        if len(names) != 1:
            return COMMANDS[word].usage_error()
        return i.SetRole(place.current, names[0], role, on)

    return parse


MODE_LETTERS = {
    "i": Mode.INVITE_ONLY,
    "k": Mode.KEY,
    "l": Mode.LIMIT,
    "m": Mode.MODERATED,
    "s": Mode.SECRET,
}
"""The letters ``/mode`` takes, IRC's: ``+i`` invite only, ``+k KEY``, ``+l N``, ``+m``
moderated, ``+s`` secret."""


def _mode(args: str, place: Place) -> i.Intent | Refused:
    """``/mode [#room]`` shows the room's modes; ``/mode [#room] +m`` (or ``-s``,
    ``+k KEY``, ``+l 50`` ...) changes one."""
    words = args.split()
    room = words.pop(0) if words and words[0].startswith("#") else place.current
    if not words:
        return i.ShowModes(room)
    change, value = words[0], words[1:]
    if change in ("b", "+b", "-b"):  # the room's bans, as IRC's MODE #r b / +b / -b
        if len(value) > 1 or (change == "-b" and not value):
            return COMMANDS["mode"].usage_error()
        if not value:
            return i.ShowBans(room)
        if change == "-b":
            return i.UnbanFromRoom(room, value[0])
        return i.BanFromRoom(room, value[0])
    if len(change) != 2 or change[0] not in "+-" or change[1] not in MODE_LETTERS:
        return COMMANDS["mode"].usage_error()
    mode, on = MODE_LETTERS[change[1]], change[0] == "+"
    if len(value) != (1 if on and mode in (Mode.KEY, Mode.LIMIT) else 0):
        return COMMANDS["mode"].usage_error()
    if on and mode is Mode.KEY:
        return i.SetMode(room, mode, on, key=value[0])
    if on and mode is Mode.LIMIT:
        limit = count(value[0])
        if limit is None:
            return COMMANDS["mode"].usage_error()
        return i.SetMode(room, mode, on, limit=limit)
    return i.SetMode(room, mode, on)


def _invite(args: str, place: Place) -> i.Intent | Refused:
    words = args.split()
    if not 1 <= len(words) <= 2:
        return COMMANDS["invite"].usage_error()
    return i.Invite(words[0], words[1] if len(words) == 2 else place.current)


_ROOM_OPS = "/room ops add|del|list [#room] [account]"
"""The usage of ``/room ops`` (told in ``/room``'s summary: one row per word)."""
_ROOM_ACTS: dict[str, Callable[[str], i.Intent]] = {
    "register": i.RegisterRoom,
    "drop": i.DropRoom,
    "info": i.ShowRoomInfo,
}


def _room(args: str, place: Place) -> i.Intent | Refused:
    """``/room register|drop|info [#room]``, ``/room ops add|del [#room] NAME`` and
    ``/room ops list [#room]`` (registered rooms; the current room if none is named)."""
    words = args.split()
    verb = words.pop(0).lower() if words else ""
    if verb == "ops":
        action = words.pop(0).lower() if words else ""
        room = words.pop(0) if words and words[0].startswith("#") else place.current
        if action == "list" and not words:
            return i.ShowRoomInfo(room)
        if action in ("add", "del") and len(words) == 1:
            return i.SetRoomOp(room, words[0], action == "add")
        return Refused(Problem.USAGE, name=_ROOM_OPS)
    if verb in _ROOM_ACTS and len(words) <= 1:
        return _ROOM_ACTS[verb](words[0] if words else place.current)
    return COMMANDS["room"].usage_error()


def _ban(args: str, place: Place) -> i.Intent | Refused:
    words = args.split(maxsplit=1)
    if not words:
        return COMMANDS["ban"].usage_error()
    if words[0].startswith("#"):  # "/ban #rust Dave spam": a room's kick-ban
        target, _, reason = words[1].partition(" ") if len(words) > 1 else ("", "", "")
        if not target:
            return COMMANDS["ban"].usage_error()
        return i.BanFromRoom(words[0], target, reason.strip(), kick=True)
    rest = words[1] if len(words) > 1 else ""
    first, _, after = rest.partition(" ")
    seconds = duration(first)  # "/ban bob 7d spam"; no length: for good
    if seconds is None:
        return i.Ban(words[0], math.inf, rest.strip())
    return i.Ban(words[0], seconds, after.strip())


def _unban(args: str, place: Place) -> i.Intent | Refused:
    words = args.split()
    if not words or len(words) > 2 or (words[0].startswith("#") != (len(words) == 2)):
        return COMMANDS["unban"].usage_error()
    return i.UnbanFromRoom(words[0], words[1]) if len(words) == 2 else i.Unban(words[0])


def _bans(args: str, place: Place) -> i.Intent | Refused:
    words = args.split()
    if len(words) > 1:
        return COMMANDS["bans"].usage_error()
    return i.ShowBans(words[0] if words else place.current)


_MSG = Command("/msg <user> <text>", "private message (also /w)", _private)

COMMANDS: dict[str, Command] = {
    "help": Command("/help", "show this list", None, chatting=False),
    "users": Command(
        "/users [#room]", "list who is online, or in a room",
        lambda a, p: i.ListUsers(_first(a) or None, USERS_SHOWN), chatting=False,
    ),
    "rooms": Command(
        "/rooms", "list the rooms", lambda a, p: i.ListRooms(ROOMS_SHOWN), chatting=False
    ),
    "join": Command(
        "/join #room [key]", "enter a room (creating it) and talk there", _join,
    ),
    "switch": Command("/switch #room", "talk in another of your rooms", _switch),
    "leave": Command(
        "/leave [#room] [reason]", "leave a room (this one if none named), saying why", _leave
    ),
    "topic": Command("/topic [text]", "show or set this room's topic", _topic),
    "msg": _MSG,
    "w": _MSG,
    "me": Command("/me <action>", "say what you are doing: * you waves", _me),
    "notice": Command(
        "/notice <name|#room> <text>", "send a notice, which is never answered by itself", _notice
    ),
    "away": Command(
        "/away [message]", "say you are away (nothing: back)", lambda a, p: i.SetAway(a)
    ),
    "nick": Command("/nick <name>", "change your username", lambda a, p: i.Rename(a)),
    "whois": Command(
        "/whois <user>", "show a user's rooms and idle time",
        lambda a, p: i.LookUp(_first(a) or None),
    ),
    "whowas": Command(
        "/whowas <user>", "show who had a name and left or renamed lately", _whowas
    ),
    "history": Command("/history [N] [@user]", "show earlier lines, or private ones", _history),
    "register": Command(
        "/register <password>", "own your name: only you may use it", lambda a, p: i.Register(a)
    ),
    "login": Command("/login <name> <password>", "take your registered name", _login),
    "password": Command("/password <old> <new>", "change your password", _password),
    "unregister": Command("/unregister <password>", "delete your account", _unregister),
    "op": Command(
        "/op <user>", "(operators) make someone an operator of this room",
        _role("op", Role.OPERATOR, True),
    ),
    "deop": Command(
        "/deop <user>", "(operators) take operator status away",
        _role("deop", Role.OPERATOR, False),
    ),
    "voice": Command(
        "/voice <user>", "(operators) give someone voice (+) here", _role("voice", Role.VOICE, True)
    ),
    "devoice": Command(
        "/devoice <user>", "(operators) take voice away", _role("devoice", Role.VOICE, False)
    ),
    "mode": Command(
        "/mode [#room] [+/-imsklb] [VALUE]",
        "show or (operators) set modes: invite only, key, limit, moderated, secret, ban",
        _mode,
    ),
    "invite": Command(
        "/invite <user> [#room]", "(operators) let someone in past +i, +k, +l", _invite,
    ),
    "invites": Command(
        "/invites", "the rooms you are invited to", lambda a, p: i.ShowInvitations()
    ),
    "kick": Command("/kick <user> [reason]", "(operators) put someone out of this room", _kick),
    "room": Command(
        "/room register|drop|info [#room]",
        f"(logged-in operators) keep a room's founder, topic, modes; {_ROOM_OPS}", _room,
    ),
    "kill": Command(
        "/kill <user> [reason]", "(admins) disconnect someone from the server", _kill, admin=True
    ),
    "ban": Command(
        "/ban [#room] <who> [7d] [reason]",
        "(operators) keep out of #room and put out; no #room: admins only, off the server",
        _ban,
        forms=(("/ban #room <who> [reason]", "(operators) keep out of #room, and put out"),),
        admin_forms=(("/ban <user|address> [7d] [reason]", "(admins) keep off the server"),),
    ),
    "unban": Command(
        "/unban [#room] <who>",
        "(operators) lift a room's ban; no #room: admins only, the server's",
        _unban,
        forms=(("/unban #room <who>", "(operators) lift a room's ban"),),
        admin_forms=(("/unban <account|address>", "(admins) lift a ban on the server"),),
    ),
    "bans": Command("/bans [#room]", "list a room's bans (this one if none named)", _bans),
    "quit": Command(
        "/quit [reason]", "leave the chat, saying why", lambda a, p: i.Quit(reason=a),
        chatting=False,
    ),
}  # fmt: skip
"""Every command there is, by the word after the slash (matched case-insensitively)."""

HELP_LABEL = "help"
"""The label of the look-up ``/help`` makes once its user has a name: the answer (a
``Whois`` of the user itself) says whether the user is an admin now, which only the rules
know, and each door shows it as the list ``help_rows`` makes."""


def help_rows(*, naming: bool, admin: bool) -> tuple[tuple[str, str], ...]:
    """What ``/help`` lists, from the table: only what the user may use. Before a name
    (``naming``) the commands for chatting are left out (they are refused as such, and
    ``//text`` has nowhere to go); the admins' commands are listed to admins only."""
    rows: dict[tuple[str, str], None] = {}
    for c in COMMANDS.values():
        if (admin or not c.admin) and not (naming and c.chatting):
            rows.update(dict.fromkeys(c.forms or ((c.usage, c.summary),)))
            rows.update(dict.fromkeys(c.admin_forms if admin else ()))
    return (*rows, *(() if naming else (("//text", "send a line that starts with /"),)))


def help_for(e: Whois) -> Help:
    """The answer to a named user's ``/help``, from the look-up it made (``HELP_LABEL``)."""
    return Help(help_rows(naming=False, admin=e.admin))


def read(line: str, place: Place, *, naming: bool = False) -> Item:
    """A line typed with a slash (``/join #x``), as ``place`` stands: the intent, or the
    door's own answer (``/help``, an unknown command, bad arguments). ``naming``: the
    user has no name yet, and commands for chatting are refused as such."""
    word, _, args = line[1:].partition(" ")
    command = COMMANDS.get(word.lower())
    if command is None:
        return Answer((Refused(Problem.UNKNOWN_COMMAND, name=word),))
    if command.chatting and naming:
        return Answer((Refused(Problem.NEEDS_NAME, name=word.lower()),))
    if command.parse is None:  # /help: what this user may use (admins: ask the rules)
        if naming:
            return Answer((Help(help_rows(naming=True, admin=False)),))
        return i.LookUp(None, label=HELP_LABEL)
    parsed = command.parse(args.strip(), place)
    return Answer((parsed,)) if isinstance(parsed, Refused) else parsed
