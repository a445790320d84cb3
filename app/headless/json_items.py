"""The headless stream's JSON form of an item: numbers stay numbers, every other value a typed form.

Plain JSON values (strings, numbers, booleans, null, arrays, objects with string keys) are
written as they are. Any other value is written as a *tagged object*: an object with exactly one
key, which starts with ``$`` (``{"$float": "nan"}``, ``{"$int": "1234..."}``, ``{"$set": [1, 2]}``).
An item's own dict of that one shape is wrapped as ``{"$dict": {...}}``, so a reader never mistakes
one for the other. The README's "Headless mode" section lists every tag.

Flat items (a number, a string, a list of numbers, a dict of numbers by string keys) take the C
encoder's path behind a type check; only the rest is walked in Python.
"""

from __future__ import annotations

import _json  # the C encoder json.dumps uses, made once here
import base64
import dataclasses
import datetime as dt
import decimal
import enum
import fractions
import pathlib
import sys
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from pulse_supervisor.core.wire.item_forms import Pickled, StandIn
from pulse_supervisor.core.wire.item_text import int_text, item_text

MAX_DEPTH = 100  # nesting levels written; what lies deeper is its bounded repr
REPR_LIMIT = 10_000  # characters of an object's repr when it has no JSON form
_ATOMS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = _ATOMS | {list, tuple, dict}
_STR = frozenset({str})
_INFINITIES = (float("inf"), float("-inf"))
# Non-string keys JSON names as Python's json does (1 -> "1"); any other key makes the dict pairs.
_KEY_NAMES: dict[type, Callable[[Any], str]] = {
    int: int.__repr__,
    float: float.__repr__,
    bool: lambda b: "true" if b else "false",
    type(None): lambda _: "null",
}
_Form = Callable[["_Walk", Any, int], str]


def _refuse(obj: Any) -> Any:
    raise TypeError(type(obj).__name__)  # the C encoder meets only flat values: never called there


# Strict JSON (no NaN literal), ASCII only, so any file and any JSON reader copes. The C encoder is
# made once: JSONEncoder.encode makes a new one on every call, a third of the cost of a small item.
_ascii = _json.encode_basestring_ascii
_c_encoder = _json.make_encoder(None, _refuse, _ascii, None, ":", ",", False, False, False)


def _flat_json(obj: Any) -> str:
    """Return the JSON of a value made of atoms, lists, tuples and dicts (ValueError: NaN, a huge int)."""
    return "".join(_c_encoder(obj, 0))


def encode_data(item: Any) -> str:
    """Return ``item`` as one JSON value, on one line, in the forms the README's "Headless mode" lists.

    Parameters
    ----------
    item : object
        Anything a worker yielded, `item_forms.StandIn` objects included (written as their data).

    Returns
    -------
    str
        ASCII JSON text. Never raises: what has no other form is ``{"$repr": "<bounded repr>"}``.
    """
    kind = type(item)
    if kind is str:
        return _ascii(item)
    try:
        # A float subclass (numpy's float64) is its value to the C encoder too.
        if kind in _ATOMS or isinstance(item, float):
            return _flat_json(item)
        if kind is list or kind is tuple or (kind is dict and _names_only(item)):
            # Encoded first, checked after: a list of numbers costs no scan. The item's own bracket
            # or brace alone: nothing inside is a container (a namedtuple, a dict), each atom as written.
            text = _flat_json(item)
            if text.count("[") + text.count("{") == 1 or _plain(item, 3):
                return text
    except (ValueError, TypeError, RecursionError):  # NaN, a huge int, a type of no JSON literal, a cycle
        pass
    try:
        return _Walk().text(item, 0)
    except BaseException:  # noqa: B036 - a subclass's broken method: this item's repr, not the run's end
        return _repr_form(item)


def _plain(obj: Any, levels: int) -> bool:
    """Return whether ``obj`` is lists, tuples and objects with string keys (none shaped like a tag) of
    atoms, at most ``levels`` deep: what the C encoder writes as the README says."""
    kind = type(obj)
    if kind is dict:
        if not _names_only(obj):
            return False
        values: Any = obj.values()
    elif kind is list or kind is tuple:
        values = obj
    else:
        return False
    kinds = set(map(type, values))
    if kinds <= _ATOMS:
        return True
    if levels <= 1 or not kinds <= _CONTAINERS:
        return False
    for value in values:
        if type(value) not in _ATOMS and not _plain(value, levels - 1):
            return False
    return True


def _names_only(d: dict[Any, Any]) -> bool:
    """Return whether the keys of ``d`` are strings, and ``d`` is not shaped like a tag."""
    return set(map(type, d)) <= _STR and (len(d) != 1 or not next(iter(d)).startswith("$"))


def _tag(tag: str, value_json: str) -> str:
    return f'{{"${tag}":{value_json}}}'


def _repr_form(obj: Any) -> str:
    return _tag("repr", _flat_json(item_text(obj, REPR_LIMIT)))  # bounded; a broken __repr__ cannot raise


def _float_form(x: float) -> str:
    if x != x:
        return _tag("float", '"nan"')
    if x in _INFINITIES:
        return _tag("float", '"inf"' if x > 0 else '"-inf"')
    return float.__repr__(x)


class _Walk:
    """One item's slow path: each value in its form; cycles and depth bounded."""

    def __init__(self) -> None:
        self._open: set[int] = set()  # ids of the containers being written: an item may contain itself

    def text(self, obj: Any, depth: int) -> str:
        kind = type(obj)
        if kind is float:
            return _float_form(obj)
        if kind is int:
            try:
                return int.__repr__(obj)
            except ValueError:
                return _tag("int", _flat_json(int_text(obj)))
        if kind in _ATOMS:
            return _flat_json(obj)
        if depth >= MAX_DEPTH:
            return _repr_form(obj)
        if kind is list or kind is tuple:
            return self.array(obj, depth)
        if kind is dict:
            return self.object(obj, depth)
        return (_FORMS.get(kind) or _form_of(kind))(self, obj, depth)

    def array(self, seq: Any, depth: int) -> str:
        if set(map(type, seq)) <= _ATOMS:  # a list of numbers: the C encoder, unless one is NaN
            try:
                return _flat_json(seq)
            except ValueError:
                pass
        return self.nested(seq, lambda: "[" + ",".join([self.text(v, depth + 1) for v in seq]) + "]")

    def object(self, d: dict[Any, Any], depth: int) -> str:
        names = _key_names(d)
        if names is None:  # keys an object cannot hold: a list of pairs
            return self.nested(d, lambda: _tag("map", self._pairs(d, depth)))
        text = None
        if set(map(type, d.values())) <= _ATOMS:  # numbers by name: the C encoder, unless one is NaN
            try:
                text = _flat_json(d if names is d else dict(zip(names, d.values(), strict=True)))
            except ValueError:
                pass
        if text is None:
            text = self.nested(d, lambda: self._members(names, d.values(), depth))
        if len(d) == 1 and next(iter(names)).startswith("$"):
            return _tag("dict", text)  # the item's own dict, shaped like a tag
        return text

    def _members(self, names: Any, values: Any, depth: int) -> str:
        members = [f"{_flat_json(k)}:{self.text(v, depth + 1)}" for k, v in zip(names, values, strict=True)]
        return "{" + ",".join(members) + "}"

    def _pairs(self, d: dict[Any, Any], depth: int) -> str:
        pairs = [f"[{self.text(k, depth + 2)},{self.text(v, depth + 2)}]" for k, v in d.items()]
        return "[" + ",".join(pairs) + "]"

    def nested(self, obj: Any, write: Callable[[], str]) -> str:
        """Return ``write()``, or the bounded repr of ``obj`` when it is being written already (a cycle)."""
        key = id(obj)
        if key in self._open:
            return _repr_form(obj)
        self._open.add(key)
        try:
            return write()
        finally:
            self._open.discard(key)


def _key_names(d: dict[Any, Any]) -> Any:
    """Return ``d`` if its keys are strings, else its keys as JSON names, or None if they do not fit an object."""
    kinds = set(map(type, d))
    if kinds <= _STR:
        return d
    if not kinds <= _KEY_NAMES.keys() | _STR:
        return None
    if any(type(k) is float and (k != k or k in _INFINITIES) for k in d):
        return None
    try:
        names = [k if type(k) is str else _KEY_NAMES[type(k)](k) for k in d]
    except ValueError:  # an int beyond the int-to-text limit
        return None
    return names if len(set(names)) == len(names) else None  # 1 and "1" would be one name


def _stand_in(walk: _Walk, obj: StandIn, depth: int) -> str:
    if obj.data is None:
        return _tag("repr", _flat_json(obj.text))  # already bounded by the worker
    return walk.nested(obj, lambda: walk.text(obj.data, depth))  # a parent link is a cycle of stand-ins


def _fields(walk: _Walk, obj: Any, depth: int) -> str:
    if isinstance(obj, tuple):  # a namedtuple
        fields = dict(zip(type(obj)._fields, obj, strict=False))  # type: ignore[attr-defined]
    else:
        fields = {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
    return walk.nested(obj, lambda: walk.object(fields, depth))


def _set(walk: _Walk, obj: Any, depth: int) -> str:
    try:
        items = sorted(obj)  # the same set is the same line
    except TypeError:
        items = list(obj)
    return _tag("set", walk.array(items, depth + 1))


def _simple(tag: str, value: Callable[[Any], Any]) -> _Form:
    return lambda walk, obj, depth: _tag(tag, walk.text(value(obj), depth + 1))


def _complex(walk: _Walk, obj: complex, depth: int) -> str:
    return _tag("complex", f"[{_float_form(obj.real)},{_float_form(obj.imag)}]")


def _fraction(walk: _Walk, obj: fractions.Fraction, depth: int) -> str:
    return _tag("fraction", _flat_json(f"{int_text(obj.numerator)}/{int_text(obj.denominator)}"))


def _as(convert: Callable[[Any], Any]) -> _Form:
    return lambda walk, obj, depth: walk.text(convert(obj), depth)


# Forms by exact class, filled as classes are met; the first match of `_BY_BASE` decides.
_FORMS: dict[type, _Form] = {StandIn: _stand_in, Pickled: lambda walk, obj, depth: _tag("repr", _flat_json(obj.text))}
_BY_BASE: list[tuple[type, _Form]] = [
    (enum.Enum, _as(lambda e: e.value)),
    (int, _as(int.__pos__)),  # a subclass's value as a plain int (an IntFlag, a bool-like)
    (float, _as(float.__pos__)),
    (str, _as(lambda s: str.__getitem__(s, slice(None)))),
    (complex, _complex),
    (dict, lambda walk, obj, depth: walk.object(obj, depth)),
    (list, lambda walk, obj, depth: walk.array(obj, depth)),
    (deque, _as(list)),
    (set, _set),
    (frozenset, _set),
    (bytes, _simple("bytes", lambda b: base64.b64encode(b).decode("ascii"))),
    (bytearray, _simple("bytes", lambda b: base64.b64encode(b).decode("ascii"))),
    (dt.datetime, _simple("datetime", dt.datetime.isoformat)),
    (dt.date, _simple("date", dt.date.isoformat)),
    (dt.time, _simple("time", dt.time.isoformat)),
    (dt.timedelta, _simple("timedelta", dt.timedelta.total_seconds)),
    (decimal.Decimal, _simple("decimal", str)),
    (fractions.Fraction, _fraction),
    (uuid.UUID, _simple("uuid", str)),
    (pathlib.PurePath, _simple("path", str)),
]


def _form_of(kind: type) -> _Form:
    """Return (and remember) how values of class ``kind`` are written."""
    form: _Form | None = None
    np = sys.modules.get("numpy")  # imported already if a worker sent numpy values
    if np is not None and issubclass(kind, np.generic):
        form = _as(lambda x: x.item())  # a numpy scalar: its Python number (or value)
    elif np is not None and issubclass(kind, np.ndarray):
        form = _as(lambda a: a.tolist())  # nested lists of Python numbers, at C speed
    elif issubclass(kind, tuple):
        fields = getattr(kind, "_fields", None)
        named = isinstance(fields, tuple) and all(type(f) is str for f in fields)
        form = _fields if named else (lambda walk, obj, depth: walk.array(obj, depth))
    elif dataclasses.is_dataclass(kind):
        form = _fields
    else:
        form = next((f for base, f in _BY_BASE if issubclass(kind, base)), None)
    _FORMS[kind] = form = form or (lambda walk, obj, depth: _repr_form(obj))
    return form
