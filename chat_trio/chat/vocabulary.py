"""The words the rules and every door share: how names are compared, the lobby, and the
limits a door advertises (IRC's ISUPPORT, the page's input fields, the text door's
usage lines).

A leaf: it imports nothing of ours, so the rules, the doors and storage can all use it
without reaching into a rule module. It never imports trio and never does I/O.
"""

from __future__ import annotations

import math
import re
import unicodedata

LOBBY = "#lobby"  #: the room everyone is put in on registering, and that always exists

NAME_MAX = 32  #: characters of a username
ROOM_MAX = 32  #: characters of a room name after the "#"
TOPIC_MAX = 300  #: characters of a topic
AWAY_MAX = 300  #: characters of an away message kept
REASON_MAX = 300  #: characters of a kick or ban reason kept
HISTORY_MAX = 500  #: lines one history request answers at most
ROOMS_PER_USER = 20  #: rooms one user may be in at once, by default (``--max-rooms-per-user``)
LIST_MAX = 500
"""Names or rooms one list answers at most, on any door (a door may ask for fewer): the
page's member list and IRC's LIST; IRC's NAMES and WHO come in pages of this many. An
answer (under 20 KB even with 32-character names) stays below a quarter of the default
send-queue bound, so that a connection's own answers never make it an outbox near its
bound (delivery/outbox.py, ``own_share``)."""

HOST = "chat-trio"
"""The host part of every person's mask (``person_mask``): a cloak, the same for everyone.
No door ever shows a client's address (docs/security.md, "What others learn about you"):
a ban by host is a ban of everyone, so bans name a nick, a username or an account."""

REALNAME_MAX = 100  #: characters of a real name kept (IRC's ``USER``, WHO, WHOIS)


def millis(moment: float) -> int:
    """``moment`` (Unix time) in whole milliseconds, rounded down: the one way every part
    counts them (IRC's ``time`` tag, read markers, history's bounds, and the page's
    ``millis`` in app.js, which must stay the same formula), so that a line marked read
    at the time a client was shown for it is read everywhere. A time parsed from
    ``...:00.123Z`` is a float a hair under .123 at times; the microsecond added is far
    below what a time tag shows and far above a float's error at today's dates (a
    quarter of a microsecond)."""
    return math.floor(moment * 1000 + 1e-3)


def person_mask(name: str, user: str = "") -> str:
    """The mask of the person called ``name`` whose username is ``user`` (IRC's ``USER``;
    "": the name, as for the text door's and the page's users): ``name!user@chat-trio``.
    The one maker of masks: IRC shows it (WHO, WHOIS, USERHOST, NAMES with
    userhost-in-names, the source of lines), and a room's mask bans (roles.py) are
    matched against it whichever door the person came through."""
    return f"{name}!{user or name}@{HOST}"


SERVICES = frozenset(
    {"nickserv", "chanserv", "operserv", "memoserv", "hostserv", "botserv", "saslserv"}
)
"""Names IRC users trust as the network's services (``/msg NickServ IDENTIFY ...``): no
user may take one, whatever ``--reserved-names`` says, so a password sent to one never
reaches an impostor."""


def name_key(name: str) -> str:
    """What two names must differ in to be different users: case and compatibility forms
    (fullwidth "\\uff21\\uff2c\\uff29\\uff23\\uff25" is "alice") do not count."""
    if name.isascii():  # every room name and most usernames: NFKC changes nothing there
        return name.lower()
    return unicodedata.normalize("NFKC", name).casefold()


_LOOKALIKE = re.compile("[01i]|rn|vv")
_SAME_LOOK = {"0": "o", "1": "l", "i": "l", "rn": "m", "vv": "w"}


def look(name: str) -> str:
    """What two names must differ in to be told apart at a glance: ``name_key``, with the
    ASCII characters that look alike made one (after Unicode's confusables, UTS #39:
    ``0`` and ``o``; ``1``, ``i`` and ``l`` (so ``I``, once lower-cased); ``rn`` and
    ``m``; ``vv`` and ``w``). "AIice", "A1ice" and "Alice" look the same. Names of
    other scripts (``--unicode-names``) are compared by ``name_key`` only."""
    key = name_key(name)
    if not key.isascii() or _LOOKALIKE.search(key) is None:
        return key  # the same object: no extra string kept for most names
    return _LOOKALIKE.sub(lambda found: _SAME_LOOK[found[0]], key)
