"""bans.py: ``chat-trio ban list|add|remove`` on a real SQLite file."""

from __future__ import annotations

import io
import math
import time
from contextlib import closing
from pathlib import Path

import pytest

from chat_trio import bans, users
from chat_trio.passwords import Cost
from chat_trio.storage import database

CHEAP_COST = Cost(time_cost=1, memory_kib=32, parallelism=1)
NOBODY: dict[str, str] = {}  #: no SSH session


def ban(db: str, *args: str, **options: object) -> tuple[int, str]:
    out = io.StringIO()
    action, *target = args
    status = bans.run(
        action, target[0] if target else None, db, stdout=out,
        environ=options.pop("environ", NOBODY), **options,  # type: ignore[arg-type]
    )  # fmt: skip
    return status, out.getvalue()


def test_bans_add_list_and_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "chat.db")
    quiet = io.StringIO()
    assert users.run("add", "Dave", db, CHEAP_COST, io.StringIO("dave-password\n"), quiet) == 0
    assert ban(db, "list") == (0, f"No bans in {db}.\n")
    status, said = ban(db, "add", "203.0.113.7", seconds=3600.0, reason="spam\nand more")
    assert status == 0 and said.startswith("Banned the address 203.0.113.7 until ")
    assert ban(db, "add", "DAVE") == (0, "Banned the account Dave forever.\n")
    status, listed = ban(db, "list")
    assert status == 0
    first, second = listed.splitlines()
    assert first == "account  dave         forever  by the operator"
    assert first.startswith("account  dave ") and second.startswith("address  203.0.113.7  until ")
    assert second.endswith(" UTC  by the operator  reason: spam and more")  # one line
    with closing(database.connect(db)) as sql:
        stored = {(b.kind, b.key): b for b in database.bans(sql, time.time())}
        assert stored[("account", "dave")].until == math.inf
        assert database.ban_changes(sql, 0, time.time())[0] == 2  # for a running server
    assert ban(db, "remove", "dave") == (0, "Lifted the ban on the account dave.\n")
    assert ban(db, "remove", "dave") == (1, "")
    assert capsys.readouterr().err == f"chat-trio: there is no ban on 'dave' in {db}\n"


def test_bans_refuse_what_names_nobody(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "chat.db")
    assert ban(db, "add", "carol") == (1, "")
    assert capsys.readouterr().err == (
        f"chat-trio: 'carol' is neither an IP address nor an account in {db} (a guest's name "
        "belongs to nobody: ban the address they come from, or /ban them in the chat)\n"
    )
    assert ban(db, "add") == (1, "")
    assert capsys.readouterr().err == "chat-trio: ban whom? chat-trio ban add ADDRESS|ACCOUNT\n"


def test_bans_of_the_operators_own_address_need_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "chat.db")
    ssh = {"SSH_CONNECTION": "198.51.100.4 52113 192.0.2.1 22"}
    assert ban(db, "add", "198.51.100.4", environ=ssh) == (1, "")
    assert capsys.readouterr().err == (
        "chat-trio: 198.51.100.4 is the address you are connected from ($SSH_CONNECTION): a "
        "ban on it would shut you out of the chat too; add --force if that is what you mean\n"
    )
    old_ssh = {"SSH_CLIENT": "2001:db8::7 52113 22"}
    assert ban(db, "add", "2001:db8::7", environ=old_ssh)[0] == 1
    assert "is the address you are connected from ($SSH_CLIENT)" in capsys.readouterr().err
    for loopback in ("127.0.0.1", "127.0.0.2", "::1"):
        assert ban(db, "add", loopback) == (1, "")
        assert "this machine's own (loopback) address" in capsys.readouterr().err
    assert ban(db, "add", "198.51.100.5", environ=ssh)[0] == 0  # someone else's
    assert ban(db, "add", "198.51.100.4", environ=ssh, force=True)[0] == 0
    with closing(database.connect(db)) as sql:
        assert {b.key for b in database.bans(sql, time.time())} == {"198.51.100.4", "198.51.100.5"}
