"""The SQLite schema and every query (history, accounts, bans, registered rooms), as
plain blocking functions (no trio, no async).

``store.py`` calls these from worker threads; ``chat-trio user`` and ``chat-trio ban``
(users.py, bans.py) call them directly, with no event loop to block. Each function takes
the connection it works on; none keeps state (but ``ServerLock``, the one server's hold
on its database). Errors that a user can fix (a file that is not
a database, a directory we cannot write) become ``DatabaseError`` with a sentence naming
the file.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import math
import os
import shlex
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Sequence

from chat_trio.chat import roles, words
from chat_trio.chat.events import CONVERSATION, BanKind, Entry, Kind, Mode, RoomBan
from chat_trio.chat.outputs import QueryHistory, QueryTargets
from chat_trio.chat.registry import Account, Ban, RegisteredRoom
from chat_trio.chat.vocabulary import millis, name_key

log = logging.getLogger("chat_trio.storage")

SCHEMA_VERSION = 7  # 1: history; 2: accounts and bans; 3: a ban's guest, account changes,
# when accounts were made and last logged in, private messages' accounts; 4: accounts'
# ids, and private messages stored by whose they are (connections and account ids);
# 5: messages' ids (``msgid``; older rows keep '' and read back as ``r<id>``);
# 6: registered rooms (``rooms`` and their ``room_bans``; added by CREATE IF NOT EXISTS,
# so older files open); 7: read markers (``read_markers``, added the same way).
# The ban_changes table came later without a new version: it is only added (CREATE IF
# NOT EXISTS), and an older chat-trio that does not know it still works on the file.

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,        -- increases with time: the order lines were seen
    time REAL NOT NULL,            -- Unix time, from the server's clock
    kind TEXT NOT NULL,            -- events.Kind values
    room TEXT NOT NULL,            -- the room's name as shown; '' for a private message
    room_key TEXT NOT NULL,        -- name_key(room), for lookups
    name TEXT NOT NULL,            -- who
    name_key TEXT NOT NULL,
    text TEXT NOT NULL,
    target TEXT NOT NULL,          -- a private message's receiver; '' otherwise
    target_key TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',        -- a private message's sender's account id
    target_account TEXT NOT NULL DEFAULT '', -- its receiver's ('' for a guest)
    session TEXT NOT NULL DEFAULT '',        -- the sender's connection (World.session)
    target_session TEXT NOT NULL DEFAULT '', -- the receiver's
    msgid TEXT NOT NULL DEFAULT ''           -- World.message_id; '' before schema 5
);
CREATE INDEX IF NOT EXISTS history_by_room ON history (room_key, id);
CREATE INDEX IF NOT EXISTS history_by_msgid ON history (msgid) WHERE msgid != '';
DROP INDEX IF EXISTS history_private;  -- by name: private history is read by identity
CREATE INDEX IF NOT EXISTS pm_by_session ON history (session) WHERE kind = 'pm';
CREATE INDEX IF NOT EXISTS pm_by_account ON history (account) WHERE kind = 'pm';
CREATE INDEX IF NOT EXISTS pm_by_target_session ON history (target_session) WHERE kind = 'pm';
CREATE INDEX IF NOT EXISTS pm_by_target_account ON history (target_account) WHERE kind = 'pm';
CREATE TABLE IF NOT EXISTS accounts (
    name_key TEXT PRIMARY KEY,     -- name_key(name)
    name TEXT NOT NULL,            -- as registered
    hash TEXT NOT NULL,            -- argon2id, with its parameters and salt
    admin INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL DEFAULT 0,     -- Unix time; 0: before schema 3
    last_login REAL NOT NULL DEFAULT 0,  -- Unix time; 0: never
    id TEXT NOT NULL DEFAULT ''          -- never another account's, even of the same name
);
CREATE TABLE IF NOT EXISTS bans (
    kind TEXT NOT NULL,            -- 'account' or 'address'
    key TEXT NOT NULL,             -- name_key, or the IP address
    until REAL NOT NULL,           -- Unix time; a very large number: forever
    reason TEXT NOT NULL,
    by TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',  -- the guest named, for an address banned by a name
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS rooms (
    name_key TEXT PRIMARY KEY,     -- name_key(name)
    name TEXT NOT NULL,            -- as registered
    founder TEXT NOT NULL,         -- the founding account's id (accounts.id)
    ops TEXT NOT NULL DEFAULT '',  -- ids of the accounts listed as operators, space-separated
    topic TEXT NOT NULL DEFAULT '',
    topic_by TEXT NOT NULL DEFAULT '',
    topic_at REAL NOT NULL DEFAULT 0,     -- Unix time
    modes TEXT NOT NULL DEFAULT '',       -- events.Mode values, space-separated
    key TEXT NOT NULL DEFAULT '',         -- while the 'key' mode is on
    member_limit INTEGER NOT NULL DEFAULT 0,  -- while the 'limit' mode is on
    registered_at REAL NOT NULL           -- Unix time
);
CREATE TABLE IF NOT EXISTS room_bans (
    name_key TEXT NOT NULL,        -- the registered room's (rooms.name_key)
    kind TEXT NOT NULL,            -- events.BanKind: 'account', 'name' or 'mask'
    mask TEXT NOT NULL,            -- the account's or guest's name, or the mask
    by TEXT NOT NULL,              -- the operator who set it
    at REAL NOT NULL,              -- Unix time
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name_key, kind, mask)
);
CREATE INDEX IF NOT EXISTS accounts_by_id ON accounts (id);  -- save_marker asks by it
CREATE TABLE IF NOT EXISTS read_markers (
    account TEXT NOT NULL,         -- the account's id (accounts.id)
    target TEXT NOT NULL,          -- name_key of the room, or of the person (private)
    at INTEGER NOT NULL,           -- read up to this Unix time, in milliseconds
    PRIMARY KEY (account, target)  -- rowid: the order they were last set in
);
CREATE TABLE IF NOT EXISTS account_changes (
    id INTEGER PRIMARY KEY,        -- increases: a running server reads those after its last
    name_key TEXT NOT NULL         -- the account that `chat-trio user` changed
);
CREATE TABLE IF NOT EXISTS ban_changes (
    id INTEGER PRIMARY KEY,        -- increases: a running server reads those after its last
    kind TEXT NOT NULL,            -- the ban that `chat-trio ban` added or removed
    key TEXT NOT NULL
);
"""

_FOREVER = 1e300  # how a ban without an end is stored (SQLite REAL cannot hold inf)


class DatabaseError(Exception):
    """The database cannot be used; the message names the file and says why."""


BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another process's lock (``chat-trio user``) before it
fails with "database is locked"."""


def connect(path: str, *, make_folder: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path`` and check it is ours.

    ``":memory:"`` keeps everything in memory (gone when the server stops).
    ``make_folder``: create the file's folder if it is missing (for the default place
    only: a ``--db`` whose folder is missing is a typo far more often than a wish).

    Raises:
      DatabaseError: the folder is missing (and not to be made), the file cannot be
        created or opened, is not a database, is corrupt, or was written by a newer
        chat-trio.
    """
    try:
        if path != ":memory:":
            _create_private(path, make_folder)
        # Used from worker threads, one at a time (store.py's limiters see to that).
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(f"cannot open the database {path}: {exc}") from exc
    try:
        # WAL: readers never block the writer. NORMAL: a commit survives the process
        # being killed (it is in the OS's hands); only a power cut may lose the last ones.
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"the database {path} was written by a newer chat-trio (schema {version})"
            )
        if path != ":memory:":
            problem = db.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise DatabaseError(f"the database {path} is corrupt: {problem}")
        # Schema 3 added columns; CREATE IF NOT EXISTS keeps older tables as they are.
        _add_column(db, "bans", "name", "TEXT NOT NULL DEFAULT ''")
        _add_column(db, "history", "account", "TEXT NOT NULL DEFAULT ''")
        _add_column(db, "history", "target_account", "TEXT NOT NULL DEFAULT ''")
        _add_column(db, "accounts", "created", "REAL NOT NULL DEFAULT 0")
        _add_column(db, "accounts", "last_login", "REAL NOT NULL DEFAULT 0")
        _add_column(db, "accounts", "id", "TEXT NOT NULL DEFAULT ''")
        _add_column(db, "history", "session", "TEXT NOT NULL DEFAULT ''")
        _add_column(db, "history", "target_session", "TEXT NOT NULL DEFAULT ''")
        # Schema 5: older rows are not rewritten (a large history would be copied page
        # by page on the first start); they read back with ``r<row id>`` as their id.
        _add_column(db, "history", "msgid", "TEXT NOT NULL DEFAULT ''")
        db.executescript(_SCHEMA)
        if version < 4:
            _give_accounts_ids(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise DatabaseError(f"cannot use the database {path}: {exc}") from exc
    except DatabaseError:
        db.close()
        raise
    return db


def _add_column(db: sqlite3.Connection, table: str, column: str, declared: str) -> None:
    """Add ``column`` to ``table`` if the table exists without it (an older schema)."""
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    if columns and column not in columns:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declared}")


def _give_accounts_ids(db: sqlite3.Connection) -> None:
    """Schema 4: every account gets an id, and the private messages stored under an
    account's name key are stored under its id, if the account existed when they were
    sent (an account deleted and made again by someone else does not get the first one's
    messages; those of accounts made before schema 3, whose date is unknown, do)."""
    with _transaction(db):
        db.execute("UPDATE accounts SET id = lower(hex(randomblob(8))) WHERE id = ''")
        for column in ("account", "target_account"):
            db.execute(
                f"UPDATE history SET {column} = coalesce((SELECT a.id FROM accounts a"
                f" WHERE a.name_key = history.{column} AND a.created <= history.time), '')"
                f" WHERE kind = 'pm' AND {column} != ''"
            )


def _create_private(path: str, make_folder: bool) -> None:
    """Make the file (0600) if it does not exist, and its folder (0700) if asked: the file
    holds private messages and password hashes. SQLite gives the ``-wal`` and ``-shm``
    files it makes next to it the same mode. An existing file readable by others is
    left as it is (it may be meant to be), with a warning saying how to close it."""
    _folder(path, make_folder)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "database-readable-by-others path=%s mode=%o fix=%s",
                path, mode, shlex.quote(permission_fix(path)),
            )  # fmt: skip


def check_writable(db: sqlite3.Connection, wait: float) -> None:
    """Can ``db`` write now? Takes the write lock (waiting at most ``wait`` seconds for
    another process to let go of it) and starts a write that is rolled back: nothing is
    written, but a read-only file or a lock held elsewhere says so.

    Raises:
      sqlite3.Error: it cannot ("attempt to write a readonly database", "database is
        locked", ...).
    """
    db.execute(f"PRAGMA busy_timeout = {round(wait * 1000)}")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM history WHERE 0")  # a write, of nothing
        finally:
            db.execute("ROLLBACK")
    finally:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _folder(path: str, make: bool) -> str:
    """The folder ``path`` is in, made (0700) if ``make`` says so.

    Raises:
      DatabaseError: it is missing, or is not a folder, naming it.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if make:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    elif os.path.exists(folder) and not os.path.isdir(folder):
        raise DatabaseError(
            f"the folder {folder} of the database {path} is a file, not a folder; "
            f"choose another --db"
        )
    elif not os.path.isdir(folder):
        raise DatabaseError(
            f"the folder {folder} of the database {path} does not exist; create it first "
            f"(mkdir -m 700 {shlex.quote(folder)}) or choose another --db"
        )
    return folder


def permission_fix(path: str) -> str:
    """What closes the database at ``path`` to others: ``chmod 600`` on its own files
    (never a pattern, which could catch a folder such as /tmp's neighbours), and where
    its folder is one others may write to (/tmp), a private folder instead: there anyone
    could delete the file or put another in its place."""
    # The -wal and -shm files: SQLite makes them with the file's mode once it opens it.
    files = (path, f"{path}-wal", f"{path}-shm")
    fix = "chmod 600 " + " ".join(shlex.quote(f) for f in files)
    folder = os.path.dirname(os.path.abspath(path))
    if os.stat(folder).st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        fix += (
            f"; better, move it out of {folder}, which others may write to, into a private "
            f"folder: mkdir -m 700 ~/chat-trio and --db ~/chat-trio/{os.path.basename(path)}"
        )
    return fix


class ServerLock:
    """One server per database: an advisory lock (``flock``) on ``<db>.lock``, held for
    the server's life. The kernel lets go of it when the process ends, however it ends
    (a ``kill -9`` leaves no stale lock behind); ``chat-trio user`` and ``chat-trio
    ban`` do not take it, so they work while a server runs. The file holds the holder's
    process id, for the message a second server gets.

    .. warning:: ``flock`` is not shared across machines on some network file systems;
       one server per database is then the operator's to keep.

    Raises:
      DatabaseError: another server holds it (saying which process), or the folder is
        missing, or the lock file cannot be made.
    """

    def __init__(self, path: str, *, make_folder: bool = False) -> None:
        self.path = f"{path}.lock"
        _folder(path, make_folder)
        try:
            # Never through a link another user planted (in /tmp, say): truncated below.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise DatabaseError(f"cannot make the lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise DatabaseError(f"cannot lock {self.path}: {exc.strerror}") from exc
            raise DatabaseError(
                f"another chat-trio server ({holder}) is using the database {path}; "
                f"stop it first, or give this one another --db"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()}\n".encode())
        self._fd: int | None = fd

    def release(self) -> None:
        """Let go (the file stays: removing it could race with the next server's open)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ServerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def insert(db: sqlite3.Connection, entries: Sequence[Entry]) -> None:
    """Store ``entries`` in one transaction."""
    keys: dict[str, str] = {}  # a batch repeats a few names and rooms many times

    def key(name: str) -> str:
        found = keys.get(name)
        if found is None:
            found = keys[name] = name_key(name)
        return found

    rows = [
        (
            e.time,
            e.kind.value,
            e.room,
            key(e.room),
            e.name,
            key(e.name),
            e.text,
            e.target,
            key(e.target),
            e.account,
            e.target_account,
            e.session,
            e.target_session,
            e.id,
        )
        for e in entries
    ]
    with _transaction(db):
        db.executemany(
            "INSERT INTO history (time, kind, room, room_key, name, name_key, text, target,"
            " target_key, account, target_account, session, target_session, msgid)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def read_history(db: sqlite3.Connection, query: QueryHistory) -> list[Entry]:
    """What ``query`` asks for (the rules' ``QueryHistory``), oldest first."""
    scope = _scope(query)
    if scope is None:
        return []  # nobody: no messages are theirs
    return _bounded(db, scope, query)


def _scope(query: QueryHistory) -> tuple[str, list[str | float]] | None:
    """What ``query`` may read, as a WHERE clause: its room's rows, or the asker's
    conversation with its peer (None: the asker is nobody, and nothing is theirs)."""
    if query.peer:
        return _private_scope(
            query.session, query.account, query.peer_key, query.peer_session,
            query.peer_account,
        )  # fmt: skip
    return "room_key = ?", [name_key(query.room)]


_COLUMNS = (
    "time, kind, room, name, text, target, msgid, id, session, account, target_session,"
    " target_account"
)
"""What ``_entry`` reads of a row."""

_MILLIS = "CAST(time * 1000 + 1e-3 AS INTEGER)"
"""A row's time in whole milliseconds, as IRC's ``time`` tag shows it (``millis``: times
are positive, where CAST rounds down as floor does): a client's ``timestamp=`` is compared
with what it was shown, so "after the message stamped 12:00:00.123" never includes that
message itself."""


def room_history(
    db: sqlite3.Connection,
    room: str,
    limit: int,
    kinds: Iterable[Kind] | None = None,
    *,
    before: float | None = None,
    after: float | None = None,
    around: float | None = None,
    before_id: str = "",
    after_id: str = "",
    around_id: str = "",
    newest: bool = False,
) -> list[Entry]:
    """The last ``limit`` entries of ``room`` (of ``kinds``, if given), oldest first;
    for the bounds, see ``_bounded``."""
    where, args = "room_key = ?", list[str | float]([name_key(room)])
    if kinds is not None:
        chosen = sorted(k.value for k in kinds)
        where += f" AND kind IN ({', '.join('?' * len(chosen))})"
        args += chosen
    bounds = QueryHistory(
        0, limit, room, before=before, after=after, around=around, before_id=before_id,
        after_id=after_id, around_id=around_id, newest=newest,
    )  # fmt: skip
    return _bounded(db, (where, args), bounds)


def _bounded(
    db: sqlite3.Connection, scope: tuple[str, list[str | float]], bounds: QueryHistory
) -> list[Entry]:
    """At most ``bounds.limit`` entries of ``scope`` (a WHERE clause and its arguments),
    oldest first, bounded by the fields of ``bounds`` (``QueryHistory``): the last ones;
    ``before``: only older than that (Unix time, compared in whole milliseconds, see
    ``_MILLIS``); ``after``: the first ``limit`` newer than that instead;
    ``around``: half of ``limit`` at that time or older (rounded up), the rest newer.
    ``before_id``, ``after_id``, ``around_id``: the same by the message with that id
    (``around_id``: it and the older half, then the newer; it wins over ``around``).
    ``newest``: with ``after`` or ``after_id``, the last ``limit`` newer, not the first.
    Every bound given applies; an id that is not one of the scope's finds nothing.

    An ``after`` bound later than a ``before`` bound (IRC's ``BETWEEN`` newest first)
    swaps them and takes the newest: the ``limit`` entries counted back from the later.
    """
    where, args, limit = *scope, bounds.limit
    found = edges(bounds, lambda ref: _mark(db, scope, ref))
    if found is None:
        return []
    before, after, pivot, newest = found
    clauses, values = [where], list(args)
    for bound, sign in ((before, "<"), (after, ">")):
        if bound is not None:
            column, value = ("id", bound[0]) if bound[0] is not None else (_MILLIS, bound[1])
            clauses.append(f"{column} {sign} ?")
            values.append(value)
    where = " AND ".join(clauses)
    if pivot is not None:
        column, value = ("id", pivot[0]) if pivot[0] is not None else (_MILLIS, pivot[1])
        half = limit // 2
        older = _select(db, f"{where} AND {column} <= ?", [*values, value], "DESC", limit - half)
        newer = _select(db, f"{where} AND {column} > ?", [*values, value], "ASC", half)
        return [*reversed(older), *newer]
    if after is not None and not newest:
        return _select(db, where, values, "ASC", limit)
    return list(reversed(_select(db, where, values, "DESC", limit)))


_Edge = tuple[int | None, int]
"""A bound: (the row of a message, its millisecond), or (None, a millisecond)."""


def edges(
    bounds: QueryHistory, find: Callable[[str], tuple[int, int] | None]
) -> tuple[_Edge | None, _Edge | None, _Edge | None, bool] | None:
    """The ``before``, ``after`` and ``around`` bounds of ``bounds`` and whether to take
    the newest (see ``_bounded``), with each message id given found by ``find`` (its row
    and millisecond); None if one of them is not found (then nothing is). Shared by every
    backend, so that they bound history alike."""
    marks: dict[str, tuple[int, int]] = {}  # an id given -> (its row, its millisecond)
    for ref in (bounds.before_id, bounds.after_id, bounds.around_id):
        if ref and ref not in marks:
            mark = find(ref)
            if mark is None:
                return None
            marks[ref] = mark
    before = edge(marks, bounds.before_id, bounds.before)
    after = edge(marks, bounds.after_id, bounds.after)
    newest = bounds.newest
    if before is not None and after is not None and later(after, before):
        before, after, newest = after, before, True
    return before, after, edge(marks, bounds.around_id, bounds.around), newest


def edge(marks: dict[str, tuple[int, int]], ref: str, moment: float | None) -> _Edge | None:
    """The bound of a message id (which wins) or a time; None if neither is given."""
    if ref:
        return marks[ref]
    return None if moment is None else (None, millis(moment))


def later(one: _Edge, other: _Edge) -> bool:
    """``one`` is later than ``other``: by row when both are messages, else by time."""
    if one[0] is not None and other[0] is not None:
        return one[0] > other[0]
    return one[1] > other[1]


def _select(
    db: sqlite3.Connection, where: str, args: list[str | float], order: str, limit: int
) -> list[Entry]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM history WHERE {where} ORDER BY id {order} LIMIT ?",
        [*args, limit],
    ).fetchall()
    return [_entry(row) for row in rows]


def targets(db: sqlite3.Connection, query: QueryTargets) -> list[tuple[str, float]]:
    """IRC's ``CHATHISTORY TARGETS``: of the rooms ``query`` names and of the asker's
    private conversations (by identity, as ``_private_scope``), those whose latest
    message (a conversation line: ``CONVERSATION``, or a private message) is after
    ``query.after`` and before ``query.before`` (in whole milliseconds, as ``_MILLIS``),
    with its time; the ``limit`` oldest by that time. A room is named as it was last
    written, a person as the latest message named them."""
    kinds = sorted(k.value for k in CONVERSATION)
    keys = sorted({name_key(room) for room in query.rooms})
    newest = (  # a room's newest conversation line: the index read backwards, to the first
        "SELECT * FROM (SELECT room, time AS last FROM history WHERE room_key = ?"
        f" AND kind IN ({', '.join('?' * len(kinds))}) ORDER BY id DESC LIMIT 1)"
    )
    parts = [newest] * len(keys)
    args = list[str | float]([a for key in keys for a in (key, *kinds)])
    sent, sent_args = _either(("session", "account"), (query.session, query.account))
    whose = (query.session, query.account, query.session, query.account)
    ends = [(c, v) for c, v in zip(_ENDS, whose, strict=True) if v]
    if ends:
        mine = " UNION ".join(
            f"SELECT id FROM history WHERE kind = 'pm' AND {c} = ?" for c, _ in ends
        )
        parts.append(
            f"SELECT CASE WHEN {sent} THEN target ELSE name END, max(time) AS last"
            f" FROM history WHERE kind = 'pm' AND id IN ({mine})"
            f" GROUP BY CASE WHEN {sent} THEN target_key ELSE name_key END"
        )
        args += [*sent_args, *(v for _, v in ends), *sent_args]
    if not parts:
        return []
    found = db.execute(
        f"SELECT * FROM ({' UNION ALL '.join(parts)})"
        " WHERE CAST(last * 1000 AS INTEGER) > ? AND CAST(last * 1000 AS INTEGER) < ?"
        " ORDER BY last LIMIT ?",
        [*args, millis(query.after), millis(query.before), query.limit],
    ).fetchall()
    return [(str(name), float(last)) for name, last in found]


def forget(db: sqlite3.Connection, query: QueryHistory) -> None:
    """Delete the message ``query`` names by its ``around_id``, among what ``query`` may
    read (its room, or the asker's conversation): a redaction (messages.py, rule 7)."""
    scope = _scope(query)
    mark = _mark(db, scope, query.around_id) if scope is not None else None
    if mark is not None:
        with _transaction(db):
            db.execute("DELETE FROM history WHERE id = ?", (mark[0],))


def _mark(
    db: sqlite3.Connection, scope: tuple[str, list[str | float]], msgid: str
) -> tuple[int, int] | None:
    """The row and millisecond of the message ``msgid`` in ``scope``, if it is there
    (``rN``: row N, stored before ids were, schema 4 or older)."""
    where, args = scope
    row = msgid[1:]
    if msgid.startswith("r") and row.isascii() and row.isdigit() and len(row) < 19:
        query = f"SELECT id, {_MILLIS} FROM history WHERE id = ? AND msgid = '' AND {where}"
        found = db.execute(query, [int(row), *args]).fetchone()
    else:
        query = f"SELECT id, {_MILLIS} FROM history WHERE msgid = ? AND {where}"
        found = db.execute(query, [msgid, *args]).fetchone()
    return (int(found[0]), int(found[1])) if found else None


def conversation(db: sqlite3.Connection, room: str, limit: int) -> tuple[list[Entry], str, str]:
    """What a room shows on joining: its last ``limit`` conversation lines, its topic
    ("" if none), and its name as last written ("" if it has no history)."""
    key = name_key(room)
    last = db.execute(
        "SELECT room FROM history WHERE room_key = ? ORDER BY id DESC LIMIT 1", (key,)
    ).fetchone()
    topic = db.execute(
        "SELECT text FROM history WHERE room_key = ? AND kind = ? ORDER BY id DESC LIMIT 1",
        (key, Kind.TOPIC.value),
    ).fetchone()
    entries = room_history(db, room, limit, CONVERSATION) if limit else []
    # An old row may hold what words.line now folds (see _entry): checked again, as lines are.
    return entries, words.line(topic[0]) if topic else "", last[0] if last else ""


_ENDS = ("session", "account", "target_session", "target_account")
"""The columns that say whose a private message is: its sender's and receiver's."""


def private_history(
    db: sqlite3.Connection,
    session: str,
    account: str,
    peer_key: str,
    peer_session: str,
    peer_account: str,
    limit: int,
) -> list[Entry]:
    """The last ``limit`` private messages between the asker and a peer (see
    ``_private_scope``)."""
    scope = _private_scope(session, account, peer_key, peer_session, peer_account)
    return [] if scope is None else _bounded(db, scope, QueryHistory(0, limit))


def _either(columns: tuple[str, ...], values: tuple[str, ...]) -> tuple[str, list[str]]:
    """``column = value OR ...`` for the values that are set (an empty one would match
    every guest's row)."""
    pairs = [(c, v) for c, v in zip(columns, values, strict=True) if v]
    return "(" + " OR ".join(f"{c} = ?" for c, _ in pairs) + ")", [v for _, v in pairs]


def _private_scope(
    session: str, account: str, peer_key: str, peer_session: str, peer_account: str
) -> tuple[str, list[str | float]] | None:
    """The private messages between the asker and a peer, as a WHERE clause (None: the
    asker is nobody, and no message is theirs).

    The asker's side is found by identity only: its connection ``session``, and its
    ``account`` id if it has one. The peer's side is whoever had the name ``peer_key``
    when the message was sent, or the peer's ``peer_session`` or ``peer_account`` (so
    that a peer's renames are followed). A row matches only where the asker is one of
    its two ends, so nobody reads a message that was not theirs.
    """

    # The asker's own messages first, by the indexes (a guest with few messages does not
    # cost a walk through every room's history); then the peer's side among them.
    whose = (session, account, session, account)
    ends = [(c, v) for c, v in zip(_ENDS, whose, strict=True) if v]
    if not ends:
        return None
    mine = " UNION ".join(f"SELECT id FROM history WHERE kind = 'pm' AND {c} = ?" for c, _ in ends)
    me_sent, me_sent_args = _either(("session", "account"), (session, account))
    me_got, me_got_args = _either(("target_session", "target_account"), (session, account))
    peer = (peer_key, peer_session, peer_account)
    peer_got, peer_got_args = _either(("target_key", "target_session", "target_account"), peer)
    peer_sent, peer_sent_args = _either(("name_key", "session", "account"), peer)
    where = (
        f"kind = 'pm' AND id IN ({mine})"
        f" AND (({me_sent} AND {peer_got}) OR ({peer_sent} AND {me_got}))"
    )
    args = list[str | float](
        [*(v for _, v in ends), *me_sent_args, *peer_got_args, *peer_sent_args, *me_got_args]
    )
    return where, args


def prune(db: sqlite3.Connection, before: float | None, rows_per_room: int | None) -> int:
    """Delete entries older than ``before`` and all but the newest ``rows_per_room`` of each
    room (private messages count as one room). Returns how many were deleted."""
    deleted = 0
    with _transaction(db):
        if before is not None:
            deleted += db.execute("DELETE FROM history WHERE time < ?", (before,)).rowcount
        if rows_per_room is not None:
            crowded = db.execute(
                "SELECT room_key FROM history GROUP BY room_key HAVING count(*) > ?",
                (rows_per_room,),
            ).fetchall()
            for (room_key,) in crowded:
                deleted += db.execute(
                    "DELETE FROM history WHERE room_key = ? AND id <= (SELECT id FROM history"
                    " WHERE room_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (room_key, room_key, rows_per_room),
                ).rowcount
    return deleted


def accounts(db: sqlite3.Connection) -> list[Account]:
    """Every account."""
    rows = db.execute("SELECT name, hash, admin, id FROM accounts").fetchall()
    return [Account(name, hashed, bool(admin), id) for name, hashed, admin, id in rows]


def account(db: sqlite3.Connection, key: str) -> Account | None:
    """The account whose name has ``name_key`` ``key``, if there is one."""
    row = db.execute(
        "SELECT name, hash, admin, id FROM accounts WHERE name_key = ?", (key,)
    ).fetchone()
    return Account(row[0], row[1], bool(row[2]), row[3]) if row else None


def save_account(db: sqlite3.Connection, key: str, account: Account | None) -> None:
    """Store ``account`` under ``key``; None deletes it, and the rooms it founded
    (registry.py's rule 4)."""
    with _transaction(db):
        _save_account(db, key, account)


def operator_account(db: sqlite3.Connection, key: str, account: Account | None) -> None:
    """The operator's change to the account ``key`` (None: deleted), stored and told to
    running servers (``account_changes``) in one transaction, as ``operator_ban``: a crash
    between the two would leave a change that a running server never applies."""
    with _transaction(db):
        _save_account(db, key, account)
        _note_account_change(db, key)


def _save_account(db: sqlite3.Connection, key: str, account: Account | None) -> None:
    if account is None:
        founded = "SELECT id FROM accounts WHERE name_key = ? AND id != ''"
        db.execute(
            "DELETE FROM room_bans WHERE name_key IN"
            f" (SELECT name_key FROM rooms WHERE founder IN ({founded}))",
            (key,),
        )
        db.execute(f"DELETE FROM rooms WHERE founder IN ({founded})", (key,))
        db.execute(f"DELETE FROM read_markers WHERE account IN ({founded})", (key,))
        db.execute("DELETE FROM accounts WHERE name_key = ?", (key,))
    else:
        db.execute(
            "INSERT INTO accounts (name_key, name, hash, admin, created, id)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name_key) DO UPDATE SET name = excluded.name,"
            " hash = excluded.hash, admin = excluded.admin, id = excluded.id",
            (key, account.name, account.hash, int(account.admin), time.time(), account.id),
        )


def note_login(db: sqlite3.Connection, key: str, when: float) -> None:
    """The account ``key`` logged in at ``when`` (Unix time)."""
    with _transaction(db):
        db.execute("UPDATE accounts SET last_login = ? WHERE name_key = ?", (when, key))


def account_dates(db: sqlite3.Connection) -> dict[str, tuple[float, float]]:
    """name_key -> (created, last login), Unix time, 0 where unknown or never."""
    rows = db.execute("SELECT name_key, created, last_login FROM accounts").fetchall()
    return {key: (created, last) for key, created, last in rows}


def set_admin(db: sqlite3.Connection, name: str, admin: bool) -> Account | None:
    """The operator makes the account ``name`` an admin (or not), and tells running
    servers, in one transaction (``operator_account``); returns it, or None if there is
    none."""
    with _transaction(db):
        db.execute("UPDATE accounts SET admin = ? WHERE name_key = ?", (int(admin), name_key(name)))
        _note_account_change(db, name_key(name))
    return account(db, name_key(name))


def _note_account_change(db: sqlite3.Connection, key: str) -> None:
    """Tell running servers that the operator changed the account ``key`` (see
    ``account_changes``); inside the change's own transaction."""
    db.execute("INSERT INTO account_changes (name_key) VALUES (?)", (key,))
    # Only the latest few matter to a server that polls every few seconds.
    db.execute(
        "DELETE FROM account_changes WHERE id < (SELECT max(id) - 1000 FROM account_changes)"
    )


def last_account_change(db: sqlite3.Connection) -> int:
    """The id of the operator's latest change (0: none yet)."""
    return _last(db, "account_changes")


def _last(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])


def account_changes(
    db: sqlite3.Connection, after: int
) -> tuple[int, list[tuple[str, Account | None]]]:
    """The accounts changed by the operator since change ``after``, as they are now
    (None: deleted), and the last change's id (``after`` if none)."""
    rows = db.execute(
        "SELECT id, name_key FROM account_changes WHERE id > ? ORDER BY id", (after,)
    ).fetchall()
    if not rows:
        return after, []
    keys = list(dict.fromkeys(key for _, key in rows))
    return rows[-1][0], [(key, account(db, key)) for key in keys]


def bans(db: sqlite3.Connection, now: float) -> list[Ban]:
    """The bans still in force at ``now``; expired ones are deleted."""
    with _transaction(db):
        db.execute("DELETE FROM bans WHERE until <= ?", (now,))
    rows = db.execute("SELECT kind, key, until, reason, by, name FROM bans").fetchall()
    return [_ban(*row) for row in rows]


def _ban(kind: str, key: str, until: float, reason: str, by: str, name: str) -> Ban:
    return Ban(kind, key, math.inf if until >= _FOREVER else until, reason, by, name)


def ban(db: sqlite3.Connection, kind: str, key: str, now: float) -> Ban | None:
    """The ban on (``kind``, ``key``) in force at ``now``, if any."""
    row = db.execute(
        "SELECT kind, key, until, reason, by, name FROM bans"
        " WHERE kind = ? AND key = ? AND until > ?",
        (kind, key, now),
    ).fetchone()
    return _ban(*row) if row else None


def operator_ban(db: sqlite3.Connection, kind: str, key: str, ban: Ban | None) -> None:
    """The operator's ban (None: lifted) on (``kind``, ``key``), stored and told to
    running servers (``ban_changes``) in one transaction: a crash between the two would
    leave a ban that a running server never applies."""
    with _transaction(db):
        _save_ban(db, kind, key, ban)
        db.execute("INSERT INTO ban_changes (kind, key) VALUES (?, ?)", (kind, key))
        db.execute("DELETE FROM ban_changes WHERE id < (SELECT max(id) - 1000 FROM ban_changes)")


def last_ban_change(db: sqlite3.Connection) -> int:
    """The id of the operator's latest ban change (0: none yet)."""
    return _last(db, "ban_changes")


def ban_changes(
    db: sqlite3.Connection, after: int, now: float
) -> tuple[int, list[tuple[str, str, Ban | None]]]:
    """The bans the operator changed since change ``after``, as they are at ``now``
    (None: lifted, or over), and the last change's id (``after`` if none)."""
    rows = db.execute(
        "SELECT id, kind, key FROM ban_changes WHERE id > ? ORDER BY id", (after,)
    ).fetchall()
    if not rows:
        return after, []
    changed = list(dict.fromkeys((kind, key) for _, kind, key in rows))
    return rows[-1][0], [(kind, key, ban(db, kind, key, now)) for kind, key in changed]


def save_ban(db: sqlite3.Connection, kind: str, key: str, ban: Ban | None) -> None:
    """Store ``ban``; None lifts the ban on (``kind``, ``key``)."""
    with _transaction(db):
        _save_ban(db, kind, key, ban)


def _save_ban(db: sqlite3.Connection, kind: str, key: str, ban: Ban | None) -> None:
    if ban is None:
        db.execute("DELETE FROM bans WHERE kind = ? AND key = ?", (kind, key))
    else:
        db.execute(
            "INSERT OR REPLACE INTO bans (kind, key, until, reason, by, name)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (kind, key, min(ban.until, _FOREVER), ban.reason, ban.by, ban.name),
        )


_ROOM_COLUMNS = (
    "name, founder, ops, topic, topic_by, topic_at, modes, key, member_limit, registered_at"
)


def rooms(db: sqlite3.Connection) -> list[RegisteredRoom]:
    """Every registered room (a mode or kind of ban this version does not know is left
    off)."""
    known = {m.value: m for m in Mode}
    kinds = {k.value: k for k in BanKind}
    bans: dict[str, list[RoomBan]] = {}
    for key, kind, mask, by, at, reason in db.execute(
        "SELECT name_key, kind, mask, by, at, reason FROM room_bans ORDER BY rowid"
    ):
        if kind in kinds and roles.plain_mask(mask):  # (a file changed by hand: left off)
            ban = RoomBan(kinds[kind], mask, words.line(by), at, words.line(reason))
            bans.setdefault(key, []).append(ban)
    found = []
    for row in db.execute(f"SELECT name_key, {_ROOM_COLUMNS} FROM rooms"):
        room_key, name, founder, ops, topic, by, at, modes, key, limit, registered_at = row
        kept = frozenset(known[m] for m in modes.split() if m in known)
        found.append(
            RegisteredRoom(
                name, founder, registered_at, tuple(ops.split()), words.line(topic),
                words.line(by), at,
                kept, key, limit, tuple(bans.get(room_key, ())),
            )
        )  # fmt: skip
    return found


def save_room(db: sqlite3.Connection, key: str, record: RegisteredRoom | None) -> None:
    """Store the registered room ``record`` under ``key``; None drops it."""
    with _transaction(db):
        db.execute("DELETE FROM room_bans WHERE name_key = ?", (key,))
        if record is None:
            db.execute("DELETE FROM rooms WHERE name_key = ?", (key,))
            return
        db.executemany(
            "INSERT OR REPLACE INTO room_bans (name_key, kind, mask, by, at, reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(key, b.kind.value, b.mask, b.by, b.at, b.reason) for b in record.bans],
        )
        modes = " ".join(sorted(m.value for m in record.modes))
        db.execute(
            f"INSERT OR REPLACE INTO rooms (name_key, {_ROOM_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key, record.name, record.founder, " ".join(record.ops), record.topic,
                record.topic_by, record.topic_at, modes, record.key, record.limit,
                record.registered_at,
            ),
        )  # fmt: skip


def read_markers(db: sqlite3.Connection) -> list[tuple[str, str, int]]:
    """Every read marker, as (account id, name_key of the target, Unix time in
    milliseconds), the least recently set first."""
    rows = db.execute("SELECT account, target, at FROM read_markers ORDER BY rowid")
    return [(account, target, int(at)) for account, target, at in rows]


def save_marker(db: sqlite3.Connection, account: str, target: str, at: int, keep: int) -> None:
    """Store that ``account`` read ``target`` up to ``at``, keeping only its ``keep`` most
    recently set markers (chat/markers.py's rule 5). A REPLACE deletes the old row and
    inserts a new one, whose rowid is above every other: rowid order is the order set.
    Only while the account exists: one deleted meanwhile (by ``chat-trio user`` in
    another process, before this server heard of it) would otherwise keep rows that
    every start loads again."""
    with _transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO read_markers (account, target, at)"
            " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?)",
            (account, target, at, account),
        )
        db.execute(
            "DELETE FROM read_markers WHERE account = ? AND rowid NOT IN"
            " (SELECT rowid FROM read_markers WHERE account = ? ORDER BY rowid DESC LIMIT ?)",
            (account, account, keep),
        )


def count(db: sqlite3.Connection) -> int:
    """How many entries are stored."""
    return int(db.execute("SELECT count(*) FROM history").fetchone()[0])


def _entry(row: tuple[float, str, str, str, str, str, str, int, str, str, str, str]) -> Entry:
    """A stored row (``_COLUMNS``) as an entry; its text is checked again as one line
    (words.py), since rows stored before that check existed may hold line breaks. A row
    stored before messages had ids (schema 4) has ``r<row id>`` as its id: every id a run
    makes has a colon (``World.message_id``), this one none; ``_row`` finds it by that."""
    time, kind, room, name, text, target, msgid, row_id, session, account, to, to_account = row
    return Entry(
        time, Kind(kind), room, name, words.line(text), target, session, to, account,
        to_account, id=msgid or f"r{row_id}",
    )  # fmt: skip


class _transaction:
    """BEGIN ... COMMIT, or ROLLBACK if the body raises (the connection is in autocommit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
