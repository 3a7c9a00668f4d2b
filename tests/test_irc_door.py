"""The IRC door with the rules, driven synchronously as the session drives them (no trio):
what an IRC client receives, and what nc users see of IRC users, byte for byte."""

from __future__ import annotations

import base64
import math
import time

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_trio.chat import roles, rooms
from chat_trio.chat.events import Disconnected, Event, Reason, Refused
from chat_trio.chat.problems import Problem
from chat_trio.chat.registry import Account
from chat_trio.chat.vocabulary import LIST_MAX
from chat_trio.chat.world import Rules
from chat_trio.doors.irc import registration as door_module
from chat_trio.doors.irc.commands import COMMANDS
from chat_trio.doors.irc.door import IrcDoor
from chat_trio.doors.irc.message import Message, parse
from chat_trio.doors.irc.registration import Move, Sasl, Stage
from chat_trio.doors.irc.render import IrcSettings
from tests.helpers import Harness, splits

SETTINGS = IrcSettings(server_name="irc.test", network="TestNet", motd=("Be kind.",))


def irc_user(h: Harness, conn: int, nick: str, *caps: str) -> str:
    """Connect ``conn`` through the IRC door and register as ``nick``; return what it got."""
    h.connect(conn, door=IrcDoor(SETTINGS))
    wanted = f"CAP REQ :{' '.join(caps)}\r\n" if caps else ""
    h.send(
        conn,
        f"CAP LS 302\r\nNICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n{wanted}CAP END\r\n".encode(),
    )
    received = h.take(conn)
    assert f":irc.test 001 {nick} :Welcome to the TestNet IRC network, {nick}\r\n" in received
    return received


def roomless_user(
    h: Harness,
    conn: int,
    nick: str,
    user: str = "",
    realname: str = "",
    *caps: str,
    settings: IrcSettings = SETTINGS,
) -> str:
    """Register ``nick`` (username ``user``, real name ``realname``: both ``nick`` if not
    given) through a door with ``settings`` but no auto-join: in no channel; with ``caps``
    asked for first. Returns what it got."""
    h.connect(conn, door=IrcDoor(attrs.evolve(settings, autojoin=())))
    wanted = f"CAP LS 302\r\nCAP REQ :{' '.join(caps)}\r\n" if caps else ""
    h.send(conn, f"{wanted}NICK {nick}\r\nUSER {user or nick} 0 * :{realname or nick}\r\n".encode())
    if caps:
        h.send(conn, b"CAP END\r\n")
    received = h.take(conn)
    assert f" 001 {nick} " in received
    return received


def test_irc_door_registration_sends_welcome_isupport_motd_and_lobby() -> None:
    h = Harness()
    h.register(1, "Alice")
    received = irc_user(h, 2, "Bob")
    lines = received.split("\r\n")
    assert lines[0] == ":irc.test NOTICE * :*** Welcome to chat-trio"
    assert lines[1].startswith(":irc.test CAP * LS :account-notify account-tag away-notify batch")
    numerics = [line.split()[1] for line in lines if line.startswith(":irc.test ")][2:]
    assert numerics[:11] == [
        "001", "002", "003", "004", "005", "005", "251", "254", "255", "265", "266"
    ]  # fmt: skip
    # ISUPPORT in two 005s: at most 13 tokens a line, so at most IRC's 15 parameters.
    isupport = [parse(line) for line in lines if line.startswith(":irc.test 005 ")]
    assert all(isinstance(m, Message) and len(m.params) <= 15 for m in isupport)
    assert any("MSGREFTYPES=msgid,timestamp" in line for line in lines if " 005 " in line)
    assert "375" in numerics and ":irc.test 372 Bob :- Be kind.\r\n" in received
    for token in ("CASEMAPPING=ascii", "CHANTYPES=#", "NICKLEN=32", "PREFIX=(ov)@+", "UTF8ONLY"):
        assert token in received
    for token in (" CHANMODES=b,k,l,imnst ", " MODES=4 ", " MAXLIST=b:100 ", " EXTBAN=~,a "):
        assert token in received
    assert ":Bob!Bob@chat-trio JOIN #lobby\r\n" in received
    assert (
        ":irc.test 353 Bob = #lobby :Alice Bob\r\n:irc.test 366 Bob #lobby :End of /NAMES list\r\n"
        in received
    )
    assert h.take(1) == "* Bob joined the chat\r\n"


def test_irc_door_without_autojoin_a_user_is_in_no_channel_until_it_joins_one() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    received = roomless_user(h, 2, "Bob", "bob")
    assert " 001 Bob " in received and " JOIN " not in received and " 353 " not in received
    assert h.take(1) == ""  # nobody shares a room with Bob: nobody is told
    h.send(1, b"/msg Bob hi\r\n")
    assert h.take(2) == ":Alice!Alice@chat-trio PRIVMSG Bob hi\r\n"
    h.send(2, b"LIST\r\nJOIN #lobby\r\n")
    got = h.take(2)
    assert ":irc.test 322 Bob #lobby 1 :\r\n" in got  # Alice only
    assert ":Bob!bob@chat-trio JOIN #lobby\r\n" in got
    assert h.take(1) == "[PM to Bob] hi\r\n* Bob joined #lobby\r\n"


def test_irc_door_autojoin_puts_a_user_in_each_channel_in_order() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    h.connect(2, door=IrcDoor(attrs.evolve(SETTINGS, autojoin=("#help", "#LOBBY", "#news"))))
    h.send(2, b"NICK Bob\r\nUSER bob 0 * :Bob\r\n")
    joins = [line for line in h.take(2).split("\r\n") if " JOIN " in line or " 366 " in line]
    assert joins == [  # #lobby on registering, as every door's users; then the others
        ":Bob!bob@chat-trio JOIN #lobby",
        ":irc.test 366 Bob #lobby :End of /NAMES list",
        ":Bob!bob@chat-trio JOIN #help",
        ":irc.test 366 Bob #help :End of /NAMES list",
        ":Bob!bob@chat-trio JOIN #news",
        ":irc.test 366 Bob #news :End of /NAMES list",
    ]
    assert h.take(1) == "* Bob joined the chat\r\n"


def test_irc_door_registration_waits_for_cap_end_in_any_order() -> None:
    h = Harness()
    h.connect(1, door=IrcDoor(SETTINGS))
    h.send(1, b"USER bob 0 * :Bob\r\nCAP LS 302\r\nNICK Bob\r\n")
    assert " 001 " not in h.take(1)
    h.send(1, b"CAP REQ :server-time nope\r\n")
    assert h.take(1) == ":irc.test CAP * NAK :server-time nope\r\n"
    h.send(1, b"CAP REQ :server-time\r\nCAP END\r\n")
    received = h.take(1)
    assert received.startswith(":irc.test CAP * ACK server-time\r\n:irc.test 001 Bob ")


def test_irc_door_nick_refusals_are_numerics_and_a_retry_works() -> None:
    h = Harness()
    h.register(1, "Alice")
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"NICK alice\r\nUSER a 0 * :a\r\n")
    assert ":irc.test 433 * alice :Nickname is already in use\r\n" in h.take(2)
    h.send(2, b"NICK 9lives\r\n")
    assert h.take(2) == (
        ":irc.test 432 * 9lives :A username must start with a letter (A-Z or a-z).\r\n"
    )
    h.send(2, b"NICK admin\r\n")
    assert h.take(2) == ':irc.test 432 * admin :The name "admin" is reserved.\r\n'
    h.send(2, b"NICK Alice_\r\n")
    assert ":irc.test 001 Alice_ " in h.take(2)


def test_irc_door_commands_before_registration_get_451() -> None:
    h = Harness()
    h.connect(1, door=IrcDoor(SETTINGS))
    h.take(1)
    h.send(1, b"JOIN #rust\r\nPING x\r\n")
    assert h.take(1) == ":irc.test 451 * :You have not registered\r\n:irc.test PONG irc.test x\r\n"


def test_irc_door_chat_both_ways_with_an_nc_user() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.take(1)
    h.send(1, b"hello\r\n")
    assert h.take(2) == ":Alice!Alice@chat-trio PRIVMSG #lobby hello\r\n"
    h.send(2, b"PRIVMSG #lobby :hi there\r\nPRIVMSG #lobby :\x01ACTION waves\x01\r\n")
    assert h.take(1) == "Bob: hi there\r\n* Bob waves\r\n"
    assert h.take(2) == ""  # no echo without echo-message
    h.send(1, b"/me smiles\r\n/msg bob psst\r\n")
    assert h.take(1) == "* Alice smiles\r\n[PM to Bob] psst\r\n"  # nc shows its own /me
    assert h.take(2) == (
        ":Alice!Alice@chat-trio PRIVMSG #lobby :\x01ACTION smiles\x01\r\n"
        ":Alice!Alice@chat-trio PRIVMSG Bob psst\r\n"
    )
    h.send(2, b"PRIVMSG alice,nobody :back at you\r\n")
    assert h.take(1) == "[PM from Bob] back at you\r\n"
    assert h.take(2) == ":irc.test 401 Bob nobody :No such nick/channel\r\n"  # no /users on IRC


def test_irc_door_join_part_nick_topic_seen_on_both_doors() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.send(1, b"/join #rust\r\n")
    h.take(1), h.take(2)
    h.send(2, b"JOIN #rust,#go\r\n")
    got = h.take(2)
    assert ":Bob!Bob@chat-trio JOIN #rust\r\n:irc.test 353 Bob = #rust :@Alice Bob\r\n" in got
    assert ":Bob!Bob@chat-trio JOIN #go\r\n:irc.test 353 Bob = #go @Bob\r\n" in got
    assert h.take(1) == "* Bob joined #rust\r\n"
    h.send(1, b"/op bob\r\n")  # #rust is topic-locked: its creator lets Bob set it
    assert h.take(2) == ":Alice!Alice@chat-trio MODE #rust +o Bob\r\n"
    h.take(1)
    h.send(2, b"TOPIC #rust :All about Rust\r\n")
    assert h.take(2) == ":Bob!Bob@chat-trio TOPIC #rust :All about Rust\r\n"
    assert h.take(1) == "* Bob set the topic of #rust: All about Rust\r\n"
    h.send(2, b"NICK Robert\r\n")
    assert h.take(2) == ":Bob!Bob@chat-trio NICK Robert\r\n"
    assert h.take(1) == "* Bob is now known as Robert\r\n"  # once: one person, one notice
    h.send(1, b"in rust\r\n/nick Alicia\r\n")
    assert h.take(2) == (
        ":Alice!Alice@chat-trio PRIVMSG #rust :in rust\r\n"
        ":Alice!Alice@chat-trio NICK Alicia\r\n"  # once (it was once per shared channel)
    )
    assert h.take(1).startswith("* Alice is now known as Alicia")
    h.send(2, b"PART #rust\r\n")
    assert h.take(2) == ":Robert!Bob@chat-trio PART #rust\r\n"
    assert h.take(1) == "* Robert left #rust\r\n"
    h.send(2, b"JOIN 0\r\n")  # leaves every room, #lobby too: IRC users may be in none
    assert h.take(2) == ":Robert!Bob@chat-trio PART #lobby\r\n:Robert!Bob@chat-trio PART #go\r\n"
    assert h.take(1) == "[#lobby] * Robert left #lobby\r\n"


def test_irc_door_refusals_after_registration() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    h.send(
        1,
        b"JOIN bad\r\nPRIVMSG #nowhere :hi\r\nTOPIC #nowhere\r\nFOO\r\nKICK #lobby\r\nPRIVMSG #lobby\r\nUSER x 0 * :x\r\n",
    )
    assert h.take(1) == (
        ':irc.test 403 Bob bad :Room names start with "#" (try /join #bad).\r\n'
        ":irc.test 404 Bob #nowhere :You are not in #nowhere.\r\n"
        ":irc.test 403 Bob #nowhere :There is no room #nowhere.\r\n"
        ":irc.test 421 Bob FOO :Unknown command\r\n"
        ":irc.test 461 Bob KICK :Not enough parameters\r\n"
        ":irc.test 412 Bob :No text to send\r\n"
        ":irc.test 462 Bob :You may not reregister\r\n"
    )
    h.send(1, b"KICK #lobby alice\r\nKILL alice\r\n")
    assert h.take(1) == (
        ":irc.test 482 Bob #lobby :#lobby is the server's room: only admins can use /kick there.\r\n"
        ":irc.test 481 Bob :Only admins can use /kill.\r\n"
    )


def test_irc_door_queries_whois_who_list_names_ison_lusers_mode() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.send(2, b"WHOIS alice\r\n")
    whois = h.take(2)
    assert whois.startswith(":irc.test 311 Bob Alice Alice chat-trio * Alice\r\n")
    assert ":irc.test 319 Bob Alice #lobby\r\n" in whois
    assert whois.endswith(":irc.test 318 Bob Alice :End of /WHOIS list\r\n")
    h.send(2, b"WHO #lobby\r\n")
    assert h.take(2) == (
        ":irc.test 352 Bob #lobby Alice chat-trio irc.test Alice H :0 Alice\r\n"
        ":irc.test 352 Bob #lobby Bob chat-trio irc.test Bob H :0 Bob\r\n"
        ":irc.test 315 Bob #lobby :End of WHO list\r\n"
    )
    h.send(2, b"LIST\r\n")
    assert h.take(2) == (
        ":irc.test 321 Bob Channel :Users  Name\r\n:irc.test 322 Bob #lobby 2 :\r\n"
        ":irc.test 323 Bob :End of /LIST\r\n"
    )
    h.send(2, b"ISON alice carol\r\nMODE #lobby\r\nMODE Bob\r\n")
    assert h.take(2) == (
        ":irc.test 303 Bob Alice\r\n:irc.test 324 Bob #lobby +nt\r\n"
        ":irc.test 329 Bob #lobby 1700000000\r\n:irc.test 221 Bob +\r\n"
    )
    h.send(2, b"LUSERS\r\n")
    lusers = h.take(2)
    assert ":irc.test 251 Bob :There are 2 users and 0 invisible on 1 servers\r\n" in lusers
    assert ":irc.test 254 Bob 1 :channels formed\r\n" in lusers


def test_irc_door_echo_message_and_server_time() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", "echo-message", "server-time")
    h.send(2, b"PRIVMSG #lobby :mine\r\nPRIVMSG alice :private\r\n")
    got = h.take(2).split("\r\n")
    assert got[0].startswith("@time=") and got[0].endswith(
        " :Bob!Bob@chat-trio PRIVMSG #lobby mine"
    )
    assert got[1] == "@time=2023-11-14T22:13:20.000Z :Bob!Bob@chat-trio PRIVMSG Alice private"
    h.send(1, b"/msg Bob psst\r\n")  # a private message has its time too
    assert h.take(2) == "@time=2023-11-14T22:13:20.000Z :Alice!Alice@chat-trio PRIVMSG Bob psst\r\n"
    h.send(1, b"hi\r\n")
    assert (
        h.take(2) == "@time=2023-11-14T22:13:20.000Z :Alice!Alice@chat-trio PRIVMSG #lobby hi\r\n"
    )


def test_irc_door_long_text_door_line_reaches_irc_in_pieces_under_512_bytes() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    text = "é" * 1000  # 2000 bytes: fine for nc, too long for one IRC line
    h.send(1, text.encode() + b"\r\n")
    lines = h.take(2).split("\r\n")[:-1]
    assert len(lines) == 5 and all(len(line.encode()) + 2 <= 512 for line in lines)
    assert (
        "".join(line.split(" :", 1)[1] if " :" in line else line.split()[-1] for line in lines)
        == text
    )


def test_irc_door_formatting_and_control_codes_do_not_reach_the_text_door() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.take(1)
    h.send(2, b"PRIVMSG #lobby :\x02bold\x02 \x0304red\x03 \x1b[2Jclear\r\n")
    assert h.take(1) == "Bob: bold red clear\r\n"


def test_irc_door_ctcp_version_is_answered_and_not_relayed() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.take(1)
    h.send(2, b"PRIVMSG Alice :\x01VERSION\x01\r\n")
    assert h.take(2).startswith(":Alice!Alice@chat-trio NOTICE Bob :\x01VERSION chat-trio ")
    assert h.take(1) == ""


def test_irc_door_line_too_long_is_refused_and_memory_stays_bounded() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    h.send(1, b"PRIVMSG #lobby :" + b"x" * 600 + b"\r\n")
    assert h.take(1) == ":irc.test 417 Bob :Line too long (over 512 bytes); not sent.\r\n"
    door = h.doors[1]
    for _ in range(100):  # a client that never sends a line ending
        h.send(1, b"y" * 4096)
    assert door.backlog() <= 1
    assert 1 not in h.closed


def test_irc_door_a_line_that_would_pass_512_bytes_relayed_is_refused_not_split() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Alice")
    irc_user(h, 2, "Bob")
    h.take(1)
    prefix = ":Alice!Alice@chat-trio "
    line = "PRIVMSG Bob "
    whole = "é" * ((512 - len(prefix) - len(line) - 2) // 2)  # relayed: 511 or 512 bytes
    h.send(1, f"{line}{whole}\r\n".encode())
    assert h.take(2) == f"{prefix}{line}{whole}\r\n"  # one line, whole
    for target in ("Bob", "#lobby"):  # 512 bytes sent: too long once the prefix is added
        h.send(1, f"PRIVMSG {target} :".encode() + b"a" * (510 - 10 - len(target)) + b"\r\n")
        assert h.take(1) == ":irc.test 417 Alice :Line too long (over 512 bytes); not sent.\r\n"
        assert h.take(2) == ""
    h.send(1, b"NOTICE Bob :" + b"a" * 490 + b"\r\n")
    assert " 417 Alice " in h.take(1) and h.take(2) == ""


def test_irc_door_the_512_byte_check_counts_the_username_relayed() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 2, "Bob")
    h.connect(1, door=IrcDoor(SETTINGS))
    h.send(1, b"NICK Al\r\nUSER sixteen-letters 0 * :Al\r\n")
    h.take(1)
    h.take(2)
    prefix = ":Al!sixteen-letters@chat-trio "
    fits = "a" * (512 - len(prefix) - len("PRIVMSG Bob ") - 2)  # relayed: 512 bytes
    h.send(1, f"PRIVMSG Bob :{fits}\r\n".encode())
    assert h.take(2) == f"{prefix}PRIVMSG Bob {fits}\r\n"
    h.send(1, f"PRIVMSG Bob :{fits}a\r\n".encode())  # fits as Al!Al@, not as it is relayed
    assert h.take(1) == ":irc.test 417 Al :Line too long (over 512 bytes); not sent.\r\n"
    assert h.take(2) == ""


def test_irc_door_client_tags_over_4094_bytes_are_refused() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Alice", "message-tags")
    irc_user(h, 2, "Bob")
    h.take(1)
    h.send(1, b"@+draft/x=" + b"a" * 4086 + b" PRIVMSG #lobby :hi\r\n")  # 4097 with @ and space
    assert h.take(1) == ":irc.test 417 Alice :Line too long (over 512 bytes); not sent.\r\n"
    assert h.take(2) == ""
    h.send(1, b"@+draft/x=" + b"a" * 4085 + b" PRIVMSG #lobby :hi\r\n")
    assert h.take(2) == ":Alice!Alice@chat-trio PRIVMSG #lobby hi\r\n"


def test_irc_door_a_line_that_is_not_utf8_is_refused_whole() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Dave")  # nc: what is not UTF-8 still becomes U+FFFD there
    irc_user(h, 2, "Alice")
    irc_user(h, 3, "Bob")
    h.take(1), h.take(2)
    h.send(2, b"PRIVMSG Bob :hi\xaa\r\nPRIVMSG #lobby :caf\xc3\r\nPRIVMSG Bob :caf\xc3\xa9\r\n")
    fail = "FAIL PRIVMSG INVALID_UTF8 :Message rejected, it held invalid UTF-8"
    assert h.take(2) == f":irc.test {fail}\r\n:irc.test {fail}\r\n"
    assert h.take(3) == ":Alice!Alice@chat-trio PRIVMSG Bob caf\u00e9\r\n"  # only the UTF-8 one
    assert h.take(1) == ""
    h.send(1, b"caf\xc3\r\n")
    assert h.take(3) == ":Dave!Dave@chat-trio PRIVMSG #lobby caf\ufffd\r\n"


def test_irc_door_pings_a_silent_client_and_drops_it_without_an_answer() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    door = h.doors[1]
    assert door.deadline() == SETTINGS.keepalive.ping_interval
    h.expire(1, 90.0)
    assert h.take(1) == "PING irc.test\r\n"
    assert door.deadline() == 150.0
    h.send(1, b"PONG irc.test\r\n")  # answered: counting starts again
    assert door.deadline() == 90.0 + h.now
    h.expire(1, h.now + 90)
    h.take(1)
    h.expire(1, h.now + 60)
    assert h.closed[1] is Reason.PING_TIMEOUT


def test_irc_door_registration_timeout_closes_with_error() -> None:
    h = Harness(Rules(name_timeout=60))
    h.connect(1, door=IrcDoor(SETTINGS))
    h.take(1)
    h.expire(1, 60.0)
    assert h.take(1) == (
        ":irc.test NOTICE * :No valid username within 60 seconds.\r\n"
        "ERROR :Closing link: Registration timeout\r\n"
    )
    assert h.closed[1] is Reason.NAME_TIMEOUT


def test_irc_door_one_line_that_gets_several_numerics_spends_one_token() -> None:
    h = Harness(Rules(flood_burst=2, flood_rate=2.0))
    irc_user(h, 2, "Bob")
    h.take(2)
    h.send(2, b"VERSION\r\nINFO\r\n")  # two lines, two numerics each
    answered = h.take(2)
    assert " 351 Bob " in answered and " 374 Bob " in answered
    assert "Slow down" not in answered


def test_irc_door_tagmsg_spends_flood_tokens_as_any_line() -> None:
    h = Harness(Rules(flood_burst=6, flood_rate=1.0))  # registering takes 5
    irc_user(h, 1, "Alice", "message-tags")
    irc_user(h, 2, "Bob", "message-tags")
    h.expire(2, 10.0)  # a full burst again
    h.take(1), h.take(2)
    h.send(2, b"@+typing=active TAGMSG Alice\r\n" * 7)
    assert h.take(1).count(" TAGMSG Alice") == 6  # the burst; the seventh waits
    assert h.take(2).startswith(":irc.test NOTICE Bob :Slow down: at most 6 lines at once")
    h.expire(2, 11.0)
    assert h.take(1).count(" TAGMSG Alice") == 1


def test_irc_door_flood_control_delays_like_fakelag() -> None:
    h = Harness(Rules(flood_burst=2, flood_rate=2.0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.take(1)
    h.send(2, b"PRIVMSG #lobby :1\r\nPRIVMSG #lobby :2\r\nPRIVMSG #lobby :3\r\n")
    assert h.take(1) == "Bob: 1\r\nBob: 2\r\n"  # the burst; the third waits, not lost
    assert h.take(2).startswith(":irc.test NOTICE Bob :Slow down: at most 2 lines at once")
    assert h.chat.deadline(2) == 0.5
    h.expire(2, 0.5)
    assert h.take(1) == "Bob: 3\r\n"
    assert h.chat.deadline(2) == math.inf


def test_irc_door_login_with_pass_and_with_nickserv() -> None:
    h = Harness(stored=True)
    h.register(1, "Alice")
    h.send(1, b"/register hunter2222\r\n")
    h.disconnect(1, Reason.QUIT)
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"PASS hunter2222\r\nNICK alice\r\nUSER a 0 * :a\r\n")
    got = h.take(2)
    assert ":irc.test 900 * Alice!a@chat-trio Alice :You are now logged in as Alice\r\n" in got
    assert ":irc.test 001 Alice " in got
    h.disconnect(2, Reason.QUIT)
    h.connect(3, door=IrcDoor(SETTINGS))
    h.send(3, b"NICK Alice\r\nUSER a 0 * :a\r\n")
    assert " 433 * Alice :Alice is a registered name" in h.take(3)
    h.send(3, b"NICK Guest\r\nPRIVMSG NickServ :IDENTIFY Alice wrong-password\r\n")
    assert "Wrong password for Alice." in h.take(3)
    h.send(3, b"PRIVMSG NickServ :IDENTIFY Alice hunter2222\r\n")
    got = h.take(3)
    assert " 900 Guest " in got and ":Guest!a@chat-trio NICK Alice\r\n" in got


def test_irc_door_history_on_join_as_a_chathistory_batch() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    h.send(1, b"/join #rust\r\nfirst\r\nsecond\r\n")
    irc_user(h, 2, "Bob", "batch", "server-time")
    h.send(2, b"JOIN #rust\r\n")
    got = h.take(2).split("\r\n")
    assert got[1].startswith("BATCH +h1 chathistory #rust")
    assert (
        got[2]
        == "@batch=h1;time=2023-11-14T22:13:20.000Z :Alice!Alice@chat-trio PRIVMSG #rust first"
    )
    assert got[4] == "BATCH -h1"
    irc_user(h, 3, "Carol")
    h.send(3, b"JOIN #rust\r\n")
    assert ":Alice!Alice@chat-trio PRIVMSG #rust :[22:13] first\r\n" in h.take(3)


# The same IRC session, however the bytes are cut, must look the same to everyone.
SESSION = (
    b"CAP LS 302\r\nNICK Bob\r\nUSER b 0 * :Bob\r\nCAP REQ :echo-message message-tags\r\n"
    b"CAP END\r\n"
    b"PRIVMSG #lobby :h\xc3\xa9llo\r\nJOIN #a,#b\nPRIVMSG #a :\x01ACTION x\x01\r\nQUIT :bye\r\n"
)


def run_session(chunks: list[bytes]) -> dict[int, str]:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    h.send(1, b"/join #a\r\n")
    h.take(1)
    h.connect(2, door=IrcDoor(SETTINGS))
    for chunk in chunks:
        if chunk:  # the session never reads an empty chunk but at the end
            h.send(2, chunk)
    return {1: h.take(1), 2: h.take(2)}


@pytest.mark.parametrize("pieces", [2, 3])
def test_irc_door_session_same_on_every_split(pieces: int) -> None:
    expected = run_session([SESSION])
    assert (
        expected[1]
        == "[#lobby] * Bob joined the chat\r\n[#lobby] Bob: héllo\r\n* Bob joined #a\r\n* Bob x\r\n"
    )
    assert expected[2].endswith("ERROR :Closing link: Quit\r\n")
    assert "@msgid=60a24181e4000:4 :Bob!b@chat-trio PRIVMSG #lobby héllo\r\n" in expected[2]
    cuts = (
        splits(SESSION, pieces)
        if pieces == 2
        else (chunks for n, chunks in enumerate(splits(SESSION, 3)) if n % 97 == 0)
    )
    for chunks in cuts:
        assert run_session(chunks) == expected, chunks


def plain(account: str, password: str) -> bytes:
    return base64.b64encode(f"{account}\0{account}\0{password}".encode())


def registered_account(h: Harness) -> None:
    h.register(1, "Alice")
    h.send(1, b"/register hunter2222\r\n")
    h.disconnect(1, Reason.QUIT)


def sasl_started() -> Harness:
    """Alice's account, and Bob on connection 2 asking to log in with SASL PLAIN."""
    h = Harness(stored=True)
    registered_account(h)
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"CAP LS 302\r\nNICK Bob\r\nUSER b 0 * :b\r\nCAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n")
    h.take(2)
    return h


def test_irc_door_sasl_plain_logs_in_before_registration_completes() -> None:
    h = Harness(stored=True)
    registered_account(h)
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"CAP LS 302\r\nNICK Bob\r\nUSER b 0 * :b\r\nCAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n")
    got = h.take(2)
    assert "sasl=PLAIN" in got and got.endswith("CAP * ACK sasl\r\nAUTHENTICATE +\r\n")
    h.send(2, b"AUTHENTICATE " + plain("alice", "hunter2222") + b"\r\n")
    assert h.take(2) == (
        ":irc.test 900 * Alice!b@chat-trio Alice :You are now logged in as Alice\r\n"
        ":irc.test 903 * :SASL authentication successful\r\n"
    )  # and nothing of registering until CAP END
    h.send(2, b"CAP END\r\n")
    got = h.take(2)
    assert got.startswith(":irc.test 001 Alice :Welcome to the TestNet IRC network, Alice\r\n")
    assert ":Alice!b@chat-trio JOIN #lobby\r\n" in got
    assert h.chat.clients[2].account == "alice"


def test_irc_door_sasl_with_the_right_password_takes_over_a_stale_connection() -> None:
    """Issue 17, item 5: a client reconnecting after its network dropped (the old
    connection not timed out yet) logs in with SASL, where it got 904 and 433."""
    h = Harness(stored=True)
    registered_account(h)
    h.connect(1, door=IrcDoor(SETTINGS))
    h.send(1, b"CAP LS 302\r\nNICK Alice\r\nUSER a 0 * :a\r\nCAP REQ :sasl\r\n")
    h.send(1, b"AUTHENTICATE PLAIN\r\nAUTHENTICATE " + plain("alice", "hunter2222") + b"\r\n")
    h.send(1, b"CAP END\r\n")
    assert ":irc.test 001 Alice " in h.take(1)
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"CAP LS 302\r\nNICK Alice\r\nUSER a 0 * :a\r\nCAP REQ :sasl\r\n")
    h.send(2, b"AUTHENTICATE PLAIN\r\nAUTHENTICATE " + plain("alice", "hunter2222") + b"\r\n")
    got = h.take(2)
    assert got.endswith(
        ":irc.test 900 * Alice!a@chat-trio Alice :You are now logged in as Alice\r\n"
        ":irc.test 903 * :SASL authentication successful\r\n"
    )
    assert "904" not in got
    assert h.take(1) == (
        ":irc.test NOTICE Alice :You logged in as Alice on another connection; this one is "
        "closed.\r\nERROR :Closing link: You logged in as Alice on another connection; this "
        "one is closed.\r\n"
    )
    h.send(2, b"CAP END\r\n")
    got = h.take(2)
    assert got.startswith(":irc.test 001 Alice ")
    assert ":Alice!a@chat-trio JOIN #lobby\r\n" in got
    assert h.chat.clients[2].account == "alice"


def test_irc_door_sasl_failure_is_904_and_registration_goes_on_as_a_guest() -> None:
    h = sasl_started()
    h.send(2, b"AUTHENTICATE " + plain("alice", "wrong-one") + b"\r\n")
    assert h.take(2) == ":irc.test 904 * :SASL authentication failed\r\n"
    h.send(2, b"AUTHENTICATE PLAIN\r\nAUTHENTICATE bm90IGJhc2U2NA\r\nCAP END\r\n")
    got = h.take(2)
    assert ":irc.test 904 * :SASL authentication failed\r\n" in got
    assert ":irc.test 001 Bob " in got
    assert h.chat.clients[2].account == ""


def test_irc_door_sasl_needs_the_capability_and_can_be_aborted() -> None:
    h = Harness(stored=True)
    h.connect(1, door=IrcDoor(SETTINGS))
    h.take(1)
    h.send(1, b"AUTHENTICATE PLAIN\r\n")
    assert h.take(1) == ":irc.test 904 * :SASL authentication failed\r\n"
    h.send(1, b"CAP REQ :sasl\r\nAUTHENTICATE EXTERNAL\r\nAUTHENTICATE PLAIN\r\nAUTHENTICATE *\r\n")
    assert h.take(1) == (
        ":irc.test CAP * ACK sasl\r\n:irc.test 908 * PLAIN :are available SASL mechanisms\r\n"
        ":irc.test 904 * :SASL authentication failed\r\n"  # (a client waits for it)
        "AUTHENTICATE +\r\n:irc.test 906 * :SASL authentication aborted\r\n"
    )


def test_irc_door_sasl_too_long_is_one_905_and_the_rest_is_dropped() -> None:
    h = sasl_started()
    chunk = b"AUTHENTICATE " + b"QUFB" * 100 + b"\r\n"  # 400 characters: more follow
    h.send(2, chunk * 5 + b"AUTHENTICATE QUFB\r\n")  # 2004 characters in all: one 905
    assert h.take(2) == ":irc.test 905 * :SASL message too long\r\n"
    h.send(2, b"AUTHENTICATE PLAIN\r\nAUTHENTICATE " + plain("alice", "hunter2222") + b"\r\n")
    assert ":irc.test 903 * :SASL authentication successful\r\n" in h.take(2)


def test_irc_door_sasl_authzid_must_be_the_account_itself_and_not_after_registering() -> None:
    h = sasl_started()
    as_bob = base64.b64encode(b"bob\0alice\0hunter2222")  # alice, acting as bob: no
    h.send(2, b"AUTHENTICATE " + as_bob + b"\r\n")
    assert h.take(2) == ":irc.test 904 * :SASL authentication failed\r\n"
    h.send(2, b"AUTHENTICATE PLAIN\r\n")
    h.send(2, b"AUTHENTICATE " + base64.b64encode(b"ALICE\0alice\0hunter2222") + b"\r\n")
    assert ":irc.test 903 * :SASL authentication successful\r\n" in h.take(2)
    h.send(2, b"CAP END\r\nAUTHENTICATE PLAIN\r\n")
    assert h.take(2).endswith(":irc.test 462 Alice :You may not reregister\r\n")


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (Disconnected(Reason.SLOW), "ERROR :SendQ exceeded\r\n"),
        (Disconnected(Reason.SHUTDOWN), "ERROR :Server shutting down\r\n"),
        (Refused(Problem.SERVER_FULL), "ERROR :Server full, try later.\r\n"),
        (Refused(Problem.ADDRESS_BANNED, until=math.inf),
         ":irc.test 465 * :Your address is banned from this server forever.\r\n"),
    ],
)  # fmt: skip
def test_irc_door_the_servers_own_reasons_to_close(event: Event, line: str) -> None:
    assert IrcDoor(SETTINGS).render([event]).decode() == line


def test_irc_door_chathistory_latest_before_and_after_read_storage() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    h.register(1, "Alice")
    for n in range(5):
        h.wall = 1_700_000_000.0 + n
        h.send(1, f"line {n}\r\n".encode())
    assert "CHATHISTORY=500" in irc_user(h, 2, "Bob", "batch", "draft/chathistory")
    h.send(2, b"CHATHISTORY LATEST #lobby * 2\r\n")
    got = h.take(2)
    assert got.startswith("BATCH +h2 chathistory #lobby\r\n")  # h1: the history on joining
    assert got.endswith(":Bob!Bob@chat-trio JOIN #lobby\r\nBATCH -h2\r\n")
    assert "PRIVMSG #lobby :[22:13] line 4\r\n" in got and "line 3" not in got
    h.send(2, b"CHATHISTORY BEFORE #lobby timestamp=2023-11-14T22:13:22.000Z 10\r\n")
    got = h.take(2)
    assert "line 1" in got and "line 0" in got and "line 2" not in got
    h.send(2, b"CHATHISTORY AFTER #lobby timestamp=2023-11-14T22:13:22.000Z 1\r\n")
    got = h.take(2)
    assert "line 3" in got and "line 4" not in got
    h.send(2, b"CHATHISTORY AFTER #lobby timestamp=2030-01-01T00:00:00.000Z 5\r\n")
    assert h.take(2) == "BATCH +h5 chathistory #lobby\r\nBATCH -h5\r\n"
    h.send(2, b"CHATHISTORY SINCE #lobby * 5\r\nCHATHISTORY LATEST #lobby id=x 5\r\n")
    assert h.take(2) == (
        ":irc.test FAIL CHATHISTORY INVALID_PARAMS SINCE"
        " :Only LATEST, BEFORE, AFTER, AROUND and BETWEEN are supported\r\n"
        ":irc.test FAIL CHATHISTORY INVALID_MSGREFTYPE LATEST id=x"
        " :Use timestamp=YYYY-MM-DDThh:mm:ss.sssZ or msgid=ID\r\n"
    )
    # Digits to str.isdigit that int and float refuse (issue 16, hole 6: they crashed).
    h.send(2, "CHATHISTORY LATEST #lobby * ²\r\n".encode())
    assert h.take(2) == (
        ":irc.test FAIL CHATHISTORY INVALID_PARAMS LATEST ² :The limit is 1 to 500\r\n"
    )
    h.send(2, "CHATHISTORY BEFORE #lobby timestamp=2023-11-14T22:13:22.¹Z 10\r\n".encode())
    assert h.take(2) == (
        ":irc.test FAIL CHATHISTORY INVALID_PARAMS BEFORE timestamp=2023-11-14T22:13:22.¹Z"
        " :Use timestamp=YYYY-MM-DDThh:mm:ss.sssZ or msgid=ID\r\n"
    )


def test_irc_door_chathistory_of_a_room_one_is_not_in_is_an_invalid_target() -> None:
    """Issue 16, hole 4: CHATHISTORY read any room, joins of others included. A room one
    is not in and one that does not exist answer alike (draft/chathistory's FAIL), so
    nobody learns from it which rooms exist."""
    h = Harness(Rules(flood_rate=0), stored=True)
    h.register(1, "Alice")
    h.line(1, "/join #secret")
    h.line(1, "the plan")
    irc_user(h, 2, "Mallory", "batch", "draft/chathistory")
    h.send(2, b"CHATHISTORY LATEST #secret * 10\r\nCHATHISTORY BEFORE #nowhere msgid=a:1 5\r\n")
    assert h.take(2) == (
        ":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #secret"
        " :Messages could not be retrieved\r\n"
        ":irc.test FAIL CHATHISTORY INVALID_TARGET BEFORE #nowhere"
        " :Messages could not be retrieved\r\n"
    )
    h.send(2, b"CHATHISTORY LATEST no*body * 10\r\n")  # not a nick anyone could have
    assert h.take(2) == (
        ":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST no*body"
        " :Messages could not be retrieved\r\n"
    )


def test_irc_door_chathistory_bad_references_and_counts_are_invalid_params() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    irc_user(h, 2, "Bob", "batch", "draft/chathistory")
    fail = ":irc.test FAIL CHATHISTORY"
    use = ":Use timestamp=YYYY-MM-DDThh:mm:ss.sssZ or msgid=ID\r\n"
    for asked, answer in [
        ("BEFORE #lobby timestamp=yesterday 5", f"{fail} INVALID_PARAMS BEFORE timestamp=yesterday {use}"),
        ("AFTER #lobby msgid= 5", f"{fail} INVALID_PARAMS AFTER msgid= {use}"),
        ("AROUND #lobby * 5", f"{fail} INVALID_PARAMS AROUND * {use}"),
        ("BETWEEN #lobby msgid=a:1 seq=4 5", f"{fail} INVALID_MSGREFTYPE BETWEEN seq=4 {use}"),
        ("BETWEEN #lobby msgid=a:1 5", f"{fail} INVALID_PARAMS BETWEEN :CHATHISTORY BETWEEN"
         " takes a target, 2 message reference(s) and a limit\r\n"),
        ("BETWEEN #lobby msgid=a:1 msgid=a:2 501", f"{fail} INVALID_PARAMS BETWEEN 501"
         " :The limit is 1 to 500\r\n"),
    ]:  # fmt: skip
        h.send(2, f"CHATHISTORY {asked}\r\n".encode())
        assert h.take(2) == answer, asked


def test_irc_door_chathistory_between_reads_both_ways_exclusive_of_both_ends() -> None:
    """BETWEEN counts from the first reference towards the second, excluding both; the
    lines come oldest first either way. A timestamp is compared with what the ``time`` tag
    showed (milliseconds): "after 22:13:21.250" never includes the line stamped so."""
    h = Harness(Rules(flood_rate=0), stored=True)
    run = h.chat.instance
    h.register(1, "Alice")
    for n in range(6):
        h.wall = 1_700_000_001.2504 + n  # shown as 22:13:21.250Z, 22:13:22.250Z ...
        h.send(1, f"line {n}\r\n".encode())  # ids run:2 to run:7
    irc_user(h, 2, "Bob", "batch", "server-time", "message-tags", "draft/chathistory")

    def texts(command: str) -> list[str]:
        h.send(2, f"CHATHISTORY {command}\r\n".encode())
        lines = h.take(2).split("\r\n")
        return [line.rsplit(":", 1)[1] for line in lines if " PRIVMSG " in line]

    middle = ["line 1", "line 2", "line 3", "line 4"]
    assert texts(f"BETWEEN #lobby msgid={run}:2 msgid={run}:7 20") == middle
    assert texts(f"BETWEEN #lobby msgid={run}:7 msgid={run}:2 20") == middle
    assert texts(f"BETWEEN #lobby msgid={run}:2 msgid={run}:7 2") == ["line 1", "line 2"]
    assert texts(f"BETWEEN #lobby msgid={run}:7 msgid={run}:2 2") == ["line 3", "line 4"]
    first, last = "timestamp=2023-11-14T22:13:21.250Z", "timestamp=2023-11-14T22:13:26.250Z"
    assert texts(f"BETWEEN #lobby {first} {last} 20") == middle
    assert texts(f"BETWEEN #lobby {last} {first} 2") == ["line 3", "line 4"]
    assert texts(f"BETWEEN #lobby {first} msgid={run}:5 20") == ["line 1", "line 2"]
    assert texts(f"AFTER #lobby {first} 1") == ["line 1"]
    assert texts(f"BETWEEN #lobby msgid={run}:2 msgid=nope 20") == []


COMMAND_WORDS = [
    "NICK", "USER", "CAP", "PASS", "JOIN", "PART", "PRIVMSG", "NOTICE", "TOPIC", "NAMES",
    "WHO", "WHOIS", "LIST", "MODE", "KICK", "AWAY", "ISON", "USERHOST", "AUTHENTICATE",
    "CHATHISTORY", "PING", "QUIT", "", ":x", "@a=b",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(COMMAND_WORDS),
            st.lists(st.text(alphabet="#ab*0:, \x01\x02é\x00\r", max_size=8), max_size=5),
        ),
        max_size=12,
    ),
    st.binary(max_size=64),
)
def test_irc_door_no_input_breaks_it_or_anyone_else(
    lines: list[tuple[str, list[str]]], noise: bytes
) -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    h.connect(2, door=IrcDoor(SETTINGS))
    data = b"".join(f"{word} {' '.join(params)}\r\n".encode() for word, params in lines)
    h.send(2, b"NICK Bob\r\nUSER b 0 * :b\r\n" + data + noise + b"\r\n")
    h.send(2, b"PRIVMSG #lobby :still here\r\n")
    h.take(2)
    if 2 not in h.closed and h.chat.name_of(2) and "#lobby" in h.doors[2].rooms.values():  # type: ignore[attr-defined]
        assert h.take(1).endswith(f"{h.chat.name_of(2)}: still here\r\n")
    h.send(1, b"hello\r\n")  # the other user is unaffected
    assert 1 not in h.closed


def test_irc_door_away_is_state_seen_in_whois_pm_and_by_away_notify() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", "away-notify")
    irc_user(h, 3, "Carol")
    h.take(1), h.take(2)
    h.send(3, b"AWAY :at lunch\r\n")
    assert h.take(3) == ":irc.test 306 Carol :You have been marked as being away\r\n"
    assert h.take(2) == ":Carol!Carol@chat-trio AWAY :at lunch\r\n"  # away-notify
    assert h.take(1) == ""  # a terminal gets no line for it
    h.send(2, b"PRIVMSG carol :hi\r\nWHOIS carol\r\n")
    got = h.take(2)
    assert got.startswith(":irc.test 301 Bob Carol :at lunch\r\n:irc.test 311 Bob Carol ")
    assert ":irc.test 301 Bob Carol :at lunch\r\n:irc.test 319 " in got
    h.send(1, b"/msg carol hi\r\n/whois carol\r\n")
    assert h.take(1) == (
        "[PM to Carol] hi\r\n* Carol is away: at lunch\r\n"
        f"* Carol: in #lobby; connected since {time_of(h)}; idle 0s; away: at lunch\r\n"
    )
    assert (
        h.take(3)
        == ":Bob!Bob@chat-trio PRIVMSG Carol hi\r\n:Alice!Alice@chat-trio PRIVMSG Carol hi\r\n"
    )
    h.send(3, b"AWAY\r\n")
    assert h.take(3) == ":irc.test 305 Carol :You are no longer marked as being away\r\n"
    assert h.take(2) == ":Carol!Carol@chat-trio AWAY\r\n"


def time_of(h: Harness) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(h.wall))


def test_irc_door_text_users_can_be_away_too() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", "away-notify")
    h.take(1)
    assert h.line(1, "/away back at 3") == "* You are away: back at 3\r\n"
    assert h.take(2) == ":Alice!Alice@chat-trio AWAY :back at 3\r\n"
    h.send(2, b"PRIVMSG alice :are you there?\r\n")
    assert h.take(2) == ":irc.test 301 Bob Alice :back at 3\r\n"
    assert h.line(1, "/away") == "[PM from Bob] are you there?\r\n* You are back.\r\n"


def test_irc_door_account_tag_extended_join_and_account_notify() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    irc_user(h, 1, "Watcher", "account-tag", "extended-join", "account-notify")
    h.register(2, "Alice")
    assert h.take(1) == ":Alice!Alice@chat-trio JOIN #lobby * Alice\r\n"  # a guest
    h.send(2, b"/register hunter2222\r\n")
    assert h.take(1) == ":Alice!Alice@chat-trio ACCOUNT Alice\r\n"
    h.send(2, b"hello\r\n")
    assert h.take(1) == "@account=Alice :Alice!Alice@chat-trio PRIVMSG #lobby hello\r\n"
    h.send(2, b"/msg Watcher psst\r\n")  # private messages carry it too
    assert h.take(1) == "@account=Alice :Alice!Alice@chat-trio PRIVMSG Watcher psst\r\n"
    h.register(3, "Bob")  # a guest: no tag
    h.take(1)
    h.send(3, b"hi\r\n")
    assert h.take(1) == ":Bob!Bob@chat-trio PRIVMSG #lobby hi\r\n"
    h.disconnect(2, Reason.QUIT)
    h.take(1)
    h.connect(4)
    h.send(4, b"alice hunter2222\r\n")
    assert h.take(1) == ":Alice!Alice@chat-trio JOIN #lobby Alice Alice\r\n"


def test_irc_door_sasl_hold_is_bounded_for_a_client_that_never_ends_cap() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    registered_account(h)
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"CAP LS 302\r\nNICK Bob\r\nUSER b 0 * :b\r\nCAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n")
    h.send(2, b"AUTHENTICATE " + plain("alice", "hunter2222") + b"\r\n")
    assert " 001 " not in h.take(2)  # held for CAP END
    h.register(3, "Carol")
    for n in range(200):  # private messages pile up for a client that never says CAP END
        h.send(3, f"/msg alice {'x' * 100} {n}\r\n".encode())
    got = h.take(2)
    assert ":irc.test 001 Alice " in got  # the hold gave up, in order, and nothing was lost
    assert got.index(" 001 ") < got.index("PRIVMSG Alice")
    assert got.count("PRIVMSG Alice") == 200


LABELS = ("labeled-response", "batch")


def test_irc_door_labeled_response_ack_one_message_or_a_batch() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    assert "labeled-response" in irc_user(h, 2, "Bob", *LABELS)
    h.send(2, b"@label=p1 PONG irc.test\r\n@label=m1 MODE Bob\r\n")
    assert h.take(2) == "@label=p1 :irc.test ACK\r\n@label=m1 :irc.test 221 Bob +\r\n"
    h.send(2, b"@label=w1 WHOIS alice\r\n")
    got = h.take(2).split("\r\n")
    assert got[0] == "@label=w1 BATCH +l1 labeled-response"
    assert got[1] == "@batch=l1 :irc.test 311 Bob Alice Alice chat-trio * Alice"
    assert all(line.startswith("@batch=l1 :irc.test ") for line in got[1:-2])
    assert got[-2:] == ["BATCH -l1", ""]
    h.send(2, b"@label=x FROB\r\n@label=y JOIN\r\nMODE Bob\r\n")  # 421, 461, unlabelled
    assert h.take(2) == (
        "@label=x :irc.test 421 Bob FROB :Unknown command\r\n"
        "@label=y :irc.test 461 Bob JOIN :Not enough parameters\r\n"
        ":irc.test 221 Bob +\r\n"
    )


def test_irc_door_labeled_message_to_oneself_labels_the_echo_only() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    irc_user(h, 2, "Bob", *LABELS, "echo-message", "message-tags")
    h.send(2, b"@label=s1 PRIVMSG Bob :hi\r\n@label=s2;+typing=active TAGMSG Bob\r\n")
    run = h.chat.instance
    assert h.take(2) == (  # what Bob receives as anyone would, then the labelled echo
        f"@msgid={run}:2 :Bob!Bob@chat-trio PRIVMSG Bob hi\r\n"
        f"@label=s1;msgid={run}:2 :Bob!Bob@chat-trio PRIVMSG Bob hi\r\n"
        f"@+typing=active;msgid={run}:3 :Bob!Bob@chat-trio TAGMSG Bob\r\n"
        f"@label=s2;+typing=active;msgid={run}:3 :Bob!Bob@chat-trio TAGMSG Bob\r\n"
    )


def test_irc_door_labeled_join_holds_its_names_and_others_see_no_label() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", *LABELS, "echo-message")
    h.send(2, b"@label=j JOIN #rust\r\n")
    assert h.take(2) == (
        "@label=j BATCH +l1 labeled-response\r\n"
        "@batch=l1 :Bob!Bob@chat-trio JOIN #rust\r\n"
        "@batch=l1 :irc.test 353 Bob = #rust @Bob\r\n"
        "@batch=l1 :irc.test 366 Bob #rust :End of /NAMES list\r\n"
        "BATCH -l1\r\n"
    )
    h.send(2, b"@label=s;+draft/reply=x PRIVMSG #lobby :hello\r\n")
    assert h.take(2) == "@label=s :Bob!Bob@chat-trio PRIVMSG #lobby hello\r\n"  # the echo
    assert h.take(1).endswith("\r\nBob: hello\r\n")


def test_irc_door_labeled_chathistory_nests_its_batch() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    h.register(1, "Alice")
    h.send(1, b"one\r\n")
    irc_user(h, 2, "Bob", *LABELS, "draft/chathistory")
    h.send(2, b"@label=h CHATHISTORY LATEST #lobby * 1\r\n")
    assert h.take(2) == (
        "@label=h BATCH +l3 labeled-response\r\n"  # h1: the history on joining
        "@batch=l3 BATCH +h2 chathistory #lobby\r\n"
        "@batch=h2 :Bob!Bob@chat-trio JOIN #lobby\r\n"
        "@batch=l3 BATCH -h2\r\n"
        "BATCH -l3\r\n"
    )


def test_irc_door_labels_only_with_the_caps_and_a_short_label() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", "batch")  # no labeled-response
    h.send(2, b"@label=a MODE Bob\r\n")
    assert h.take(2) == ":irc.test 221 Bob +\r\n"
    irc_user(h, 3, "Carol", *LABELS)
    h.send(3, b"@label=" + b"x" * 65 + b" MODE Carol\r\n@label= MODE Carol\r\n")
    assert h.take(3) == ":irc.test 221 Carol +\r\n" * 2
    h.send(3, b"@label=a\\sb MODE Carol\r\n")  # escapes kept as they came
    assert h.take(3) == "@label=a\\sb :irc.test 221 Carol +\r\n"


def test_irc_door_a_private_message_arriving_mid_answer_is_not_labelled() -> None:
    h = Harness(Rules(flood_burst=3, flood_rate=1.0))  # registering takes 3 (CAP LS, REQ, NICK)
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", *LABELS)
    h.take(1)
    lines = b"".join(b"PRIVMSG #lobby :%d\r\n" % n for n in range(3))
    h.send(2, lines + b"@label=q PRIVMSG #lobby :2\r\n")  # the fourth waits
    assert h.take(1) == "Bob: 0\r\nBob: 1\r\nBob: 2\r\n"
    assert h.take(2) == ""  # the notice to slow down answers it: it may be the only line
    assert h.line(1, "/msg Bob psst") == "[PM to Bob] psst\r\n"
    assert h.take(2) == ":Alice!Alice@chat-trio PRIVMSG Bob psst\r\n"
    h.expire(2, 1.0)
    assert h.take(1) == "Bob: 2\r\n"
    assert h.take(2).startswith("@label=q :irc.test NOTICE Bob :Slow down")


def test_irc_door_the_servers_ping_is_never_part_of_an_answer() -> None:
    h = Harness(Rules(flood_burst=3, flood_rate=0.001))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", *LABELS)
    lines = b"".join(b"PRIVMSG #lobby :%d\r\n" % n for n in range(3))
    h.send(2, lines + b"@label=q PRIVMSG #lobby :2\r\n")
    h.take(2)
    h.expire(2, SETTINGS.keepalive.ping_interval)
    assert h.take(2) == "PING irc.test\r\n"


def test_irc_door_names_of_a_big_room_come_in_pages_with_one_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16, hole 3: every list has a bound; NAMES lists everyone, a page at a time,
    each asked for once the one before is on its way."""
    monkeypatch.setattr(rooms, "LIST_MAX", 3)
    h = Harness(Rules(flood_rate=0))
    for conn in range(1, 8):
        h.register(conn, f"User{conn}")
    received = irc_user(h, 9, "Zed")
    names = [
        name
        for line in received.split("\r\n")
        if " 353 Zed = #lobby :" in line
        for name in line.split(" :", 1)[1].split()
    ]
    assert names == [f"User{n}" for n in range(1, 8)] + ["Zed"]
    assert received.count(" 366 Zed #lobby ") == 1
    assert received.index(" 366 Zed #lobby ") > received.rindex(" 353 Zed = #lobby ")


def test_irc_door_ison_answers_the_names_asked_for_that_are_online() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.send(2, b"ISON alice nobody BOB\r\nUSERHOST alice\r\n")
    assert h.take(2) == (
        ":irc.test 303 Bob :Alice Bob\r\n:irc.test 302 Bob Alice=+Alice@chat-trio\r\n"
    )


def test_irc_door_capability_sets_kept_for_sharing_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16, hole 6: every subset of the capabilities asked for was kept for good
    (2^14 sets, 26 MB)."""
    monkeypatch.setattr(door_module, "_CAP_SETS", {})
    monkeypatch.setattr(door_module, "CAP_SETS_MAX", 4)
    caps = ["batch", "echo-message", "server-time", "message-tags", "multi-prefix", "sasl"]
    h = Harness(Rules(flood_rate=0))
    for conn in range(1, 1 << len(caps)):  # 63 sets
        wanted = " ".join(c for bit, c in enumerate(caps) if conn >> bit & 1)
        h.connect(conn, door=IrcDoor(SETTINGS))
        h.send(conn, f"CAP REQ :{wanted}\r\nCAP LIST\r\n".encode())
        answer = h.take(conn)  # past the bound too, each gets what it asked for
        listed = answer.rsplit(" LIST ", 1)[1].lstrip(":").split()
        assert " ACK " in answer and sorted(listed) == sorted(wanted.split())
    assert len(door_module._CAP_SETS) == 4


def test_irc_door_registration_and_sasl_move_only_as_their_tables_say() -> None:
    assert door_module.advance(Stage.OPEN, Move.ASK) is Stage.ASKED
    with pytest.raises(ValueError, match="no registration move from REGISTERED on ASK"):
        door_module.advance(Stage.REGISTERED, Move.ASK)
    with pytest.raises(ValueError, match="no SASL transition from IDLE to CHECKING"):
        door_module.sasl_to(Sasl.IDLE, Sasl.CHECKING)


def test_irc_door_nickserv_answers_as_nickserv_in_irc_words() -> None:
    """Issue 17, item 6: no "type at the prompt" on IRC, and one prefix for accounts."""
    h = Harness(stored=True)
    irc_user(h, 1, "Bob")
    h.take(1)
    h.send(1, b"PRIVMSG NickServ :REGISTER horse-battery\r\n")
    got = h.take(1)
    assert got.startswith(":NickServ!NickServ@chat-trio NOTICE Bob :Registered Bob.")
    assert "prompt" not in got and "/msg NickServ IDENTIFY Bob <password>" in got
    h.send(1, b"PRIVMSG NickServ :REGISTER horse-battery\r\n")  # a refusal: NickServ too
    assert h.take(1).startswith(":NickServ!NickServ@chat-trio NOTICE Bob :Bob is registered")
    h.send(1, b"AWAY\r\n")  # not away: 305 as IRC says it, nothing told to anyone
    assert h.take(1) == ":irc.test 305 Bob :You are no longer marked as being away\r\n"


def test_irc_door_says_why_an_admin_may_not_ban_their_own_address() -> None:
    refused = Refused(Problem.BAN_OWN_ADDRESS, name="10.0.0.1", like="Dora")
    assert IrcDoor(SETTINGS).render([refused]) == (
        b":irc.test NOTICE * :Dora shares your address (10.0.0.1): banning it would lock you "
        b"out too; KILL them instead\r\n"
    )
    typed = Refused(Problem.BAN_OWN_ADDRESS, name="10.0.0.1")
    assert IrcDoor(SETTINGS).render([typed]) == (
        b":irc.test NOTICE * :You are connected from 10.0.0.1: banning it would lock you out "
        b"too\r\n"
    )


def test_irc_door_one_quit_per_person_with_the_users_words_behind_the_servers() -> None:
    """Issue 18: a QUIT came once per shared channel (irssi printed each), and said only
    "Quit"; PART dropped its reason."""
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Ann")
    irc_user(h, 2, "Bob")
    h.send(1, b"JOIN #rust\r\n")
    h.send(2, b"JOIN #rust\r\nJOIN #go\r\n")
    h.send(1, b"JOIN #go\r\n")
    h.take(1), h.take(2)
    h.send(2, b"PART #go :too slow for me\r\n")
    assert h.take(1) == ":Bob!Bob@chat-trio PART #go :too slow for me\r\n"
    h.send(2, b"NICK Robert\r\n")
    assert h.take(1) == ":Bob!Bob@chat-trio NICK Robert\r\n"  # once, not once per channel
    h.send(2, b"QUIT :gone fishing\r\n")
    h.disconnect(2, h.closed[2])
    assert h.take(1) == ":Robert!Bob@chat-trio QUIT :Quit: gone fishing\r\n"


def tag_takers() -> tuple[Harness, str]:
    """Dave on nc (1), and on IRC Alice (2: message-tags, echo-message), Bob (3:
    message-tags) and Carol (4: server-time, tags but not the client's), all in #lobby;
    and the run's part of message ids."""
    h = Harness(Rules(flood_rate=0), stored=True)
    h.register(1, "Dave")
    irc_user(h, 2, "Alice", "message-tags", "echo-message")
    irc_user(h, 3, "Bob", "message-tags")
    irc_user(h, 4, "Carol", "server-time")
    h.take(1), h.take(2), h.take(3), h.take(4)
    return h, h.chat.instance


def test_irc_door_client_only_tags_reach_only_those_that_take_tags() -> None:
    h, run = tag_takers()
    h.send(2, b"@+draft/reply=x\\sy;fizz=buzz;+typing=done PRIVMSG #lobby :hi\r\n")
    tagged = f"@+draft/reply=x\\sy;+typing=done;msgid={run}:5 :Alice!Alice@chat-trio PRIVMSG #lobby hi\r\n"
    assert h.take(3) == tagged  # the server's own tag (fizz) is not relayed
    assert h.take(2) == tagged  # the echo, with the same tags and id
    assert (
        h.take(4) == "@time=2023-11-14T22:13:20.000Z :Alice!Alice@chat-trio PRIVMSG #lobby hi\r\n"
    )
    assert h.take(1) == "Alice: hi\r\n"
    h.send(2, b"@+draft/react=:) NOTICE Bob :ok\r\nPRIVMSG Carol :psst\r\n")
    assert h.take(3) == f"@+draft/react=:);msgid={run}:6 :Alice!Alice@chat-trio NOTICE Bob ok\r\n"
    assert h.take(4).endswith(":Alice!Alice@chat-trio PRIVMSG Carol psst\r\n")


def test_irc_door_tagmsg_reaches_only_those_that_take_tags() -> None:
    h, run = tag_takers()
    h.send(2, b"@+typing=active;cat=dog TAGMSG #lobby\r\n")
    tagmsg = f"@+typing=active;msgid={run}:5 :Alice!Alice@chat-trio TAGMSG #lobby\r\n"
    assert h.take(3) == tagmsg
    assert h.take(2) == tagmsg  # echo-message: the same id
    assert h.take(4) == "" and h.take(1) == ""
    h.send(2, b"@+draft/react=x TAGMSG Bob\r\n@+typing=active TAGMSG Carol\r\n")
    assert h.take(3) == f"@+draft/react=x;msgid={run}:6 :Alice!Alice@chat-trio TAGMSG Bob\r\n"
    assert h.take(4) == ""
    echoes = h.take(2)
    assert echoes == (
        f"@+draft/react=x;msgid={run}:6 :Alice!Alice@chat-trio TAGMSG Bob\r\n"
        f"@+typing=active;msgid={run}:7 :Alice!Alice@chat-trio TAGMSG Carol\r\n"
    )
    h.send(2, b"@cat=dog TAGMSG #lobby\r\nTAGMSG #nowhere\r\n@+a=b TAGMSG #nowhere\r\n")
    assert h.take(2) == ":irc.test 404 Alice #nowhere :You are not in #nowhere.\r\n"
    assert h.take(3) == ""  # no client tag: nothing is sent
    h.send(2, b"TAGMSG\r\n")
    assert " 461 Alice TAGMSG " in h.take(2)


def test_irc_door_msgid_tag_only_to_clients_that_negotiated_message_tags() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    run = h.chat.instance  # ids are <the run's instance>:<n>, the n-th message of the run
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", "message-tags", "echo-message")
    irc_user(h, 3, "Carol")  # no capabilities: no tags
    irc_user(h, 4, "Dave", "server-time", "message-tags")
    h.take(2), h.take(3), h.take(1)  # who joined
    h.send(1, b"hi\r\n/me waves\r\n")  # (#lobby's topic is for admins: test_roles)
    assert h.take(2) == (
        f"@msgid={run}:5 :Alice!Alice@chat-trio PRIVMSG #lobby hi\r\n"
        f"@msgid={run}:6 :Alice!Alice@chat-trio PRIVMSG #lobby :\x01ACTION waves\x01\r\n"
    )
    assert h.take(3) == (
        ":Alice!Alice@chat-trio PRIVMSG #lobby hi\r\n"
        ":Alice!Alice@chat-trio PRIVMSG #lobby :\x01ACTION waves\x01\r\n"
    )
    first = h.take(4).split("\r\n")[0]
    assert first == (
        f"@time=2023-11-14T22:13:20.000Z;msgid={run}:5 :Alice!Alice@chat-trio PRIVMSG #lobby hi"
    )
    # echo-message: the sender's copy has the id everyone else's has.
    h.send(2, b"PRIVMSG #lobby :hello\r\nPRIVMSG alice :psst\r\n")
    assert h.take(2) == (
        f"@msgid={run}:7 :Bob!Bob@chat-trio PRIVMSG #lobby hello\r\n"
        f"@msgid={run}:8 :Bob!Bob@chat-trio PRIVMSG Alice psst\r\n"
    )
    assert h.take(3) == ":Bob!Bob@chat-trio PRIVMSG #lobby hello\r\n"
    assert h.take(1).endswith("\r\nBob: hello\r\n[PM from Bob] psst\r\n")  # nc: no ids
    h.send(1, b"/msg bob back\r\n/msg carol back\r\n")
    assert h.take(2) == f"@msgid={run}:9 :Alice!Alice@chat-trio PRIVMSG Bob back\r\n"
    assert h.take(3) == ":Alice!Alice@chat-trio PRIVMSG Carol back\r\n"


def test_irc_door_history_replay_and_chathistory_carry_msgid() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    run = h.chat.instance
    h.register(1, "Alice")
    for n in range(6):
        h.wall = 1_700_000_000.0 + n
        h.send(1, f"line {n}\r\n".encode())  # ids run:2 to run:7 (run:1: Alice joined)
    joined = irc_user(h, 2, "Bob", "batch", "server-time", "message-tags", "draft/chathistory")
    assert "MSGREFTYPES=msgid,timestamp" in joined
    assert (
        f"@batch=h1;time=2023-11-14T22:13:25.000Z;msgid={run}:7"
        " :Alice!Alice@chat-trio PRIVMSG #lobby :line 5\r\n"
    ) in joined

    def texts(command: str) -> list[str]:
        h.send(2, f"{command}\r\n".encode())
        lines = h.take(2).split("\r\n")
        return [line.rsplit(":", 1)[1] for line in lines if " PRIVMSG " in line]

    assert texts(f"CHATHISTORY BEFORE #lobby msgid={run}:4 10") == ["line 0", "line 1"]
    assert texts(f"CHATHISTORY AFTER #lobby msgid={run}:4 2") == ["line 3", "line 4"]
    assert texts(f"CHATHISTORY AROUND #lobby msgid={run}:4 3") == ["line 1", "line 2", "line 3"]
    # LATEST since a message: the newest after it (what a client missed while away; the
    # newest of all is Bob's JOIN).
    assert texts(f"CHATHISTORY LATEST #lobby msgid={run}:3 3") == ["line 4", "line 5"]
    assert texts("CHATHISTORY LATEST #lobby timestamp=2023-11-14T22:13:21.500Z 5") == [
        "line 2", "line 3", "line 4", "line 5"
    ]  # fmt: skip
    assert texts("CHATHISTORY AFTER #lobby msgid=nope 5") == []  # an empty batch
    h.send(2, f"CHATHISTORY AFTER #lobby msgid={run}:6 1\r\n".encode())
    assert h.take(2) == (
        "BATCH +h8 chathistory #lobby\r\n"
        f"@batch=h8;time=2023-11-14T22:13:25.000Z;msgid={run}:7"
        " :Alice!Alice@chat-trio PRIVMSG #lobby :line 5\r\n"
        "BATCH -h8\r\n"
    )
    # Without message-tags, the same history has no ids.
    irc_user(h, 3, "Carol", "batch", "draft/chathistory")
    h.send(3, f"CHATHISTORY AFTER #lobby msgid={run}:6 1\r\n".encode())
    assert "msgid" not in h.take(3)


# -- room roles ----------------------------------------------------------------------------


def rust_with_irc_operator() -> Harness:
    """Bob (IRC, 2) created #rust; Alice (nc, 1) and Carol (IRC, 3) joined it."""
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    irc_user(h, 3, "Carol", "multi-prefix")
    h.send(2, b"JOIN #rust\r\n")
    h.send(1, b"/join #rust\r\n")
    h.send(3, b"JOIN #rust\r\n")
    for conn in (1, 2, 3):
        h.take(conn)
    return h


def test_irc_door_mode_gives_roles_names_and_who_show_prefixes() -> None:
    h = rust_with_irc_operator()
    h.send(2, b"MODE #rust +ov Carol Carol\r\n")
    assert h.take(2) == (
        ":Bob!Bob@chat-trio MODE #rust +o Carol\r\n:Bob!Bob@chat-trio MODE #rust +v Carol\r\n"
    )
    assert h.take(1) == (
        "* Bob made Carol an operator of #rust.\r\n* Bob gave Carol voice in #rust.\r\n"
    )
    h.take(3)
    h.send(3, b"NAMES #rust\r\n")  # multi-prefix: every prefix
    assert h.take(3) == (
        ":irc.test 353 Carol = #rust :Alice @Bob @+Carol\r\n"
        ":irc.test 366 Carol #rust :End of /NAMES list\r\n"
    )
    h.send(2, b"NAMES #rust\r\nWHO #rust\r\n")  # without: the highest only
    got = h.take(2)
    assert ":irc.test 353 Bob = #rust :Alice @Bob @Carol\r\n" in got
    assert ":irc.test 352 Bob #rust Carol chat-trio irc.test Carol H@ :0 Carol\r\n" in got
    h.send(3, b"MODE #rust -o Bob\r\n")
    assert h.take(2) == ":Carol!Carol@chat-trio MODE #rust -o Bob\r\n"
    h.send(2, b"MODE #rust +v Alice\r\n")
    assert h.take(2) == ":irc.test 482 Bob #rust :You're not channel operator\r\n"


def test_irc_door_mode_queries_refusals_and_fixed_modes() -> None:
    h = rust_with_irc_operator()
    h.send(3, b"MODE #rust\r\nMODE #rust +o Alice\r\nMODE #rust +o\r\n")
    assert h.take(3) == (
        ":irc.test 324 Carol #rust +nt\r\n"
        ":irc.test 329 Carol #rust 1700000000\r\n"
        ":irc.test 482 Carol #rust :You're not channel operator\r\n"
        ":irc.test 461 Carol MODE :Not enough parameters\r\n"
    )
    h.send(2, b"MODE #rust +o Zed\r\nMODE #rust +nt\r\nMODE #rust -t+x\r\nMODE #lobby +o Carol\r\n")
    assert h.take(2) == (
        ":irc.test 401 Bob Zed :No such nick/channel\r\n"
        ":irc.test 472 Bob t :is fixed on every channel here\r\n"
        ":irc.test 472 Bob x :is unknown mode char to me\r\n"
        ":irc.test 482 Bob #lobby :#lobby is the server's room: only admins can use /op there.\r\n"
    )


def test_irc_door_mode_m_and_s_are_set_shown_broadcast_and_enforced() -> None:
    h = rust_with_irc_operator()
    h.send(3, b"MODE #rust +m\r\n")
    assert h.take(3) == ":irc.test 482 Carol #rust :You're not channel operator\r\n"
    h.send(2, b"MODE #rust +ms\r\n")
    mode_lines = ":Bob!Bob@chat-trio MODE #rust +m\r\n:Bob!Bob@chat-trio MODE #rust +s\r\n"
    assert h.take(2) == mode_lines
    assert h.take(3) == mode_lines
    assert h.take(1) == "* Bob made #rust moderated.\r\n* Bob made #rust secret.\r\n"
    h.send(3, b"MODE #rust\r\nPRIVMSG #rust :hello?\r\n")
    assert h.take(3) == (
        ":irc.test 324 Carol #rust +mnst\r\n"
        ":irc.test 329 Carol #rust 1700000000\r\n"
        ":irc.test 404 Carol #rust :Cannot send to channel (+m)\r\n"
    )
    h.send(2, b"MODE #rust +v Carol\r\n")
    h.take(2)
    h.send(3, b"PRIVMSG #rust :now heard\r\n")
    assert h.take(1).endswith("Carol: now heard\r\n")
    assert h.take(2) == ":Carol!Carol@chat-trio PRIVMSG #rust :now heard\r\n"
    h.send(2, b"MODE #rust -m+x\r\n")
    assert h.take(2) == (
        ":Bob!Bob@chat-trio MODE #rust -m\r\n:irc.test 472 Bob x :is unknown mode char to me\r\n"
    )


def test_irc_door_mode_changes_past_modes_per_line_are_dropped() -> None:
    h = rust_with_irc_operator()
    h.send(2, b"MODE #rust +vm-v+vs Alice Alice Carol\r\n")
    got = h.take(2)
    assert got.count(" MODE #rust ") == 4 and " MODE #rust +m\r\n" in got
    assert " MODE #rust +s" not in got  # the fifth change


def test_irc_door_list_hides_a_secret_channel_from_non_members() -> None:
    h = rust_with_irc_operator()
    irc_user(h, 4, "Dave")
    h.send(2, b"MODE #rust +s\r\nLIST\r\n")
    assert " 322 Bob #rust 3 " in h.take(2)
    h.send(4, b"LIST\r\nMODE #rust\r\n")
    got = h.take(4)
    assert " 322 Dave #lobby " in got and " 322 Dave #rust " not in got
    assert " 403 Dave #rust " in got and " 324 " not in got


def test_irc_door_invite_only_key_and_limit_with_invite_and_their_numerics() -> None:
    h = rust_with_irc_operator()
    irc_user(h, 4, "Dave")
    h.take(3)
    h.send(2, b"MODE #rust +ikl s3cret 3\r\n")
    assert h.take(3) == (
        ":Bob!Bob@chat-trio MODE #rust +i\r\n"
        ":Bob!Bob@chat-trio MODE #rust +k s3cret\r\n"
        ":Bob!Bob@chat-trio MODE #rust +l 3\r\n"
    )
    h.take(2)
    h.send(3, b"MODE #rust\r\n")
    assert h.take(3) == (
        ":irc.test 324 Carol #rust +iklnt s3cret 3\r\n:irc.test 329 Carol #rust 1700000000\r\n"
    )
    h.send(4, b"MODE #rust\r\nJOIN #rust\r\n")
    assert h.take(4) == (
        ":irc.test 324 Dave #rust +iklnt * 3\r\n"  # the key: members only
        ":irc.test 329 Dave #rust 1700000000\r\n"
        ":irc.test 473 Dave #rust :Cannot join channel (+i)\r\n"
    )
    h.send(2, b"MODE #rust -i\r\n")
    h.take(2)
    h.take(3)
    h.send(4, b"JOIN #rust wrong\r\nJOIN #rust s3cret\r\n")
    assert h.take(4) == (
        ":irc.test 475 Dave #rust :Cannot join channel (+k)\r\n"
        ":irc.test 471 Dave #rust :Cannot join channel (+l)\r\n"
    )
    h.send(
        2, b"MODE #rust +k other\r\nMODE #rust +l x\r\nMODE #rust +l :\r\nINVITE Carol #rust\r\n"
    )
    assert h.take(2) == (
        ":irc.test 467 Bob #rust :Channel key already set\r\n"
        ":irc.test 696 Bob #rust l x :A member limit is a number\r\n"
        ":irc.test 696 Bob #rust l * :A member limit is a number\r\n"  # (none given)
        ":irc.test 443 Bob Carol #rust :is already on channel\r\n"
    )
    h.send(3, b"INVITE Dave #rust\r\n")
    assert h.take(3) == ":irc.test 482 Carol #rust :You're not channel operator\r\n"
    h.send(2, b"INVITE Dave #rust\r\n")
    assert h.take(2) == ":irc.test 341 Bob Dave #rust\r\n"
    assert h.take(4) == ":Bob!Bob@chat-trio INVITE Dave #rust\r\n"
    h.send(4, b"JOIN #rust\r\n")  # past +k and +l: invited
    assert ":Dave!Dave@chat-trio JOIN #rust\r\n" in h.take(4)


def test_irc_door_invite_alone_lists_ones_invitations_with_336_and_337() -> None:
    h = rust_with_irc_operator()
    irc_user(h, 4, "Dave")
    h.take(1)
    h.send(4, b"INVITE\r\n")
    assert h.take(4) == ":irc.test 337 Dave :End of /INVITE list\r\n"
    h.send(2, b"INVITE Dave #rust\r\n")
    h.take(2)
    assert h.take(4) == ":Bob!Bob@chat-trio INVITE Dave #rust\r\n"
    h.send(4, b"INVITE\r\nINVITE Dave\r\n")
    assert h.take(4) == (
        ":irc.test 336 Dave #rust\r\n:irc.test 337 Dave :End of /INVITE list\r\n"
        ":irc.test 461 Dave INVITE :Not enough parameters\r\n"
    )
    h.send(1, b"/invites\r\n")  # nc users ask with /invites
    assert h.take(1) == "* You hold no invitations.\r\n"


def test_irc_door_invite_notify_tells_the_other_operators_and_329_says_when() -> None:
    h = rust_with_irc_operator()  # Bob created #rust (at the harness's clock)
    irc_user(h, 4, "Dave")
    irc_user(h, 5, "Erin", "invite-notify")
    h.send(2, b"MODE #rust +o Carol\r\n")
    h.send(5, b"JOIN #rust\r\n")
    h.send(2, b"MODE #rust +o Erin\r\n")  # Erin (with the cap) and Carol (without) run it
    for conn in (1, 2, 3, 4, 5):
        h.take(conn)
    h.send(3, b"INVITE Dave #rust\r\n")
    assert h.take(3) == ":irc.test 341 Carol Dave #rust\r\n"
    assert h.take(4) == ":Carol!Carol@chat-trio INVITE Dave #rust\r\n"
    assert h.take(5) == ":Carol!Carol@chat-trio INVITE Dave #rust\r\n"  # invite-notify
    assert h.take(2) == ""  # Bob, an operator without the cap: as before
    assert h.take(1) == ""  # Alice is no operator
    h.wall += 3600.0  # an hour on: #rust was still created when it was
    h.send(4, b"MODE #rust\r\nMODE #lobby\r\n")
    assert h.take(4) == (
        ":irc.test 324 Dave #rust +nt\r\n:irc.test 329 Dave #rust 1700000000\r\n"
        ":irc.test 324 Dave #lobby +nt\r\n:irc.test 329 Dave #lobby 1700000000\r\n"
    )
    h.send(4, b"JOIN #new\r\n")
    h.take(4)
    h.send(4, b"MODE #new\r\n")
    assert h.take(4) == ":irc.test 324 Dave #new +nt\r\n:irc.test 329 Dave #new 1700003600\r\n"


def test_irc_door_join_takes_one_key_per_channel() -> None:
    h = rust_with_irc_operator()
    irc_user(h, 4, "Dave")
    h.send(2, b"MODE #rust +k s3cret\r\n")
    h.send(4, b"JOIN #new,#rust x,wrong\r\n")
    got = h.take(4)
    assert ":Dave!Dave@chat-trio JOIN #new\r\n" in got
    assert got.endswith(":irc.test 475 Dave #rust :Cannot join channel (+k)\r\n")
    h.send(4, b"JOIN #rust,#new2 s3cret\r\n")
    got = h.take(4)
    assert ":Dave!Dave@chat-trio JOIN #rust\r\n" in got
    assert ":Dave!Dave@chat-trio JOIN #new2\r\n" in got


def test_irc_door_kick_is_per_channel_and_the_kicked_user_stays() -> None:
    h = rust_with_irc_operator()
    h.send(3, b"KICK #rust Bob :no\r\n")
    assert h.take(3) == ":irc.test 482 Carol #rust :You're not channel operator\r\n"
    h.send(2, b"KICK #rust Carol spamming\r\n")
    assert h.take(2) == ":Bob!Bob@chat-trio KICK #rust Carol spamming\r\n"
    assert h.take(3) == ":Bob!Bob@chat-trio KICK #rust Carol spamming\r\n"
    assert h.take(1) == "* Carol was kicked out of #rust by Bob: spamming\r\n"
    assert 3 not in h.closed
    h.send(3, b"PRIVMSG #rust :let me back\r\n")
    assert h.take(3) == ":irc.test 404 Carol #rust :You are not in #rust.\r\n"
    h.send(2, b"KICK #rust Alice\r\n")  # no reason: the kicker's nick, as IRC servers do
    assert h.take(2) == ":Bob!Bob@chat-trio KICK #rust Alice Bob\r\n"
    assert h.take(1) == "* You were kicked out of #rust by Bob. Now talking in #lobby.\r\n"
    h.send(2, b"KICK #rust Carol\r\n")
    assert h.take(2) == ":irc.test 441 Bob Carol #rust :They aren't on that channel\r\n"
    h.send(3, b"PART #lobby\r\nJOIN #rust\r\n")
    h.take(3)
    h.take(2)
    h.send(2, b"KICK #rust Carol\r\n")  # her only channel: she is in none after it
    assert h.take(3) == ":Bob!Bob@chat-trio KICK #rust Carol Bob\r\n"
    h.take(2)
    h.send(3, b"PING x\r\nPRIVMSG Bob :why?\r\n")  # still connected, and may talk to people
    assert h.take(3) == ":irc.test PONG irc.test x\r\n"
    assert h.take(2) == ":Carol!Carol@chat-trio PRIVMSG Bob why?\r\n"


# -- notices -------------------------------------------------------------------------------


def test_irc_door_notice_arrives_as_notice_with_tags_and_is_echoed_as_one() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    run = h.chat.instance
    h.register(1, "Alice")
    irc_user(h, 2, "Bob", "message-tags", "echo-message", "server-time")
    irc_user(h, 3, "Carol", "message-tags", "account-tag")
    h.take(1), h.take(2)  # who joined
    h.send(2, b"NOTICE #lobby :build is green\r\nNOTICE carol :psst\r\n")
    stamp = "time=2023-11-14T22:13:20.000Z"
    assert h.take(2) == (  # echo-message: as NOTICE, with the id the others got
        f"@{stamp};msgid={run}:4 :Bob!Bob@chat-trio NOTICE #lobby :build is green\r\n"
        f"@{stamp};msgid={run}:5 :Bob!Bob@chat-trio NOTICE Carol psst\r\n"
    )
    assert h.take(3) == (
        f"@msgid={run}:4 :Bob!Bob@chat-trio NOTICE #lobby :build is green\r\n"
        f"@msgid={run}:5 :Bob!Bob@chat-trio NOTICE Carol psst\r\n"
    )
    assert h.take(1) == "-Bob- build is green\r\n"  # nc: a notice of its own
    h.send(1, b"/notice #lobby back up\r\n/notice carol hi\r\n")
    assert h.take(3) == (
        f"@msgid={run}:6 :Alice!Alice@chat-trio NOTICE #lobby :back up\r\n"
        f"@msgid={run}:7 :Alice!Alice@chat-trio NOTICE Carol hi\r\n"
    )


def test_irc_door_notice_is_never_answered_no_numerics_no_ctcp_no_away() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    h.send(1, b"/away lunch\r\n")
    h.take(1), h.take(2)
    h.send(
        2,
        b"NOTICE nobody :hi\r\nNOTICE #nowhere :hi\r\nNOTICE\r\nNOTICE alice\r\n"
        b"NOTICE alice :\x01VERSION\x01\r\nNOTICE NickServ :help\r\nNOTICE alice :hi\r\n",
    )
    assert h.take(2) == ""  # no 401, 404, 411, 412, CTCP answer, NickServ help or 301
    assert h.take(1) == "[notice from Bob] hi\r\n"
    h.send(2, b"PRIVMSG nobody :hi\r\nPRIVMSG alice :\x01VERSION\x01\r\n")  # as before
    answered = h.take(2)
    assert ":irc.test 401 Bob nobody :No such nick/channel\r\n" in answered
    assert "NOTICE Bob :\x01VERSION chat-trio" in answered


def test_irc_door_history_replays_a_notice_as_notice() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    h.register(1, "Alice")
    h.send(1, b"/notice #lobby maintenance at noon\r\n")
    joined = irc_user(h, 2, "Bob", "batch", "server-time", "draft/chathistory")
    assert " :Alice!Alice@chat-trio NOTICE #lobby :maintenance at noon\r\n" in joined
    h.send(2, b"CHATHISTORY LATEST #lobby * 5\r\n")
    assert " :Alice!Alice@chat-trio NOTICE #lobby :maintenance at noon\r\n" in h.take(2)


def test_irc_door_mode_b_sets_lists_and_lifts_bans_with_their_numerics() -> None:
    h = rust_with_irc_operator()
    irc_user(h, 4, "Dave")
    for conn in (1, 2, 3):
        h.take(conn)
    h.send(2, b"MODE #rust +b Dave\r\n")  # a bare nick is Dave!*@*, as servers make it
    ban_line = ":Bob!Bob@chat-trio MODE #rust +b Dave!*@*\r\n"
    assert h.take(2) == ban_line
    assert h.take(3) == ban_line
    assert h.take(1) == "* Bob banned Dave!*@* from #rust.\r\n"
    h.send(4, b"JOIN #rust\r\n")
    assert h.take(4) == ":irc.test 474 Dave #rust :Cannot join channel (+b)\r\n"
    h.send(3, b"MODE #rust b\r\nMODE #rust +b\r\nMODE #rust +b *!*@*\r\n")  # lists: anyone
    listed = (
        ":irc.test 367 Carol #rust Dave!*@* Bob 1700000000\r\n"
        ":irc.test 368 Carol #rust :End of channel ban list\r\n"
    )
    assert (
        h.take(3) == listed + listed + ":irc.test 482 Carol #rust :You're not channel operator\r\n"
    )
    h.send(2, b"MODE #rust +b-b *!*@Chat-Trio dave\r\n")  # -b takes the ban as shown
    assert h.take(2) == (
        ":Bob!Bob@chat-trio MODE #rust +b *!*@Chat-Trio\r\n"
        ":Bob!Bob@chat-trio MODE #rust -b Dave!*@*\r\n"
    )
    h.take(3)
    h.send(3, b"PRIVMSG #rust :still here?\r\n")  # banned by the mask, but still a member
    assert h.take(3) == ":irc.test 404 Carol #rust :Cannot send to channel (you're banned)\r\n"
    h.send(2, b"MODE #rust -b nobody\r\n")
    assert h.take(2) == (
        ":irc.test NOTICE Bob :#rust has no ban on nobody (/bans #rust lists them).\r\n"
    )


def test_irc_door_ban_list_full_is_478_and_bans_count_toward_modes() -> None:
    h = rust_with_irc_operator()
    for n in range(0, roles.BANS_MAX, 4):
        masks = " ".join(f"n{m}!*@*" for m in range(n, n + 4))
        h.send(2, f"MODE #rust +bbbbb {masks} extra!*@*\r\n".encode())
    got = h.take(2)
    assert got.count(" MODE #rust +b ") == roles.BANS_MAX and "extra" not in got  # MODES=4
    h.send(2, b"MODE #rust +b one-more\r\n")
    assert h.take(2) == ":irc.test 478 Bob #rust b :Channel ban list is full\r\n"


def test_irc_door_an_account_ban_is_shown_and_lifted_as_an_extban() -> None:
    h = rust_with_irc_operator()
    h.chat.registry.accounts["dave"] = Account("Dave", "hash", id="D")
    h.send(2, b"MODE #rust +b ~a:dave\r\nMODE #rust b\r\n")
    assert h.take(2) == (
        ":Bob!Bob@chat-trio MODE #rust +b ~a:Dave\r\n"
        ":irc.test 367 Bob #rust ~a:Dave Bob 1700000000\r\n"
        ":irc.test 368 Bob #rust :End of channel ban list\r\n"
    )
    assert h.take(1) == "* Bob banned the account Dave from #rust.\r\n"
    h.send(2, b"MODE #rust -b ~a:DAVE\r\n")
    assert h.take(2) == ":Bob!Bob@chat-trio MODE #rust -b ~a:Dave\r\n"


def test_irc_door_chanserv_registers_rooms_and_answers_as_chanserv() -> None:
    h = Harness(stored=True)
    irc_user(h, 1, "Bob")
    h.send(1, b"PRIVMSG NickServ :REGISTER horse-battery\r\nJOIN #rust\r\n")
    h.take(1)
    h.send(1, b"PRIVMSG ChanServ :REGISTER #rust\r\n")
    got = h.take(1)
    assert got.startswith(":ChanServ!ChanServ@chat-trio NOTICE Bob :Registered #rust:")
    h.send(1, b"CS REGISTER #rust\r\n")  # /cs: the same service
    assert h.take(1).startswith(
        ":ChanServ!ChanServ@chat-trio NOTICE Bob :#rust is registered already"
    )
    h.send(1, b"PRIVMSG ChanServ :AMODE #rust +o Nobody\r\n")
    assert h.take(1).endswith(' NOTICE Bob :There is no account "Nobody".\r\n')
    h.send(1, b"PRIVMSG ChanServ :INFO #rust\r\n")
    assert h.take(1).startswith(
        ":ChanServ!ChanServ@chat-trio NOTICE Bob :#rust was registered by Bob on "
    )
    h.send(1, b"PRIVMSG ChanServ :UNREGISTER #rust\r\n")
    assert h.take(1).startswith(
        ":ChanServ!ChanServ@chat-trio NOTICE Bob :Dropped the registration of #rust"
    )
    h.send(1, b"PRIVMSG ChanServ :HELP\r\n")
    assert h.take(1).startswith(":ChanServ!ChanServ@chat-trio NOTICE Bob :Commands: REGISTER")


def test_irc_door_a_founder_who_identifies_after_joining_gets_mode_o_from_chanserv() -> None:
    """irssi and WeeChat join their channels first and identify to NickServ after."""
    h = Harness(stored=True)
    irc_user(h, 1, "Bob")
    h.send(1, b"PRIVMSG NickServ :REGISTER horse-battery\r\nJOIN #rust\r\n")
    h.send(1, b"PRIVMSG ChanServ :REGISTER #rust\r\nQUIT\r\n")
    irc_user(h, 2, "Bobby")
    h.send(2, b"JOIN #rust\r\n")
    assert "@Bobby" not in h.take(2)  # the first joiner of a registered room: no op
    h.send(2, b"PRIVMSG NickServ :IDENTIFY Bob horse-battery\r\n")
    assert ":ChanServ!ChanServ@chat-trio MODE #rust +o Bob\r\n" in h.take(2)


# -- replies as the modern IRC docs give them (measured by irctest: tests/test_irctest.py) --


def bob_alone() -> Harness:
    """Bob, an IRC user (1), alone on the server."""
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    return h


def test_irc_door_ping_needs_a_token_to_echo() -> None:
    h = bob_alone()
    h.send(1, b"PING\r\nPING :a b\r\n")
    assert h.take(1) == (
        ":irc.test 461 Bob PING :Not enough parameters\r\n:irc.test PONG irc.test :a b\r\n"
    )


def test_irc_door_a_channel_that_does_not_exist_is_403_one_not_joined_442() -> None:
    h = rust_with_irc_operator()
    h.send(
        2,
        b"TOPIC #none :x\r\nKICK #none Carol\r\nMODE #none +o Carol\r\nPART #none\r\n"
        b"PART #rust\r\nTOPIC #rust :x\r\nKICK #rust Carol\r\nMODE #rust +m\r\n",
    )
    none = ":irc.test 403 Bob #none :There is no room #none.\r\n"
    away = ":irc.test 442 Bob #rust :You are not in #rust.\r\n"
    assert h.take(2) == none * 4 + ":Bob!Bob@chat-trio PART #rust\r\n" + away * 3
    assert h.take(1) == "* Bob left #rust\r\n"


def test_irc_door_names_who_and_whois_of_what_is_not_there_end_their_list() -> None:
    h = bob_alone()
    h.send(1, b"NAMES #none\r\nNAMES none\r\nWHO nobody\r\nWHO #none\r\nWHOIS nobody\r\n")
    assert h.take(1) == (
        ":irc.test 366 Bob #none :End of /NAMES list\r\n"
        ":irc.test 366 Bob none :End of /NAMES list\r\n"
        ":irc.test 315 Bob nobody :End of WHO list\r\n"
        ":irc.test 315 Bob #none :End of WHO list\r\n"
        ":irc.test 401 Bob nobody :No such nick/channel\r\n"
        ":irc.test 318 Bob nobody :End of /WHOIS list\r\n"
    )
    h.send(1, b"NOTICE #none :hi\r\nNOTICE nobody :hi\r\n")  # never answered, as before
    assert h.take(1) == ""


def test_irc_door_part_shows_its_reason_to_the_one_leaving_as_to_the_room() -> None:
    h = rust_with_irc_operator()
    h.send(3, b"PART #rust :see you all\r\nPART #lobby\r\n")
    assert h.take(3) == (
        ":Carol!Carol@chat-trio PART #rust :see you all\r\n:Carol!Carol@chat-trio PART #lobby\r\n"
    )
    assert h.take(2).startswith(":Carol!Carol@chat-trio PART #rust :see you all\r\n")


def test_irc_door_user_with_an_empty_username_or_realname_is_461_and_does_not_register() -> None:
    h = Harness(Rules(flood_rate=0))
    h.connect(1, door=IrcDoor(SETTINGS))
    h.send(1, b"NICK Bob\r\nUSER bob 0 * :\r\nUSER :\r\n")
    got = h.take(1)
    assert got.endswith(":irc.test 461 * USER :Not enough parameters\r\n" * 2)
    assert " 001 " not in got
    h.send(1, b"USER bob 0 * :Bob\r\n")
    assert " 001 Bob " in h.take(1)


def test_irc_door_nick_to_ones_own_nick_is_not_answered_and_a_new_case_is_a_rename() -> None:
    h = bob_alone()
    h.send(1, b"NICK Bob\r\nNICK BOB\r\n")
    assert h.take(1) == ":Bob!Bob@chat-trio NICK BOB\r\n"


@pytest.mark.parametrize(
    ("asked", "sasl"), [(b"CAP LS", " sasl "), (b"CAP LS 302", " sasl=PLAIN ")]
)
def test_irc_door_cap_ls_gives_values_only_to_a_302_client(asked: bytes, sasl: str) -> None:
    h = Harness(Rules(flood_rate=0))
    h.connect(1, door=IrcDoor(SETTINGS))
    h.send(1, asked + b"\r\n")
    offered = h.take(1).split("\r\n")[1]
    assert offered.startswith(":irc.test CAP * LS :") and sasl in offered
    assert "=" not in offered.replace(sasl, "")


def test_irc_door_userhost_marks_an_away_user_with_a_minus() -> None:
    h = bob_alone()
    irc_user(h, 2, "Carol")
    h.send(2, b"AWAY :lunch\r\n")
    h.take(1), h.take(2)
    h.send(1, b"USERHOST Carol Bob nobody\r\n")
    assert h.take(1) == ":irc.test 302 Bob :Carol=-Carol@chat-trio Bob=+Bob@chat-trio\r\n"


def test_irc_door_list_names_channels_with_members_only_and_those_asked_for() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "Bob", "bob")
    h.send(1, b"LIST\r\n")  # #lobby exists, but nobody is in it
    assert (
        h.take(1) == ":irc.test 321 Bob Channel :Users  Name\r\n:irc.test 323 Bob :End of /LIST\r\n"
    )
    h.send(1, b"JOIN #a,#b\r\n")
    h.take(1)
    h.send(1, b"LIST #b,#none\r\n")
    assert h.take(1) == (
        ":irc.test 321 Bob Channel :Users  Name\r\n"
        ":irc.test 322 Bob #b 1 :\r\n"
        ":irc.test 323 Bob :End of /LIST\r\n"
    )


def test_irc_door_whois_marks_the_channels_someone_runs_or_has_voice_in() -> None:
    h = rust_with_irc_operator()
    h.send(2, b"MODE #rust +v Bob\r\nWHOIS Bob\r\n")
    assert ":irc.test 319 Bob Bob :#lobby @#rust\r\n" in h.take(2)
    h.send(3, b"WHOIS Bob\r\n")  # with multi-prefix, every prefix
    assert ":irc.test 319 Carol Bob :#lobby @+#rust\r\n" in h.take(3)


def test_irc_door_names_of_a_secret_channel_is_marked_with_at() -> None:
    h = rust_with_irc_operator()
    h.send(2, b"MODE #rust +s\r\nNAMES #rust\r\n")
    assert ":irc.test 353 Bob @ #rust :Alice @Bob Carol\r\n" in h.take(2)


def test_irc_door_an_away_users_join_is_followed_by_its_away_for_away_notify() -> None:
    h = rust_with_irc_operator()
    irc_user(h, 4, "Dave", "away-notify")
    h.send(4, b"JOIN #rust\r\n")
    h.take(4), h.take(2)
    h.send(3, b"AWAY :lunch\r\nPART #rust\r\nJOIN #rust\r\n")
    got = h.take(4)
    assert ":Carol!Carol@chat-trio JOIN #rust\r\n:Carol!Carol@chat-trio AWAY lunch\r\n" in got
    assert " AWAY " not in h.take(2)  # without away-notify: the JOIN only


def test_irc_door_join_gives_the_topic_with_who_set_it_and_when() -> None:
    h = rust_with_irc_operator()
    h.send(2, b"TOPIC #rust :All about Rust\r\n")
    h.take(2)
    irc_user(h, 4, "Dave")
    h.send(4, b"JOIN #rust\r\n")
    assert (
        ":irc.test 332 Dave #rust :All about Rust\r\n:irc.test 333 Dave #rust Bob 1700000000\r\n"
    ) in h.take(4)


def dave_among_others() -> Harness:
    """``rust_with_irc_operator``, and Dave (IRC, 4), who gave USER his own username and
    real name, in #rust too."""
    h = rust_with_irc_operator()
    h.connect(4, door=IrcDoor(SETTINGS))
    h.send(4, b"NICK Dave\r\nUSER d.ave_7 0 * :Dave Delaney\r\nJOIN #rust\r\n")
    for conn in (1, 2, 3, 4):
        h.take(conn)
    return h


def test_irc_door_who_whois_and_userhost_show_the_username_and_real_name_from_user() -> None:
    h = dave_among_others()
    h.send(2, b"WHO Dave\r\nWHOIS dave\r\nUSERHOST Dave Alice\r\n")
    got = h.take(2)
    assert got.startswith(
        ":irc.test 352 Bob * d.ave_7 chat-trio irc.test Dave H :0 Dave Delaney\r\n"
        ":irc.test 315 Bob Dave :End of WHO list\r\n"
        ":irc.test 311 Bob Dave d.ave_7 chat-trio * :Dave Delaney\r\n"
    )
    # The text door's users: their name stands for both.
    assert got.endswith(":irc.test 302 Bob :Dave=+d.ave_7@chat-trio Alice=+Alice@chat-trio\r\n")
    h.send(2, b"WHO #rust\r\n")
    assert h.take(2) == (
        ":irc.test 352 Bob #rust Alice chat-trio irc.test Alice H :0 Alice\r\n"
        ":irc.test 352 Bob #rust Bob chat-trio irc.test Bob H@ :0 Bob\r\n"
        ":irc.test 352 Bob #rust Carol chat-trio irc.test Carol H :0 Carol\r\n"
        ":irc.test 352 Bob #rust d.ave_7 chat-trio irc.test Dave H :0 Dave Delaney\r\n"
        ":irc.test 315 Bob #rust :End of WHO list\r\n"
    )


def test_irc_door_a_username_keeps_only_what_a_mask_can_hold_and_is_bounded() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"NICK Eve\r\nUSER e!v@e*?\xc3\xa9x 0 * :Eve\r\n")
    h.connect(3, door=IrcDoor(SETTINGS))
    h.send(3, b"NICK Max\r\nUSER " + b"m" * 40 + b" 0 * :Max\r\n")
    h.connect(4, door=IrcDoor(SETTINGS))
    h.send(4, b"NICK Nil\r\nUSER !!! 0 * :Nil\r\n")
    h.take(1)
    h.send(1, b"USERHOST Eve Max Nil\r\n")
    assert h.take(1) == (
        f":irc.test 302 Bob :Eve=+evex@chat-trio Max=+{'m' * 16}@chat-trio Nil=+Nil@chat-trio\r\n"
    )


def test_irc_door_who_of_a_mask_matches_names_usernames_and_real_names_then_315() -> None:
    h = dave_among_others()
    h.send(2, b"WHO da*\r\nWHO *delaney\r\nWHO ?ob\r\nWHO *\r\n")
    dave = ":irc.test 352 Bob * d.ave_7 chat-trio irc.test Dave H :0 Dave Delaney\r\n"
    alice = ":irc.test 352 Bob * Alice chat-trio irc.test Alice H :0 Alice\r\n"
    bob = ":irc.test 352 Bob * Bob chat-trio irc.test Bob H :0 Bob\r\n"
    carol = ":irc.test 352 Bob * Carol chat-trio irc.test Carol H :0 Carol\r\n"
    assert h.take(2) == (
        f"{dave}:irc.test 315 Bob da* :End of WHO list\r\n"
        f"{dave}:irc.test 315 Bob *delaney :End of WHO list\r\n"
        f"{bob}:irc.test 315 Bob ?ob :End of WHO list\r\n"
        f"{alice}{bob}{carol}{dave}:irc.test 315 Bob * :End of WHO list\r\n"
    )
    h.send(4, b"AWAY :lunch\r\n")
    h.take(2)
    h.send(2, b"WHO dave\r\nWHO #rust\r\n")
    got = h.take(2)
    assert ":irc.test 352 Bob * d.ave_7 chat-trio irc.test Dave G :0 Dave Delaney\r\n" in got
    assert ":irc.test 352 Bob #rust d.ave_7 chat-trio irc.test Dave G :0 Dave Delaney\r\n" in got


def test_irc_door_who_marks_a_server_admin_with_a_star() -> None:
    h = Harness(Rules(flood_rate=0, admins=frozenset({"boss"})), stored=True)
    h.add_account("Boss", "boss-password")
    irc_user(h, 1, "Bob")
    h.connect(2, door=IrcDoor(SETTINGS))
    h.send(2, b"PASS boss-password\r\nNICK Boss\r\nUSER boss 0 * :The Boss\r\n")
    assert " 001 Boss " in h.take(2)
    h.take(1)
    h.send(1, b"WHO Boss\r\n")
    assert h.take(1).startswith(
        ":irc.test 352 Bob * boss chat-trio irc.test Boss H* :0 The Boss\r\n"
    )


def test_irc_door_whox_answers_354_with_the_fields_asked_in_the_specs_order() -> None:
    h = dave_among_others()
    h.send(2, b"WHO Dave %rnaoldfshiuct,123\r\nWHO dave %tn,321\r\n")
    assert h.take(2) == (
        ":irc.test 354 Bob 123 * d.ave_7 255.255.255.255 chat-trio irc.test Dave H 0 0 0 n/a"
        " :Dave Delaney\r\n"
        ":irc.test 315 Bob Dave :End of WHO list\r\n"
        ":irc.test 354 Bob 321 Dave\r\n"
        ":irc.test 315 Bob dave :End of WHO list\r\n"
    )
    h.send(2, b"WHO #rust %cnf\r\n")  # in a room: its name, and the member's prefix
    rows = h.take(2).split("\r\n")
    assert (
        rows[1] == ":irc.test 354 Bob #rust Bob H@" and rows[3] == ":irc.test 354 Bob #rust Dave H"
    )
    assert rows[4] == ":irc.test 315 Bob #rust :End of WHO list"


def test_irc_door_who_of_everyone_answers_one_page_at_most_then_315() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    for conn in range(2, LIST_MAX + 12):
        h.register(conn, f"u{conn:04}")
    h.take(1)
    h.send(1, b"WHO *\r\n")
    rows = h.take(1).split("\r\n")[:-1]
    assert len(rows) == LIST_MAX + 1  # the first LIST_MAX in name order, and the end
    assert rows[-1] == ":irc.test 315 Bob * :End of WHO list"
    assert rows[0].startswith(":irc.test 352 Bob * Bob ")
    assert h.take(1) == ""  # no second page follows


def test_irc_door_lines_come_from_the_mask_who_shows_and_a_rename_keeps_the_username() -> None:
    h = dave_among_others()
    h.send(4, b"PRIVMSG #rust :hi\r\nPRIVMSG Bob :psst\r\nNICK Davy\r\n")
    assert h.take(2) == (
        ":Dave!d.ave_7@chat-trio PRIVMSG #rust hi\r\n"
        ":Dave!d.ave_7@chat-trio PRIVMSG Bob psst\r\n"
        ":Dave!d.ave_7@chat-trio NICK Davy\r\n"
    )
    assert h.take(4) == ":Dave!d.ave_7@chat-trio NICK Davy\r\n"  # its own lines too
    h.send(3, b"CAP REQ userhost-in-names\r\nNAMES #rust\r\n")
    assert ":irc.test 353 Carol = #rust :Alice!Alice@chat-trio @Bob!Bob@chat-trio" in h.take(3)
    h.send(3, b"NAMES #rust\r\n")
    assert " Davy!d.ave_7@chat-trio\r\n" in h.take(3)
    h.send(2, b"MODE #rust +o Davy\r\n")
    h.take(2), h.take(3), h.take(4)
    h.send(4, b"MODE #rust +m\r\nKICK #rust Carol\r\n")  # an operator's acts, too
    assert h.take(3) == (
        ":Davy!d.ave_7@chat-trio MODE #rust +m\r\n:Davy!d.ave_7@chat-trio KICK #rust Carol Davy\r\n"
    )
    h.send(4, b"PART #rust :bye\r\n")
    assert h.take(2).endswith(":Davy!d.ave_7@chat-trio PART #rust bye\r\n")
    assert h.take(4).endswith(":Davy!d.ave_7@chat-trio PART #rust bye\r\n")


def opered_alice_and_bob(*bob_caps: str) -> Harness:
    """Alice and Bob on IRC; the admin account Root exists; Alice OPERs as Root."""
    h = Harness(Rules(flood_rate=0), stored=True)
    h.add_account("Root", "root-password", admin=True)
    irc_user(h, 1, "Alice")
    irc_user(h, 2, "Bob", *bob_caps)
    h.take(1)
    h.send(1, b"OPER Root root-password\r\n")
    assert h.take(1) == (
        ":irc.test 381 Alice :You are now an IRC operator\r\n"
        ":Alice!Alice@chat-trio MODE Alice +o\r\n"
    )
    return h


def test_irc_door_oper_makes_an_admins_operator_with_381_and_mode_o() -> None:
    h = opered_alice_and_bob()
    h.send(1, b"MODE Alice\r\n")
    assert h.take(1) == ":irc.test 221 Alice +o\r\n"
    h.send(2, b"WHOIS Alice\r\nWHO Alice\r\n")
    seen = h.take(2)
    assert ":irc.test 313 Bob Alice :is a server admin\r\n" in seen
    assert ":irc.test 352 Bob * Alice chat-trio irc.test Alice H* :0 Alice\r\n" in seen
    h.send(1, b"KILL Bob :spam\r\n")
    assert "ERROR :Closing link:" in h.take(2)


def test_irc_door_oper_refusals_are_464_491_and_461_and_kill_needs_it_481() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    h.add_account("Root", "root-password", admin=True)
    h.add_account("Carol", "carol-password")
    irc_user(h, 1, "Alice")
    irc_user(h, 2, "Bob")
    h.take(1)
    h.send(1, b"KILL Bob :spam\r\nWALLOPS :hi\r\n")
    assert h.take(1) == (
        ":irc.test 481 Alice :Only admins can use /kill.\r\n"
        ":irc.test 481 Alice :Only admins can use /wallops.\r\n"
    )
    h.send(1, b"OPER Root wrong-password\r\nOPER Carol carol-password\r\nOPER Root\r\n")
    assert h.take(1) == (
        ":irc.test 464 Alice :Wrong password for Root: you are not an operator.\r\n"
        ':irc.test 491 Alice :"Carol" is not an admin account: only the server\'s admins '
        "may become operators.\r\n"
        ":irc.test 461 Alice OPER :Not enough parameters\r\n"
    )
    h.send(1, b"MODE Alice +o\r\nMODE Alice\r\n")  # +o is OPER's only
    assert h.take(1) == ":irc.test 221 Alice +\r\n"


def test_irc_door_user_modes_are_set_shown_and_refused_with_501_and_502() -> None:
    h = opered_alice_and_bob()
    h.send(1, b"MODE Alice +iwx\r\nMODE Alice\r\nMODE Alice -o+w\r\nMODE Bob +i\r\n")
    assert h.take(1) == (
        ":irc.test 501 Alice :Unknown MODE flag\r\n"
        ":Alice!Alice@chat-trio MODE Alice +iw\r\n"
        ":irc.test 221 Alice +iow\r\n"
        ":Alice!Alice@chat-trio MODE Alice -o\r\n"
        ":irc.test 502 Alice :Can't change mode for other users\r\n"
    )
    h.send(1, b"KILL Bob\r\n")  # -o: no admin powers any more
    assert h.take(1) == ":irc.test 481 Alice :Only admins can use /kill.\r\n"


def test_irc_door_wallops_reach_users_with_w_and_the_sender() -> None:
    h = opered_alice_and_bob()
    irc_user(h, 3, "Carol")
    h.send(3, b"MODE Carol +w\r\n")
    h.take(1), h.take(2), h.take(3)
    h.send(1, b"WALLOPS :restart at ten\r\n")
    wallops = ":Alice!Alice@chat-trio WALLOPS :restart at ten\r\n"
    assert h.take(1) == wallops and h.take(3) == wallops and h.take(2) == ""


def test_irc_door_invisible_users_are_left_out_of_who_masks_but_not_exact_nicks() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "evan", "evan")
    h.send(1, b"MODE evan +i\r\n")
    roomless_user(h, 2, "shiv", "shiv")
    h.send(2, b"WHO eva*\r\nWHO evan\r\n")
    assert h.take(2) == (
        ":irc.test 315 shiv eva* :End of WHO list\r\n"
        ":irc.test 352 shiv * evan chat-trio irc.test evan H :0 evan\r\n"
        ":irc.test 315 shiv evan :End of WHO list\r\n"
    )


def test_irc_door_a_bot_is_advertised_tagged_and_shown_in_who_and_whois() -> None:
    h = Harness(Rules(flood_rate=0))
    welcome = irc_user(h, 1, "Robo", "message-tags", "echo-message")
    assert " BOT=B " in welcome and ":irc.test 004 Robo irc.test chat-trio-" in welcome
    assert " Biow nt\r\n" in welcome  # 004's user modes
    irc_user(h, 2, "Bob", "message-tags")
    h.take(1)
    h.send(1, b"MODE Robo +B\r\n")
    assert h.take(1) == ":Robo!Robo@chat-trio MODE Robo +B\r\n"
    h.take(2)
    h.send(1, b"PRIVMSG Bob :beep\r\nPRIVMSG #lobby :boop\r\n")
    to_bob = h.take(2)
    assert ";bot :Robo!Robo@chat-trio PRIVMSG Bob beep\r\n" in to_bob
    assert ";bot :Robo!Robo@chat-trio PRIVMSG #lobby boop\r\n" in to_bob
    echoes = h.take(1)  # echo-message: its own lines back, tagged too
    assert echoes.count(";bot :Robo!Robo@chat-trio PRIVMSG ") == 2
    h.send(2, b"WHOIS Robo\r\nWHO #lobby\r\n")
    seen = h.take(2)
    assert ":irc.test 335 Bob Robo :is a bot\r\n" in seen
    assert ":irc.test 352 Bob #lobby Robo chat-trio irc.test Robo HB :0 Robo\r\n" in seen


def test_irc_door_a_bots_tagmsg_carries_the_bot_tag_too() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Robo", "message-tags", "echo-message")
    irc_user(h, 2, "Bob", "message-tags")
    h.send(1, b"MODE Robo +B\r\n")
    h.take(1), h.take(2)
    h.send(1, b"@+typing=active TAGMSG Bob\r\n@+typing=active TAGMSG #lobby\r\n")
    to_bob = h.take(2)
    assert ";bot :Robo!Robo@chat-trio TAGMSG Bob\r\n" in to_bob
    assert ";bot :Robo!Robo@chat-trio TAGMSG #lobby\r\n" in to_bob
    assert h.take(1).count(";bot :Robo!Robo@chat-trio TAGMSG ") == 2  # its echoes


def test_irc_door_a_bots_line_to_a_rooms_operators_carries_the_bot_tag() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob", "message-tags")
    irc_user(h, 2, "Robo", "message-tags", "echo-message")
    h.send(1, b"JOIN #bots\r\n")  # Bob made it: its operator
    h.send(2, b"MODE Robo +B\r\nJOIN #bots\r\n")
    h.take(1), h.take(2)
    h.send(2, b"PRIVMSG @#bots :beep\r\n")
    assert ";bot :Robo!Robo@chat-trio PRIVMSG @#bots beep\r\n" in h.take(1)
    assert ";bot :Robo!Robo@chat-trio PRIVMSG @#bots beep\r\n" in h.take(2)  # its echo


def test_irc_door_lusers_counts_the_invisible_apart() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Alice")
    h.send(1, b"MODE Alice +i\r\n")
    welcome = irc_user(h, 2, "Bob")
    assert ":irc.test 251 Bob :There are 1 users and 1 invisible on 1 servers\r\n" in welcome
    h.send(1, b"MODE Alice -i\r\n")
    h.send(2, b"LUSERS\r\n")
    assert ":irc.test 251 Bob :There are 2 users and 0 invisible on 1 servers\r\n" in h.take(2)
    h.send(1, b"MODE Alice +i\r\n")
    h.disconnect(1, Reason.QUIT)  # an invisible user leaves: no longer counted
    h.send(2, b"LUSERS\r\n")
    assert ":irc.test 251 Bob :There are 1 users and 0 invisible on 1 servers\r\n" in h.take(2)


# -- several targets a line (ISUPPORT TARGMAX), LIST's filters (ELIST) ----------------------


def test_irc_door_isupport_says_targmax_and_elist() -> None:
    h = Harness()
    received = irc_user(h, 1, "Bob")
    targmax = "TARGMAX=JOIN:4,KICK:4,LIST:4,NAMES:4,NOTICE:4,PART:4,PRIVMSG:4,TAGMSG:4,WHOIS:1"
    assert f" {targmax} " in received and " ELIST=MNU " in received


def test_irc_door_privmsg_to_several_targets_sends_each_and_refuses_too_many() -> None:
    h = Harness(Rules(flood_rate=0))
    h.register(1, "Alice")
    irc_user(h, 2, "Bob")
    irc_user(h, 3, "Carol")
    h.take(1), h.take(2)
    h.send(2, b"PRIVMSG Carol,#lobby :hi both\r\n")
    assert h.take(3) == (
        ":Bob!Bob@chat-trio PRIVMSG Carol :hi both\r\n:Bob!Bob@chat-trio PRIVMSG #lobby :hi both\r\n"
    )
    assert h.take(1) == "Bob: hi both\r\n"
    h.send(2, b"PRIVMSG a,b,c,d,Carol :five\r\n")  # over TARGMAX: nothing is sent
    assert h.take(2) == (
        ":irc.test 407 Bob a,b,c,d,Carol :Too many targets: at most 4 (PRIVMSG); none used\r\n"
    )
    assert h.take(3) == ""
    h.send(2, b"NOTICE a,b,c,d,Carol :five\r\nTAGMSG a,b,c,d,Carol\r\n")  # a NOTICE: silence
    assert h.take(2) == (
        ":irc.test 407 Bob a,b,c,d,Carol :Too many targets: at most 4 (TAGMSG); none used\r\n"
    )
    assert h.take(3) == ""
    # Each target costs a flood token, as a line does: one line cannot do four lines' work.
    h = Harness(Rules(flood_burst=4, flood_rate=1, flood_queue=10))
    irc_user(h, 2, "Bob")
    irc_user(h, 3, "Carol")
    h.take(2)
    h.send(2, b"PRIVMSG Carol,Carol,Carol,Carol :x\r\n")  # the burst of 4: spent on one line
    assert h.take(3) == ":Bob!Bob@chat-trio PRIVMSG Carol x\r\n" * 4
    h.send(2, b"PRIVMSG Carol :one more\r\n")  # no token left: it waits
    assert h.take(2).startswith(":irc.test NOTICE Bob :Slow down: at most 4 lines at once")
    assert h.take(3) == ""


def test_irc_door_names_of_several_channels_ends_with_one_366_naming_them() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "Bob")
    h.send(1, b"JOIN #a,#b\r\n")
    h.take(1)
    h.send(1, b"NAMES #a,#nope,#b\r\n")
    assert h.take(1) == (
        ":irc.test 353 Bob = #a @Bob\r\n"
        ":irc.test 353 Bob = #b @Bob\r\n"
        ":irc.test 366 Bob #a,#nope,#b :End of /NAMES list\r\n"
    )
    h.send(1, b"NAMES #a\r\n")  # one channel: as before
    assert h.take(1) == (
        ":irc.test 353 Bob = #a @Bob\r\n:irc.test 366 Bob #a :End of /NAMES list\r\n"
    )
    h.send(1, b"NAMES #a,#b,#c,#d,#e\r\nJOIN #c,#d,#e,#f,#g\r\n")  # over TARGMAX: none
    assert h.take(1) == (
        ":irc.test 407 Bob #a,#b,#c,#d,#e :Too many targets: at most 4 (NAMES); none used\r\n"
        ":irc.test 407 Bob #c,#d,#e,#f,#g :Too many targets: at most 4 (JOIN); none used\r\n"
    )


def test_irc_door_kick_of_several_users_is_one_kick_each_and_channels_pair_up() -> None:
    h = rust_with_irc_operator()
    irc_user(h, 4, "Dave")
    h.send(4, b"JOIN #rust\r\n")
    h.send(2, b"JOIN #go\r\n")
    h.send(3, b"JOIN #go\r\n")
    for conn in (1, 2, 3, 4):
        h.take(conn)
    h.send(2, b"KICK #rust Carol,Dave :bye\r\n")
    assert h.take(1) == (
        "* Carol was kicked out of #rust by Bob: bye\r\n* Dave was kicked out of #rust by Bob: bye\r\n"
    )
    assert h.take(2) == (
        ":Bob!Bob@chat-trio KICK #rust Carol bye\r\n:Bob!Bob@chat-trio KICK #rust Dave bye\r\n"
    )
    h.send(2, b"KICK #go,#rust Carol,Alice :out\r\n")  # pairs: Carol from #go, Alice from #rust
    assert h.take(2) == (
        ":Bob!Bob@chat-trio KICK #go Carol out\r\n:Bob!Bob@chat-trio KICK #rust Alice out\r\n"
    )
    h.send(2, b"KICK #rust ,\r\n")  # no nick at all: one 461, no flood token spent on nothing
    assert h.take(2) == ":irc.test 461 Bob KICK :Not enough parameters\r\n"
    h.send(2, b"KICK #go,#rust Carol\r\n")
    assert h.take(2) == (
        ":irc.test 461 Bob KICK :Give one channel, or as many channels as nicks\r\n"
    )


def test_irc_door_list_filters_by_mask_not_mask_and_user_count() -> None:
    h = Harness(Rules(flood_rate=0))
    for conn, nick in ((1, "Bob"), (2, "Carol"), (3, "Dave")):
        roomless_user(h, conn, nick)
    h.send(1, b"JOIN #chan1,#chan2,#other\r\n")
    h.send(2, b"JOIN #chan2\r\nMODE #chan2 +s\r\n")  # (Carol is no operator: it stays shown)
    h.send(1, b"MODE #other +s\r\n")  # secret: listed to its members only
    for conn in (1, 2, 3):
        h.take(conn)

    def listed(conn: int, line: bytes) -> list[str]:
        h.send(conn, line)
        return [row.split()[3] for row in h.take(conn).split("\r\n") if " 322 " in row]

    assert listed(3, b"LIST *an1\r\n") == ["#chan1"]
    assert listed(3, b"LIST #C*\r\n") == ["#chan2", "#chan1"]  # busiest first
    assert listed(3, b"LIST *\r\n") == ["#chan2", "#chan1"]  # #other is secret
    assert listed(1, b"LIST *\r\n") == ["#chan2", "#chan1", "#other"]
    assert listed(3, b"LIST !*an1\r\n") == ["#chan2"]
    assert listed(3, b"LIST >1\r\n") == ["#chan2"]
    assert listed(3, b"LIST <2\r\n") == ["#chan1"]
    assert listed(3, b"LIST <100,>0\r\n") == ["#chan2", "#chan1"]
    assert listed(3, b"LIST #chan1 >5\r\n") == []
    h.send(3, b"LIST >many\r\n")
    assert h.take(3) == (
        ":irc.test NOTICE Dave :LIST >many: a user count is a number (LIST >5, LIST <20)\r\n"
    )


def test_irc_door_statusmsg_reaches_a_rooms_operators_or_voiced_only_on_every_door() -> None:
    h = rust_with_irc_operator()  # Bob (IRC) runs #rust; Alice (nc) and Carol (IRC) in it
    irc_user(h, 4, "Dave", "echo-message")
    h.send(4, b"JOIN #rust\r\n")
    h.send(2, b"MODE #rust +o Alice\r\n")
    for conn in (1, 2, 3, 4):
        h.take(conn)
    assert " STATUSMSG=@+ " in h.line(4, "VERSION")
    h.send(3, b"PRIVMSG @#rust :ops only\r\n")
    assert h.take(2) == ":Carol!Carol@chat-trio PRIVMSG @#rust :ops only\r\n"
    assert h.take(1) == "[#rust] Carol (to the operators of #rust): ops only\r\n"
    assert h.take(3) == h.take(4) == ""  # no echo without echo-message; Dave is no operator
    h.send(2, b"MODE #rust +v Dave\r\n")
    h.take(1), h.take(2), h.take(3), h.take(4)
    h.send(4, b"NOTICE +#rust :voiced\r\nPRIVMSG +#rust :\x01ACTION waves\x01\r\n")
    to_voiced = h.take(2)
    assert to_voiced == (
        ":Dave!Dave@chat-trio NOTICE +#rust voiced\r\n"
        ":Dave!Dave@chat-trio PRIVMSG +#rust :\x01ACTION waves\x01\r\n"
    )
    assert h.take(4) == to_voiced  # echo-message: Dave's own copies, as sent
    assert h.take(1) == (
        "[#rust] -Dave (to the voiced members and operators of #rust)- voiced\r\n"
        "[#rust] * Dave waves (to the voiced members and operators of #rust)\r\n"
    )
    assert h.take(3) == ""  # Carol is neither voiced nor an operator
    h.send(3, b"PRIVMSG @#go :hi\r\n")  # not a member: as for the room itself
    assert h.take(3) == ":irc.test 404 Carol #go :You are not in #go.\r\n"


# -- HELP, HELPOP, LINKS --------------------------------------------------------------------


def test_irc_door_help_of_chathistory_names_every_subcommand() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    usage = h.line(1, "HELP CHATHISTORY")
    for sub in ("LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"):
        assert sub in usage


def test_irc_door_help_lists_the_commands_and_explains_one_from_the_table() -> None:
    h = Harness(Rules(flood_rate=0))
    irc_user(h, 1, "Bob")
    h.send(1, b"HELP\r\n")
    lines = h.take(1).split("\r\n")
    assert lines[0] == ":irc.test 704 Bob * :The commands, as HELP <command> explains each:"
    assert lines[-2] == ":irc.test 706 Bob * :End of /HELP"
    index = " ".join(line.partition(" :")[2] for line in lines[1:-2])
    assert all(line.startswith(":irc.test 705 Bob * :") for line in lines[1:-2])
    assert set(index.split()) == set(COMMANDS) and {"PRIVMSG", "HELP", "LINKS"} <= set(COMMANDS)
    h.send(1, b"HELPOP privmsg\r\n")  # HELPOP is HELP; the subject without case
    assert h.take(1) == (
        ":irc.test 704 Bob PRIVMSG :PRIVMSG <target>{,<target>} :<text>\r\n"
        ":irc.test 705 Bob PRIVMSG :say something in a room, or to a person"
        " (each target costs a line)\r\n"
        ":irc.test 706 Bob PRIVMSG :End of /HELP\r\n"
    )
    h.send(1, b"HELP NOSUCHTHING\r\n")
    assert h.take(1) == (
        ":irc.test 524 Bob NOSUCHTHING :No help on that: HELP lists the commands there are\r\n"
    )


def test_irc_door_links_shows_this_one_server_with_its_description() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "Bob", settings=attrs.evolve(SETTINGS, description="Chat for the club"))
    h.send(1, b"LINKS\r\n")
    assert h.take(1) == (
        ":irc.test 364 Bob irc.test irc.test :0 Chat for the club\r\n"
        ":irc.test 365 Bob * :End of /LINKS list\r\n"
    )
    h.send(1, b"LINKS *.org\r\n")  # no server of that name
    assert h.take(1) == ":irc.test 365 Bob *.org :End of /LINKS list\r\n"


def test_irc_door_markread_sets_gets_and_never_lowers_a_marker() -> None:
    h = Harness(Rules(flood_rate=0))
    h.wall = 1_700_000_000.0
    received = irc_user(h, 1, "Alice", "draft/read-marker")
    assert "draft/read-marker" in received.split("\r\n")[1]  # offered in CAP LS
    assert ":irc.test MARKREAD #lobby *\r\n" in received  # the auto-joined lobby: none yet
    h.send(1, b"MARKREAD #Rust timestamp=2023-11-14T22:13:19.123Z\r\n")
    assert h.take(1) == ":irc.test MARKREAD #Rust timestamp=2023-11-14T22:13:19.123Z\r\n"
    h.send(1, b"MARKREAD #rust timestamp=2023-11-14T22:00:00.000Z\r\n")  # older: the stored
    assert h.take(1) == ":irc.test MARKREAD #rust timestamp=2023-11-14T22:13:19.123Z\r\n"
    h.send(1, b"MARKREAD Bob\r\n")
    assert h.take(1) == ":irc.test MARKREAD Bob *\r\n"
    h.send(1, b"JOIN #rust\r\n")
    joined = h.take(1)
    marker = joined.index(":irc.test MARKREAD #rust timestamp=2023-11-14T22:13:19.123Z\r\n")
    assert joined.index(" JOIN #rust\r\n") < marker < joined.index(" 366 Alice #rust ")


def test_irc_door_markread_refusals_are_fail_messages() -> None:
    h = Harness(Rules(flood_rate=0))
    h.wall = 1_700_000_000.0
    irc_user(h, 1, "Alice", "draft/read-marker")
    h.send(1, b"MARKREAD\r\n")
    assert h.take(1) == ":irc.test FAIL MARKREAD NEED_MORE_PARAMS :Missing parameters\r\n"
    for bad in (b"*", b"timestamp=not-a-time", b"2023-11-14T22:13:19.123Z"):
        h.send(1, b"MARKREAD #rust " + bad + b"\r\n")
        assert h.take(1).startswith(
            ":irc.test FAIL MARKREAD INVALID_PARAMS #rust " + bad.decode() + " :Use timestamp="
        )
    h.send(1, b"MARKREAD #no,way\r\n")
    assert h.take(1).startswith(":irc.test FAIL MARKREAD INVALID_PARAMS #no,way :")


def test_irc_door_without_the_capability_no_markread_is_sent() -> None:
    h = Harness(Rules(flood_rate=0))
    h.wall = 1_700_000_000.0
    assert "MARKREAD" not in irc_user(h, 1, "Alice")
    h.send(1, b"JOIN #rust\r\nMARKREAD #rust timestamp=2023-11-14T22:13:19.123Z\r\n")
    assert "MARKREAD" not in h.take(1)


ALONE = attrs.evolve(SETTINGS, autojoin=())  #: no auto-join: nobody shares a channel


def test_irc_door_whowas_shows_who_left_or_renamed_as_whois_did_then_369() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "Alice", "alice", "Alice A.")
    roomless_user(h, 2, "Bob", "bobby", "Bob B.")
    h.send(2, b"NICK Robert\r\n")
    h.wall += 60
    h.register(3, "bob")  # a text-door user takes the name, then leaves
    h.send(3, b"/quit\r\n")
    h.disconnect(3, Reason.QUIT)
    h.send(1, b"WHOWAS bob\r\nWHOWAS Bob 1\r\nWHOWAS nobody\r\nWHOWAS\r\n")
    assert h.take(1) == (
        ":irc.test 314 Alice bob bob chat-trio * bob\r\n"
        ":irc.test 312 Alice bob irc.test :Tue Nov 14 22:14:20 2023 UTC\r\n"
        ":irc.test 314 Alice Bob bobby chat-trio * :Bob B.\r\n"
        ":irc.test 312 Alice Bob irc.test :Tue Nov 14 22:13:20 2023 UTC\r\n"
        ":irc.test 369 Alice bob :End of WHOWAS\r\n"
        ":irc.test 314 Alice bob bob chat-trio * bob\r\n"
        ":irc.test 312 Alice bob irc.test :Tue Nov 14 22:14:20 2023 UTC\r\n"
        ":irc.test 369 Alice Bob :End of WHOWAS\r\n"
        ':irc.test 406 Alice nobody :Nobody named "nobody" left or was renamed lately.\r\n'
        ":irc.test 369 Alice nobody :End of WHOWAS\r\n"
        ":irc.test 461 Alice WHOWAS :Not enough parameters\r\n"
    )


def test_irc_door_monitor_tells_when_people_of_every_door_come_and_go() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "Alice", "alice", "Alice A.")
    h.send(1, b"MONITOR + bob,Carol\r\n")
    assert h.take(1) == ":irc.test 731 Alice bob,Carol\r\n"
    h.register(2, "Bob")  # a text-door user is online as much as an IRC one
    assert h.take(1) == ":irc.test 730 Alice Bob!Bob@chat-trio\r\n"
    roomless_user(h, 3, "Carl", "carl", "Carl")
    h.send(3, b"NICK carol\r\n")
    assert h.take(1) == ":irc.test 730 Alice carol!carl@chat-trio\r\n"
    h.send(1, b"MONITOR L\r\nMONITOR S\r\nMONITOR - carol\r\nMONITOR L\r\n")
    assert h.take(1) == (
        ":irc.test 732 Alice bob,Carol\r\n"
        ":irc.test 733 Alice :End of MONITOR list\r\n"
        ":irc.test 730 Alice Bob!Bob@chat-trio,carol!carl@chat-trio\r\n"
        ":irc.test 732 Alice bob\r\n"
        ":irc.test 733 Alice :End of MONITOR list\r\n"
    )
    h.send(2, b"/quit\r\n")
    h.disconnect(2, Reason.QUIT)
    assert h.take(1) == ":irc.test 731 Alice Bob\r\n"
    h.send(3, b"QUIT\r\n")
    h.disconnect(3, Reason.QUIT)
    assert h.take(1) == ""  # no longer watched
    h.send(1, b"MONITOR + *!user@host\r\nMONITOR X\r\nMONITOR +\r\nMONITOR C\r\nMONITOR L\r\n")
    got = h.take(1)
    assert got.startswith(":irc.test 432 Alice *!user@host :")
    assert got.endswith(
        ":irc.test 400 Alice MONITOR :Unknown subcommand: X\r\n"
        ":irc.test 461 Alice MONITOR :Not enough parameters\r\n"
        ":irc.test 733 Alice :End of MONITOR list\r\n"
    )


def test_irc_door_monitor_is_advertised_and_bounded_with_734() -> None:
    h = Harness(Rules(flood_rate=0))
    h.connect(1, door=IrcDoor(ALONE))
    h.send(1, b"CAP LS 302\r\nNICK Alice\r\nUSER alice 0 * :Alice\r\nCAP END\r\n")
    got = h.take(1)
    assert " MONITOR=100 " in got
    assert " extended-monitor " in got and " setname " in got  # (in CAP LS)
    names = ",".join(f"n{n}" for n in range(101))
    h.send(1, f"MONITOR + {names}\r\n".encode())
    lines = h.take(1).split("\r\n")
    assert lines[0] == (
        ":irc.test 734 Alice 100 n100 :You watch 100 names already, the most there may be."
    )
    assert all(len(line) <= 510 for line in lines)


def test_irc_door_extended_monitor_brings_news_of_a_watched_person_without_a_channel() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "Alice", "alice", "Alice", "extended-monitor", "away-notify", "setname")
    roomless_user(h, 2, "Carol", "carol", "Carol", "away-notify", "setname")  # no extended-monitor
    roomless_user(h, 3, "Bob", "bob", "Bob", "setname")
    h.send(1, b"MONITOR + bob\r\n")
    h.send(2, b"MONITOR + bob\r\n")
    h.take(1), h.take(2)
    h.send(3, b"AWAY :afk\r\nSETNAME :Bob Builder\r\nAWAY\r\n")
    assert h.take(1) == (
        ":Bob!bob@chat-trio AWAY afk\r\n"
        ":Bob!bob@chat-trio SETNAME :Bob Builder\r\n"
        ":Bob!bob@chat-trio AWAY\r\n"
    )
    assert h.take(2) == ""


def test_irc_door_setname_goes_to_channel_members_with_the_cap_and_shows_in_whois() -> None:
    h = Harness(Rules(flood_rate=0))
    roomless_user(h, 1, "Alice", "alice", "Alice A.", "setname")
    roomless_user(h, 2, "Bob", "bob", "Bob", "setname")
    roomless_user(h, 3, "Carol", "carol", "Carol")  # without the cap
    h.register(4, "Dave")  # the text door
    for conn in (1, 2, 3):
        h.send(conn, b"JOIN #rust\r\nJOIN #go\r\n")
    h.send(4, b"/join #rust\r\n")
    for conn in (1, 2, 3, 4):
        h.take(conn)
    h.send(1, b"SETNAME :Alice Liddell\r\n")
    assert h.take(1) == ":Alice!alice@chat-trio SETNAME :Alice Liddell\r\n"
    assert h.take(2) == ":Alice!alice@chat-trio SETNAME :Alice Liddell\r\n"  # once, for 2 rooms
    assert h.take(3) == "" and h.take(4) == ""
    h.send(3, b"WHOIS Alice\r\n")
    assert ":irc.test 311 Carol Alice alice chat-trio * :Alice Liddell\r\n" in h.take(3)
    h.send(1, b"SETNAME :" + b"x" * 101 + b"\r\n")
    assert h.take(1) == (
        ":irc.test FAIL SETNAME INVALID_REALNAME "
        ":A real name is 1 to 100 characters on one line.\r\n"
    )
    assert h.take(2) == ""


def test_irc_door_chathistory_of_a_conversation_is_bounded_and_only_ones_own() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    run = h.chat.instance
    h.register(1, "Alice")
    caps = ("batch", "server-time", "message-tags", "draft/chathistory")
    irc_user(h, 2, "Bob", *caps)
    for n in range(4):
        h.line(1, f"/msg bob secret {n}")  # ids run:3 to run:6
    h.take(2)

    def texts(conn: int, command: str) -> list[str]:
        h.send(conn, f"CHATHISTORY {command}\r\n".encode())
        lines = h.take(conn).split("\r\n")
        return [line.rsplit(":", 1)[1] for line in lines if " PRIVMSG " in line]

    assert texts(2, "LATEST Alice * 10") == [f"secret {n}" for n in range(4)]
    assert texts(2, f"BEFORE Alice msgid={run}:5 10") == ["secret 0", "secret 1"]
    assert texts(2, f"AFTER Alice msgid={run}:4 1") == ["secret 2"]
    assert texts(2, f"BETWEEN Alice msgid={run}:6 msgid={run}:3 1") == ["secret 2"]
    # Mallory knows the names and an id: she reads nothing of theirs, by either name.
    irc_user(h, 3, "Mallory", *caps)
    assert texts(3, "LATEST Alice * 10") == []
    assert texts(3, "LATEST Bob * 10") == []
    assert texts(3, f"AROUND Alice msgid={run}:4 10") == []
    # Nor once she has Bob's name: the conversation was his connection's, not the name's.
    h.send(2, b"QUIT :bye\r\n")
    h.send(3, b"NICK Bob\r\n")
    assert texts(3, "LATEST Alice * 10") == []


REDACTING = ("message-tags", "echo-message", "batch", "draft/message-redaction")


def test_irc_door_redact_own_message_or_as_operator_any_and_history_forgets_it() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    run = h.chat.instance
    irc_user(h, 1, "Alice", *REDACTING, "draft/chathistory")
    irc_user(h, 2, "Bob", *REDACTING)
    irc_user(h, 3, "Carol", "message-tags")  # no redaction: she is sent no REDACT
    h.register(4, "Dave")  # nc
    for conn in (1, 2, 3):
        h.send(conn, b"JOIN #rust\r\n")  # Alice first: its operator
    h.line(4, "/join #rust")
    for conn in (1, 2, 3, 4):
        h.take(conn)
    h.send(2, b"PRIVMSG #rust :buy cheap watches\r\n")
    spam = h.take(2).partition("msgid=")[2].partition(" ")[0]
    assert spam.startswith(f"{run}:") and spam in h.take(1) and spam in h.take(3)
    h.take(4)
    h.send(3, f"REDACT #rust {spam}\r\n".encode())  # not hers, and she is no operator
    assert h.take(3) == (
        f":irc.test FAIL REDACT REDACT_FORBIDDEN #rust {spam}"
        f" :Only its author, or an operator of the room, may delete message {spam}.\r\n"
    )
    assert h.take(1) == h.take(2) == ""
    h.send(1, f"REDACT #rust {spam} :spam\r\n".encode())
    redact = f":Alice!Alice@chat-trio REDACT #rust {spam} spam\r\n"
    assert h.take(1) == redact and h.take(2) == redact
    assert "REDACT" not in h.take(3)
    assert h.take(4) == "* Alice deleted a message by Bob in #rust: spam.\r\n"
    # Gone from history: CHATHISTORY, and what the next to join is shown.
    h.send(1, b"CHATHISTORY LATEST #rust * 10\r\n")
    assert "watches" not in h.take(1)
    h.register(5, "Erin")
    assert "watches" not in h.line(5, "/join #rust")
    h.take(1)
    h.send(1, f"REDACT #rust {spam}\r\nREDACT #rust nope\r\nREDACT #elsewhere {spam}\r\n".encode())
    assert h.take(1) == (
        f":irc.test FAIL REDACT UNKNOWN_MSGID #rust {spam}"
        f" :There is no message {spam} in #rust to delete.\r\n"
        ":irc.test FAIL REDACT UNKNOWN_MSGID #rust nope"
        " :There is no message nope in #rust to delete.\r\n"
        ":irc.test FAIL REDACT INVALID_TARGET #elsewhere :You can delete messages only in a"
        " room you are in, or in your own private conversations: #elsewhere is neither.\r\n"
    )
    # Carol deletes her own line: a member may, no operator needed.
    h.send(3, b"PRIVMSG #rust :oops\r\n")
    oops = h.take(1).partition("msgid=")[2].partition(" ")[0]
    h.take(4)
    h.send(3, f"REDACT #rust {oops}\r\n".encode())
    assert h.take(1) == f":Carol!Carol@chat-trio REDACT #rust {oops}\r\n"
    assert h.take(4) == "* Carol deleted their own message in #rust.\r\n"


def test_irc_door_redact_a_private_message_only_its_sender_and_nobody_probes_ids() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    irc_user(h, 1, "Alice", *REDACTING)
    irc_user(h, 2, "Bob", *REDACTING)
    irc_user(h, 3, "Mallory", *REDACTING)
    h.send(1, b"PRIVMSG Bob :my address is 1 Main St\r\n")
    msgid = h.take(1).partition("msgid=")[2].partition(" ")[0]
    assert msgid and msgid in h.take(2)
    for conn, target in ((3, "Alice"), (3, "Bob")):  # not her conversation: no such message
        h.send(conn, f"REDACT {target} {msgid}\r\n".encode())
        assert f"FAIL REDACT UNKNOWN_MSGID {target} {msgid}" in h.take(conn)
    h.send(2, f"REDACT Alice {msgid}\r\n".encode())  # he received it: not his to delete
    assert f"FAIL REDACT REDACT_FORBIDDEN Alice {msgid}" in h.take(2)
    h.send(1, f"REDACT Bob {msgid} :oops\r\n".encode())
    redact = f":Alice!Alice@chat-trio REDACT Bob {msgid} oops\r\n"
    assert h.take(1) == redact and h.take(2) == redact
    assert h.take(3) == ""
    assert "Main St" not in h.line(1, "CHATHISTORY LATEST Bob * 10")


def test_irc_door_redacting_a_private_message_tells_its_receiver_not_the_names_next_holder() -> (
    None
):
    h = Harness(Rules(flood_rate=0), stored=True)
    irc_user(h, 1, "Alice", *REDACTING)
    irc_user(h, 2, "Bob", *REDACTING)
    h.send(1, b"PRIVMSG Bob :psst\r\n")
    msgid = h.take(1).partition("msgid=")[2].partition(" ")[0]
    h.disconnect(2, Reason.QUIT)
    irc_user(h, 3, "Bob", *REDACTING)  # a stranger takes the name
    h.take(1)
    h.send(1, f"REDACT Bob {msgid} :oops\r\n".encode())
    assert h.take(1) == f":Alice!Alice@chat-trio REDACT Bob {msgid} oops\r\n"
    assert h.take(3) == ""  # the new Bob learns nothing of it


def test_irc_door_chathistory_targets_lists_ones_own_rooms_and_people_between_two_times() -> None:
    h = Harness(Rules(flood_rate=0), stored=True)
    caps = ("batch", "server-time", "draft/chathistory")
    for conn, nick in ((1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Mallory")):
        irc_user(h, conn, nick, *caps)
    for conn, room in ((1, "#a"), (2, "#a"), (1, "#b"), (3, "#b"), (4, "#m")):
        h.send(conn, f"JOIN {room}\r\n".encode())
    for n, (conn, line) in enumerate(
        [(1, "PRIVMSG #a :hi a"), (1, "PRIVMSG Bob :hi Bob"), (1, "PRIVMSG #b :hi b"),
         (1, "PRIVMSG Carol :hi Carol"), (2, "PRIVMSG Carol :not Alice's"),
         (4, "PRIVMSG #m :not Alice's either")],
        start=1,
    ):  # fmt: skip
        h.wall = 1_700_000_000.0 + n  # 22:13:21, 22:13:22 ...
        h.send(conn, f"{line}\r\n".encode())
    h.take(1)

    def targets(command: str) -> list[tuple[str, str]]:
        h.send(1, f"CHATHISTORY TARGETS {command}\r\n".encode())
        lines = h.take(1).split("\r\n")
        assert lines[0].endswith(" draft/chathistory-targets") and lines[0].startswith("BATCH +")
        found = [line.split(" TARGETS ")[1] for line in lines if " CHATHISTORY TARGETS " in line]
        return [(name, moment) for name, moment in (f.split(" ") for f in found)]

    first, last = "timestamp=2020-01-01T00:00:00.000Z", "timestamp=2262-01-01T00:00:00.000Z"
    assert targets(f"{first} {last} 100") == [
        ("#a", "2023-11-14T22:13:21.000Z"), ("Bob", "2023-11-14T22:13:22.000Z"),
        ("#b", "2023-11-14T22:13:23.000Z"), ("Carol", "2023-11-14T22:13:24.000Z"),
    ]  # fmt: skip
    assert [t for t, _ in targets(f"{first} {last} 2")] == ["#a", "Bob"]
    after_a, at_carol = "timestamp=2023-11-14T22:13:21.000Z", "timestamp=2023-11-14T22:13:24.000Z"
    assert [t for t, _ in targets(f"{after_a} {last} 100")] == ["Bob", "#b", "Carol"]
    assert [t for t, _ in targets(f"{at_carol} {after_a} 100")] == ["Bob", "#b"]
    h.wall = 1_700_000_010.0
    h.send(1, b"PRIVMSG #a :again\r\n")  # #a's latest is now later: out of that window
    assert [t for t, _ in targets(f"{first} {at_carol} 100")] == ["Bob", "#b"]
    h.send(1, b"CHATHISTORY TARGETS msgid=a:1 timestamp=2020-01-01T00:00:00Z 5\r\n")
    assert h.take(1) == (
        ":irc.test FAIL CHATHISTORY INVALID_PARAMS TARGETS msgid=a:1"
        " :Use timestamp=YYYY-MM-DDThh:mm:ss.sssZ\r\n"
    )


def test_irc_door_redact_without_a_database_deletes_from_the_rooms_memory() -> None:
    h = Harness(Rules(flood_rate=0))  # --no-db: a room's recent lines are all there is
    irc_user(h, 1, "Alice", *REDACTING)
    h.send(1, b"PRIVMSG #lobby :oops, my password\r\n")
    msgid = h.take(1).partition("msgid=")[2].partition(" ")[0]
    h.send(1, f"REDACT #lobby {msgid}\r\nREDACT #lobby {'x' * 65}\r\n".encode())
    assert h.take(1) == (
        f":Alice!Alice@chat-trio REDACT #lobby {msgid}\r\n"
        f":irc.test FAIL REDACT UNKNOWN_MSGID #lobby {'x' * 64}"
        f" :There is no message {'x' * 64} in #lobby to delete.\r\n"
    )
    h.connect(2)
    h.send(2, b"Bob\r\n")
    joined = h.take(2)
    assert "Welcome to the chat, Bob!" in joined and "password" not in joined
