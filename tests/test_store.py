"""History storage: the SQLite queries (database.py) and the threaded store (store.py),
on real SQLite files."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

from chat_trio.chat import intents, words
from chat_trio.chat.events import BanKind, Entry, Kind, Mode, RoomBan
from chat_trio.chat.outputs import QueryHistory, QueryTargets
from chat_trio.chat.registry import Account, RegisteredRoom
from chat_trio.storage import database
from chat_trio.storage.store import QUEUE_ENTRIES, Retention, Store


def said(i: int, room: str = "#lobby", at: float = 1000.0) -> Entry:
    return Entry(at + i, Kind.SAID, room, "Alice", f"line {i}")


def test_database_room_history_is_newest_last_and_case_insensitive(tmp_path: Path) -> None:
    db = database.connect(str(tmp_path / "h.db"))
    database.insert(db, [said(i, "#Rust") for i in range(30)])
    database.insert(db, [Entry(2000, Kind.JOINED, "#rust", "Bob")])
    entries = database.room_history(db, "#RUST", 3)
    assert [e.text or e.kind.value for e in entries] == ["line 28", "line 29", "joined"]
    conversation, topic, name = database.conversation(db, "#rust", 2)
    assert [e.text for e in conversation] == ["line 28", "line 29"]
    assert (topic, name) == ("", "#rust")  # the name as last written


def test_database_topic_is_the_latest_one(tmp_path: Path) -> None:
    db = database.connect(str(tmp_path / "h.db"))
    database.insert(
        db, [Entry(1, Kind.TOPIC, "#a", "Al", "old"), Entry(2, Kind.TOPIC, "#a", "Al", "new")]
    )
    assert database.conversation(db, "#a", 0) == ([], "new", "#a")
    # A row written before every text was one line (issue 16, hole 1) is read back as one.
    db.execute("UPDATE history SET text = ? WHERE text = 'new'", ("new\r\n* Forged",))
    assert database.conversation(db, "#a", 0) == ([], "new * Forged", "#a")


def pm(time: float, sender: str, text: str, receiver: str, *whose: str) -> Entry:
    """A private message; ``whose``: sender's session, receiver's, sender's account id,
    receiver's."""
    return Entry(time, Kind.PRIVATE, "", sender, text, receiver, *whose)


def test_database_private_history_is_found_by_identity_never_by_name(tmp_path: Path) -> None:
    db = database.connect(str(tmp_path / "h.db"))
    database.insert(
        db,
        [
            pm(5, "Alicia", "last week, as another nick", "Bob", "s0", "s9", "A", "B"),
            pm(10, "Alice", "another guest Alice, before", "Bob", "s1", "s2"),
            pm(20, "Alice", "me, as Alice", "Robert", "s3", "s4"),
            pm(21, "Robert", "back, renamed", "Ally", "s4", "s3"),
            pm(22, "Ally", "to someone else", "Carol", "s3", "s5"),
            pm(23, "Bob", "to the other guest Alice", "Alice", "s2", "s1"),
        ],
    )
    # The guest of session s3 (Alice, then Ally) with the peer of session s4 (Bob, then
    # Robert): its own messages, none of the other guest Alice's.
    guest = database.private_history(db, "s3", "", "robert", "s4", "", 10)
    assert [e.text for e in guest] == ["me, as Alice", "back, renamed"]
    assert database.private_history(db, "s3", "", "bob", "", "", 10) == []
    # The account A: all of its messages with the account B, whenever and however named.
    owner = database.private_history(db, "s7", "A", "bob", "", "B", 10)
    assert [e.text for e in owner] == ["last week, as another nick"]
    # Nobody else's: a session that sent nothing reads nothing, whatever it is named.
    assert database.private_history(db, "s8", "", "bob", "", "", 10) == []


def test_database_schema_4_gives_accounts_ids_and_their_messages_follow(
    tmp_path: Path,
) -> None:
    """Issue 16, hole 4: private messages stored under an account's name went to
    whoever registered the name next."""
    path = str(tmp_path / "old.db")
    db = database.connect(path)
    db.execute("UPDATE accounts SET id = ''")
    database.save_account(db, "dave", Account("Dave", "h"))
    database.save_account(db, "erin", Account("Erin", "h"))
    db.execute("UPDATE accounts SET created = 100, id = ''")
    database.insert(
        db,
        [
            pm(50, "Dave", "from an older Dave account", "Erin", "", "", "dave", "erin"),
            pm(150, "Dave", "from this Dave account", "Erin", "", "", "dave", "erin"),
        ],
    )
    db.execute("PRAGMA user_version = 3")
    db.close()
    db = database.connect(path)
    dave, erin = database.account(db, "dave"), database.account(db, "erin")
    assert dave is not None and erin is not None and dave.id and dave.id != erin.id
    mine = database.private_history(db, "s1", dave.id, "erin", "", erin.id, 10)
    assert [e.text for e in mine] == ["from this Dave account"]


def test_database_prune_by_age_and_rows_per_room(tmp_path: Path) -> None:
    db = database.connect(str(tmp_path / "h.db"))
    database.insert(db, [said(i, "#a") for i in range(10)] + [said(i, "#b") for i in range(3)])
    assert database.prune(db, before=1002, rows_per_room=None) == 4  # #a 0,1 and #b 0,1
    assert database.prune(db, before=None, rows_per_room=5) == 3  # #a keeps 5 of 8
    assert [e.text for e in database.room_history(db, "#a", 100)] == [
        f"line {i}" for i in range(5, 10)
    ]
    assert database.count(db) == 6


def test_database_file_and_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "chat.db"
    db = database.connect(str(path), make_folder=True)  # the default place's folder is made
    database.insert(db, [Entry(time.time(), Kind.SAID, "#lobby", "Alice", "psst")])
    assert path.parent.stat().st_mode & 0o777 == 0o700
    for made in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert made.stat().st_mode & 0o777 == 0o600, made
    db.close()


def test_database_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "chat.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    database.connect(str(path)).close()
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warning.getMessage() == (
        f"database-readable-by-others path={path} mode=644 "
        f"fix='chmod 600 {path} {path}-wal {path}-shm'"
    )


def test_database_readable_by_others_in_a_shared_folder_is_told_to_move_never_to_chmod_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 17: the fix said ``chmod 600 /tmp/chat.db*``, a pattern that catches whatever
    else starts so in /tmp (a folder ``/tmp/chat.db-old/`` made unusable, or someone
    else's file). It names the database's own files only; in a folder others may write to,
    it says to move to a private one."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp is
    (shared / "chat.db-old").mkdir()  # what the pattern caught
    path = shared / "chat.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    database.connect(str(path)).close()
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    fix = warning.getMessage().split(" fix=", 1)[1]
    assert fix == (
        f"'chmod 600 {path} {path}-wal {path}-shm; better, move it out of {shared}, which "
        f"others may write to, into a private folder: mkdir -m 700 ~/chat-trio and "
        f"--db ~/chat-trio/chat.db'"
    )
    assert "*" not in fix and f"chmod 600 {shared} " not in fix


def test_database_in_a_missing_folder_is_an_error_naming_it_not_a_new_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "typo" / "chat.db"
    with pytest.raises(database.DatabaseError) as refused:
        database.connect(str(path))
    assert str(refused.value) == (
        f"the folder {path.parent} of the database {path} does not exist; create it first "
        f"(mkdir -m 700 {path.parent}) or choose another --db"
    )
    assert not path.parent.exists()


def test_database_of_schema_2_gains_the_bans_name_and_keeps_its_bans(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE bans (kind TEXT NOT NULL, key TEXT NOT NULL, until REAL NOT NULL,"
        " reason TEXT NOT NULL, by TEXT NOT NULL, PRIMARY KEY (kind, key));"
        "INSERT INTO bans VALUES ('address', '203.0.113.7', 1e300, 'spam', 'root');"
        "CREATE TABLE accounts (name_key TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " hash TEXT NOT NULL, admin INTEGER NOT NULL DEFAULT 0);"
        "PRAGMA user_version = 2;"
    )
    old.close()
    db = database.connect(str(path))
    (ban,) = database.bans(db, time.time())
    assert (ban.kind, ban.key, ban.reason, ban.name) == ("address", "203.0.113.7", "spam", "")
    database.save_account(db, "eve", Account("Eve", "hash"))
    database.note_login(db, "eve", 1764590000.0)
    created, last = database.account_dates(db)["eve"]
    assert created > 0 and last == 1764590000.0
    assert db.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION
    db.close()


def test_database_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not SQLite\n" * 100)
    with pytest.raises(
        database.DatabaseError, match=rf"cannot use the database {path}: .*not a database"
    ):
        database.connect(str(path))


def test_database_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    db = database.connect(str(path))
    database.insert(db, [said(i) for i in range(2000)])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 2 + 512] = b"\xff" * 512  # scribble over a page of the table
    path.write_bytes(bytes(data))
    with pytest.raises(database.DatabaseError, match=rf"database {path}"):
        database.connect(str(path))


def test_database_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(
        database.DatabaseError,
        match=rf"the folder {blocker} of the database {blocker}/h.db is a file",
    ):
        database.connect(str(blocker / "h.db"))


def test_database_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(database.DatabaseError, match="newer chat-trio"):
        database.connect(str(path))


async def test_store_reads_see_everything_recorded_before_them(tmp_path: Path) -> None:
    store = await Store.open(str(tmp_path / "h.db"))
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, Retention(max_age=None, rows_per_room=None))
        for i in range(0, 5000, 10):
            store.record_nowait(tuple(said(j) for j in range(i, i + 10)))
        # No waiting here: the read itself waits for the writer to catch up.
        entries = await store.read(database.room_history, "#lobby", 2)
        assert [e.text for e in entries] == ["line 4998", "line 4999"]
        stats = store.statistics()
        assert (stats.recorded, stats.written, stats.dropped) == (5000, 5000, 0)
        assert stats.batches < 500  # batched: many core calls per transaction
        store.close()
    await store.aclose()


async def test_store_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    store = await Store.open(str(tmp_path / "h.db"))
    # The writer is not running: the queue fills, then entries are dropped and counted.
    for i in range(QUEUE_ENTRIES - 3):
        store.record_nowait((said(i),))
    store.record_nowait(tuple(said(i) for i in range(10)))  # 3 fit, 7 do not
    stats = store.statistics()
    assert (stats.queued, stats.dropped, stats.recorded) == (QUEUE_ENTRIES, 7, QUEUE_ENTRIES)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, Retention(max_age=None, rows_per_room=None))
        store.close()  # what was queued is still written
    assert await store.read(database.count) == QUEUE_ENTRIES
    await store.aclose()


async def test_store_close_writes_everything_queued_then_survives_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "h.db")
    store = await Store.open(path)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        store.record_nowait(tuple(said(i, at=time.time()) for i in range(100)))
        store.close()
    await store.aclose()
    again = await Store.open(path)
    assert len(await again.read(database.room_history, "#lobby", 500)) == 100
    await again.aclose()


async def test_store_retention_is_applied_at_start(tmp_path: Path) -> None:
    path = str(tmp_path / "h.db")
    db = database.connect(path)
    old = time.time() - 10 * 86400
    database.insert(
        db, [said(i, at=old) for i in range(10)] + [said(i, at=time.time()) for i in range(3)]
    )
    db.close()
    store = await Store.open(path)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, Retention(max_age=86400, rows_per_room=2))
        assert store.statistics().pruned == 11  # 10 too old, then 1 over the row limit
        store.close()
    assert [e.text for e in await store.read(database.room_history, "#lobby", 9)] == [
        "line 1",
        "line 2",
    ]
    await store.aclose()


async def test_store_cancelled_read_interrupts_the_query(tmp_path: Path) -> None:
    store = await Store.open(str(tmp_path / "h.db"))
    # Counts forever: only an interrupt ends it.
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"

    def forever(db: sqlite3.Connection) -> int:
        return int(db.execute(slow).fetchone()[0])

    start = time.monotonic()
    with trio.move_on_after(0.2):
        await store.read(forever)
    # The thread was interrupted, so the next read (same connection, same limiter) runs.
    with trio.fail_after(10):
        assert await store.read(database.count) == 0
    assert time.monotonic() - start < 10
    await store.aclose()


async def test_store_writable_says_why_a_database_takes_no_writes(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    store = await Store.open(str(path))
    assert await store.writable() is None
    await store.aclose()
    # A file SQLite could open for reading only (what a non-root user gets with a
    # read-only file; root may write any file, so the test asks for read-only itself).
    only_read = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    read_only = Store(str(path), only_read, only_read)
    assert await read_only.writable() == "attempt to write a readonly database"
    only_read.close()


async def test_store_measures_how_long_each_batch_takes_to_write(tmp_path: Path) -> None:
    store = await Store.open(str(tmp_path / "h.db"))
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, Retention(max_age=None, rows_per_room=None))
        store.record_nowait(tuple(said(i) for i in range(10)))
        await store.read(database.count)  # waits for the write
        store.close()
    latency = store.statistics().write_seconds
    assert sum(latency.counts) == store.statistics().batches == 1
    assert latency.total > 0
    await store.aclose()


SCHEMA_4_HISTORY = """
CREATE TABLE history (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, kind TEXT NOT NULL, room TEXT NOT NULL,
    room_key TEXT NOT NULL, name TEXT NOT NULL, name_key TEXT NOT NULL, text TEXT NOT NULL,
    target TEXT NOT NULL, target_key TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '', target_account TEXT NOT NULL DEFAULT '',
    session TEXT NOT NULL DEFAULT '', target_session TEXT NOT NULL DEFAULT ''
);
CREATE INDEX history_by_room ON history (room_key, id);
"""
"""The history table as chat-trio 0.3 (schema 4) made it: no message ids."""


def test_database_schema_4_opens_and_its_rows_read_back_with_ids(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA_4_HISTORY)
    old.executemany(
        "INSERT INTO history (time, kind, room, room_key, name, name_key, text, target,"
        " target_key) VALUES (?, 'said', '#rust', '#rust', 'Al', 'al', ?, '', '')",
        [(1000.0 + n, f"old {n}") for n in range(4)],
    )
    old.execute("PRAGMA user_version = 4")
    old.commit()
    old.close()
    db = database.connect(str(path))
    assert db.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION
    entries = database.room_history(db, "#rust", 10)
    # Old rows are not rewritten: each reads back as r<row>, which no run's id can be.
    assert [(e.text, e.id) for e in entries] == [(f"old {n}", f"r{n + 1}") for n in range(4)]
    new = Entry(2000.0, Kind.SAID, "#rust", "Bo", "new", id="18c0ffee:1")
    database.insert(db, [new])
    assert [e.text for e in database.room_history(db, "#rust", 10, after_id="r3")] == [
        "old 3",
        "new",
    ]
    assert [e.text for e in database.room_history(db, "#rust", 2, before_id="18c0ffee:1")] == [
        "old 2",
        "old 3",
    ]
    assert database.room_history(db, "#rust", 10)[-1].id == "18c0ffee:1"
    assert database.room_history(db, "#other", 10, after_id="r1") == []  # not that room's
    db.close()


def test_database_history_by_message_id_before_after_and_around(tmp_path: Path) -> None:
    db = database.connect(str(tmp_path / "h.db"))
    lines = [
        Entry(1000.0 + n, Kind.SAID, "#a", "Al", f"line {n}", id=f"run:{n}") for n in range(10)
    ]
    database.insert(db, lines)

    def texts(before_id: str = "", after_id: str = "", around_id: str = "") -> list[str]:
        found = database.room_history(
            db, "#a", 4, before_id=before_id, after_id=after_id, around_id=around_id
        )
        return [e.text.removeprefix("line ") for e in found]

    assert texts(before_id="run:5") == ["1", "2", "3", "4"]
    assert texts(after_id="run:5") == ["6", "7", "8", "9"]
    assert texts(around_id="run:5") == ["4", "5", "6", "7"]  # the message and the older half
    assert texts(after_id="run:2", before_id="run:5") == ["3", "4"]
    assert texts(before_id="run:0") == []
    assert texts(after_id="no such id") == []  # an unknown id finds nothing, not everything
    assert texts(before_id="r3") == []  # rows with ids are never found by their row
    newest = database.room_history(db, "#a", 2, after_id="run:5", newest=True)
    assert [e.text for e in newest] == ["line 8", "line 9"]  # the last newer, oldest first
    around = database.room_history(db, "#a", 3, around=1004.5)
    assert [e.text for e in around] == ["line 3", "line 4", "line 5"]
    # a client's far-off time, as the intent takes it (1e300 cannot be bound by SQLite)
    far = intents.ReadHistory(room="#a", before=1e300, after=float("nan"))
    assert (far.before, far.after) == (words.MOMENT_MAX, 0.0)
    assert len(database.room_history(db, "#a", 4, before=far.before)) == 4
    targets = intents.ReadTargets(after=float("-inf"), before=1e300, limit=5)
    query = QueryTargets(1, 5, targets.after, targets.before, ("#a",), "s1")
    assert database.targets(db, query) == [("#a", 1009.0)]
    db.close()


def test_database_a_notice_is_stored_and_read_back_as_one(tmp_path: Path) -> None:
    path = str(tmp_path / "h.db")
    db = database.connect(path)
    database.insert(db, [said(1), Entry(1002.0, Kind.NOTICE, "#lobby", "Bob", "deploy", id="x:9")])
    db.close()
    db = database.connect(path)  # read back after a restart
    entries = database.room_history(db, "#lobby", 5)
    assert [(e.kind, e.name, e.text, e.id) for e in entries][-1] == (
        Kind.NOTICE, "Bob", "deploy", "x:9"
    )  # fmt: skip
    conversation, _, _ = database.conversation(db, "#lobby", 5)  # replayed on joining
    assert [e.kind for e in conversation] == [Kind.SAID, Kind.NOTICE]


def older_file(tmp_path: Path, version: int, *missing: str) -> sqlite3.Connection:
    """A database as schema ``version`` left it (the ``missing`` tables came later), with
    Alice's account (id A1), opened by this version."""
    path = str(tmp_path / "old.db")
    old = database.connect(path)
    database.save_account(old, "alice", Account("Alice", "h", id="A1"))
    for table in missing:
        old.execute(f"DROP TABLE {table}")
    old.execute(f"PRAGMA user_version = {version}")
    old.close()
    return database.connect(path)


def test_database_schema_5_opens_with_a_rooms_table_and_registered_rooms_round_trip(
    tmp_path: Path,
) -> None:
    db = older_file(tmp_path, 5, "rooms", "room_bans")  # schema 5: no registered rooms
    assert db.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION
    assert database.rooms(db) == [] and database.account(db, "alice") is not None
    record = RegisteredRoom(
        "#Rust", "A1", 1000.0, ("B1", "C1"), "Rust talk", "Alice", 999.0,
        frozenset({Mode.KEY, Mode.MODERATED}), "sekrit", 0,
        (RoomBan(BanKind.MASK, "*!*@x", "Alice", 998.0, "spam"),
         RoomBan(BanKind.ACCOUNT, "Dave", "Bob", 999.0)),
    )  # fmt: skip
    database.save_room(db, "#rust", record)
    database.save_room(db, "#go", attrs.evolve(record, name="#go", modes=frozenset()))
    database.save_room(db, "#go", None)
    db.execute("UPDATE rooms SET modes = modes || ' from-a-newer-version'")
    assert database.rooms(db) == [record]  # (a mode this version does not know is left off)
    database.save_account(db, "alice", None)  # its founder's account goes: so does the room
    assert database.rooms(db) == []
    assert db.execute("SELECT count(*) FROM room_bans").fetchone()[0] == 0  # its bans too
    db.close()


def test_database_schema_6_opens_with_read_markers_kept_bounded_and_gone_with_the_account(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "old.db")
    db = older_file(tmp_path, 6, "read_markers")  # schema 6: no read markers
    assert db.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION == 7
    assert database.read_markers(db) == []
    database.save_account(db, "bob", Account("Bob", "h", id="B1"))
    database.save_marker(db, "A1", "#rust", 1000, keep=2)
    database.save_marker(db, "A1", "bob", 2000, keep=2)
    database.save_marker(db, "B1", "#rust", 500, keep=2)
    database.save_marker(db, "A1", "#rust", 3000, keep=2)  # set again: the most recent now
    database.save_marker(db, "A1", "#go", 4000, keep=2)  # a third: "bob" (oldest set) goes
    db.close()
    db = database.connect(path)  # read back after a restart, least recently set first
    assert database.read_markers(db) == [("B1", "#rust", 500), ("A1", "#rust", 3000),
                                         ("A1", "#go", 4000)]  # fmt: skip
    database.save_account(db, "alice", None)  # the account goes: so do its markers
    assert database.read_markers(db) == [("B1", "#rust", 500)]


def test_database_a_marker_of_an_account_deleted_meanwhile_is_not_stored(tmp_path: Path) -> None:
    """A running server may save a marker for an account that ``chat-trio user`` deleted
    before the server heard of it: no row, which every start would load again."""
    db = database.connect(str(tmp_path / "m.db"))
    database.save_account(db, "alice", Account("Alice", "h", id="A1"))
    database.save_marker(db, "A1", "#rust", 1000, keep=2)
    database.save_account(db, "alice", None)  # deleted (its rows go with it)
    database.save_marker(db, "A1", "#rust", 2000, keep=2)  # then a connection still on it
    database.save_marker(db, "A1", "#go", 3000, keep=2)
    assert database.read_markers(db) == []
    database.save_account(db, "alice", Account("Alice", "h2", id="A2"))  # the name anew
    database.save_marker(db, "A1", "#go", 3000, keep=2)  # not the old id's
    database.save_marker(db, "A2", "#go", 4000, keep=2)
    assert database.read_markers(db) == [("A2", "#go", 4000)]
    db.close()


def test_database_history_between_two_bounds_either_way_in_milliseconds(tmp_path: Path) -> None:
    path = str(tmp_path / "h.db")
    db = database.connect(path)
    database.insert(
        db, [Entry(1000.2504 + n, Kind.SAID, "#a", "Al", f"{n}", id=f"run:{n}") for n in range(8)]
    )
    db.close()
    db = database.connect(path)  # the file, read back

    def texts(**bounds: Any) -> list[str]:
        return [e.text for e in database.room_history(db, "#a", 3, **bounds)]

    assert texts(after_id="run:1", before_id="run:6") == ["2", "3", "4"]  # from the first
    assert texts(after_id="run:6", before_id="run:1") == ["3", "4", "5"]  # from the later
    assert texts(after=1001.25, before=1006.25) == ["2", "3", "4"]  # 1001.2504 is 1001.250
    assert texts(after=1006.25, before_id="run:1") == ["3", "4", "5"]
    assert texts(after=1001.25) == ["2", "3", "4"]
    assert texts(before=1001.25) == ["0"]
    db.close()


def test_database_forget_deletes_one_message_only_within_what_the_query_may_read(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "h.db")
    db = database.connect(path)
    pm = Entry(1000.0, Kind.PRIVATE, "", "Al", "secret", "Bo", "s1", "s2", id="run:1")
    line = Entry(1001.0, Kind.SAID, "#a", "Al", "hello", session="s1", id="run:2")
    database.insert(db, [pm, line, attrs.evolve(line, text="kept", id="run:3")])
    stranger = QueryHistory(9, 1, peer="Al", session="s9", peer_key="al", around_id="run:1")
    database.forget(db, stranger)  # not their conversation: nothing happens
    database.forget(db, QueryHistory(9, 1, room="#b", around_id="run:2"))  # not that room's
    assert database.count(db) == 3
    database.forget(db, attrs.evolve(stranger, session="s2"))  # Bo's: his conversation
    database.forget(db, QueryHistory(9, 1, room="#A", around_id="run:2"))
    db.close()
    db = database.connect(path)
    assert [(e.text, e.session) for e in database.room_history(db, "#a", 5)] == [("kept", "s1")]
    assert database.count(db) == 1
    db.close()


def test_database_targets_are_the_askers_rooms_and_own_conversations_only(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "h.db")
    db = database.connect(path)
    database.insert(
        db,
        [
            Entry(1001.0, Kind.SAID, "#A", "Al", "in a"),
            Entry(1002.0, Kind.PRIVATE, "", "Al", "hi", "Bo", "s1", "s2"),
            Entry(1003.0, Kind.PRIVATE, "", "Cy", "hi Al", "Al", "s3", "s1"),
            Entry(1004.0, Kind.PRIVATE, "", "Bo", "not Al's", "Cy", "s2", "s3"),
            Entry(1005.0, Kind.SAID, "#b", "Bo", "not a room Al is in"),
            Entry(1006.0, Kind.JOINED, "#a", "Bo"),  # not a message: #a's stays 1001
        ],
    )
    db.close()
    db = database.connect(path)
    asked = QueryTargets(1, 10, 1000.0, 2000.0, ("#a",), "s1")
    assert database.targets(db, asked) == [("#A", 1001.0), ("Bo", 1002.0), ("Cy", 1003.0)]
    assert database.targets(db, attrs.evolve(asked, limit=1)) == [("#A", 1001.0)]
    assert database.targets(db, attrs.evolve(asked, after=1001.0)) == [
        ("Bo", 1002.0),
        ("Cy", 1003.0),
    ]
    assert database.targets(db, attrs.evolve(asked, rooms=(), session="s9")) == []
    db.close()
