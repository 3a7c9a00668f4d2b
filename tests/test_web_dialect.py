"""The web door's JSON dialect, sans-I/O: every intent from JSON, every event to JSON."""

from __future__ import annotations

import json
import math
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_trio import __version__
from chat_trio.chat import events as ev
from chat_trio.chat import intents as i
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.doors import Answer, commands, wording
from chat_trio.doors.place import Place
from chat_trio.doors.web import dialect

LOBBY = Place({"#lobby": "#lobby"}, "#lobby")


def parse(obj: Any, place: Place = LOBBY, max_line: int = 2048, *, naming: bool = False) -> Any:
    message = obj if isinstance(obj, str) else json.dumps(obj)
    return dialect.parse(message, place, max_line, naming=naming)


def refusal(item: Any) -> ev.Refused:
    assert isinstance(item, Answer), item
    (refused,) = item.events
    assert isinstance(refused, ev.Refused)
    return refused


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ({"type": "choose-name", "name": "Carol"}, i.ChooseName("Carol")),
        ({"type": "log-in", "name": "Carol", "password": "pw"}, i.LogIn("Carol", "pw")),
        ({"type": "rename", "name": "Caro"}, i.Rename("Caro")),
        ({"type": "say", "room": "#lobby", "text": "hi"}, i.Say("#lobby", "hi")),
        (
            {"type": "say", "room": "#x", "text": "waves", "action": True},
            i.Say("#x", "waves", True),
        ),
        ({"type": "send-private", "name": "Bob", "text": "psst"}, i.SendPrivate("Bob", "psst")),
        ({"type": "set-away", "text": "lunch"}, i.SetAway("lunch")),
        ({"type": "join", "room": "#rust"}, i.Join("#rust")),
        ({"type": "leave", "room": "#rust"}, i.Leave("#rust")),
        ({"type": "show-topic", "room": "#rust"}, i.ShowTopic("#rust")),
        ({"type": "set-topic", "room": "#rust", "text": "ok"}, i.SetTopic("#rust", "ok")),
        ({"type": "list-users"}, i.ListUsers()),
        ({"type": "list-users", "room": "#rust", "limit": 5}, i.ListUsers("#rust", 5)),
        ({"type": "list-rooms", "limit": None}, i.ListRooms()),
        (
            {"type": "list-rooms", "rooms": ["#go"], "masks": ["#r*"], "not_masks": ["#x*"]},
            i.ListRooms(rooms=("#go",), masks=("#r*",), not_masks=("#x*",)),
        ),
        (
            {"type": "watch", "act": "add", "names": ["Bob", "Eve"]},
            i.Watch(i.WatchAct.ADD, ("Bob", "Eve")),
        ),
        ({"type": "show-invitations"}, i.ShowInvitations()),
        ({"type": "look-up", "name": "Bob", "label": "x"}, i.LookUp("Bob", "x")),
        ({"type": "look-up"}, i.LookUp()),
        (
            {"type": "read-history", "room": "#rust", "limit": 50, "before": 1764590000.5},
            i.ReadHistory(50, room="#rust", before=1764590000.5),
        ),
        ({"type": "read-history", "peer": "Bob"}, i.ReadHistory(peer="Bob")),
        (
            {"type": "read-history", "room": "#rust", "limit": 50, "before_id": "18c0ffee:12"},
            i.ReadHistory(50, room="#rust", before_id="18c0ffee:12"),
        ),
        (
            {"type": "read-history", "room": "#rust", "after_id": "r3", "around": 17.5},
            i.ReadHistory(room="#rust", after_id="r3", around=17.5),
        ),
        ({"type": "read-history", "around_id": "a:1"}, i.ReadHistory(around_id="a:1")),
        (
            {"type": "read-history", "after_id": "a:1", "newest": True},
            i.ReadHistory(after_id="a:1", newest=True),
        ),
        (
            {"type": "read-targets", "after": 1764590000.5, "before": 1764599999, "limit": 9},
            i.ReadTargets(1764590000.5, 1764599999, 9),
        ),
        (
            {"type": "redact", "target": "#rust", "id": "a:1", "reason": "spam"},
            i.Redact("#rust", "a:1", "spam"),
        ),
        ({"type": "register", "password": "secret"}, i.Register("secret")),
        ({"type": "change-password", "old": "a", "new": "b"}, i.ChangePassword("a", "b")),
        ({"type": "unregister", "password": "a"}, i.Unregister("a")),
        ({"type": "kill", "name": "Eve", "reason": "spam"}, i.Kill("Eve", "spam")),
        ({"type": "ban", "target": "Eve", "seconds": 3600}, i.Ban("Eve", 3600)),
        ({"type": "ban", "target": "Eve", "seconds": None}, i.Ban("Eve", math.inf)),
        ({"type": "unban", "target": "Eve"}, i.Unban("Eve")),
        ({"type": "oper", "name": "root", "password": "pw"}, i.Oper("root", "pw")),
        (
            {"type": "set-user-modes", "add": ["bot", "wallops"], "remove": ["operator"]},
            i.SetUserModes((ev.UserMode.BOT, ev.UserMode.WALLOPS), (ev.UserMode.OPERATOR,)),
        ),
        ({"type": "show-user-modes"}, i.ShowUserModes()),
        ({"type": "send-wallops", "text": "restart"}, i.SendWallops("restart")),
        ({"type": "quit"}, i.Quit()),
        (
            {"type": "mark-read", "target": "#rust", "time": 1764590000.25},
            i.MarkRead("#rust", 1764590000.25),
        ),
        ({"type": "mark-read", "target": "Bob"}, i.MarkRead("Bob")),
    ],
)
def test_web_dialect_parses_each_intent(message: dict[str, Any], intent: i.Intent) -> None:
    assert parse(message) == intent


def test_web_dialect_covers_every_intent_but_the_doors_own() -> None:
    covered = set(dialect.INTENTS.values())
    every = set(typing.get_args(i.Intent))
    assert every - covered == {i.Focus, i.Hangup, i.SendTags}  # (SendTags: IRC's TAGMSG)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (
            '{"type": "set-user-modes", "add": "bot"}',
            '"add" of "set-user-modes" must be a list of "invisible", "wallops", "bot", "operator"',
        ),
        (
            '{"type": "watch", "act": "add", "names": [1]}',
            '"names" of "watch" must be a string',
        ),
        (
            '{"type": "watch", "act": "add", "names": ' + json.dumps(["Bob"] * 101) + "}",
            '"names" of "watch" must be a list of at most 100 strings',
        ),
        (
            '{"type": "set-user-modes", "add": ["x"]}',
            '"add" of "set-user-modes" must be "invisible" or "wallops" or "bot" or "operator"',
        ),
        ("{not json", "not JSON"),
        ("[" * 16_000, "not JSON"),
        ("[1, 2]", 'not an object with a "type"'),
        ('{"name": "x"}', 'not an object with a "type"'),
        ('{"type": 7}', 'not an object with a "type"'),
        ('{"type": "dance"}', 'unknown type "dance"'),
        ('{"type": "join"}', '"join" needs "room"'),
        ('{"type": "join", "room": 5}', '"room" of "join" must be a string'),
        ('{"type": "join", "room": "#a", "rom": "#b"}', '"join" has no field "rom"'),
        (
            '{"type": "say", "room": "#a", "text": "x", "action": 1}',
            '"action" of "say" must be true or false',
        ),
        (
            '{"type": "list-users", "limit": true}',
            '"limit" of "list-users" must be a whole number or null',
        ),
        (
            '{"type": "list-users", "limit": 2.5}',
            '"limit" of "list-users" must be a whole number or null',
        ),
        (
            '{"type": "read-history", "before": "yesterday"}',
            '"before" of "read-history" must be a number or null',
        ),
        (
            '{"type": "read-history", "before": 1e999}',
            '"before" of "read-history" must be a number or null',
        ),
        (
            '{"type": "read-history", "before_id": 12}',
            '"before_id" of "read-history" must be a string',
        ),
        ('{"type": "ban", "target": "x", "seconds": "1h"}', '"seconds" of "ban" must be a number'),
        ('{"type": "quit", "interrupted": true}', '"quit" has no field "interrupted"'),
        (
            '{"type": "command", "line": "no slash"}',
            '"line" of "command" must be a string starting with /',
        ),
        ('{"type": "command", "line": "/me", "room": []}', '"room" of "command" must be a string'),
    ],
)
def test_web_dialect_refuses_what_is_not_a_message(message: str, problem: str) -> None:
    refused = refusal(parse(message))
    assert refused == ev.Refused(Problem.BAD_MESSAGE, name=problem)


def test_web_dialect_bounds_text_like_a_line() -> None:
    refused = refusal(parse({"type": "say", "room": "#a", "text": "é" * 1025}, max_line=2048))
    assert refused == ev.Refused(Problem.LINE_TOO_LONG, limit=2048)
    assert parse({"type": "say", "room": "#a", "text": "é" * 1024}) == i.Say("#a", "é" * 1024)
    assert refusal(parse({"type": "command", "line": "/me " + "x" * 3000})).problem is (
        Problem.LINE_TOO_LONG
    )


def test_web_dialect_sanitises_what_others_see_but_not_passwords() -> None:
    said = parse({"type": "say", "room": "#a", "text": "red\x1b[31m\x07 \u202eevil"})
    assert said == i.Say("#a", "red evil")
    assert parse({"type": "kill", "name": "Eve", "reason": "\x1b[2Jbye"}) == i.Kill("Eve", "bye")
    assert parse({"type": "register", "password": "p\x07w"}) == i.Register("p\x07w")


def test_web_dialect_reads_command_lines_with_the_text_doors_table() -> None:
    rooms = Place({"#lobby": "#lobby", "#rust": "#rust"}, "#lobby")
    assert parse({"type": "command", "line": "/join #x"}) == i.Join("#x")
    assert parse({"type": "command", "line": "/msg bob hi there"}) == i.SendPrivate(
        "bob", "hi there"
    )
    assert parse({"type": "command", "line": "/me waves", "room": "#rust"}, rooms) == i.Say(
        "#rust", "waves", action=True
    )
    assert parse({"type": "command", "line": "/topic new", "room": "#rust"}, rooms) == i.SetTopic(
        "#rust", "new"
    )
    assert parse({"type": "command", "line": "/nick Caro"}) == i.Rename("Caro")
    assert parse({"type": "command", "line": "/quit"}) == i.Quit()
    assert refusal(parse({"type": "command", "line": "/msg bob"})) == ev.Refused(
        Problem.USAGE, name="/msg <user> <text>"
    )
    assert refusal(parse({"type": "command", "line": "/frobnicate"})) == ev.Refused(
        Problem.UNKNOWN_COMMAND, name="frobnicate"
    )
    help_answer = parse({"type": "command", "line": "/help"})
    assert help_answer == i.LookUp(None, label=commands.HELP_LABEL)  # admin? ask the rules


@given(st.text(max_size=200))
def test_web_dialect_never_fails_on_any_text(message: str) -> None:
    item = dialect.parse(message, LOBBY, 2048)
    assert item is not None


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "type",
                "room",
                "text",
                "name",
                "limit",
                "before",
                "action",
                "line",
                "tags",
                "names",
                "rooms",
                "masks",
                "not_masks",
                "add",
                "remove",
                "act",
                "target",
                "time",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=20),
            st.sampled_from([*sorted(dialect.INTENTS), "command"]),
            st.lists(
                st.one_of(st.integers(), st.text(max_size=5), st.lists(st.text())), max_size=3
            ),
        ),
    )
)
def test_web_dialect_never_fails_on_any_object(obj: dict[str, Any]) -> None:
    item = dialect.parse(json.dumps(obj), LOBBY, 2048)
    assert item is not None


def test_web_dialect_refuses_client_tags_from_the_page() -> None:
    said = {"type": "say", "room": "#lobby", "text": "x", "tags": [["+typing", "active"]]}
    assert refusal(parse(said)) == ev.Refused(Problem.BAD_MESSAGE, name='"say" has no field "tags"')


# -- events --------------------------------------------------------------------------------

ENTRY = ev.Entry(1764590000.0, ev.Kind.SAID, "#lobby", "Alice", "hi", id="run:7")
PM_ENTRY = ev.Entry(1764590001.0, ev.Kind.PRIVATE, "", "Alice", "psst", target="Bob", id="run:8")

SAMPLES: list[ev.Event] = [
    ev.Greeting(),
    ev.AskName(),
    ev.Welcome("Carol", 3, 2),
    ev.Joined("Bob", None, "bob"),
    ev.Left("Bob", ev.Reason.LOST, "#rust"),
    ev.Said("Bob", "<img src=x onerror=alert(1)>", "bob", bot=True),
    ev.Action("Bob", "waves", bot=True),
    ev.Away("Bob", "lunch"),
    ev.AccountChanged("Bob", "bob"),
    ev.Private("Bob", "psst", incoming=True, away="out", bot=True),
    ev.NickChanged("Bob", "Robert"),
    ev.TopicChanged("Bob", "#rust", "crabs"),
    ev.RoomEntered("#rust", 2, "crabs", joined=True),
    ev.Topic("#rust", "crabs", "Bob", 1764590000.0),
    ev.Unheard("#rust"),
    ev.Unreachable("#rust"),
    ev.Missed("#rust", 4.0),
    ev.RoomLeft("#rust", ("#lobby",)),
    ev.RoleChanged("#rust", "Eve", ev.Role.VOICE, True, "Alice"),
    ev.ModeChanged("#rust", ev.Mode.MODERATED, True, "Alice"),
    ev.Modes("#rust", frozenset({ev.Mode.SECRET})),
    ev.BanChanged("#rust", ev.RoomBan(ev.BanKind.NAME, "Eve", "Alice", 0.0), True, "Alice"),
    ev.BanList("#rust", (ev.RoomBan(ev.BanKind.MASK, "*!*@x", "Alice", 0.0, "spam"),)),
    ev.RoomInfo("#rust", "Alice", 1.7e9, ("Bob",)),
    ev.Invitation("#rust", "Alice"),
    ev.InviteSent("#rust", "Eve"),
    ev.Invitations(("#rust", "#go")),
    ev.StatusMessage("#rust", ev.Role.OPERATOR, "Bob", "ops only"),
    ev.Invited("#rust", "Alice", "Eve"),
    ev.Kicked("#rust", "Eve", "Alice", "spam"),
    ev.UserList(2, ("Alice", "Bob"), None, frozenset({"Alice"}), "users", invisible=1),
    ev.Redacted("Alice", "#rust", "x:1", "spam", "Bob", "alice"),
    ev.Targets((("#rust", 1764590000.5), ("Bob", 1764590001.25))),
    ev.RoomList(2, (("#lobby", 3), ("#rust", 2)), ("", "crabs")),
    ev.Whois("Bob", ("#lobby",), 1764590000.0, 12.0, "bob", admin=True, away="lunch"),
    ev.UserModes("Bob", frozenset({ev.UserMode.BOT}), (ev.UserMode.BOT,)),
    ev.Wallops("Alice", "restarting at ten"),
    ev.PastNames("Bob", (ev.Gone("Bob", "bob", "Bob B.", 1764590000.0),)),
    ev.Presence((("Bob", "bob"),), ("Eve",)),
    ev.WatchList(("Bob", "Eve")),
    ev.RealnameChanged("Bob", "Bob B."),
    ev.Watched(ev.Away("Bob", "lunch")),
    ev.History("#lobby", (ENTRY, PM_ENTRY), "2026-12-01", asked=True),
    ev.Help((("/help", "show this list"),)),
    ev.Refused(Problem.NAME_TAKEN, name="Bob"),
    ev.Done(Outcome.BANNED, name="Eve", kind="address", key="203.0.113.7", until=math.inf),
    ev.Goodbye(ev.Reason.QUIT),
    ev.MarkedRead("#rust", 1764590000250),
    ev.Disconnected(ev.Reason.SHUTDOWN),
]


def test_web_dialect_samples_cover_every_event() -> None:
    rules_events = set(typing.get_args(ev.Event))
    assert {type(e) for e in SAMPLES} == rules_events - set(dialect.UNSHOWN)


def test_web_dialect_never_sends_the_page_client_tags_without_text() -> None:
    tagged = ev.Tagged("Alice", "#rust", (("+typing", "active"),), id="x:1")
    assert dialect.encode([tagged]) == b"" and dialect.encode_room([tagged], "#rust", 1.0) == b""
    said = ev.Said("Alice", "hi")
    assert dialect.encode([tagged, said]) == dialect.encode([said])
    assert dialect.encode_room([said, tagged], "#rust", 1.0) == dialect.encode_room(
        [said], "#rust", 1.0
    )


MASK_ONLY = {"user", "by_user"}
"""Fields that only make IRC's masks (``person_mask``: the username of who acted): the
page shows no masks, so it is not sent (a guest's is its name anyway)."""


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_web_dialect_encodes_each_event_as_one_typed_object(event: ev.Event) -> None:
    (obj,) = json.loads(dialect.encode([event]))
    assert isinstance(obj["type"], str) and obj["type"]
    # Every field of the event is there (a refusal or a confirmation: those that are set).
    fields = attrs.fields_dict(type(event)).keys() - MASK_ONLY - {"tags"}  # tags: IRC's only
    if not isinstance(event, ev.Refused | ev.Done):
        assert len(obj) >= len(fields)


def test_web_dialect_event_objects_say_what_the_page_shows() -> None:
    objects = json.loads(dialect.encode(SAMPLES))
    by_type = {o["type"]: o for o in objects}
    assert by_type["greeting"] == {
        "type": "greeting", "protocol": 1, "version": __version__,
        "limits": {"name": 32, "line": 2048, "password": [8, 128]},
    }  # fmt: skip
    assert by_type["said"]["text"] == "<img src=x onerror=alert(1)>"  # as typed: the page escapes
    assert by_type["refused"] == {
        "type": "refused",
        "problem": "name-taken",
        "name": "Bob",
        "message": 'The name "Bob" is already taken; please choose another.',
    }
    assert by_type["done"] == {
        "type": "done",
        "outcome": "banned",
        "name": "Eve",
        "kind": "address",
        "key": "203.0.113.7",
        "until": None,
        "message": "Banned Eve's address (203.0.113.7) forever.",
    }
    assert by_type["history"]["entries"] == [
        {
            "time": 1764590000.0,
            "kind": "said",
            "room": "#lobby",
            "name": "Alice",
            "text": "hi",
            "id": "run:7",
        },
        {
            "time": 1764590001.0,
            "kind": "pm",
            "room": "",
            "name": "Alice",
            "text": "psst",
            "id": "run:8",
            "target": "Bob",
        },
    ]
    assert by_type["users"]["admins"] == ["Alice"]
    assert by_type["rooms"]["rooms"][1] == {"name": "#rust", "members": 2, "topic": "crabs"}
    assert by_type["disconnected"]["message"] == "Server is shutting down. Goodbye!"
    assert by_type["left"] == {
        "type": "left",
        "name": "Bob",
        "reason": "lost",
        "chat": False,
        "text": "",
    }


def test_web_dialect_room_broadcasts_carry_the_room_and_the_time() -> None:
    sent = dialect.encode_room(
        [ev.Said("Bob", "hi", id="run:5"), ev.Joined("Eve"), ev.NickChanged("Eve", "Eva")],
        "#rust",
        1764590000.25,
    )
    assert json.loads(sent) == [
        {
            "type": "said",
            "name": "Bob",
            "text": "hi",
            "account": "",
            "id": "run:5",
            "room": "#rust",
            "time": 1764590000.25,
        },
        {
            "type": "joined",
            "name": "Eve",
            "account": "",
            "chat": True,
            "admin": False,
            "operator": False,
            "away": "",
            "room": "#rust",
            "time": 1764590000.25,
        },
        {"type": "nick", "old": "Eve", "new": "Eva", "room": "#rust", "time": 1764590000.25},
    ]


def test_web_dialect_tells_the_page_the_limits_of_this_server() -> None:
    (greeting,) = json.loads(dialect.encode([ev.Greeting()], max_line=512))
    assert greeting["limits"] == {"name": 32, "line": 512, "password": [8, 128]}


def test_web_dialect_never_leaves_the_only_room() -> None:
    only = refusal(parse({"type": "leave", "room": "#LOBBY"}))
    assert only == ev.Refused(Problem.ONLY_ROOM, room="#lobby")
    (obj,) = json.loads(dialect.encode([only]))
    assert obj["message"] == "You cannot leave #lobby: it is your only room."
    two = Place({"#lobby": "#lobby", "#rust": "#rust"}, "#rust")
    assert parse({"type": "leave", "room": "#rust"}, two) == i.Leave("#rust")
    assert refusal(parse({"type": "command", "line": "/leave"})).problem is Problem.ONLY_ROOM


def test_web_dialect_lists_the_admins_commands_to_admins_only() -> None:
    def usages(obj: dict[str, Any]) -> list[str]:
        return [row["usage"] for row in obj["commands"]]

    help_before_a_name = parse({"type": "command", "line": "/help"}, naming=True)
    assert isinstance(help_before_a_name, Answer)
    (before_a_name,) = json.loads(dialect.encode(help_before_a_name.events))
    assert usages(before_a_name) == ["/help", "/users [#room]", "/rooms", "/quit [reason]"]
    me = ev.Whois("Alice", ("#lobby",), 0.0, 0.0, label=commands.HELP_LABEL)
    (guest,) = json.loads(dialect.encode([me]))
    everyone = usages(guest)
    assert guest["type"] == "help" and "/join #room [key]" in everyone and "//text" in everyone
    assert "/ban #room <who> [reason]" in everyone  # anyone may run a room
    assert not any(u.startswith(("/kill", "/ban <", "/unban <")) for u in everyone)
    (admin,) = json.loads(dialect.encode([attrs.evolve(me, admin=True)]))
    assert [u for u in usages(admin) if u not in everyone] == [
        "/kill <user> [reason]", "/ban <user|address> [7d] [reason]", "/unban <account|address>"
    ]  # fmt: skip
    (plain,) = json.loads(dialect.encode([attrs.evolve(me, label="")]))
    assert plain["type"] == "whois"  # any other look-up is one


def test_web_dialect_words_what_the_page_has_no_prompt_for() -> None:
    naming = ev.Refused(Problem.NAME_REGISTERED, name="Carol", naming=True)
    registered = ev.Done(Outcome.REGISTERED, name="Carol")
    (refused, done) = json.loads(dialect.encode([naming, registered]))
    assert refused["message"] == (
        'The name "Carol" is registered. If it is yours, enter its password too.'
    )
    assert done["message"] == (
        "Registered Carol. Nobody else can use this name now; to log in next time, "
        "enter it with its password."
    )
    assert "prompt" not in refused["message"] + done["message"]
    # The text door's prompt wording is unchanged, and so is /login's outside the prompt.
    assert wording.refusal(naming).endswith("To log in, type: Carol <password>")
    assert wording.done(registered).endswith("type at the prompt: Carol <password>")
    chatting = attrs.evolve(naming, naming=False)
    (obj,) = json.loads(dialect.encode([chatting]))
    assert obj["message"] == wording.refusal(chatting)


def test_web_dialect_past_names_carry_the_text_doors_words() -> None:
    gone = (ev.Gone("Bob", "bob", "Bob B.", 1764590000.0), ev.Gone("bob", "b", "", 1764500000.0))
    (obj,) = json.loads(dialect.encode([ev.PastNames("bob", gone)]))
    assert obj["message"] == (
        "Bob (Bob B.) was here until 2025-12-01 11:53 UTC."
        " bob (bob) was here until 2025-11-30 10:53 UTC."
    )
    assert [g["name"] for g in obj["gone"]] == ["Bob", "bob"]


def test_web_dialect_marks_admins_and_the_away() -> None:
    listed = ev.UserList(
        2, ("Alice", "Bob"), "#rust", frozenset({"Alice"}), "members", away=frozenset({"Bob"})
    )
    joined = ev.Joined("Eve", "#rust", "eve", admin=True)
    account = ev.AccountChanged("Bob", "bob", admin=True)
    (users, came, logged_in) = json.loads(dialect.encode([listed, joined, account]))
    assert (users["admins"], users["away"]) == (["Alice"], ["Bob"])
    assert came["admin"] is True and logged_in["admin"] is True


def test_web_dialect_own_line_and_topic_change_carry_their_ids() -> None:
    (own,) = json.loads(dialect.encode_own("#rust", "Carol", "hi", False, "run:4"))
    assert own == {
        "type": "said", "room": "#rust", "name": "Carol", "text": "hi", "own": True,
        "id": "run:4",
    }  # fmt: skip
    sent = dialect.encode_room([ev.TopicChanged("Bob", "#rust", "crabs", "run:5")], "#rust", 1.0)
    assert json.loads(sent)[0]["id"] == "run:5"


def test_web_dialect_notice_is_a_field_of_say_and_send_private() -> None:
    assert parse({"type": "say", "room": "#a", "text": "hi", "notice": True}) == i.Say(
        "#a", "hi", notice=True
    )
    assert parse({"type": "send-private", "name": "Bo", "text": "hi", "notice": True}) == (
        i.SendPrivate("Bo", "hi", notice=True)
    )
    refused = parse({"type": "say", "room": "#a", "text": "hi", "notice": "yes"})
    assert refusal(refused) == ev.Refused(
        Problem.BAD_MESSAGE, name='"notice" of "say" must be true or false'
    )


def test_web_dialect_read_markers_go_both_ways_in_the_pages_unix_time() -> None:
    objects = json.loads(dialect.encode([ev.MarkedRead("#rust", 1764590000250)]))
    assert objects == [{"type": "marker", "target": "#rust", "time": 1764590000.25}]
    none = json.loads(dialect.encode([ev.MarkedRead("Bob", None)]))
    assert none == [{"type": "marker", "target": "Bob", "time": None}]
    bad = refusal(parse({"type": "mark-read", "target": "#x", "time": "noon"}))
    assert bad.name == '"time" of "mark-read" must be a number or null'
