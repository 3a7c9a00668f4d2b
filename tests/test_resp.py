"""RESP in and out, without trio: commands as Redis reads them, replies however the
socket cuts them, and the bound on one reply."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_trio.nodes.resp import NEED_DATA, ErrorReply, ProtocolError, Replies, command
from tests.helpers import splits

# What a subscriber reads: an acknowledgement, a message (with a CRLF and UTF-8 inside
# its data), an empty message, a pong, an error, a count and a nil.
SAMPLE = (
    b"*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n"
    b"*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$8\r\nh\xc3\xa9\r\nllo\r\n"
    b"*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$0\r\n\r\n"
    b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    b"-ERR unknown command\r\n"
    b":42\r\n"
    b"$-1\r\n"
)


def expected() -> list[object]:
    return [
        [b"subscribe", b"c1", 1],
        [b"message", b"c1", "hé\r\nllo".encode()],
        [b"message", b"c1", b""],
        [b"pong", b""],
        "ERR unknown command",
        42,
        None,
    ]


def drain(replies: Replies) -> list[object]:
    out: list[object] = []
    while (reply := replies.next()) is not NEED_DATA:
        out.append(str(reply) if isinstance(reply, ErrorReply) else reply)
    return out


def test_resp_command_is_an_array_of_bulk_strings() -> None:
    assert command("SUBSCRIBE", "ct:room:é", b"\x00\r\n") == (
        b"*3\r\n$9\r\nSUBSCRIBE\r\n$10\r\nct:room:\xc3\xa9\r\n$3\r\n\x00\r\n\r\n"
    )
    assert command("PING") == b"*1\r\n$4\r\nPING\r\n"


def test_resp_command_round_trips_through_the_parser_redis_uses() -> None:
    replies = Replies()
    replies.feed(command("PUBLISH", "room", "a\r\nb"))
    assert drain(replies) == [[b"PUBLISH", b"room", b"a\r\nb"]]


@pytest.mark.parametrize("pieces", [1, 2])
def test_resp_replies_the_same_however_the_bytes_are_cut(pieces: int) -> None:
    for cut in splits(SAMPLE, pieces):
        replies = Replies()
        got: list[object] = []
        for piece in cut:
            replies.feed(piece)
            got += drain(replies)
        assert got == expected(), cut


@given(st.lists(st.integers(min_value=0, max_value=len(SAMPLE)), max_size=8))
def test_resp_replies_the_same_for_any_number_of_cuts(cuts: list[int]) -> None:
    edges = [0, *sorted(cuts), len(SAMPLE)]
    replies = Replies()
    got: list[object] = []
    for start, end in itertools.pairwise(edges):
        replies.feed(SAMPLE[start:end])
        got += drain(replies)
    assert got == expected()


def test_resp_next_needs_data_before_anything_is_fed() -> None:
    assert Replies().next() is NEED_DATA


@pytest.mark.parametrize("feed_size", [4096, 10**6])
def test_resp_a_reply_larger_than_the_bound_is_a_protocol_error(feed_size: int) -> None:
    """Two bytes over the bound, cut as a socket cuts it or whole in one piece: refused."""
    replies = Replies(max_bytes=10_000)
    whole = b"$9993\r\n" + b"x" * 9993 + b"\r\n"  # 10,002 bytes
    pieces = [whole[start : start + feed_size] for start in range(0, len(whole), feed_size)]
    for piece in pieces[:-1]:
        replies.feed(piece)
        assert replies.next() is NEED_DATA
    replies.feed(pieces[-1])
    with pytest.raises(ProtocolError, match="a reply larger than 10000 bytes"):
        replies.next()


def test_resp_many_small_replies_never_reach_the_bound() -> None:
    replies = Replies(max_bytes=10_000)
    message = b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$100\r\n" + b"x" * 100 + b"\r\n"
    seen = 0
    for _ in range(1000):  # 135 kB in all, ten times the bound
        replies.feed(message[:50])
        seen += len(drain(replies))
        replies.feed(message[50:])
        seen += len(drain(replies))
    assert seen == 1000
    assert replies.buffered() < 10_000


@pytest.mark.parametrize("feed_size", [1000, 10**6])
def test_resp_a_reply_of_the_bound_less_a_kib_passes(feed_size: int) -> None:
    replies = Replies(max_bytes=10_000)
    data = b"x" * (10_000 - 1024 - 10)
    whole = b"$%d\r\n%b\r\n" % (len(data), data)  # 8,976 bytes
    got = []
    for start in range(0, len(whole), feed_size):
        replies.feed(whole[start : start + feed_size])
        got += drain(replies)
    assert got == [data]
    assert replies.buffered() <= 10_000


def test_resp_bytes_that_are_not_resp_are_a_protocol_error() -> None:
    replies = Replies()
    replies.feed(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(ProtocolError, match="not RESP"):
        replies.next()
