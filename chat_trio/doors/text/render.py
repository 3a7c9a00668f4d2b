"""How events look on a plain-text terminal (nc, telnet): one ``\\r\\n``-terminated line each.

The wording of a few lines is fixed because users' scripts rely on it: the prompt
contains ``Enter your username:``, registration answers a line starting ``Welcome``, chat
is ``Name: text``, ``/users`` answers ``Users online: N (...)``, ``/quit`` answers
``Goodbye!``, and notices about other users start with ``* ``. Lines from a room that is
not the reader's current one start with ``[#room] ``; history lines with ``[HH:MM] ``
(UTC; older than today: ``[YYYY-MM-DD HH:MM] ``); private messages with ``[PM from X] ``
or ``[PM to X] ``.

Every sentence the text door says is here or, where every door that speaks English says it
alike (refusals, confirmations, who someone is), in ``doors/wording.py``: the rules only
name a ``Problem`` or an ``Outcome``.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from chat_trio.chat.events import (
    AccountChanged,
    Action,
    AskName,
    Away,
    BanChanged,
    BanList,
    Disconnected,
    Done,
    Entry,
    Event,
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
    Kind,
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
    Reason,
    Redacted,
    Refused,
    RoleChanged,
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
    UserModes,
    Wallops,
    Watched,
    WatchList,
    Welcome,
    Whois,
)
from chat_trio.chat.problems import Problem
from chat_trio.doors import Local, commands, wording

EOL = "\r\n"  # telnet's line ending (RFC 854); nc shows it as a plain line break

# After Ctrl-C, telnet sends IAC IP then IAC DO TIMING-MARK and discards everything it
# receives until the server answers IAC WILL TIMING-MARK (RFC 860). Raw bytes travel in
# the rendered text as lone surrogates, which ``render`` encodes back with
# "surrogateescape"; users' text can never contain one (decoding used "replace").
_TIMING_MARK = b"\xff\xfb\x06".decode("utf-8", "surrogateescape")

_LEFT_BECAUSE = {
    Reason.LOST: " (connection lost)",
    Reason.SLOW: " (too slow to receive)",
    Reason.ERROR: " (server error)",
    Reason.SHUTDOWN: " (server shutting down)",
    Reason.IDLE: " (idle)",
    Reason.FLOOD: " (flooding)",
    Reason.KICKED: " (kicked)",
    Reason.REPLACED: " (logged in elsewhere)",
    Reason.NAME_LOST: " (name lost to another server)",
    Reason.BANNED: " (banned)",
    Reason.PING_TIMEOUT: " (ping timeout)",
}
_STARTS_A_LINE = frozenset({Reason.SLOW})
"""Notices that start with a line break: a slow-consumer cut may cut a line being sent."""


def _private(e: Private) -> str:
    return f"* {e.peer if e.incoming else 'you'} {e.text}" if e.action else e.text


def _marked(e: UserList, name: str) -> str:
    """``name`` with its role in the room: ``@`` operator, ``+`` voiced (as IRC shows it)."""
    return ("@" if name in e.operators else "+" if name in e.voiced else "") + name


def _users(e: UserList) -> str:
    listed = ", ".join([_marked(e, n) for n in e.names] if e.room else e.names)
    more = f", and {e.total - len(e.names)} more" if e.total > len(e.names) else ""
    where = "online" if e.room is None else f"in {e.room}"
    return f"Users {where}: {e.total} ({listed}{more}){EOL}"


def _rooms(e: RoomList) -> str:
    if not e.total:  # (rooms are listed while they have members)
        return f"Rooms: none yet (/join #name makes one){EOL}"
    listed = ", ".join(f"{name} {members}" for name, members in e.rooms)
    more = f", and {e.total - len(e.rooms)} more" if e.total > len(e.rooms) else ""
    return f"Rooms: {e.total} ({listed}{more}){EOL}"


def _help(e: Help) -> str:
    width = max(len(usage) for usage, _ in e.commands)
    rows = "".join(f"  {usage:<{width}}  {summary}{EOL}" for usage, summary in e.commands)
    return f"Commands:{EOL}{rows}"


def _welcome(e: Welcome) -> str:
    users = "1 user" if e.online == 1 else f"{e.online} users"
    return f"Welcome to the chat, {e.name}! {users} online. Type /help for commands.{EOL}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _entered(e: RoomEntered) -> str:
    if e.quiet:  # put in the lobby on registering: only its topic is news
        return f"* Topic: {e.topic}{EOL}" if e.topic else ""
    here = f"({_count(e.members, 'user')} here)"
    line = f"* You joined {e.room} {here}" if e.joined else f"* Now talking in {e.room} {here}"
    return f"{line}.{EOL}" + (f"* Topic: {e.topic}{EOL}" if e.topic else "")


def _topic(e: Topic) -> str:
    if e.text:
        return f"* Topic of {e.room}: {e.text}{EOL}"
    return f"* {e.room} has no topic. Set one with /topic <text>.{EOL}"


def _left(e: Left) -> str:
    where = "the chat" if e.room is None else e.room
    return f"* {e.name} left {where}{left_because(e)}{EOL}"


def left_because(e: Left) -> str:
    """Why someone left, as the end of the notice: " (gone fishing)" in their words,
    " (kicked: spamming)", " (connection lost)", or nothing for a plain quit."""
    because = _LEFT_BECAUSE.get(e.reason, "")
    if not e.text:
        return because
    return f"{because[:-1]}: {e.text})" if because else f" ({e.text})"


def _when(t: float, today: str) -> str:
    moment = time.gmtime(t)
    day = time.strftime("%Y-%m-%d", moment)
    clock = time.strftime("%H:%M", moment)
    return clock if day == today else f"{day} {clock}"


def _whois(e: Whois) -> str:
    if e.label == commands.HELP_LABEL:  # the user's own, asked for by /help
        return _help(commands.help_for(e))
    return f"* {wording.whois(e)}{EOL}"


_ENTRY: dict[Kind, Callable[[Entry], str]] = {
    Kind.SAID: lambda e: f"{e.name}: {e.text}",
    Kind.ACTION: lambda e: f"* {e.name} {e.text}",
    Kind.NOTICE: lambda e: f"-{e.name}- {e.text}",
    Kind.JOINED: lambda e: f"* {e.name} joined {e.room}",
    Kind.LEFT: lambda e: f"* {e.name} left {e.room}",
    Kind.TOPIC: lambda e: f"* {e.name} set the topic: {e.text}",
    Kind.NICK: lambda e: f"* {e.name} is now known as {e.text}",
    Kind.PRIVATE: lambda e: f"{e.name} -> {e.target}: {e.text}",
}


def _history(e: History) -> str:
    if not e.entries:
        return f"* No history for {e.title}.{EOL}" if e.asked else ""
    lines = "".join(f"[{_when(x.time, e.today)}] {_ENTRY[x.kind](x)}{EOL}" for x in e.entries)
    head = f"* History of {e.title} (last {_count(len(e.entries), 'line')}):{EOL}"
    return f"{head}{lines}* End of history.{EOL}"


_RENDER: dict[type[Any], Callable[[Any], str]] = {
    Said: lambda e: f"-{e.name}- {e.text}{EOL}" if e.notice else f"{e.name}: {e.text}{EOL}",
    Action: lambda e: f"* {e.name} {e.text}{EOL}",
    Tagged: lambda e: "",  # client tags without text (IRC's TAGMSG): IRC's only
    # IRC's PRIVMSG @#room: "[#rust] Bob (to the operators of #rust): hi" (not one's own)
    StatusMessage: lambda e: "" if e.own else f"[{e.room}] {wording.status_message(e)}{EOL}",
    MarkedRead: lambda e: "",  # read markers: a terminal scrolls, it counts nothing unread
    Joined: lambda e: f"* {e.name} joined {'the chat' if e.room is None else e.room}{EOL}",
    Left: _left,
    Private: lambda e: (
        f"[{'notice' if e.notice else 'PM'} {'from' if e.incoming else 'to'} {e.peer}] "
        f"{_private(e)}{EOL}" + (f"* {e.peer} is away: {e.away}{EOL}" if e.away else "")
    ),
    Away: lambda e: "",  # others' away news: not worth a line on a terminal
    AccountChanged: lambda e: "",
    RealnameChanged: lambda e: "",  # (IRC's SETNAME: /whois shows it)
    Watched: lambda e: "",  # (IRC's MONITOR: no command here asks for it)
    PastNames: lambda e: "".join(f"* {line}{EOL}" for line in wording.past_names(e)),
    Presence: lambda e: "".join(
        [f"* {name} is online.{EOL}" for name, _ in e.online]
        + [f"* {name} is offline.{EOL}" for name in e.offline]
    ),
    WatchList: lambda e: f"* Watching: {', '.join(e.names) or 'nobody'}.{EOL}",
    NickChanged: lambda e: f"* {e.old} is now known as {e.new}{EOL}",
    TopicChanged: lambda e: f"* {e.name} set the topic of {e.room}: {e.text}{EOL}",
    RoleChanged: lambda e: f"* {wording.role_changed(e)}.{EOL}",
    ModeChanged: lambda e: f"* {wording.mode_changed(e)}.{EOL}",
    Modes: lambda e: f"* {wording.modes(e)}.{EOL}",
    RoomInfo: lambda e: f"* {wording.room_info(e)}.{EOL}",
    Invitation: lambda e: f"* {wording.invitation(e)}.{EOL}",
    InviteSent: lambda e: f"* {wording.invite_sent(e)}.{EOL}",
    Invitations: lambda e: f"* {wording.invitations(e)}.{EOL}",
    BanChanged: lambda e: f"* {wording.ban_changed(e)}.{EOL}",
    BanList: lambda e: "".join(f"* {line}{EOL}" for line in wording.ban_lines(e)),
    Invited: lambda e: f"* {wording.invited(e)}.{EOL}",
    Targets: lambda e: "".join(
        f"* {name}: {time.strftime('%Y-%m-%d %H:%M', time.gmtime(last))}{EOL}"
        for name, last in e.targets
    ),
    Redacted: lambda e: f"* {wording.redacted(e)}.{EOL}",
    Kicked: lambda e: f"* {wording.kicked(e.name + ' was', e.room, e.by, e.reason)}{EOL}",
    RoomEntered: _entered,
    Unheard: lambda e: f"* Nobody else is in {e.room} right now.{EOL}",
    Unreachable: lambda e: f"* {wording.unreachable(e)}.{EOL}",
    Missed: lambda e: f"* {wording.missed(e)}.{EOL}",
    Topic: _topic,
    Greeting: lambda e: f"Welcome to chat-trio!{EOL}",
    AskName: lambda e: "Enter your username: ",
    Welcome: _welcome,
    UserList: _users,
    RoomList: _rooms,
    Whois: _whois,
    UserModes: lambda e: f"* {wording.user_modes(e)}.{EOL}",
    Wallops: lambda e: f"* {wording.wallops(e)}{EOL}",
    History: _history,
    Help: _help,
    # The timeout comes while the prompt waits on its line: start a line of its own. Being
    # slowed down is news, not an answer: a notice, like a join.
    Refused: lambda e: (
        f"{EOL if e.problem is Problem.NAME_TIMEOUT else ''}"
        f"{'* ' if e.problem is Problem.SLOW_DOWN else ''}{wording.refusal(e, then=EOL)}{EOL}"
    ),
    Done: lambda e: f"* {wording.done(e)}{EOL}",
    Goodbye: lambda e: f"{_TIMING_MARK if e.reason is Reason.INTERRUPTED else ''}Goodbye!{EOL}",
    Disconnected: lambda e: (
        f"{EOL if e.reason in _STARTS_A_LINE else ''}* {wording.disconnected(e)}{EOL}"
    ),
}


def own_away(e: Away) -> bytes:
    """The user's own ``/away``, confirmed (others' away news gets no line here)."""
    said = f"* You are away: {e.text}{EOL}" if e.text else f"* You are back.{EOL}"
    return said.encode()


def left_room(e: RoomLeft, shown: str) -> bytes:
    """The user left a room (or was kicked out of it); ``shown`` is the room it talks in now."""
    if e.by:
        said = wording.kicked("You were", e.room, e.by, e.reason)
        return f"* {said}. Now talking in {shown}.{EOL}".encode()
    return f"* You left {e.room}. Now talking in {shown}.{EOL}".encode()


def render(events: Iterable[Event | Local], prefix: str = "") -> bytes:
    """Encode ``events`` as terminal lines, in order, as one UTF-8 bytes object.

    ``prefix`` starts every line (``"[#room] "`` for a room that is not the reader's
    current one), but for news of a person (told once, whatever rooms are shared).
    """
    if prefix:
        text = "".join(
            [
                (prefix if not _about_a_person(e) else "") + line
                for e in events
                for line in _lines(_RENDER[type(e)](e))
            ]
        )
    else:
        text = "".join([_RENDER[type(e)](e) for e in events])
    return text.encode("utf-8", "surrogateescape")


def _about_a_person(e: Event | Local) -> bool:
    """News of someone rather than of a room (a rename, leaving the chat, being away, a
    login): told once, through whichever room is shared, so never said as a room's."""
    return isinstance(e, (NickChanged, Away, AccountChanged)) or (
        isinstance(e, Left) and e.room is None
    )


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)
