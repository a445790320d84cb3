"""Pulse's process runs only Pulse: no worker's module imported, and nothing loaded can end supervision."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import pytest

from pulse_supervisor.core.supervision.events import ItemBatch, LogLine, WorkerExited
from pulse_supervisor.core.supervision.pickled_items import load_batch
from pulse_supervisor.core.supervision.tolerant_unpickle import load_message
from pulse_supervisor.core.supervision.worker_record import WorkerRecord
from pulse_supervisor.core.wire import channel, item_pickler
from pulse_supervisor.core.wire.item_forms import Pickled, StandIn, allowed_global, plain
from tests.helpers import config, items_of, poll_until, spec
from tests.test_readme import ROOT


def exited(name):
    return lambda evs: any(isinstance(e, WorkerExited) and e.worker == name for e in evs)


def pulse_notes(events, name):
    return [e.line for e in events if isinstance(e, LogLine) and e.worker == name and e.stream == "pulse"]


def test_a_workers_own_classes_arrive_as_stand_ins_and_their_module_is_never_imported(make_supervisor):
    assert "tests.item_classes" not in sys.modules  # importing it here would end this process
    sup = make_supervisor(config(spec("own", "tests.workers:own_classes", kwargs={"count": 2})))
    sup.start("own")
    events = poll_until(sup, exited("own"))
    assert "tests.item_classes" not in sys.modules
    items = [item for _, item in items_of(events, "own")]
    assert len(items) == 14 and (sup.record("own").received, sup.record("own").lost) == (14, 0)
    point, pair, colour, holder, listed, exits, ten = items[:7]
    assert point == StandIn("tests.item_classes.Point", "Point(x=1.5, y=2)", {"x": 1.5, "y": 2})
    assert pair == StandIn("tests.item_classes.Pair", "Pair(a=3, b=4)", {"a": 3, "b": 4})
    assert colour == StandIn("tests.item_classes.Colour", "<Colour.RED: 'red'>", "red")
    assert repr(holder) == "Holder(point=Point(x=5, y=6), node=<Node>)"
    node = holder.data["node"]
    assert type(node) is StandIn and node.text == "<Node>" and node.data is None  # no plain form
    assert plain(holder) == {"point": {"x": 5, "y": 6}, "node": "<Node>"}
    assert listed == [StandIn("tests.item_classes.Point", "Point(x=7, y=8)", {"x": 7, "y": 8}), 9]
    assert exits.type_name == "tests.item_classes.ExitsWhenLoaded" and exits.data is None  # never called
    assert ten == 10
    assert all(e.stand_ins for e in events if isinstance(e, ItemBatch) and e.items)
    assert exited("own")(events) and [e.exitcode for e in events if isinstance(e, WorkerExited)] == [0]


def test_a_frame_whose_loading_would_call_sys_exit_loses_that_item_only(make_supervisor):
    sup = make_supervisor(
        config(
            spec("foreign", "tests.workers:foreign_frame"),
            spec("other", "pulse_supervisor.producers:counter", kwargs={"count": 5}),
        )
    )
    sup.start("foreign")
    sup.start("other")
    events = poll_until(sup, lambda evs: exited("foreign")(evs) and exited("other")(evs))
    assert [item for _, item in items_of(events, "foreign")] == [1, 3, 4]
    assert [seq for seq, _ in items_of(events, "foreign")] == [0, 2, 3]
    assert (sup.record("foreign").received, sup.record("foreign").lost) == (3, 1)
    (note,) = pulse_notes(events, "foreign")
    assert "1 item(s) could not be unpickled in Pulse" in note and "sys.exit is not loaded in Pulse's process" in note
    assert [item for _, item in items_of(events, "other")] == list(range(5))


def test_objects_asked_for_arrive_pickled_and_load_where_the_app_runs(make_supervisor):
    sup = make_supervisor(config(spec("own", "tests.workers:own_classes")), objects=True)
    sup.start("own")
    events = poll_until(sup, exited("own"))
    assert "tests.item_classes" not in sys.modules  # the core loads nothing: the app does
    raw = [item for _, item in items_of(events, "own")]
    assert [type(item).__name__ for item in raw] == ["Pickled"] * 4 + ["list", "Pickled", "int"]
    assert raw[0].text == "Point(x=1.5, y=2)"


@pytest.fixture
def forget_item_classes():
    """Leave `tests.item_classes` unimported, as every other test expects of this process."""
    yield
    sys.modules.pop("tests.item_classes", None)
    import tests

    vars(tests).pop("item_classes", None)


def test_loading_objects_in_the_app_contains_any_exception_to_its_item(monkeypatch, forget_item_classes):
    # What QtSupervisor does in the GUI thread with a batch of `Pickled` items, SystemExit included.
    monkeypatch.setenv("PULSE_TEST_ITEM_CLASSES", "1")
    from tests import item_classes

    point = Pickled("tests.item_classes.Point", "Point(x=1, y=2)", pickle.dumps(item_classes.Point(1, 2)))
    del sys.modules["tests.item_classes"]  # loading it imports it again, here, as the app's own code
    exits = Pickled("x.Exits", "Exits()", pickle.dumps(_ExitsInApp()))
    interrupts = Pickled("x.Interrupts", "Interrupts()", pickle.dumps(_Interrupts()))
    batch = ItemBatch("w", 10, [1, point, [exits], 4, interrupts], 0, 0, 2, True)
    note, first, second, last = load_batch(batch)
    assert isinstance(note, LogLine) and note.worker == "w" and note.stream == "pulse"
    assert "2 item(s) could not be loaded in this process and were dropped" in note.line
    assert "SystemExit: loaded in the app" in note.line
    assert first.first_seq == 10 and first.lost_before == 2 and first.items[0] == 1
    assert type(first.items[1]).__qualname__ == "Point" and (first.items[1].x, first.items[1].y) == (1, 2)
    assert (second.first_seq, second.items, second.lost_before) == (13, [4], 1)
    assert (last.first_seq, last.items, last.lost_before) == (15, [], 1)
    sys.modules.pop("tests.item_classes", None)


class _ExitsInApp:
    def __reduce__(self):
        return (sys.exit, ("loaded in the app",))


class _Interrupts:
    def __reduce__(self):
        return (_raise_keyboard_interrupt, ())


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt("raised by the item's own code")


@pytest.mark.parametrize("raised", [SystemExit("x"), KeyboardInterrupt(), GeneratorExit(), RecursionError("deep")])
def test_any_base_exception_from_loading_a_frame_is_that_frames_failure(monkeypatch, raised):
    import pulse_supervisor.core.supervision.worker_record as worker_record

    def load(data):
        raise raised

    monkeypatch.setattr(worker_record, "load_message", load)
    monkeypatch.setattr(worker_record, "loads_tolerant", load)
    rec = WorkerRecord(spec("w", "pulse_supervisor.producers:counter"))
    events = list(rec._messages([b"frame one", b"frame two"]))
    assert [type(msg) for msg, _ in events] == [LogLine, LogLine]
    assert all(type(raised).__name__ in msg.line for msg, _ in events)


def test_only_the_standard_librarys_and_numpys_value_classes_load_in_pulse():
    assert allowed_global("builtins", "dict") and allowed_global("builtins", "ValueError")
    assert allowed_global("datetime", "datetime") and allowed_global("numpy._core.multiarray", "_reconstruct")
    for module, name in [("builtins", "eval"), ("builtins", "getattr"), ("os", "system"), ("sys", "exit")]:
        assert not allowed_global(module, name)
    assert not allowed_global("numpy", "save") and not allowed_global("tests.item_classes", "Point")
    with pytest.raises(pickle.UnpicklingError, match="sys.exit is not loaded"):
        load_message(pickle.dumps(_ExitsInApp()))


def test_plain_data_and_numpy_pass_as_they_are():
    import datetime
    import decimal

    import numpy as np

    items = [
        1,
        2.5,
        "s",
        b"b",
        None,
        True,
        {"a": [1, (2, 3)]},
        {1, 2},
        datetime.datetime(2026, 1, 2),
        decimal.Decimal("1.5"),
    ]
    items += [np.float64(3.5), np.arange(4), np.int8(7)]
    msg, stand_ins = load_message(item_pickler.dumps((channel.ITEMS, 0, items, 0)))
    assert not stand_ins
    got = msg[2]
    assert got[:10] == items[:10] and type(got[10]) is np.float64 and list(got[11]) == [0, 1, 2, 3]


def test_headless_writes_a_workers_own_objects_as_their_class_and_data(tmp_path):
    path = tmp_path / "pulse.toml"
    path.write_text(
        textwrap.dedent(
            """\
            [[worker]]
            name = "own"
            target = "tests.workers:own_classes"
            restart = "never"
            start_secs = 0.2
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "main.py", "--headless", "--config", str(path), "--duration", "60"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]  # every line is JSON
    items = [r for r in records if r["type"] == "item"]
    assert items[0] == {
        "type": "item",
        "worker": "own",
        "seq": 0,
        "class": "tests.item_classes.Point",
        "data": {"x": 1.5, "y": 2},
    }
    assert items[3]["data"] == {"point": {"x": 5, "y": 6}, "node": {"$repr": "<Node>"}}  # no data: its repr, tagged
    assert items[4] == {"type": "item", "worker": "own", "seq": 4, "data": [{"x": 7, "y": 8}, 9]}
    assert items[6] == {"type": "item", "worker": "own", "seq": 6, "data": 10}
    logs = [r["line"] for r in records if r["type"] == "log"]
    assert "tests.item_classes imported" in logs  # the worker's import, printed in the worker
