"""The rules on intents and events alone: no bytes, no syntax, no wording, no door."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import attrs
import pytest

from chat_trio.chat import intents as i
from chat_trio.chat import registry
from chat_trio.chat.core import HANDLERS, Chat
from chat_trio.chat.events import (
    AccountChanged,
    Action,
    AskName,
    Away,
    Done,
    Entry,
    Goodbye,
    Greeting,
    History,
    Joined,
    Kind,
    Left,
    Mode,
    Person,
    Private,
    Reason,
    Refused,
    Role,
    RoomEntered,
    RoomLeft,
    RoomList,
    Said,
    StatusMessage,
    TopicChanged,
    Unheard,
    UserList,
    Welcome,
    Whois,
)
from chat_trio.chat.moderation import BAN_LONGEST
from chat_trio.chat.outputs import (
    Broadcast,
    CheckPassword,
    Close,
    HashPassword,
    Outputs,
    QueryHistory,
    Record,
    Reply,
    SaveAccount,
    SaveBan,
    Subscribe,
    Unsubscribe,
)
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.registry import Account, Registry, Verdict
from chat_trio.chat.state import ACCEPTS, TRANSITIONS, Phase, Step, advance
from chat_trio.chat.vocabulary import HISTORY_MAX, REALNAME_MAX
from chat_trio.chat.world import Rules
from chat_trio.storage import database


def connect(chat: Chat, conn: int) -> list[object]:
    out = Outputs(conn)
    chat.connect(conn, 0.0, out, f"10.0.0.{conn}")
    return list(out.done())


def ask(chat: Chat, conn: int, intent: i.Intent, now: float = 0.0) -> list[object]:
    out = Outputs(conn)
    assert chat.handle(conn, intent, now, out)
    return list(out.done())


def replies(outputs: Sequence[object], conn: int) -> list[object]:
    """The events replied to ``conn``, in order."""
    return [e for o in outputs if isinstance(o, Reply) and o.to == conn for e in o.events]


def named(chat: Chat, conn: int, name: str) -> None:
    connect(chat, conn)
    ask(chat, conn, i.ChooseName(name))


def admin_alice(now: list[float]) -> Chat:
    """A stored chat whose clock is ``now[0]``, with Alice (an admin) logged in on 1."""
    rules = Rules(admins=frozenset({"alice"}), flood_rate=0)
    chat = Chat(rules, stored=True, clock=lambda: now[0])
    chat.load_accounts([Account("Alice", "hash", admin=True, id="A")], [])
    named(chat, 1, "Alice")
    ask(chat, 1, i.LogIn("alice", "right-one"))
    chat.password_checked(1, Verdict.RIGHT, False, now[0], Outputs(1))
    return chat


def test_chat_rules_connect_greets_and_asks_for_a_name() -> None:
    chat = Chat()
    assert connect(chat, 1) == [Reply(1, (Greeting(), AskName()))]
    assert chat.phase(1) is Phase.NAMING


def test_chat_rules_choosing_a_name_welcomes_joins_the_lobby_and_tells_the_others() -> None:
    chat = Chat()
    named(chat, 1, "Alice")
    connect(chat, 2)
    outputs = ask(chat, 2, i.ChooseName("Bob"))
    assert replies(outputs, 2) == [Welcome("Bob", 2, 1), RoomEntered("#lobby", 2, "", True, True)]
    assert Broadcast((Joined("Bob"),), exclude=2, room="#lobby") in outputs
    assert Subscribe(2, "#lobby") in outputs
    assert chat.phase(2) is Phase.CHATTING


def test_chat_rules_a_door_may_put_a_new_user_in_no_room_and_it_joins_one_later() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    connect(chat, 2)
    outputs = ask(chat, 2, i.ChooseName("Bob", i.Lobby.NEVER))
    assert outputs == [Reply(2, (Welcome("Bob", 2, 1),))]  # nobody is told; no room
    assert chat.clients[2].rooms == []
    said = ask(chat, 1, i.SendPrivate("bob", "hi"))  # a private message still reaches it
    assert any(isinstance(e, Private) and e.incoming for e in replies(said, 2))
    joined = ask(chat, 2, i.Join("#lobby"))
    assert Broadcast((Joined("Bob", "#lobby"),), exclude=2, room="#lobby") in joined
    left = ask(chat, 2, i.Leave("#lobby", "bye"))
    assert replies(left, 2) == [RoomLeft("#lobby", (), reason="bye")]  # and may be in none again


def test_chat_rules_a_login_as_first_name_goes_where_its_door_says() -> None:
    now = [1000.0]
    chat = Chat(Rules(flood_rate=0), stored=True, clock=lambda: now[0])
    chat.load_accounts([Account("Alice", "hash", id="A")], [])
    connect(chat, 1)
    ask(chat, 1, i.LogIn("alice", "right-one", i.Lobby.NEVER))
    out = Outputs(1)
    chat.password_checked(1, Verdict.RIGHT, False, now[0], out)
    assert replies(list(out.done()), 1) == [
        Done(Outcome.LOGGED_IN, name="Alice"),
        Welcome("Alice", 1, 1),
    ]
    assert chat.clients[1].rooms == []


def test_chat_rules_refusals_are_typed_problems() -> None:
    chat = Chat()
    named(chat, 1, "Alice")
    connect(chat, 2)
    assert ask(chat, 2, i.ChooseName("alice")) == [
        Reply(2, (Refused(Problem.NAME_TAKEN, name="alice", naming=True), AskName()))
    ]
    assert ask(chat, 2, i.ChooseName("root")) == [
        Reply(2, (Refused(Problem.NAME_RESERVED, name="root", naming=True), AskName()))
    ]
    assert ask(chat, 1, i.Rename("x" * 33)) == [
        Reply(
            1, (Refused(Problem.NAME_TOO_LONG, name="x" * 33, length=33, limit=32, still="Alice"),)
        )
    ]
    assert ask(chat, 1, i.Leave("#nowhere")) == [
        Reply(1, (Refused(Problem.NO_SUCH_ROOM, room="#nowhere"),))
    ]
    assert ask(chat, 1, i.Join("lobby")) == [
        Reply(1, (Refused(Problem.ROOM_NO_HASH, name="lobby", room="lobby"),))
    ]
    assert ask(chat, 1, i.SendPrivate("nobody", "hi")) == [
        Reply(1, (Refused(Problem.NO_SUCH_RECIPIENT, name="nobody"),))
    ]
    assert ask(chat, 1, i.Kill("Bob")) == [Reply(1, (Refused(Problem.NOT_ADMIN, name="kill"),))]


def test_chat_rules_say_names_its_room_and_reaches_members_only() -> None:
    chat = Chat(Rules(flood_rate=0), instance="run")
    for conn, name in [(1, "Alice"), (2, "Bob"), (3, "Carol")]:
        named(chat, conn, name)
    ask(chat, 1, i.Join("#rust"))
    ask(chat, 2, i.Join("#RUST"))  # the first spelling stays
    outputs = ask(chat, 1, i.Say("#rust", "hi"))
    # the 6th message of this run: 3 joined the chat, 2 joined #rust, 1 said hi
    assert outputs[0] == Broadcast((Said("Alice", "hi", id="run:6"),), exclude=1, room="#rust")
    assert ask(chat, 3, i.Say("#rust", "hello?")) == [
        Reply(3, (Refused(Problem.CANNOT_SEND, room="#rust"),))
    ]


def test_chat_rules_leaving_unsubscribes_and_tells_the_room() -> None:
    chat = Chat()
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    outputs = ask(chat, 1, i.Leave("#lobby"))  # the rules let anyone leave every room
    assert (
        outputs
        == [
            Unsubscribe(1, "#lobby"),
            Broadcast((Left("Alice", Reason.QUIT, "#lobby"),), exclude=1, room="#lobby"),
            Reply(1, (RoomLeft("#lobby"),)),
        ][:1]
        + outputs[1:]
    )
    assert Reply(1, (RoomLeft("#lobby"),)) in outputs


def test_chat_rules_topic_is_seen_by_everyone_in_the_room_the_setter_too() -> None:
    chat = Chat(clock=lambda: 5.0, instance="run")
    named(chat, 1, "Alice")
    ask(chat, 1, i.Join("#rust"))  # its creator: its operator (roles.py)
    outputs = ask(chat, 1, i.SetTopic("#rust", "welcome"))
    assert outputs[0] == Broadcast(
        (TopicChanged("Alice", "#rust", "welcome", "run:3"),), exclude=None, room="#rust"
    )


def test_chat_rules_private_message_both_ways_and_whois() -> None:
    chat = Chat(clock=lambda: 5.0, instance="run")
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    outputs = ask(chat, 1, i.SendPrivate("bob", "psst", action=True))
    assert outputs[:2] == [  # one message, one id and one time, both ends
        Reply(2, (Private("Alice", "psst", incoming=True, action=True, id="run:3", time=5.0),)),
        Reply(1, (Private("Bob", "psst", incoming=False, action=True, id="run:3", time=5.0),)),
    ]
    (reply,) = [o for o in ask(chat, 1, i.LookUp("BOB")) if isinstance(o, Reply)]
    assert isinstance(reply.events[0], Whois) and reply.events[0].rooms == ("#lobby",)


def test_chat_rules_names_listed_in_full_when_no_limit_is_asked() -> None:
    chat = Chat()
    for conn in range(150):
        named(chat, conn, f"user{conn:03d}")
    (reply,) = ask(chat, 0, i.ListUsers("#lobby"))
    assert isinstance(reply, Reply)
    (listing,) = reply.events
    assert isinstance(listing, UserList) and listing.total == len(listing.names) == 150


def test_chat_rules_list_rooms_by_masks_and_member_counts_keeps_secret_rooms_hidden() -> None:
    chat = Chat(Rules(flood_rate=0))
    for conn, name in ((1, "Alice"), (2, "Bob"), (3, "Carol")):
        named(chat, conn, name)
    for conn, room in ((1, "#chan1"), (1, "#Chan2"), (2, "#chan2"), (1, "#hidden")):
        ask(chat, conn, i.Join(room))
    ask(chat, 1, i.SetMode("#hidden", Mode.SECRET))

    def listed(conn: int, **filters: object) -> list[str]:
        (shown,) = replies(ask(chat, conn, i.ListRooms(**filters)), conn)  # type: ignore[arg-type]
        assert isinstance(shown, RoomList) and shown.total == len(shown.rooms)
        return [name for name, _ in shown.rooms]

    assert listed(3, masks=("*AN1",)) == ["#chan1"]  # case does not count
    assert listed(3, masks=("#c*",), not_masks=("*2",)) == ["#chan1"]
    assert listed(3, masks=("#h*", "*1")) == ["#chan1"]  # secret: only its members see it
    assert listed(1, masks=("#h*", "*1")) == ["#chan1", "#hidden"]
    assert listed(3, rooms=("#lobby",), masks=("*1",)) == ["#lobby", "#chan1"]
    assert listed(3, more_than=1) == ["#lobby", "#Chan2"]
    assert listed(3, fewer_than=3, more_than=1) == ["#Chan2"]


def test_chat_rules_a_line_to_a_rooms_operators_reaches_them_only_and_is_not_stored() -> None:
    chat = Chat(Rules(flood_rate=0))
    for conn, name in ((1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Dave")):
        named(chat, conn, name)
        ask(chat, conn, i.Join("#rust"))  # Alice made it: its operator
    ask(chat, 1, i.SetRole("#rust", "Bob", Role.VOICE))
    said = ask(chat, 3, i.Say("#rust", "ops?", to=Role.OPERATOR))
    replied = [(o.to, o.events) for o in said if isinstance(o, Reply)]
    ops_copy = replied[0][1][0]
    assert isinstance(ops_copy, StatusMessage) and ops_copy.id  # an id, as any message has
    to_ops = StatusMessage("#rust", Role.OPERATOR, "Carol", "ops?", id=ops_copy.id)
    assert replied == [(1, (to_ops,)), (3, (attrs.evolve(to_ops, own=True),))]
    assert not [o for o in said if isinstance(o, Broadcast | Record)]  # and not stored,
    assert not chat.rooms["#rust"].memory.recent  # nor kept for those who join next
    voiced = ask(chat, 4, i.Say("#rust", "all hands", action=True, to=Role.VOICE))
    assert sorted(o.to for o in voiced if isinstance(o, Reply)) == [1, 2, 4]
    ask(chat, 1, i.SetMode("#rust", Mode.MODERATED))  # Dave may not talk: nor to the ops
    refused = ask(chat, 4, i.Say("#rust", "let me in", to=Role.OPERATOR))
    assert refused == [Reply(4, (Refused(Problem.MODERATED, room="#rust"),))]


def test_chat_rules_quit_and_hangup_close_with_their_reasons() -> None:
    chat = Chat()
    named(chat, 1, "Alice")
    assert ask(chat, 1, i.Quit())[-1] == Close(1, Reason.QUIT)
    connect(chat, 2)
    assert ask(chat, 2, i.Hangup()) == [Close(2, Reason.CLOSED)]
    assert chat.phase(1) is chat.phase(2) is Phase.CLOSING
    assert ask(chat, 1, i.Say("#lobby", "late")) == []  # CLOSING ignores everything


def test_chat_rules_flood_control_holds_intents_and_tells_once() -> None:
    chat = Chat(Rules(flood_burst=2, flood_rate=1.0))
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")  # Alice is not alone
    out = Outputs(1)
    assert chat.handle(1, i.Say("#lobby", "a"), 0.0, out)
    assert chat.handle(1, i.Say("#lobby", "b"), 0.0, out)
    assert not chat.handle(1, i.Say("#lobby", "c"), 0.0, out)  # held: the caller keeps it
    assert chat.deadline(1) == 1.0
    chat.waiting(1, 1, out)
    chat.waiting(1, 2, out)
    assert replies(out.done(), 1) == [Refused(Problem.SLOW_DOWN, limit=2, rate=1.0)]
    assert chat.handle(1, i.Say("#lobby", "c"), 1.0, out)
    assert chat.deadline(1) == math.inf


def test_chat_rules_a_naming_connection_may_not_chat() -> None:
    chat = Chat()
    connect(chat, 1)
    assert ask(chat, 1, i.Join("#rust")) == [Reply(1, (Refused(Problem.NEEDS_NAME), AskName()))]


def test_chat_rules_login_waits_in_its_own_phase() -> None:
    chat = Chat(stored=True)
    connect(chat, 1)
    outputs = ask(chat, 1, i.LogIn("alice", "secret-word"))
    assert outputs == [
        Reply(1, (Refused(Problem.NO_ACCOUNT, name="alice", naming=True), AskName()))
    ]
    assert chat.phase(1) is Phase.NAMING


def test_chat_rules_password_checks_made_at_once_count_before_their_answers() -> None:
    """Issue 16, hole 5: 40 parallel guesses were all checked, because the throttle was
    read before a check and written after it."""
    chat = Chat(stored=True)
    chat.load_accounts([Account("Alice", "hash", id="A")], [])
    checks = []
    for conn in range(1, 41):  # forty connections from one address, all at once
        out = Outputs(conn)
        chat.connect(conn, 0.0, out, "10.6.6.6")
        assert chat.handle(conn, i.LogIn("alice", f"guess-{conn}"), 0.0, out)
        checks += [o for o in out.done() if isinstance(o, CheckPassword)]
    assert len(checks) == 3  # the others were told to wait, before any answer came
    for check in checks:
        out = Outputs(check.conn)
        chat.password_checked(check.conn, Verdict.WRONG, False, 0.0, out)
    out = Outputs(41)
    chat.connect(41, 0.0, out, "10.0.0.41")  # another address may still try
    chat.handle(41, i.LogIn("alice", "right-one"), 0.0, out)
    assert any(isinstance(o, CheckPassword) for o in out.done())


def test_chat_rules_a_storage_outage_is_not_a_wrong_password() -> None:
    """Issue 16, hole 5: a storage error was answered "Wrong password" and counted."""
    chat = Chat(stored=True)
    chat.load_accounts([Account("Alice", "hash", id="A")], [])
    for attempt in range(6):
        connect(chat, 1 + attempt)
        assert any(
            isinstance(o, CheckPassword)
            for o in ask(chat, 1 + attempt, i.LogIn("alice", "right-one"))
        )
        out = Outputs(1 + attempt)
        chat.password_checked(1 + attempt, Verdict.UNAVAILABLE, False, 0.0, out)
        assert replies(out.done(), 1 + attempt) == [
            Refused(Problem.ACCOUNTS_UNAVAILABLE, naming=True),
            AskName(),
        ]
        assert chat.phase(1 + attempt) is Phase.NAMING
        assert chat.clients[1 + attempt].attempts == 0


def test_chat_rules_kill_is_confirmed_and_closes_the_target() -> None:
    chat = Chat(Rules(admins=frozenset({"alice"})), stored=True)
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    from chat_trio.chat.registry import Account

    chat.load_accounts([Account("Alice", "hash", admin=True)], [])
    chat.clients[1].account = "alice"
    outputs = ask(chat, 1, i.Kill("bob", "spam"))
    assert outputs == [
        Reply(1, (Done(Outcome.KICKED, name="Bob", text="spam"),)),
        Reply(2, (Done(Outcome.KICKED_YOU, name="Alice", text="spam"),)),
        Close(2, Reason.KICKED),
    ]


def test_chat_rules_someone_alone_in_a_room_is_told_once_until_it_changes() -> None:
    chat = Chat()
    named(chat, 1, "Alice")
    assert replies(ask(chat, 1, i.Say("#lobby", "hi")), 1) == [Unheard("#lobby")]
    assert replies(ask(chat, 1, i.Say("#lobby", "hi")), 1) == []
    named(chat, 2, "Bob")
    assert replies(ask(chat, 1, i.Say("#lobby", "hi")), 1) == []
    ask(chat, 2, i.Quit())
    chat.disconnect(2, Reason.QUIT, Outputs(2))
    assert replies(ask(chat, 1, i.Say("#lobby", "hi")), 1) == [Unheard("#lobby")]


def test_chat_rules_room_limit_holds_for_joins_that_wait_for_history_together() -> None:
    from chat_trio.chat.outputs import LoadHistory

    chat = Chat(Rules(max_rooms=2), stored=True)  # the lobby and one more
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    assert LoadHistory(1, "#a") in ask(chat, 1, i.Join("#a"))
    assert LoadHistory(2, "#b") in ask(chat, 2, i.Join("#b"))  # both passed the first check
    first, second = Outputs(1), Outputs(2)
    chat.history_loaded(1, "#a", [], "", 0.0, first)
    chat.history_loaded(2, "#b", [], "", 0.0, second)
    assert any(isinstance(e, RoomEntered) for e in replies(first.done(), 1))
    assert replies(second.done(), 2) == [Refused(Problem.TOO_MANY_ROOMS)]
    assert len(chat.rooms) == 2
    assert chat.phase(2) is Phase.CHATTING


def test_chat_rules_passwords_never_show_in_a_repr() -> None:
    from chat_trio.chat.outputs import CheckPassword, HashPassword
    from chat_trio.chat.registry import Account

    secret = "hunter2-hunter2"
    chat = Chat(stored=True)
    named(chat, 1, "Alice")
    chat.load_accounts([Account("Alice", "hash")], [])
    chat.clients[1].account = "alice"
    outputs = ask(chat, 1, i.ChangePassword("old-password", secret))  # waits: pending holds it
    holders: list[object] = [
        i.LogIn("alice", secret),
        i.Register(secret),
        i.ChangePassword(secret, secret),
        i.Unregister(secret),
        CheckPassword(1, "alice", secret),
        HashPassword(1, secret),
        chat.clients[1],
        chat.clients[1].pending,
        outputs,
        [i.LogIn("alice", secret).password],  # as a log line's %r of the field would show it
        {"password": HashPassword(1, secret).password},
    ]
    for holder in holders:
        assert secret not in repr(holder), holder
    assert "old-password" not in repr(outputs)
    assert repr(i.Secret(secret)) == "Secret('********')"
    assert str(i.LogIn("alice", secret).password) == secret  # hashing still gets the text


# -- the phase table -----------------------------------------------------------------------


def test_chat_rules_every_intent_has_a_handler_or_is_handled_by_the_core() -> None:
    accepted = {t for phase in Phase for t in ACCEPTS[phase]}
    assert accepted - set(HANDLERS) == {i.Quit, i.Hangup}


def test_chat_rules_phase_table_allows_only_its_transitions() -> None:
    assert advance(Phase.NAMING, Step.NAMED) is Phase.CHATTING
    assert advance(Phase.LOGGING_IN, Step.REFUSED) is Phase.NAMING
    assert advance(Phase.BUSY, Step.RESUME) is Phase.CHATTING
    assert advance(Phase.NAMING, Step.CLAIM) is Phase.CLAIMING
    assert advance(Phase.CLAIMING, Step.REFUSED) is Phase.NAMING
    for phase in Phase:
        if phase not in (Phase.CLOSING, Phase.REMOTE):
            assert advance(phase, Step.END) is Phase.CLOSING
    with pytest.raises(ValueError, match="no transition from REMOTE on END"):
        advance(Phase.REMOTE, Step.END)  # (a person on another node: its node ends it)
    with pytest.raises(ValueError, match="no transition from CLOSING on NAMED"):
        advance(Phase.CLOSING, Step.NAMED)
    assert len(TRANSITIONS) == 15


@pytest.mark.parametrize(
    ("phase", "intent", "taken"),
    [
        (Phase.NAMING, i.ChooseName("a"), True),
        (Phase.NAMING, i.Say("#lobby", "x"), False),
        (Phase.NAMING, i.ListUsers(), True),
        (Phase.CHATTING, i.ChooseName("a"), False),
        (Phase.CHATTING, i.Rename("a"), True),
        (Phase.BUSY, i.Say("#lobby", "x"), False),
        (Phase.LOGGING_IN, i.Quit(), False),
        (Phase.CLAIMING, i.Quit(), False),
        (Phase.CLOSING, i.Quit(), False),
    ],
)
def test_chat_rules_each_phase_accepts_its_intents(
    phase: Phase, intent: i.Intent, taken: bool
) -> None:
    assert isinstance(intent, ACCEPTS[phase]) is taken


def test_chat_rules_registering_hashes_then_saves_and_tells_the_rooms() -> None:
    chat = Chat(stored=True)
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    assert ask(chat, 2, i.Register("s3cret-word")) == [HashPassword(2, "s3cret-word")]
    assert chat.phase(2) is Phase.BUSY  # nothing else of Bob's is carried out meanwhile
    out = Outputs(2)
    chat.password_hashed(2, "HASH", 0.0, out)
    saved, told, broadcast = out.done()
    assert isinstance(saved, SaveAccount) and saved.key == "bob"
    assert saved.account is not None and (saved.account.name, saved.account.hash) == ("Bob", "HASH")
    assert told == Reply(2, (Done(Outcome.REGISTERED, name="Bob"),))
    assert broadcast == Broadcast((AccountChanged("Bob", "Bob"),), exclude=2, room="#lobby")
    assert chat.phase(2) is Phase.CHATTING
    assert replies(ask(chat, 2, i.Register("again-word")), 2) == [
        Refused(Problem.ALREADY_REGISTERED, name="Bob")
    ]
    ask(chat, 2, i.Quit())
    chat.disconnect(2, Reason.QUIT, Outputs(2))
    connect(chat, 3)  # the name is now the account's: a guest may not take it
    refused = replies(ask(chat, 3, i.ChooseName("BOB")), 3)[0]
    assert isinstance(refused, Refused) and refused.problem is Problem.NAME_REGISTERED


def test_chat_rules_registering_refuses_short_passwords_and_works_without_storage_never() -> None:
    chat = Chat(stored=True)
    named(chat, 1, "Alice")
    refused = replies(ask(chat, 1, i.Register("short")), 1)
    assert [r.problem for r in refused if isinstance(r, Refused)] == [Problem.BAD_PASSWORD]
    unstored = Chat()
    named(unstored, 1, "Alice")
    assert replies(ask(unstored, 1, i.Register("s3cret-word")), 1) == [Refused(Problem.NO_ACCOUNTS)]


def test_chat_rules_a_ban_on_a_guest_holds_its_address_until_it_ends_or_is_lifted() -> None:
    now = [1000.0]
    chat = admin_alice(now)
    named(chat, 3, "Carol")  # from 10.0.0.3
    outputs = ask(chat, 1, i.Ban("Carol", 60, "spam"))
    ban = registry.Ban("address", "10.0.0.3", 1060.0, "spam", "Alice", "Carol")
    assert outputs == [
        SaveBan("address", "10.0.0.3", ban),
        Reply(1, (Done(Outcome.BANNED, name="Carol", text="spam", kind="address", key="10.0.0.3",
                       until=1060.0),)),
        Reply(3, (Done(Outcome.BANNED_YOU, name="Alice", text="spam"),)),
        Close(3, Reason.BANNED),
    ]  # fmt: skip
    chat.disconnect(3, Reason.BANNED, Outputs(3))
    out = Outputs(4)
    chat.connect(4, now[0], out, "10.0.0.3")
    assert out.done() == [
        Reply(4, (Refused(Problem.ADDRESS_BANNED, until=1060.0),)),
        Close(4, Reason.BANNED),
    ]
    chat.disconnect(4, Reason.BANNED, Outputs(4))
    assert ask(chat, 1, i.Unban("Carol")) == [
        SaveBan("address", "10.0.0.3", None),  # /unban Carol finds the ban by her name
        Reply(1, (Done(Outcome.UNBANNED, name="Carol's address (10.0.0.3)"),)),
    ]
    out = Outputs(5)
    chat.connect(5, now[0], out, "10.0.0.3")  # lifted
    assert out.done() == [Reply(5, (Greeting(), AskName()))]
    ask(chat, 1, i.Ban("10.0.0.6", 60))
    now[0] = 1061.0  # it has ended
    out = Outputs(6)
    chat.connect(6, now[0], out, "10.0.0.6")
    assert out.done() == [Reply(6, (Greeting(), AskName()))]
    assert replies(ask(chat, 1, i.Unban("10.0.0.3")), 1) == [
        Refused(Problem.NO_BAN, name="10.0.0.3")
    ]


def test_chat_rules_bans_are_for_admins_and_need_a_target_and_a_length() -> None:
    now = [1000.0]
    chat = admin_alice(now)
    named(chat, 2, "Bob")
    assert replies(ask(chat, 2, i.Ban("Alice", 60)), 2) == [Refused(Problem.NOT_ADMIN, name="ban")]
    assert replies(ask(chat, 1, i.Ban("nobody", 60)), 1) == [
        Refused(Problem.NO_SUCH_TARGET, name="nobody")
    ]
    for seconds in (0, -5, math.nan):
        assert replies(ask(chat, 1, i.Ban("Bob", seconds)), 1) == [
            Refused(Problem.BAN_LENGTH, limit=BAN_LONGEST)
        ]
    banned = ask(chat, 1, i.Ban("Bob", 1e300))  # longer than any date: forever
    assert isinstance(banned[0], SaveBan) and banned[0].ban is not None
    assert banned[0].ban.until == math.inf
    assert Close(2, Reason.BANNED) in banned


def test_chat_rules_away_is_told_to_the_rooms_to_whoever_writes_and_in_whois() -> None:
    chat = Chat(clock=lambda: 5.0, instance="run")
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    away = Away("Alice", "lunch")
    assert ask(chat, 1, i.SetAway("lunch")) == [
        Reply(1, (away,)),
        Broadcast((away,), exclude=1, room="#lobby"),
    ]
    sent = replies(ask(chat, 2, i.SendPrivate("alice", "hi")), 2)
    assert sent == [Private("Alice", "hi", incoming=False, away="lunch", id="run:3", time=5.0)]
    (whois,) = replies(ask(chat, 2, i.LookUp("Alice")), 2)
    assert isinstance(whois, Whois) and whois.away == "lunch"
    back = Away("Alice", "")
    assert ask(chat, 1, i.SetAway("")) == [Reply(1, (back,)), Broadcast((back,), 1, "#lobby")]
    assert replies(ask(chat, 2, i.SendPrivate("alice", "hi")), 2) == [
        Private("Alice", "hi", incoming=False, id="run:4", time=5.0)
    ]


def test_chat_rules_history_is_read_by_members_and_by_identity() -> None:
    chat = Chat(stored=True)
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    assert replies(ask(chat, 2, i.ReadHistory(room="#secret")), 2) == [
        Refused(Problem.NOT_IN_ROOM, room="#secret")
    ]
    assert ask(chat, 2, i.ReadHistory(room="#lobby", limit=5)) == [
        QueryHistory(2, 5, room="#lobby")
    ]
    (query,) = ask(chat, 2, i.ReadHistory(peer="alice"))
    assert isinstance(query, QueryHistory)
    assert (query.session, query.peer_key, query.peer_session) == (
        chat.session(2),
        "alice",
        chat.session(1),
    )
    assert query.session != query.peer_session and query.account == ""
    ask(chat, 1, i.Quit())
    chat.disconnect(1, Reason.QUIT, Outputs(1))
    named(chat, 3, "Carol")
    ask(chat, 3, i.Rename("Alice"))  # someone else takes the name: not the same person
    (later,) = ask(chat, 2, i.ReadHistory(peer="alice"))
    assert isinstance(later, QueryHistory) and later.peer_session == chat.session(3)
    assert later.peer_session != query.peer_session
    entry = Entry(5.0, Kind.PRIVATE, "", "Bob", "hi", "Alice", chat.session(2), query.peer_session)
    out = Outputs(2)
    chat.history_read(2, later, [entry], out)
    (answer,) = replies(out.done(), 2)
    assert isinstance(answer, History) and answer.entries == (entry,)
    out = Outputs(2)
    chat.history_read(2, later, None, out)  # storage could not answer
    assert replies(out.done(), 2) == [Refused(Problem.HISTORY_UNAVAILABLE)]
    for limit in (0, 501):
        assert replies(ask(chat, 2, i.ReadHistory(limit=limit)), 2) == [
            Refused(Problem.HISTORY_RANGE, limit=HISTORY_MAX)
        ]


def test_chat_rules_member_lists_come_in_name_order_page_by_page_through_every_change() -> None:
    chat = Chat(Rules(flood_rate=0))
    for conn, name in enumerate(["delta", "Alpha", "charlie", "Bravo", "echo", "Foxtrot"], 1):
        named(chat, conn, name)
        ask(chat, conn, i.Join("#a"))
    ask(chat, 4, i.Rename("zulu"))  # Bravo moves to the end
    ask(chat, 3, i.Leave("#a"))
    ask(chat, 5, i.Quit())
    chat.disconnect(5, Reason.QUIT, Outputs(5))
    ask(chat, 1, i.Rename("Delta"))  # a change of case keeps its place

    def pages(room: str | None) -> list[tuple[tuple[str, ...], bool]]:
        found, after = [], ""
        for _ in range(10):
            (page,) = replies(ask(chat, 2, i.ListUsers(room, limit=2, after=after)), 2)
            assert isinstance(page, UserList)
            found.append((page.names, page.more))
            if not page.more:
                return found
            after = page.names[-1]
        raise AssertionError("no end")

    assert pages("#a") == [(("Alpha", "Delta"), True), (("Foxtrot", "zulu"), False)]
    assert pages(None) == [
        (("Alpha", "charlie"), True), (("Delta", "Foxtrot"), True), (("zulu",), False)
    ]  # fmt: skip


def test_chat_rules_names_that_look_like_a_service_or_a_reserved_name_are_refused() -> None:
    """Review of issue 16: reserved names were compared by key, so "NlckServ" (an l for
    the i) could take NickServ's place in an IRC client's window, and "adm1n" admin's."""
    chat = Chat()
    for conn, name in enumerate(["NlckServ", "ChanServ", "adm1n", "R00T"], 1):
        connect(chat, conn)
        (refused, _) = replies(ask(chat, conn, i.ChooseName(name)), conn)
        assert isinstance(refused, Refused) and refused.problem is Problem.NAME_RESERVED, name
    connect(chat, 9)
    assert isinstance(replies(ask(chat, 9, i.ChooseName("Nick")), 9)[0], Welcome)


def test_chat_rules_a_deleted_account_leaves_its_known_addresses_to_nobody() -> None:
    """Review of issue 16: the addresses an account's owner was known at were kept by
    name, so whoever registered the name next was let guess from them unthrottled."""
    registry = Registry()
    registry.put("alice", Account("Alice", "hash", id="A"))
    registry.known_from("alice", "10.0.0.1")  # the owner logged in from here
    for n in range(20):  # a guesser elsewhere uses up the account's free failures
        registry.check_begins("alice", f"10.9.0.{n}", 0.0)
    assert registry.check_wait("alice", "10.0.0.1", 0.0) == 0  # the owner is not held
    registry.remove("alice")
    registry.put("alice", Account("Alice", "hash", id="B"))  # someone else's, now
    for n in range(20):
        registry.check_begins("alice", f"10.9.0.{n}", 0.0)
    assert registry.check_wait("alice", "10.0.0.1", 0.0) > 0  # not the new owner's place


def test_chat_rules_a_name_someone_holds_never_uses_up_an_attempt() -> None:
    chat = Chat(Rules(name_attempts=2, flood_rate=0))
    named(chat, 1, "Alice")
    connect(chat, 2)
    for _ in range(5):  # taken, and looking like a name online: said, asked again
        for tried in ("alice", "AIice"):
            (refused, again) = replies(ask(chat, 2, i.ChooseName(tried)), 2)
            assert isinstance(refused, Refused) and not refused.final and again == AskName()
    assert chat.phase(2) is Phase.NAMING
    ask(chat, 2, i.ChooseName("9lives"))  # an invalid name counts
    (last, goodbye) = replies(ask(chat, 2, i.ChooseName("no spaces")), 2)
    assert isinstance(last, Refused) and last.final and goodbye == Goodbye(Reason.BAD_NAME)


def test_chat_rules_the_page_learns_who_is_an_admin_and_who_is_away() -> None:
    chat = admin_alice([0.0])
    named(chat, 2, "Bob")
    ask(chat, 2, i.SetAway("lunch"))
    (members,) = replies(ask(chat, 1, i.ListUsers("#lobby")), 1)
    assert isinstance(members, UserList)
    assert (members.admins, members.away) == (frozenset({"Alice"}), frozenset({"Bob"}))
    ask(chat, 2, i.Join("#rust"))
    chat.history_loaded(2, "#rust", [], "", 0.0, Outputs(2))  # a stored chat loads it first
    told = [o for o in ask(chat, 1, i.Join("#rust")) if isinstance(o, Broadcast)]
    assert told[0].events == (Joined("Alice", "#rust", "Alice", admin=True),)


def test_chat_rules_a_password_answer_for_a_connection_taken_over_meanwhile_is_dropped() -> None:
    """A connection busy with /password or /unregister when its name is taken over (or
    it is kicked) ends quietly when the answer comes (it raised: no RESUME from CLOSING)."""
    for intent in (i.ChangePassword("old-pw", "new-password-1"), i.Unregister("old-pw")):
        chat = Chat(Rules(flood_rate=0), stored=True)
        chat.load_accounts([Account("Alice", "hash", id="A")], [])
        named(chat, 1, "Alice")
        ask(chat, 1, i.LogIn("alice", "pw"))
        chat.password_checked(1, Verdict.RIGHT, False, 0.0, Outputs(1))
        ask(chat, 1, intent)  # busy: its check is on its way
        connect(chat, 2)
        ask(chat, 2, i.LogIn("alice", "pw"))
        chat.password_checked(2, Verdict.RIGHT, False, 0.0, Outputs(2))  # takes Alice over
        assert chat.phase(1) is Phase.CLOSING and chat.name_of(2) == "Alice"
        late = Outputs(1)
        chat.password_checked(1, Verdict.RIGHT, False, 0.0, late)
        assert list(late.done()) == []
        assert "alice" in chat.registry.accounts  # not unregistered by the one thrown out


def test_chat_rules_a_login_to_a_name_now_reserved_takes_nothing_over() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True)
    chat.load_accounts([Account("Opal", "hash", id="O")], [])
    named(chat, 1, "Opal")
    ask(chat, 1, i.LogIn("opal", "pw"))
    chat.password_checked(1, Verdict.RIGHT, False, 0.0, Outputs(1))
    chat.reload(Rules(reserved_names=frozenset({"opal"})))  # the operator's SIGHUP
    connect(chat, 2)
    ask(chat, 2, i.LogIn("opal", "pw"))
    out = Outputs(2)
    chat.password_checked(2, Verdict.RIGHT, False, 0.0, out)
    assert chat.phase(1) is Phase.CHATTING and chat.name_of(1) == "Opal"  # still hers
    assert Refused(Problem.NAME_RESERVED, name="Opal") in [
        e for o in out.done() if isinstance(o, Reply) for e in o.events
    ]


def test_chat_rules_who_is_away_is_counted_so_lists_look_only_when_someone_is() -> None:
    chat = Chat(Rules(flood_rate=0))
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    ask(chat, 1, i.SetAway("lunch"))
    ask(chat, 1, i.SetAway("still lunch"))  # a new reason: still one away
    assert chat.away == 1
    listed = [e for r in ask(chat, 2, i.ListUsers("#lobby")) for e in r.events]  # type: ignore[attr-defined]
    assert listed[0].away == frozenset({"Alice"})
    ask(chat, 1, i.SetAway(""))
    named(chat, 3, "Carol")
    ask(chat, 3, i.SetAway("gone"))
    chat.disconnect(3, Reason.QUIT, Outputs(3))  # leaving while away
    assert chat.away == 0
    listed = [e for r in ask(chat, 2, i.ListUsers("#lobby")) for e in r.events]  # type: ignore[attr-defined]
    assert listed[0].away == frozenset()


def test_chat_rules_news_of_a_person_leaves_out_whom_an_earlier_room_told() -> None:
    chat = Chat(Rules(flood_rate=0))
    for conn, name in [(1, "Alice"), (2, "Bob"), (3, "Carol")]:
        named(chat, conn, name)
    ask(chat, 1, i.Join("#x"))
    ask(chat, 2, i.Join("#x"))
    ask(chat, 3, i.Join("#x"))
    outputs = ask(chat, 1, i.Rename("Alicia"))
    broadcasts = [o for o in outputs if isinstance(o, Broadcast)]
    assert [b.room for b in broadcasts] == ["#lobby"]  # nobody in #x not told in #lobby
    ask(chat, 3, i.Leave("#lobby"))  # Carol is in #x only now
    outputs = ask(chat, 1, i.Rename("Alice"))
    broadcasts = [o for o in outputs if isinstance(o, Broadcast)]
    assert [(b.room, b.exclude, b.told) for b in broadcasts] == [
        ("#lobby", 1, frozenset()),
        ("#x", 1, frozenset({2})),  # Bob was told in #lobby: once per person
    ]


def message_ids(outputs: Sequence[object]) -> list[str]:
    """The ids of the messages broadcast in ``outputs``, in order."""
    return [
        e.id
        for o in outputs
        if isinstance(o, Broadcast)
        for e in o.events
        if isinstance(e, Said | Action | TopicChanged)
    ]


def test_chat_rules_every_message_has_an_id_unique_and_increasing_in_its_room() -> None:
    chat = Chat(Rules(flood_rate=0), clock=lambda: 5.0, instance="run")
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    out = Outputs(1)
    for intent in (
        i.Say("#lobby", "hi"),
        i.Say("#lobby", "waves", action=True),
        i.SendPrivate("bob", "psst"),
        i.Say("#lobby", "bye"),
    ):
        assert chat.handle(1, intent, 0.0, out)
    # The sender's door is told the entries its lines became (for echoes with their ids),
    # and nothing is sent for it.
    posted = [(e.room, e.id, e.time) for e in out.take_posted()]
    assert posted == [("#lobby", "run:3", 5.0), ("#lobby", "run:4", 5.0), ("#lobby", "run:6", 5.0)]
    assert out.take_posted() == []
    outputs = out.done()
    seen = message_ids(outputs)
    assert seen == ["run:3", "run:4", "run:6"]
    assert replies(outputs, 2)[0] == Private("Alice", "psst", incoming=True, id="run:5", time=5.0)
    (record,) = [o for o in outputs if isinstance(o, Record)]
    stored = [e.id for e in record.entries]
    assert stored == ["run:3", "run:4", "run:5", "run:6"]  # the ids shown are kept
    lobby = [int(e.id.split(":")[1]) for e in record.entries if e.room == "#lobby"]
    assert lobby == sorted(set(lobby))  # increasing in the room, never repeated


def test_chat_rules_a_said_line_that_is_refused_has_no_id() -> None:
    chat = Chat(instance="run")
    named(chat, 1, "Alice")
    out = Outputs(1)
    chat.handle(1, i.Say("#rust", "hi"), 0.0, out)
    assert out.take_posted() == []
    assert not [o for o in out.done() if isinstance(o, Record)]


def test_chat_rules_message_ids_stay_unique_across_a_restart_via_the_database(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "chat.db")
    shown: list[str] = []
    for start in (1_764_590_000.0, 1_764_590_060.0):  # a run, then the next, on one file
        chat = Chat(Rules(flood_rate=0), clock=partial(float, start), stored=True)
        named(chat, 1, "Alice")
        named(chat, 2, "Bob")
        db = database.connect(path)
        for n in range(3):
            outputs = ask(chat, 1, i.Say("#lobby", f"line {n}"))
            shown += message_ids(outputs)
            for record in (o for o in outputs if isinstance(o, Record)):
                database.insert(db, record.entries)
        db.close()
    db = database.connect(path)
    kept = database.room_history(db, "#lobby", 50, {Kind.SAID})
    assert [e.id for e in kept] == shown and len(set(shown)) == 6
    db.close()


def test_chat_rules_history_asked_by_message_id_is_a_query_with_it() -> None:
    chat = Chat(stored=True)
    named(chat, 1, "Alice")
    asked = i.ReadHistory(5, room="#lobby", before_id="a:1", after_id="b:2", around_id="c:3")
    (query,) = ask(chat, 1, asked)
    assert query == QueryHistory(
        1, 5, room="#lobby", before_id="a:1", after_id="b:2", around_id="c:3"
    )


def test_chat_rules_a_room_notice_has_an_id_is_stored_as_a_notice_and_unanswered() -> None:
    chat = Chat(instance="run")
    named(chat, 1, "Alice")
    # Alone in #lobby: a notice is not answered with "nobody else is here".
    assert replies(ask(chat, 1, i.Say("#lobby", "alone", notice=True)), 1) == []
    named(chat, 2, "Bob")
    outputs = ask(chat, 1, i.Say("#lobby", "deploying", notice=True))
    (sent,) = [o for o in outputs if isinstance(o, Broadcast)]
    assert sent.events == (Said("Alice", "deploying", "", "run:4", notice=True),)
    (entry,) = [e for o in outputs if isinstance(o, Record) for e in o.entries]
    assert (entry.kind, entry.text, entry.id) == (Kind.NOTICE, "deploying", "run:4")
    assert Kind.NOTICE.value == "notice"  # what the history column holds


def test_chat_rules_a_private_notice_to_someone_away_gets_no_away_answer() -> None:
    chat = Chat(clock=lambda: 5.0, instance="run")
    named(chat, 1, "Alice")
    named(chat, 2, "Bob")
    ask(chat, 1, i.SetAway("lunch"))
    outputs = ask(chat, 2, i.SendPrivate("alice", "build done", notice=True))
    sent = Private("Bob", "build done", True, id="run:3", notice=True, time=5.0)
    assert replies(outputs, 1) == [sent]
    assert replies(outputs, 2) == [attrs.evolve(sent, peer="Alice", incoming=False)]
    # A person who typed it is still told that nobody has that name (doors decide).
    assert replies(ask(chat, 2, i.SendPrivate("carol", "hi", notice=True)), 2) == [
        Refused(Problem.NO_SUCH_RECIPIENT, name="carol")
    ]


def test_chat_rules_a_first_name_keeps_the_username_and_real_name_it_came_with() -> None:
    chat = Chat()
    connect(chat, 1)
    ask(chat, 1, i.ChooseName("Eve", user="e!v@e*x", realname="Eve\nOnline " + "x" * 200))
    named(chat, 2, "Bob")  # the text door's user: its name stands for both
    ask(chat, 1, i.LogIn("Eve", "whatever", user="other", realname="Other"))  # not a first name
    (eve,) = replies(ask(chat, 2, i.LookUp("eve")), 2)
    assert isinstance(eve, Whois)
    assert (eve.user, eve.realname) == ("evex", ("Eve Online " + "x" * 200)[:REALNAME_MAX])
    (listing,) = replies(ask(chat, 1, i.ListUsers(mask="*", detail=True)), 1)
    assert isinstance(listing, UserList)
    assert listing.people == (
        Person("Bob", "Bob", "Bob"),
        Person("Eve", "evex", ("Eve Online " + "x" * 200)[:REALNAME_MAX]),
    )
