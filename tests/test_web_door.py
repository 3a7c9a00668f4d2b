"""The web door, sans-I/O: WebSocket frames in, JSON events out, through the real rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from chat_trio.chat import intents as i
from chat_trio.chat import rooms, words
from chat_trio.chat.events import Reason
from chat_trio.chat.state import Phase
from chat_trio.chat.world import Rules
from chat_trio.doors.irc.message import Message, parse
from chat_trio.doors.keepalive import KeepaliveSettings
from chat_trio.doors.web import dialect, frames
from chat_trio.doors.web.door import MAX_MESSAGE, MEMBERS_SHOWN, WebDoor
from chat_trio.doors.web.site import Site, Upgraded
from chat_trio.storage import database
from tests.helpers import Harness, splits
from tests.test_irc_door import irc_user


class Browser:
    """The client side of one web connection: wsproto, as a browser would frame it."""

    def __init__(self, settings: KeepaliveSettings | None = None) -> None:
        self.ws = WSConnection(ConnectionType.CLIENT)
        exchange = Site(settings=settings or KeepaliveSettings()).exchange()
        exchange.receive_data(self.ws.send(Request(host="127.0.0.1:8081", target="/ws")))
        upgraded = exchange.next_action()
        assert isinstance(upgraded, Upgraded)
        self.ws.receive_data(upgraded.response)
        assert isinstance(next(self.ws.events()), AcceptConnection)
        self.door: WebDoor = upgraded.door
        self.closed: CloseConnection | None = None
        self.pongs: list[bytes] = []
        self.pings: list[bytes] = []

    def message(self, obj: Any) -> bytes:
        return self.ws.send(TextMessage(obj if isinstance(obj, str) else json.dumps(obj)))

    def events(self, data: bytes | bytearray) -> list[dict[str, Any]]:
        """The JSON events in ``data`` (what the server sent), in order."""
        self.ws.receive_data(bytes(data))
        found: list[dict[str, Any]] = []
        for event in self.ws.events():
            if isinstance(event, TextMessage):
                batch = json.loads(event.data)
                assert isinstance(batch, list) and batch, "a frame is a non-empty array"
                found.extend(batch)
            elif isinstance(event, CloseConnection):
                self.closed = event
            elif isinstance(event, Pong):
                self.pongs.append(bytes(event.payload))
            elif isinstance(event, Ping):
                self.pings.append(bytes(event.payload))
        return found


class Web(Harness):
    """The harness with browsers beside nc users."""

    def __init__(self, rules: Rules | None = None, **kwargs: Any) -> None:
        super().__init__(rules or Rules(flood_rate=0), **kwargs)
        self.browsers: dict[int, Browser] = {}

    def open(self, conn: int, settings: KeepaliveSettings | None = None) -> Browser:
        browser = Browser(settings)
        self.browsers[conn] = browser
        self.connect(conn, door=browser.door)
        return browser

    def say(self, conn: int, obj: Any) -> list[dict[str, Any]]:
        """Send one message from ``conn``'s browser; return the events it got back."""
        self.send(conn, self.browsers[conn].message(obj))
        return self.seen(conn)

    def seen(self, conn: int) -> list[dict[str, Any]]:
        data = bytes(self.received[conn])
        self.received[conn].clear()
        return self.browsers[conn].events(data)

    def enter(self, conn: int, name: str) -> list[dict[str, Any]]:
        self.open(conn)
        assert [e["type"] for e in self.seen(conn)] == ["greeting", "ask-name"]
        return self.say(conn, {"type": "choose-name", "name": name})


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_web_door_a_browser_user_chats_with_an_nc_user() -> None:
    web = Web()
    web.register(1, "Alice")
    entered = web.enter(2, "Carol")
    assert types(entered) == ["welcome", "room-entered", "users", "modes"]
    assert entered[2] == {
        "type": "users", "room": "#lobby", "total": 2, "names": ["Alice", "Carol"],
        "admins": [], "away": [], "label": "members", "operators": [], "voiced": [],
        "secret": False, "mask": "", "people": [],
    }  # fmt: skip
    assert web.take(1) == "* Carol joined the chat\r\n"
    web.send(1, b"hello <b>Carol</b>\r\n")
    (said,) = web.seen(2)
    run = web.chat.instance  # ids: the run's, and how many messages it made (2 joins first)
    assert said == {
        "type": "said", "name": "Alice", "text": "hello <b>Carol</b>", "account": "",
        "id": f"{run}:3", "room": "#lobby", "time": web.wall,
    }  # fmt: skip
    echo = web.say(2, {"type": "say", "room": "#lobby", "text": "hi Alice"})
    assert echo == [
        {"type": "said", "room": "#lobby", "name": "Carol", "text": "hi Alice", "own": True,
         "id": f"{run}:4"}
    ]  # fmt: skip
    assert web.take(1) == "Carol: hi Alice\r\n"
    web.say(2, {"type": "command", "line": "/me waves", "room": "#lobby"})
    assert web.take(1) == "* Carol waves\r\n"


def test_web_door_refusals_come_with_the_text_doors_sentence_and_no_echo() -> None:
    web = Web()
    web.register(1, "Alice")
    web.open(2)
    web.seen(2)
    (taken, ask) = web.say(2, {"type": "choose-name", "name": "alice"})
    assert taken["problem"] == "name-taken"
    assert taken["message"] == 'The name "alice" is already taken; please choose another.'
    assert ask == {"type": "ask-name"}
    web.say(2, {"type": "choose-name", "name": "Carol"})
    web.take(1)
    (refused,) = web.say(2, {"type": "say", "room": "#nowhere", "text": "hi"})
    assert refused["type"] == "refused"  # and no echo of a line nobody got
    assert web.take(1) == ""


def test_web_door_joining_lists_members_and_the_room_follows_them() -> None:
    web = Web()
    web.enter(1, "Carol")
    web.register(2, "Alice")
    web.seen(1)
    joined = web.say(1, {"type": "join", "room": "#rust"})
    assert types(joined) == ["room-entered", "users", "modes"]
    assert joined[1]["names"] == ["Carol"]
    assert joined[2] == {
        "type": "modes", "room": "#rust", "modes": [], "key": "", "limit": 0, "label": "modes",
        "created": web.wall,
        "message": "In #rust only members talk in it and only operators set its topic.",
    }  # fmt: skip
    web.line(2, "/join #rust")
    assert web.seen(1) == [
        {
            "type": "joined",
            "name": "Alice",
            "account": "",
            "chat": False,
            "admin": False,
            "operator": False,
            "away": "",
            "room": "#rust",
            "time": web.wall,
        }
    ]
    web.line(2, "/nick Alicia")
    renamed = web.seen(1)
    # Issue 18: once, through one shared room (it was once per shared room); the page
    # applies it to every room where Alice is.
    assert [e["room"] for e in renamed] == ["#lobby"]
    assert all(e["type"] == "nick" and e["new"] == "Alicia" for e in renamed)
    left = web.say(1, {"type": "leave", "room": "#rust"})
    assert left == [
        {"type": "room-left", "room": "#rust", "rooms": ["#lobby"], "by": "", "reason": ""}
    ]


def test_web_door_reads_any_split_of_its_frames() -> None:
    for cut in splits(
        Browser().message({"type": "choose-name", "name": "Carol"}) + Browser().message("{")
    ):
        web = Web()
        browser = web.open(1)
        web.seen(1)
        events = []
        for piece in cut:
            if piece:
                web.send(1, piece)
                events += browser.events(web.received[1])
                web.received[1].clear()
        assert types(events) == ["welcome", "room-entered", "users", "modes", "refused"], cut


def test_web_door_answers_pings_in_order() -> None:
    web = Web()
    browser = web.open(1)
    web.seen(1)
    web.send(1, browser.ws.send(Ping(b"are you there")))
    web.seen(1)
    assert browser.pongs == [b"are you there"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("x" * (MAX_MESSAGE + 1), 1009),
        (b"\x00\x01", 1003),
    ],
)
def test_web_door_closes_on_what_it_does_not_take(data: str | bytes, code: int) -> None:
    web = Web()
    browser = web.open(1)
    web.seen(1)
    frame = browser.ws.send(TextMessage(data) if isinstance(data, str) else BytesMessage(data))
    web.send(1, frame)
    web.seen(1)
    assert browser.closed is not None and browser.closed.code == code
    assert web.closed[1] is Reason.CLOSED
    web.send(1, Browser().message({"type": "choose-name", "name": "Late"}))  # read no more
    assert web.seen(1) == []


def test_web_door_closes_on_a_protocol_error_with_1002() -> None:
    """Issue 16, hole 7: a frame that breaks the protocol was answered 1000 (normal)."""
    web = Web()
    browser = web.open(1)
    web.seen(1)
    web.send(1, bytes([0x81, 0x02]) + b"hi")  # a client's frame must be masked
    web.seen(1)
    assert browser.closed is not None and browser.closed.code == 1002


def test_web_door_closes_on_text_that_is_not_utf8() -> None:
    web = Web()
    browser = web.open(1)
    web.seen(1)
    masked = bytes([0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28])  # mask 0, payload C3 28: not UTF-8
    web.send(1, masked)
    web.seen(1)
    assert browser.closed is not None and browser.closed.code == 1007


def test_web_door_answers_the_clients_close_then_hangs_up() -> None:
    web = Web()
    web.register(1, "Alice")
    browser = web.open(2)
    web.say(2, {"type": "choose-name", "name": "Carol"})
    web.take(1)
    web.send(2, browser.ws.send(CloseConnection(1000, "tab closed")))
    web.seen(2)
    assert browser.closed is not None and browser.closed.code == 1000
    assert web.closed[2] is Reason.CLOSED
    assert web.browsers[2].door.farewell(Reason.CLOSED, cut=False) == b""  # said already


def test_web_door_pings_a_silent_client_and_drops_it_if_it_stays_silent() -> None:
    web = Web()
    browser = web.open(1, KeepaliveSettings(ping_interval=30, ping_timeout=20))
    web.say(1, {"type": "choose-name", "name": "Carol"})
    assert browser.door.deadline() == 30
    web.expire(1, 30)
    web.seen(1)
    assert browser.pings == [b"chat-trio"]
    assert browser.door.deadline() == 50
    web.expire(1, 50)
    assert web.closed[1] is Reason.PING_TIMEOUT


def test_web_door_a_ping_due_while_flood_control_holds_lines_goes_first() -> None:
    """Issue 16, hole 6: the ping once hit an assert, with a line already pushed back."""
    web = Web(Rules())  # flood control on: 10 at once, then 2 a second
    web.register(1, "Alice")
    browser = web.open(2, KeepaliveSettings(ping_interval=30, ping_timeout=20))
    web.say(2, {"type": "choose-name", "name": "Carol"})
    for n in range(12):
        web.send(2, browser.message({"type": "say", "room": "#lobby", "text": f"line {n}"}))
    assert web.take(1).count("Carol: line") == 10
    web.seen(2)
    web.now = 30
    web.expire(2, 30)  # the ping falls due with two lines held
    web.seen(2)
    assert browser.pings == [b"chat-trio"]
    assert web.take(1) == "Carol: line 10\r\nCarol: line 11\r\n"  # and tokens came meanwhile


def test_web_door_an_admins_ban_of_any_length_is_a_date_or_forever() -> None:
    """Issue 16, hole 6: ``seconds: 1e300`` crashed in gmtime, the victim stayed, and
    later connections from its address crashed too."""
    web = Web(Rules(admins=frozenset({"boss"}), flood_rate=0), stored=True)
    web.add_account("boss", "boss-password")
    web.register(1, "Bob")
    web.open(3)
    web.seen(3)
    web.say(3, {"type": "log-in", "name": "boss", "password": "boss-password"})
    (done,) = web.say(3, {"type": "ban", "target": "Bob", "seconds": 1e300})
    assert done["outcome"] == "banned" and done["until"] is None  # forever
    assert web.closed[1] is Reason.BANNED
    web.disconnect(1, Reason.BANNED)
    web.connect(4, address="10.0.0.1")
    assert web.take(4) == "Your address is banned from this server forever.\r\n"
    assert types(web.seen(3)) == ["left"]
    (refused,) = web.say(3, {"type": "ban", "target": "10.0.0.9", "seconds": -5})
    assert refused["problem"] == "ban-length"


def test_web_door_an_admin_is_told_why_their_own_address_cannot_be_banned() -> None:
    web = Web(Rules(admins=frozenset({"boss"}), flood_rate=0), stored=True)
    web.add_account("boss", "boss-password")
    web.open(3)
    web.seen(3)
    web.say(3, {"type": "log-in", "name": "boss", "password": "boss-password"})
    (refused,) = web.say(3, {"type": "ban", "target": "10.0.0.3", "seconds": None})
    assert refused["problem"] == "ban-own-address"
    assert refused["message"] == (
        "You are connected from 10.0.0.3 yourself: a ban on it would shut you out too."
    )


def test_web_door_a_pong_keeps_the_connection() -> None:
    web = Web()
    browser = web.open(1, KeepaliveSettings(ping_interval=30, ping_timeout=20))
    web.say(1, {"type": "choose-name", "name": "Carol"})
    web.expire(1, 30)
    web.now = 35
    web.send(1, browser.ws.send(Pong(b"chat-trio")))
    assert browser.door.deadline() == 65
    web.expire(1, 50)
    assert 1 not in web.closed


@pytest.mark.parametrize(
    ("reason", "code", "said"),
    [
        (Reason.QUIT, 1000, "goodbye"),
        (Reason.SHUTDOWN, 1001, "server shutting down"),
        (Reason.KICKED, 1008, "kicked"),
        (Reason.FLOOD, 1008, "flooding"),
        (Reason.ERROR, 1011, "server error"),
    ],
)
def test_web_door_says_why_in_its_close_frame(reason: Reason, code: int, said: str) -> None:
    browser = Browser()
    browser.events(browser.door.farewell(reason, cut=False))
    assert browser.closed is not None
    assert (browser.closed.code, browser.closed.reason) == (code, said)


def test_web_door_slow_consumer_notice_then_close_unless_a_frame_was_cut() -> None:
    browser = Browser()
    events = browser.events(browser.door.farewell(Reason.SLOW, cut=False))
    assert events == [
        {
            "type": "disconnected",
            "reason": "slow",
            "message": "Disconnected: too slow to receive (your send queue was full).",
        }
    ]
    assert browser.closed is not None and browser.closed.code == 1008
    assert Browser().door.farewell(Reason.SLOW, cut=True) == b""  # it would land mid-frame


def test_web_door_frames_in_every_size_class() -> None:
    for size in (0, 125, 126, 65535, 65536, 70000):
        browser = Browser()
        payload = json.dumps(["x" * max(0, size - 4)]).encode()
        browser.ws.receive_data(frames.text(payload))
        (message,) = browser.ws.events()
        assert isinstance(message, TextMessage) and message.data.encode() == payload


def test_web_door_logs_in_and_registers_through_the_rules() -> None:
    web = Web(stored=True)
    web.enter(1, "Carol")
    (done,) = web.say(1, {"type": "register", "password": "correct-horse"})
    assert (done["type"], done["outcome"], done["name"]) == ("done", "registered", "Carol")
    assert types(web.say(1, {"type": "quit"})) == ["goodbye"]
    web.disconnect(1, web.closed[1])
    web.open(2)
    web.seen(2)
    answer = web.say(2, {"type": "log-in", "name": "carol", "password": "correct-horse"})
    assert "welcome" in types(answer) and answer[0]["name"] == "Carol"


def test_web_door_history_pages_back() -> None:
    web = Web(Rules(flood_rate=0, history_lines=5), stored=True)
    web.register(1, "Alice")
    for n in range(12):
        web.wall += 1
        web.line(1, f"line {n}")
    (history,) = [e for e in web.enter(2, "Carol") if e["type"] == "history"]
    assert [x["text"] for x in history["entries"]] == [f"line {n}" for n in range(7, 12)]
    oldest = history["entries"][0]["time"]
    (earlier,) = web.say(
        2, {"type": "read-history", "room": "#lobby", "limit": 5, "before": oldest}
    )
    assert earlier["asked"] is True
    assert [x["text"] for x in earlier["entries"]] == [f"line {n}" for n in range(2, 7)]


def test_web_door_a_rooms_history_is_for_its_members() -> None:
    """Issue 16, hole 4: a room's history was readable without joining it."""
    web = Web(stored=True)
    web.register(1, "Alice")
    web.line(1, "/join #secret")
    web.line(1, "the plan")
    web.enter(2, "Mallory")
    (refused,) = web.say(2, {"type": "read-history", "room": "#secret", "limit": 10})
    assert refused["problem"] == "not-in-room" and refused["room"] == "#secret"


def test_web_door_private_messages_both_ways() -> None:
    web = Web()
    web.register(1, "Alice")
    web.enter(2, "Carol")
    web.take(1)
    sent = web.say(2, {"type": "send-private", "name": "Alice", "text": "psst"})
    assert sent == [
        {
            "type": "private",
            "peer": "Alice",
            "text": "psst",
            "incoming": False,
            "action": False,
            "away": "",
            "id": f"{web.chat.instance}:3",
            "time": 1700000000.0,
            "account": "",
        }
    ]
    assert web.take(1) == "[PM from Carol] psst\r\n"
    web.line(1, "/msg Carol hi back")
    (got,) = web.seen(2)
    assert (got["type"], got["peer"], got["text"], got["incoming"]) == (
        "private",
        "Alice",
        "hi back",
        True,
    )


def test_web_door_lists_at_most_so_many_members_of_a_big_room() -> None:
    web = Web()
    for n in range(MEMBERS_SHOWN + 5):
        web.register(100 + n, f"u{n:04d}")
    users = [e for e in web.enter(1, "Carol") if e["type"] == "users"]
    assert len(users[0]["names"]) == MEMBERS_SHOWN
    assert users[0]["total"] == MEMBERS_SHOWN + 6


def test_web_door_a_list_of_everyone_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16, hole 3: ``limit: null`` listed every name (3,000 users: 12.9 MB queued
    for ten pages that never read)."""
    monkeypatch.setattr(rooms, "LIST_MAX", 3)
    web = Web()
    for conn in range(1, 6):
        web.register(conn, f"User{conn}")
        web.line(conn, f"/join #room{conn}")
    web.enter(9, "Zed")
    (listed,) = web.say(9, {"type": "list-users", "limit": None})
    assert listed["total"] == 6 and listed["names"] == ["User1", "User2", "User3"]
    (rooms_listed,) = web.say(9, {"type": "list-rooms", "limit": 10**9})
    assert rooms_listed["total"] == 6 and len(rooms_listed["rooms"]) == 3


def test_web_door_intents_it_never_parses_itself() -> None:
    door = Browser().door
    assert door.next_item(phase=None) is None  # type: ignore[arg-type]
    door.push_back(i.Quit())
    assert door.backlog() == 1
    assert door.next_item(phase=None) == i.Quit()  # type: ignore[arg-type]


@given(st.lists(st.binary(max_size=200), max_size=5))
def test_web_door_any_bytes_are_items_or_a_close_never_an_exception(pieces: list[bytes]) -> None:
    door = Browser().door
    for piece in [*pieces, b""]:
        door.receive_data(piece, 0.0)
        for _ in range(1000):
            if door.next_item(Phase.CHATTING) is None:
                break
    assert door.backlog() >= 0


def test_web_door_line_breaks_never_become_lines_of_their_own_on_any_door() -> None:
    """A web user's JSON can carry line breaks (issue 16, hole 1): no door shows them as
    lines or IRC messages of their own, and history keeps one line."""
    web = Web(stored=True)
    web.register(1, "Alice")
    irc_user(web, 3, "Bob")
    web.enter(2, "Mallory")
    web.say(2, {"type": "join", "room": "#m"})  # hers: she may set its topic
    web.line(1, "/join #m")
    web.send(3, b"JOIN #m\r\n")
    web.take(1), web.take(3)
    forged = "hi\r\n* Server is shutting down.\r\n:NickServ!x@y NOTICE Bob :IDENTIFY\u2028x"
    for message in [
        {"type": "say", "room": "#lobby", "text": forged},
        {"type": "send-private", "name": "Alice", "text": forged},
        {"type": "send-private", "name": "Bob", "text": forged},
        {"type": "set-topic", "room": "#m", "text": forged},
        {"type": "set-away", "text": forged},
        {"type": "command", "line": "/me " + forged, "room": "#lobby"},
        {"type": "command", "line": "/msg Alice " + forged, "room": "#lobby"},
        {"type": "command", "line": "/topic " + forged, "room": "#m"},
    ]:
        web.say(2, message)
    nc = web.take(1).split("\n")  # a terminal starts a line at every LF
    assert nc.pop() == ""
    assert len(nc) == 6 and all("Mallory" in line for line in nc), nc  # said, PM, topic, ...
    irc = [parse(line) for line in web.take(3).split("\n")[:-1]]  # as IRC clients split
    assert len(irc) == 5  # said, PM, topic, /me, topic (no away-notify)
    assert {m.source for m in irc if isinstance(m, Message)} == {"Mallory!Mallory@chat-trio"}
    assert web.db is not None
    texts = [e.text for e in database.room_history(web.db, "#lobby", 50)]
    assert texts and all(words.line(t) == t for t in texts)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
MESSAGES = st.fixed_dictionaries(
    {"type": st.sampled_from([*dialect.INTENTS, "command", "nonsense"])},
    optional={
        field: JSON
        for field in ("room", "text", "name", "password", "limit", "seconds", "line", "peer")
    },
)


@given(st.lists(MESSAGES, max_size=6), st.lists(st.binary(max_size=100), max_size=2))
@settings(max_examples=200, deadline=None)
def test_web_door_no_message_or_bytes_break_a_session_or_anyone_else(
    messages: list[dict[str, Any]], noise: list[bytes]
) -> None:
    """Any JSON value in any field of any message type, lone surrogates included, then
    any bytes, through the real session (issue 16, hole 6): no exception, and the others
    chat on."""
    web = Web(stored=True)
    web.register(1, "Alice")
    web.enter(2, "Carol")
    for message in messages:
        web.send(2, web.browsers[2].message(json.dumps(message)))
    for piece in noise:
        web.send(2, piece)
    web.take(1)
    web.send(1, b"/users\r\n")
    assert "Users online" in web.take(1)  # Alice is still served
    assert 1 not in web.closed


def test_web_door_help_lists_only_what_the_user_may_use() -> None:
    web = Web(Rules(admins=frozenset({"boss"}), flood_rate=0), stored=True)
    web.add_account("boss", "boss-password")
    web.open(1)
    web.seen(1)
    (naming,) = web.say(1, {"type": "command", "line": "/help"})
    before_a_name = [row["usage"] for row in naming["commands"]]
    assert before_a_name == ["/help", "/users [#room]", "/rooms", "/quit [reason]"]
    web.say(1, {"type": "choose-name", "name": "Carol"})
    (carol,) = web.say(1, {"type": "command", "line": "/help"})
    guest = [row["usage"] for row in carol["commands"]]
    assert "/join #room [key]" in guest and "//text" in guest and "/quit [reason]" in guest
    assert not any("(admins)" in row["summary"] for row in carol["commands"])
    web.open(2)
    web.seen(2)
    web.say(2, {"type": "log-in", "name": "boss", "password": "boss-password"})
    web.seen(1)
    (boss,) = web.say(2, {"type": "command", "line": "/HELP"})
    assert boss["type"] == "help"
    assert [row["usage"] for row in boss["commands"]][-8:-2] == [
        "/kill <user> [reason]",
        "/ban #room <who> [reason]",
        "/ban <user|address> [7d] [reason]",
        "/unban #room <who>",
        "/unban <account|address>",
        "/bans [#room]",
    ]
    assert len(boss["commands"]) == len(carol["commands"]) + 3  # /kill, the server's bans


def test_web_door_keeps_its_user_in_one_room_at_least() -> None:
    web = Web()
    web.enter(1, "Carol")
    (refused,) = web.say(1, {"type": "leave", "room": "#lobby"})
    assert refused["message"] == "You cannot leave #lobby: it is your only room."
    web.say(1, {"type": "join", "room": "#rust"})
    assert types(web.say(1, {"type": "leave", "room": "#lobby"})) == ["room-left"]
    (again,) = web.say(1, {"type": "leave", "room": "#rust"})
    assert again["problem"] == "only-room"


def alice_runs_rust() -> Web:
    """Alice (1) created #rust and runs it; Carol (2) joined it; both on the page."""
    web = Web()
    web.enter(1, "Alice")
    web.enter(2, "Carol")
    web.say(1, {"type": "join", "room": "#rust"})
    web.say(2, {"type": "join", "room": "#rust"})
    web.seen(1)
    return web


def test_web_door_an_operator_sets_modes_and_a_moderated_room_refuses_with_a_code() -> None:
    web = alice_runs_rust()
    set_m = web.say(1, {"type": "set-mode", "room": "#rust", "mode": "moderated", "on": True})
    change = {
        "type": "mode", "room": "#rust", "mode": "moderated", "on": True, "by": "Alice",
        "value": "", "message": "Alice made #rust moderated.", "time": web.wall,
    }  # fmt: skip
    assert set_m == [change] and web.seen(2) == [change]
    (refused,) = web.say(2, {"type": "say", "room": "#rust", "text": "hi"})
    assert refused["problem"] == "moderated"
    assert refused["message"] == (
        "#rust is moderated: only its operators and voiced members may talk."
    )
    (shown,) = web.say(2, {"type": "show-modes", "room": "#rust"})
    assert shown["type"] == "modes" and shown["modes"] == ["moderated"]
    (not_op,) = web.say(2, {"type": "set-mode", "room": "#rust", "mode": "secret"})
    assert not_op["problem"] == "not-operator"
    (bad,) = web.say(1, {"type": "set-mode", "room": "#rust", "mode": "loud"})
    assert bad["message"] == (
        'That message is not understood: "mode" of "set-mode" must be "moderated" or "secret"'
        ' or "invite-only" or "key" or "limit".'
    )
    (half,) = web.say(1, {"type": "set-mode", "room": "#rust", "mode": "limit", "limit": 2.5})
    assert half["message"] == (  # it was taken, and shown as "+l 2.5"
        'That message is not understood: "limit" of "set-mode" must be a whole number.'
    )


def test_web_door_an_invitation_is_shown_and_a_join_takes_a_key() -> None:
    web = Web()
    web.enter(1, "Alice")
    web.enter(2, "Carol")
    web.say(1, {"type": "join", "room": "#rust"})
    web.say(1, {"type": "set-mode", "room": "#rust", "mode": "key", "key": "k1"})
    (refused,) = web.say(2, {"type": "join", "room": "#rust"})
    assert refused["problem"] == "needs-key"
    assert refused["message"] == "#rust needs a key (/join #rust KEY)."
    joined = web.say(2, {"type": "join", "room": "#rust", "key": "k1"})
    assert joined[0]["type"] == "room-entered"
    (modes,) = [e for e in joined if e["type"] == "modes"]  # the page shows them: "key"
    assert (modes["modes"], modes["key"], modes["label"]) == (["key"], "k1", "modes")
    web.say(2, {"type": "leave", "room": "#rust"})
    web.say(1, {"type": "set-mode", "room": "#rust", "mode": "invite-only"})
    web.seen(1)
    (sent,) = web.say(1, {"type": "invite", "name": "carol", "room": "#rust"})
    assert sent["type"] == "invite-sent" and sent["name"] == "Carol"
    assert web.seen(2) == [
        {
            "type": "invitation", "room": "#rust", "by": "Alice",
            "message": "Alice invites you to #rust (/join #rust).",
        }
    ]  # fmt: skip
    assert web.say(2, {"type": "join", "room": "#rust"})[0]["type"] == "room-entered"


def test_web_door_an_operator_gives_roles_and_kicks_and_the_kicked_user_stays() -> None:
    web = Web()
    web.enter(1, "Alice")
    web.enter(2, "Carol")
    web.say(1, {"type": "join", "room": "#rust"})
    joined = web.say(2, {"type": "join", "room": "#rust"})
    assert joined[1]["operators"] == ["Alice"] and joined[1]["voiced"] == []
    web.seen(1)
    voiced = web.say(1, {"type": "set-role", "room": "#rust", "name": "carol", "role": "voice"})
    change = {
        "type": "role", "room": "#rust", "name": "Carol", "role": "voice", "on": True,
        "by": "Alice", "message": "Alice gave Carol voice in #rust.", "time": web.wall,
    }  # fmt: skip
    assert voiced == [change] and web.seen(2) == [change]  # the whole room, Alice too
    refused = web.say(2, {"type": "kick", "room": "#rust", "name": "Alice"})
    assert refused[0]["problem"] == "not-operator"
    assert refused[0]["message"] == "Only operators of #rust can use /kick there."
    kicked = web.say(1, {"type": "kick", "room": "#rust", "name": "Carol", "reason": "spam"})
    assert kicked[0]["type"] == "kicked" and kicked[0]["name"] == "Carol"
    assert web.seen(2) == [
        {
            "type": "room-left", "room": "#rust", "rooms": ["#lobby"], "by": "Alice",
            "reason": "spam", "message": "You were kicked out of #rust by Alice: spam.",
        }
    ]  # fmt: skip
    assert 2 not in web.closed
    bad = web.say(1, {"type": "set-role", "room": "#rust", "name": "Carol", "role": "boss"})
    assert bad[0]["message"] == (
        'That message is not understood: "role" of "set-role" must be "operator" or "voice".'
    )


def test_web_door_notices_are_sent_and_received_marked_as_notices() -> None:
    web = Web()
    web.register(1, "Alice")
    web.enter(2, "Carol")
    web.take(1)
    run = web.chat.instance
    echo = web.say(2, {"type": "say", "room": "#lobby", "text": "deploying", "notice": True})
    assert echo == [
        {"type": "said", "room": "#lobby", "name": "Carol", "text": "deploying", "own": True,
         "id": f"{run}:3", "notice": True}
    ]  # fmt: skip
    assert web.take(1) == "-Carol- deploying\r\n"
    web.send(1, b"/notice #lobby done\r\n/notice carol thanks\r\n")
    received = web.seen(2)
    assert [(e["type"], e["text"], e.get("notice")) for e in received] == [
        ("said", "done", True),
        ("private", "thanks", True),
    ]
    web.say(2, {"type": "send-private", "name": "Alice", "text": "ok", "notice": True})
    assert web.take(1) == "[notice to Carol] thanks\r\n[notice from Carol] ok\r\n"
    # An ordinary line says nothing of notices, as before they existed.
    web.send(1, b"plain\r\n")
    (plain,) = web.seen(2)
    assert "notice" not in plain


def test_web_door_an_operator_bans_and_unbans_in_json_and_by_command() -> None:
    web = alice_runs_rust()
    banned = web.say(1, {"type": "ban-from-room", "room": "#rust", "target": "*!*@chat-trio"})
    mask = {"kind": "mask", "mask": "*!*@chat-trio", "shown": "*!*@chat-trio", "by": "Alice",
            "at": web.wall, "reason": ""}  # fmt: skip
    change = {
        "type": "ban", "room": "#rust", "on": True, "by": "Alice", "ban": mask,
        "message": "Alice banned *!*@chat-trio from #rust.", "time": web.wall,
    }  # fmt: skip
    assert banned == [change] and web.seen(2) == [change]  # the room sees it, as a mode
    (muted,) = web.say(2, {"type": "say", "room": "#rust", "text": "hi"})
    assert muted["problem"] == "banned-talk"
    assert muted["message"] == "You are banned from #rust, so you cannot talk there."
    (listed,) = web.say(2, {"type": "show-bans", "room": "#rust"})
    assert listed == {
        "type": "bans", "room": "#rust", "bans": [mask],
        "lines": ["Bans of #rust (1):", "*!*@chat-trio, by Alice at 2023-11-14 22:13 UTC"],
    }  # fmt: skip
    (lifted,) = web.say(1, {"type": "unban-from-room", "room": "#rust", "target": "*!*@*TRIO"})
    assert lifted["problem"] == "room-no-ban"
    (lifted,) = web.say(1, {"type": "unban-from-room", "room": "#rust", "target": "*!*@chat-trio"})
    assert lifted["type"] == "ban" and lifted["on"] is False
    web.seen(2)
    kick_ban = web.say(1, {"type": "command", "line": "/ban #rust carol bye", "room": "#rust"})
    assert types(kick_ban) == ["ban", "kicked"]
    assert kick_ban[0]["ban"]["kind"] == "name" and kick_ban[0]["ban"]["reason"] == "bye"
    assert web.seen(2)[-1]["message"] == "You were kicked out of #rust by Alice: bye."
    (refused,) = web.say(2, {"type": "join", "room": "#rust"})
    assert refused["problem"] == "room-banned"
    assert refused["message"] == "You are banned from #rust."
    assert 2 not in web.closed


def test_web_door_registers_a_room_with_the_command_line_and_json() -> None:
    web = Web(stored=True)
    web.enter(1, "Carol")
    web.say(1, {"type": "register", "password": "correct-horse"})
    web.say(1, {"type": "join", "room": "#rust"})
    line = {"type": "command", "line": "/room register", "room": "#rust"}
    (done,) = web.say(1, line)
    assert (done["type"], done["outcome"], done["room"]) == ("done", "room-registered", "#rust")
    (info,) = web.say(1, {"type": "show-room-info", "room": "#rust"})
    assert (info["type"], info["founder"], info["ops"], info["server"]) == (
        "room-info", "Carol", [], False,
    )  # fmt: skip
    assert info["message"].startswith("#rust was registered by Carol on ")
    (lobby,) = web.say(1, {"type": "command", "line": "/room info #lobby", "room": "#rust"})
    assert lobby["server"] is True
    (refused,) = web.say(1, {"type": "set-room-op", "room": "#rust", "name": "Nobody"})
    assert (refused["problem"], refused["message"]) == (
        "no-account", 'There is no account "Nobody".',
    )  # fmt: skip
    (dropped,) = web.say(1, {"type": "drop-room", "room": "#rust"})
    assert dropped["outcome"] == "room-dropped"


def test_web_door_a_web_user_deletes_only_what_is_theirs_to_delete() -> None:
    """The page's JSON can name any target and id: the rules decide, by identity."""
    web = Web(stored=True)
    web.register(1, "Alice")  # nc
    web.line(1, "/join #rust")  # she runs #rust
    web.line(1, "the plan")
    web.enter(2, "Mallory")
    (said,) = [e for e in web.say(2, {"type": "join", "room": "#rust"}) if e["type"] == "history"]
    plan = said["entries"][-1]["id"]
    web.take(1)
    for target, problem in (
        ("#rust", "redact-forbidden"),
        ("#lobby", "unknown-message"),
        ("#secret", "redact-target"),
        ("Alice", "unknown-message"),
    ):
        (refused,) = web.say(2, {"type": "redact", "target": target, "id": plan})
        assert refused["problem"] == problem, target
    assert web.take(1) == ""  # nothing happened, and nobody was told
    (sent,) = web.say(2, {"type": "say", "room": "#rust", "text": "spam"})
    web.take(1)
    deleted = web.say(2, {"type": "redact", "target": "#rust", "id": sent["id"], "reason": "x\ny"})
    assert deleted == [
        {"type": "redacted", "target": "#rust", "id": sent["id"], "by": "Mallory",
         "author": "Mallory", "reason": "x y",
         "message": "Mallory deleted their own message in #rust: x y.", "time": 1700000000.0},
    ]  # fmt: skip
    assert web.take(1) == "* Mallory deleted their own message in #rust: x y.\r\n"


def test_web_door_read_targets_lists_only_ones_own_rooms_and_people() -> None:
    web = Web(stored=True)
    web.register(1, "Alice")  # nc, in #lobby
    web.line(1, "/join #secret")
    web.line(1, "the plan")
    web.enter(2, "Mallory")
    web.say(2, {"type": "send-private", "name": "Alice", "text": "hi Alice"})
    asked = {"type": "read-targets", "after": 0, "before": 2e9, "limit": 10}
    assert web.say(2, asked) == [
        {"type": "targets", "targets": [{"name": "Alice", "time": 1700000000.0}]}
    ]  # and not #secret, a room she is not in (nor #lobby: nothing said there)
