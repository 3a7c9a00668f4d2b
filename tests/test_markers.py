"""Read markers (chat/markers.py) on intents and events alone: no bytes, no door."""

from __future__ import annotations

from pathlib import Path

from chat_trio.chat import intents as i
from chat_trio.chat.core import Chat
from chat_trio.chat.events import MarkedRead, Reason, Refused, RoomEntered
from chat_trio.chat.markers import MARKERS_MAX
from chat_trio.chat.outputs import Outputs, Reply, SaveMarker
from chat_trio.chat.problems import Problem
from chat_trio.chat.registry import Account, Verdict
from chat_trio.chat.vocabulary import millis
from chat_trio.chat.world import Rules
from chat_trio.doors.irc.render import marker_time, server_time
from tests.test_chat_rules import ask, named, replies

NOW = 1_700_000_000.0
APP_JS = Path(__file__).parent.parent / "chat_trio" / "doors" / "web" / "static" / "app.js"


def logged_in(chat: Chat, conn: int, name: str) -> None:
    """``conn`` named ``name`` and logged in to the account Alice (a renamed connection
    keeps its account: two devices of one person)."""
    named(chat, conn, name)
    ask(chat, conn, i.LogIn("alice", "right-one"))
    chat.password_checked(conn, Verdict.RIGHT, False, NOW, Outputs(conn))


def alice_twice() -> Chat:
    """Alice's account logged in on 1 (renamed Alice_phone) and on 2 (Alice)."""
    chat = Chat(Rules(flood_rate=0), stored=True, clock=lambda: NOW)
    chat.load_accounts([Account("Alice", "hash", id="A")], [])
    logged_in(chat, 1, "Guest1")
    ask(chat, 1, i.Rename("Alice_phone"))
    logged_in(chat, 2, "Guest2")
    assert chat.clients[1].account_id == chat.clients[2].account_id == "A"
    return chat


def joined(chat: Chat, conn: int, room: str) -> list[object]:
    """What ``conn`` is told joining ``room`` (once storage has answered that it has no
    history of it)."""
    ask(chat, conn, i.Join(room))
    out = Outputs(conn)
    chat.history_loaded(conn, room, [], "", NOW, out)
    return replies(list(out.done()), conn)


def markers(outputs: list[object], conn: int) -> list[object]:
    return [e for e in replies(outputs, conn) if isinstance(e, MarkedRead | Refused)]


def test_markers_a_marker_is_told_to_every_connection_of_the_account_and_stored() -> None:
    chat = alice_twice()
    named(chat, 3, "Bob")
    out = ask(chat, 1, i.MarkRead("#Rust", NOW - 60.5))
    at = round((NOW - 60.5) * 1000)
    assert markers(out, 1) == markers(out, 2) == [MarkedRead("#Rust", at)]
    assert markers(out, 3) == []  # another person's marker is nobody else's business
    assert SaveMarker("A", "#rust", at, MARKERS_MAX) in out
    assert markers(ask(chat, 2, i.MarkRead("#rust")), 2) == [MarkedRead("#rust", at)]


def test_markers_a_marker_never_moves_back_nor_past_now() -> None:
    chat = alice_twice()
    ask(chat, 1, i.MarkRead("Bob", NOW - 10))
    older = ask(chat, 2, i.MarkRead("bob", NOW - 20))
    assert markers(older, 2) == [MarkedRead("bob", round((NOW - 10) * 1000))]  # the stored one
    assert markers(older, 1) == [] and not any(isinstance(o, SaveMarker) for o in older)
    future = ask(chat, 2, i.MarkRead("bob", NOW + 3600))
    assert markers(future, 2) == markers(future, 1) == [MarkedRead("bob", round(NOW * 1000))]


def test_markers_a_guest_has_markers_of_its_own_connection_only_never_stored() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True, clock=lambda: NOW)
    named(chat, 1, "Carol")
    named(chat, 2, "Dave")
    assert markers(ask(chat, 1, i.MarkRead("#x")), 1) == [MarkedRead("#x", None)]
    out = ask(chat, 1, i.MarkRead("#x", NOW))
    assert markers(out, 1) == [MarkedRead("#x", round(NOW * 1000))]
    assert markers(out, 2) == [] and not any(isinstance(o, SaveMarker) for o in out)
    assert markers(ask(chat, 2, i.MarkRead("#x")), 2) == [MarkedRead("#x", None)]


def test_markers_joining_a_room_tells_its_marker_with_the_join() -> None:
    chat = alice_twice()
    ask(chat, 2, i.MarkRead("#rust", NOW - 5))
    entered = [e for e in joined(chat, 2, "#Rust") if isinstance(e, RoomEntered)]
    assert [e.marker for e in entered] == [round((NOW - 5) * 1000)]
    fresh = [e for e in joined(chat, 2, "#new") if isinstance(e, RoomEntered)]
    assert [e.marker for e in fresh] == [None]


def test_markers_bad_targets_are_refused_with_a_typed_problem() -> None:
    chat = alice_twice()
    for target in ("", "#", "#a b", "no way", "a" * 100):
        assert markers(ask(chat, 1, i.MarkRead(target, NOW)), 1) == [
            Refused(Problem.MARKER_TARGET, name=target[:32])
        ]


def test_markers_an_account_keeps_its_most_recently_set_markers_only() -> None:
    chat = alice_twice()
    for n in range(MARKERS_MAX):
        ask(chat, 1, i.MarkRead(f"#r{n}", NOW - 1000 + n))
    ask(chat, 1, i.MarkRead("#r0", NOW))  # set again: the most recent now
    ask(chat, 1, i.MarkRead("#one-more", NOW))  # "#r1" was the least recently set
    assert len(chat.markers["A"]) == MARKERS_MAX
    assert markers(ask(chat, 1, i.MarkRead("#r1")), 1) == [MarkedRead("#r1", None)]
    assert markers(ask(chat, 1, i.MarkRead("#r0")), 1) == [MarkedRead("#r0", round(NOW * 1000))]


def test_markers_loaded_from_storage_are_the_accounts_after_a_restart() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True, clock=lambda: NOW)
    chat.load_accounts([Account("Alice", "hash", id="A")], [])
    chat.load_markers([("A", "#rust", 1234), ("B", "#rust", 99)])
    logged_in(chat, 1, "Alice")
    assert markers(ask(chat, 1, i.MarkRead("#RUST")), 1) == [MarkedRead("#RUST", 1234)]


def test_markers_a_time_finer_than_milliseconds_is_rounded_down_as_every_door_shows_it() -> None:
    chat = alice_twice()
    line = NOW - 1.2345678  # a line's time, as the page got it
    assert markers(ask(chat, 1, i.MarkRead("#rust", line)), 1) == [
        MarkedRead("#rust", 1_699_999_998_765)
    ]
    exact = 1_699_999_999.123  # an IRC client's timestamp: its milliseconds kept exactly
    assert markers(ask(chat, 1, i.MarkRead("#go", exact)), 1) == [
        MarkedRead("#go", 1_699_999_999_123)
    ]


def test_markers_a_line_read_at_the_time_irc_showed_it_is_read_on_the_page() -> None:
    """One millisecond count on every door: an IRC client marks a line read with the
    ``time`` tag it was shown (rounded down); the page counts the same line by the time it
    got (finer than that) and must not count it unread."""
    chat = alice_twice()
    line = 1_699_999_998.7654  # the line's time: the page gets it as is, IRC as a tag
    assert server_time(line) == "2023-11-14T22:13:18.765Z"
    shown = 1_699_999_998 + 0.765  # what MARKREAD #rust timestamp=...18.765Z is read as
    assert markers(ask(chat, 1, i.MarkRead("#rust", shown)), 2) == [
        MarkedRead("#rust", 1_699_999_998_765)
    ]
    assert millis(line) <= 1_699_999_998_765  # the page's count: read, not unread
    assert marker_time(1_699_999_998_765) == server_time(line)  # the IRC client's own
    # The page marking the line it shows moves nothing further: the same millisecond.
    again = ask(chat, 2, i.MarkRead("#rust", line))
    assert markers(again, 2) == [MarkedRead("#rust", 1_699_999_998_765)]
    assert not any(isinstance(o, SaveMarker) for o in again)
    # The page's millis (app.js) is this very formula: a drift there is this bug again.
    assert "return Math.floor(time * 1000 + 1e-3);" in APP_JS.read_text()
    assert millis(1_699_999_998.7649999999) == millis(1_699_999_998.765) == 1_699_999_998_765


def test_markers_a_connection_gone_is_told_no_more_and_a_new_one_is() -> None:
    chat = alice_twice()
    chat.disconnect(1, Reason.CLOSED, Outputs(1))
    out = ask(chat, 2, i.MarkRead("#rust", NOW))
    assert [o.to for o in out if isinstance(o, Reply)] == [2]
    ask(chat, 2, i.Rename("Alice_laptop"))  # (a login takes the account's name: free it)
    logged_in(chat, 3, "Guest3")  # the phone again
    out = ask(chat, 2, i.MarkRead("#go", NOW))
    assert markers(out, 3) == [MarkedRead("#go", round(NOW * 1000))]
    assert chat.logged_in == {"A": {2, 3}}


def test_markers_go_with_the_account_unregistered_and_none_are_saved_for_it_after() -> None:
    chat = alice_twice()
    ask(chat, 1, i.MarkRead("#rust", NOW - 5))
    assert chat.markers == {"A": {"#rust": round((NOW - 5) * 1000)}}
    ask(chat, 1, i.Unregister("right-one"))
    chat.password_checked(1, Verdict.RIGHT, False, NOW, Outputs(1))
    assert chat.markers == {} and "alice" not in chat.registry.accounts
    # Still logged in to the account gone: markers of its own connection, never saved,
    # told to nobody else, and none of the account's.
    assert chat.clients[2].account_id == "A"
    assert markers(ask(chat, 2, i.MarkRead("#rust")), 2) == [MarkedRead("#rust", None)]
    out = ask(chat, 2, i.MarkRead("#go", NOW))
    assert markers(out, 2) == [MarkedRead("#go", round(NOW * 1000))]
    assert not any(isinstance(o, SaveMarker) for o in out) and markers(out, 1) == []
    assert chat.markers == {}


def test_markers_go_with_the_account_the_operator_deleted() -> None:
    chat = alice_twice()
    ask(chat, 1, i.MarkRead("#rust", NOW - 5))
    chat.account_changed("alice", None)
    assert chat.markers == {}
    out = ask(chat, 2, i.MarkRead("#rust", NOW))
    assert markers(out, 2) == [MarkedRead("#rust", round(NOW * 1000))]
    assert not any(isinstance(o, SaveMarker) for o in out) and markers(out, 1) == []
    assert chat.markers == {}
