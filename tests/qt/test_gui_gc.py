"""Cycles are collected in the GUI thread only, while a consumer thread runs (the suite's segfault)."""

from __future__ import annotations

import gc
import sys
import threading

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QPushButton, QVBoxLayout, QWidget

from pulse_supervisor.qt.gui_gc import collector
from pulse_supervisor.qt.qt_supervisor import QtSupervisor
from tests.helpers import config, spec


def make_gui_garbage() -> None:
    """Widgets and timers kept alive only by cycles, as app code makes them every day."""
    for _ in range(20):
        w = QWidget()
        QVBoxLayout(w).addWidget(QPushButton("x", w))
        w.me = w
        t = QTimer()
        t.me = t
        t.start(50)


def test_no_collection_runs_in_the_consumer_thread_while_items_flood_in(qtbot):
    threads: list[str] = []

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)

    was_enabled = gc.isenabled()
    gc.callbacks.append(on_collection)
    pool = QtSupervisor(config(spec("flood", "tests.workers:flat_out")))
    try:
        received = []
        pool.items.connect(lambda name, items: received.append(len(items)))
        churn = QTimer()
        churn.timeout.connect(make_gui_garbage)
        churn.start(0)
        # Before: thousands of collections ran in the consumer thread here, destroying the GUI
        # thread's widgets and timers off their thread; now each runs in the GUI thread.
        qtbot.waitUntil(lambda: sum(received) > 300_000 and len(threads) > 20, timeout=30_000)
        churn.stop()
        assert set(threads) == {threading.main_thread().name}
        assert not gc.isenabled() and collector().active
    finally:
        pool.close()
        gc.callbacks.remove(on_collection)
    qtbot.waitUntil(lambda: not collector().active, timeout=10_000)  # the consumer's finished arrives
    assert gc.isenabled() == was_enabled


def test_workers_collect_their_own_cycles_even_when_forked_from_a_gui_that_does_not(qtbot):
    pool = QtSupervisor(config(spec("g", "tests.workers:gc_state"), start_method="fork"))
    try:
        with qtbot.waitSignal(pool.items, timeout=20_000) as blocker:
            pass
        assert not gc.isenabled()  # here, the GUI collects on its own schedule
        assert blocker.args == ["g", [True]]
    finally:
        pool.close()


def test_a_background_call_keeps_collection_in_the_gui_thread_while_it_runs(qtbot):
    import threading

    from qtpy.QtCore import QObject

    from pulse_supervisor.qt import background, gui_gc
    from pulse_supervisor.qt.background import BackgroundCall

    collector = gui_gc.collector()
    before = collector._holders  # an earlier test's window may still hold it
    release = threading.Event()
    owner = QObject()
    delivered = []
    call = BackgroundCall(lambda: release.wait(30), lambda result, error: delivered.append(result), owner)
    assert collector._holders == before + 1 and not gc.isenabled()  # the thread never collects Qt objects
    release.set()
    qtbot.waitUntil(lambda: call not in background._running, timeout=30_000)
    assert delivered == [True] and collector._holders == before and not call._thread.is_alive()
    second = threading.Event()
    gone_owner = QObject()
    late = BackgroundCall(lambda: second.wait(30), lambda result, error: delivered.append(result), gone_owner)
    assert collector._holders == before + 1
    with qtbot.waitSignal(gone_owner.destroyed, timeout=30_000):
        gone_owner.deleteLater()  # its owner goes before the result comes: dropped, and still released
    second.set()
    qtbot.waitUntil(lambda: late not in background._running, timeout=30_000)
    assert delivered == [True] and collector._holders == before


def test_a_supervisor_closed_and_let_go_at_once_gives_collection_back(qtbot):
    """Its consumer's queued `finished` dies with it: `close`, which joined the thread, releases."""
    before = collector()._holders
    pool = QtSupervisor(config(spec("g", "tests.workers:gc_state")))
    assert collector()._holders == before + 1
    pool.close()
    assert collector()._holders == before  # at once, not when an event that may never come arrives
    del pool


def test_each_batchs_check_puts_the_idle_check_a_second_off(qapp):
    """A window whose batches come every second needs no wake-up of its own for the idle check."""
    from pulse_supervisor.qt.gui_gc import IDLE_CHECK_MS, GuiThreadCollector

    was_enabled = gc.isenabled()
    gc_collector = GuiThreadCollector()
    gc_collector.hold()
    try:
        gc_collector._timer.stop()  # as if it had just fired, or been put off
        gc_collector.collect_if_due()  # a batch arrived
        assert gc_collector._timer.isActive() and gc_collector._timer.interval() == IDLE_CHECK_MS
    finally:
        gc_collector.release()
    assert not gc_collector._timer.isActive() and gc.isenabled() == was_enabled
    gc_collector.collect_if_due()  # nobody holds it: collection is automatic again, no checks
    assert not gc_collector._timer.isActive()


def test_while_held_the_startup_heap_is_frozen_and_the_gil_changes_hands_often(qapp):
    from pulse_supervisor.qt.gui_gc import SWITCH_INTERVAL_S, GuiThreadCollector

    interval, frozen = sys.getswitchinterval(), gc.get_freeze_count()
    gc_collector = GuiThreadCollector()
    gc_collector.hold()
    try:
        assert gc.get_freeze_count() > frozen  # full collections no longer go through what exists now
        assert sys.getswitchinterval() == min(interval, SWITCH_INTERVAL_S)
    finally:
        gc_collector.release()
    assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == interval


def test_a_young_generation_far_past_its_threshold_is_put_off_for_at_most_a_while(qapp, monkeypatch):
    """Another thread's objects of the moment: collected at a later batch, when fewer are alive."""
    from pulse_supervisor.qt import gui_gc

    clock = [1000.0]
    monkeypatch.setattr(gui_gc.time, "monotonic", lambda: clock[0])
    runs: list[int] = []
    record = lambda phase, info: runs.append(info["generation"]) if phase == "start" else None  # noqa: E731
    gc_collector = gui_gc.GuiThreadCollector()
    gc_collector.hold()
    gc.callbacks.append(record)
    try:
        gc_collector._last = clock[0]
        crowd = [[] for _ in range(gui_gc.BUSY_FACTOR * gc.get_threshold()[0] + 100)]  # alive: the count stays up
        gc_collector.collect_if_due()
        assert runs == []  # put off
        clock[0] += gui_gc.MAX_PUT_OFF_S / 2
        gc_collector.collect_if_due()
        assert runs == []
        clock[0] += gui_gc.MAX_PUT_OFF_S
        gc_collector.collect_if_due()
        assert len(runs) == 1  # no longer
        del crowd
    finally:
        gc.callbacks.remove(record)
        gc_collector.release()
