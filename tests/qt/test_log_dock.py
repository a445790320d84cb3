"""The log dock driven through its widgets: entries, filters, cap, auto-scroll, save and clear."""

from __future__ import annotations

import html
import re
import signal

import pytest
from qtpy.QtCore import Qt

from pulse_supervisor.core.supervision.events import (
    ItemBatch,
    LogLine,
    StackDump,
    StateChanged,
    WorkerExited,
    WorkersChanged,
)
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.log.log_dock import LogDock
from pulse_supervisor.qt.window.log.log_model import LogFilter, LogTableModel, entry_from_event

T0 = 1_700_000_000.25
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "producer.py", line 3, in <module>\n'
    "    boom()\n"
    '  File "producer.py", line 2, in boom\n'
    '    raise ValueError("boom")\n'
    "ValueError: boom"
)
DISPLAY = Qt.ItemDataRole.DisplayRole


def line(text="hello", worker="w1", level="INFO", stream="stdout", when=T0, tb=False):
    return LogLine(worker, stream, level, text, when, tb)


def lines(n, worker="w1", start=0):
    return [line(f"line {i}", worker, when=T0 + i) for i in range(start, start + n)]


@pytest.fixture
def make_dock(qtbot):
    def make(**kwargs):
        dock = LogDock(**kwargs)
        qtbot.addWidget(dock)
        dock.resize(900, 400)
        with qtbot.waitExposed(dock):
            dock.show()
        return dock

    return make


@pytest.fixture
def dock(make_dock):
    return make_dock()


def cell(dock, row, col, role=DISPLAY):
    return dock.model.data(dock.model.index(row, col), role)


def messages(dock):
    return [cell(dock, r, 4) for r in range(dock.visible_count())]


def test_is_a_restorable_dock_named_log(dock):
    assert dock.windowTitle() == "Log"
    assert dock.objectName() == "log_dock"
    assert [dock.model.headerData(c, Qt.Orientation.Horizontal) for c in range(5)] == [
        "Time",
        "Worker",
        "Level",
        "Stream",
        "Message",
    ]


def test_log_lines_state_changes_and_exits_become_entries(dock):
    dock.append_events(
        [
            line("printed", stream="stdout"),
            line("warned", level="WARNING", stream="stderr"),
            line("logged", level="DEBUG", stream="logging"),
            ItemBatch("w1", 0, [1, 2, 3], 0, 0),  # not a log event: ignored
            StackDump("w1", "stack"),
            StateChanged("w1", State.RUNNING, 4242, T0),
            StateChanged("w1", State.STOPPED, None, T0),
            WorkerExited("w1", 4242, 1, None, T0),
            WorkerExited("w2", 4343, None, signal.SIGKILL, T0),
            WorkerExited("w2", 4444, 0, None, T0),
        ]
    )
    assert dock.total_count() == dock.visible_count() == 8
    assert messages(dock) == [
        "printed",
        "warned",
        "logged",
        "→ RUNNING (pid 4242)",
        "→ STOPPED",
        "process 4242 ended: exit 1",
        "process 4343 ended: SIGKILL (9)",
        "process 4444 ended: exit 0",
    ]
    assert [cell(dock, r, 3) for r in range(8)] == ["stdout", "stderr", "logging"] + ["pulse"] * 5
    levels = ["INFO", "WARNING", "DEBUG", "INFO", "INFO", "WARNING", "WARNING", "INFO"]
    assert [cell(dock, r, 2) for r in range(8)] == levels
    assert [cell(dock, r, 1) for r in range(8)] == ["w1"] * 6 + ["w2"] * 2
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.250", cell(dock, 0, 0))


def test_clean_exit_and_fatal_state_levels():
    assert entry_from_event(WorkerExited("w", 1, 0, None, T0)).level == "INFO"
    assert entry_from_event(StateChanged("w", State.FATAL, None, T0)).level == "ERROR"
    assert entry_from_event(StateChanged("w", State.BACKOFF, None, T0)).level == "WARNING"
    assert entry_from_event(WorkersChanged(("w",))) is None


def test_a_note_of_lines_left_out_is_a_warning_from_pulse_with_the_count(dock):
    from pulse_supervisor.core.supervision.events import LinesSkipped

    dock.append_events([*lines(2), LinesSkipped("w1", 12_345, T0 + 5), *lines(1, start=2)])
    assert messages(dock) == ["line 0", "line 1", "12,345 lines not shown; all are in the log file", "line 2"]
    assert [cell(dock, 2, c) for c in (1, 2, 3)] == ["w1", "WARNING", "pulse"]


def test_append_line_adds_pulse_own_message(dock):
    dock.append_line("pulse", "ERROR", "consumer thread failed: RuntimeError()")
    assert dock.total_count() == 1
    assert [cell(dock, 0, c) for c in (1, 2, 3, 4)] == [
        "pulse",
        "ERROR",
        "pulse",
        "consumer thread failed: RuntimeError()",
    ]
    assert cell(dock, 0, 4, Qt.ItemDataRole.ToolTipRole) == "<p>consumer thread failed: RuntimeError()</p>"
    dock.append_line("pulse", "INFO", "<b>not markup</b>", when=T0)
    assert cell(dock, 1, 4, Qt.ItemDataRole.ToolTipRole) == "<p>&lt;b&gt;not markup&lt;/b&gt;</p>"
    assert cell(dock, 1, 0).endswith(".250")


def test_levels_are_coloured_and_tracebacks_bold(dock):
    dock.append_events(
        [
            line(level="ERROR"),
            line(level="CRITICAL"),
            line(level="WARNING"),
            line(level="DEBUG"),
            line(level="INFO"),
            line(TRACEBACK, level="ERROR", stream="stderr", tb=True),
        ]
    )
    fg = [cell(dock, r, 4, Qt.ItemDataRole.ForegroundRole) for r in range(6)]
    assert [b.color().name() if b is not None else None for b in fg] == [
        "#d9534f",
        "#d9534f",
        "#c77c02",
        "#888888",
        None,
        "#d9534f",
    ]
    assert cell(dock, 5, 4, Qt.ItemDataRole.FontRole).bold()
    assert cell(dock, 0, 4, Qt.ItemDataRole.FontRole) is None


def test_traceback_is_one_entry_marked_and_shown_in_full(dock):
    dock.append_events([line("before"), line(TRACEBACK, level="ERROR", stream="stderr", tb=True), line("after")])
    assert dock.total_count() == 3
    summary = cell(dock, 1, 4)
    assert "\n" not in summary  # one uniform row
    assert summary.startswith("ValueError: boom") and "traceback" in summary
    tip = cell(dock, 1, 4, Qt.ItemDataRole.ToolTipRole)
    assert html.unescape(re.sub(r"</?pre>", "", tip)) == TRACEBACK
    dock.view.selectRow(1)
    shown = dock.detail.toPlainText()
    assert shown.endswith(TRACEBACK) and "traceback" in shown.splitlines()[0]


def test_long_traceback_tooltip_keeps_its_tail(dock):
    text = "Traceback (most recent call last):\n" + "\n".join(f"  frame {i}" for i in range(100)) + "\nKeyError: 'x'"
    dock.append_events([line(text, level="ERROR", tb=True)])
    tip = html.unescape(cell(dock, 0, 4, Qt.ItemDataRole.ToolTipRole))
    assert "KeyError: 'x'" in tip and "earlier lines" in tip and "frame 10\n" not in tip
    dock.view.selectRow(0)
    assert dock.detail.toPlainText().endswith(text)


def test_worker_filter(dock):
    dock.set_workers(["w1", "w2"])
    combo = dock.worker_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["All workers", "w1", "w2"]
    dock.append_events(lines(3, "w1") + lines(2, "w2") + [line("from pulse", worker="pulse")])
    combo.setCurrentIndex(combo.findText("w2"))
    assert dock.visible_count() == 2 and dock.total_count() == 6
    assert {cell(dock, r, 1) for r in range(2)} == {"w2"}
    dock.append_events(lines(4, "w1") + lines(1, "w2", start=10))  # new lines are filtered too
    assert dock.visible_count() == 3 and messages(dock)[-1] == "line 10"
    dock.set_workers(["w2", "w3"])  # the choice survives a new list
    assert combo.currentText() == "w2" and dock.visible_count() == 3
    dock.append_events([WorkersChanged(("w1", "w3"))])  # w2 is gone: back to all
    assert combo.currentText() == "All workers" and dock.visible_count() == dock.total_count() == 11
    assert [combo.itemText(i) for i in range(combo.count())] == ["All workers", "w1", "w3"]


def test_level_filter(dock):
    levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTICE"]  # an unknown level counts as INFO
    dock.append_events([line(lvl, level=lvl) for lvl in levels])
    combo = dock.level_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert combo.currentText() == "DEBUG" and dock.visible_count() == 6
    expected = {
        "INFO": ["INFO", "WARNING", "ERROR", "CRITICAL", "NOTICE"],
        "WARNING": ["WARNING", "ERROR", "CRITICAL"],
        "ERROR": ["ERROR", "CRITICAL"],
        "DEBUG": levels,
    }
    for level, shown in expected.items():
        combo.setCurrentText(level)
        assert messages(dock) == shown, level


def test_search_is_a_case_insensitive_substring(dock):
    dock.set_workers(["w1", "w2"])
    dock.append_events(
        [line("Connection RESET by peer"), line("all good"), line("reset done", "w2"), line(TRACEBACK, tb=True)]
    )
    dock.search_edit.setText("reset")
    assert messages(dock) == ["Connection RESET by peer", "reset done"]
    dock.worker_combo.setCurrentText("w2")
    assert messages(dock) == ["reset done"]
    dock.worker_combo.setCurrentText("All workers")
    dock.search_edit.setText("VALUEerror")  # the whole traceback is searched, not just its summary
    assert dock.visible_count() == 1 and dock.model.entry_at(0).traceback
    dock.search_edit.setText("raise valueerror(")
    assert dock.visible_count() == 1
    dock.search_edit.clear()
    assert dock.visible_count() == 4


def test_search_on_a_full_log_is_cheap(make_dock):
    dock = make_dock(max_lines=10_000)
    dock.append_events(lines(10_000))
    dock.search_edit.setText("LINE 99")
    assert dock.visible_count() == 111  # 99, 990-999, 9900-9999
    dock.search_edit.setText("")
    assert dock.visible_count() == 10_000


def test_cap_drops_the_oldest_and_counts_them(make_dock):
    dock = make_dock(max_lines=5)
    assert dock.dropped_label.isHidden()
    dock.append_events(lines(3))
    dock.append_events(lines(4, start=3))
    assert dock.total_count() == 5
    assert messages(dock) == [f"line {i}" for i in range(2, 7)]
    assert dock.dropped_label.isVisible() and dock.dropped_label.text() == "2 lines dropped"
    dock.append_line("pulse", "INFO", "note")
    assert dock.dropped_label.text() == "3 lines dropped" and messages(dock)[-1] == "note"


def test_cap_under_a_filter_keeps_rows_consistent(make_dock, check_model):
    dock = make_dock(max_lines=6)
    dock.set_workers(["a", "b"])
    dock.worker_combo.setCurrentText("a")
    dock.append_events([line(f"{w}{i}", w) for i in range(4) for w in "ab"])  # a0 b0 a1 b1 ... b3
    assert messages(dock) == ["a1", "a2", "a3"]
    dock.append_events([line("b4", "b"), line("b5", "b"), line("a4", "a")])
    assert messages(dock) == ["a3", "a4"]
    assert [e.message for e in dock.model.entries()] == ["b2", "a3", "b3", "b4", "b5", "a4"]
    check_model(dock.model)


def test_bulk_append_stays_capped_with_one_insert_and_one_remove(dock):
    inserted, removed = [], []
    dock.model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    dock.model.rowsRemoved.connect(lambda _p, first, last: removed.append((first, last)))
    dock.append_events(lines(20_000))
    assert dock.total_count() == dock.visible_count() == 10_000
    assert messages(dock)[0] == "line 10000" and messages(dock)[-1] == "line 19999"
    assert dock.dropped_label.text() == "10,000 lines dropped"
    assert inserted == [(0, 9999)] and removed == []
    dock.append_events(lines(2_500, start=20_000))
    assert dock.total_count() == 10_000 and messages(dock)[-1] == "line 22499"
    assert inserted[1:] == [(7500, 9999)] and removed == [(0, 2499)]
    assert dock.dropped_label.text() == "12,500 lines dropped"


def test_auto_scroll_pauses_when_scrolled_up_and_resumes_at_the_bottom(dock):
    bar = dock.view.verticalScrollBar()
    dock.append_events(lines(200))
    assert bar.maximum() > 0
    assert dock.auto_scroll and bar.value() == bar.maximum()
    bar.setValue(bar.maximum() - 20)  # the user scrolls up
    assert not dock.auto_scroll
    top = bar.value()
    dock.append_events(lines(50, start=200))
    assert not dock.auto_scroll and bar.value() == top < bar.maximum()
    bar.setValue(bar.maximum())  # and back down
    assert dock.auto_scroll
    dock.append_events(lines(50, start=250))
    assert dock.auto_scroll and bar.value() == bar.maximum()
    assert dock.view.rowAt(dock.view.viewport().height() - 2) == dock.visible_count() - 1  # newest row in sight


def test_paused_view_keeps_its_rows_in_sight_when_the_oldest_drop(make_dock):
    dock = make_dock(max_lines=300)
    bar = dock.view.verticalScrollBar()
    dock.append_events(lines(300))
    bar.setValue(100)
    top_message = cell(dock, dock.view.rowAt(0), 4)
    dock.append_events(lines(30, start=300))
    assert not dock.auto_scroll and bar.value() == 70
    assert cell(dock, dock.view.rowAt(0), 4) == top_message


def test_auto_scroll_resumes_when_everything_fits(dock, qtbot):
    bar = dock.view.verticalScrollBar()
    dock.set_workers(["w1", "w2"])
    dock.append_events(lines(200, "w1") + lines(2, "w2"))
    bar.setValue(0)
    assert not dock.auto_scroll
    dock.worker_combo.setCurrentText("w2")  # two rows: no scrollbar, so nothing to scroll back with
    qtbot.waitUntil(lambda: dock.auto_scroll, timeout=2000)  # the view lays out after a reset


def test_save_writes_every_entry_when_unfiltered_and_says_so(dock, tmp_path, monkeypatch, qtbot):
    path = tmp_path / "pulse.log"
    monkeypatch.setattr(LogDock, "ask_save_path", classmethod(lambda cls, parent: str(path)))
    dock.append_events(lines(3) + [line(TRACEBACK, level="ERROR", stream="stderr", tb=True)])
    dock.append_line("pulse", "WARNING", "note")
    with qtbot.waitSignal(dock.saved) as said:
        dock.save_button.click()
    assert said.args == [f"Saved 5 log lines to {path}"]
    text = path.read_text(encoding="utf-8").splitlines()
    starts = [t for t in text if not t.startswith("    ")]
    assert len(starts) == dock.total_count() == 5
    fields = [re.split(r"  (?! )", t, maxsplit=4) for t in starts]
    assert [f[1:] for f in fields] == [
        ["w1", "INFO", "stdout", "line 0"],
        ["w1", "INFO", "stdout", "line 1"],
        ["w1", "INFO", "stdout", "line 2"],
        ["w1", "ERROR", "stderr", "Traceback (most recent call last):"],
        ["pulse", "WARNING", "pulse", "note"],
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.250", fields[0][0])
    assert [t[4:] for t in text if t.startswith("    ")] == TRACEBACK.splitlines()[1:]


def test_save_writes_what_the_filters_show(dock, tmp_path, monkeypatch, qtbot):
    path = tmp_path / "filtered.log"
    monkeypatch.setattr(LogDock, "ask_save_path", classmethod(lambda cls, parent: str(path)))
    dock.append_events(lines(3))
    dock.search_edit.setText("line 1")
    assert dock.visible_count() == 1
    with qtbot.waitSignal(dock.saved) as said:
        dock.save_button.click()
    assert said.args == [f"Saved 1 log line (those the filters show) to {path}"]
    [saved] = path.read_text(encoding="utf-8").splitlines()
    assert saved.endswith("line 1")


def test_the_detail_pane_follows_the_filter(dock):
    dock.append_events(lines(3))
    dock.view.selectRow(1)
    assert dock.detail.toPlainText().endswith("line 1")
    dock.search_edit.setText("line")  # still shown: still selected, still detailed
    assert dock.detail.toPlainText().endswith("line 1") and dock.view.currentIndex().row() == 1
    dock.search_edit.setText("line 2")  # hidden now: the pane does not show it
    assert dock.detail.toPlainText() == ""


def test_save_cancelled_writes_nothing(dock, tmp_path, monkeypatch):
    monkeypatch.setattr(LogDock, "ask_save_path", classmethod(lambda cls, parent: None))
    dock.append_events(lines(2))
    dock.save_button.click()
    assert list(tmp_path.iterdir()) == [] and dock.total_count() == 2


def test_save_failure_is_logged(dock, tmp_path, monkeypatch, qtbot):
    target = tmp_path / "missing" / "pulse.log"
    monkeypatch.setattr(LogDock, "ask_save_path", classmethod(lambda cls, parent: str(target)))
    with qtbot.waitSignal(dock.saved) as said:
        dock.save_button.click()
    assert said.args[0].startswith(f"Could not save the log to {target}")
    assert dock.total_count() == 1
    assert cell(dock, 0, 2) == "ERROR" and cell(dock, 0, 4).startswith(f"could not save the log to {target}")


def test_clear_empties_the_log_and_the_dropped_count(make_dock):
    dock = make_dock(max_lines=10)
    dock.append_events(lines(25))
    dock.view.selectRow(3)
    assert dock.dropped_label.isVisible() and dock.detail.toPlainText()
    dock.clear_button.click()
    assert dock.total_count() == dock.visible_count() == 0
    assert dock.dropped_label.isHidden() and dock.detail.toPlainText() == ""
    dock.append_events(lines(3))
    assert dock.total_count() == 3 and dock.dropped_label.isHidden()


def test_model_passes_the_model_tester(qtmodeltester, qapp):
    model = LogTableModel(max_lines=8)
    model.append_events(lines(5) + [line(TRACEBACK, level="ERROR", tb=True), StateChanged("w2", State.FATAL, None, T0)])
    model.append_events(lines(4, "w2"))
    model.set_filter(LogFilter(min_level="INFO", text="line"))
    qtmodeltester.check(model, force_py=True)
    model.set_filter(LogFilter())
    qtmodeltester.check(model, force_py=True)


def test_max_lines_must_be_positive(qapp):
    with pytest.raises(ValueError, match="max_lines"):
        LogTableModel(max_lines=0)


def test_a_crash_report_is_summarized_by_its_first_line():
    from pulse_supervisor.qt.window.log.log_model import summarize

    report = (
        'Fatal Python error: Segmentation fault\n\nThread 0x1 (most recent call first):\n  File "x.py", line 3 in f'
    )
    entry = entry_from_event(LogLine("w", "stderr", "ERROR", report, T0, True))
    assert summarize(entry) == "Fatal Python error: Segmentation fault  [crash report, 4 lines]"


def test_a_print_flood_shows_its_newest_lines_and_the_exact_count_of_the_rest(qtbot, make_window):
    """The window under a flood: the log says how many lines it left out, and the GUI thread keeps
    running its own timers and events between the flood's batches."""
    from qtpy.QtCore import QTimer

    from tests.helpers import config, spec

    window = make_window(config(spec("prints", "tests.workers:prints_flat_out")), autostart=True)
    window.table.selectAll()
    model = window.log_dock.model
    note = re.compile(r"^([\d,]+) lines? not shown; all are in the log file$")

    def notes() -> list[int]:
        return [int(note.match(e.message)[1].replace(",", "")) for e in model.entries() if note.match(e.message)]

    qtbot.waitUntil(lambda: len(notes()) >= 3, timeout=30_000)  # thinned, frame after frame
    shown = [e for e in model.entries() if e.stream == "stdout"]
    # Between two notes: the worker's newest lines of that frame, then the next note's count of lines skipped.
    for before, after in zip(model.entries(), model.entries()[1:], strict=False):
        if note.match(after.message) and before.stream == "stdout":
            assert after.worker == before.worker == "prints"
    assert shown and all(e.level == "INFO" for e in shown)
    fired: list[int] = []
    for _ in range(20):  # the window's own timers and posted calls run while the flood goes on
        count = len(notes())
        QTimer.singleShot(0, lambda: fired.append(1))
        qtbot.waitUntil(lambda: len(fired) == 1, timeout=5000)
        fired.clear()
        qtbot.waitUntil(lambda c=count: len(notes()) > c or model.dropped > 0, timeout=5000)
    assert window.supervisor.status("prints").state is State.RUNNING


def test_while_lines_keep_coming_the_table_repaints_at_most_every_so_often(dock, qtbot, monkeypatch):
    """Each repaint asks the model for every visible cell: a flood's 60 batches a second repainted it 60 times."""
    from pulse_supervisor.qt.window.log import log_dock

    clock = [1000.0]
    monkeypatch.setattr(log_dock.time, "monotonic", lambda: clock[0])
    viewport = dock.view.viewport()
    dock.append_events(lines(1))  # after a pause: repainted at once
    assert viewport.updatesEnabled()
    clock[0] += log_dock.MIN_REPAINT_GAP_S / 4
    dock.append_events(lines(1, start=1))  # soon after: the repaint waits for the gap's end
    assert not viewport.updatesEnabled() and dock.visible_count() == 2  # the model has it already
    dock.append_events(lines(1, start=2))
    assert not viewport.updatesEnabled()
    with qtbot.waitSignal(dock._repaint.timeout, timeout=5000):
        pass
    assert viewport.updatesEnabled() and messages(dock) == ["line 0", "line 1", "line 2"]
