"""Words people give: the one check that every text a person types passes, whatever door
it came through.

Each intent's text fields are converted here when the intent is made (their attrs
converters, intents.py), so no door can build an intent that skips the check, and
nothing another person sees can hold a line break, whatever the door's framing allows
(a web client's JSON can carry ``\\n``; an nc line or an IRC message cannot).

Rules, by kind of field (docs/protocol.md, "One line on every door"):

1. **Free text that others see** (a chat line, a private message, a topic, an away
   message, a kick or ban reason) is one line (``line``): every run of line and
   paragraph separators (CR, LF, VT, FF, U+0085, U+2028, U+2029) is folded to one space;
   terminal escape sequences, IRC's colour codes, the other control characters but TAB,
   and bidi controls are removed; a lone surrogate (only JSON can carry one) becomes U+FFFD.
2. **Names, rooms, passwords and the door's other words** (``text``): a lone surrogate
   becomes U+FFFD; nothing else is changed here, because the rules refuse what does not
   belong, with a typed problem that says why (names.check_name, rooms.check_room,
   registry.check_password).
3. **Numbers** (``count``): ASCII digits only. ``str.isdigit`` also accepts "²" and
   "¹", which ``int`` then refuses.
4. **A username** (``username``, IRC's ``USER``): plain ASCII letters, digits, ``.``,
   ``_`` and ``-``, bounded; it is part of the person's mask.
5. **Client tags** (``client_tags``, IRCv3 message-tags: ``+typing``, ``+draft/reply``
   ...), which the rules carry with a message without reading them: only keys of the
   client-only form (``+``, an optional vendor and ``/``, then letters, digits and
   ``-``) are kept, each once (the last value), values with lone surrogates, NUL, CR and
   LF made safe, and at most ``CLIENT_TAGS_BYTES`` of them in all (the rest dropped).

This module never imports trio and never does I/O; it imports nothing of ours.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and
# two-character escapes; plus the one-byte C1 CSI. Removed whole, parameters included,
# so "\x1b[2J" leaves nothing behind rather than a stray "[2J".
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    # IRC's formatting: a colour (^C, with up to two digits and a background after a
    # comma) or a hex colour (^D RRGGBB); the one-byte codes (bold, italics, ...) are
    # C0 controls and go with the rest. Removed whole, so "^C04red" leaves "red".
    r"|\x03(?:[0-9]{1,2}(?:,[0-9]{1,2})?)?"
    r"|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?"
)
# What may not reach another user's terminal once escape sequences are gone: C0 controls
# but TAB and the line feed that separates lines in a chunk, DEL, C1 controls, bidi
# embeddings, overrides, isolates and marks (Trojan-source style reordering), and the
# line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\n\r\x0b\x0c\x85\u2028\u2029]+")
"""Line and paragraph separators: a run of them becomes one space in a line."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_PLAIN = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""Anything ``line`` would change (the common case is a line with none of it)."""

COUNT_DIGITS = 9
"""Digits a count may have: every count the rules take is far below 10**9."""

CLIENT_TAGS_BYTES = 4094
"""Bytes of client tags one message carries at most, written ``key=value;``: what IRCv3
message-tags allows a client (4096 with the ``@`` and the space)."""

_CLIENT_TAG_KEY = re.compile(r"\+(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9-]+")
_TAG_VALUE_BREAKS = re.compile("[\0\r\n]")


def clean(text: str) -> str:
    """``text`` without escape sequences and unsafe characters; line feeds are kept (it
    may be several lines, as a chunk of the text door's input is)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub("", _ESCAPE_SEQUENCE.sub("", text))


def line(text: str) -> str:
    """``text`` as one line that others may see (rule 1)."""
    if _NOT_PLAIN.search(text) is None:
        return text
    text = _SURROGATE.sub("\ufffd", text)
    return clean(_BREAKS.sub(" ", text))


def text(words: str) -> str:
    """``words`` with each lone surrogate replaced (rule 2): what is left can always be
    encoded, so echoing it back never fails on any door."""
    if words.isascii() or _SURROGATE.search(words) is None:
        return words
    return _SURROGATE.sub("\ufffd", words)


def texts(words: tuple[str, ...]) -> tuple[str, ...]:
    """``text`` of each."""
    return tuple(map(text, words))


USERNAME_MAX = 16  #: characters of a username kept (IRC's ISUPPORT USERLEN)
_NOT_USERNAME = re.compile(r"[^A-Za-z0-9._-]")
"""What a username may not hold: it sits inside every mask (``nick!user@host``), so
``!``, ``@``, ``*``, ``?``, spaces and anything outside plain ASCII would make a mask
that reads, or matches, as someone else's."""


def username(given: str) -> str:
    """IRC's ``USER`` username as kept (rule 4): only ASCII letters, digits, ``.``,
    ``_`` and ``-`` (others are dropped, as servers drop them from an ident), at most
    ``USERNAME_MAX`` characters. "" (nothing left): the person's name stands for it."""
    return _NOT_USERNAME.sub("", given)[:USERNAME_MAX]


def client_tags(tags: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The client-only tags of ``tags``, each once, within ``CLIENT_TAGS_BYTES`` (rule 4)."""
    if not tags:
        return ()
    kept: dict[str, str] = {}
    for key, value in tags:
        if _CLIENT_TAG_KEY.fullmatch(key):
            kept.pop(key, None)  # (the last value, in the place of the last)
            kept[key] = _TAG_VALUE_BREAKS.sub("", text(value))
    out, total = [], 0
    for key, value in kept.items():
        total += len(key.encode()) + len(value.encode()) + 2  # "=" and ";"
        if total > CLIENT_TAGS_BYTES + 1:  # (the last tag has no ";")
            break
        out.append((key, value))
    return tuple(out)


def count(digits: str) -> int | None:
    """``digits`` as a number if they are 1 to ``COUNT_DIGITS`` ASCII digits (rule 3)."""
    if 0 < len(digits) <= COUNT_DIGITS and digits.isascii() and digits.isdigit():
        return int(digits)
    return None


MOMENT_MAX = 253402300799.0  #: 9999-12-31T23:59:59Z: the last time a timestamp can write


def moment(given: float | None) -> float | None:
    """A time a client gave (Unix seconds) as the rules take it: between 1970 and the end
    of year 9999 (further is clamped to those ends; NaN is 1970), so that every time
    stored, compared or written back is one a timestamp can hold (SQLite cannot take the
    milliseconds of 1e300). None stays None: no time given."""
    if given is None:
        return None
    return min(max(float(given), 0.0), MOMENT_MAX) if given == given else 0.0
