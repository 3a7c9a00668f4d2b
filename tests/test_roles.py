"""Room roles (chat/roles.py) on intents and events alone: who runs a room, and every check
of the table of what each act needs."""

from __future__ import annotations

import attrs
import pytest

from chat_trio.chat import intents as i
from chat_trio.chat import roles
from chat_trio.chat.core import Chat
from chat_trio.chat.events import (
    BanChanged,
    BanKind,
    BanList,
    Invitation,
    Invitations,
    Invited,
    InviteSent,
    Joined,
    Kicked,
    Mode,
    ModeChanged,
    Modes,
    Reason,
    Refused,
    Role,
    RoleChanged,
    RoomBan,
    RoomEntered,
    RoomLeft,
    RoomList,
    Said,
    TopicChanged,
    UserList,
)
from chat_trio.chat.outputs import Broadcast, Close, Outputs, Reply, Subscribe, Unsubscribe
from chat_trio.chat.problems import Problem
from chat_trio.chat.registry import Account
from chat_trio.chat.world import Rules
from tests.test_chat_rules import ask, connect, named, replies


def rust() -> Chat:
    """Alice (1) created #rust, Bob (2) and Carol (3) joined it; Dave (4) is in #lobby only."""
    # The clock at 0: a room's creation time (Modes.created) is then Modes' default.
    chat = Chat(Rules(flood_rate=0, admins=frozenset({"ada"})), clock=lambda: 0.0)
    for conn, name in ((1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Dave")):
        named(chat, conn, name)
    for conn in (1, 2, 3):
        ask(chat, conn, i.Join("#rust"))
    return chat


def with_admin(chat: Chat, conn: int = 5) -> Chat:
    """Ada, an admin, logged in on ``conn``."""
    named(chat, conn, "Ada")
    chat.load_accounts([Account("Ada", "hash", admin=True, id="R")], [])
    chat.clients[conn].account = "ada"
    return chat


def broadcasts(outputs: list[object]) -> list[tuple[str, object, int | None]]:
    """Each broadcast event (without its message id: test_chat_rules checks those)."""
    return [
        (o.room, attrs.evolve(e, id="") if isinstance(e, TopicChanged) else e, o.exclude)
        for o in outputs
        if isinstance(o, Broadcast)
        for e in o.events
    ]


def test_roles_whoever_creates_a_room_is_its_operator_and_the_room_is_told() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    created = ask(chat, 1, i.Join("#rust"))
    assert ("#rust", Joined("Alice", "#rust", operator=True), 1) in broadcasts(created)
    joined = ask(chat, 2, i.Join("#rust"))
    assert ("#rust", Joined("Bob", "#rust"), 2) in broadcasts(joined)
    listed = replies(ask(chat, 2, i.ListUsers("#rust")), 2)
    assert listed == [UserList(2, ("Alice", "Bob"), "#rust", operators=frozenset({"Alice"}))]


def test_roles_lobby_has_no_founder() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    listed = replies(ask(chat, 1, i.ListUsers("#lobby")), 1)
    assert listed == [UserList(1, ("Alice",), "#lobby")]


def test_roles_topic_is_locked_to_operators() -> None:
    chat = rust()
    refused = ask(chat, 2, i.SetTopic("#rust", "mine now"))
    assert refused == [Reply(2, (Refused(Problem.NOT_OPERATOR, name="topic", room="#rust"),))]
    done = ask(chat, 1, i.SetTopic("#rust", "Rust talk"))
    assert ("#rust", TopicChanged("Alice", "#rust", "Rust talk"), None) in broadcasts(done)


def test_roles_lobby_topic_is_for_admins_only() -> None:
    chat = with_admin(rust())
    refused = ask(chat, 4, i.SetTopic("#lobby", "vandalised"))
    assert refused == [Reply(4, (Refused(Problem.LOBBY_ADMINS, name="topic", room="#lobby"),))]
    done = ask(chat, 5, i.SetTopic("#lobby", "Welcome"))
    assert ("#lobby", TopicChanged("Ada", "#lobby", "Welcome"), None) in broadcasts(done)


@pytest.mark.parametrize(
    ("role", "on"), [(Role.OPERATOR, True), (Role.VOICE, True)], ids=["op", "voice"]
)
def test_roles_an_operator_gives_a_role_and_the_whole_room_sees_it(role: Role, on: bool) -> None:
    chat = rust()
    outputs = ask(chat, 1, i.SetRole("#rust", "bob", role, on))
    assert outputs == [
        Broadcast((RoleChanged("#rust", "Bob", role, True, "Alice"),), None, "#rust")
    ]
    listed = replies(ask(chat, 3, i.ListUsers("#rust")), 3)[0]
    assert isinstance(listed, UserList)
    assert ("Bob" in listed.operators, "Bob" in listed.voiced) == (
        role is Role.OPERATOR,
        role is Role.VOICE,
    )


def test_roles_taking_a_role_away_and_a_change_that_changes_nothing() -> None:
    chat = rust()
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE))
    taken = ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE, on=False))
    assert taken == [
        Broadcast((RoleChanged("#rust", "Bob", Role.VOICE, False, "Alice"),), None, "#rust")
    ]
    assert ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE, on=False)) == []
    assert ask(chat, 1, i.SetRole("#rust", "Alice", Role.OPERATOR)) == []


def test_roles_a_new_operator_may_act_and_a_deopped_one_may_not() -> None:
    chat = rust()
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.OPERATOR))
    assert broadcasts(ask(chat, 2, i.SetRole("#rust", "Alice", Role.OPERATOR, on=False)))
    refused = ask(chat, 1, i.SetTopic("#rust", "back"))
    assert refused == [Reply(1, (Refused(Problem.NOT_OPERATOR, name="topic", room="#rust"),))]


@pytest.mark.parametrize(
    ("intent", "act"),
    [
        (i.SetRole("#rust", "Carol", Role.OPERATOR), "op"),
        (i.SetRole("#rust", "Alice", Role.OPERATOR, on=False), "deop"),
        (i.SetRole("#rust", "Carol", Role.VOICE), "voice"),
        (i.SetRole("#rust", "Carol", Role.VOICE, on=False), "devoice"),
        (i.Kick("#rust", "Carol", "bye"), "kick"),
        (i.SetTopic("#rust", "mine"), "topic"),
        (i.SetMode("#rust", Mode.MODERATED), "mode"),
        (i.SetMode("#rust", Mode.SECRET), "mode"),
        (i.SetMode("#rust", Mode.KEY, key="k"), "mode"),
        (i.Invite("Dave", "#rust"), "invite"),
        (i.BanFromRoom("#rust", "Dave"), "ban"),
        (i.UnbanFromRoom("#rust", "Dave"), "unban"),
    ],
)
def test_roles_every_act_of_the_table_is_refused_to_a_member_who_is_not_operator(
    intent: i.Intent, act: str
) -> None:
    chat = rust()
    refused = ask(chat, 2, intent)
    assert refused == [Reply(2, (Refused(Problem.NOT_OPERATOR, name=act, room="#rust"),))]


def test_roles_table_names_every_act_in_rooms_and_in_the_lobby() -> None:
    assert set(roles.NEEDS) == set(roles.Act) == set(roles.LOBBY_NEEDS)
    assert set(roles.LOBBY_NEEDS.values()) == {roles.Need.ADMIN}


def test_roles_acting_on_someone_who_is_not_there() -> None:
    chat = rust()
    not_member = ask(chat, 4, i.SetRole("#rust", "Bob", Role.VOICE))
    assert not_member == [Reply(4, (Refused(Problem.NOT_IN_ROOM, room="#rust"),))]
    elsewhere = ask(chat, 1, i.Kick("#rust", "dave"))
    assert elsewhere == [Reply(1, (Refused(Problem.USER_NOT_IN_ROOM, name="Dave", room="#rust"),))]
    nobody = ask(chat, 1, i.SetRole("#rust", "Zed", Role.OPERATOR))
    assert nobody == [Reply(1, (Refused(Problem.NO_SUCH_USER, name="Zed"),))]


def test_roles_an_admin_acts_as_operator_in_any_room() -> None:
    chat = with_admin(rust())
    ask(chat, 5, i.Join("#rust"))
    done = ask(chat, 5, i.SetRole("#rust", "Carol", Role.VOICE))
    assert broadcasts(done) == [
        ("#rust", RoleChanged("#rust", "Carol", Role.VOICE, True, "Ada"), None)
    ]
    assert broadcasts(ask(chat, 5, i.SetTopic("#rust", "by an admin")))


def test_roles_kick_puts_the_member_out_of_that_room_only_and_everyone_sees_why() -> None:
    chat = rust()
    outputs = ask(chat, 1, i.Kick("#rust", "bob", "spamming"))
    assert Unsubscribe(2, "#rust") in outputs
    assert broadcasts(outputs) == [("#rust", Kicked("#rust", "Bob", "Alice", "spamming"), 2)]
    assert replies(outputs, 2) == [RoomLeft("#rust", ("#lobby",), by="Alice", reason="spamming")]
    assert not any(isinstance(o, Close) for o in outputs)  # Bob stays connected
    assert chat.clients[2].rooms == ["#lobby"]
    listed = replies(ask(chat, 1, i.ListUsers("#rust")), 1)[0]
    assert isinstance(listed, UserList) and listed.names == ("Alice", "Carol")


def test_roles_a_member_kicked_out_of_its_only_room_lands_in_the_lobby() -> None:
    chat = rust()
    ask(chat, 3, i.Leave("#lobby"))
    outputs = ask(chat, 1, i.Kick("#rust", "Carol"))
    assert Subscribe(3, "#lobby") in outputs
    told = replies(outputs, 3)
    assert [type(e) for e in told] == [RoomEntered, RoomLeft]  # never in no room
    assert told[1] == RoomLeft("#rust", ("#lobby",), by="Alice")
    assert ("#lobby", Joined("Carol", "#lobby"), 3) in broadcasts(outputs)


def test_roles_nobody_is_kicked_out_of_the_lobby_when_it_is_their_only_room() -> None:
    chat = with_admin(rust())
    refused = ask(chat, 5, i.Kick("#lobby", "Dave"))
    assert refused == [Reply(5, (Refused(Problem.KICK_LAST_ROOM, name="Dave", room="#lobby"),))]
    assert replies(ask(chat, 5, i.Kick("#lobby", "Bob")), 2) == [
        RoomLeft("#lobby", ("#rust",), by="Ada")
    ]
    refused = ask(chat, 4, i.Kick("#lobby", "Carol"))
    assert refused == [Reply(4, (Refused(Problem.LOBBY_ADMINS, name="kick", room="#lobby"),))]


@pytest.mark.parametrize("lobby", [i.Lobby.FIRST, i.Lobby.NEVER])
def test_roles_a_member_whose_door_allows_no_room_is_kicked_out_of_its_last_room_into_none(
    lobby: i.Lobby,
) -> None:
    chat = with_admin(rust())
    connect(chat, 6)
    ask(chat, 6, i.ChooseName("Erin", lobby))
    ask(chat, 6, i.Join("#rust"))
    if lobby is i.Lobby.FIRST:
        assert chat.clients[6].rooms == ["#lobby", "#rust"]
        ask(chat, 6, i.Leave("#lobby"))
    outputs = ask(chat, 1, i.Kick("#rust", "Erin", "bye"))
    assert replies(outputs, 6) == [RoomLeft("#rust", (), by="Alice", reason="bye")]
    assert not any(isinstance(o, Subscribe) for o in outputs)  # not put in #lobby
    assert chat.clients[6].rooms == []
    ask(chat, 6, i.Join("#lobby"))  # an admin may kick it out of #lobby, its only room
    outputs = ask(chat, 5, i.Kick("#lobby", "Erin"))
    assert replies(outputs, 6) == [RoomLeft("#lobby", (), by="Ada")]


def test_roles_end_with_membership() -> None:
    chat = rust()
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE))
    ask(chat, 2, i.Leave("#rust"))
    ask(chat, 2, i.Join("#rust"))
    listed = replies(ask(chat, 2, i.ListUsers("#rust")), 2)[0]
    assert isinstance(listed, UserList) and listed.voiced == frozenset()
    for conn in (1, 2, 3):  # the room empties, and is created again by whoever comes first
        ask(chat, conn, i.Leave("#rust"))
    assert ("#rust", Joined("Carol", "#rust", operator=True), 3) in broadcasts(
        ask(chat, 3, i.Join("#rust"))
    )


def test_roles_are_held_by_the_connection_not_the_name() -> None:
    chat = rust()
    ask(chat, 1, i.Rename("Alicia"))
    assert broadcasts(ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE)))
    ask(chat, 2, i.Rename("Alice"))  # the old name, taken by someone else
    refused = ask(chat, 2, i.SetTopic("#rust", "mine"))
    assert refused == [Reply(2, (Refused(Problem.NOT_OPERATOR, name="topic", room="#rust"),))]


def test_roles_a_disconnected_operator_loses_the_role() -> None:
    chat = rust()
    chat.disconnect(1, Reason.CLOSED, Outputs(1))
    named(chat, 1, "Alice")
    ask(chat, 1, i.Join("#rust"))
    refused = ask(chat, 1, i.SetTopic("#rust", "back"))
    assert refused == [Reply(1, (Refused(Problem.NOT_OPERATOR, name="topic", room="#rust"),))]


def test_roles_flow_control_knows_where_a_kick_delivers() -> None:
    chat = rust()
    assert chat.reach(1, i.Kick("#Rust", "bob")) == (("#rust", "#lobby"), 2)
    assert chat.reach(1, i.SetRole("#Rust", "bob", Role.VOICE)) == (("#rust",), None)
    # An invitation is told to the invited and to the room's other operators (members).
    assert chat.reach(1, i.Invite("dave", "#Rust")) == (("#rust",), 4)
    # A kick-ban puts out whoever it names, all members of the room, into #lobby.
    assert chat.reach(1, i.BanFromRoom("#Rust", "*!*@*", kick=True)) == (("#rust", "#lobby"), None)
    # An admin's /kill and /ban tell the one put out and every room it was in; so does
    # a login that takes a name over from the connection that holds it.
    assert chat.reach(1, i.Kill("bob")) == (("#lobby", "#rust"), 2)
    assert chat.reach(1, i.Ban("Dave", 60.0)) == (("#lobby",), 4)
    assert chat.reach(4, i.LogIn("Carol", "carol-password")) == (("#lobby", "#rust"), 3)
    assert chat.reach(1, i.Kill("nobody")) == ((), None)


# -- modes (roles.py's rule 6) ---------------------------------------------------------


SETTINGS = {
    Mode.MODERATED: (i.SetMode("#rust", Mode.MODERATED), "", Modes("#rust", frozenset({Mode.MODERATED}))),
    Mode.SECRET: (i.SetMode("#rust", Mode.SECRET), "", Modes("#rust", frozenset({Mode.SECRET}))),
    Mode.INVITE_ONLY: (
        i.SetMode("#rust", Mode.INVITE_ONLY), "", Modes("#rust", frozenset({Mode.INVITE_ONLY}))
    ),
    Mode.KEY: (
        i.SetMode("#rust", Mode.KEY, key="s3cret"), "s3cret",
        Modes("#rust", frozenset({Mode.KEY}), key="s3cret"),
    ),
    Mode.LIMIT: (
        i.SetMode("#rust", Mode.LIMIT, limit=50), "50",
        Modes("#rust", frozenset({Mode.LIMIT}), limit=50),
    ),
}  # fmt: skip
"""Each mode: the intent that sets it, the value the room is told, what /mode shows."""


@pytest.mark.parametrize("mode", list(Mode))
def test_roles_an_operator_sets_and_unsets_a_mode_and_the_room_sees_it(mode: Mode) -> None:
    chat = rust()
    setting, value, shown = SETTINGS[mode]
    assert replies(ask(chat, 2, i.ShowModes("#rust")), 2) == [Modes("#rust", frozenset())]
    on = ask(chat, 1, setting)
    assert on == [Broadcast((ModeChanged("#rust", mode, True, "Alice", value),), None, "#rust")]
    assert replies(ask(chat, 2, i.ShowModes("#rust")), 2) == [shown]
    labelled = replies(ask(chat, 2, i.ShowModes("#rust", label="modes")), 2)  # the page's
    assert labelled == [attrs.evolve(shown, label="modes")]
    if mode is not Mode.KEY:  # a key set again is refused (below)
        assert ask(chat, 1, setting) == []  # no change: nobody is told
    off = ask(chat, 1, i.SetMode("#rust", mode, on=False))
    assert off == [Broadcast((ModeChanged("#rust", mode, False, "Alice"),), None, "#rust")]
    assert replies(ask(chat, 2, i.ShowModes("#rust")), 2) == [Modes("#rust", frozenset())]


def test_roles_lobby_modes_are_for_admins_only() -> None:
    chat = with_admin(rust())
    refused = ask(chat, 4, i.SetMode("#lobby", Mode.MODERATED))
    assert refused == [Reply(4, (Refused(Problem.LOBBY_ADMINS, name="mode", room="#lobby"),))]
    done = ask(chat, 5, i.SetMode("#lobby", Mode.MODERATED))
    assert broadcasts(done) == [
        ("#lobby", ModeChanged("#lobby", Mode.MODERATED, True, "Ada"), None)
    ]


@pytest.mark.parametrize(
    ("who", "heard"),
    [(1, True), (2, True), (3, False), (5, True)],
    ids=["operator", "voiced", "member", "admin"],
)
def test_roles_in_a_moderated_room_only_operators_voiced_and_admins_talk(
    who: int, heard: bool
) -> None:
    chat = with_admin(rust())
    ask(chat, 5, i.Join("#rust"))
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE))
    ask(chat, 1, i.SetMode("#rust", Mode.MODERATED))
    said = ask(chat, who, i.Say("#rust", "hello"))
    if heard:
        assert [type(e) for _, e, _ in broadcasts(said)] == [Said]
    else:
        assert said == [Reply(who, (Refused(Problem.MODERATED, room="#rust"),))]
    ask(chat, 1, i.SetMode("#rust", Mode.MODERATED, on=False))
    assert [type(e) for _, e, _ in broadcasts(ask(chat, who, i.Say("#rust", "again")))] == [Said]


def test_roles_a_secret_room_is_listed_and_shown_to_its_members_only() -> None:
    chat = rust()
    ask(chat, 1, i.SetMode("#rust", Mode.SECRET))
    inside = replies(ask(chat, 2, i.ListRooms()), 2)[0]
    assert isinstance(inside, RoomList) and inside.total == 2
    assert [name for name, _ in inside.rooms] == ["#lobby", "#rust"]
    outside = replies(ask(chat, 4, i.ListRooms()), 4)[0]
    assert isinstance(outside, RoomList) and outside.total == 1
    assert [name for name, _ in outside.rooms] == ["#lobby"]
    hidden = ask(chat, 4, i.ShowModes("#rust"))
    assert hidden == [Reply(4, (Refused(Problem.NO_SUCH_ROOM, room="#rust"),))]


def test_roles_an_emptied_room_forgets_its_modes() -> None:
    chat = rust()
    ask(chat, 1, i.SetMode("#rust", Mode.MODERATED))
    for conn in (1, 2, 3):
        ask(chat, conn, i.Leave("#rust"))
    ask(chat, 2, i.Join("#rust"))
    assert replies(ask(chat, 2, i.ShowModes("#rust")), 2) == [Modes("#rust", frozenset())]


# -- who may join (roles.py's rules 7 and 8) ---------------------------------------------


@pytest.mark.parametrize(
    ("setting", "join", "problem"),
    [
        (i.SetMode("#rust", Mode.INVITE_ONLY), i.Join("#rust"), Refused(Problem.INVITE_ONLY, room="#rust")),
        (i.SetMode("#rust", Mode.KEY, key="k1"), i.Join("#rust"), Refused(Problem.NEEDS_KEY, room="#rust")),
        (i.SetMode("#rust", Mode.KEY, key="k1"), i.Join("#rust", "k2"), Refused(Problem.NEEDS_KEY, room="#rust")),
        (i.SetMode("#rust", Mode.KEY, key="k1"), i.Join("#rust", "k1"), None),
        (i.SetMode("#rust", Mode.LIMIT, limit=3), i.Join("#rust"), Refused(Problem.ROOM_FULL, room="#rust", limit=3)),
        (i.SetMode("#rust", Mode.LIMIT, limit=4), i.Join("#rust"), None),
        (i.SetMode("#rust", Mode.MODERATED), i.Join("#rust"), None),
    ],
    ids=["invite-only", "no-key", "wrong-key", "key", "full", "room-left", "moderated"],
)  # fmt: skip
def test_roles_joining_a_room_is_checked_against_its_modes(
    setting: i.SetMode, join: i.Join, problem: Refused | None
) -> None:
    chat = rust()
    ask(chat, 1, setting)
    joined = ask(chat, 4, join)
    if problem is None:
        assert ("#rust", Joined("Dave", "#rust"), 4) in broadcasts(joined)
    else:
        assert joined == [Reply(4, (problem,))]


@pytest.mark.parametrize(
    "setting",
    [
        i.SetMode("#rust", Mode.INVITE_ONLY),
        i.SetMode("#rust", Mode.KEY, key="k1"),
        i.SetMode("#rust", Mode.LIMIT, limit=3),
    ],
    ids=["invite-only", "key", "limit"],
)
def test_roles_an_invitation_lets_its_holder_in_once_past_i_k_and_l(setting: i.SetMode) -> None:
    chat = rust()
    ask(chat, 1, setting)
    invited = ask(chat, 1, i.Invite("dave", "#rust"))
    assert invited == [
        Reply(4, (Invitation("#rust", "Alice"),)),
        Reply(1, (InviteSent("#rust", "Dave"),)),
    ]
    assert ("#rust", Joined("Dave", "#rust"), 4) in broadcasts(ask(chat, 4, i.Join("#rust")))
    ask(chat, 4, i.Leave("#rust"))  # used up: once out, Dave is kept out again
    assert isinstance(replies(ask(chat, 4, i.Join("#rust")), 4)[0], Refused)


def test_roles_an_invitation_is_told_to_the_rooms_other_operators() -> None:
    chat = rust()
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.OPERATOR, True))
    invited = ask(chat, 2, i.Invite("Dave", "#rust"))  # Bob invites: Alice runs it too
    assert invited == [
        Reply(4, (Invitation("#rust", "Bob"),)),
        Reply(2, (InviteSent("#rust", "Dave"),)),
        Reply(1, (Invited("#rust", "Bob", "Dave"),)),
    ]  # Carol, no operator, is not told


def test_roles_a_room_keeps_when_it_was_created_until_it_is_forgotten() -> None:
    wall = [1_700_000_000.0]
    chat = Chat(Rules(flood_rate=0), clock=lambda: wall[0])
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    ask(chat, 1, i.Join("#rust"))
    wall[0] += 60.0
    ask(chat, 2, i.Join("#rust"))  # joining a room does not make it new
    (shown,) = replies(ask(chat, 2, i.ShowModes("#rust")), 2)
    assert isinstance(shown, Modes) and shown.created == 1_700_000_000.0
    (lobby,) = replies(ask(chat, 2, i.ShowModes("#lobby")), 2)
    assert isinstance(lobby, Modes) and lobby.created == 1_700_000_000.0  # the server's
    ask(chat, 1, i.Leave("#rust"))
    ask(chat, 2, i.Leave("#rust"))  # emptied: forgotten, and made again by the next join
    wall[0] += 60.0
    ask(chat, 2, i.Join("#rust"))
    (again,) = replies(ask(chat, 2, i.ShowModes("#rust")), 2)
    assert isinstance(again, Modes) and again.created == 1_700_000_120.0


def test_roles_an_invitation_lapses_after_an_hour() -> None:
    chat = rust()
    ask(chat, 1, i.SetMode("#rust", Mode.INVITE_ONLY))
    ask(chat, 1, i.Invite("Dave", "#rust"), now=100.0)
    late = ask(chat, 4, i.Join("#rust"), now=100.0 + roles.INVITE_SECONDS)
    assert late == [Reply(4, (Refused(Problem.INVITE_ONLY, room="#rust"),))]
    ask(chat, 1, i.Invite("Dave", "#rust"), now=200.0)
    in_time = ask(chat, 4, i.Join("#rust"), now=199.0 + roles.INVITE_SECONDS)
    assert ("#rust", Joined("Dave", "#rust"), 4) in broadcasts(in_time)


def test_roles_show_invitations_lists_those_held_until_used_or_lapsed() -> None:
    chat = rust()
    ask(chat, 2, i.Join("#go"))
    assert replies(ask(chat, 4, i.ShowInvitations()), 4) == [Invitations(())]
    ask(chat, 1, i.Invite("Dave", "#rust"), now=100.0)
    ask(chat, 2, i.Invite("Dave", "#go"), now=150.0)
    ask(chat, 2, i.Invite("Carol", "#go"), now=150.0)  # Carol's, not Dave's
    shown = ask(chat, 4, i.ShowInvitations(), now=160.0)
    assert replies(shown, 4) == [Invitations(("#rust", "#go"))]  # in the order given
    ask(chat, 4, i.Join("#rust"), now=170.0)  # used up
    lapsed = ask(chat, 4, i.ShowInvitations(), now=150.0 + roles.INVITE_SECONDS)
    assert replies(lapsed, 4) == [Invitations(())]


def test_roles_a_room_holds_at_most_invites_max_and_drops_the_oldest() -> None:
    chat = rust()
    ask(chat, 1, i.SetMode("#rust", Mode.INVITE_ONLY))
    ask(chat, 1, i.Invite("Dave", "#rust"))
    for n in range(roles.INVITES_MAX):
        named(chat, 100 + n, f"guest{n}")
        ask(chat, 1, i.Invite(f"guest{n}", "#rust"))
    assert len(chat.rooms["#rust"].invited) == roles.INVITES_MAX
    dropped = ask(chat, 4, i.Join("#rust"))
    assert dropped == [Reply(4, (Refused(Problem.INVITE_ONLY, room="#rust"),))]
    kept = ask(chat, 100, i.Join("#rust"))
    assert ("#rust", Joined("guest0", "#rust"), 100) in broadcasts(kept)


def test_roles_an_admin_joins_past_every_mode() -> None:
    chat = with_admin(rust())
    for setting in (
        i.SetMode("#rust", Mode.INVITE_ONLY),
        i.SetMode("#rust", Mode.KEY, key="k1"),
        i.SetMode("#rust", Mode.LIMIT, limit=1),
    ):
        ask(chat, 1, setting)
    joined = Joined("Ada", "#rust", "Ada", admin=True)
    assert ("#rust", joined, 5) in broadcasts(ask(chat, 5, i.Join("#rust")))


@pytest.mark.parametrize(
    ("intent", "problem"),
    [
        (i.Invite("Bob", "#rust"), Refused(Problem.ALREADY_IN_ROOM, name="Bob", room="#rust")),
        (i.Invite("Zed", "#rust"), Refused(Problem.NO_SUCH_USER, name="Zed")),
        (i.SetMode("#rust", Mode.KEY, key="a b"), Refused(Problem.BAD_MODE_VALUE, name="key", room="#rust", limit=roles.KEY_MAX)),
        (i.SetMode("#rust", Mode.KEY, key="a,b"), Refused(Problem.BAD_MODE_VALUE, name="key", room="#rust", limit=roles.KEY_MAX)),
        (i.SetMode("#rust", Mode.KEY, key=""), Refused(Problem.BAD_MODE_VALUE, name="key", room="#rust", limit=roles.KEY_MAX)),
        (i.SetMode("#rust", Mode.LIMIT, limit=0), Refused(Problem.BAD_MODE_VALUE, name="limit", room="#rust", limit=roles.LIMIT_MAX)),
        (i.SetMode("#rust", Mode.LIMIT, limit=roles.LIMIT_MAX + 1), Refused(Problem.BAD_MODE_VALUE, name="limit", room="#rust", limit=roles.LIMIT_MAX)),
    ],
    ids=["already-in", "nobody", "key-space", "key-comma", "key-empty", "limit-0", "limit-high"],
)  # fmt: skip
def test_roles_invitations_and_mode_values_are_checked(intent: i.Intent, problem: Refused) -> None:
    chat = rust()
    assert ask(chat, 1, intent) == [Reply(1, (problem,))]


def test_roles_a_key_set_twice_is_refused_until_removed_and_only_members_see_it() -> None:
    chat = rust()
    ask(chat, 1, i.SetMode("#rust", Mode.KEY, key="k1"))
    again = ask(chat, 1, i.SetMode("#rust", Mode.KEY, key="k2"))
    assert again == [Reply(1, (Refused(Problem.KEY_SET, room="#rust"),))]
    outside = replies(ask(chat, 4, i.ShowModes("#rust")), 4)
    assert outside == [Modes("#rust", frozenset({Mode.KEY}))]  # no key for Dave
    removed = ask(chat, 1, i.SetMode("#rust", Mode.KEY, on=False))
    assert broadcasts(removed) == [("#rust", ModeChanged("#rust", Mode.KEY, False, "Alice"), None)]
    assert broadcasts(ask(chat, 1, i.SetMode("#rust", Mode.KEY, key="k2")))


@pytest.mark.parametrize("mode", [m for m in Mode if m in roles.OPEN_MODES])
def test_roles_the_lobby_stays_open_to_everyone(mode: Mode) -> None:
    chat = with_admin(rust())
    setting = attrs.evolve(SETTINGS[mode][0], room="#lobby")
    refused = ask(chat, 5, setting)
    assert refused == [Reply(5, (Refused(Problem.LOBBY_OPEN, name=mode.value, room="#lobby"),))]


# -- bans (roles.py's rules 10-12) ------------------------------------------------------

T = 1_765_000_000.0  #: the clock of ``banned_rust``


def banned_rust() -> Chat:
    """``rust()`` with a clock that stands at ``T``; Ada (5) is an admin, in #lobby."""
    chat = Chat(Rules(flood_rate=0, admins=frozenset({"ada"})), clock=lambda: T)
    for conn, name in ((1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Dave")):
        named(chat, conn, name)
    for conn in (1, 2, 3):
        ask(chat, conn, i.Join("#rust"))
    return with_admin(chat)


def test_roles_a_ban_is_told_to_the_room_keeps_its_person_out_and_is_lifted() -> None:
    chat = banned_rust()
    ban = RoomBan(BanKind.NAME, "Dave", "Alice", T, "spam")
    done = ask(chat, 1, i.BanFromRoom("#rust", "dave", "spam"))
    assert done == [Broadcast((BanChanged("#rust", ban, True, "Alice"),), None, "#rust")]
    assert replies(ask(chat, 2, i.ShowBans("#rust")), 2) == [BanList("#rust", (ban,))]
    assert ask(chat, 4, i.Join("#rust")) == [
        Reply(4, (Refused(Problem.ROOM_BANNED, room="#rust"),))
    ]
    lifted = ask(chat, 1, i.UnbanFromRoom("#rust", "Dave!*@*"))  # as IRC shows it
    assert lifted == [Broadcast((BanChanged("#rust", ban, False, "Alice"),), None, "#rust")]
    assert replies(ask(chat, 4, i.Join("#rust")), 4)[0] == RoomEntered("#rust", 4, "", True)
    assert ask(chat, 1, i.UnbanFromRoom("#rust", "Dave")) == [
        Reply(1, (Refused(Problem.ROOM_NO_BAN, name="Dave", room="#rust"),))
    ]


def test_roles_a_ban_on_an_account_holds_whatever_name_its_owner_uses() -> None:
    chat = banned_rust()
    chat.registry.accounts["dave"] = Account("Dave", "hash", id="D")
    chat.clients[4].account = "dave"
    ask(chat, 1, i.BanFromRoom("#rust", "Dave"))
    (shown,) = replies(ask(chat, 3, i.ShowBans("#rust")), 3)
    assert shown == BanList("#rust", (RoomBan(BanKind.ACCOUNT, "Dave", "Alice", T),))
    assert shown.bans[0].shown == "~a:Dave"
    ask(chat, 4, i.Rename("Davey"))
    assert ask(chat, 4, i.Join("#rust")) == [
        Reply(4, (Refused(Problem.ROOM_BANNED, room="#rust"),))
    ]
    ask(chat, 1, i.UnbanFromRoom("#rust", "~a:dave"))
    assert replies(ask(chat, 4, i.Join("#rust")), 4)[0] == RoomEntered("#rust", 4, "", True)
    assert ask(chat, 1, i.BanFromRoom("#rust", "~a:nobody")) == [
        Reply(1, (Refused(Problem.NO_ACCOUNT, name="nobody"),))
    ]


@pytest.mark.parametrize(
    ("mask", "kept_out"),
    [
        ("dave!*@*", True),
        ("D?VE", True),
        ("*!*@CHAT-TRIO", True),
        ("*@chat-trio", True),
        ("da*", True),
        ("*!*@elsewhere", False),
        ("dav!*@*", False),
        ("[dave]!*@*", False),  # brackets are no character class
    ],
)
def test_roles_a_mask_ban_matches_the_mask_irc_shows_without_case(
    mask: str, kept_out: bool
) -> None:
    chat = banned_rust()
    ask(chat, 1, i.BanFromRoom("#rust", mask))
    joined = replies(ask(chat, 4, i.Join("#rust")), 4)[0]
    assert (joined == Refused(Problem.ROOM_BANNED, room="#rust")) is kept_out


@pytest.mark.parametrize(
    ("mask", "text", "matched"),
    [
        ("*", "", True),
        ("?", "", False),
        ("a*b?d", "axxbcd", True),
        ("a*b?d", "axxbd", False),
        ("*!*@host", "n!u@host", True),
        ("**a", "ba", True),
        ("a*", "b", False),
        ("*a" * 40 + "!*@*b", "a" * 32 + "!" + "a" * 32 + "@chat-trio", False),
        ("*a" * 40 + "*", "a" * 80, True),
    ],
    ids=lambda v: str(v)[:12],
)
def test_roles_glob_matches_stars_and_question_marks_in_bounded_steps(
    mask: str, text: str, matched: bool
) -> None:
    """The two long cases are the ban a backtracking regular expression never finished
    (0.8 s with six ``*a``; every one more multiplies it): one ban stopped the server."""
    assert roles.glob(mask, text) is matched


@pytest.mark.parametrize(
    ("given", "whole"),
    [
        ("Dave", "Dave!*@*"),
        ("*@host", "*!*@host"),
        ("Dave!u", "Dave!u@*"),
        ("!@", "*!*@*"),
        ("a!b@c", "a!b@c"),
    ],
)
def test_roles_a_mask_is_completed_as_irc_servers_do(given: str, whole: str) -> None:
    assert roles.normal_mask(given) == whole


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("a,b", Refused(Problem.BAD_BAN_MASK, name="a,b", limit=roles.MASK_MAX)),
        ("a b", Refused(Problem.BAD_BAN_MASK, name="a b", limit=roles.MASK_MAX)),
        ("x" * 33, Refused(Problem.BAD_BAN_MASK, name="x" * 33, limit=roles.MASK_MAX)),
        ("*" * 200, Refused(Problem.BAD_BAN_MASK, name="*" * roles.MASK_MAX, limit=roles.MASK_MAX)),
        # Shown to every member on every door, and kept: no escapes, controls, bidi marks.
        ("\x1b]0;pwned\x07\x1b[2Jevil*", Refused(Problem.BAD_BAN_MASK, name="evil*", limit=96)),
        ("\u202eevil\x01*", Refused(Problem.BAD_BAN_MASK, name="evil*", limit=96)),
        ("Da\x1bve", Refused(Problem.BAD_BAN_MASK, name="Dae", limit=96)),
    ],
    ids=["comma", "space", "long-name", "long-mask", "escapes", "bidi", "escape-in-name"],
)
def test_roles_a_ban_target_is_checked(target: str, problem: Refused) -> None:
    chat = banned_rust()
    assert ask(chat, 1, i.BanFromRoom("#rust", target)) == [Reply(1, (problem,))]


def test_roles_an_invitation_does_not_let_a_banned_person_in_but_an_admin_passes() -> None:
    chat = banned_rust()
    ask(chat, 1, i.BanFromRoom("#rust", "*!*@*"))
    ask(chat, 1, i.Invite("Dave", "#rust"))
    assert ask(chat, 4, i.Join("#rust")) == [
        Reply(4, (Refused(Problem.ROOM_BANNED, room="#rust"),))
    ]
    assert replies(ask(chat, 5, i.Join("#rust")), 5)[0] == RoomEntered("#rust", 4, "", True)


@pytest.mark.parametrize(
    ("who", "heard"),
    [(1, True), (2, True), (3, False), (5, True)],
    ids=["operator", "voiced", "member", "admin"],
)
def test_roles_a_banned_member_stays_but_only_voiced_operators_and_admins_talk(
    who: int, heard: bool
) -> None:
    chat = banned_rust()
    ask(chat, 5, i.Join("#rust"))
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE))
    done = ask(chat, 1, i.BanFromRoom("#rust", "*!*@*"))  # everyone: a ban puts nobody out
    assert [type(e) for _, e, _ in broadcasts(done)] == [BanChanged]
    said = ask(chat, who, i.Say("#rust", "hello"))
    if heard:
        assert [type(e) for _, e, _ in broadcasts(said)] == [Said]
    else:
        assert said == [Reply(who, (Refused(Problem.BANNED_TALK, room="#rust"),))]
    ask(chat, 1, i.UnbanFromRoom("#rust", "*!*@*"))  # the verdict is not remembered past it
    assert [type(e) for _, e, _ in broadcasts(ask(chat, who, i.Say("#rust", "again")))] == [Said]


def test_roles_a_name_ban_holds_that_name_and_a_rename_escapes_it_as_on_irc() -> None:
    chat = banned_rust()
    ask(chat, 1, i.BanFromRoom("#rust", "Carol"))
    refused = [Reply(3, (Refused(Problem.BANNED_TALK, room="#rust"),))]
    assert ask(chat, 3, i.Say("#rust", "hi")) == refused
    ask(chat, 3, i.Rename("Caro"))  # a guest's name is all a name ban knows of them
    assert [type(e) for _, e, _ in broadcasts(ask(chat, 3, i.Say("#rust", "hi")))] == [Said]


def test_roles_a_kick_ban_puts_out_whom_it_bans_with_the_reason() -> None:
    chat = banned_rust()
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.OPERATOR))
    done = ask(chat, 2, i.BanFromRoom("#rust", "carol", "spam", kick=True))
    ban = RoomBan(BanKind.NAME, "Carol", "Bob", T, "spam")
    assert broadcasts(done) == [
        ("#rust", BanChanged("#rust", ban, True, "Bob"), None),
        ("#rust", Kicked("#rust", "Carol", "Bob", "spam"), 3),
    ]
    assert RoomLeft("#rust", ("#lobby",), by="Bob", reason="spam") in replies(done, 3)
    again = ask(chat, 2, i.BanFromRoom("#rust", "Carol", "again", kick=True))
    assert again == []  # banned already, and gone: nothing changes, nobody is told


def test_roles_a_room_holds_at_most_bans_max_and_refuses_one_more() -> None:
    chat = banned_rust()
    for n in range(roles.BANS_MAX):
        assert broadcasts(ask(chat, 1, i.BanFromRoom("#rust", f"n{n}!*@*")))
    full = ask(chat, 1, i.BanFromRoom("#rust", "Dave"))
    assert full == [Reply(1, (Refused(Problem.BAN_LIST_FULL, room="#rust", limit=roles.BANS_MAX),))]
    assert ask(chat, 1, i.BanFromRoom("#rust", "N0!*@*")) == []  # one it holds: no change
    (listed,) = replies(ask(chat, 1, i.ShowBans("#rust")), 1)
    assert isinstance(listed, BanList) and len(listed.bans) == roles.BANS_MAX
    assert listed.bans[0].mask == "n0!*@*"  # the ones set on purpose are kept
    assert replies(ask(chat, 4, i.Join("#rust")), 4)[0] == RoomEntered("#rust", 4, "", True)


def test_roles_an_emptied_room_forgets_its_bans_and_a_secret_rooms_stay_hidden() -> None:
    chat = banned_rust()
    ask(chat, 1, i.BanFromRoom("#rust", "Dave"))
    ask(chat, 1, i.SetMode("#rust", Mode.SECRET))
    assert ask(chat, 4, i.ShowBans("#rust")) == [
        Reply(4, (Refused(Problem.NO_SUCH_ROOM, room="#rust"),))
    ]
    for conn in (1, 2, 3):
        ask(chat, conn, i.Leave("#rust"))
    assert replies(ask(chat, 4, i.Join("#rust")), 4)[0] == RoomEntered("#rust", 1, "", True)
    assert replies(ask(chat, 4, i.ShowBans("#rust")), 4) == [BanList("#rust", ())]


def test_roles_lobby_bans_are_the_admins_and_mute_whom_the_lobby_must_seat() -> None:
    chat = banned_rust()
    refused = ask(chat, 1, i.BanFromRoom("#lobby", "Dave"))
    assert refused == [Reply(1, (Refused(Problem.LOBBY_ADMINS, name="ban", room="#lobby"),))]
    ask(chat, 5, i.BanFromRoom("#lobby", "Dave"))
    assert ask(chat, 4, i.Say("#lobby", "hi")) == [
        Reply(4, (Refused(Problem.BANNED_TALK, room="#lobby"),))
    ]
    chat.disconnect(4, Reason.QUIT, Outputs(4))
    named(chat, 6, "Dave")  # seated in #lobby all the same: nobody is in no room
    assert chat.clients[6].rooms == ["#lobby"]
    assert ask(chat, 6, i.Say("#lobby", "hi")) == [
        Reply(6, (Refused(Problem.BANNED_TALK, room="#lobby"),))
    ]


def test_roles_remembered_verdicts_are_bounded_and_follow_the_bans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(roles, "VERDICTS_MAX", 8)
    chat = banned_rust()
    ask(chat, 1, i.BanFromRoom("#rust", "n1*!*@*"))
    room = chat.rooms["#rust"]
    for n in range(20):
        client = attrs.evolve(chat.clients[4], name=f"n{n}")
        assert (roles.banned(chat, client, room) is not None) is f"n{n}".startswith("n1")
    assert len(chat.ban_verdicts) == 8  # the least recently asked were forgotten
    ask(chat, 1, i.UnbanFromRoom("#rust", "n1*!*@*"))
    ask(chat, 1, i.BanFromRoom("#rust", "n2*!*@*"))
    assert roles.banned(chat, attrs.evolve(chat.clients[4], name="n19"), room) is None
    assert roles.banned(chat, attrs.evolve(chat.clients[4], name="n2"), room) is not None


def test_roles_flow_control_knows_where_a_ban_delivers() -> None:
    chat = banned_rust()
    assert chat.reach(1, i.BanFromRoom("#Rust", "carol", kick=True)) == (("#rust", "#lobby"), 3)
    assert chat.reach(1, i.UnbanFromRoom("#Rust", "carol")) == (("#rust",), None)


def test_roles_a_mask_ban_on_a_username_catches_its_person_on_every_door() -> None:
    chat = rust()
    connect(chat, 6)  # an IRC user: USER gave "drifter" (the door passes it in its intent)
    ask(chat, 6, i.ChooseName("Eve", user="drifter", realname="Eve Online"))
    ask(chat, 1, i.BanFromRoom("#rust", "*!drifter@*"))
    ask(chat, 1, i.BanFromRoom("#rust", "*!dave@chat-trio"))  # the text door's: the name
    refused = [Reply(6, (Refused(Problem.ROOM_BANNED, room="#rust"),))]
    assert ask(chat, 6, i.Join("#rust")) == refused
    ask(chat, 6, i.Rename("Evelyn"))  # the username stays: still banned
    assert ask(chat, 6, i.Join("#rust")) == refused
    assert ask(chat, 4, i.Join("#rust")) == [
        Reply(4, (Refused(Problem.ROOM_BANNED, room="#rust"),))
    ]
