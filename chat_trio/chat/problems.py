"""Why something could not be done, and what was done: typed, so that every door words them.

A refusal is a ``Problem`` member carried by a ``Refused`` event with its parameters; a
confirmation is an ``Outcome`` carried by ``Done``. Neither holds a sentence: the text door
says "The name "Bob" is already taken; please choose another.", the IRC door sends numeric
433, a JSON door would send ``{"type": "refused", "problem": "name-taken"}``. The value of
each member is that stable code.

Problems marked *door* are found by a door while parsing (a line too long, an unknown
command, a missing parameter); all others by the rules. This module never imports trio.
"""

from __future__ import annotations

import enum


class Problem(enum.Enum):
    """Why a request was refused. Parameters go in ``Refused``'s fields, named below."""

    # Choosing a name (``name``: the name tried; ``length``/``limit``; ``char``)
    NAME_EMPTY = "name-empty"
    NAME_TOO_LONG = "name-too-long"  #: length, limit
    NAME_START = "name-start"  #: must start with a letter (any script)
    NAME_START_ASCII = "name-start-ascii"  #: must start with A-Z or a-z
    NAME_CHAR = "name-char"  #: char
    NAME_RESERVED = "name-reserved"  #: name
    NAME_TAKEN = "name-taken"  #: name
    NAME_REGISTERED = "name-registered"  #: name; ``naming``: asked while choosing a first name
    NAME_LOOKALIKE = "name-lookalike"  #: name; like: the name online or registered it looks like
    NOT_A_NAME = "not-a-name"  #: name (in a history request)
    NAME_UNCHANGED = "name-unchanged"  #: name: a rename to the name one has (same case)
    NAMES_UNAVAILABLE = "names-unavailable"  #: name: the other nodes could not be asked
    NAME_LOST = "name-lost"  #: name: given to someone on another node while this was cut off
    #: room: how it is run could not be read from the other nodes (joining it waits)
    ROOM_UNAVAILABLE = "room-unavailable"
    # Accounts
    NO_ACCOUNT = "no-account"  #: name
    ACCOUNT_BANNED = "account-banned"  #: name, until
    LOGIN_THROTTLED = "login-throttled"  #: limit (seconds to wait)
    WRONG_PASSWORD_FOR = "wrong-password-for"  #: name (logging in)
    WRONG_PASSWORD = "wrong-password"  #: changing or deleting an account
    BAD_PASSWORD = "bad-password"  #: length limits in ``length`` (min) and ``limit`` (max)
    NO_ACCOUNTS = "no-accounts"  #: the server runs without a database
    ACCOUNTS_UNAVAILABLE = "accounts-unavailable"  #: a password could not be checked now
    ALREADY_REGISTERED = "already-registered"  #: name
    REGISTERED_MEANWHILE = "registered-meanwhile"  #: name
    NOT_LOGGED_IN = "not-logged-in"
    ADMIN_NAME = "admin-name"  #: name: listed in --admins; only the operator makes its account
    # Admins
    NOT_ADMIN = "not-admin"  #: name: the command ("kick", "ban", "unban")
    NOT_OPER = "not-oper"  #: name: ``Oper`` of an account that is not an admin's (or none)
    OPER_PASSWORD = "oper-password"  #: name: ``Oper`` with a wrong password for the account
    NO_SUCH_TARGET = "no-such-target"  #: name: not an account, user or address
    NO_BAN = "no-ban"  #: name
    BAN_LENGTH = "ban-length"  #: limit: a ban's length must be more than 0 (longer: forever)
    ADDRESS_BANNED = "address-banned"  #: until
    BAN_OWN_ADDRESS = "ban-own-address"  #: name: the address the admin is connected from;
    #: like: the user online there whom the ban named ("" when the address was typed)
    # People and rooms
    NO_SUCH_USER = "no-such-user"  #: name
    NO_SUCH_RECIPIENT = "no-such-recipient"  #: name (of a private message)
    NOT_AWAY = "not-away"  #: coming back while not away
    NEVER_HERE = "never-here"  #: name: nobody of that name left or renamed lately (WHOWAS)
    WATCH_FULL = "watch-full"  #: name: the names not added (comma-separated); limit
    REALNAME_BAD = "realname-bad"  #: limit: a real name is 1 to that many characters
    ROOM_MISSING = "room-missing"
    ROOM_NO_HASH = "room-no-hash"  #: name
    ROOM_LENGTH = "room-length"  #: limit
    ROOM_CHAR = "room-char"  #: char
    NO_SUCH_ROOM = "no-such-room"  #: room
    NOT_IN_ROOM = "not-in-room"  #: room
    CANNOT_SEND = "cannot-send"  #: room: saying something in a room one is not in
    NO_TEXT = "no-text"  #: a line or private message with nothing left to show
    ONLY_ROOM = "only-room"  #: room (door: text users are always in a room)
    TOO_MANY_ROOMS_FOR_USER = "too-many-rooms-for-user"  #: limit
    TOO_MANY_ROOMS = "too-many-rooms"
    TOPIC_TOO_LONG = "topic-too-long"  #: length, limit
    # Room roles (chat/roles.py)
    NOT_OPERATOR = "not-operator"  #: room; name: what was tried ("topic", "kick", "op" ...)
    LOBBY_ADMINS = "lobby-admins"  #: room; name: what was tried: #lobby is the admins' only
    USER_NOT_IN_ROOM = "user-not-in-room"  #: name, room: the person acted on is not in it
    KICK_LAST_ROOM = "kick-last-room"  #: name, room (#lobby): it is their only room
    MODERATED = "moderated"  #: room: only its operators and voiced members may talk
    INVITE_ONLY = "invite-only"  #: room: joining it needs an invitation
    NEEDS_KEY = "needs-key"  #: room: joining it needs its key (a wrong or missing one)
    ROOM_FULL = "room-full"  #: room, limit: it has its limit of members
    KEY_SET = "key-set"  #: room: it has a key already (remove it first)
    BAD_MODE_VALUE = "bad-mode-value"  #: room; name: the mode ("key", "limit"); limit:
    #: the longest key or the highest limit
    LOBBY_OPEN = "lobby-open"  #: name: the mode: #lobby stays open to everyone
    ALREADY_IN_ROOM = "already-in-room"  #: name, room: inviting someone who is in it
    ROOM_BANNED = "room-banned"  #: room: one of its bans matches the one joining
    BANNED_TALK = "banned-talk"  #: room: one of its bans matches a member who tries to talk
    BAN_LIST_FULL = "ban-list-full"  #: room, limit: it holds its most bans already
    ROOM_NO_BAN = "room-no-ban"  #: name, room: no ban of the room is that
    BAD_BAN_MASK = "bad-ban-mask"  #: name: what was given; limit: the longest mask
    # Registered rooms (chat/registered.py)
    NO_REGISTERED_ROOMS = "no-registered-rooms"  #: the server runs without a database
    ROOM_NOT_REGISTERED = "room-not-registered"  #: room
    ROOM_ALREADY_REGISTERED = "room-already-registered"  #: room
    SERVERS_ROOM = "servers-room"  #: room (#lobby): it is the server's, never registered
    NOT_FOUNDER = "not-founder"  #: room; name: what was tried ("drop", "ops")
    TOO_MANY_REGISTERED = "too-many-registered"  #: limit: rooms one account may found
    TOO_MANY_ROOM_OPS = "too-many-room-ops"  #: room, limit: operators a room may list
    NOT_ROOM_OP = "not-room-op"  #: name, room: the account is not on its list
    # Read markers (chat/markers.py)
    MARKER_TARGET = "marker-target"  #: name: neither a room's name nor a person's
    # History
    HISTORY_RANGE = "history-range"  #: limit
    HISTORY_OFF = "history-off"
    HISTORY_UNAVAILABLE = "history-unavailable"
    # Deleting a message (messages.py, rule 7)
    REDACT_TARGET = "redact-target"  #: room: the target given (a room one is not in, or no one)
    UNKNOWN_MESSAGE = "unknown-message"  #: room: the target; name: the message's id
    REDACT_FORBIDDEN = "redact-forbidden"  #: room: the target; name: the message's id
    # Input (door)
    LINE_TOO_LONG = "line-too-long"  #: limit (bytes)
    UNKNOWN_COMMAND = "unknown-command"  #: name
    NEEDS_NAME = "needs-name"  #: name: the command tried before choosing a name
    USAGE = "usage"  #: name: the command's usage line
    WHICH_ROOM = "which-room"  #: name: the command that needs one
    BAD_MESSAGE = "bad-message"  #: name: what is wrong with it (the web door's JSON)
    # Limits and timeouts (the connection is closed after these)
    SLOW_DOWN = "slow-down"  #: limit (burst), rate (lines per second); not final
    FLOODED = "flooded"  #: limit (lines waiting), rate
    IDLE = "idle"  #: limit (seconds)
    NAME_TIMEOUT = "name-timeout"  #: limit (seconds)
    SERVER_FULL = "server-full"
    TOO_MANY_FROM_ADDRESS = "too-many-from-address"  #: limit
    CONNECTING_TOO_FAST = "connecting-too-fast"


class Outcome(enum.Enum):
    """What was done at a user's request (or to them), confirmed with ``Done``."""

    LOGGED_IN = "logged-in"  #: name
    REGISTERED = "registered"  #: name
    PASSWORD_CHANGED = "password-changed"
    UNREGISTERED = "unregistered"  #: name
    KICKED = "kicked"  #: name: who was kicked
    BANNED = "banned"  #: name: what was banned, as typed; kind, key; until
    UNBANNED = "unbanned"  #: name
    KICKED_YOU = "kicked-you"  #: name: the admin; text: the reason
    BANNED_YOU = "banned-you"  #: name: the admin; text: the reason
    REPLACED_YOU = "replaced-you"  #: name: the account, now logged in on another connection
    ROOM_REGISTERED = "room-registered"  #: room
    ROOM_DROPPED = "room-dropped"  #: room
    ROOM_OP_ADDED = "room-op-added"  #: name (the account), room
    ROOM_OP_REMOVED = "room-op-removed"  #: name (the account), room
    OPERATOR = "operator"  #: name: the admin account whose password made this one an operator
