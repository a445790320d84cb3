"""What the table and the status bar say is true: compact counts, no dead stats, FATAL's reason, resets."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt

from pulse_supervisor.core.processes.inspection import format_count
from pulse_supervisor.core.supervision.events import ItemBatch, StateChanged, WorkersChanged
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.table.table_clock import PAUSED_TEXT
from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel
from tests.helpers import config, spec
from tests.qt.qt_helpers import feed, model_on

COL = {name: i for i, name in enumerate(WorkerTableModel.COLUMNS)}


def text(model, name, column, role=Qt.ItemDataRole.DisplayRole):
    return model.data(model.index(model.names().index(name), COL[column]), role)


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, "0"), (7, "7"), (45_410, "45,410"), (99_999, "99,999"), (453_210, "453 k"), (999_500, "1.00 M"),
     (1_603_221, "1.60 M"), (45_410_123, "45.4 M"), (2.15e9, "2.15 G")],
)  # fmt: skip
def test_counts_are_compact_enough_for_their_column(n, shown):
    assert format_count(n) == shown


def test_big_counts_fit_and_the_tooltip_has_them_exact(qtbot, qapp):
    from pulse_supervisor.qt.window.table.worker_table import make_worker_table

    model = model_on("flood")
    table = make_worker_table(model)
    qtbot.addWidget(table)
    feed(model, [ItemBatch("flood", 0, [0] * 45_410_123, 0, 0)])
    model.refresh_clock({})
    shown = text(model, "flood", "Items")
    assert shown == "45.4 M"
    width = table.fontMetrics().horizontalAdvance(shown) + 8  # the cell's margins
    assert width <= table.columnWidth(COL["Items"])
    assert "items: 45,410,123" in text(model, "flood", "Name", Qt.ItemDataRole.ToolTipRole)


def test_a_stopped_worker_keeps_no_rate_cpu_or_rss_even_with_the_refresh_paused(qapp):
    model = model_on("w")
    feed(model, [StateChanged("w", State.RUNNING, 42, 0.0), ItemBatch("w", 0, [1] * 500, 0, 0)])
    model.refresh_clock({"w": (37.5, 50_000_000)})
    row = model.row("w")
    row.rate = 480.0
    feed(model, [StateChanged("w", State.STOPPED, None, 0.0)])  # no refresh_clock after it
    assert (text(model, "w", "CPU %"), text(model, "w", "RSS"), text(model, "w", "Rate/s")) == ("", "", "")
    assert text(model, "w", "Items") == "500"  # counts are history, and stay
    feed(model, [ItemBatch("w", 500, [1] * 9, 0, 0)])  # what the stop flushed, read after it
    row._rate_mark = (row._rate_mark[0] - 10.0, row._rate_mark[1])  # the next tick, 10 s on
    model.refresh_clock({})
    assert (text(model, "w", "Rate/s"), row.rate) == ("", 0.0)  # not 0.9, then 0.0
    assert "/s)" not in text(model, "w", "Name", Qt.ItemDataRole.ToolTipRole)


def test_fatal_says_why_in_the_tooltip(qapp):
    model = model_on("w")
    reason = "3 exits before start_secs (1 s) in a row (start_retries = 2)"
    feed(model, [StateChanged("w", State.FATAL, None, 0.0, 2, reason)])
    assert f"gave up: {reason}" in text(model, "w", "Name", Qt.ItemDataRole.ToolTipRole)
    feed(model, [StateChanged("w", State.STARTING, 7, 0.0)])
    assert "gave up" not in text(model, "w", "Name", Qt.ItemDataRole.ToolTipRole)


def test_uptime_shows_for_workers_a_reload_adds(qtbot, make_window, tmp_path):
    w = make_window(config(spec("a", "pulse_supervisor.producers:clock", kwargs={"interval": 0.1})))
    path = tmp_path / "more.toml"
    path.write_text(
        '[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\n'
        "kwargs = { interval = 0.1 }\nautostart = false\n"
        '[[worker]]\nname = "added"\ntarget = "pulse_supervisor.producers:counter"\nkwargs = { rate = 20.0 }\n'
    )
    assert w.config_files.apply_file(str(path))
    qtbot.waitUntil(lambda: "added" in w.model.names() and w.model.row("added").state is State.RUNNING, timeout=30_000)
    qtbot.waitUntil(lambda: text(w.model, "added", "Uptime") not in ("", None), timeout=10_000)


def test_reset_counters_counts_from_zero_in_the_table_and_the_supervisor(qtbot, make_window):
    w = make_window(config(spec("a", "pulse_supervisor.producers:counter", kwargs={"rate": 200.0})))
    w.select("a")
    w.worker_actions.start.trigger()
    qtbot.waitUntil(lambda: w.model.row("a").received > 50, timeout=10_000)
    w.worker_actions.stop.trigger()
    qtbot.waitUntil(lambda: w.model.row("a").state is State.STOPPED, timeout=10_000)
    core = w.supervisor.supervisor
    assert core.record("a").received > 50
    w.worker_actions.reset.trigger()
    assert w.model.row("a").received == 0 and text(w.model, "a", "Items") == "0"
    assert w.supervisor.status("a").sent == 0 and w.supervisor.status("a").restarts == 0
    qtbot.waitUntil(lambda: core.record("a").received == 0, timeout=10_000)
    assert core.record("a").sent == 0 and core.record("a").lost == 0
    qtbot.waitUntil(lambda: w.log_dock.model.entries()[-1].message == "counters reset", timeout=10_000)
    states = [e.message for e in w.log_dock.model.entries() if e.message.startswith("→")]
    assert states[-1] == "→ STOPPED"  # no state line for a state it did not enter again


def test_the_status_bar_numbers_items_as_the_table_counts_and_keeps_to_the_selection(qtbot, make_window):
    w = make_window(
        config(spec("a", "pulse_supervisor.producers:counter"), spec("quiet", "pulse_supervisor.producers:counter"))
    )
    w.supervisor.consumer.events_received.emit([WorkersChanged(("a", "quiet")), ItemBatch("a", 0, ["x", "y"], 0, 0)])
    w.supervisor.consumer.events_received.emit([ItemBatch("a", 2, ["z"], 0, 0)])
    assert w.statusBar().currentMessage() == "a #3: z"
    w.select("quiet")
    assert w.statusBar().currentMessage() == "quiet: no items yet"  # not a's item


def test_a_paused_table_says_so(qtbot, make_window):
    w = make_window(config(spec("a", "pulse_supervisor.producers:counter")))
    w.clock.set_period(0)
    assert PAUSED_TEXT in w.counts_label.text()
    w.clock.set_period(1000)
    assert PAUSED_TEXT not in w.counts_label.text()
