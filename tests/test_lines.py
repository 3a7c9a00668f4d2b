"""LineDecoder: framing, limits, UTF-8, sanitising and telnet, on every split of the input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat_trio.doors.lines import (
    EndOfInput,
    Input,
    Interrupted,
    LineDecoder,
    NotUtf8,
    TooLong,
)
from tests.helpers import splits


def decode(chunks: list[bytes], max_line: int = 2048) -> list[Input]:
    decoder = LineDecoder(max_line)
    out: list[Input] = []
    for chunk in chunks:
        if chunk:
            out += decoder.receive(chunk)
    return out + decoder.receive(b"")


# A transcript with every hazard: CRLF and LF, a multi-byte character, invalid UTF-8,
# telnet negotiation (IAC DO ECHO, IAC SB ... IAC SE, IAC IAC), an escape sequence,
# a bidi override, a too-long line, and a final line without a newline.
TRANSCRIPT = (
    b"Alice\r\n"
    b"caf\xc3\xa9 \xe2\x82\xac\n"
    b"bad \xc3( \xfe byte\n"
    b"\xff\xfd\x01tel\xff\xfa\x18\x01\xff\xf0net\r\n"
    b"\x1b[31mred\x1b[0m \xe2\x80\xaeevil\n"
    b"0123456789ABCDEF0123456789\n"
    b"\n"
    b"last"
)
EXPECTED: list[Input] = [
    "Alice",
    "café €",
    "bad \ufffd( \ufffd byte",
    "telnet",
    "red evil",
    TooLong(24),
    "",
    "last",
    EndOfInput(),
]


def test_lines_transcript_whole() -> None:
    assert decode([TRANSCRIPT], max_line=24) == EXPECTED


def test_lines_transcript_every_split_in_two() -> None:
    for chunks in splits(TRANSCRIPT, 2):
        assert decode(chunks, max_line=24) == EXPECTED, chunks


def test_lines_transcript_every_split_in_three() -> None:
    # Every pair of cut points: ~4,000 ways, each must give the same lines.
    for chunks in splits(TRANSCRIPT, 3):
        assert decode(chunks, max_line=24) == EXPECTED, chunks


def test_lines_transcript_byte_by_byte() -> None:
    assert decode([bytes([b]) for b in TRANSCRIPT], max_line=24) == EXPECTED


@given(st.lists(st.binary(max_size=40), max_size=8), st.data())
def test_lines_any_input_any_split_same_result(parts: list[bytes], data: st.DataObject) -> None:
    raw = b"\n".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert decode(chunks, max_line=16) == decode([raw], max_line=16)


@given(st.binary(max_size=200))
def test_lines_never_emit_unsafe_characters(raw: bytes) -> None:
    for item in decode([raw]):
        if isinstance(item, str):
            assert "\x1b" not in item and "\r" not in item and "\n" not in item
            assert all(ch == "\t" or ch >= " " for ch in item)
            assert not any(0x7F <= ord(ch) <= 0x9F for ch in item)
            assert not any(0x202A <= ord(ch) <= 0x202E for ch in item)


def test_lines_partial_line_memory_is_bounded_without_newline() -> None:
    decoder = LineDecoder(max_line=100)
    events: list[Input] = []
    for _ in range(10_000):  # 10 MB, no newline
        events += decoder.receive(b"x" * 1000)
        assert len(decoder._partial) <= 101
    assert events == [TooLong(100)]  # reported once, not per chunk
    assert decoder.receive(b"tail\nnext\n") == ["next"]


def test_lines_limit_counts_bytes_without_line_ending() -> None:
    assert decode([b"x" * 10 + b"\r\n"], max_line=10) == ["x" * 10, EndOfInput()]
    assert decode([b"x" * 11 + b"\n"], max_line=10) == [TooLong(10), EndOfInput()]
    assert decode([b"\xc3\xa9" * 6 + b"\n"], max_line=10) == [TooLong(10), EndOfInput()]


def test_lines_telnet_interrupt_keeps_earlier_lines_and_drops_the_rest() -> None:
    decoder = LineDecoder()
    assert decoder.receive(b"one\ntwo\nhalf-typed\xff\xf4three\n") == [
        "one",
        "two",
        Interrupted(),
    ]
    assert decoder.receive(b"more\n") == []
    assert decoder.receive(b"") == []


def test_lines_telnet_interrupt_split_after_iac() -> None:
    decoder = LineDecoder()
    assert decoder.receive(b"hi\n\xff") == ["hi"]
    assert decoder.receive(b"\xf4") == [Interrupted()]


def test_lines_telnet_subnegotiation_is_not_buffered() -> None:
    decoder = LineDecoder(max_line=10)
    assert decoder.receive(b"\xff\xfa" + b"z" * 100_000) == []
    assert decoder.receive(b"\xff\xf0ok\n") == ["ok"]


def test_lines_eof_delivers_unterminated_line() -> None:
    assert decode([b"no newline"]) == ["no newline", EndOfInput()]


def test_lines_eof_inside_too_long_line_delivers_nothing_more() -> None:
    assert decode([b"y" * 50], max_line=10) == [TooLong(10), EndOfInput()]


def test_lines_a_lone_0xff_is_not_telnet_and_eats_nothing() -> None:
    """Issue 17, item 6: 0xFF before a byte that is no telnet command (which are 236-255)
    is data, shown as U+FFFD; the character after it was lost."""
    data = b"\xffabc\n\xff\n\xff\xfb\x01ok\n"  # the last one is telnet (IAC WILL ECHO)
    for chunks in splits(data, 3):
        assert decode(chunks) == ["\ufffdabc", "\ufffd", "ok", EndOfInput()], chunks


def test_lines_strict_decoder_gives_lines_that_are_not_utf8_as_not_utf8() -> None:
    data = b"ok \xc3\xa9\r\nbad \xc3( x\r\n\xe2\x82\r\nfine\r\n"
    expected: list[Input] = [
        "ok \u00e9",
        NotUtf8("bad \ufffd( x"),
        NotUtf8("\ufffd"),
        "fine",
        EndOfInput(),
    ]
    for chunks in splits(data, 3):  # the same on every split, inside a character too
        decoder = LineDecoder(64, telnet=False, sanitizing=False, strict=True)
        out = [item for chunk in chunks if chunk for item in decoder.receive(chunk)]
        assert out + decoder.receive(b"") == expected
