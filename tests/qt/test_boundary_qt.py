"""The library and the window keep Pulse's side of the boundary: nothing loaded can end supervision."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import config, spec


@pytest.fixture
def forget_item_classes():
    """Leave `tests.item_classes` unimported, as every other test expects of this process."""
    assert "tests.item_classes" not in sys.modules
    yield
    sys.modules.pop("tests.item_classes", None)
    import tests

    vars(tests).pop("item_classes", None)


def test_the_library_loads_the_apps_own_classes_in_the_gui_thread_and_contains_what_they_raise(
    qtbot, make_pool, monkeypatch, forget_item_classes
):
    monkeypatch.setenv("PULSE_TEST_ITEM_CLASSES", "1")  # this app may import tests.item_classes
    pool = make_pool(
        config(spec("own", "tests.workers:own_classes"), spec("count", "pulse_supervisor.producers:counter"))
    )
    got: list[object] = []
    lines: list[str] = []
    pool.items.connect(lambda name, items: got.extend(items) if name == "own" else None)
    pool.log_line.connect(lambda name, level, text: lines.append(text) if name == "own" else None)
    with qtbot.waitSignal(pool.exited, check_params_cb=lambda name, *_: name == "own", timeout=15_000):
        pass
    qtbot.waitUntil(lambda: pool.status("own").received + pool.status("own").lost == 7, timeout=5_000)
    from tests import item_classes as ic

    assert got[:4] == [ic.Point(1.5, 2), ic.Pair(3, 4), ic.Colour.RED, got[3]]
    assert type(got[3]) is ic.Holder and got[3].point == ic.Point(5, 6)
    assert got[4:] == [[ic.Point(7, 8), 9], 10]  # the ExitsWhenLoaded between them: dropped
    assert (pool.status("own").received, pool.status("own").lost) == (6, 1)
    (note,) = [line for line in lines if "could not be loaded" in line]
    assert "tests.item_classes.ExitsWhenLoaded" in note and "SystemExit" in note
    assert pool.is_running and pool.state("count") is not None  # supervision goes on
    assert pool.close(timeout=10)


def test_the_library_survives_a_class_whose_module_exits_at_import(qtbot, make_pool, forget_item_classes):
    # Without PULSE_TEST_ITEM_CLASSES here, importing tests.item_classes calls sys.exit.
    pool = make_pool(config(spec("own", "tests.workers:own_classes")))
    got: list[object] = []
    pool.items.connect(lambda name, items: got.extend(items))
    with qtbot.waitSignal(pool.exited, timeout=15_000):
        pass
    qtbot.waitUntil(lambda: pool.status("own").received + pool.status("own").lost == 7, timeout=5_000)
    assert got == [10]  # every object of that module failed to load; the int did not need it
    assert pool.status("own").lost == 6 and pool.is_running
    pool.start("own")  # still takes commands
    with qtbot.waitSignal(pool.exited, timeout=15_000):
        pass
    assert pool.close(timeout=10)


def _end_the_consumer_loop(pool) -> None:
    """Make the consumer thread's next poll raise SystemExit, as a bug in the loop would."""
    poll = pool.supervisor.poll

    def dies(*args, **kwargs):
        poll(*args, **kwargs)
        raise SystemExit("a bug ended the loop")

    pool.supervisor.poll = dies


def test_the_consumer_thread_dying_is_said_and_closing_still_works(qtbot, make_pool):
    pool = make_pool(config(spec("count", "pulse_supervisor.producers:counter", kwargs={"rate": 100})))
    with qtbot.waitSignal(pool.items, timeout=15_000):
        pass
    errors: list[BaseException] = []
    pool.errored.connect(errors.append)
    _end_the_consumer_loop(pool)
    with qtbot.waitSignal(pool.finished, timeout=15_000):
        pass
    assert len(errors) == 1 and isinstance(errors[0], SystemExit)
    assert pool.closed and not pool.is_running
    assert pool.supervisor.all_stopped()  # its workers were ended, not left behind
    assert pool.close(timeout=5)


def test_the_window_shows_a_workers_own_objects_without_importing_their_module(qtbot, make_window, forget_item_classes):
    window = make_window(config(spec("own", "tests.workers:own_classes", kwargs={"count": 100})), autostart=True)
    status = window.supervisor.status("own")
    qtbot.waitUntil(lambda: status.received == 700, timeout=15_000)
    assert "tests.item_classes" not in sys.modules and status.lost == 0
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "own #700: 10", timeout=5_000)
    history = window.plot_dock.data.series  # the Points' fields plot as a dict of numbers would
    assert {"own.x", "own.y"} <= set(history)


def test_the_window_says_when_its_consumer_thread_died(qtbot, make_window):
    window = make_window(
        config(spec("count", "pulse_supervisor.producers:counter", kwargs={"rate": 100})), autostart=True
    )
    sup = window.supervisor
    with qtbot.waitSignal(sup.items, timeout=15_000):
        pass
    _end_the_consumer_loop(sup)
    with qtbot.waitSignal(sup.finished, timeout=15_000):
        pass
    assert "Internal error in the consumer thread: SystemExit" in window.statusBar().currentMessage()
    assert any("consumer thread failed" in e.message for e in window.log_dock.model.entries())


def test_an_import_that_hangs_while_loading_stalls_no_other_worker(qtbot, make_pool, monkeypatch, tmp_path):
    gate = tmp_path / "gate"
    monkeypatch.setenv("PULSE_TEST_GATE", str(gate))
    assert "tests.gated_import" not in sys.modules
    pool = make_pool(
        config(
            spec("gated", "tests.workers:gated_reading"),
            spec("count", "pulse_supervisor.producers:counter", kwargs={"rate": 200}),
        )
    )
    got: dict[str, list[object]] = {"gated": [], "count": []}
    pool.items.connect(lambda name, items: got[name].extend(items))
    qtbot.waitUntil(lambda: (tmp_path / "gate.started").exists(), timeout=15_000)  # its import began
    seen = len(got["count"])
    qtbot.waitUntil(lambda: len(got["count"]) >= seen + 50, timeout=15_000)  # the others go on meanwhile
    assert got["gated"] == [] and pool.status("gated").received == 0  # its later items wait, in order
    gate.touch()
    qtbot.waitUntil(lambda: len(got["gated"]) == 2, timeout=15_000)
    reading, two = got["gated"]
    assert type(reading).__name__ == "Reading" and reading.value == 1.5 and two == 2
    assert pool.close(timeout=10)
    sys.modules.pop("tests.gated_import", None)
    import tests

    vars(tests).pop("gated_import", None)
