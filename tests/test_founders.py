"""What founders, operators and admins do with registered rooms (chat/founders.py), on
intents and events alone: who may register, drop, list operators and ask."""

from __future__ import annotations

import pytest

from chat_trio.chat import intents as i
from chat_trio.chat.core import Chat
from chat_trio.chat.events import Done, Mode, Refused, Role, RoomInfo
from chat_trio.chat.outputs import SaveRoom
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.registered import ROOM_OPS_MAX, ROOMS_PER_ACCOUNT
from chat_trio.chat.registry import Account, RegisteredRoom
from chat_trio.chat.world import Rules
from tests.test_chat_rules import ask, named, replies
from tests.test_registered import join, logged_in, stored


def alice_in_rust() -> Chat:
    """Alice (logged in) created #rust; Bob (logged in) and Carol (a guest) are in it."""
    chat = stored()
    logged_in(chat, 1, "Alice")
    logged_in(chat, 2, "Bob")
    named(chat, 3, "Carol")
    for conn in (1, 2, 3):
        join(chat, conn, "#rust")
    return chat


def said(chat: Chat, conn: int, intent: i.Intent) -> list[object]:
    return replies(ask(chat, conn, intent), conn)


def test_founders_an_operator_registers_a_room_and_it_is_saved() -> None:
    chat = alice_in_rust()
    outputs = ask(chat, 1, i.RegisterRoom("#RUST"))
    record = RegisteredRoom("#rust", "A1", 1000.0)
    assert SaveRoom("#rust", record) in outputs
    assert replies(outputs, 1) == [Done(Outcome.ROOM_REGISTERED, room="#rust")]
    assert said(chat, 3, i.ShowRoomInfo("#rust")) == [RoomInfo("#rust", "Alice", 1000.0)]


@pytest.mark.parametrize(
    ("conn", "intent", "problem"),
    [
        (3, i.RegisterRoom("#rust"), Refused(Problem.NOT_LOGGED_IN)),
        (2, i.RegisterRoom("#rust"), Refused(Problem.NOT_OPERATOR, name="room register", room="#rust")),
        (1, i.RegisterRoom("#go"), Refused(Problem.NO_SUCH_ROOM, room="#go")),  # (none: 403)
        (1, i.RegisterRoom("rust"), Refused(Problem.ROOM_NO_HASH, name="rust", room="rust")),
        (1, i.RegisterRoom("#lobby"), Refused(Problem.SERVERS_ROOM, room="#lobby")),
        (1, i.DropRoom("#rust"), Refused(Problem.ROOM_NOT_REGISTERED, room="#rust")),
        (1, i.SetRoomOp("#rust", "Bob"), Refused(Problem.ROOM_NOT_REGISTERED, room="#rust")),
        (3, i.ShowRoomInfo("#rust"), Refused(Problem.ROOM_NOT_REGISTERED, room="#rust")),
        (3, i.ShowRoomInfo("#nowhere"), Refused(Problem.NO_SUCH_ROOM, room="#nowhere")),
    ],
)  # fmt: skip
def test_founders_refusals_before_registering(
    conn: int, intent: i.Intent, problem: Refused
) -> None:
    chat = alice_in_rust()
    assert said(chat, conn, intent) == [problem]
    assert chat.registry.rooms == {}


def test_founders_without_a_database_nothing_is_registered() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    join(chat, 1, "#rust")
    assert said(chat, 1, i.RegisterRoom("#rust")) == [Refused(Problem.NO_REGISTERED_ROOMS)]


def test_founders_a_room_is_registered_once() -> None:
    chat = alice_in_rust()
    ask(chat, 1, i.RegisterRoom("#rust"))
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.OPERATOR, True))
    assert said(chat, 1, i.RegisterRoom("#rust")) == [
        Refused(Problem.ROOM_ALREADY_REGISTERED, room="#rust")
    ]


def test_founders_an_account_founds_at_most_rooms_per_account() -> None:
    chat = alice_in_rust()
    for n in range(ROOMS_PER_ACCOUNT):
        join(chat, 1, f"#r{n}")
        assert said(chat, 1, i.RegisterRoom(f"#r{n}"))[0] == Done(
            Outcome.ROOM_REGISTERED, room=f"#r{n}"
        )
        ask(chat, 1, i.Leave(f"#r{n}"))  # (rooms a user is in are limited too)
    assert said(chat, 1, i.RegisterRoom("#rust")) == [
        Refused(Problem.TOO_MANY_REGISTERED, limit=ROOMS_PER_ACCOUNT)
    ]
    ask(chat, 1, i.DropRoom("#r0"))
    assert said(chat, 1, i.RegisterRoom("#rust")) == [Done(Outcome.ROOM_REGISTERED, room="#rust")]


def test_founders_only_the_founder_or_an_admin_drops_and_lists_operators() -> None:
    chat = alice_in_rust()
    ask(chat, 1, i.RegisterRoom("#rust"))
    for intent, act in (
        (i.DropRoom("#rust"), "room drop"),
        (i.SetRoomOp("#rust", "Bob"), "room ops"),
    ):
        assert said(chat, 2, intent) == [Refused(Problem.NOT_FOUNDER, name=act, room="#rust")]
    chat.registry.put("ada", Account("Ada", "h", admin=True, id="D1"))
    named(chat, 5, "Adah")
    chat.clients[5].account, chat.clients[5].account_id = "ada", "D1"
    assert said(chat, 5, i.DropRoom("#rust")) == [Done(Outcome.ROOM_DROPPED, room="#rust")]
    assert "#rust" not in chat.registry.rooms


def test_founders_the_operator_list_names_accounts_by_id() -> None:
    chat = alice_in_rust()
    ask(chat, 1, i.RegisterRoom("#rust"))
    outputs = ask(chat, 1, i.SetRoomOp("#rust", "bob"))
    assert replies(outputs, 1) == [Done(Outcome.ROOM_OP_ADDED, name="Bob", room="#rust")]
    assert chat.registry.rooms["#rust"].ops == ("B1",)
    assert [o.record for o in outputs if isinstance(o, SaveRoom)] == [chat.registry.rooms["#rust"]]
    assert said(chat, 3, i.ShowRoomInfo("#rust")) == [RoomInfo("#rust", "Alice", 1000.0, ("Bob",))]
    assert said(chat, 1, i.SetRoomOp("#rust", "Carol")) == [
        Refused(Problem.NO_ACCOUNT, name="Carol")
    ]
    assert said(chat, 1, i.SetRoomOp("#rust", "Bob", on=False)) == [
        Done(Outcome.ROOM_OP_REMOVED, name="Bob", room="#rust")
    ]
    assert said(chat, 1, i.SetRoomOp("#rust", "Bob", on=False)) == [
        Refused(Problem.NOT_ROOM_OP, name="Bob", room="#rust")
    ]


def test_founders_a_room_lists_at_most_room_ops_max_operators() -> None:
    chat = alice_in_rust()
    ask(chat, 1, i.RegisterRoom("#rust"))
    for n in range(ROOM_OPS_MAX):
        chat.registry.put(f"op{n}", Account(f"Op{n}", "h", id=f"O{n}"))
        ask(chat, 1, i.SetRoomOp("#rust", f"Op{n}"))
    assert said(chat, 1, i.SetRoomOp("#rust", "Bob")) == [
        Refused(Problem.TOO_MANY_ROOM_OPS, room="#rust", limit=ROOM_OPS_MAX)
    ]


def test_founders_the_lobby_is_the_servers() -> None:
    chat = alice_in_rust()
    assert said(chat, 3, i.ShowRoomInfo("#lobby")) == [RoomInfo("#lobby", server=True)]


def test_founders_a_secret_registered_room_does_not_exist_for_others() -> None:
    chat = alice_in_rust()
    ask(chat, 1, i.RegisterRoom("#rust"))
    ask(chat, 1, i.SetMode("#rust", Mode.SECRET))
    named(chat, 4, "Dave")
    assert said(chat, 4, i.ShowRoomInfo("#rust")) == [Refused(Problem.NO_SUCH_ROOM, room="#rust")]
    assert said(chat, 3, i.ShowRoomInfo("#rust")) == [RoomInfo("#rust", "Alice", 1000.0)]
    for conn in (1, 2, 3):
        ask(chat, conn, i.Leave("#rust"))
    assert said(chat, 4, i.ShowRoomInfo("#rust")) == [Refused(Problem.NO_SUCH_ROOM, room="#rust")]
    assert said(chat, 1, i.ShowRoomInfo("#rust")) == [RoomInfo("#rust", "Alice", 1000.0)]
