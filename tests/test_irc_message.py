"""IRC messages: parsing and serializing, tags, trailing and empty parameters."""

from __future__ import annotations

import pytest

from chat_trio.doors.irc.message import (
    CLIENT_TAGS_MAX,
    LINE_MAX,
    Message,
    ParseError,
    parse,
    serialize,
)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("PING", Message("PING")),
        ("ping :x y", Message("PING", ("x y",))),
        ("NICK Bob", Message("NICK", ("Bob",))),
        ("USER bob 0 * :Bob B", Message("USER", ("bob", "0", "*", "Bob B"))),
        ("PRIVMSG #a :a :b", Message("PRIVMSG", ("#a", "a :b"))),
        ("PRIVMSG #a :", Message("PRIVMSG", ("#a", ""))),
        ("TOPIC #a  :  spaced ", Message("TOPIC", ("#a", "  spaced "))),
        (":nick!u@h PRIVMSG me hi", Message("PRIVMSG", ("me", "hi"), "nick!u@h")),
        (
            "@time=2026-12-01T09:00:00.000Z;+draft/x=a\\sb\\:c\\\\;flag CAP LS 302",
            Message(
                "CAP",
                ("LS", "302"),
                tags=(("time", "2026-12-01T09:00:00.000Z"), ("+draft/x", "a b;c\\"), ("flag", "")),
            ),
        ),
        (
            "JOIN " + " ".join(str(n) for n in range(20)),
            Message("JOIN", (*(str(n) for n in range(14)), "14 15 16 17 18 19")),
        ),
        ("PRIVMSG bob :\x01ACTION waves\x01", Message("PRIVMSG", ("bob", "\x01ACTION waves\x01"))),
    ],
)
def test_irc_message_parse(line: str, message: Message) -> None:
    assert parse(line) == message


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (":source", "no-command"),
        ("@a=b", "no-command"),
        ("PRIVMSG #a :" + "x" * LINE_MAX, "too-long"),
        (" :", "no-command"),
        (" :only params", "no-command"),
        ("@" + "a" * CLIENT_TAGS_MAX + " PING", "tags-too-long"),
        ("@" + "a" * (CLIENT_TAGS_MAX - 1) + " PING", "tags-too-long"),  # 4097 with "@" and " "
    ],
)
def test_irc_message_parse_refuses(line: str, what: str) -> None:
    assert parse(line) == ParseError(what)


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (Message("PING", ("srv",)), "PING srv\r\n"),
        (Message("PRIVMSG", ("#a", "hi there"), "a!a@h"), ":a!a@h PRIVMSG #a :hi there\r\n"),
        (Message("PRIVMSG", ("#a", "")), "PRIVMSG #a :\r\n"),
        (Message("PRIVMSG", ("#a", ":)")), "PRIVMSG #a ::)\r\n"),
        (Message("NOTICE", ("me", "x"), tags=(("time", "t"), ("k", "a b;c"))),
         "@time=t;k=a\\sb\\:c NOTICE me x\r\n"),
        # a client's words said back before the last parameter stay one parameter each
        (Message("365", ("Bob", "x PRIVMSG #y", "End")), "365 Bob x_PRIVMSG_#y End\r\n"),
        (Message("524", ("Bob", ":junk", "No help")), "524 Bob junk :No help\r\n"),
        (Message("FAIL", ("MARKREAD", "", "x")), "FAIL MARKREAD * x\r\n"),
    ],
)  # fmt: skip
def test_irc_message_serialize(message: Message, line: str) -> None:
    assert serialize(message) == line


def test_irc_message_round_trips() -> None:
    message = Message("PRIVMSG", ("#rust", "a: b :c"), "Bob!Bob@h", (("time", "x;y z"),))
    assert parse(serialize(message).removesuffix("\r\n")) == message


def test_irc_message_parse_takes_client_tags_of_4094_bytes() -> None:
    message = parse("@" + "a" * (CLIENT_TAGS_MAX - 2) + " PING x")  # 4096 with "@" and " "
    assert message == Message("PING", ("x",), tags=(("a" * (CLIENT_TAGS_MAX - 2), ""),))
