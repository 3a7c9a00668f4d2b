"""The wire format between nodes (chat_trio/nodes/codec.py): every event class of
chat/events.py, found by walking the module, comes back exactly as it left; whatever else
arrives (junk bytes, junk JSON, a real envelope with one value spoiled, each hostile case
by name) is refused with ``CodecError`` and a message that says what is wrong, and
nothing else is ever raised."""

from __future__ import annotations

import enum
import json
import math
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_trio.chat import events
from chat_trio.chat.events import Event, Left, Reason, Said
from chat_trio.chat.problems import Outcome, Problem
from chat_trio.chat.remote import Profile
from chat_trio.nodes import codec
from chat_trio.nodes.codec import MAX_BYTES, CodecError, Envelope, decode, encode
from tests.test_layers import MODULES

CLASSES = {
    name: value
    for name, value in vars(events).items()
    if isinstance(value, type) and attrs.has(value) and value.__module__ == events.__name__
}
"""Every attrs class events.py defines, found by walking the module."""
EVENT_CLASSES = [cls for cls in CLASSES.values() if cls in typing.get_args(Event)]


def values(kind: object) -> st.SearchStrategy[Any]:
    """Any value of the type ``kind``, as the annotations of events.py spell types."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    simple: dict[object, st.SearchStrategy[Any]] = {
        str: st.text(max_size=12),
        int: st.integers(-codec.INT_MAX, codec.INT_MAX),
        float: st.floats(allow_nan=False),  # infinities too: a ban's "forever"
        bool: st.booleans(),
        type(None): st.none(),
    }
    if kind in simple:
        return simple[kind]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return st.sampled_from(list(kind))
    if isinstance(kind, type) and attrs.has(kind):
        hints = typing.get_type_hints(kind)
        return st.builds(kind, **{f.alias: values(hints[f.name]) for f in attrs.fields(kind)})
    if origin is tuple and args[-1] is Ellipsis:
        return st.lists(values(args[0]), max_size=3).map(tuple)
    if origin is tuple:
        return st.tuples(*map(values, args))
    if origin is frozenset:
        return st.frozensets(values(args[0]), max_size=3)
    return st.one_of(*map(values, args))  # a union: X | None, or one of several classes


def envelopes(*kinds: type[Any]) -> st.SearchStrategy[Envelope]:
    """Envelopes of events of ``kinds`` (all of them: any event class)."""
    of_kinds = st.one_of(*map(values, kinds or EVENT_CLASSES))
    return st.builds(
        Envelope,
        node=values(str),
        conn=values(int),
        at=values(float),
        events=st.lists(of_kinds, max_size=3).map(tuple),
        to=values(int),
    )


def refusal(data: bytes) -> str:
    """What ``decode`` says of ``data`` (any exception but ``CodecError`` fails the test)."""
    with pytest.raises(CodecError) as refused:
        decode(data)
    return str(refused.value)


SAID = Envelope("a", 7, 1764900000.25, (Said("Alice", "hi", account="alice", id="a:1"),))


def spoiled(**changes: Any) -> bytes:
    """``SAID``'s bytes with the envelope's keys changed (``None``: removed); ``said``
    changes the event's keys the same way."""
    obj = json.loads(encode(SAID))
    for where, keys in ((obj, changes), (obj["events"][0], changes.pop("said", {}))):
        for key, value in keys.items():
            if value is None:
                del where[key]
            else:
                where[key] = value
    return json.dumps(obj).encode()


# -- every event class comes back exactly ----------------------------------------------------


def test_codec_every_attrs_class_of_events_py_is_an_event_or_a_value_inside_one() -> None:
    """A class added to events.py is in the ``Event`` union (then the round trip below
    covers it) or held by an event's field (Entry, RoomBan, Person, Gone); else fail."""
    held = {
        cls
        for event in EVENT_CLASSES
        for hint in typing.get_type_hints(event).values()
        for cls in CLASSES.values()
        if cls is hint or cls in typing.get_args(hint)
    }
    assert len(EVENT_CLASSES) >= 48
    assert set(CLASSES.values()) - set(EVENT_CLASSES) - held == set()
    assert {events.Entry, events.RoomBan, events.Person, events.Gone} <= held
    assert {cls.__name__: cls for cls in EVENT_CLASSES} == codec.EVENTS


@pytest.mark.parametrize("kind", EVENT_CLASSES, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_codec_every_event_class_round_trips(kind: type[Any], data: st.DataObject) -> None:
    envelope = data.draw(envelopes(kind))
    sent = encode(envelope)
    assert decode(sent) == envelope
    assert encode(decode(sent)) == sent  # one value, one spelling
    assert len(sent) <= MAX_BYTES


def test_codec_an_envelope_carries_its_events_in_order_with_what_they_hold() -> None:
    ban = events.RoomBan(events.BanKind.ACCOUNT, "dave", "Alice", 1764900000.5, "spam")
    sent = Envelope(
        "node-b",
        12,
        1764900001.0,
        (
            events.Done(Outcome.BANNED_YOU, name="Alice", until=math.inf),
            events.Watched(events.Away("Bob", "lunch")),
            events.BanChanged("#rust", ban, on=True, by="Alice"),
            events.UserList(2, ("Alice", "Bob"), admins=frozenset({"Bob", "Alice"})),
            events.RoomEntered("#rust", 3, "", joined=True, marker=None),
        ),
        to=3,
    )
    data = encode(sent)
    assert decode(data) == sent
    assert data.startswith(b'{"v":1,"node":"node-b","conn":12,"at":1764900001.0,"events":[')
    assert b'{"@":"Done","outcome":"banned-you","name":"Alice","until":"inf"}' in data
    assert b'{"@":"Watched","event":{"@":"Away","name":"Bob","text":"lunch"}}' in data
    assert b'"admins":["Alice","Bob"]' in data  # a frozenset, sorted
    assert b'"ban":{"kind":"account","mask":"dave"' in data  # nested, untagged


def test_codec_a_typical_line_is_a_couple_of_hundred_bytes() -> None:
    line = Said("Alice", "x" * 40, account="alice", id="1764900000-a:1234", user="alice")
    data = encode(Envelope("a", 42, 1764900000.123456, (line,)))
    assert len(data) < 200
    assert b"notice" not in data and b"bot" not in data  # defaults are left out


# -- hostile input: only ever CodecError ------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_codec_junk_bytes_are_refused(data: bytes) -> None:
    assert refusal(data)


@settings(max_examples=300, deadline=None)
@given(JSON, st.booleans())
def test_codec_junk_json_is_refused(junk: Any, as_envelope: bool) -> None:
    if as_envelope:  # the right version, so that the fields are looked at
        junk = {"v": 1, "node": junk, "conn": junk, "at": junk, "events": [junk]}
    assert refusal(json.dumps(junk).encode())


def places(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path to every value inside the JSON value ``obj``."""
    found = [path]
    if isinstance(obj, dict):
        items: Any = obj.items()
    else:
        items = enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found += places(value, (*path, key))
    return found


@settings(max_examples=500, deadline=None)
@given(envelopes(), JSON, st.data())
def test_codec_a_real_envelope_with_one_value_spoiled_is_read_or_refused(
    envelope: Envelope, junk: Any, data: st.DataObject
) -> None:
    obj = json.loads(encode(envelope))
    path = data.draw(st.sampled_from(places(obj)[1:]))
    where = obj
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = junk
    try:
        decoded = decode(json.dumps(obj).encode())
    except CodecError as exc:
        refused = str(exc)
        assert refused
    else:  # the junk happened to be a value of that field's type
        assert isinstance(decoded, Envelope)
        assert all(type(event) in codec.EVENTS.values() for event in decoded.events)


DEEP = b'{"v":1,"node":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HOSTILE = {
    "not UTF-8": (b'{"v":1,"node":"\xff"}', "not UTF-8 (at byte 15)"),
    "not JSON": (b'{"v":1,', "not JSON: Expecting property name enclosed in double quotes"),
    "not an object": (b"[1]", "expected an object (an envelope), got a list"),
    "too big": (b" " * (MAX_BYTES + 1), f"{MAX_BYTES + 1} bytes, more than the {MAX_BYTES}"),
    "deep nesting": (DEEP, "not JSON: nested too deeply"),
    "NaN": (spoiled().replace(b"1764900000.25", b"NaN"), "not JSON: NaN"),
    "Infinity": (spoiled().replace(b"1764900000.25", b"-Infinity"), "not JSON: -Infinity"),
    "a float too big": (spoiled().replace(b"1764900000.25", b"1e999"), "at: a number out of"),
    "a NaN spelled out": (spoiled(at="nan"), 'at: expected a number (or "inf"), got a string'),
    "an int too big": (spoiled(conn=2**63), "conn: a number beyond ±9223372036854775807"),
    "an int too big for a float": (spoiled(at=10**400), "at: a number beyond ±"),
    "an int too long": (spoiled().replace(b'"conn": 7', b'"conn": ' + b"9" * 5000), "not JSON"),
    "no version": (spoiled(v=None), 'no version ("v"): this node reads version 1 only'),
    "another version": (spoiled(v=2), "version 2: this node reads version 1 only"),
    "version as text": (spoiled(v="1"), "version '1': this node reads version 1 only"),
    "missing field": (spoiled(node=None), "missing field 'node' of Envelope"),
    "unknown field": (spoiled(colour="red"), "Envelope has no field 'colour'"),
    "wrong type": (spoiled(said={"name": 3}), "events[0].name: expected a string, got a whole"),
    "true for a number": (spoiled(conn=True), "conn: expected a whole number, got true or"),
    "a fraction for a whole number": (spoiled(to=1.5), "to: expected a whole number, got a"),
    "a lone surrogate": (spoiled(said={"text": "\udcff"}), "events[0].text: a lone surrogate"),
    "an event missing a field": (spoiled(said={"text": None}), "missing field 'text' of Said"),
    "an event with a field too many": (spoiled(said={"pickle": 1}), "Said has no field 'pickle'"),
    "unknown class": (spoiled(said={"@": "Pickle"}), "events[0]: no event class 'Pickle'"),
    "a class that is no event": (spoiled(said={"@": "Entry"}), "no event class 'Entry'"),
    "the envelope as an event": (spoiled(said={"@": "Envelope"}), "no event class 'Envelope'"),
    "no class": (spoiled(said={"@": None}), 'events[0]: no class (its "@"), expected one of'),
    "a class named by a number": (spoiled(said={"@": 5}), "events[0]: no event class 5"),
    "events not a list": (spoiled(events={}), "events: expected a list, got an object"),
    "an event not an object": (spoiled(events=["Said"]), "events[0]: expected an object"),
    "unknown enum value": (
        spoiled(events=[{"@": "Left", "name": "Bob", "reason": "vanished"}]),
        "events[0].reason: 'vanished' is not a Reason",
    ),
    "a pair of one": (
        spoiled(events=[{"@": "RoomList", "total": 1, "rooms": [["#a"]]}]),
        "events[0].rooms[0]: expected a list of 2, got 1 items",
    ),
    "a pair with a wrong member": (
        spoiled(events=[{"@": "RoomList", "total": 1, "rooms": [["#a", "many"]]}]),
        "events[0].rooms[0][1]: expected a whole number, got a string",
    ),
    "a nested value missing a field": (
        spoiled(events=[{"@": "History", "title": "#a", "today": "", "entries": [{}]}]),
        "events[0].entries[0]: missing field 'kind' of Entry",
    ),
    "a frozenset of unknown modes": (
        spoiled(events=[{"@": "Modes", "room": "#a", "modes": ["secret", "loud"]}]),
        "events[0].modes[1]: 'loud' is not a Mode",
    ),
    "watched news of the wrong class": (
        spoiled(events=[{"@": "Watched", "event": {"@": "Said", "name": "a", "text": "b"}}]),
        "events[0].event: no event class 'Said' (its \"@\"), expected one of Away, AccountChanged, RealnameChanged",
    ),
}


@pytest.mark.parametrize(("data", "said"), HOSTILE.values(), ids=HOSTILE)
def test_codec_each_hostile_case_is_refused_saying_what_is_wrong(data: bytes, said: str) -> None:
    assert said in refusal(data)


def test_codec_an_unspoiled_envelope_is_read() -> None:
    """The hostile cases above are spoiled versions of this one, which is read."""
    assert decode(spoiled()) == SAID
    assert decode(encode(SAID)) == SAID


# -- what encode refuses to make -------------------------------------------------------------

UNSENDABLE = {
    "NaN": (attrs.evolve(SAID, at=math.nan), "at: NaN is not a number a node sends"),
    "a lone surrogate": (Envelope("a", 1, 0.0, (Said("Bob", "\udcff"),)), "a lone surrogate"),
    "an int too big": (attrs.evolve(SAID, to=2**64), "to: a number beyond ±"),
    "a wrong type": (Envelope("a", 1, 0.0, (Said(3, "hi"),)), "events[0].name: expected a s"),  # type: ignore[arg-type]
    "not an event": (attrs.evolve(SAID, events=(Reason.QUIT,)), "events[0]: expected one of"),  # type: ignore[arg-type]
    "a list for a tuple": (attrs.evolve(SAID, events=[]), "events: expected a tuple, got a list"),  # type: ignore[arg-type]
    "too big": (
        Envelope("a", 1, 0.0, tuple(Said("Bob", "x" * 2048) for _ in range(300))),
        f"more than {MAX_BYTES}",
    ),
}


@pytest.mark.parametrize(("envelope", "said"), UNSENDABLE.values(), ids=UNSENDABLE)
def test_codec_encode_refuses_what_decode_would_refuse(envelope: Envelope, said: str) -> None:
    with pytest.raises(CodecError) as refused:
        encode(envelope)
    assert said in str(refused.value)


def test_codec_a_ban_forever_crosses_as_inf_and_comes_back_forever() -> None:
    forever = Envelope("a", 1, 0.0, (events.Refused(Problem.ACCOUNT_BANNED, until=math.inf),))
    assert b'"until":"inf"' in encode(forever)
    assert decode(encode(forever)) == forever


def test_codec_is_sans_io() -> None:
    imports = MODULES["chat_trio.nodes.codec"]
    assert not [i for i in imports if i.split(".")[0] in {"trio", "pickle", "marshal", "socket"}]
    assert {i for i in imports if i.startswith("chat_trio")} <= {
        "chat_trio.chat",
        "chat_trio.chat.events",
        "chat_trio.chat.events.Event",
        "chat_trio.chat.events.Reason",
        "chat_trio.chat.remote",
        "chat_trio.chat.remote.Profile",
    }


def test_codec_news_of_a_person_carries_its_profile_and_a_kill_its_reason() -> None:
    profile = Profile("Bob", ("#lobby", "#Rust"), "bob", "Bob B", "bob", "lunch", 1.5, ("bot",))
    news = Envelope("b", 5, 10.0, (events.Away("Bob", "lunch"),), profile=profile)
    assert decode(encode(news)) == news
    gone = Envelope("b", 5, 10.0, (), to=3, closed=Reason.KICKED)
    assert b'"closed":"kicked"' in encode(gone)
    assert decode(encode(gone)) == gone
    with pytest.raises(CodecError, match="profile"):
        decode(encode(news).replace(b'"rooms":["#lobby","#Rust"]', b'"rooms":"#lobby"'))


def test_codec_left_carries_its_reason() -> None:
    gone = Envelope("b", 5, 10.0, (Left("Bob", Reason.LOST),))
    assert b'"reason":"lost"' in encode(gone)
    assert decode(encode(gone)).events == (Left("Bob", Reason.LOST),)
