"""Registered rooms (chat/registered.py) on intents and events alone: what a registration
keeps, and what it changes when its room is used again."""

from __future__ import annotations

from chat_trio.chat import intents as i
from chat_trio.chat.core import Chat
from chat_trio.chat.events import (
    BanKind,
    BanList,
    Joined,
    Mode,
    Modes,
    Refused,
    Role,
    RoleChanged,
    RoomEntered,
)
from chat_trio.chat.outputs import Broadcast, CheckPassword, LoadHistory, Outputs, SaveRoom
from chat_trio.chat.problems import Problem
from chat_trio.chat.registered import SERVICE
from chat_trio.chat.registry import Account, RegisteredRoom, Verdict
from chat_trio.chat.world import Rules
from tests.test_chat_rules import ask, named, replies

ACCOUNTS = [Account("Alice", "h", id="A1"), Account("Bob", "h", id="B1")]


def stored(now: float = 1000.0) -> Chat:
    """A chat with storage (nobody online)."""
    return Chat(Rules(flood_rate=0), stored=True, clock=lambda: now)


def logged_in(chat: Chat, conn: int, name: str) -> None:
    """``name`` (Alice or Bob) online on ``conn``, logged in to its account."""
    account = next(a for a in ACCOUNTS if a.name == name)
    chat.registry.remove(name.lower())  # (its name is free for a moment: see named)
    named(chat, conn, name)
    chat.registry.put(name.lower(), account)
    chat.clients[conn].account, chat.clients[conn].account_id = name.lower(), account.id


def join(chat: Chat, conn: int, room: str, key: str = "") -> list[object]:
    """Join ``room``, answering a history load with no history."""
    outputs = ask(chat, conn, i.Join(room, key))
    if any(isinstance(o, LoadHistory) for o in outputs):
        out = Outputs(conn)
        chat.history_loaded(conn, room, [], "", 0.0, out)
        outputs += out.done()
    return outputs


def leave_all(chat: Chat, room: str) -> None:
    """Everyone leaves ``room``: it is forgotten (but not its registration)."""
    for conn, client in list(chat.clients.items()):
        if room.lower() in client.rooms:
            ask(chat, conn, i.Leave(room))


def registered_rust() -> Chat:
    """Alice registered #rust with topic "Rust!", +m and +k sekrit, then everyone left."""
    chat = stored()
    logged_in(chat, 1, "Alice")
    join(chat, 1, "#rust")
    ask(chat, 1, i.RegisterRoom("#rust"))
    ask(chat, 1, i.SetTopic("#rust", "Rust!"))
    ask(chat, 1, i.SetMode("#rust", Mode.MODERATED))
    ask(chat, 1, i.SetMode("#rust", Mode.KEY, key="sekrit"))
    leave_all(chat, "#rust")
    return chat


def saves(outputs: list[object]) -> list[SaveRoom]:
    return [o for o in outputs if isinstance(o, SaveRoom)]


def test_registered_topic_and_mode_changes_are_kept_and_saved() -> None:
    chat = stored()
    logged_in(chat, 1, "Alice")
    join(chat, 1, "#rust")
    ask(chat, 1, i.RegisterRoom("#rust"))
    [topic] = saves(ask(chat, 1, i.SetTopic("#rust", "Rust!")))
    assert topic.key == "#rust" and topic.record is not None and topic.record.topic == "Rust!"
    [mode] = saves(ask(chat, 1, i.SetMode("#rust", Mode.LIMIT, limit=5)))
    assert mode.record is not None and mode.record.modes == {Mode.LIMIT}
    assert mode.record.limit == 5
    assert saves(ask(chat, 1, i.SetMode("#rust", Mode.LIMIT, limit=5))) == []  # no change


def test_registered_an_unregistered_room_saves_nothing_and_is_forgotten() -> None:
    chat = stored()
    logged_in(chat, 1, "Alice")
    join(chat, 1, "#go")
    assert saves(ask(chat, 1, i.SetTopic("#go", "Go!"))) == []
    leave_all(chat, "#go")
    logged_in(chat, 2, "Bob")
    join(chat, 2, "#go")
    assert chat.rooms["#go"].modes == set()
    assert chat.clients[2] and 2 in chat.rooms["#go"].roles[Role.OPERATOR]  # creator: op


def test_registered_a_room_created_again_gets_its_topic_and_modes_back() -> None:
    chat = registered_rust()
    assert "#rust" not in chat.rooms
    logged_in(chat, 2, "Bob")
    outputs = join(chat, 2, "#rust", "sekrit")
    entered = [e for e in replies(outputs, 2) if isinstance(e, RoomEntered)]
    assert entered[0].topic == "Rust!"
    shown = replies(ask(chat, 2, i.ShowModes("#rust")), 2)
    assert shown == [
        Modes("#rust", frozenset({Mode.MODERATED, Mode.KEY}), "sekrit", created=1000.0)
    ]


def test_registered_bans_are_kept_saved_and_restored_with_the_room() -> None:
    chat = stored()
    logged_in(chat, 1, "Alice")
    join(chat, 1, "#rust")
    ask(chat, 1, i.RegisterRoom("#rust"))
    [banned] = saves(ask(chat, 1, i.BanFromRoom("#rust", "Mallory", "spam")))
    assert banned.record is not None
    assert [(b.kind, b.mask, b.by, b.reason) for b in banned.record.bans] == [
        (BanKind.NAME, "Mallory", "Alice", "spam")
    ]
    assert saves(ask(chat, 1, i.BanFromRoom("#rust", "Mallory"))) == []  # held already
    [kept] = saves(ask(chat, 1, i.BanFromRoom("#rust", "*!*@nowhere")))
    assert kept.record is not None and len(kept.record.bans) == 2
    [lifted] = saves(ask(chat, 1, i.UnbanFromRoom("#rust", "*!*@nowhere")))
    assert lifted.record is not None and lifted.record.bans == banned.record.bans
    leave_all(chat, "#rust")
    assert "#rust" not in chat.rooms  # forgotten, but not its bans: the record keeps them
    named(chat, 3, "Mallory")
    assert replies(join(chat, 3, "#rust"), 3) == [Refused(Problem.ROOM_BANNED, room="#rust")]
    named(chat, 4, "Carol")
    join(chat, 4, "#rust")
    shown = replies(ask(chat, 4, i.ShowBans("#rust")), 4)
    assert shown == [BanList("#rust", banned.record.bans)]


def test_registered_a_keyed_room_takes_its_key_on_the_first_join_after_a_restart() -> None:
    chat = stored()  # a restarted server: the record, nothing in memory
    chat.load_rooms([RegisteredRoom("#rust", "A1", 0.0, modes=frozenset({Mode.KEY}), key="k")])
    named(chat, 3, "Carol")
    asked = ask(chat, 3, i.Join("#rust", "k"))
    assert [o for o in asked if isinstance(o, LoadHistory)] == [LoadHistory(3, "#rust")]
    out = Outputs(3)
    chat.history_loaded(3, "#rust", [], "", 0.0, out)  # the key went with the wait
    entered = [e for e in replies(out.done(), 3) if isinstance(e, RoomEntered)]
    assert [e.room for e in entered] == ["#rust"]
    named(chat, 4, "Dave")
    assert replies(join(chat, 4, "#rust"), 4) == [Refused(Problem.NEEDS_KEY, room="#rust")]


def test_registered_its_modes_apply_to_the_first_joiner() -> None:
    chat = registered_rust()
    named(chat, 3, "Carol")
    refused = replies(join(chat, 3, "#rust"), 3)
    assert refused == [Refused(Problem.NEEDS_KEY, room="#rust")]
    assert "#rust" not in chat.rooms  # restored for nobody: forgotten again


def test_registered_the_first_joiner_is_not_made_operator() -> None:
    chat = registered_rust()
    named(chat, 3, "Carol")
    outputs = join(chat, 3, "#rust", "sekrit")
    assert 3 not in chat.rooms["#rust"].roles[Role.OPERATOR]
    assert replies(ask(chat, 3, i.SetTopic("#rust", "mine")), 3) == [
        Refused(Problem.NOT_OPERATOR, name="topic", room="#rust")
    ]
    assert not any(isinstance(e, RoleChanged) for o in outputs if isinstance(o, Broadcast)
                   for e in o.events)  # fmt: skip


def test_registered_the_founder_gets_operator_status_back_on_joining_past_its_modes() -> None:
    chat = registered_rust()
    named(chat, 3, "Carol")
    join(chat, 3, "#rust", "sekrit")
    outputs = join(chat, 1, "#rust")  # Alice (still online)  # no key: the founder passes
    assert 1 in chat.rooms["#rust"].roles[Role.OPERATOR]
    told = [(o.room, e) for o in outputs if isinstance(o, Broadcast) for e in o.events]
    assert told == [
        ("#rust", Joined("Alice", "#rust", "Alice")),
        ("#rust", RoleChanged("#rust", "Alice", Role.OPERATOR, True, SERVICE)),
    ]


def test_registered_a_listed_operator_gets_operator_status_on_joining() -> None:
    chat = registered_rust()
    join(chat, 1, "#rust")
    logged_in(chat, 2, "Bob")
    ask(chat, 1, i.SetRoomOp("#rust", "Bob"))
    join(chat, 2, "#rust", "sekrit")
    assert 2 in chat.rooms["#rust"].roles[Role.OPERATOR]


def test_registered_deleting_the_founders_account_drops_its_rooms() -> None:
    chat = registered_rust()
    chat.account_changed("alice", None)
    assert "#rust" not in chat.registry.rooms
    named(chat, 3, "Carol")
    join(chat, 3, "#rust")  # an ordinary room again: no key, and Carol created it
    assert 3 in chat.rooms["#rust"].roles[Role.OPERATOR]


def test_registered_the_lobby_is_kept_for_the_server_and_its_modes_come_back() -> None:
    chat = stored()
    named(chat, 5, "Adah")
    chat.registry.put("ada", Account("Ada", "h", admin=True, id="D1"))
    chat.clients[5].account, chat.clients[5].account_id = "ada", "D1"
    [saved] = saves(ask(chat, 5, i.SetMode("#lobby", Mode.MODERATED)))
    kept = RegisteredRoom("#lobby", "", 0.0, modes=frozenset({Mode.MODERATED}))
    assert saved == SaveRoom("#lobby", kept)
    again = stored()  # after a restart
    again.load_rooms([kept])
    assert again.rooms["#lobby"].modes == {Mode.MODERATED}
    named(again, 1, "Carol")
    assert replies(ask(again, 1, i.Say("#lobby", "hi")), 1) == [
        Refused(Problem.MODERATED, room="#lobby")
    ]


def test_registered_the_founder_logging_in_while_in_the_room_gets_operator_status() -> None:
    """An IRC client joins its channels first and identifies to NickServ after."""
    chat = registered_rust()
    named(chat, 6, "Guesty")
    join(chat, 6, "#rust", "sekrit")
    outputs = ask(chat, 6, i.LogIn("Alice", "alice-password"))
    check = next(o for o in outputs if isinstance(o, CheckPassword))
    assert check.key == "alice"
    out = Outputs(6)
    chat.password_checked(6, Verdict.RIGHT, False, 0.0, out)
    assert chat.clients[6].name == "Alice" and 6 in chat.rooms["#rust"].roles[Role.OPERATOR]
    told = [
        (o.room, o.exclude, e) for o in out.done() if isinstance(o, Broadcast) for e in o.events
    ]
    assert ("#rust", None, RoleChanged("#rust", "Alice", Role.OPERATOR, True, SERVICE)) in told
