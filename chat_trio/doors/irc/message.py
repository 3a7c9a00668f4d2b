"""IRC messages: parse one line into a ``Message``, and serialize one back. Sans-I/O.

Follows the modern client protocol (modern.ircdocs.horse): ``[@tags] [:source] COMMAND
[params] [:trailing]``. Tags are ``key[=value]`` separated by ``;`` with the IRCv3 value
escapes; the command is case-insensitive (kept upper-case); at most 15 parameters, the
last may contain spaces when it follows ``:``.

Limits (checked here, so that the door can answer with the right numeric): the tag part
at most ``CLIENT_TAGS_MAX`` bytes, the rest at most ``LINE_MAX`` bytes (without CR LF).

This module never imports trio and never does I/O.
"""

from __future__ import annotations

import re

import attrs

LINE_MAX = 510  #: bytes of a message without tags and without CR LF (RFC 1459's 512)
TAGS_MAX = 8191  #: bytes of the tag part, "@" and the space included (IRCv3 message-tags)
CLIENT_TAGS_MAX = 4096
"""Bytes of the tag part a client may send, "@" and the space included: IRCv3
message-tags gives clients 4094 bytes of tag data and keeps the rest of ``TAGS_MAX`` for
the tags a server adds (msgid, time, account ...) when it relays them. More: 417."""
PARAMS_MAX = 15

_BREAK = re.compile("[\r\n\0]")
"""What must never be inside a message: a client would read a line break as the end of
it, and the rest as another message (from whatever source it claims)."""

_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}


@attrs.frozen
class Message:
    """One IRC message."""

    command: str  #: upper-case, or a three-digit numeric
    params: tuple[str, ...] = ()
    source: str = ""  #: "nick!user@host" or a server name; "" when none
    tags: tuple[tuple[str, str], ...] = ()  #: (key, value) in order; value "" when none


@attrs.frozen
class ParseError:
    """A line that is not a message; ``what`` says which limit or rule it broke."""

    what: str  #: "empty", "tags-too-long", "too-long", "no-command"


def _unescape(value: str) -> str:
    out = []
    chars = iter(value)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append(_UNESCAPE.get(nxt, nxt))
        else:
            out.append(c)
    return "".join(out)


def parse(line: str) -> Message | ParseError:
    """Parse one line (without its line ending)."""
    tags: list[tuple[str, str]] = []
    rest = line
    if rest.startswith("@"):
        raw, _, rest = rest.partition(" ")
        if len((raw + " ").encode()) > CLIENT_TAGS_MAX:
            return ParseError("tags-too-long")
        for item in raw[1:].split(";"):
            if item:
                key, _, value = item.partition("=")
                tags.append((key, _unescape(value)))
        rest = rest.lstrip(" ")
    if len(rest.encode()) > LINE_MAX:
        return ParseError("too-long")
    source = ""
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    rest = rest.lstrip(" ")
    if not rest:
        return ParseError("no-command" if source or tags else "empty")
    head, colon, trailing = rest.partition(" :")
    words = head.split()
    if not words or rest.startswith(":"):  # " :x": parameters but no command
        return ParseError("no-command")
    command, params = words[0].upper(), words[1:]
    if colon:
        params.append(trailing)
    if len(params) > PARAMS_MAX:
        params = [*params[: PARAMS_MAX - 1], " ".join(params[PARAMS_MAX - 1 :])]
    return Message(command, tuple(params), source, tuple(tags))


def tag(key: str, value: str) -> str:
    """One tag as it is written: ``key=value`` with the value escaped, or ``key``."""
    return f"{key}={''.join(_ESCAPE.get(c, c) for c in value)}" if value else key


def serialize(message: Message) -> str:
    """``message`` as one line with CR LF. The last parameter is sent as trailing when it
    needs it (empty, starts with ":" or holds a space). Any other parameter that could not
    be read back as one (a client's words said back in a numeric: ``LINKS :x y``) is made
    one: its spaces become ``_``, a leading ":" goes, and an empty one is ``*``. A CR, LF
    or NUL inside the line (none should get this far: words.py checks every text people
    give) becomes a space, so no text can ever be read as a message of its own."""
    parts = []
    if message.tags:
        parts.append("@" + ";".join(tag(k, v) for k, v in message.tags))
    if message.source:
        parts.append(f":{message.source}")
    parts.append(message.command)
    params = list(message.params)
    if params:
        last = params.pop()
        for n, param in enumerate(params):
            if not param or param[0] == ":" or " " in param:
                params[n] = param.lstrip(":").replace(" ", "_") or "*"
        parts.extend(params)
        parts.append(f":{last}" if not last or last.startswith(":") or " " in last else last)
    line = " ".join(parts)
    if "\r" in line or "\n" in line or "\0" in line:  # (a regex search costs 8x as much)
        line = _BREAK.sub(" ", line)
    return line + "\r\n"
