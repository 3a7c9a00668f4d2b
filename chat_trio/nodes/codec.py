"""The wire format between nodes: an envelope of events to bytes, and bytes back (sans-I/O).

Nodes tell each other what the rules said (``chat/events.py``), never what a door rendered:
each node renders a peer's events for its own doors, as it renders its own
(docs/storage.md §10, "What nodes send each other").

What this module owns: ``Envelope``, its bytes (compact UTF-8 JSON, one version field) and
the check of every byte that comes in. It must never import trio, await or do I/O, and
never use pickle or eval: the bytes come from the network (through Redis) and are treated
as hostile.

The format, version 1::

    {"v":1,"node":"a","conn":7,"at":1764900000.25,"events":[{"@":"Said","name":"Alice",...}]}

(with ``"to"``, ``"profile"`` and ``"closed"`` where they are not their defaults).

- ``"v"``: the format's version. An envelope of any other version is refused whole
  (``CodecError("version 2 ...")``): a cluster running two versions fails loudly rather
  than rendering events it half understands.
- An event is an object: its class's name under ``"@"``, its fields by name. A field equal
  to its default is left out (most of an event's fields are), and filled in again by the
  class on decoding.
- Tuples and frozensets are lists (a frozenset's sorted, so one value always makes the same
  bytes); an enum is its value (``"operator"``); a nested value (``Entry``, ``RoomBan``,
  ``Person``, ``Gone``) is an object of its fields, tagged with ``"@"`` only where a field
  may hold one of several classes (``Watched.event``); ``None`` is ``null``.
- A float is a JSON number, or the string ``"inf"`` (``"-inf"``) for an infinity: a ban's
  end is ``inf`` for "forever" (chat/moderation.py) and JSON has no infinity. NaN is never
  sent.

Decoding is driven by the field types of events.py's classes (``typing.get_type_hints``),
compiled once at import into one converter per type: every value is checked against its
field's type and converted (a list into a tuple or a frozenset, a string into an enum
member, an object into the attrs class of its field). The only things it ever makes are
those classes, their enums, tuples, frozensets and JSON's scalars; the only classes it
looks up by name are those the field's type names (the ``Event`` union for an envelope's
events; ``Away | AccountChanged | RealnameChanged`` for ``Watched.event``). Anything
wrong (not UTF-8, not JSON, a wrong type, a missing or unknown field, an unknown class or
enum value, a number out of range, NaN or an infinity written as a number, a lone
surrogate, too many bytes, too deep) is one ``CodecError`` that says what and where
(``events[0].text: expected a string, got a whole number``), never another exception.

It checks shape, not words: what people typed was checked where the intent was made
(chat/words.py), on the node that published it.

Measured (``python -m benchmarks.codec``: this 2-core VM shared with other work, Python
3.11, best of 5 runs of 10,000): a typical ``Said`` envelope (a 40-character line with its
account, id and username; 203 bytes) encodes in 6.9-7.4 µs, decodes in 8.7-8.9 µs, both
in 16-21 µs (the higher while other work loaded the VM). The biggest envelope
(``MAX_BYTES`` of 2 KiB lines) decodes in 1-1.8 ms; ``MAX_BYTES`` of junk JSON is refused
in 11-16 ms.
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

from chat_trio.chat import events, remote
from chat_trio.chat.events import Event, Reason
from chat_trio.chat.remote import Profile

VERSION = 1
"""The format's version (``"v"``). Bump it on any change a node of the previous version
would misread; nodes of different versions then refuse each other's envelopes."""

MAX_BYTES = 512 * 1024
"""The biggest envelope ``encode`` makes and ``decode`` accepts. A node publishes news about
rooms and connections: a line is at most ``--max-line`` (2 KiB by default) and its ``Said``
envelope about 2.3 KB, so this holds a round of some 200 of the longest lines at once. It is
half the subscriber's bound on one Redis reply (1 MiB, which also holds the channel name
and RESP framing), so an envelope that leaves one node always fits through the other's
reader, and a sixty-fourth of Redis' pub/sub output limit (32 MiB), so no single message
brings a subscriber near being cut off. Decoding reads at most this much: a broken or
hostile peer costs a node at most 11-16 ms of CPU per envelope (junk JSON of this size,
measured: see the module's docstring), never memory without bound."""

INT_MAX = 2**63 - 1
"""The largest whole number (in absolute value) sent or accepted: Redis' and most
languages' 64-bit integers; ids, counts and milliseconds are far below it."""


class CodecError(Exception):
    """Bytes that are not an envelope this node can read, or an envelope it cannot write;
    the message says what is wrong, and where (``events[0].text: expected a string``)."""

    def __init__(self, problem: str, where: str = "") -> None:
        super().__init__(f"{where.lstrip('.')}: {problem}" if where else problem)
        self.problem = problem  #: what is wrong
        self.where = where  #: the path to it from the envelope (``.events[0].text``)

    def inside(self, step: str) -> CodecError:
        """The same problem, one step further from the envelope (``.text``, ``[0]``)."""
        return CodecError(self.problem, step + self.where)


@attrs.frozen
class Envelope:
    """What one node publishes at once: events the rules made, with where they came from."""

    node: str  #: the run of the node that published it (``Peers.run``: its name, a token)
    #: the connection on that node the news is about ("who": the joiner, the speaker, the
    #: renamed; 0 when none)
    conn: int
    at: float  #: when, Unix time on that node
    events: tuple[Event, ...]
    #: for one connection on the receiving node (a private message, a kick): its id there;
    #: 0: a room's members
    to: int = 0
    #: with news of a person (``ct:people``): what the person is now (None: gone)
    profile: Profile | None = None
    #: for one connection: its node is to end it, for this reason (an admin's kill there)
    closed: Reason | None = None


# -- converters: one pair per type, compiled once ------------------------------------------

_Convert = Callable[[Any], Any]
"""One direction of a type's rule: a value in, the converted value out, or ``CodecError``."""


@attrs.frozen
class _Rule:
    """How values of one type become JSON values (``out``) and come back (``back``)."""

    out: _Convert
    back: _Convert


_KINDS = {str: "a string", int: "a whole number", float: "a number with a point"}
_KINDS |= {bool: "true or false"}
_KINDS |= {type(None): "null", list: "a list", dict: "an object"}


def _wrong(wanted: str, value: Any) -> CodecError:
    return CodecError(f"expected {wanted}, got {_KINDS.get(type(value), type(value).__name__)}")


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _wrong("a string", value)
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # JSON's "\udcff": no door could write it out
            raise CodecError("a lone surrogate in a string") from None
    return value


def _whole(value: Any) -> int:
    if type(value) is not int:
        raise _wrong("a whole number", value)
    if not -INT_MAX <= value <= INT_MAX:
        raise CodecError(f"a number beyond ±{INT_MAX}")
    return value


def _truth(value: Any) -> bool:
    if type(value) is not bool:
        raise _wrong("true or false", value)
    return value


_INFINITIES = {"inf": math.inf, "-inf": -math.inf}


def _number_out(value: Any) -> float | int | str:
    if type(value) is int:
        return _whole(value)
    if type(value) is not float:
        raise _wrong("a number", value)
    if math.isfinite(value):
        return value
    if math.isnan(value):
        raise CodecError("NaN is not a number a node sends")
    return "inf" if value > 0 else "-inf"


def _number_back(value: Any) -> float:
    if type(value) is float:
        if not math.isfinite(value):  # 1e999 reads as inf
            raise CodecError("a number out of range")
        return value
    if type(value) is int:
        return float(_whole(value))
    if type(value) is str and value in _INFINITIES:
        return _INFINITIES[value]
    raise _wrong('a number (or "inf")', value)


def _nothing(value: Any) -> None:
    if value is not None:
        raise _wrong("null", value)


_SCALARS: dict[object, _Rule] = {
    str: _Rule(_text, _text),
    int: _Rule(_whole, _whole),
    bool: _Rule(_truth, _truth),
    float: _Rule(_number_out, _number_back),
    type(None): _Rule(_nothing, _nothing),
}


def _enum_rule(kind: type[enum.Enum]) -> _Rule:
    members = {member.value: member for member in kind}
    value_types = {type(value) for value in members}

    def out(value: Any) -> Any:
        if type(value) is not kind:
            raise _wrong(f"a {kind.__name__}", value)
        return value.value

    def back(value: Any) -> Any:
        if type(value) not in value_types or value not in members:
            raise CodecError(f"{_show(value)} is not a {kind.__name__}")
        return members[value]

    return _Rule(out, back)


def _show(value: Any) -> str:
    """``value`` as a message quotes it: short, whatever a peer sent."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _list_back(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _wrong("a list", value)
    return value


def _each(convert: _Convert, values: Any) -> list[Any]:
    """``convert`` applied to each of ``values``; a problem says which one it was."""
    made = []
    for index, each in enumerate(values):
        try:
            made.append(convert(each))
        except CodecError as exc:
            raise exc.inside(f"[{index}]") from None
    return made


def _tuple_rule(member: _Rule) -> _Rule:
    def out(value: Any) -> list[Any]:
        if type(value) is not tuple:
            raise _wrong("a tuple", value)
        return _each(member.out, value)

    def back(value: Any) -> tuple[Any, ...]:
        return tuple(_each(member.back, _list_back(value)))

    return _Rule(out, back)


def _pair_rule(members: tuple[_Rule, ...]) -> _Rule:
    """A tuple of fixed length and types, ``tuple[str, int]``: a list of that many."""
    size = len(members)

    def out(value: Any) -> list[Any]:
        if type(value) is not tuple or len(value) != size:
            raise _wrong(f"a tuple of {size}", value)
        return [rule.out(each) for rule, each in zip(members, value, strict=True)]

    def back(value: Any) -> tuple[Any, ...]:
        if len(_list_back(value)) != size:
            raise CodecError(f"expected a list of {size}, got {len(value)} items")
        made = []
        for index, (rule, each) in enumerate(zip(members, value, strict=True)):
            try:
                made.append(rule.back(each))
            except CodecError as exc:
                raise exc.inside(f"[{index}]") from None
        return tuple(made)

    return _Rule(out, back)


def _set_rule(member: _Rule) -> _Rule:
    def out(value: Any) -> list[Any]:
        if type(value) is not frozenset:
            raise _wrong("a frozenset", value)
        return sorted(_each(member.out, value))  # one value, one spelling

    def back(value: Any) -> frozenset[Any]:
        return frozenset(_each(member.back, _list_back(value)))

    return _Rule(out, back)


def _optional_rule(inner: _Rule) -> _Rule:
    return _Rule(
        lambda value: None if value is None else inner.out(value),
        lambda value: None if value is None else inner.back(value),
    )


@attrs.frozen
class _Shape:
    """How one attrs class of events.py is written: its fields, each with its rule."""

    cls: type[Any]
    fields: dict[str, tuple[str, _Rule, Any]]  #: name -> (keyword, rule, default or NOTHING)
    required: frozenset[str]

    def out(self, value: Any, head: dict[str, Any]) -> dict[str, Any]:
        """``value``'s fields added to ``head`` (the tag, or the version), defaults left out."""
        if type(value) is not self.cls:
            raise _wrong(f"a {self.cls.__name__}", value)
        for name, (_, rule, default) in self.fields.items():
            field = getattr(value, name)
            if field == default:  # never NOTHING (a required field); never a Factory
                continue
            try:
                head[name] = rule.out(field)
            except CodecError as exc:
                raise exc.inside(f".{name}") from None
        return head

    def back(self, data: Any, skip: str) -> Any:
        """The instance ``data`` (a JSON object) describes; its key ``skip`` (the tag, or
        the version) was read by the caller."""
        if type(data) is not dict:
            raise _wrong(f"an object ({self.cls.__name__})", data)
        given: dict[str, Any] = {}
        for name, raw in data.items():
            if name == skip:
                continue
            if name not in self.fields:
                raise CodecError(f"{self.cls.__name__} has no field {_show(name)}")
            keyword, rule, _ = self.fields[name]
            try:
                given[keyword] = rule.back(raw)
            except CodecError as exc:
                raise exc.inside(f".{name}") from None
        if missing := self.required.difference(data):
            raise CodecError(f"missing field {sorted(missing)[0]!r} of {self.cls.__name__}")
        try:
            return self.cls(**given)
        except (TypeError, ValueError) as exc:  # a validator's refusal, should one be added
            raise CodecError(f"not a {self.cls.__name__}: {exc}") from None


def _class_rule(shape: _Shape) -> _Rule:
    return _Rule(lambda value: shape.out(value, {}), lambda data: shape.back(data, ""))


def _union_rule(shapes: dict[str, _Shape]) -> _Rule:
    """One of several classes: an object with the class's name under ``"@"``."""

    def out(value: Any) -> dict[str, Any]:
        name = type(value).__name__
        if name not in shapes or shapes[name].cls is not type(value):
            raise _wrong(f"one of {', '.join(shapes)}", value)
        return shapes[name].out(value, {"@": name})

    def back(data: Any) -> Any:
        if type(data) is not dict:
            raise _wrong("an object", data)
        name = data.get("@")
        if type(name) is not str or name not in shapes:
            said = "no class" if name is None else f"no event class {_show(name)}"
            raise CodecError(f'{said} (its "@"), expected one of {_few(shapes)}')
        return shapes[name].back(data, "@")

    return _Rule(out, back)


def _few(names: dict[str, Any]) -> str:
    listed = list(names)
    return ", ".join(listed) if len(listed) <= 4 else f"{', '.join(listed[:3])}, ... (events.py)"


_RULES: dict[object, _Rule] = dict(_SCALARS)
_SHAPES: dict[type[Any], _Shape] = {}


def _shape(cls: type[Any]) -> _Shape:
    if cls not in _SHAPES:
        hints = typing.get_type_hints(cls)
        fields = {
            field.name: (field.alias, _rule(hints[field.name]), field.default)
            for field in attrs.fields(cls)
        }
        required = frozenset(n for n, (_, _, d) in fields.items() if d is attrs.NOTHING)
        _SHAPES[cls] = _Shape(cls, fields, required)
    return _SHAPES[cls]


def _rule(kind: object) -> _Rule:
    """The rule for values of the type ``kind``, made once (``TypeError`` for a type the
    format has no rule for: a new event with one fails at import, in every test)."""
    if kind not in _RULES:
        _RULES[kind] = _make_rule(kind)
    return _RULES[kind]


def _ours(kind: object) -> typing.TypeGuard[type[Any]]:
    """``kind`` is one of events.py's attrs classes, or remote.py's ``Profile`` (the only
    ones decoding ever makes)."""
    return isinstance(kind, type) and attrs.has(kind) and kind.__module__ in _MODULES


_MODULES = (events.__name__, remote.__name__)


def _make_rule(kind: object) -> _Rule:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enum_rule(kind)
    if _ours(kind):
        return _class_rule(_shape(kind))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tuple_rule(_rule(args[0]))
    if origin is tuple and args:
        return _pair_rule(tuple(_rule(arg) for arg in args))
    if origin is frozenset:
        return _set_rule(_rule(args[0]))
    if origin in (types.UnionType, typing.Union):
        others = [arg for arg in args if arg is not type(None)]
        if len(others) == 1:
            inner = _rule(others[0])
        elif all(map(_ours, others)):
            inner = _union_rule({c.__name__: _shape(c) for c in others if _ours(c)})
        else:
            raise TypeError(f"the codec has no rule for {kind!r}")
        return _optional_rule(inner) if len(others) < len(args) else inner
    raise TypeError(f"the codec has no rule for {kind!r}")


_ENVELOPE = _shape(Envelope)

EVENTS: dict[str, type[Any]] = {cls.__name__: cls for cls in typing.get_args(Event)}
"""Every class an envelope's events may be, by the name written under ``"@"``: the members
of events.py's ``Event`` union, and only those."""


# -- the two entry points --------------------------------------------------------------------


def encode(envelope: Envelope) -> bytes:
    """``envelope`` as the bytes a node publishes.

    Raises:
      CodecError: a value the format cannot carry (NaN, a number beyond ``INT_MAX``, a lone
        surrogate, a value not of its field's type), or more than ``MAX_BYTES`` in all:
        a bug on this node, never sent.
    """
    data = _ENVELOPE.out(envelope, {"v": VERSION})
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    raw = text.encode()  # no lone surrogate: each string was checked
    if len(raw) > MAX_BYTES:
        raise CodecError(f"an envelope of {len(raw)} bytes, more than {MAX_BYTES}")
    return raw


def decode(data: bytes) -> Envelope:
    """The envelope ``data`` holds, checked whole (the module's docstring says how).

    Raises:
      CodecError: ``data`` is not an envelope of this version; the message says why.
    """
    if len(data) > MAX_BYTES:
        raise CodecError(f"{len(data)} bytes, more than the {MAX_BYTES} of an envelope")
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise CodecError(f"not UTF-8 (at byte {exc.start})") from None
    try:
        obj = json.loads(text, parse_constant=_constant)
    except RecursionError:  # "[[[[...": deeper than any envelope
        raise CodecError("not JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError; an integer of more than 4300 digits
        raise CodecError(f"not JSON: {exc}") from None
    if type(obj) is not dict:
        raise _wrong("an object (an envelope)", obj)
    version = obj.get("v")
    if type(version) is not int or version != VERSION:
        said = 'no version ("v")' if version is None else f"version {_show(version)}"
        raise CodecError(f"{said}: this node reads version {VERSION} only (mixed versions?)")
    envelope: Envelope = _ENVELOPE.back(obj, "v")
    return envelope


def _constant(name: str) -> float:
    """Python's JSON reads ``NaN`` and ``Infinity``, which JSON has not: refuse them."""
    raise CodecError(f"not JSON: {name}")
