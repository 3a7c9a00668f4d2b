"""``chat-trio user``: the operator's account management, straight on the database.

``list [PATTERN]``, ``add NAME``, ``passwd NAME``, ``delete NAME``, ``promote NAME``,
``demote NAME``. ``list``'s pattern is a glob (``*``, ``?``, ``[...]``), case-insensitive;
a pattern without any of those is a prefix (``list al`` lists Alice and Albert). A
password is asked for on the terminal (twice, without echo), or read as one line from
standard input when that is not a terminal (``echo "$PW" | chat-trio user add Eve``). It
is never printed or logged. A running server sees each change within a few seconds
(server.py polls the table of account changes), so a promotion takes effect for a user who is
online now.

This is where an admin's account comes from: a name listed in ``--admins`` cannot be
registered from a chat door (whoever took the name first would be an admin at once).
"""

from __future__ import annotations

import fnmatch
import getpass
import secrets
import sys
import time
from typing import TextIO

import attrs

from chat_trio.chat.events import Refused
from chat_trio.chat.names import check_name
from chat_trio.chat.registry import Account, check_password
from chat_trio.chat.vocabulary import name_key
from chat_trio.doors.wording import refusal
from chat_trio.passwords import Cost, hasher
from chat_trio.storage.database import DatabaseError
from chat_trio.storage.operator import Records, opened

ACTIONS = ("list", "add", "passwd", "delete", "promote", "demote")


class Refusal(Exception):
    """The command cannot be done; the message says why, for the operator."""


def run(
    action: str,
    name: str | None,
    path: str,
    cost: Cost,
    stdin: TextIO = sys.stdin,
    stdout: TextIO | None = None,
    *,
    make_folder: bool = False,
    redis: str | None = None,
) -> int:
    """Carry out ``chat-trio user ACTION [NAME]`` (for ``list``, NAME is a pattern);
    returns the exit status (errors go to stderr as one sentence). ``make_folder``: the
    database is in its default place, whose folder is made if missing."""
    with opened(path, redis, make_folder) as db:
        if db is None:
            return 1
        try:
            said = _do(db, action, name, db.where, cost, stdin)
        except (Refusal, DatabaseError) as exc:
            print(f"chat-trio: {exc}", file=sys.stderr)
            return 1
    print(said, file=stdout or sys.stdout)
    return 0


def _do(
    db: Records,
    action: str,
    name: str | None,
    path: str,
    cost: Cost,
    stdin: TextIO,
) -> str:
    if action == "list":
        accounts = sorted(db.accounts(), key=lambda a: name_key(a.name))
        if name:
            accounts = [a for a in accounts if matches(a.name, name)]
        dates = db.account_dates()
        width = max((len(a.name) for a in accounts), default=0)
        rows = []
        for a in accounts:
            created, last = dates.get(name_key(a.name), (0.0, 0.0))
            rows.append(
                f"{a.name:<{width}}  {'admin' if a.admin else 'user '}  created "
                f"{_day(created)}  last login {_moment(last) if last else 'never'}"
            )
        if not rows:
            return (
                f"No accounts matching {name!r} in {path}." if name else f"No accounts in {path}."
            )
        return "\n".join(rows)
    if not name:
        raise Refusal(f"which account? chat-trio user {action} NAME")
    key = name_key(name)
    account = db.account(key)
    if action == "add":
        if account is not None:
            raise Refusal(f"there is an account {account.name} already")
        if (problem := check_name(name, frozenset(), unicode=True)) is not None:
            raise Refusal(refusal(problem))
        made = Account(name, _hash(_password(name, stdin, action), cost), id=secrets.token_hex(8))
        db.operator_account(key, made)
        return f"Added the account {name}."
    if account is None:
        raise Refusal(f"there is no account {name!r} in {path}")
    if action == "passwd":
        hashed = _hash(_password(account.name, stdin, action), cost)
        db.operator_account(key, attrs.evolve(account, hash=hashed))
        return f"Changed the password of {account.name}."
    if action == "delete":
        db.operator_account(key, None)
        return f"Deleted the account {account.name}; the name is free now."
    changed = db.set_admin(account.name, action == "promote")
    assert changed is not None
    return f"{changed.name} is {'now' if changed.admin else 'no longer'} an admin."


def matches(name: str, pattern: str) -> bool:
    """Does ``name`` match ``pattern``: a case-insensitive glob, or a prefix where it has
    no wildcard?"""
    pattern = pattern.casefold()
    if not any(c in pattern for c in "*?["):
        pattern += "*"
    return fnmatch.fnmatchcase(name.casefold(), pattern)


def _day(when: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(when)) if when else "unknown"


def _moment(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))


def _password(name: str, stdin: TextIO, action: str) -> str:
    if stdin.isatty():
        first = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same again: ") != first:
            raise Refusal("the two passwords differ; nothing was changed")
    else:
        first = stdin.readline().rstrip("\r\n")
        if not first:
            raise Refusal(
                "no password on standard input (it is not a terminal, and it was empty); "
                "run this at a terminal to be asked for one, or give it one line: "
                f'echo "$PASSWORD" | chat-trio user {action} {name}'
            )
    problem: Refused | None = check_password(first)
    if problem is not None:
        raise Refusal(refusal(problem))
    return first


def _hash(password: str, cost: Cost) -> str:
    return hasher(cost).hash(password)  # blocking is fine here: there is no event loop
