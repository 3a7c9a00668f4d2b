"""The IRC door over real sockets on 127.0.0.1 (port 0): IRC and nc users in one chat."""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import attrs
import trio

from chat_trio import users
from chat_trio.chat.world import Rules
from chat_trio.config import Config
from chat_trio.doors.irc.render import IrcSettings
from chat_trio.passwords import Cost
from tests.conftest import LineClient, serving, start_doors, tls_config
from tests.test_real_clients import read_until

CHEAP_COST = Cost(time_cost=1, memory_kib=32, parallelism=1)  #: argon2id, cheap for tests

CONFIG = Config(
    host="127.0.0.1",
    port=0,
    irc_port=0,
    web_port=None,
    db=None,
    irc=IrcSettings(server_name="irc.test"),
    rules=Rules(flood_rate=0),
)


CHEAP_COST = Cost(time_cost=1, memory_kib=32, parallelism=1)  #: argon2 for tests


class IrcClient(LineClient):
    """A minimal IRC client: registers, and answers PING as real clients do."""

    async def register(self, name: str) -> str:
        await self.send(f"CAP LS 302\r\nNICK {name}\r\nUSER {name} 0 * :{name}\r\nCAP END")
        return await self.expect(f" 366 {name} #lobby :End of /NAMES list\r\n")


@asynccontextmanager
async def client(port: int) -> AsyncIterator[trio.SocketStream]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        yield stream


@asynccontextmanager
async def doors(config: Config = CONFIG) -> AsyncIterator[tuple[int, int, trio.Event]]:
    async with serving(config) as (addresses, stop):
        ports = {a.label: a.port for a in addresses}
        yield ports["text"], ports["IRC"], stop


@asynccontextmanager
async def alice_and_bob() -> AsyncIterator[tuple[LineClient, IrcClient]]:
    """A server with both doors, an nc client (Alice's) and an IRC client (Bob's), both
    connected and not registered yet."""
    async with (
        doors() as (text_port, irc_port, _),
        client(text_port) as a,
        client(irc_port) as b,
    ):
        yield LineClient(a), IrcClient(b)


async def test_server_irc_user_and_nc_user_chat_both_ways() -> None:
    with trio.fail_after(10):
        async with alice_and_bob() as (alice, bob):
            await alice.register("Alice")
            joined = await bob.register("Bob")
            assert ":irc.test 353 Bob = #lobby :Alice Bob\r\n" in joined
            await alice.expect("* Bob joined the chat\r\n")
            await alice.send("hello")
            await bob.expect(":Alice!Alice@chat-trio PRIVMSG #lobby hello\r\n")
            await bob.send("PRIVMSG #lobby :hi Alice")
            await alice.expect("Bob: hi Alice\r\n")
            await bob.send("PRIVMSG Alice :\x01ACTION waves\x01")
            await alice.expect("[PM from Bob] * Bob waves\r\n")
            await alice.send("/nick Alicia")
            await bob.expect(":Alice!Alice@chat-trio NICK Alicia\r\n")
            await bob.send("QUIT :bye")
            assert (await bob.read_to_eof()).endswith("ERROR :Closing link: Quit\r\n")
            await alice.expect("* Bob left the chat (bye)\r\n")  # QUIT's words, for all


async def test_server_irc_a_notice_reaches_nc_as_a_notice_and_is_never_answered() -> None:
    with trio.fail_after(10):
        async with alice_and_bob() as (alice, bob):
            await alice.register("Alice")
            await bob.register("Bob")
            await alice.expect("* Bob joined the chat\r\n")
            await alice.send("/away lunch")
            # To nobody, with a CTCP, to someone away: nothing comes back to Bob, so the
            # PING that follows is answered first.
            await bob.send("NOTICE nobody :hi\r\nNOTICE Alice :\x01VERSION\x01")
            await bob.send("NOTICE #lobby :deploying now\r\nNOTICE Alice :psst\r\nPING :after")
            answered = await bob.expect("after\r\n")
            assert answered.count("\r\n") == 1 and " PONG " in answered  # only the PONG
            await alice.expect("-Bob- deploying now\r\n[notice from Bob] psst\r\n")
            await alice.send("/notice Bob seen")
            await bob.expect(":Alice!Alice@chat-trio NOTICE Bob seen\r\n")


async def test_server_irc_an_nc_operator_and_an_irc_operator_act_on_each_other() -> None:
    with trio.fail_after(20):
        async with alice_and_bob() as (alice, bob):
            await alice.register("Alice")
            await bob.register("Bob")
            await alice.send("/join #rust")  # Alice creates #rust: its operator
            await alice.expect("* You joined #rust (1 user here).\r\n")
            await bob.send("JOIN #rust")
            await bob.expect(":irc.test 353 Bob = #rust :@Alice Bob\r\n")
            await alice.send("/op Bob")
            await bob.expect(":Alice!Alice@chat-trio MODE #rust +o Bob\r\n")
            await bob.send("MODE #rust +v Alice")
            await alice.expect("* Bob gave Alice voice in #rust.\r\n")
            await bob.send("KICK #rust Alice :out you go")
            await alice.expect("* You were kicked out of #rust by Bob: out you go. ")
            await alice.send("still here")  # connected, and talking in #lobby now
            await bob.expect(":Alice!Alice@chat-trio PRIVMSG #lobby :still here\r\n")
            await alice.send("/join #rust")
            await alice.send("/topic mine")
            await alice.expect("Only operators of #rust can use /topic there.\r\n")
            await bob.send("MODE #rust +o Alice")
            await alice.expect("* Bob made Alice an operator of #rust.\r\n")
            await bob.send("PART #lobby")  # #rust is Bob's only room now
            await alice.expect("[#lobby] * Bob left #lobby\r\n")
            await alice.send("/kick Bob enough")
            await bob.expect(":Alice!Alice@chat-trio KICK #rust Bob enough\r\n")
            await alice.send("/msg Bob still there?")  # in no channel now, and connected
            await bob.expect(":Alice!Alice@chat-trio PRIVMSG Bob :still there?\r\n")
            await bob.send("PRIVMSG #lobby :hello?")  # never put back in #lobby
            await bob.expect(":irc.test 404 Bob #lobby :You are not in #lobby.\r\n")
            await bob.send("JOIN #lobby")  # a JOIN (not the kick) brings him back
            await alice.expect("[#lobby] * Bob joined #lobby\r\n")
            await bob.send("KILL Alice")
            await bob.expect(":irc.test 481 Bob :Only admins can use /kill.\r\n")


@asynccontextmanager
async def alice_runs_rust() -> AsyncIterator[tuple[LineClient, IrcClient]]:
    """``alice_and_bob``, both registered, and Alice (nc) created #rust: its operator."""
    async with alice_and_bob() as (alice, bob):
        await alice.register("Alice")
        await bob.register("Bob")
        await alice.send("/join #rust")
        await alice.expect("* You joined #rust (1 user here).\r\n")
        yield alice, bob


async def test_server_irc_an_nc_operator_moderates_a_room_and_an_irc_user_is_refused() -> None:
    with trio.fail_after(20):
        async with alice_runs_rust() as (alice, bob):
            await bob.send("JOIN #rust")
            await bob.expect(":irc.test 353 Bob = #rust :@Alice Bob\r\n")
            await alice.send("/mode +m")
            await bob.expect(":Alice!Alice@chat-trio MODE #rust +m\r\n")
            await bob.send("PRIVMSG #rust :can I talk?\r\nMODE #rust")
            await bob.expect(":irc.test 404 Bob #rust :Cannot send to channel (+m)\r\n")
            await bob.expect(":irc.test 324 Bob #rust +mnt\r\n")
            await alice.send("/voice Bob")
            await bob.expect(":Alice!Alice@chat-trio MODE #rust +v Bob\r\n")
            await bob.send("PRIVMSG #rust :now I can")
            await alice.expect("Bob: now I can\r\n")


async def test_server_irc_an_nc_operator_invites_an_irc_user_into_an_invite_only_room() -> None:
    with trio.fail_after(20):
        async with alice_runs_rust() as (alice, bob):
            await alice.send("/mode +i")
            await alice.expect("* Alice made #rust invite only.\r\n")
            await bob.send("JOIN #rust")
            await bob.expect(":irc.test 473 Bob #rust :Cannot join channel (+i)\r\n")
            await alice.send("/invite Bob")
            await alice.expect("* You invited Bob to #rust; the invitation lasts an hour.\r\n")
            await bob.expect(":Alice!Alice@chat-trio INVITE Bob #rust\r\n")
            await bob.send("JOIN #rust")
            await bob.expect(":irc.test 353 Bob = #rust :@Alice Bob\r\n")
            await alice.expect("* Bob joined #rust\r\n")


async def test_server_irc_one_namespace_across_doors() -> None:
    with trio.fail_after(10):
        async with (
            doors() as (text_port, irc_port, _),
            client(text_port) as a,
            client(irc_port) as b,
            client(text_port) as c,
        ):
            alice, bob, carol = LineClient(a), IrcClient(b), LineClient(c)
            await alice.register("Alice")
            await bob.send("NICK ALICE\r\nUSER a 0 * :a")
            await bob.expect(":irc.test 433 * ALICE :Nickname is already in use\r\n")
            await bob.register("Bob")
            await carol.expect("Enter your username: ")
            await carol.send("bob")
            await carol.expect('The name "bob" is already taken; please choose another.\r\n')


async def test_server_irc_labeled_responses_and_news_from_others_over_sockets() -> None:
    with trio.fail_after(10):
        async with alice_and_bob() as (alice, bob):
            await alice.register("Alice")
            await bob.send("CAP REQ :labeled-response batch echo-message")
            await bob.register("Bob")
            await bob.send("@label=1 PRIVMSG Alice :hi")
            await bob.expect("@label=1 :Bob!Bob@chat-trio PRIVMSG Alice hi\r\n")
            await alice.expect("[PM from Bob] hi\r\n")
            await alice.send("/msg Bob hello")
            news = ":Alice!Alice@chat-trio PRIVMSG Bob hello\r\n"
            assert await bob.expect(news) == news  # no label: it answers nothing Bob sent
            await bob.send("@label=2 WHOIS Alice")
            whois = await bob.expect("BATCH -l1\r\n")
            assert "@label=2 BATCH +l1 labeled-response\r\n@batch=l1 :irc.test 311 " in whois


async def test_server_irc_shutdown_says_error_to_irc_clients() -> None:
    with trio.fail_after(10):
        async with doors() as (_, irc_port, stop), client(irc_port) as b:
            bob = IrcClient(b)
            await bob.register("Bob")
            stop.set()
            assert (await bob.read_to_eof()).endswith("ERROR :Server shutting down\r\n")


async def test_server_irc_over_tls(tmp_path: Path) -> None:
    config, context = tls_config(CONFIG, tmp_path, tls_port=0, irc_tls_port=0)
    with trio.fail_after(10):
        async with serving(config) as (addresses, _):
            assert [a.label for a in addresses] == ["text", "text, TLS", "IRC", "IRC, TLS"]
            async with client(addresses[3].port) as stream:
                bob = IrcClient(trio.SSLStream(stream, context, server_hostname="127.0.0.1"))
                await bob.register("Bob")
                await bob.send("QUIT")
                await bob.expect("ERROR :Closing link: Quit\r\n")


def test_server_irc_cli_serves_both_doors_and_logs_them() -> None:
    process, ports = start_doors("--irc-port", "0", "--server-name", "irc.example")
    try:
        assert set(ports) == {"text", "IRC", "web"}
        with socket.create_connection(("127.0.0.1", ports["IRC"]), timeout=10) as bob:
            bob.sendall(b"NICK Bob\r\nUSER b 0 * :b\r\n")
            assert b":irc.example 001 Bob " in read_until(bob, b" 366 Bob #lobby ")
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "door=irc tls=no" in err  # the connect line names the door (issue 17)


async def test_server_irc_an_admin_opers_with_the_password_the_operator_set_and_kills(
    tmp_path: Path,
) -> None:
    """The admin account is made as an operator makes it (``chat-trio user add``, then
    ``promote``) in a real database; OPER checks its password with argon2 in a worker
    thread; the IRC user, a guest by nick, may then KILL an nc user."""
    db = str(tmp_path / "chat.db")
    quiet = io.StringIO()
    assert users.run("add", "Root", db, CHEAP_COST, io.StringIO("root-password\n"), quiet) == 0
    assert users.run("promote", "root", db, CHEAP_COST, io.StringIO(), quiet) == 0
    config = attrs.evolve(CONFIG, db=db, password_cost=CHEAP_COST)
    with trio.fail_after(20):
        async with (
            doors(config) as (text_port, irc_port, _),
            client(text_port) as a,
            client(irc_port) as b,
        ):
            alice, bob = LineClient(a), IrcClient(b)
            await alice.register("Alice")
            await bob.register("Bob")
            await bob.send("KILL Alice :spam\r\nOPER root wrong-password")
            await bob.expect(" 481 Bob :Only admins can use /kill.\r\n")
            await bob.expect(" 464 Bob :Wrong password for Root: you are not an operator.\r\n")
            await bob.send("OPER root root-password")
            await bob.expect(
                ":irc.test 381 Bob :You are now an IRC operator\r\n"
                ":Bob!Bob@chat-trio MODE Bob +o\r\n"
            )
            await bob.send("KILL Alice :spam")
            assert (await alice.read_to_eof()).endswith("* You were kicked by Bob: spam\r\n")


async def _alice_by_sasl(port: int, nick: str, stack: AsyncExitStack) -> IrcClient:
    """An IRC client with draft/read-marker, logged in to Alice's account by SASL PLAIN
    (as ``nick`` once registered: the account's name, then its own nick)."""
    irc = IrcClient(await stack.enter_async_context(client(port)))
    plain = base64.b64encode(b"\0alice\0alice-password").decode()
    await irc.send(
        "CAP LS 302\r\nNICK Guest\r\nUSER alice 0 * :Alice\r\n"
        f"CAP REQ :sasl draft/read-marker\r\nAUTHENTICATE PLAIN\r\nAUTHENTICATE {plain}"
    )
    await irc.expect(" 903 ")
    await irc.send("CAP END")
    await irc.expect(" 366 Alice #lobby :End of /NAMES list\r\n")
    if nick != "Alice":
        await irc.send(f"NICK {nick}")
        await irc.expect(f" NICK {nick}\r\n")
    return irc


async def test_server_irc_read_markers_reach_every_connection_of_the_account_and_persist(
    tmp_path: Path,
) -> None:
    """draft/read-marker end to end: a marker set on one connection of an account is sent
    to its other connection (and not to another person), stored in the database, and given
    back on joining after a restart."""
    db = str(tmp_path / "chat.db")
    add = io.StringIO("alice-password\n")
    assert users.run("add", "Alice", db, CHEAP_COST, add, io.StringIO()) == 0
    config = attrs.evolve(CONFIG, db=db, password_cost=CHEAP_COST)
    with trio.fail_after(30):
        async with doors(config) as (_, irc_port, _stop), AsyncExitStack() as stack:
            phone = await _alice_by_sasl(irc_port, "Alice_phone", stack)
            laptop = await _alice_by_sasl(irc_port, "Alice", stack)
            bob = IrcClient(await stack.enter_async_context(client(irc_port)))
            await bob.send(
                "CAP LS 302\r\nNICK Bob\r\nUSER bob 0 * :Bob\r\nCAP REQ :draft/read-marker\r\nCAP END"
            )
            await bob.expect(" 366 Bob #lobby :End of /NAMES list\r\n")
            await phone.send("MARKREAD #lobby timestamp=2025-01-02T03:04:05.678Z")
            wanted = ":irc.test MARKREAD #lobby timestamp=2025-01-02T03:04:05.678Z\r\n"
            await phone.expect(wanted)
            await laptop.expect(wanted)
            await bob.send("MARKREAD #lobby")
            assert (await bob.expect(" MARKREAD #lobby *\r\n")).count("MARKREAD") == 1
        async with doors(config) as (_, irc_port, _stop), AsyncExitStack() as stack:
            again = await _alice_by_sasl(irc_port, "Alice", stack)
            await again.send("PART #lobby\r\nJOIN #lobby")
            joined = await again.expect(" 366 Alice #lobby :End of /NAMES list\r\n")
            assert wanted in joined.split(" PART #lobby")[-1]


async def test_server_irc_monitor_sees_an_nc_user_come_and_go_and_whowas_remembers() -> None:
    with trio.fail_after(10):
        async with alice_and_bob() as (alice, bob):
            await bob.register("Bob")
            await bob.send("MONITOR + alice")
            await bob.expect(":irc.test 731 Bob alice\r\n")
            await alice.register("Alice")
            await bob.expect(":irc.test 730 Bob Alice!Alice@chat-trio\r\n")
            await alice.send("/quit")
            await alice.read_to_eof()
            await bob.expect(":irc.test 731 Bob Alice\r\n")
            await bob.send("WHOWAS alice")
            got = await bob.expect(":irc.test 369 Bob alice :End of WHOWAS\r\n")
            assert ":irc.test 314 Bob Alice Alice chat-trio * Alice\r\n" in got
