"""What one worker sends cannot break the window: broken reprs, huge items, non-UTF-8 text."""

from __future__ import annotations

from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, spec


def test_odd_items_and_text_from_one_worker_leave_the_window_working(qtbot, make_window):
    w = make_window(
        config(
            spec("odd", "tests.workers:hostile_items", autostart=False),
            spec("calm", "pulse_supervisor.producers:counter", kwargs={"rate": 50.0}, autostart=False),
        )
    )
    w.select("odd", "calm")
    w.worker_actions.start.trigger()
    # pytest-qt fails the test on any exception raised in a slot meanwhile.
    qtbot.waitUntil(lambda: w.model.row("odd").received > 10 and w.model.row("calm").received > 10, timeout=20_000)
    w.select("odd")
    qtbot.waitUntil(lambda: "BrokenRepr" in w.statusBar().currentMessage(), timeout=10_000)
    assert len(w.statusBar().currentMessage()) < 400
    qtbot.waitUntil(
        lambda: any("caf\\xe9.txt" in e.message for e in w.log_dock.model.entries() if e.worker == "odd"),
        timeout=10_000,
    )
    before = w.model.row("calm").received
    qtbot.waitUntil(lambda: w.model.row("calm").received > before + 10, timeout=10_000)
    assert w.model.row("odd").state is State.RUNNING and w.model.row("odd").status.lost == 0
