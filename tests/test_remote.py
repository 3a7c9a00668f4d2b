"""People on other nodes, as the rules see them (chat/remote.py): intents and events only."""

from __future__ import annotations

import attrs

from chat_trio.chat import intents as i
from chat_trio.chat.core import Chat
from chat_trio.chat.events import (
    Away,
    BanChanged,
    BanKind,
    Done,
    Entry,
    History,
    Invitation,
    Joined,
    Kicked,
    Kind,
    Left,
    Missed,
    Mode,
    ModeChanged,
    NickChanged,
    Presence,
    Private,
    Reason,
    Redacted,
    Refused,
    Role,
    RoleChanged,
    RoomBan,
    RoomEntered,
    RoomLeft,
    Said,
    Unreachable,
    UserList,
    Welcome,
)
from chat_trio.chat.outputs import (
    Broadcast,
    Close,
    LoadHistory,
    Outputs,
    Record,
    ReleaseName,
    Reply,
    Subscribe,
    Unsubscribe,
)
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.remote import Profile, RoomState
from chat_trio.chat.world import Rules
from tests.test_chat_rules import admin_alice, ask, connect, named, replies

BOB = -1  #: the mirror of Bob, connected to another node


def bob(*rooms: str, name: str = "Bob", away: str = "") -> Profile:
    return Profile(name, rooms, "bob", "Bob B", away=away, since=1.0)


def news(
    chat: Chat, *events: object, now: Profile | None, reason: Reason = Reason.QUIT
) -> list[object]:
    out = Outputs(0)
    assert chat.remote_news(BOB, tuple(events), now, reason, out)  # type: ignore[arg-type]
    return list(out.done())


def refusal(outputs: list[object]) -> Problem | None:
    first = outputs[0]
    assert isinstance(first, Reply)
    return first.events[0].problem if isinstance(first.events[0], Refused) else None


def test_remote_a_person_elsewhere_joins_talks_and_counts_here() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    joined = Joined("Bob", "#lobby", user="bob")
    assert news(chat, joined, now=bob("#lobby")) == [Broadcast((joined,), BOB, "#lobby")]
    assert chat.name_of(BOB) == "Bob"
    listed = ask(chat, 1, i.ListUsers("#lobby"))
    reply = listed[0]
    assert isinstance(reply, Reply)
    users = reply.events[0]
    assert isinstance(users, UserList)
    assert (users.total, users.names) == (2, ("Alice", "Bob"))
    # Bob's name is taken here too, and Alice can write to him (his node delivers it).
    named(chat, 2, "x")
    assert refusal(ask(chat, 2, i.Rename("bob"))) is Problem.NAME_TAKEN
    sent = ask(chat, 1, i.SendPrivate("bob", "hi"))
    to_bob = [o for o in sent if isinstance(o, Reply) and o.to == BOB]
    private = to_bob[0].events[0]
    assert len(to_bob) == 1 and isinstance(private, Private)
    assert (private.peer, private.text, private.incoming) == ("Alice", "hi", True)
    # What he says there is told here, and kept for whoever joins later.
    said = Said("Bob", "hello", id="b:1")
    out = Outputs(0)
    chat.remote_heard("#lobby", (said,), 5.0, out)
    assert list(out.done()) == [Broadcast((said,), None, "#lobby")]
    connect(chat, 3)
    entered = ask(chat, 3, i.ChooseName("Carol"))
    history = replies(entered, 3)
    assert any(isinstance(e, History) and e.entries[-1].text == "hello" for e in history)


def test_remote_a_rename_is_told_once_and_a_quit_frees_the_name() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    ask(chat, 1, i.Join("#two"))
    news(chat, now=bob("#lobby", "#two"))  # what a node that joins later learns: no news
    renamed = NickChanged("Bob", "Robert", "bob")
    told = news(chat, renamed, now=bob("#lobby", "#two", name="Robert"))
    # Once: Alice, in both rooms, was told in #lobby, and nobody else is in #two.
    assert [o for o in told if isinstance(o, Broadcast)] == [Broadcast((renamed,), BOB, "#lobby")]
    left = Left("Robert", Reason.LOST, user="bob")
    gone = [o for o in news(chat, left, now=None) if isinstance(o, Broadcast)]
    assert gone[0].events == (left,) and gone[0].room == "#lobby"
    assert chat.name_of(BOB) is None
    named(chat, 2, "x")
    assert isinstance(ask(chat, 2, i.Rename("Robert"))[0], Reply)
    assert chat.name_of(2) == "Robert"


def test_remote_a_name_held_here_is_never_taken_by_a_mirror() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Bob")
    out = Outputs(0)
    assert not chat.remote_news(BOB, (), bob("#lobby"), Reason.QUIT, out)
    assert chat.name_of(1) == "Bob" and chat.name_of(BOB) is None
    assert chat.rooms["#lobby"].members.keys() == {1}


def test_remote_a_node_gone_takes_its_people_with_a_lost_connection() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    news(chat, now=bob("#lobby", away="lunch"))
    assert chat.away == 1
    out = Outputs(0)
    chat.node_gone([BOB], out)
    assert [o.events for o in out.done() if isinstance(o, Broadcast)] == [
        (Left("Bob", Reason.LOST, user="bob"),)
    ]
    assert chat.away == 0 and "bob" not in chat.names


def test_remote_away_news_reaches_the_rooms_shared() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    news(chat, now=bob("#lobby"))
    away = Away("Bob", "lunch", "bob")
    assert news(chat, away, now=bob("#lobby", away="lunch")) == [Broadcast((away,), BOB, "#lobby")]


def test_remote_killing_a_person_elsewhere_asks_its_node() -> None:
    chat = admin_alice([1.0])
    news(chat, now=bob("#lobby"))
    outputs = ask(chat, 1, i.Kill("bob", "spam"))
    assert Reply(BOB, (Done(Outcome.KICKED_YOU, name="Alice", text="spam"),)) in outputs
    assert Close(BOB, Reason.KICKED) in outputs
    assert chat.name_of(BOB) == "Bob"  # until his node says he is gone


def test_remote_kicked_from_elsewhere_leaves_and_is_put_back_in_the_lobby() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    ask(chat, 1, i.Join("#x"))
    ask(chat, 1, i.Leave("#lobby"))
    out = Outputs(0)
    chat.put_out_elsewhere(1, RoomLeft("#x", by="Bob", reason="out"), out)
    done = list(out.done())
    assert Unsubscribe(1, "#x") in done
    assert Subscribe(1, "#lobby") in done
    assert Reply(1, (RoomLeft("#x", ("#lobby",), by="Bob", reason="out"),)) in done
    assert chat.clients[1].rooms == ["#lobby"]


def test_remote_ended_elsewhere_closes_the_connection_here() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    out = Outputs(0)
    chat.ended_elsewhere(1, Reason.KICKED, "spam", out)
    assert list(out.done()) == [Close(1, Reason.KICKED)]
    assert chat.clients[1].parting == "spam"


def test_remote_a_room_heard_only_elsewhere_is_loaded_when_someone_here_joins() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True)
    named(chat, 1, "Alice")
    news(chat, now=bob("#lobby", "#far"))
    assert chat.rooms["#far"].members.keys() == {BOB}
    assert ask(chat, 1, i.Join("#far"))[-1] == LoadHistory(1, "#far")
    out = Outputs(1)
    said = Entry(3.0, Kind.SAID, "#far", "Bob", "said there")
    chat.history_loaded(1, "#far", [said], "a topic", 0.0, out)
    told = replies(list(out.done()), 1)
    entered = next(e for e in told if isinstance(e, RoomEntered))
    assert (entered.members, entered.topic) == (2, "a topic")
    assert any(isinstance(e, History) and e.entries == (said,) for e in told)


def test_remote_a_kick_told_from_elsewhere_spares_the_kicked_member_here() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    named(chat, 2, "Carol")
    kicked = Kicked("#lobby", "Alice", "Bob", "out")
    out = Outputs(0)
    chat.remote_heard("#lobby", (kicked,), 1.0, out)
    assert list(out.done()) == [Broadcast((kicked,), 1, "#lobby")]


def test_remote_profile_of_a_local_person() -> None:
    chat = Chat(Rules(flood_rate=0))
    assert chat.profile(1) is None
    named(chat, 1, "Alice")
    ask(chat, 1, i.Join("#Two"))
    ask(chat, 1, i.SetAway("out"))
    profile = chat.profile(1)
    assert profile is not None
    assert (profile.name, profile.rooms, profile.away) == ("Alice", ("#lobby", "#Two"), "out")
    news(chat, now=bob("#lobby"))
    assert chat.profile(BOB) is None  # a mirror is its own node's to tell
    connect(chat, 2)
    welcome = ask(chat, 2, i.ChooseName("Dan"))
    assert any(isinstance(e, Welcome) and e.online == 3 for e in replies(welcome, 2))


def test_remote_out_of_reach_is_told_once_to_whom_it_concerns() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    ask(chat, 1, i.Join("#two"))
    named(chat, 2, "Carol")
    ask(chat, 2, i.Join("#alone"))
    news(chat, now=bob("#lobby", "#two"))
    out = Outputs(0)
    chat.peers_unreachable(out)
    # Alice, in #two too, was told in #lobby; nobody elsewhere is in #alone.
    assert list(out.done()) == [Broadcast((Unreachable("#lobby"),), None, "#lobby")]
    out = Outputs(0)
    chat.peers_missed(["#two", "#gone"], 4.0, out)
    assert list(out.done()) == [Broadcast((Missed("#two", 4.0),), None, "#two")]


def test_remote_a_first_name_elsewhere_joins_the_lobby_here_as_it_does_there() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    arrived = Joined("Bob", None, user="bob")  # (names.py: the lobby, quietly)
    assert news(chat, arrived, now=bob("#lobby")) == [Broadcast((arrived,), BOB, "#lobby")]


def test_remote_contact_back_tells_that_messages_may_be_missing() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    news(chat, now=bob("#lobby"))
    out = Outputs(0)
    chat.peers_restored(4.2, out)
    assert list(out.done()) == [Broadcast((Missed("#lobby", 4.2),), None, "#lobby")]


def test_remote_how_a_room_is_run_elsewhere_holds_here() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Carol")
    ask(chat, 1, i.Join("#ops"))  # Carol founds #ops here; Bob (elsewhere) joins it
    news(chat, Joined("Bob", "#ops"), now=bob("#lobby", "#ops"))
    room = chat.rooms["#ops"]
    out = Outputs(0)
    opped = RoleChanged("#ops", "Bob", Role.OPERATOR, True, "Carol")
    moderated = ModeChanged("#ops", Mode.MODERATED, True, "Bob")
    keyed = ModeChanged("#ops", Mode.KEY, True, "Bob", "sesame")
    banned = BanChanged("#ops", RoomBan(BanKind.NAME, "Eve", "Bob", 1.0), True, "Bob")
    chat.remote_heard("#ops", (opped, moderated, keyed, banned), 1.0, out)
    assert BOB in room.roles[Role.OPERATOR]
    assert room.modes == {Mode.MODERATED, Mode.KEY} and room.key == "sesame"
    # Eve, banned there, may not join here either; a wrong key is refused here too.
    named(chat, 2, "Eve")
    assert refusal(ask(chat, 2, i.Join("#ops", "sesame"))) is Problem.ROOM_BANNED
    named(chat, 3, "Dan")
    assert refusal(ask(chat, 3, i.Join("#ops", "wrong"))) is Problem.NEEDS_KEY
    out = Outputs(0)
    chat.remote_heard(
        "#ops", (attrs.evolve(banned, on=False), attrs.evolve(opped, on=False)), 2.0, out
    )
    assert not room.bans and BOB not in room.roles[Role.OPERATOR]


def test_remote_a_line_deleted_elsewhere_is_gone_from_memory_here() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    news(chat, now=bob("#lobby"))
    out = Outputs(0)
    said = Said("Bob", "my password is hunter2", id="b:7")
    chat.remote_heard("#lobby", (said,), 1.0, out)
    chat.remote_heard("#lobby", (Redacted("Bob", "#lobby", "b:7", author="Bob"),), 2.0, out)
    connect(chat, 3)
    shown = replies(ask(chat, 3, i.ChooseName("Carol")), 3)
    assert not any(isinstance(e, History) and e.entries for e in shown)


def test_remote_a_quiet_rename_elsewhere_reaches_watchers_here() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    ask(chat, 1, i.Watch(i.WatchAct.ADD, ("Robert",)))
    news(chat, now=bob())  # in no room: a rename there is told by its profile only
    out = Outputs(0)
    assert chat.remote_news(BOB, (), bob(name="Robert"), Reason.QUIT, out)
    assert Reply(1, (Presence(online=(("Robert", "bob"),)),)) in list(out.done())


def test_remote_a_private_message_to_someone_elsewhere_is_kept_by_their_account() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True)
    named(chat, 1, "Alice")
    news(chat, now=attrs.evolve(bob("#lobby"), account="bob", account_id="B1"))
    assert chat.logged_in["B1"] == {BOB}
    records = [o for o in ask(chat, 1, i.SendPrivate("Bob", "psst")) if isinstance(o, Record)]
    assert [entry.target_account for r in records for entry in r.entries] == ["B1"]
    news(chat, now=None)
    assert "B1" not in chat.logged_in


def test_remote_a_mirror_left_without_its_name_counts_as_nobody() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    away = attrs.evolve(bob("#lobby", away="lunch"), modes=("invisible",))
    news(chat, now=away)
    assert (chat.away, chat.invisible) == (1, 1)
    out = Outputs(0)  # it took a name held here (rule 3): nameless, it counts as nobody
    assert not chat.remote_news(BOB, (), attrs.evolve(away, name="alice"), Reason.QUIT, out)
    assert (chat.away, chat.invisible) == (0, 0)
    news(chat, now=None)
    assert (chat.away, chat.invisible) == (0, 0)


def test_remote_a_person_elsewhere_leaving_lets_go_of_no_lease_here() -> None:
    chat = Chat(Rules(flood_rate=0), shared_names=True)
    named_out = Outputs(0)
    assert chat.remote_news(BOB, (), bob("#lobby"), Reason.QUIT, named_out)
    out = Outputs(0)
    chat.remote_news(BOB, (), None, Reason.QUIT, out)
    assert not [o for o in out.done() if isinstance(o, ReleaseName)]  # (its node's to let go)


def join_loaded(chat: Chat, conn: int, room: str, state: RoomState | None) -> list[object]:
    """``conn`` joins ``room``, which this node does not hear: its history is loaded, and
    with it how the nodes keep the room (``state``)."""
    assert ask(chat, conn, i.Join(room))[-1] == LoadHistory(conn, room)
    out = Outputs(conn)
    chat.history_loaded(conn, room, [], "", 0.0, out, state)
    return list(out.done())


def test_remote_a_room_not_heard_here_is_run_as_the_nodes_keep_it() -> None:
    """Rule 7: Bob (elsewhere) runs #far; this node never heard him ban Eve, make it
    invite only, or op Dan: it knows from the state the nodes keep."""
    chat = Chat(Rules(flood_rate=0), stored=True)
    news(chat, now=bob("#lobby", "#far"))
    named(chat, 1, "Eve")
    named(chat, 2, "Carol")
    banned = BanChanged("#far", RoomBan(BanKind.NAME, "Eve", "Bob", 1.0), True, "Bob")
    closed = ModeChanged("#far", Mode.INVITE_ONLY, True, "Bob")
    state = RoomState(False, (banned, closed), ((BOB, frozenset({Role.OPERATOR})),))
    assert refusal(join_loaded(chat, 1, "#far", state)) is Problem.ROOM_BANNED
    assert refusal(join_loaded(chat, 2, "#far", state)) is Problem.INVITE_ONLY
    assert chat.rooms["#far"].roles[Role.OPERATOR] == {BOB}
    # Invited there (for Carol, here, until a minute from now), she may come in.
    invited = attrs.evolve(state, invited=((2, chat.clock() + 60),))
    entered = replies(join_loaded(chat, 2, "#far", invited), 2)
    assert any(isinstance(e, RoomEntered) and e.members == 2 for e in entered)


def test_remote_the_nodes_decide_who_founds_a_room() -> None:
    """Rule 7: nobody here is in #new, but someone elsewhere just joined it (the state
    says the joiner does not found it): Alice is not its operator. Bob's mirror, sitting
    in #old here after his node said he left, does not keep Carol from founding it."""
    chat = Chat(Rules(flood_rate=0), stored=True)
    named(chat, 1, "Alice")
    join_loaded(chat, 1, "#new", RoomState(False))
    assert 1 in chat.rooms["#new"].members and not chat.rooms["#new"].roles[Role.OPERATOR]
    news(chat, now=bob("#lobby", "#old"))
    named(chat, 2, "Carol")
    told = join_loaded(chat, 2, "#old", RoomState(True))
    assert chat.rooms["#old"].roles[Role.OPERATOR] == {2}
    joined = [e for o in told if isinstance(o, Broadcast) for e in o.events]
    assert any(isinstance(e, Joined) and e.name == "Carol" and e.operator for e in joined)


def test_remote_an_invitation_made_elsewhere_opens_the_room_here() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True)
    news(chat, now=bob("#lobby", "#far"))
    state = RoomState(False, (ModeChanged("#far", Mode.INVITE_ONLY, True, "Bob"),))
    named(chat, 1, "Carol")
    assert refusal(join_loaded(chat, 1, "#far", state)) is Problem.INVITE_ONLY
    chat.invited_elsewhere(1, Invitation("#far", "Bob"))
    assert any(isinstance(e, RoomEntered) for e in replies(join_loaded(chat, 1, "#far", state), 1))


def test_remote_a_room_emptied_here_while_not_heard_is_not_remembered_stale() -> None:
    """What was said in #far while only Bob (elsewhere) was in it was not heard here: once
    he leaves, a join here loads it again rather than show what this node last saw."""
    chat = Chat(Rules(flood_rate=0), stored=True)
    news(chat, now=bob("#lobby", "#far"))
    news(chat, now=bob("#lobby"))
    assert "#far" not in chat.remembered
    named(chat, 1, "Alice")
    assert ask(chat, 1, i.Join("#far"))[-1] == LoadHistory(1, "#far")


def test_remote_a_join_that_ended_while_loading_leaves_the_room_not_heard_here() -> None:
    """Mallory asks to join #far (run elsewhere, by Bob) and hangs up before the nodes
    answer: #far is still not heard here, so Eve's join reads the nodes' state again and
    Bob's ban keeps her out."""
    chat = Chat(Rules(flood_rate=0), stored=True)
    news(chat, now=bob("#lobby", "#far"))
    banned = BanChanged("#far", RoomBan(BanKind.NAME, "Eve", "Bob", 1.0), True, "Bob")
    state = RoomState(False, (banned,), ((BOB, frozenset({Role.OPERATOR})),))
    named(chat, 1, "Mallory")
    named(chat, 2, "Eve")
    assert ask(chat, 1, i.Join("#far"))[-1] == LoadHistory(1, "#far")
    chat.disconnect(1, Reason.QUIT, Outputs(1))
    chat.history_loaded(1, "#far", [], "", 0.0, Outputs(1), state)
    assert not chat.rooms["#far"].current
    assert refusal(join_loaded(chat, 2, "#far", state)) is Problem.ROOM_BANNED


def test_remote_with_several_nodes_a_fresh_load_wins_over_one_nobody_waited_for() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True)
    named(chat, 1, "Mallory")
    named(chat, 2, "Eve")
    chat.shared_names = True  # (as --redis; named first: claims are another test's matter)
    old = Entry(1.0, Kind.SAID, "#far", "Bob", "old")
    new = Entry(2.0, Kind.SAID, "#far", "Bob", "new")
    assert ask(chat, 1, i.Join("#far"))[-1] == LoadHistory(1, "#far")
    chat.disconnect(1, Reason.QUIT, Outputs(1))
    chat.history_loaded(1, "#far", [old], "", 0.0, Outputs(1), RoomState(True))
    assert ask(chat, 2, i.Join("#far"))[-1] == LoadHistory(2, "#far")
    out = Outputs(2)
    chat.history_loaded(2, "#far", [old, new], "", 1.0, out, RoomState(True))
    shown = [e for e in replies(list(out.done()), 2) if isinstance(e, History)]
    assert [entry.text for entry in shown[0].entries] == ["old", "new"]


def test_remote_a_room_whose_state_cannot_be_read_is_not_joined_unchecked() -> None:
    """Redis did not answer for #far's state: Eve is refused for now (she may be banned
    there), not let in by what this node knows (nothing)."""
    chat = Chat(Rules(flood_rate=0), stored=True)
    news(chat, now=bob("#lobby", "#far"))
    named(chat, 2, "Eve")
    chat.shared_names = True
    assert refusal(join_loaded(chat, 2, "#far", None)) is Problem.ROOM_UNAVAILABLE
    assert 2 not in chat.rooms["#far"].members
