"""Words people give: one check for every text, made when an intent is made."""

from __future__ import annotations

import typing

import attrs
from hypothesis import given
from hypothesis import strategies as st

from chat_trio.chat import intents as i
from chat_trio.chat import words
from chat_trio.chat.events import Role

BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"


def test_words_clean_removes_whole_escape_sequences() -> None:
    assert words.clean("a\x1b[2Jb\x1b]0;title\x07c\x9b31md\x1bMe") == "abcde"
    assert words.clean("tab\tkept") == "tab\tkept"
    assert words.clean("\u202ereversed\u2066x\u2069") == "reversedx"
    assert words.clean("bell\x07 del\x7f") == "bell del"
    assert words.clean("two\nlines") == "two\nlines"  # a chunk of lines keeps its breaks


def test_words_line_folds_every_line_and_paragraph_separator_to_one_space() -> None:
    for brk in BREAKS:
        assert words.line(f"one{brk}two") == "one two"
    assert words.line("a\r\nb\n\n\nc") == "a b c"
    assert words.line("* Server is shutting down.\r\n:x PRIVMSG #l :hi") == (
        "* Server is shutting down. :x PRIVMSG #l :hi"
    )
    assert words.line("esc\x1b[2J in a\u2028line\udcff") == "esc in a line\ufffd"


def test_words_text_replaces_lone_surrogates_and_nothing_else() -> None:
    assert words.text("Al\udcffice") == "Al\ufffdice"
    assert words.text("Al\nice") == "Al\nice"  # the rules refuse it, saying why
    assert words.text("Alice") == "Alice"


def test_words_count_takes_ascii_digits_only() -> None:
    assert words.count("12") == 12
    assert words.count("²") is None
    assert words.count("\uff11\uff12") is None  # fullwidth 12
    assert words.count("") is None
    assert words.count("-1") is None
    assert words.count("9" * (words.COUNT_DIGITS + 1)) is None


def _text_fields() -> list[tuple[type, str]]:
    fields = []
    for cls in typing.get_args(i.Intent):
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            if hints[field.name] in (str, str | None, i.Secret):
                fields.append((cls, field.name))
    return fields


SAID = {
    (i.Say, "text"),
    (i.SendPrivate, "text"),
    (i.SetAway, "text"),
    (i.SetTopic, "text"),
    (i.Kick, "reason"),
    (i.Kill, "reason"),
    (i.Ban, "reason"),
}


def _make(cls: type, name: str, value: str) -> object:
    """An intent of ``cls`` with ``value`` in its field ``name`` (the others filled in)."""
    values: dict[str, object] = {}
    for field in attrs.fields(cls):
        if field.default is attrs.NOTHING:
            values[field.name] = {"seconds": 60.0, "role": Role.OPERATOR}.get(field.name, "x")
    values[name] = value
    return cls(**values)


def test_words_every_intent_text_field_is_checked() -> None:
    fields = _text_fields()
    assert set(fields) >= SAID
    assert len(fields) > 25
    for cls, name in fields:
        made = getattr(_make(cls, name, "a\udcffb\nc"), name)
        assert "\udcff" not in made, (cls, name)
        if (cls, name) in SAID:
            assert made == "a\ufffdb c", (cls, name)


@given(st.sampled_from(sorted(SAID, key=str)), st.text())
def test_words_no_text_that_others_see_holds_a_break_or_a_control(
    field: tuple[type, str], value: str
) -> None:
    made = getattr(_make(*field, value), field[1])
    assert not any(c in made for c in BREAKS)
    assert all(c == "\t" or c.isprintable() or c in " \ufffd" for c in made if ord(c) < 0xA0)
    made.encode()  # never a lone surrogate


def test_words_irc_colour_codes_leave_no_digits_behind() -> None:
    """Issue 17, item 6: "^C04red" from an IRC client showed "04red" to everyone."""
    assert words.line("\x0304red\x03 plain \x0312,01blue\x0f \x02bold\x02 \x04FF8800hex") == (
        "red plain blue bold hex"
    )
    assert words.line("\x03,5 not a colour") == ",5 not a colour"  # no foreground: code alone


def test_words_client_tags_keeps_client_only_tags_once_and_bounded() -> None:
    given = (("+draft/reply", "a"), ("fizz", "buzz"), ("+typing", "active"), ("msgid", "x"))
    assert words.client_tags(given) == (("+draft/reply", "a"), ("+typing", "active"))
    assert words.client_tags((("+a", "1"), ("+b", "2"), ("+a", "3"))) == (("+b", "2"), ("+a", "3"))
    assert words.client_tags((("+bad key", "v"), ("+", "v"), ("+x/", "v"))) == ()
    assert words.client_tags((("+v", "a\r\nb\0\udcff"),)) == (("+v", "ab\ufffd"),)
    big = tuple((f"+k{n}", "x" * 1000) for n in range(5))
    kept = words.client_tags(big)  # 4094 bytes as "key=value;": four fit, not five
    assert [key for key, _ in kept] == ["+k0", "+k1", "+k2", "+k3"]
    assert i.Say("#a", "hi", tags=given).tags == (("+draft/reply", "a"), ("+typing", "active"))
