"""How events look on a plain-text terminal (nc, telnet): one ``\\r\\n``-terminated line each.

The wording of a few lines is fixed because users' scripts rely on it: the prompt
contains ``Enter your username:``, registration answers a line starting ``Welcome``, chat
is ``Name: text``, ``/users`` answers ``Users online: N (...)``, ``/quit`` answers
``Goodbye!``, and notices about other users start with ``* ``. Lines from a room that is
not the reader's current one start with ``[#room] ``; history lines with ``[HH:MM] ``
(UTC; older than today: ``[YYYY-MM-DD HH:MM] ``); private messages with ``[PM from X] ``
or ``[PM to X] ``.

Every sentence the text door says is here, refusals (``PROBLEMS``) and confirmations
(``OUTCOMES``) included: the rules only name a ``Problem`` or an ``Outcome``.

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
    Disconnected,
    Done,
    Entry,
    Event,
    Goodbye,
    Greeting,
    Help,
    History,
    Joined,
    Kind,
    Left,
    NickChanged,
    Private,
    Reason,
    Refused,
    RoomEntered,
    RoomList,
    Said,
    Topic,
    TopicChanged,
    Unheard,
    UserList,
    Welcome,
    Whois,
)
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.doors import Local

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
    Reason.BANNED: " (banned)",
    Reason.PING_TIMEOUT: " (ping timeout)",
}
_DISCONNECTED_BECAUSE = {
    Reason.SHUTDOWN: "* Server is shutting down. Goodbye!",
    # Starts with a line break: the kick may cut a line that was being sent.
    Reason.SLOW: f"{EOL}* Disconnected: too slow to receive (your send queue was full).",
}


_LAST_DATE = 253402300799.0  #: 9999-12-31 23:59:59 UTC: later is not a date gmtime shows


def describe_until(until: float) -> str:
    """ "forever" or "until 2026-11-23 12:00 UTC"."""
    if not until < _LAST_DATE:  # inf, and what a ban stored by an older version may hold
        return "forever"
    return "until " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(until))


def _seconds(n: float) -> str:
    return "1 second" if n == 1 else f"{n:g} seconds"


def _registered(e: Refused) -> str:
    how = f"{e.name} <password>" if e.naming else f"/login {e.name} <password>"
    return f'The name "{e.name}" is registered. To log in, type: {how}'


def _unknown(e: Refused) -> str:
    shown = e.name[:_SHOWN_COMMAND] + ("..." if len(e.name) > _SHOWN_COMMAND else "")
    return f'Unknown command "/{shown}". Type /help for the commands.'


_SHOWN_COMMAND = 32  # characters of an unknown command echoed back

PROBLEMS: dict[Problem, Callable[[Refused], str]] = {
    Problem.NAME_EMPTY: lambda e: "Please type a username.",
    Problem.NAME_TOO_LONG: lambda e: (
        f"That username is too long ({e.length} characters; at most {e.limit:g})."
    ),
    Problem.NAME_START: lambda e: "A username must start with a letter.",
    Problem.NAME_START_ASCII: lambda e: "A username must start with a letter (A-Z or a-z).",
    Problem.NAME_CHAR: lambda e: (
        f"A username may contain only letters, digits, '_' and '-' (not {e.char!r})."
    ),
    Problem.NAME_RESERVED: lambda e: f'The name "{e.name}" is reserved.',
    Problem.NAME_TAKEN: lambda e: f'The name "{e.name}" is already taken; please choose another.',
    Problem.NAME_REGISTERED: _registered,
    Problem.NAME_LOOKALIKE: lambda e: (
        f'The name "{e.name}" looks too much like "{e.like}"; please choose another.'
    ),
    Problem.NOT_A_NAME: lambda e: f'"{e.name}" is not a username.',
    Problem.NO_ACCOUNT: lambda e: f'There is no account "{e.name}".',
    Problem.ACCOUNT_BANNED: lambda e: f"The account {e.name} is banned {describe_until(e.until)}.",
    Problem.LOGIN_THROTTLED: lambda e: (
        f"Too many wrong passwords; try again in {_seconds(e.limit)}."
    ),
    Problem.ALREADY_LOGGED_IN: lambda e: f"{e.name} is already logged in.",
    Problem.WRONG_PASSWORD_FOR: lambda e: f"Wrong password for {e.name}.",
    Problem.WRONG_PASSWORD: lambda e: "Wrong password; nothing was changed.",
    Problem.BAD_PASSWORD: lambda e: (
        f"A password must be {e.length} to {e.limit:g} characters, without spaces."
    ),
    Problem.NO_ACCOUNTS: lambda e: "This server keeps no accounts (it runs without a database).",
    Problem.ACCOUNTS_UNAVAILABLE: lambda e: (
        "Passwords cannot be checked right now; please try again later."
    ),
    Problem.ALREADY_REGISTERED: lambda e: f"{e.name} is registered already; you are logged in.",
    Problem.REGISTERED_MEANWHILE: lambda e: f"{e.name} was registered meanwhile.",
    Problem.NOT_LOGGED_IN: lambda e: "You are not logged in to an account.",
    Problem.NOT_ADMIN: lambda e: f"Only admins can use /{e.name}.",
    Problem.NO_SUCH_TARGET: lambda e: f'No account, user or address "{e.name}".',
    Problem.NO_BAN: lambda e: f'No ban on "{e.name}".',
    Problem.BAN_LENGTH: lambda e: (
        f"A ban lasts at least a second (longer than {e.limit / 86400:g} days: forever)."
    ),
    Problem.ADDRESS_BANNED: lambda e: (
        f"Your address is banned from this server {describe_until(e.until)}."
    ),
    Problem.NO_SUCH_USER: lambda e: f'No user named "{e.name}" is online.',
    Problem.NO_SUCH_RECIPIENT: lambda e: (
        f'No user named "{e.name}" is online. /users lists who is.'
    ),
    Problem.ROOM_MISSING: lambda e: "Which room?",
    Problem.ROOM_NO_HASH: lambda e: f'Room names start with "#" (try /join #{e.name}).',
    Problem.ROOM_LENGTH: lambda e: (
        f"A room name is # and 1 to {e.limit:g} letters, digits, '_' or '-'."
    ),
    Problem.ROOM_CHAR: lambda e: (
        f"A room name may contain only letters, digits, '_' and '-' (not {e.char!r})."
    ),
    Problem.NO_SUCH_ROOM: lambda e: f"There is no room {e.room}.",
    Problem.NOT_IN_ROOM: lambda e: f"You are not in {e.room}.",
    Problem.CANNOT_SEND: lambda e: f"You are not in {e.room}.",
    Problem.NO_TEXT: lambda e: "There is nothing to send.",
    Problem.ONLY_ROOM: lambda e: f"You cannot leave {e.room}: it is your only room.",
    Problem.TOO_MANY_ROOMS_FOR_USER: lambda e: (
        f"You are in {e.limit:g} rooms, the most allowed; /leave one first."
    ),
    Problem.TOO_MANY_ROOMS: lambda e: "There are too many rooms; join one from /rooms.",
    Problem.TOPIC_TOO_LONG: lambda e: (
        f"That topic is too long ({e.length} characters; at most {e.limit:g})."
    ),
    Problem.HISTORY_RANGE: lambda e: f"/history takes a number of lines from 1 to {e.limit:g}.",
    Problem.HISTORY_OFF: lambda e: "This server keeps no history.",
    Problem.HISTORY_UNAVAILABLE: lambda e: (
        "History is not available right now; please try again later."
    ),
    Problem.LINE_TOO_LONG: lambda e: f"Line too long (over {e.limit:g} bytes); not sent.",
    Problem.UNKNOWN_COMMAND: _unknown,
    Problem.NEEDS_NAME: lambda e: (
        f"Choose a username before using /{e.name}." if e.name else "Choose a username first."
    ),
    Problem.USAGE: lambda e: f"Usage: {e.name}",
    Problem.WHICH_ROOM: lambda e: f"Which room? {e.name} (one you are in).",
    Problem.BAD_MESSAGE: lambda e: f"That message is not understood: {e.name}.",
    Problem.NAME_UNCHANGED: lambda e: f"You are {e.name} already.",
    Problem.ADMIN_NAME: lambda e: (
        f'The name "{e.name}" is kept for an admin, so it cannot be registered here; the '
        f"server's operator makes its account with: chat-trio user add {e.name}"
    ),
    Problem.SLOW_DOWN: lambda e: (
        f"* Slow down: at most {e.limit:g} lines at once, then {e.rate:g} per second. "
        "Your next lines are delayed, not lost."
    ),
    Problem.FLOODED: lambda e: (
        f"Disconnected for flooding: more than {e.limit:g} lines were waiting "
        f"(at most {e.rate:g} lines per second)."
    ),
    Problem.IDLE: lambda e: f"Disconnected after {_seconds(e.limit)} without activity.",
    Problem.NAME_TIMEOUT: lambda e: f"No valid username within {_seconds(e.limit)}.",
    Problem.SERVER_FULL: lambda e: "Server full, try later.",
    Problem.TOO_MANY_FROM_ADDRESS: lambda e: (
        f"Too many connections from your address (at most {e.limit:g}), try later."
    ),
    Problem.CONNECTING_TOO_FAST: lambda e: (
        "Too many connection attempts from your address, try again shortly."
    ),
}
"""Every refusal, as the text door says it (a complete sentence that says what to do)."""


def refusal(e: Refused) -> str:
    """``e`` as one sentence (no line ending)."""
    text = PROBLEMS[e.problem](e)
    if e.still:
        text += f" You are still {e.still}."
    if e.final:
        text += (
            " Too many failed attempts (invalid usernames and wrong passwords)."
            if e.problem is Problem.WRONG_PASSWORD_FOR
            else " Too many invalid usernames."
        )
    return text


def _banned(e: Done) -> str:
    if e.kind == "account":
        shown = f"the account {e.name}"
    else:
        shown = f"{e.name}'s address ({e.key})" if e.name else e.key
    return f"Banned {shown} {describe_until(e.until)}."


def _thrown_out(what: str) -> Callable[[Done], str]:
    return lambda e: (
        f"You were {what} by {e.name}: {e.text}" if e.text else f"You were {what} by {e.name}."
    )


OUTCOMES: dict[Outcome, Callable[[Done], str]] = {
    Outcome.LOGGED_IN: lambda e: f"Logged in as {e.name}.",
    Outcome.REGISTERED: lambda e: (
        f"Registered {e.name}. Nobody else can use this name now; to log in next time, "
        f"type at the prompt: {e.name} <password>"
    ),
    Outcome.PASSWORD_CHANGED: lambda e: "Password changed.",
    Outcome.UNREGISTERED: lambda e: f"Your account {e.name} is deleted; the name is free now.",
    Outcome.KICKED: lambda e: f"Kicked {e.name}.",
    Outcome.BANNED: _banned,
    Outcome.UNBANNED: lambda e: f"Lifted the ban on {e.name}.",
    Outcome.KICKED_YOU: _thrown_out("kicked"),
    Outcome.BANNED_YOU: _thrown_out("banned"),
}


def _private(e: Private) -> str:
    return f"* {e.peer if e.incoming else 'you'} {e.text}" if e.action else e.text


def _users(e: UserList) -> str:
    listed = ", ".join(e.names)
    more = f", and {e.total - len(e.names)} more" if e.total > len(e.names) else ""
    where = "online" if e.room is None else f"in {e.room}"
    return f"Users {where}: {e.total} ({listed}{more}){EOL}"


def _rooms(e: RoomList) -> str:
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
    return f"* {e.name} left {where}{_LEFT_BECAUSE.get(e.reason, '')}{EOL}"


def _when(t: float, today: str) -> str:
    moment = time.gmtime(t)
    day = time.strftime("%Y-%m-%d", moment)
    clock = time.strftime("%H:%M", moment)
    return clock if day == today else f"{day} {clock}"


def _whois(e: Whois) -> str:
    since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(e.since))
    rooms = ", ".join(e.rooms)
    away = f"; away: {e.away}" if e.away else ""
    return f"* {e.name}: in {rooms}; connected since {since}; idle {e.idle:.0f}s{away}{EOL}"


_ENTRY: dict[Kind, Callable[[Entry], str]] = {
    Kind.SAID: lambda e: f"{e.name}: {e.text}",
    Kind.ACTION: lambda e: f"* {e.name} {e.text}",
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
    Said: lambda e: f"{e.name}: {e.text}{EOL}",
    Action: lambda e: f"* {e.name} {e.text}{EOL}",
    Joined: lambda e: f"* {e.name} joined {'the chat' if e.room is None else e.room}{EOL}",
    Left: _left,
    Private: lambda e: (
        f"[PM {'from' if e.incoming else 'to'} {e.peer}] {_private(e)}{EOL}"
        + (f"* {e.peer} is away: {e.away}{EOL}" if e.away else "")
    ),
    Away: lambda e: "",  # others' away news: not worth a line on a terminal
    AccountChanged: lambda e: "",
    NickChanged: lambda e: f"* {e.old} is now known as {e.new}{EOL}",
    TopicChanged: lambda e: f"* {e.name} set the topic of {e.room}: {e.text}{EOL}",
    RoomEntered: _entered,
    Unheard: lambda e: f"* Nobody else is in {e.room} right now.{EOL}",
    Topic: _topic,
    Greeting: lambda e: f"Welcome to chat-trio!{EOL}",
    AskName: lambda e: "Enter your username: ",
    Welcome: _welcome,
    UserList: _users,
    RoomList: _rooms,
    Whois: _whois,
    History: _history,
    Help: _help,
    # The timeout comes while the prompt waits on its line: start a line of its own.
    Refused: lambda e: f"{EOL if e.problem is Problem.NAME_TIMEOUT else ''}{refusal(e)}{EOL}",
    Done: lambda e: f"* {OUTCOMES[e.outcome](e)}{EOL}",
    Goodbye: lambda e: f"{_TIMING_MARK if e.reason is Reason.INTERRUPTED else ''}Goodbye!{EOL}",
    Disconnected: lambda e: f"{_DISCONNECTED_BECAUSE.get(e.reason, '* Disconnected.')}{EOL}",
}


def render(events: Iterable[Event | Local], prefix: str = "") -> bytes:
    """Encode ``events`` as terminal lines, in order, as one UTF-8 bytes object.

    ``prefix`` starts every line (``"[#room] "`` for a room that is not the reader's
    current one).
    """
    if prefix:
        text = "".join([prefix + line for e in events for line in _lines(_RENDER[type(e)](e))])
    else:
        text = "".join([_RENDER[type(e)](e) for e in events])
    return text.encode("utf-8", "surrogateescape")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)
