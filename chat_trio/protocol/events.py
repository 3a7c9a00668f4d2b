"""The vocabulary of the protocol: what users see, and what the core asks of the I/O layer.

Two families of small frozen classes live here:

* **Events** are things a user sees (``Said``, ``Joined``, ``UserList`` ...). They carry
  meaning, not bytes: each transport renders them its own way (``render.py`` for
  nc/telnet), so the rules in ``core.py`` never depend on a wire format.
* **Outputs** are the core's instructions to the I/O layer: deliver these events to one
  connection (``Reply``), to every chat member (``Broadcast``), start delivering
  broadcasts to a connection (``Subscribe``), or end a connection (``Close``).

This module must never import trio or do I/O.
"""

from __future__ import annotations

import enum

import attrs

ConnId = int
"""Identifies one connection for the lifetime of the server (never reused)."""


class Reason(enum.Enum):
    """Why a connection ended. The value is the word used in logs."""

    QUIT = "quit"  #: the user typed /quit
    INTERRUPTED = "interrupted"  #: telnet's interrupt (IAC IP: Ctrl-C in telnet)
    CLOSED = "closed"  #: the client closed its side of the connection (EOF)
    LOST = "lost"  #: the connection broke (reset, broken pipe)
    SLOW = "slow"  #: the client did not read fast enough; its send queue overflowed
    BAD_NAME = "bad-name"  #: too many invalid usernames
    NAME_TIMEOUT = "name-timeout"  #: no valid username in time
    IDLE = "idle"  #: a registered user sent nothing for the idle timeout
    SHUTDOWN = "shutdown"  #: the server is shutting down
    ERROR = "error"  #: a bug on our side; logged with its traceback


# -- Events: what a user sees --------------------------------------------------------------


@attrs.frozen
class Greeting:
    """The first line a new connection receives."""


@attrs.frozen
class AskName:
    """The username prompt (no line break: the user types after it)."""


@attrs.frozen
class NameRefused:
    """A username was refused; the prompt follows."""

    reason: str  #: a complete sentence that says what is wrong


@attrs.frozen
class Welcome:
    """Registration succeeded."""

    name: str  #: the name as the user typed it
    online: int  #: registered users, including this one


@attrs.frozen
class Joined:
    """Another user entered the chat."""

    name: str


@attrs.frozen
class Left:
    """Another user left the chat."""

    name: str
    reason: Reason  #: rendered only when it is not an ordinary quit or close


@attrs.frozen
class Said:
    """A chat line from another user."""

    name: str  #: who said it
    text: str  #: sanitised text, never empty


@attrs.frozen
class UserList:
    """The answer to /users."""

    total: int  #: how many users are online
    names: tuple[str, ...]  #: sorted case-insensitively; at most the first ``USERS_SHOWN``


@attrs.frozen
class Help:
    """The answer to /help, generated from the command registry."""

    commands: tuple[tuple[str, str], ...]  #: (usage, what it does), in registry order


@attrs.frozen
class Error:
    """A request could not be carried out; nothing was sent to anyone else."""

    text: str  #: a complete sentence that says what is wrong and what to do


@attrs.frozen
class Goodbye:
    """The last line before the server closes the connection at the user's request."""

    reason: Reason


@attrs.frozen
class Disconnected:
    """The server ends the connection for a reason of its own (shutdown, too slow)."""

    reason: Reason


Event = (
    Greeting
    | AskName
    | NameRefused
    | Welcome
    | Joined
    | Left
    | Said
    | UserList
    | Help
    | Error
    | Goodbye
    | Disconnected
)


# -- Outputs: what the core asks the I/O layer to do ---------------------------------------


@attrs.frozen
class Reply:
    """Deliver ``events`` to one connection only."""

    to: ConnId
    events: tuple[Event, ...]


@attrs.frozen
class Broadcast:
    """Deliver ``events`` to every subscribed member except ``exclude``."""

    events: tuple[Event, ...]
    exclude: ConnId | None


@attrs.frozen
class Subscribe:
    """From now on, deliver broadcasts to ``conn`` as well."""

    conn: ConnId


@attrs.frozen
class Close:
    """Deliver what is already queued for ``conn``, then close it."""

    conn: ConnId
    reason: Reason


Output = Reply | Broadcast | Subscribe | Close
