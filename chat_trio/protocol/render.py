"""How events look on a plain-text terminal (nc, telnet): one ``\\r\\n``-terminated line each.

The wording of a few lines is fixed because users' scripts rely on it: the prompt
contains ``Enter your username:``, registration answers a line starting ``Welcome``, chat
is ``Name: text``, ``/users`` answers ``Users online: N (...)``, ``/quit`` answers
``Goodbye!``, and notices about other users start with ``* ``.

This module never imports trio and never does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chat_trio.protocol.events import (
    AskName,
    Disconnected,
    Error,
    Event,
    Goodbye,
    Greeting,
    Help,
    Joined,
    Left,
    NameRefused,
    Reason,
    Said,
    UserList,
    Welcome,
)

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
}
_DISCONNECTED_BECAUSE = {
    Reason.SHUTDOWN: "* Server is shutting down. Goodbye!",
    # Starts with a line break: the kick may cut a line that was being sent.
    Reason.SLOW: f"{EOL}* Disconnected: too slow to receive (your send queue was full).",
}


def _users(e: UserList) -> str:
    listed = ", ".join(e.names)
    more = f", and {e.total - len(e.names)} more" if e.total > len(e.names) else ""
    return f"Users online: {e.total} ({listed}{more}){EOL}"


def _help(e: Help) -> str:
    width = max(len(usage) for usage, _ in e.commands)
    rows = "".join(f"  {usage:<{width}}  {summary}{EOL}" for usage, summary in e.commands)
    return f"Commands:{EOL}{rows}"


def _welcome(e: Welcome) -> str:
    users = "1 user" if e.online == 1 else f"{e.online} users"
    return f"Welcome to the chat, {e.name}! {users} online. Type /help for commands.{EOL}"


_RENDER: dict[type[Any], Callable[[Any], str]] = {
    Said: lambda e: f"{e.name}: {e.text}{EOL}",
    Joined: lambda e: f"* {e.name} joined the chat{EOL}",
    Left: lambda e: f"* {e.name} left the chat{_LEFT_BECAUSE.get(e.reason, '')}{EOL}",
    Greeting: lambda e: f"Welcome to chat-trio!{EOL}",
    AskName: lambda e: "Enter your username: ",
    NameRefused: lambda e: f"{e.reason}{EOL}",
    Welcome: _welcome,
    UserList: _users,
    Help: _help,
    Error: lambda e: f"{e.text}{EOL}",
    Goodbye: lambda e: f"{_TIMING_MARK if e.reason is Reason.INTERRUPTED else ''}Goodbye!{EOL}",
    Disconnected: lambda e: f"{_DISCONNECTED_BECAUSE.get(e.reason, '* Disconnected.')}{EOL}",
}


def render(events: Iterable[Event]) -> bytes:
    """Encode ``events`` as terminal lines, in order, as one UTF-8 bytes object."""
    return "".join([_RENDER[type(e)](e) for e in events]).encode("utf-8", "surrogateescape")
