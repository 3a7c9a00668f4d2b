"""Every sentence a person reads that more than one door says: refusals (``PROBLEMS``:
the text door's line, IRC's numeric text or NOTICE, the web page's ``message``),
confirmations (``OUTCOMES``), what is known about someone (``whois``), and why the server
ends a connection (``disconnected``). The rules only name a ``Problem`` or an ``Outcome``;
each door decides the form (a line, a numeric, a JSON object) around these words.

Each sentence is complete and says what to do next. No line ending and no "* " prefix:
that is the text door's layout (text/render.py), not a word of the sentence.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from chat_trio.chat.events import (
    BanChanged,
    BanKind,
    BanList,
    Disconnected,
    Done,
    Invitation,
    Invitations,
    Invited,
    InviteSent,
    Missed,
    Mode,
    ModeChanged,
    Modes,
    PastNames,
    Reason,
    Redacted,
    Refused,
    Role,
    RoleChanged,
    RoomBan,
    RoomInfo,
    StatusMessage,
    Unreachable,
    UserMode,
    UserModes,
    Wallops,
    Whois,
)
from chat_trio.chat.problems import Outcome, Problem

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
    Problem.ROOM_UNAVAILABLE: lambda e: (
        f"{e.room} cannot be joined right now (the other servers cannot be reached); "
        "please try again in a moment."
    ),
    Problem.NAMES_UNAVAILABLE: lambda e: (
        f'The name "{e.name}" cannot be checked right now (the other servers cannot be '
        "reached); please try again in a moment."
    ),
    Problem.NAME_LOST: lambda e: (
        f'This server lost contact with the others for too long, and the name "{e.name}" '
        "went to someone on another server meanwhile; you are disconnected (connect again "
        "with another name)."
    ),
    Problem.NOT_A_NAME: lambda e: f'"{e.name}" is not a username.',
    Problem.NO_ACCOUNT: lambda e: (
        f'There is no account "{e.name}". A name has no spaces: a name and a word after it '
        "log in to an account."
        if e.naming
        else f'There is no account "{e.name}".'
    ),
    Problem.ACCOUNT_BANNED: lambda e: f"The account {e.name} is banned {describe_until(e.until)}.",
    Problem.LOGIN_THROTTLED: lambda e: (
        f"Too many wrong passwords; try again in {_seconds(e.limit)}."
    ),
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
    Problem.NOT_OPER: lambda e: (
        f'"{e.name}" is not an admin account: only the server\'s admins may become operators.'
    ),
    Problem.OPER_PASSWORD: lambda e: f"Wrong password for {e.name}: you are not an operator.",
    Problem.NO_SUCH_TARGET: lambda e: f'No account, user or address "{e.name}".',
    Problem.NO_BAN: lambda e: f'No ban on "{e.name}".',
    Problem.BAN_LENGTH: lambda e: (
        f"A ban lasts at least a second (longer than {e.limit / 86400:g} days: forever)."
    ),
    Problem.BAN_OWN_ADDRESS: lambda e: (
        f"{e.like} is connected from your own address ({e.name}): a ban on it would shut "
        f"you out too. /kill {e.like} instead, or ban their account if they have one."
        if e.like
        else f"You are connected from {e.name} yourself: a ban on it would shut you out too."
    ),
    Problem.ADDRESS_BANNED: lambda e: (
        f"Your address is banned from this server {describe_until(e.until)}."
    ),
    Problem.NO_SUCH_USER: lambda e: f'No user named "{e.name}" is online.',
    Problem.NOT_AWAY: lambda e: "You are not away (/away REASON marks you away).",
    Problem.NEVER_HERE: lambda e: f'Nobody named "{e.name}" left or was renamed lately.',
    Problem.WATCH_FULL: lambda e: f"You watch {e.limit:g} names already, the most there may be.",
    Problem.REALNAME_BAD: lambda e: f"A real name is 1 to {e.limit:g} characters on one line.",
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
    Problem.NOT_OPERATOR: lambda e: f"Only operators of {e.room} can use /{e.name} there.",
    Problem.MODERATED: lambda e: (
        f"{e.room} is moderated: only its operators and voiced members may talk."
    ),
    Problem.INVITE_ONLY: lambda e: f"{e.room} is invite only (ask an operator for an invite).",
    Problem.NEEDS_KEY: lambda e: f"{e.room} needs a key (/join {e.room} KEY).",
    Problem.ROOM_FULL: lambda e: f"{e.room} is full ({e.limit:g} members).",
    Problem.KEY_SET: lambda e: f"{e.room} has a key already: remove it first (/mode -k).",
    Problem.BAD_MODE_VALUE: lambda e: (
        f"A key is 1 to {e.limit:g} characters, without spaces or commas."
        if e.name == "key"
        else f"A member limit is a number from 1 to {e.limit:g}."
    ),
    Problem.LOBBY_OPEN: lambda e: f"{e.room} stays open to everyone: no {e.name} mode there.",
    Problem.ALREADY_IN_ROOM: lambda e: f"{e.name} is already in {e.room}.",
    Problem.ROOM_BANNED: lambda e: f"You are banned from {e.room}.",
    Problem.BANNED_TALK: lambda e: f"You are banned from {e.room}, so you cannot talk there.",
    Problem.BAN_LIST_FULL: lambda e: (
        f"{e.room} holds {e.limit:g} bans, the most it may; /unban {e.room} one first."
    ),
    Problem.ROOM_NO_BAN: lambda e: f"{e.room} has no ban on {e.name} (/bans {e.room} lists them).",
    Problem.BAD_BAN_MASK: lambda e: (
        f"A ban names someone, or a mask nick!user@host with * and ? (at most {e.limit:g} "
        "characters, no spaces or commas)."
    ),
    Problem.NO_REGISTERED_ROOMS: lambda e: (
        "This server keeps no registered rooms (it runs without a database)."
    ),
    Problem.ROOM_NOT_REGISTERED: lambda e: (
        f"{e.room} is not registered (an operator who is logged in can: /room register {e.room})."
    ),
    Problem.ROOM_ALREADY_REGISTERED: lambda e: (
        f"{e.room} is registered already (/room info {e.room} says by whom)."
    ),
    Problem.SERVERS_ROOM: lambda e: f"{e.room} is the server's own room, run by its admins.",
    Problem.NOT_FOUNDER: lambda e: f"Only the founder of {e.room} (or an admin) can use /{e.name}.",
    Problem.TOO_MANY_REGISTERED: lambda e: (
        f"You have registered {e.limit:g} rooms, the most one account may; drop one first "
        "(/room drop #room)."
    ),
    Problem.TOO_MANY_ROOM_OPS: lambda e: (
        f"{e.room} lists {e.limit:g} operators, the most it may; remove one first."
    ),
    Problem.NOT_ROOM_OP: lambda e: f"{e.name} is not on the operator list of {e.room}.",
    Problem.LOBBY_ADMINS: lambda e: (
        f"{e.room} is the server's room: only admins can use /{e.name} there."
    ),
    Problem.USER_NOT_IN_ROOM: lambda e: f"{e.name} is not in {e.room}.",
    Problem.KICK_LAST_ROOM: lambda e: (
        f"{e.room} is {e.name}'s only room, so they cannot be kicked out of it; "
        f"/kill {e.name} disconnects them instead."
    ),
    Problem.HISTORY_RANGE: lambda e: f"/history takes a number of lines from 1 to {e.limit:g}.",
    Problem.HISTORY_OFF: lambda e: "This server keeps no history.",
    Problem.MARKER_TARGET: lambda e: (
        f'"{e.name}" is neither a room nor a name: there is nothing to mark as read.'
    ),
    Problem.HISTORY_UNAVAILABLE: lambda e: (
        "History is not available right now; please try again later."
    ),
    Problem.REDACT_TARGET: lambda e: (
        f"You can delete messages only in a room you are in, or in your own private"
        f" conversations: {e.room or 'no target'} is neither."
    ),
    Problem.UNKNOWN_MESSAGE: lambda e: f"There is no message {e.name} in {e.room} to delete.",
    Problem.REDACT_FORBIDDEN: lambda e: (
        f"Only its author, or an operator of the room, may delete message {e.name}."
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
        f"Slow down: at most {e.limit:g} lines at once, then {e.rate:g} per second. "
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


def refusal(
    e: Refused,
    problems: Mapping[Problem, Callable[[Refused], str]] = PROBLEMS,
    *,
    then: str = " ",
) -> str:
    """``e`` as one sentence (no line ending); ``problems``: a door's own wording of some
    (the page has no prompt to type at); ``then`` comes before the sentence that says this
    refusal was the last (the text door starts a line for it)."""
    text = problems[e.problem](e)
    if e.still:
        text += f" You are still {e.still}."
    if e.final:
        text += then + (
            "Too many failed attempts (invalid usernames and wrong passwords)."
            if e.problem is Problem.WRONG_PASSWORD_FOR
            else "Too many invalid usernames."
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
    Outcome.KICKED: lambda e: f"Disconnected {e.name} from the server.",
    Outcome.BANNED: _banned,
    Outcome.UNBANNED: lambda e: f"Lifted the ban on {e.name}.",
    Outcome.KICKED_YOU: _thrown_out("kicked"),
    Outcome.BANNED_YOU: _thrown_out("banned"),
    Outcome.REPLACED_YOU: lambda e: (
        f"You logged in as {e.name} on another connection; this one is closed."
    ),
    Outcome.ROOM_REGISTERED: lambda e: (
        f"Registered {e.room}: its topic, modes and bans are kept, and you get operator status "
        f"there whenever you join (/room ops add NAME lists others)."
    ),
    Outcome.ROOM_DROPPED: lambda e: (
        f"Dropped the registration of {e.room}; it is forgotten once nobody is in it."
    ),
    Outcome.ROOM_OP_ADDED: lambda e: (
        f"{e.name} is on the operator list of {e.room}: operator whenever they join."
    ),
    Outcome.ROOM_OP_REMOVED: lambda e: f"{e.name} is off the operator list of {e.room}.",
    Outcome.OPERATOR: lambda e: (
        f"You are now a server operator (as {e.name}) until you disconnect: admin "
        f"commands work on this connection."
    ),
}


def done(e: Done, outcomes: Mapping[Outcome, Callable[[Done], str]] = OUTCOMES) -> str:
    """``e`` as one sentence (no line ending); ``outcomes`` as ``refusal``'s ``problems``."""
    return outcomes[e.outcome](e)


_ROLE_GIVEN = {Role.OPERATOR: "made {} an operator of {}", Role.VOICE: "gave {} voice in {}"}
_ROLE_TAKEN = {
    Role.OPERATOR: "took operator status in {1} from {0}",
    Role.VOICE: "took voice in {1} from {0}",
}


def role_changed(e: RoleChanged) -> str:
    """A role given or taken, as one sentence: "Alice made Bob an operator of #rust"."""
    said = (_ROLE_GIVEN if e.on else _ROLE_TAKEN)[e.role].format(e.name, e.room)
    return f"{e.by} {said}"


MODE_WORDS = {
    Mode.MODERATED: "moderated",
    Mode.SECRET: "secret",
    Mode.INVITE_ONLY: "invite only",
    Mode.KEY: "protected by a key",
    Mode.LIMIT: "limited to {} members",
}
"""Each mode as an adjective: "#rust is moderated"."""


def modes(e: Modes) -> str:
    """A room's modes in words: "#rust is moderated and secret; only operators set its
    topic" (the two every room has come last; the key only to members)."""
    words = [MODE_WORDS[m].format(e.limit) for m in Mode if m in e.modes]
    words = [f"{w} ({e.key})" if w == MODE_WORDS[Mode.KEY] and e.key else w for w in words]
    said = " and ".join(words)
    fixed = "only members talk in it and only operators set its topic"
    return f"{e.room} is {said}; {fixed}" if said else f"In {e.room} {fixed}"


def mode_changed(e: ModeChanged) -> str:
    """A mode turned on or off, as one sentence: "Alice made #rust moderated"."""
    if e.mode is Mode.KEY:
        said = f"set the key of {e.room} to {e.value}" if e.on else f"removed the key of {e.room}"
    elif e.mode is Mode.LIMIT:
        said = (
            f"limited {e.room} to {e.value} members"
            if e.on
            else f"lifted the member limit of {e.room}"
        )
    else:
        said = f"made {e.room} {'' if e.on else 'no longer '}{MODE_WORDS[e.mode]}"
    return f"{e.by} {said}"


def invitation(e: Invitation) -> str:
    """ "Alice invites you to #rust (/join #rust)"."""
    return f"{e.by} invites you to {e.room} (/join {e.room})"


def invited(e: Invited) -> str:
    """ "Alice invited Dave to #rust" (to the room's other operators)."""
    return f"{e.by} invited {e.name} to {e.room}"


STATUS_AUDIENCE = {Role.OPERATOR: "operators", Role.VOICE: "voiced members and operators"}
"""Whom a ``StatusMessage`` was meant for, in words."""


def status_message(e: StatusMessage) -> str:
    """ "Bob (to the operators of #rust): text", "* Bob waves (to the operators of #rust)",
    "-Bob (to ...)- text" for a notice: what nc users and the page show of IRC's
    ``PRIVMSG @#room``, so that nobody takes it for a line the whole room saw."""
    to = f"to the {STATUS_AUDIENCE[e.to]} of {e.room}"
    if e.action:
        return f"* {e.name} {e.text} ({to})"
    if e.notice:
        return f"-{e.name} ({to})- {e.text}"
    return f"{e.name} ({to}): {e.text}"


def invitations(e: Invitations) -> str:
    """ "You are invited to #rust and #go (/join #rust)", or that there are none."""
    if not e.rooms:
        return "You hold no invitations"
    rooms = e.rooms[0] if len(e.rooms) == 1 else f"{', '.join(e.rooms[:-1])} and {e.rooms[-1]}"
    return f"You are invited to {rooms} (/join {e.rooms[0]}); each invitation lasts an hour"


def past_names(e: PastNames) -> list[str]:
    """Who had the name (``/whowas``), newest first, one sentence each: "Bob (Bob Smith)
    was here until 2026-12-04 20:31 UTC."."""
    return [
        f"{g.name} ({g.realname or g.name}) was here until"
        f" {time.strftime('%Y-%m-%d %H:%M', time.gmtime(g.when))} UTC."
        for g in e.gone
    ]


def invite_sent(e: InviteSent) -> str:
    return f"You invited {e.name} to {e.room}; the invitation lasts an hour"


def banned_one(ban: RoomBan) -> str:
    """Whom a room's ban names: "the account Dave", "Dave", "*!*@chat-trio"."""
    return f"the account {ban.mask}" if ban.kind is BanKind.ACCOUNT else ban.mask


def ban_changed(e: BanChanged) -> str:
    """A ban set or lifted, as one sentence: "Alice banned Dave from #rust: spam"."""
    if not e.on:
        return f"{e.by} lifted the ban on {banned_one(e.ban)} in {e.room}"
    reason = f": {e.ban.reason}" if e.ban.reason else ""
    return f"{e.by} banned {banned_one(e.ban)} from {e.room}{reason}"


def ban_lines(e: BanList) -> list[str]:
    """A room's bans, a heading then one line each: "Dave, by Alice at 2026-12-04 20:31
    UTC: spam"."""
    if not e.bans:
        return [f"{e.room} has no bans."]
    lines = [f"Bans of {e.room} ({len(e.bans)}):"]
    for ban in e.bans:
        at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ban.at))
        reason = f": {ban.reason}" if ban.reason else ""
        lines.append(f"{banned_one(ban)}, by {ban.by} at {at}{reason}")
    return lines


def room_info(e: RoomInfo) -> str:
    """Who founded a registered room, when, and whom it lists as operators."""
    if e.server:
        return f"{e.room} is the server's own room: it has no founder, and its admins run it"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(e.registered_at))
    ops = ", ".join(e.ops) if e.ops else "nobody else"
    founder = e.founder or "an account now gone"
    return f"{e.room} was registered by {founder} on {when}; operators: {ops}"


def kicked(who: str, room: str, by: str, reason: str) -> str:
    """Someone put out of a room, ``who`` being "Bob was" or "You were": "Bob was kicked
    out of #rust by Alice: spam"."""
    return f"{who} kicked out of {room} by {by}" + (f": {reason}" if reason else "")


def redacted(e: Redacted) -> str:
    """A message deleted: "Alice deleted a message by Bob in #rust: spam"."""
    whose = "their own message" if e.author == e.by else f"a message by {e.author}"
    where = f"in {e.target}" if e.target.startswith("#") else "in a private conversation"
    return f"{e.by} deleted {whose} {where}" + (f": {e.reason}" if e.reason else "")


def whois(e: Whois) -> str:
    """What is known about someone, as one line."""
    since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(e.since))
    rooms = ", ".join(e.rooms)
    away = f"; away: {e.away}" if e.away else ""
    bot = "; a bot" if e.bot else ""
    return f"{e.name}: in {rooms}; connected since {since}; idle {e.idle:.0f}s{away}{bot}"


USER_MODE_WORDS = {
    UserMode.INVISIBLE: "invisible",
    UserMode.WALLOPS: "receiving wallops",
    UserMode.BOT: "a bot",
    UserMode.OPERATOR: "a server operator",
}
"""Each user mode as words: "You are invisible and a bot"."""


def user_modes(e: UserModes) -> str:
    """One's own user modes, or their change, as one sentence."""
    said = " and ".join(USER_MODE_WORDS[m] for m in UserMode if m in e.modes)
    if e.removed:
        gone = " and ".join(USER_MODE_WORDS[m] for m in e.removed)
        return f"You are no longer {gone}" + (f"; you are {said}" if said else "")
    if e.added:
        return f"You are now {said}"
    return f"You are {said}" if said else "You have no user modes"


def wallops(e: Wallops) -> str:
    """ "[wallops] Alice: the server restarts at 22:00"."""
    return f"[wallops] {e.name}: {e.text}"


_DISCONNECTED_BECAUSE = {
    Reason.SHUTDOWN: "Server is shutting down. Goodbye!",
    Reason.SLOW: "Disconnected: too slow to receive (your send queue was full).",
}


def disconnected(e: Disconnected) -> str:
    """Why the server ends the connection, as one sentence."""
    return _DISCONNECTED_BECAUSE.get(e.reason, "Disconnected.")


def unreachable(e: Unreachable) -> str:
    return (
        "The other servers of this chat are out of reach: people on them do not hear "
        f"{e.room} for now (people on this server still do)"
    )


def missed(e: Missed) -> str:
    lost = f" for {_seconds(max(1, round(e.seconds)))}" if e.seconds else ""
    return f"Some messages may be missing (the server lost contact with its peers{lost})"
