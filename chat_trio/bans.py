"""``chat-trio ban``: the operator's bans, straight on the database.

``list``, ``add TARGET [--for 7d] [--reason TEXT] [--force]``, ``remove TARGET``. A target
is an IP address, or an account's name (banned wherever it logs in from). A running server
applies each change within a few seconds (server.py polls the table of ban changes, as it
does for ``chat-trio user``): whoever a new ban matches is thrown out at once, told it was
the operator.

A ban that would cover the address the operator is connected from asks for ``--force``:
the SSH client's address (``$SSH_CONNECTION``, ``$SSH_CLIENT``), or a loopback address
(every local client, the operator's own included, and whatever a local proxy lets in).
"""

from __future__ import annotations

import ipaddress
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import TextIO

from chat_trio.chat.moderation import BAN_LONGEST, bans_on
from chat_trio.chat.registry import Ban
from chat_trio.chat.vocabulary import REASON_MAX, name_key
from chat_trio.chat.words import line
from chat_trio.doors.wording import describe_until
from chat_trio.storage.database import DatabaseError
from chat_trio.storage.operator import Records, opened
from chat_trio.users import Refusal

ACTIONS = ("list", "add", "remove")
BY = "the operator"
"""Who a ban from the shell is by, as the banned are told it (never a username: it has a
space, so no one online can be taken for it)."""


def run(
    action: str,
    target: str | None,
    path: str,
    *,
    seconds: float = math.inf,
    reason: str = "",
    force: bool = False,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    make_folder: bool = False,
    redis: str | None = None,
) -> int:
    """Carry out ``chat-trio ban ACTION [TARGET]``; returns the exit status (errors go to
    stderr as one sentence). ``environ`` (None: ``os.environ``) says where the operator
    is connected from; ``make_folder``: as for ``users.run``."""
    with opened(path, redis, make_folder) as db:
        if db is None:
            return 1
        try:
            said = _do(db, action, target, db.where, seconds, reason, force, environ)
        except (Refusal, DatabaseError) as exc:
            print(f"chat-trio: {exc}", file=sys.stderr)
            return 1
    print(said, file=stdout or sys.stdout)
    return 0


def _do(
    db: Records,
    action: str,
    target: str | None,
    path: str,
    seconds: float,
    reason: str,
    force: bool,
    environ: Mapping[str, str] | None,
) -> str:
    now = time.time()
    if action == "list":
        return _list(db.bans(now), path)
    if not target:
        raise Refusal(f"ban whom? chat-trio ban {action} ADDRESS|ACCOUNT")
    if action == "remove":
        lifted = bans_on({(b.kind, b.key): b for b in db.bans(now)}, target)
        if not lifted:
            raise Refusal(f"there is no ban on {target!r} in {path}")
        for kind, key in lifted:
            db.operator_ban(kind, key, None)
        return "Lifted the ban on " + ", ".join(f"the {kind} {key}" for kind, key in lifted) + "."
    kind, key, shown = _target(db, target, path)
    if kind == "address" and not force:
        _check_not_own(key, environ)
    if not seconds > 0:
        raise Refusal(f"a ban lasts at least a second, not {seconds:g}")
    until = now + seconds if seconds <= BAN_LONGEST else math.inf
    ban = Ban(kind, key, until, line(reason)[:REASON_MAX], BY)
    db.operator_ban(kind, key, ban)
    return f"Banned the {kind} {shown} {describe_until(until)}."


def _target(db: Records, word: str, path: str) -> tuple[str, str, str]:
    """(kind, key, as shown) of the ban ``word`` asks for: an address, or an account."""
    try:
        return "address", str(ipaddress.ip_address(word)), str(ipaddress.ip_address(word))
    except ValueError:
        pass
    account = db.account(name_key(word))
    if account is None:
        raise Refusal(
            f"{word!r} is neither an IP address nor an account in {path} (a guest's name "
            f"belongs to nobody: ban the address they come from, or /ban them in the chat)"
        )
    return "account", name_key(word), account.name


def operator_addresses(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(address, where it was read) for each address the operator is connected from, as
    the SSH server tells its session."""
    found = []
    for variable in ("SSH_CONNECTION", "SSH_CLIENT"):
        words = environ.get(variable, "").split()
        if words:
            try:
                found.append((str(ipaddress.ip_address(words[0])), variable))
            except ValueError:
                continue
    return found


def _check_not_own(address: str, environ: Mapping[str, str] | None) -> None:
    """Refuse a ban on the operator's own address, unless forced.

    Raises:
      Refusal: saying why, and that ``--force`` does it anyway.
    """
    if ipaddress.ip_address(address).is_loopback:
        raise Refusal(
            f"{address} is this machine's own (loopback) address: a ban on it shuts out "
            f"every client on this machine, you included, and everyone a local proxy lets "
            f"in; add --force if that is what you mean"
        )
    for own, variable in operator_addresses(os.environ if environ is None else environ):
        if own == address:
            raise Refusal(
                f"{address} is the address you are connected from (${variable}): a ban on "
                f"it would shut you out of the chat too; add --force if that is what you mean"
            )


def _list(bans: list[Ban], path: str) -> str:
    if not bans:
        return f"No bans in {path}."
    bans = sorted(bans, key=lambda b: (b.kind, b.key))
    width = max(len(b.key) for b in bans)
    rows = []
    for b in bans:
        row = f"{b.kind:<7}  {b.key:<{width}}  {describe_until(b.until)}  by {b.by or '-'}"
        if b.name:
            row += f"  ({b.name})"
        rows.append(row + (f"  reason: {b.reason}" if b.reason else ""))
    return "\n".join(rows)
