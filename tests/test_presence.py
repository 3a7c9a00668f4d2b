"""Presence on intents and events alone: who was here (WHOWAS), who watches whom come and
go (MONITOR), real names (SETNAME); for people of every door."""

from __future__ import annotations

from chat_trio.chat import intents as i
from chat_trio.chat.core import Chat
from chat_trio.chat.events import (
    Away,
    Gone,
    PastNames,
    Presence,
    RealnameChanged,
    Reason,
    Refused,
    Watched,
    WatchList,
    Whois,
)
from chat_trio.chat.outputs import Broadcast, Outputs, Reply
from chat_trio.chat.presence import (
    PAST_MAX,
    PAST_PER_NAME,
    WATCH_MAX,
    Past,
    PastStatistics,
    WatchStatistics,
)
from chat_trio.chat.problems import Problem
from chat_trio.chat.world import Rules
from tests.test_chat_rules import ask, connect, replies


def irc(chat: Chat, conn: int, name: str, user: str = "", realname: str = "") -> None:
    """``conn`` is named ``name`` in no room (as an IRC client without auto-join)."""
    connect(chat, conn)
    ask(chat, conn, i.ChooseName(name, i.Lobby.NEVER, user, realname))


def text(chat: Chat, conn: int, name: str) -> list[object]:
    """``conn`` is named ``name`` as the text door's and the page's users are (#lobby)."""
    connect(chat, conn)
    return ask(chat, conn, i.ChooseName(name))


def hang_up(chat: Chat, conn: int) -> list[object]:
    out = Outputs(conn)
    chat.disconnect(conn, Reason.CLOSED, out)
    return list(out.done())


def chat_at(now: list[float]) -> Chat:
    return Chat(Rules(flood_rate=0), clock=lambda: now[0])


# -- who was here --------------------------------------------------------------------------


def test_presence_whowas_lists_who_left_or_renamed_newest_first_up_to_the_count() -> None:
    now = [100.0]
    chat = chat_at(now)
    irc(chat, 1, "Alice")
    irc(chat, 2, "Bob", "bobby", "Bob One")
    ask(chat, 2, i.Rename("Robert"))  # Bob gives up "Bob" by a rename ...
    now[0] = 200.0
    irc(chat, 3, "bob", "b2", "Bob Two")
    hang_up(chat, 3)  # ... then another "bob" by leaving
    first, second = Gone("Bob", "bobby", "Bob One", 100.0), Gone("bob", "b2", "Bob Two", 200.0)
    assert replies(ask(chat, 1, i.LookUpPast("BOB")), 1) == [PastNames("BOB", (second, first))]
    assert replies(ask(chat, 1, i.LookUpPast("bob", 1)), 1) == [PastNames("bob", (second,))]
    assert replies(ask(chat, 1, i.LookUpPast("bob", -1)), 1) == [PastNames("bob", (second, first))]
    assert replies(ask(chat, 1, i.LookUpPast("Carol")), 1) == [
        Refused(Problem.NEVER_HERE, name="Carol")
    ]
    assert replies(ask(chat, 1, i.LookUpPast("Robert")), 1) == [  # online: not gone
        Refused(Problem.NEVER_HERE, name="Robert")
    ]


def test_presence_whowas_is_a_bounded_ring_per_name_and_in_all() -> None:
    past = Past()
    for n in range(PAST_PER_NAME + 3):
        past.remember(Gone("Bob", "", "", float(n)))
    kept = past.find("bob", 0)
    assert [g.when for g in kept] == [float(n) for n in range(PAST_PER_NAME + 2, 2, -1)]
    for n in range(PAST_MAX):
        past.remember(Gone(f"user{n}", "", "", float(n)))
    assert len(past) == PAST_MAX and len(past.order) == PAST_MAX  # the oldest went first
    assert past.statistics() == PastStatistics(PAST_MAX, PAST_MAX, PAST_MAX)
    assert past.find("bob", 0) == () and "bob" not in past.by_name
    assert past.find("user0", 0) == (Gone("user0", "", "", 0.0),)


# -- watching ------------------------------------------------------------------------------


def test_presence_watchers_are_told_when_a_name_comes_and_goes_on_every_door() -> None:
    chat = Chat(Rules(flood_rate=0))
    irc(chat, 1, "Alice")
    added = ask(chat, 1, i.Watch(i.WatchAct.ADD, ("bob", "carol")))
    assert replies(added, 1) == [Presence((), ("bob", "carol"))]
    came = text(chat, 2, "Bob")  # a text-door user, as spelled
    assert Reply(1, (Presence(online=(("Bob", ""),)),)) in came
    status = ask(chat, 1, i.Watch(i.WatchAct.STATUS))
    assert replies(status, 1) == [Presence((("Bob", ""),), ("carol",))]
    went = hang_up(chat, 2)
    assert Reply(1, (Presence(offline=("Bob",)),)) in went


def test_presence_a_rename_is_offline_then_online_and_a_change_of_case_is_neither() -> None:
    chat = Chat(Rules(flood_rate=0))
    irc(chat, 1, "Alice")
    irc(chat, 2, "Dave", "dave")
    ask(chat, 1, i.Watch(i.WatchAct.ADD, ("qux",)))
    renamed = ask(chat, 2, i.Rename("qux"))
    assert replies(renamed, 1) == [Presence(online=(("qux", "dave"),))]
    assert replies(ask(chat, 2, i.Rename("QUX")), 1) == []
    away = ask(chat, 2, i.Rename("Zed"))
    assert replies(away, 1) == [Presence(offline=("QUX",))]  # as it was spelled


def test_presence_watch_lists_removes_clears_and_ends_with_the_connection() -> None:
    chat = Chat(Rules(flood_rate=0))
    irc(chat, 1, "Alice")
    irc(chat, 2, "Zoe")
    ask(chat, 1, i.Watch(i.WatchAct.ADD, ("bob", "Carol", "dave")))
    ask(chat, 1, i.Watch(i.WatchAct.REMOVE, ("carol",)))
    assert replies(ask(chat, 1, i.Watch(i.WatchAct.LIST)), 1) == [WatchList(("bob", "dave"))]
    ask(chat, 2, i.Watch(i.WatchAct.ADD, ("bob",)))
    ask(chat, 1, i.Watch(i.WatchAct.CLEAR))
    assert replies(ask(chat, 1, i.Watch(i.WatchAct.LIST)), 1) == [WatchList(())]
    assert chat.watchers.by_name == {"bob": {2}}
    assert chat.watchers.statistics() == WatchStatistics(watches=1, watchers=1, names=1)
    hang_up(chat, 2)
    assert chat.watchers.by_name == {} and chat.watchers.of == {}
    assert Reply(1, (Presence(online=(("Bob", ""),)),)) not in text(chat, 3, "Bob")


def test_presence_watching_takes_names_only_and_at_most_watch_max() -> None:
    chat = Chat(Rules(flood_rate=0))
    irc(chat, 1, "Alice")
    masked = replies(ask(chat, 1, i.Watch(i.WatchAct.ADD, ("*!user@host",))), 1)
    assert [e.problem for e in masked if isinstance(e, Refused)] == [Problem.NAME_START]
    assert len(masked) == 1 and chat.watchers.count(1) == 0  # not a name: nothing watched
    many = tuple(f"user{n}" for n in range(WATCH_MAX + 2))
    answer = replies(ask(chat, 1, i.Watch(i.WatchAct.ADD, many)), 1)
    rest = ",".join(many[WATCH_MAX:])
    assert answer == [
        Refused(Problem.WATCH_FULL, name=rest, limit=WATCH_MAX),
        Presence((), many[:WATCH_MAX]),
    ]
    assert chat.watchers.count(1) == WATCH_MAX
    again = replies(ask(chat, 1, i.Watch(i.WatchAct.ADD, ("USER0",))), 1)  # held already
    assert again == [Presence((), ("USER0",))]


def test_presence_news_of_a_watched_person_reaches_watchers_who_share_no_room() -> None:
    chat = Chat(Rules(flood_rate=0))
    irc(chat, 1, "Alice")
    irc(chat, 2, "Carol")
    irc(chat, 3, "Bob", "bob")
    ask(chat, 1, i.Watch(i.WatchAct.ADD, ("bob",)))
    ask(chat, 2, i.Watch(i.WatchAct.ADD, ("bob",)))
    for conn in (2, 3):
        ask(chat, conn, i.Join("#rust"))
    away = ask(chat, 3, i.SetAway("lunch"))
    news = Away("Bob", "lunch", "bob")
    assert Reply(1, (Watched(news),)) in away  # Alice shares no room with Bob
    assert replies(away, 2) == []  # Carol hears it in #rust
    assert Broadcast((news,), exclude=3, room="#rust") in away
    unwatched = ask(chat, 3, i.SetAway(""))
    assert replies(unwatched, 1) == [Watched(Away("Bob", "", "bob"))]


# -- real names ----------------------------------------------------------------------------


def test_presence_setname_changes_the_real_name_for_whois_and_tells_rooms_once() -> None:
    chat = Chat(Rules(flood_rate=0))
    irc(chat, 1, "Alice", "al", "Alice A.")
    irc(chat, 2, "Bob")
    for room in ("#a", "#b"):
        ask(chat, 1, i.Join(room))
        ask(chat, 2, i.Join(room))
    # Flow control holds it while one of those rooms cannot take more (as a rename).
    assert chat.reach(1, i.SetRealname("x")) == (("#a", "#b"), None)
    changed = ask(chat, 1, i.SetRealname("Alice Liddell"))
    event = RealnameChanged("Alice", "Alice Liddell", "al")
    assert Reply(1, (event,)) in changed
    assert changed == [Reply(1, (event,)), Broadcast((event,), exclude=1, room="#a")]
    (whois,) = replies(ask(chat, 2, i.LookUp("alice")), 2)
    assert isinstance(whois, Whois) and whois.realname == "Alice Liddell"


def test_presence_setname_refuses_an_empty_or_too_long_real_name() -> None:
    chat = Chat(Rules(flood_rate=0))
    irc(chat, 1, "Alice", "al", "Alice A.")
    for bad in ("", "x" * 101):
        assert ask(chat, 1, i.SetRealname(bad)) == [
            Reply(1, (Refused(Problem.REALNAME_BAD, limit=100),))
        ]
    assert chat.clients[1].realname == "Alice A."
    line = ask(chat, 1, i.SetRealname("two\nlines"))  # one line, as every text given
    assert replies(line, 1) == [RealnameChanged("Alice", "two lines", "al")]
