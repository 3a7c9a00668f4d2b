"""Registering an IRC connection: CAP negotiation, NICK, USER, PASS and SASL PLAIN, as two
named state machines with their transition tables, and the commands that drive them.

Theory of operation. A client sends ``NICK`` and ``USER`` in any order; ``CAP LS`` or
``CAP REQ`` may come first and hold registering until ``CAP END``. Once both are there
(and no negotiation holds it), the door asks the rules for the name: ``ChooseName``, or
``LogIn`` if ``PASS`` gave a password. A refused name leaves the door asking again at the
next ``NICK``; the rules' ``Welcome`` ends registration.

SASL PLAIN runs beside it: ``AUTHENTICATE PLAIN``, then the base64 credentials in pieces
of ``SASL_CHUNK`` characters; the login is handed to the rules, whose answer decides 903 or
904. What registering sends waits meanwhile (``Hold``, until ``Release`` at CAP END), so
that 900 and 903 come before 001 as clients expect.

Rules:

1. Only the transitions in ``STAGES`` and ``SASL`` happen; ``advance`` raises on any
   other (a bug, not a half-registered client).
2. Before registration, only the commands marked so in the command table are taken
   (others get 451); after it, registration commands get 462.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import base64
import enum
from typing import TYPE_CHECKING

from chat_trio.chat import intents as i
from chat_trio.chat import words
from chat_trio.chat.vocabulary import LOBBY, name_key
from chat_trio.doors import Answer, Free
from chat_trio.doors.irc.message import Message, serialize
from chat_trio.doors.irc.render import Hold, IrcSettings, Release, Urgent

if TYPE_CHECKING:
    from chat_trio.doors.irc.door import IrcDoor

CAPABILITIES = (
    "account-notify",
    "account-tag",
    "away-notify",
    "batch",
    "cap-notify",
    "draft/chathistory",
    "draft/read-marker",
    "draft/message-redaction",
    "echo-message",
    "extended-join",
    "extended-monitor",
    "invite-notify",
    "labeled-response",
    "message-tags",
    "multi-prefix",
    "sasl",
    "server-time",
    "setname",
    "userhost-in-names",
)
"""The IRCv3 capabilities offered (CAP LS; ``sasl`` is listed as ``sasl=PLAIN`` to a
``CAP LS 302``, as ``sasl`` to an older client, which reads no values).
multi-prefix shows ``@+`` for an operator who is voiced too; labeled-response applies once
registered and with ``batch`` too (as InspIRCd's)."""

_CAP_SETS: dict[frozenset[str], frozenset[str]] = {}
"""One frozenset per set of capabilities in use, shared by every connection that asked
for it (clients of one kind ask for the same ones): a set is 216 bytes or more. At most
``CAP_SETS_MAX`` are kept (the first asked for); a connection asking for another keeps
its own set. Every subset of ``CAPABILITIES`` would be 2^18 sets and over 400 MB."""

CAP_SETS_MAX = 64

SASL_CHUNK = 400  #: AUTHENTICATE carries base64 in pieces of this many characters
SASL_MAX = 1200  #: characters of base64 a PLAIN answer may take (names and passwords are short)


class Stage(enum.Enum):
    """Where an IRC connection is in registering."""

    OPEN = "open"  #: NICK and USER awaited (or CAP END, if negotiating)
    ASKED = "asked"  #: the rules were asked for the name; a refusal waits for a new NICK
    REGISTERED = "registered"  #: welcomed


class Move(enum.Enum):
    """What moves registration on."""

    ASK = "ask"  #: NICK and USER are there, no negotiation holds it: ask the rules
    WELCOMED = "welcomed"  #: the rules' Welcome (a SASL login can bring it before NICK)


STAGES: dict[tuple[Stage, Move], Stage] = {
    (Stage.OPEN, Move.ASK): Stage.ASKED,
    (Stage.ASKED, Move.ASK): Stage.ASKED,  # a new NICK after a refusal
    (Stage.ASKED, Move.WELCOMED): Stage.REGISTERED,
    (Stage.OPEN, Move.WELCOMED): Stage.REGISTERED,  # logged in with SASL, before CAP END
}
"""Every transition of registration. Diagram::

    OPEN --ask--> ASKED --welcomed--> REGISTERED
    OPEN --welcomed (SASL)--> REGISTERED

CAP negotiation is beside it (``IrcDoor.negotiating``): from CAP LS or REQ before
registering until CAP END, nothing is asked of the rules, and what a SASL login's
registration sends is held (``Hold``) until CAP END releases it (``Release``).
"""


class Sasl(enum.Enum):
    """Where a SASL PLAIN exchange is."""

    IDLE = "idle"  #: none in progress
    RECEIVING = "receiving"  #: AUTHENTICATE PLAIN accepted: the credentials are coming
    #: the credentials passed ``SASL_MAX`` (905 said once): the rest of them is read and
    #: dropped, up to their last piece, so that no piece is taken for a mechanism's name
    DISCARDING = "discarding"
    CHECKING = "checking"  #: the login is with the rules: their answer decides 903 or 904


SASL: frozenset[tuple[Sasl, Sasl]] = frozenset(
    {
        (Sasl.IDLE, Sasl.RECEIVING),
        (Sasl.RECEIVING, Sasl.IDLE),  # aborted, or the credentials are not PLAIN's
        (Sasl.RECEIVING, Sasl.DISCARDING),  # too long
        (Sasl.DISCARDING, Sasl.IDLE),  # the last piece, or aborted
        (Sasl.RECEIVING, Sasl.CHECKING),
        (Sasl.CHECKING, Sasl.IDLE),  # answered
    }
)
"""Every transition of a SASL exchange: IDLE -> RECEIVING -> CHECKING -> IDLE, or
RECEIVING -> DISCARDING -> IDLE for credentials too long."""


def advance(stage: Stage, move: Move) -> Stage:
    """The stage after ``move`` from ``stage``.

    Raises:
        ValueError: the table has no such transition (a bug in the door).
    """
    try:
        return STAGES[(stage, move)]
    except KeyError:
        raise ValueError(f"no registration move from {stage.name} on {move.name}") from None


def sasl_to(current: Sasl, wanted: Sasl) -> Sasl:
    """``wanted``, if the SASL table allows it from ``current``; raises ValueError else."""
    if (current, wanted) not in SASL:
        raise ValueError(f"no SASL transition from {current.name} to {wanted.name}")
    return wanted


# -- the commands that drive it ------------------------------------------------------------


def shared_caps(caps: frozenset[str]) -> frozenset[str]:
    """The shared set equal to ``caps``, if one is kept (see ``_CAP_SETS``)."""
    if caps in _CAP_SETS or len(_CAP_SETS) >= CAP_SETS_MAX:
        return _CAP_SETS.get(caps, caps)
    return _CAP_SETS.setdefault(caps, caps)


def cap(door: IrcDoor, params: tuple[str, ...]) -> None:
    sub = params[0].upper()
    if sub in ("LS", "REQ") and door.stage is not Stage.REGISTERED:
        door.negotiating = True
    if sub == "LS":  # values (sasl=PLAIN) only for a client that says it reads them
        valued = len(params) > 1 and params[1].isdigit() and int(params[1]) >= 302
        offered = " ".join("sasl=PLAIN" if c == "sasl" and valued else c for c in CAPABILITIES)
        door.server_message("CAP", door.nick, "LS", offered)
    elif sub == "LIST":
        door.server_message("CAP", door.nick, "LIST", " ".join(sorted(door.caps)))
    elif sub == "REQ" and len(params) > 1:
        wanted = params[1].split()
        if all(w.removeprefix("-") in CAPABILITIES for w in wanted):
            caps = set(door.caps)
            for w in wanted:
                if w.startswith("-"):
                    caps.discard(w[1:])
                else:
                    caps.add(w)
            door.caps = door.replies.caps = shared_caps(frozenset(caps))
            door.caps_changed = door.stage is Stage.REGISTERED  # rooms joined: new views
            door.server_message("CAP", door.nick, "ACK", params[1])
        else:
            door.server_message("CAP", door.nick, "NAK", params[1])
    elif sub == "END":
        if door.negotiating:
            door.negotiating = False
            door.queue.append(Answer((Release(),), free=True))
        ask(door)
    else:
        door.numeric("410", sub, "Invalid CAP command")


def nick(door: IrcDoor, params: tuple[str, ...]) -> None:
    if door.stage is Stage.REGISTERED:
        door.queue.append(i.Rename(params[0]))
        return
    door.asked_nick = params[0]
    ask(door)


def user(door: IrcDoor, params: tuple[str, ...]) -> None:
    if door.stage is Stage.REGISTERED:
        door.numeric("462", "You may not reregister")
        return
    # An empty username or realname counts as none (modern.ircdocs.horse): 461.
    if len(params) < 4 or not params[0] or not params[3]:
        door.numeric("461", "USER", "Not enough parameters")
        return
    door.user_given, door.username, door.realname = True, params[0], params[3]
    door.replies.user = words.username(params[0])  # as the rules keep it (the intent's)
    ask(door)


def password(door: IrcDoor, params: tuple[str, ...]) -> None:
    if door.stage is Stage.REGISTERED:
        door.numeric("462", "You may not reregister")
    else:
        door.password = params[0]


def ask(door: IrcDoor) -> None:
    """NICK and USER are there and nothing holds registering: ask the rules for the name
    (a login to it, with PASS)."""
    if door.stage is Stage.REGISTERED or door.negotiating:
        return
    if not door.asked_nick or not door.user_given:
        return
    door.stage = advance(door.stage, Move.ASK)
    where, user, realname = lobby(door.settings), door.username, door.realname
    if door.password:
        door.queue.append(i.LogIn(door.asked_nick, door.password, where, user, realname))
    else:
        door.queue.append(i.ChooseName(door.asked_nick, where, user, realname))


def lobby(settings: IrcSettings) -> i.Lobby:
    """Where the rules put an IRC user once named: in ``#lobby`` if it is one of the
    auto-join channels (as every door's users are: "joined the chat"), else in no room;
    either way free to be in none (an IRC client lists its channels)."""
    in_lobby = any(name_key(room) == name_key(LOBBY) for room in settings.autojoin)
    return i.Lobby.FIRST if in_lobby else i.Lobby.NEVER


def autojoin(door: IrcDoor) -> None:
    """Registered: join the other auto-join channels, in order, before anything the
    client sends next (``#lobby``, if listed, was entered by registering: ``lobby``)."""
    joins = [
        Free(i.Join(room)) for room in door.settings.autojoin if name_key(room) != name_key(LOBBY)
    ]
    door.queue[0:0] = joins


def authenticate(door: IrcDoor, params: tuple[str, ...]) -> None:
    """SASL PLAIN, tied to the accounts: the login is checked by the rules, and what
    registering sends waits for CAP END (``Hold``)."""
    blob = params[0]
    if door.stage is Stage.REGISTERED:  # (logging in later: NickServ IDENTIFY)
        door.numeric("462", "You may not reregister")
    elif "sasl" not in door.caps:
        sasl_answer(door, ("904", "SASL authentication failed"))
    elif blob == "*":
        if door.sasl in (Sasl.RECEIVING, Sasl.DISCARDING):
            door.sasl = sasl_to(door.sasl, Sasl.IDLE)
        sasl_answer(door, ("906", "SASL authentication aborted"))
    elif door.sasl is Sasl.DISCARDING:  # (905 was said: nothing more until the last piece)
        if len(blob) < SASL_CHUNK:
            door.sasl = sasl_to(door.sasl, Sasl.IDLE)
    elif door.sasl is Sasl.IDLE:
        if blob.upper() == "PLAIN":
            door.sasl, door.sasl_data = sasl_to(door.sasl, Sasl.RECEIVING), ""
            door.queue.append(Answer((Urgent(b"AUTHENTICATE +\r\n"),)))
        else:  # the mechanisms there are, then the failure the client waits for
            sasl_answer(
                door,
                ("908", "PLAIN", "are available SASL mechanisms"),
                ("904", "SASL authentication failed"),
            )
    elif door.sasl is Sasl.RECEIVING:
        door.sasl_data += "" if blob == "+" else blob
        if len(door.sasl_data) > SASL_MAX:
            door.sasl_data = ""
            last = len(blob) < SASL_CHUNK
            door.sasl = sasl_to(door.sasl, Sasl.IDLE if last else Sasl.DISCARDING)
            sasl_answer(door, ("905", "SASL message too long"))
        elif len(blob) < SASL_CHUNK:
            credentials, door.sasl_data = _plain(door.sasl_data), ""
            if credentials is None:
                door.sasl = sasl_to(door.sasl, Sasl.IDLE)
                sasl_answer(door, ("904", "SASL authentication failed"))
            else:
                door.sasl = sasl_to(door.sasl, Sasl.CHECKING)
                door.queue.append(Answer((Hold(),), free=True))
                where, user, realname = lobby(door.settings), door.username, door.realname
                door.queue.append(i.LogIn(*credentials, where, user, realname))
    else:  # CHECKING: one login at a time
        sasl_answer(door, ("904", "SASL authentication failed"))


def sasl_answered(door: IrcDoor, logged_in: bool) -> None:
    """The rules answered the SASL login: 903, or 904 and what was held released."""
    door.sasl = sasl_to(door.sasl, Sasl.IDLE)
    if logged_in:
        sasl_answer(door, ("903", "SASL authentication successful"), free=True)
    else:
        door.queue.insert(0, Answer((Release(),), free=True))
        sasl_answer(door, ("904", "SASL authentication failed"), free=True)


def sasl_answer(door: IrcDoor, *numerics: tuple[str, ...], free: bool = False) -> None:
    """Answer AUTHENTICATE with ``numerics`` (each ``(numeric, *params)``), in order,
    before anything else waiting (a client may send CAP END without waiting for it).
    ``free``: not the answer to a line (the outcome of the login, which the line that
    asked for it paid for). They are addressed to ``*``: SASL is only done while
    registering (``authenticate``), and the nick a login gives is the client's only
    from 001 on, which comes after them."""
    server = door.settings.server_name
    lines = "".join(serialize(Message(n, ("*", *params), server)) for n, *params in numerics)
    door.queue.insert(0, Answer((Urgent(lines.encode()),), free=free))


def _plain(blob: str) -> tuple[str, str] | None:
    """SASL PLAIN's base64 ``authzid NUL authcid NUL password``: (authcid, password).
    None if it is not that, or if it asks to act as another identity than its own (an
    authzid other than the authcid: RFC 4616; nobody here may log in as another)."""
    try:
        parts = base64.b64decode(blob, validate=True).decode().split("\0")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return None
    if parts[0] and name_key(parts[0]) != name_key(parts[1]):
        return None
    return parts[1], parts[2]
