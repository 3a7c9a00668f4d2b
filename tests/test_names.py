"""Names shared by several nodes (chat/names.py's rule 3): every path that takes a name
claims it across the nodes first, and lets it go when it is no longer used.

Through the server's own session, interpreter and text door (``Harness``), with the
backend's table of names standing for the other nodes (``InlineBackend.names``): a test
puts another node's user there as a connection id that no session here has."""

from __future__ import annotations

from chat_trio.chat import intents as i
from chat_trio.chat.core import Chat
from chat_trio.chat.events import Done, Reason, Welcome
from chat_trio.chat.outputs import Claim, ClaimName, Outputs, ReleaseName, Reply
from chat_trio.chat.problems import Outcome
from chat_trio.chat.registry import Account, Verdict
from chat_trio.chat.state import Phase, Step
from chat_trio.chat.vocabulary import look
from chat_trio.chat.world import Rules
from chat_trio.doors.irc.door import IrcDoor
from chat_trio.doors.irc.render import IrcSettings
from tests.helpers import Harness
from tests.test_web_door import Web, types

ELSEWHERE = 999  #: a user of another node (no session of the harness has this id)
TAKEN = 'The name "{}" is already taken; please choose another.'
UNAVAILABLE = 'The name "{}" cannot be checked right now'
SETTINGS = IrcSettings(server_name="irc.test", network="TestNet")


def shared(name_attempts: int = 5) -> Harness:
    rules = Rules(flood_rate=0, name_attempts=name_attempts)
    return Harness(rules, stored=True, shared_names=True)


def claims(h: Harness) -> list[ClaimName]:
    return [step for step in h.log if isinstance(step, ClaimName)]


def test_names_a_name_held_on_another_node_is_refused_as_taken_and_asked_again() -> None:
    h = shared()
    h.backend.names["bob"] = ELSEWHERE
    h.connect(1)
    h.take(1)
    answer = h.line(1, "Bob")
    assert TAKEN.format("Bob") in answer
    assert answer.endswith("Enter your username: ")
    assert h.chat.phase(1) is Phase.NAMING
    assert h.backend.names == {"bob": ELSEWHERE}  # nothing taken, nothing let go
    assert "Welcome to the chat, Carol!" in h.line(1, "Carol")
    assert h.backend.names == {"bob": ELSEWHERE, "carol": 1}


def test_names_a_free_name_is_claimed_then_welcomed_and_let_go_after_quit() -> None:
    h = shared()
    h.register(2, "Alice")
    h.connect(1)
    h.take(1)
    assert "Welcome to the chat, Bob!" in h.line(1, "Bob")
    assert claims(h)[-1] == ClaimName(1, "bob")
    assert "* Bob joined the chat" in h.take(2)
    assert h.backend.names == {look("alice"): 2, "bob": 1}
    h.line(1, "/quit")
    h.disconnect(1, Reason.QUIT)
    assert h.backend.names == {look("alice"): 2}


def test_names_look_alikes_are_one_name_across_nodes() -> None:
    h = shared()
    h.backend.names[look("alice")] = ELSEWHERE  # Alice, on another node
    h.connect(1)
    h.take(1)
    assert TAKEN.format("AIice") in h.line(1, "AIice")  # (one key: the look, "allce")


def test_names_without_shared_names_nothing_is_ever_claimed() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    h.backend.names["bob"] = ELSEWHERE  # (never asked)
    h.register(1, "Bob")
    h.line(1, "/nick Carol")
    h.disconnect(1, Reason.QUIT)
    assert not [s for s in h.log if isinstance(s, ClaimName | ReleaseName)]


def test_names_a_rename_claims_the_new_name_and_lets_the_old_one_go() -> None:
    h = shared()
    h.register(1, "Alice")
    h.register(2, "Bob")
    h.backend.names["carol"] = ELSEWHERE
    answer = h.line(1, "/nick Carol")
    assert TAKEN.format("Carol") in answer
    assert h.chat.name_of(1) == "Alice"
    assert h.chat.phase(1) is Phase.CHATTING  # (BUSY while it was asked)
    h.line(1, "/nick Dave")
    assert h.chat.name_of(1) == "Dave"
    assert "* Alice is now known as Dave" in h.take(2)
    assert h.backend.names == {"carol": ELSEWHERE, "bob": 2, "dave": 1}


def test_names_a_change_of_case_or_to_a_look_alike_of_ones_own_claims_nothing() -> None:
    h = shared()
    h.register(1, "Alice")
    before = len(claims(h))
    h.line(1, "/nick ALICE")
    h.line(1, "/nick AIice")
    assert h.chat.name_of(1) == "AIice"
    assert len(claims(h)) == before
    assert h.backend.names == {look("alice"): 1}


def test_names_when_names_cannot_be_checked_it_is_said_and_never_counted() -> None:
    h = shared(name_attempts=2)
    h.backend.names_down = True
    h.connect(1)
    h.take(1)
    for _ in range(4):  # more than name_attempts: a Redis outage is not the typist's
        answer = h.line(1, "Bob")
        assert UNAVAILABLE.format("Bob") in answer
        assert answer.endswith("Enter your username: ")
    assert 1 not in h.closed
    h.backend.names_down = False
    assert "Welcome to the chat, Bob!" in h.line(1, "Bob")
    h.backend.names_down = True
    answer = h.line(1, "/nick Carol")
    assert UNAVAILABLE.format("Carol") in answer
    assert h.chat.name_of(1) == "Bob"


def test_names_a_login_claims_the_accounts_name_at_the_prompt_and_while_chatting() -> None:
    h = shared()
    h.add_account("Alice", "alice-password")
    h.add_account("Carol", "carol-password")
    h.connect(1)
    h.take(1)
    assert "Welcome to the chat, Alice!" in h.line(1, "alice alice-password")
    assert h.backend.names == {look("alice"): 1}
    h.backend.names["carol"] = ELSEWHERE  # Carol is online on another node
    assert TAKEN.format("Carol") in h.line(1, "/login carol carol-password")
    assert h.chat.name_of(1) == "Alice"
    del h.backend.names["carol"]
    assert "Logged in as Carol." in h.line(1, "/login carol carol-password")
    assert h.backend.names == {"carol": 1}  # and Alice's name is free again


def test_names_a_login_takes_its_name_over_from_a_stale_connection_here() -> None:
    h = shared()
    h.add_account("Alice", "alice-password")
    h.connect(1)
    h.take(1)
    h.line(1, "alice alice-password")
    h.connect(2)
    h.take(2)
    assert "Welcome to the chat, Alice!" in h.line(2, "alice alice-password")
    assert h.closed.get(1) is Reason.REPLACED
    assert h.backend.names == {look("alice"): 2}


def test_names_a_disconnect_while_claiming_lets_the_name_go_when_granted() -> None:
    chat = Chat(Rules(flood_rate=0), shared_names=True)
    out = Outputs(1)
    chat.connect(1, 0.0, out)
    chat.handle(1, i.ChooseName("Bob"), 0.0, out)
    assert out.done()[-1] == ClaimName(1, "bob")
    assert chat.phase(1) is Phase.CLAIMING
    chat.disconnect(1, Reason.LOST, out)
    assert not any(isinstance(o, ReleaseName) for o in out.done())  # it held nothing yet
    chat.name_claimed(1, "bob", Claim.GRANTED, 0.0, out)
    assert out.done() == [ReleaseName(1, "bob")]
    chat.name_claimed(1, "bob", Claim.TAKEN, 0.0, out)
    assert out.done() == []


def test_names_a_claim_granted_to_a_connection_closing_meanwhile_is_let_go() -> None:
    chat = Chat(Rules(flood_rate=0), shared_names=True)
    out = Outputs(1)
    chat.connect(1, 0.0, out)
    chat.handle(1, i.ChooseName("Bob"), 0.0, out)
    chat.clients[1].step(Step.END)  # thrown out meanwhile (an operator's ban)
    out.done()
    chat.name_claimed(1, "bob", Claim.GRANTED, 0.0, out)
    assert out.done() == [ReleaseName(1, "bob")]
    assert chat.name_of(1) is None


def test_names_a_name_lost_to_another_node_disconnects_its_user_with_the_reason() -> None:
    h = shared()
    h.register(1, "Alice")
    h.register(2, "Bob")
    out = Outputs(0)
    h.chat.name_lost(2, "bob", out)
    h.effects.carry_now(0, None, out.done())
    assert "went to someone on another server meanwhile" in h.take(2)
    h.disconnect(2, Reason.NAME_LOST)  # (the session ends: its outbox was closed)
    assert "* Bob left the chat (name lost to another server)" in h.take(1)
    out = Outputs(0)
    h.chat.name_lost(1, "carol", out)  # not its name (any more): nothing happens
    assert out.done() == []


def test_names_irc_nick_taken_elsewhere_is_433_and_unchecked_is_437_then_registers() -> None:
    h = shared()
    h.backend.names["bob"] = ELSEWHERE
    h.connect(1, door=IrcDoor(SETTINGS))
    h.send(1, b"NICK Bob\r\nUSER bob 0 * :Bob\r\n")
    assert " 433 * Bob :Nickname is already in use\r\n" in h.take(1)
    h.backend.names_down = True
    h.send(1, b"NICK Carol\r\n")
    assert " 437 * Carol :" in h.take(1)
    h.backend.names_down = False
    h.send(1, b"NICK Carol\r\n")
    assert " 001 Carol " in h.take(1)
    h.send(1, b"NICK Bob\r\n")  # a rename to a name held elsewhere
    assert " 433 Carol Bob :Nickname is already in use\r\n" in h.take(1)
    assert h.backend.names == {"bob": ELSEWHERE, "carol": 1}


def test_names_the_pages_name_is_claimed_across_nodes_too() -> None:
    web = Web(shared_names=True)
    web.backend.names["bob"] = ELSEWHERE
    refused = web.enter(1, "Bob")
    assert [(e["type"], e.get("problem")) for e in refused] == [
        ("refused", "name-taken"),
        ("ask-name", None),
    ]
    assert types(web.say(1, {"type": "choose-name", "name": "Carol"}))[0] == "welcome"
    assert web.backend.names == {"bob": ELSEWHERE, "carol": 1}


def test_names_a_login_claims_the_name_whatever_the_accounts_id() -> None:
    chat = Chat(Rules(flood_rate=0), stored=True, shared_names=True)
    chat.load_accounts([Account("Alice", "hash")], [])  # (an account without an id)
    out = Outputs(1)
    chat.connect(1, 0.0, out)
    chat.handle(1, i.LogIn("alice", "right-one"), 0.0, out)
    out.done()
    chat.password_checked(1, Verdict.RIGHT, False, 0.0, out)
    assert out.done()[-1] == ClaimName(1, look("Alice"))
    assert chat.phase(1) is Phase.CLAIMING
    chat.name_claimed(1, look("Alice"), Claim.GRANTED, 0.0, out)
    said = [e for o in out.done() if isinstance(o, Reply) for e in o.events]
    assert said[:2] == [Done(Outcome.LOGGED_IN, name="Alice"), Welcome("Alice", 1, 1)]
