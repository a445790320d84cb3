"""Headless JSON: each type's documented form (README, "Headless mode"), read back by the README's rule."""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import fractions
import json
import math
import pathlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_supervisor.core.supervision.events import ItemBatch
from pulse_supervisor.core.wire import item_text
from pulse_supervisor.core.wire.item_forms import StandIn
from pulse_supervisor.core.wire.item_text import int_text
from pulse_supervisor.headless import json_items as headless_json
from pulse_supervisor.headless.json_items import encode_data
from pulse_supervisor.headless.stream import event_lines

ROOT = Path(__file__).parents[2]
NAN, INF = math.nan, math.inf


class Point(NamedTuple):
    x: float
    y: float


@dataclasses.dataclass
class Quote:
    bid: float
    ask: Any


class Colour(enum.Enum):
    RED = "red"


@contextlib.contextmanager
def any_int_digits() -> Iterator[None]:
    """Let this process turn ints of any size into text and back, for the expected values."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


def decode(value: Any) -> Any:
    """Read one ``data`` back by the README's rule: an object of one key starting with "$" is a tagged value."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and next(iter(value)).startswith("$"):
        ((tag, inner),) = value.items()
        return TAGS[tag](inner)
    return {k: decode(v) for k, v in value.items()}


TAGS = {
    "$float": float,
    "$int": lambda text: int(text, 0),
    "$dict": lambda d: {k: decode(v) for k, v in d.items()},
    "$map": lambda pairs: {_hashable(decode(k)): decode(v) for k, v in pairs},
    "$set": lambda items: {_hashable(decode(v)) for v in items},
    "$bytes": base64.b64decode,
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$timedelta": lambda seconds: dt.timedelta(seconds=seconds),
    "$decimal": decimal.Decimal,
    "$fraction": fractions.Fraction,
    "$complex": lambda parts: complex(*map(decode, parts)),
    "$uuid": uuid.UUID,
    "$path": pathlib.PurePath,
    "$repr": lambda text: ("repr", text),
}


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def read(item: Any) -> Any:
    text = encode_data(item)
    assert text.isascii() and "\n" not in text
    return json.loads(text)


# --- one test per kind: (item, the JSON a reader gets) -------------------------------------------

FORMS = [
    (7, 7),
    (2.5, 2.5),
    ("nan", "nan"),  # a string stays a string: never confused with the NaN below
    (None, None),
    (True, True),
    ([1, (2, 3)], [1, [2, 3]]),
    (collections.deque([1, 2]), [1, 2]),
    ({"a": 1, "b": [1.5]}, {"a": 1, "b": [1.5]}),
    ({1: "a", None: "b", 2.5: "c", False: "d"}, {"1": "a", "null": "b", "2.5": "c", "false": "d"}),
    ({1: "a", "1": "b"}, {"$map": [[1, "a"], ["1", "b"]]}),
    ({(1, 2): 3}, {"$map": [[[1, 2], 3]]}),
    ({NAN: 1}, {"$map": [[{"$float": "nan"}, 1]]}),
    ({"$float": "nan"}, {"$dict": {"$float": "nan"}}),
    ({"$a": 1, "$b": 2}, {"$a": 1, "$b": 2}),  # two keys: no tag, no wrapping
    (NAN, {"$float": "nan"}),
    (INF, {"$float": "inf"}),
    (-INF, {"$float": "-inf"}),
    ({"price": NAN, "n": 3}, {"price": {"$float": "nan"}, "n": 3}),  # the dict stays a dict
    (np.int64(7), 7),
    (np.uint8(255), 255),
    (np.float32(0.5), 0.5),
    (np.float64(NAN), {"$float": "nan"}),
    (np.bool_(True), True),
    (np.str_("s"), "s"),
    (np.arange(3), [0, 1, 2]),
    (np.array([[1.0, NAN], [-INF, 2.0]]), [[1.0, {"$float": "nan"}], [{"$float": "-inf"}, 2.0]]),
    (Point(1, NAN), {"x": 1, "y": {"$float": "nan"}}),
    (Quote(1.5, [Point(2, 3)]), {"bid": 1.5, "ask": [{"x": 2, "y": 3}]}),
    (Colour.RED, "red"),
    ({3, 1, 2}, {"$set": [1, 2, 3]}),
    (frozenset({"b", 1}), {"$set": [1, "b"]}),  # not sortable: as iterated (checked as a set below)
    (b"\x00\xff", {"$bytes": "AP8="}),
    (bytearray(b"ab"), {"$bytes": "YWI="}),
    (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), {"$datetime": "2026-01-02T03:04:05+00:00"}),
    (dt.date(2026, 1, 2), {"$date": "2026-01-02"}),
    (dt.time(3, 4, 5), {"$time": "03:04:05"}),
    (dt.timedelta(seconds=1.5), {"$timedelta": 1.5}),
    (decimal.Decimal("1.10"), {"$decimal": "1.10"}),
    (fractions.Fraction(1, 3), {"$fraction": "1/3"}),
    (complex(1, NAN), {"$complex": [1.0, {"$float": "nan"}]}),
    (uuid.UUID(int=5), {"$uuid": "00000000-0000-0000-0000-000000000005"}),
    (pathlib.PurePosixPath("/a/b"), {"$path": "/a/b"}),
    (StandIn("m.Point", "Point(x=1)", {"x": 1}), {"x": 1}),
    (StandIn("m.Lock", "<unlocked lock>"), {"$repr": "<unlocked lock>"}),
    ([StandIn("m.P", "P(nan)", {"v": NAN})], [{"v": {"$float": "nan"}}]),
]


@pytest.mark.parametrize(("item", "expected"), FORMS, ids=[type(item).__name__ for item, _ in FORMS])
def test_each_kind_has_its_documented_form(item: Any, expected: Any) -> None:
    got = read(item)
    if isinstance(item, frozenset):
        assert set(got["$set"]) == item
    else:
        assert got == expected


def test_a_big_int_is_its_exact_digits_and_the_process_limit_stays() -> None:
    before = sys.get_int_max_str_digits()
    n = -(7**6000)  # 5 071 digits: str() refuses it
    with pytest.raises(ValueError):
        str(n)
    got, nested = read(n), read([n, {"k": n}])
    assert sys.get_int_max_str_digits() == before
    with any_int_digits():
        assert got == {"$int": str(n)}
        assert nested == [{"$int": str(n)}, {"k": {"$int": str(n)}}]


def test_a_giant_int_is_exact_hex_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(item_text, "MAX_DECIMAL_BITS", 20_000)  # as a 1.26-million-digit int is treated
    n = 3**20_000  # 31 700 bits
    text = read(n)["$int"]
    assert text.startswith("0x") and int(text, 0) == n
    assert int_text(-n) == "-" + text


def test_an_object_with_no_json_form_is_its_bounded_repr_in_place() -> None:
    class BrokenRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    obj = object()
    assert read(obj) == {"$repr": repr(obj)}
    got = read({"ok": 1, "odd": BrokenRepr()})  # the rest of the item keeps its form
    assert got["ok"] == 1 and got["odd"]["$repr"].startswith("<BrokenRepr")
    loop: list[Any] = [1]
    loop.append(loop)
    assert read(loop) == [1, {"$repr": "[1, [1, [1, [...]]]]"}]
    deep: list[Any] = [NAN]
    for _ in range(150):
        deep = [deep]
    got, levels = read(deep), 0
    while isinstance(got, list):
        (got,), levels = got, levels + 1
    assert levels == headless_json.MAX_DEPTH and got["$repr"].startswith("[[[")
    assert len(read([BrokenRepr()] * 3)) == 3


def test_a_stand_in_cycle_ends_in_a_repr() -> None:
    parent = StandIn("m.Node", "<Node>", None)
    parent.data = {"parent": parent}
    assert read(parent) == {"parent": {"$repr": "<Node>"}}


def test_event_lines_name_the_class_of_a_top_level_stand_in() -> None:
    items = [StandIn("m.Quote", "Quote(1.5, nan)", {"bid": 1.5, "ask": NAN}), np.float64(2.5)]
    first, second = (json.loads(line) for line in event_lines(ItemBatch("w", 0, items, 0, 0, stand_ins=True)))
    assert first["class"] == "m.Quote" and first["data"] == {"bid": 1.5, "ask": {"$float": "nan"}}
    assert second == {"type": "item", "worker": "w", "seq": 1, "data": 2.5}


# --- properties: plain data is exactly Python's JSON; anything reads back --------------------------

KEYS = st.text(max_size=4).filter(lambda k: not k.startswith("$"))
PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5) | st.binary(max_size=4)
    | st.sampled_from([1, -1]).map(lambda sign: sign * 7**6000) | st.dates() | st.decimals(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    | st.dictionaries(st.integers(), inner, max_size=3) | st.frozensets(st.integers(), max_size=3),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None, database=None)
@given(PLAIN)
def test_plain_data_is_written_as_pythons_json_writes_it(item: Any) -> None:
    assert encode_data(item) == json.dumps(item, separators=(",", ":"))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _as_read(item: Any) -> Any:
    """``item`` as the reader gets it back: frozensets as sets, int keys as their names."""
    if isinstance(item, list):
        return [_as_read(v) for v in item]
    if isinstance(item, frozenset):
        return set(item)
    if isinstance(item, dict):
        if all(type(k) is int for k in item) and item:
            return {str(k): _as_read(v) for k, v in item.items()}
        return {k: _as_read(v) for k, v in item.items()}
    return item


@settings(max_examples=300, deadline=None, database=None)
@given(ANY)
def test_any_item_reads_back_by_the_readme_rule(item: Any) -> None:
    got = read(item)
    with any_int_digits():  # for the reader's int(text, 0) only
        assert _same(decode(got), _as_read(item))


# --- through main.py: real workers, the real boundary --------------------------------------------


def test_headless_writes_every_kind_from_a_real_worker(tmp_path: Path) -> None:
    cfg = tmp_path / "pulse.toml"
    cfg.write_text('[[worker]]\nname = "j"\ntarget = "tests.workers:json_forms"\nrestart = "never"\n')
    proc = subprocess.run(
        [sys.executable, "main.py", "--headless", "--config", str(cfg), "--duration", "60"],
        cwd=ROOT, capture_output=True, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    items = [r for r in map(json.loads, proc.stdout.decode().splitlines()) if r["type"] == "item"]
    with any_int_digits():
        big = str(-(10**5000))
    assert [r.get("class") for r in items][6:9] == [
        "tests.workers.Pair",
        "tests.workers.json_forms.<locals>.Quote",
        "urllib.parse.SplitResult",
    ]
    assert [r["data"] for r in items] == [
        7,
        0.5,
        [[1.0, {"$float": "nan"}], [{"$float": "inf"}, 2.0]],
        {"a": {"$float": "nan"}, "b": 1},
        "nan",
        {"$int": big},
        {"a": 1, "b": {"$float": "inf"}},
        {"bid": 1.5, "ask": {"$float": "nan"}},
        {"scheme": "http", "netloc": "host", "path": "/path", "query": "", "fragment": ""},
        {"$set": [1, 2, 3]},
        {"$bytes": "AP8="},
        {"$datetime": "2026-01-02T03:04:05+00:00"},
        {"$decimal": "1.10"},
        {"$dict": {"$float": "nan"}},
        {"$map": [[[1, 2], "pair"]]},
    ]
