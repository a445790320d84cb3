"""The window driven through its buttons, as a user would, on real worker processes."""

from __future__ import annotations

import signal
import time

import psutil

from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.dialogs.inspect_dialog import InspectDialog
from tests.helpers import config, spec


def demo_like():
    return config(
        spec("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 0.1}, autostart=True),
        spec("count", "pulse_supervisor.producers:counter", kwargs={"rate": 500.0}, autostart=False),
        spec("stubborn", "pulse_supervisor.producers:stubborn", autostart=False, stop_timeout=30.0),
    )


def state_of(window, name):
    return window.model.row(name).state


def test_status_bar_shows_the_newest_item(qtbot, make_window):
    window = make_window(demo_like(), autostart=True)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("clock #3:"), timeout=10_000)
    assert "20" in window.statusBar().currentMessage()  # a timestamp like 2026-...
    assert window.model.row("clock").received >= 3  # numbered as the Items column counts
    qtbot.waitUntil(lambda: state_of(window, "clock") is State.RUNNING, timeout=10_000)  # after start_secs


def test_buttons_follow_the_selected_workers_state(qtbot, make_window):
    window = make_window(demo_like())
    assert not window.start_button.isEnabled()  # nothing selected
    window.select("count")
    assert window.start_button.isEnabled()
    assert not window.stop_button.isEnabled() and not window.kill_button.isEnabled()
    window.start_button.click()
    qtbot.waitUntil(lambda: state_of(window, "count") is State.RUNNING, timeout=10_000)
    assert not window.start_button.isEnabled()
    assert window.stop_button.isEnabled() and window.kill_button.isEnabled()
    window.stop_button.click()
    qtbot.waitUntil(lambda: state_of(window, "count") is State.STOPPED, timeout=10_000)
    assert window.start_button.isEnabled() and not window.stop_button.isEnabled()
    assert window.supervisor.status("count").last_exit == (0, None)


def test_kill_button_sigkills(qtbot, make_window):
    window = make_window(demo_like())
    window.select("stubborn")
    window.start_button.click()
    # Its first item means its generator runs and has set SIGTERM to "ignore".
    qtbot.waitUntil(lambda: window.model.row("stubborn").received >= 1, timeout=10_000)
    pid = window.model.row("stubborn").pid
    window.stop_button.click()  # it ignores SIGTERM: stays STOPPING (stop_timeout is 30 s)
    qtbot.waitUntil(lambda: state_of(window, "stubborn") is State.STOPPING, timeout=10_000)
    assert window.kill_button.isEnabled()
    window.kill_button.click()
    qtbot.waitUntil(lambda: state_of(window, "stubborn") is State.STOPPED, timeout=10_000)
    assert window.model.row("stubborn").status.last_exit == (None, signal.SIGKILL)
    assert not psutil.pid_exists(pid)


def test_restart_button_gives_a_new_process(qtbot, make_window):
    window = make_window(demo_like(), autostart=True)
    window.select("clock")
    qtbot.waitUntil(lambda: state_of(window, "clock") is State.RUNNING, timeout=10_000)
    old = window.model.row("clock").pid
    window.restart_button.click()
    qtbot.waitUntil(
        lambda: state_of(window, "clock") is State.RUNNING and window.model.row("clock").pid != old, timeout=10_000
    )


def test_inspect_dialog_shows_psutil_facts_and_stack(qtbot, make_window):
    window = make_window(demo_like(), autostart=True)
    window.select("clock")
    qtbot.waitUntil(lambda: window.model.row("clock").received >= 2, timeout=10_000)
    window.inspect_button.click()
    dialog = InspectDialog._open["clock"]
    pid = window.supervisor.status("clock").pid
    qtbot.waitUntil(lambda: dialog.labels["PID"].text() == str(pid), timeout=5000)
    assert dialog.labels["State"].text() in ("RUNNING", "STARTING")
    assert dialog.labels["RSS"].text().endswith("MiB")
    assert int(dialog.labels["Threads"].text()) >= 2
    assert dialog.labels["PPID"].text() == str(psutil.Process(pid).ppid())
    assert (
        dialog.labels["Command line"].text() == "pulse: clock (pulse_supervisor.producers:clock)"
    )  # its title, as in ps
    dialog.stack_button.click()
    qtbot.waitUntil(lambda: "Thread" in dialog.traceback_view.toPlainText(), timeout=5000)
    assert "clock" in dialog.traceback_view.toPlainText()  # the producer's frame is on the stack
    window.inspect_button.click()
    assert InspectDialog._open["clock"] is dialog  # one dialog per worker
    dialog.close()


def test_the_inspector_names_each_child_with_its_command_line(qtbot, make_window):
    window = make_window(config(spec("parent", "tests.workers:with_child")), autostart=True)
    qtbot.waitUntil(lambda: window.model.row("parent").has_item, timeout=10_000)  # its child has started
    window.select("parent")
    window.inspect_button.click()
    dialog = InspectDialog._open["parent"]
    qtbot.waitUntil(lambda: "sleep(600)" in dialog.labels["Children"].text(), timeout=5000)
    (line,) = dialog.labels["Children"].text().splitlines()
    pid, name, rest = line.split(" ", 2)
    assert name.startswith("python") and name.endswith(":") and rest.endswith("-c import time; time.sleep(600)")
    assert int(pid) in [c.pid for c in psutil.Process(window.model.row("parent").pid).children()]
    dialog.close()


def test_closing_the_window_stops_every_worker_and_joins_the_thread(qtbot, make_window):
    window = make_window(demo_like(), autostart=True)
    qtbot.waitUntil(lambda: state_of(window, "clock") is State.RUNNING, timeout=10_000)
    pid = window.model.row("clock").pid
    with qtbot.waitSignal(window.supervisor.finished, timeout=10_000):
        window.close()
    assert not window.supervisor.is_running
    assert not window.isVisible()
    assert window.supervisor.supervisor.all_stopped()
    assert not psutil.pid_exists(pid)


def test_worker_model_passes_qt_model_tester(check_model, make_window, qtbot):
    window = make_window(demo_like(), autostart=True)
    qtbot.waitUntil(lambda: window.model.row("clock").received >= 1, timeout=10_000)
    check_model(window.model)


def test_double_click_inspects(qtbot, make_window):
    window = make_window(demo_like())
    index = window.model.index(1, 0)
    window.table.selectRow(1)
    window.table.doubleClicked.emit(index)
    dialog = InspectDialog._open["count"]
    assert dialog.isVisible() and dialog.labels["Worker"].text() == "count"
    dialog.close()


def test_items_arriving_as_the_clock_tick_is_due_carry_it(qtbot, make_window):
    """A batch within EARLY_MS of the tick refreshes the table with it (one wake-up, not two)."""
    from pulse_supervisor.core.supervision.events import ItemBatch
    from pulse_supervisor.qt.window.table.table_clock import EARLY_MS, REFRESH_MS

    window = make_window(config(spec("a", "pulse_supervisor.producers:counter")))
    items = window.model.index(0, window.model.COLUMNS.index("Items"))
    window.clock.timer.start(REFRESH_MS)  # the tick is a second away: the count waits for it
    window.supervisor.consumer.events_received.emit([ItemBatch("a", 0, ["x"], 0, 0)])
    assert items.data() == "0"
    window.clock.timer.start(EARLY_MS // 2)  # about due: this batch carries the tick
    window.supervisor.consumer.events_received.emit([ItemBatch("a", 1, ["y"], 0, 0)])
    assert items.data() == "0"  # not inside the slot: the newest item is shown first
    # Right after the slot, not by the timer: it was restarted a little past a period away, so a
    # steady stream's next batch comes first (the interval, not remainingTime, which runs down).
    assert window.clock.timer.interval() == REFRESH_MS + EARLY_MS // 2
    qtbot.waitUntil(lambda: items.data() == "2", timeout=REFRESH_MS // 2)
    with qtbot.waitSignal(window.clock.timer.timeout, timeout=3000):
        pass
    assert window.clock.timer.interval() == REFRESH_MS  # back on its own period


def test_a_carried_tick_runs_before_the_status_bar_repaints_so_both_paint_together(qtbot, make_window):
    """The tick a batch carries is a posted call, which Qt runs before its low-priority repaint."""
    from qtpy.QtCore import QEvent, QObject

    from pulse_supervisor.core.supervision.events import ItemBatch
    from pulse_supervisor.qt.window.table.table_clock import EARLY_MS

    window = make_window(config(spec("a", "pulse_supervisor.producers:counter")))
    qtbot.waitExposed(window)
    seen: list[str] = []

    class PaintSpy(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                seen.append("paint")
            return False

    spy = PaintSpy(window)
    window.statusBar().installEventFilter(spy)
    tick = window.clock.tick
    window.clock.tick = lambda: (seen.append("tick"), tick())[1]  # type: ignore[method-assign]
    window.clock.timer.start(EARLY_MS // 2)  # about due: the next batch carries the tick
    seen.clear()
    window.supervisor.consumer.events_received.emit([ItemBatch("a", 0, ["x"], 0, 0)])
    assert seen == []  # neither inside the slot
    qtbot.waitUntil(lambda: "tick" in seen and "paint" in seen, timeout=5000)
    assert seen.index("tick") < seen.index("paint"), seen


def test_the_first_batch_after_the_timers_tick_puts_the_next_tick_in_step_with_the_batches(qtbot, make_window):
    """Just after a timed tick: the next tick moves behind the next batch; later: the batch carries it."""
    from qtpy.QtWidgets import QApplication

    from pulse_supervisor.core.supervision.events import ItemBatch
    from pulse_supervisor.qt.window.table.table_clock import EARLY_MS, REFRESH_MS

    window = make_window(config(spec("a", "pulse_supervisor.producers:counter")))
    clock = window.clock
    ticks: list[float] = []
    tick = clock.tick
    clock.tick = lambda: (ticks.append(time.monotonic()), tick())[1]  # type: ignore[method-assign]
    batch = lambda seq: window.supervisor.consumer.events_received.emit([ItemBatch("a", seq, ["x"], 0, 0)])  # noqa: E731

    clock._on_timeout()  # the timer's own tick, as its timeout runs it
    batch(0)  # right after it: no tick now, the next one a little past a period from here
    assert clock.timer.interval() == REFRESH_MS + EARLY_MS // 2  # restarted: the timer had set it to REFRESH_MS
    batch(1)  # a second batch changes nothing: only the first after a timed tick moves it
    assert clock.timer.interval() == REFRESH_MS + EARLY_MS // 2
    n = len(ticks)
    QApplication.processEvents()  # a carried tick would be a posted call: none was posted
    assert len(ticks) == n

    clock.timer.start(REFRESH_MS)
    clock._timer_tick_at = time.monotonic() - REFRESH_MS / 2000
    batch(2)  # half a period after a timed tick: carries the tick now, early, instead of pushing it back
    qtbot.waitUntil(lambda: len(ticks) == n + 1, timeout=REFRESH_MS // 2)
    assert clock.timer.interval() == REFRESH_MS + EARLY_MS // 2


def test_counts_label_keeps_its_size_until_a_text_outgrows_it(qtbot, make_window):
    window = make_window(config(spec("a", "pulse_supervisor.producers:counter")))
    label = window.counts_label
    window.clock.set_counts("0/1 running · 8 items/s")
    size = label.size()
    assert label.minimumSize() == label.maximumSize()  # fixed: a new text asks no relayout
    window.clock.set_counts("0/1 running · 9 items/s")
    assert label.minimumSize() == size
    window.clock.set_counts("0/1 running · 1,234,567,890 items/s")  # wider: the label grows to fit it
    assert label.minimumWidth() >= label.sizeHint().width() > size.width()
