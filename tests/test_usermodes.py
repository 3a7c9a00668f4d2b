"""User modes, OPER and wallops, on intents and events alone (chat/usermodes.py, and
accounts.py's ``oper``)."""

from __future__ import annotations

from chat_trio.chat import intents as i
from chat_trio.chat.core import Chat
from chat_trio.chat.events import (
    Done,
    Private,
    Refused,
    Said,
    UserList,
    UserMode,
    UserModes,
    Wallops,
    Whois,
)
from chat_trio.chat.intents import Lobby
from chat_trio.chat.outputs import CheckPassword, Outputs
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.registry import Account, Verdict
from chat_trio.chat.state import Phase
from chat_trio.chat.world import Rules
from tests.test_chat_rules import ask, connect, named, replies

OPER = UserMode.OPERATOR


def chat_with_an_admin_account() -> Chat:
    """A stored chat with the admin account Root and the plain account Carol; Alice (1)
    and Bob (2) are guests."""
    chat = Chat(Rules(flood_rate=0))  # (history in memory: joins need no storage)
    chat.load_accounts([Account("Root", "hash", admin=True, id="R"), Account("Carol", "h")], [])
    for conn, name in enumerate(("Alice", "Bob"), 1):  # in no room, as on IRC
        connect(chat, conn)
        ask(chat, conn, i.ChooseName(name, Lobby.NEVER))
    return chat


def oper(
    chat: Chat, conn: int, verdict: Verdict, admin: bool = True, name: str = "root"
) -> list[object]:
    """``Oper`` as ``name``, its password checked with ``verdict``: the replies."""
    asked = ask(chat, conn, i.Oper(name, "the-password"))
    assert [o for o in asked if isinstance(o, CheckPassword)] == [
        CheckPassword(conn, name, i.Secret("the-password"))
    ]
    assert chat.phase(conn) is Phase.BUSY
    out = Outputs(conn)
    chat.password_checked(conn, verdict, admin, 0.0, out)
    return replies(list(out.done()), conn)


def test_usermodes_oper_with_an_admins_password_makes_the_connection_an_operator() -> None:
    chat = chat_with_an_admin_account()
    assert not chat.is_admin(chat.clients[1])
    assert oper(chat, 1, Verdict.RIGHT) == [
        Done(Outcome.OPERATOR, name="Root"),
        UserModes("Alice", frozenset({OPER}), (OPER,)),
    ]
    alice = chat.clients[1]
    assert chat.is_admin(alice) and alice.name == "Alice" and alice.account == ""
    # Its powers are an admin's: KILL works, for the life of the connection.
    killed = ask(chat, 1, i.Kill("Bob", "spam"))
    assert Done(Outcome.KICKED, name="Bob", text="spam") in replies(killed, 1)
    # WHO shows it as an admin (IRC's *), WHOIS too (313).
    (listed,) = replies(ask(chat, 1, i.ListUsers(mask="Ali*", detail=True)), 1)
    assert isinstance(listed, UserList) and listed.admins == {"Alice"}
    (found,) = replies(ask(chat, 1, i.LookUp("Alice")), 1)
    assert isinstance(found, Whois) and found.admin


def test_usermodes_oper_refuses_wrong_passwords_and_accounts_that_are_not_admins() -> None:
    chat = chat_with_an_admin_account()
    assert oper(chat, 1, Verdict.WRONG) == [Refused(Problem.OPER_PASSWORD, name="Root")]
    assert not chat.is_admin(chat.clients[1]) and chat.phase(1) is Phase.CHATTING
    # A plain account's password is checked as an admin's is: a wrong one gets the same
    # answer, after the same argon2 wait, so nobody learns which accounts are admins'.
    assert oper(chat, 1, Verdict.WRONG, admin=False, name="carol") == [
        Refused(Problem.OPER_PASSWORD, name="Carol")
    ]
    assert oper(chat, 1, Verdict.RIGHT, admin=False, name="carol") == [
        Refused(Problem.NOT_OPER, name="Carol")  # (she knows her own password)
    ]
    assert replies(ask(chat, 1, i.Oper("nobody", "whatever")), 1) == [
        Refused(Problem.NOT_OPER, name="nobody")  # no such account (registered names are public)
    ]
    # Demoted while its password was checked (storage says so): no operator.
    assert oper(chat, 2, Verdict.RIGHT, admin=False) == [Refused(Problem.NOT_OPER, name="Root")]
    assert not chat.is_admin(chat.clients[2])


def test_usermodes_oper_failures_are_throttled_like_logins() -> None:
    chat = chat_with_an_admin_account()
    for _ in range(3):  # registry.FREE_FAILURES from one address
        oper(chat, 1, Verdict.WRONG)
    (refused,) = replies(ask(chat, 1, i.Oper("root", "guess")), 1)
    assert isinstance(refused, Refused) and refused.problem is Problem.LOGIN_THROTTLED


def test_usermodes_an_operator_loses_its_powers_with_minus_o_or_its_accounts_demotion() -> None:
    chat = chat_with_an_admin_account()
    oper(chat, 1, Verdict.RIGHT)
    assert replies(ask(chat, 1, i.SetUserModes(remove=(OPER,))), 1) == [
        UserModes("Alice", frozenset(), (), (OPER,))
    ]
    assert not chat.is_admin(chat.clients[1])
    assert replies(ask(chat, 1, i.SetUserModes(add=(OPER,))), 1) == []  # only OPER sets it
    assert not chat.is_admin(chat.clients[1])
    oper(chat, 1, Verdict.RIGHT)
    chat.registry.put("root", Account("Root", "hash", admin=False, id="R"))
    assert not chat.is_admin(chat.clients[1])  # read each time, as a login's is


def test_usermodes_are_set_shown_and_a_change_to_nothing_is_not_answered() -> None:
    chat = chat_with_an_admin_account()
    on = i.SetUserModes(add=(UserMode.INVISIBLE, UserMode.WALLOPS))
    assert replies(ask(chat, 1, on), 1) == [
        UserModes(
            "Alice",
            frozenset({UserMode.INVISIBLE, UserMode.WALLOPS}),
            (UserMode.INVISIBLE, UserMode.WALLOPS),
        )
    ]
    assert replies(ask(chat, 1, on), 1) == []
    assert replies(ask(chat, 1, i.ShowUserModes()), 1) == [
        UserModes("Alice", frozenset({UserMode.INVISIBLE, UserMode.WALLOPS}))
    ]


def test_usermodes_invisible_users_are_hidden_from_masks_and_outside_rooms_only() -> None:
    chat = chat_with_an_admin_account()
    ask(chat, 1, i.Join("#rust"))
    ask(chat, 1, i.SetUserModes(add=(UserMode.INVISIBLE,)))

    def who(intent: i.ListUsers) -> tuple[str, ...]:
        (listed,) = replies(ask(chat, 2, intent), 2)
        assert isinstance(listed, UserList)
        return listed.names

    assert who(i.ListUsers(mask="Ali*")) == ()
    assert who(i.ListUsers(mask="Alice")) == ("Alice",)  # an exact name finds them
    assert who(i.ListUsers("#rust")) == ()  # NAMES of a room Bob is not in
    assert who(i.ListUsers()) == ("Bob",)  # everyone online (nc's /users, the page's list)
    (mine,) = replies(ask(chat, 1, i.ListUsers(mask="Ali*")), 1)
    assert isinstance(mine, UserList) and mine.names == ("Alice",)  # oneself, always
    ask(chat, 2, i.Join("#rust"))
    assert who(i.ListUsers(mask="Ali*")) == ("Alice",)  # sharing a room: seen
    assert who(i.ListUsers("#rust")) == ("Alice", "Bob")
    assert who(i.ListUsers()) == ("Alice", "Bob")


def test_usermodes_a_bots_messages_and_whois_say_it_is_one() -> None:
    chat = chat_with_an_admin_account()
    ask(chat, 1, i.SetUserModes(add=(UserMode.BOT,)))
    ask(chat, 1, i.Join("#rust"))
    ask(chat, 2, i.Join("#rust"))
    said = ask(chat, 1, i.Say("#rust", "beep"))
    assert any(isinstance(e, Said) and e.bot for o in said for e in getattr(o, "events", ()))
    (sent, *_) = [e for e in replies(ask(chat, 1, i.SendPrivate("Bob", "boop")), 2)]
    assert isinstance(sent, Private) and sent.bot
    (found,) = replies(ask(chat, 2, i.LookUp("Alice")), 2)
    assert isinstance(found, Whois) and found.bot
    (listed,) = replies(ask(chat, 2, i.ListUsers("#rust", detail=True)), 2)
    assert isinstance(listed, UserList) and [p.bot for p in listed.people] == [True, False]


def test_usermodes_wallops_reach_those_with_w_and_only_admins_send_them() -> None:
    chat = chat_with_an_admin_account()
    named(chat, 3, "Dave")
    ask(chat, 3, i.SetUserModes(add=(UserMode.WALLOPS,)))
    assert replies(ask(chat, 2, i.SendWallops("hi")), 2) == [
        Refused(Problem.NOT_ADMIN, name="wallops")
    ]
    oper(chat, 1, Verdict.RIGHT)
    sent = ask(chat, 1, i.SendWallops("restarting at ten"))
    wallops = Wallops("Alice", "restarting at ten")
    assert replies(sent, 1) == [wallops]  # back to its sender
    assert replies(sent, 3) == [wallops]
    assert replies(sent, 2) == []  # Bob has no +w
