"""What the interpreter of the rules' outputs (delivery/effects.py) asks of storage: one
narrow protocol, so that a second backend (Redis, for several nodes) is one new module.

Each method is the I/O behind one of the rules' outputs (chat/outputs.py); what it
returns goes back through the rules. None raises: a backend that could not do its work
says so in its answer (``None``, ``Verdict.UNAVAILABLE``) or logs it and goes on, so a
storage outage is never a session's crash and never a wrong password.

``SqliteBackend`` (sqlite.py) is the server's: SQLite in worker threads, argon2 in others.
The tests run the same interpreter with a backend over the same SQL on their own thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import attrs

from chat_trio.chat.events import ConnId, Entry
from chat_trio.chat.intents import Secret
from chat_trio.chat.outputs import Claim, QueryHistory, QueryTargets
from chat_trio.chat.registry import Account, Ban, RegisteredRoom, Verdict
from chat_trio.passwords import Passwords

log = logging.getLogger("chat_trio.storage")


@attrs.frozen
class RoomHistory:
    """What a room shows on joining, as storage remembers it."""

    entries: tuple[Entry, ...] = ()  #: its last conversation lines, oldest first
    topic: str = ""  #: its last topic ("" if none)
    name: str = ""  #: its name as last written ("" if it has no history)


class Backend(Protocol):
    """History, accounts, bans, registered rooms, read markers and password hashing,
    for the interpreter."""

    def record(self, entries: tuple[Entry, ...]) -> None:
        """Store ``entries`` (never waits; best effort: see storage/store.py's policy)."""

    async def load_room(self, room: str, lines: int) -> RoomHistory:
        """The last ``lines`` conversation lines of ``room``, its topic and spelling
        (empty if it cannot be read: the room is joined without its history)."""

    async def read_history(self, query: QueryHistory) -> Sequence[Entry] | None:
        """The entries ``query`` asks for, oldest first; None if they cannot be read."""

    async def read_targets(self, query: QueryTargets) -> Sequence[tuple[str, float]] | None:
        """The targets ``query`` asks for, oldest first; None if they cannot be read."""

    async def forget(self, query: QueryHistory) -> None:
        """Delete the message ``query`` finds (by ``around_id``: ``FindMessage`` found it)."""

    async def check_password(self, key: str, password: Secret) -> tuple[Verdict, bool]:
        """Is ``password`` the account ``key``'s, and is the account an admin's (as
        stored now)."""

    async def hash_password(self, password: Secret) -> str:
        """The hash of ``password`` to store."""

    async def save_account(self, key: str, account: Account | None) -> None:
        """Store ``account`` under ``key`` (None: delete it)."""

    async def save_ban(self, kind: str, key: str, ban: Ban | None) -> None:
        """Store ``ban`` (None: lift the ban on (``kind``, ``key``))."""

    async def note_login(self, key: str) -> None:
        """The account ``key`` logged in now."""

    async def save_room(self, key: str, record: RegisteredRoom | None) -> None:
        """Store the registered room ``record`` under ``key`` (None: drop it)."""

    async def save_marker(self, account: str, target: str, at: int, keep: int) -> None:
        """Store the read marker of ``account`` (its id) on ``target`` (a name_key),
        keeping the account's ``keep`` most recently set ones."""

    async def claim_name(self, key: str, conn: ConnId, *, wait: bool = False) -> Claim:
        """Claim the name whose look-alike key is ``key`` for ``conn`` on every node
        (asked only where names are shared: ``--redis``); ``wait``: its holder is letting
        it go (``ClaimName.wait``)."""

    def release_name(self, key: str, conn: ConnId) -> None:
        """Let the name ``key`` go, if ``conn`` still holds it (never waits)."""


async def check_password(
    read: Callable[[], Awaitable[Account | None]],
    errors: tuple[type[Exception], ...],
    passwords: Passwords,
    password: Secret,
) -> tuple[Verdict, bool]:
    """``Backend.check_password`` over a backend's ``read`` of the account: a storage
    error (one of ``errors``) is no verdict on the password (an outage is not a guess),
    a missing account is a wrong password, and argon2 runs in ``passwords``' threads."""
    try:
        account = await read()
    except errors as exc:
        log.error("account-read-failed error=%r", str(exc))
        return Verdict.UNAVAILABLE, False
    if account is None:
        return Verdict.WRONG, False
    ok = await passwords.verify(account.hash, password)
    return Verdict.RIGHT if ok else Verdict.WRONG, account.admin


class NoStorage:
    """The backend of a server without a database (``--no-db``): nothing is stored and
    nothing can be read. The rules know (``Chat(stored=False)``): they keep recent lines
    in memory, answer ``/history``, ``/register`` and ``/room register`` with their
    refusals, and ask this for nothing but ``record``."""

    def record(self, entries: tuple[Entry, ...]) -> None:
        pass

    async def load_room(self, room: str, lines: int) -> RoomHistory:
        return RoomHistory()

    async def read_history(self, query: QueryHistory) -> Sequence[Entry] | None:
        return None

    async def read_targets(self, query: QueryTargets) -> Sequence[tuple[str, float]] | None:
        return None

    async def forget(self, query: QueryHistory) -> None:
        pass

    async def check_password(self, key: str, password: Secret) -> tuple[Verdict, bool]:
        return Verdict.UNAVAILABLE, False

    async def hash_password(self, password: Secret) -> str:
        raise RuntimeError("no accounts without a database: the rules never ask")

    async def save_account(self, key: str, account: Account | None) -> None:
        pass

    async def save_ban(self, kind: str, key: str, ban: Ban | None) -> None:
        pass

    async def note_login(self, key: str) -> None:
        pass

    async def save_room(self, key: str, record: RegisteredRoom | None) -> None:
        pass

    async def save_marker(self, account: str, target: str, at: int, keep: int) -> None:
        pass

    async def claim_name(self, key: str, conn: ConnId, *, wait: bool = False) -> Claim:
        """One node: the rules' own check is the whole answer (names are not shared)."""
        return Claim.GRANTED

    def release_name(self, key: str, conn: ConnId) -> None:
        pass
