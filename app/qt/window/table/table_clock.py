"""The worker table's once-a-second refresh: uptime, rates, CPU and RSS, and the counts label."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import QActionGroup, QLabel, QMenu, QWidget

from pulse_supervisor.core.processes.inspection import format_count
from pulse_supervisor.core.processes.proc_stats import ProcStats
from pulse_supervisor.core.supervision.overload import OverloadWatch
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.menus.menu_slot import menu_slot
from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel

REFRESH_MS = 1000
# The user's choices, as in a task manager's "update speed": a slower refresh, or none, costs
# less CPU (the 1 s refresh is about half of an idle window's use); 0 is paused.
PERIOD_CHOICES = (
    (500, "&Fast (0.5 s)"),
    (1000, "&Normal (1 s)"),
    (2000, "&Slow (2 s)"),
    (5000, "&Very slow (5 s)"),
    (0, "&Paused"),
)
# A tick due within this much of an item batch runs with it: the table and the status bar then
# repaint in one wake-up instead of two (idle window: the clock's own wake-up gone).
# See `TableClock.batch_shown`.
EARLY_MS = 100


PAUSED_TEXT = "table refresh paused (View > Table refresh)"


class TableClock(QObject):
    """Refreshes the table's time-based columns and the counts label every `period_ms` (1 s).

    Parameters
    ----------
    model : WorkerTableModel
        The rows to refresh.
    label : QLabel
        Shows "N/M running · R items/s"; kept at a fixed size that only grows, so a new count
        asks the status bar for no relayout.

    Signals
    -------
    period_changed(int)
        The refresh period in ms after `set_period` changed it (0: paused).
    overloaded(str)
        Once: ticks keep coming late while the workers use most of the CPU; says what to do.
    """

    period_changed = Signal(int)
    overloaded = Signal(str)
    _ride = Signal(float)  # queued to `_timed_tick`, with how late the timer was: a tick a batch carries

    def __init__(self, model: WorkerTableModel, label: QLabel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.label = label
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._proc_stats = ProcStats()
        # A remote worker's CPU % and RSS, read on its node (`QtSupervisor.remote_facts`); set by the window.
        self.remote_facts: Callable[[str], dict[str, Any] | None] | None = None
        self.period_ms = REFRESH_MS
        self.overload = OverloadWatch(cpus=os.cpu_count() or 1)
        self.timer = QTimer(self)
        # Precise: a coarse timer may fire 5 % early, to snap to a whole second of its own, and
        # come just before the batch it was aimed after (see `batch_shown`).
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._on_timeout)
        self._start_timer(REFRESH_MS)
        self._timer_tick_at: float | None = None  # the timer's last tick, if no batch came since
        self._ride.connect(self._timed_tick, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]  # PyQt5-stubs lack the type

    def set_period(self, ms: int) -> None:
        """Refresh every ``ms`` milliseconds from now on; 0 pauses (state changes still show)."""
        if ms < 0:
            raise ValueError(f"refresh period must be >= 0 ms, got {ms}")
        changed = ms != self.period_ms
        self.period_ms = ms
        if ms:
            self._start_timer(ms)
        else:
            self.timer.stop()
        if changed:
            self.tick()  # the counts label says whether the table is paused: a frozen one must not pass for quiet
        if changed:
            self.period_changed.emit(ms)

    def period_menu(self, parent: QWidget) -> QMenu:
        """Return a "Table refresh" menu: the `PERIOD_CHOICES`, and Refresh now."""
        menu = QMenu("Table &refresh", parent)
        group = QActionGroup(menu)
        for ms, text in PERIOD_CHOICES:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(ms == self.period_ms)
            action.setData(ms)
            group.addAction(action)
        group.triggered.connect(lambda action: self.set_period(action.data()))

        def check(ms: int) -> None:  # a period set elsewhere (restored settings) shows here too
            for action in group.actions():
                action.setChecked(action.data() == ms)

        self.period_changed.connect(check)
        menu.addSeparator()
        menu.addAction("Refresh &now", menu_slot(self.tick))  # no F5: that reloads the config file
        return menu

    def batch_shown(self) -> None:
        """Called after each batch of events is shown: run the tick with it if it is nearly due.

        A steady stream's next batch comes about a period from now, so the timer is aimed a
        little after it and that batch carries the tick too, instead of racing it: one wake-up
        and one repaint a second for the table and the status bar together. The first batch
        after a tick the timer made puts the two in step: one just after that tick pushes the
        next one back (by at most a quarter period, once); a later one carries the tick early.
        """
        if not self.timer.isActive():
            return
        ticked_at, self._timer_tick_at = self._timer_tick_at, None
        now = time.monotonic()
        ride = self.timer.remainingTime() <= EARLY_MS
        if not ride:
            if ticked_at is None:
                return
            ride = now - ticked_at >= self.period_ms / 4000  # else just after the timer's tick: pushed back
        late = now - self._due
        self._start_timer(self.period_ms + EARLY_MS // 2)
        if ride:
            # Queued, not called: the caller's slot shows the newest item first (in the tick, it
            # would wait ~0.5 ms once a second: 2 % of the items at 50/s, the p99), and a posted
            # call still runs before the status bar's repaint, which Qt posts at low priority:
            # the table and the status bar repaint together (a zero timer came after it).
            self._ride.emit(late)

    def tick(self) -> float:
        """Refresh uptime, rates, CPU and RSS of every row, and the counts; return the workers' summed CPU %."""
        rows = self.model.rows()
        pids = {r.name: r.pid for r in rows if r.pid is not None and not r.status.node}
        sampled = self._proc_stats.sample(pids.values())
        stats = {name: sampled[pid] for name, pid in pids.items()}
        if self.model.any_remote and self.remote_facts is not None:  # read on their nodes, not here
            for r in rows:
                facts = self.remote_facts(r.name) if r.status.node else None
                if facts:
                    stats[r.name] = (facts.get("cpu_percent"), facts.get("rss"))
        self.model.refresh_clock(stats)
        running = sum(r.state is State.RUNNING for r in rows)
        rate = sum(r.rate for r in rows)
        counts = f"{running}/{len(rows)} running · {format_count(rate)} items/s"
        if not self.period_ms:
            counts += f" · {PAUSED_TEXT}"
        if counts != self.label.text():  # an unchanged label still relays out the status bar
            self.set_counts(counts)
        return sum(cpu for cpu, _ in sampled.values() if cpu)

    def set_counts(self, text: str) -> None:
        """Show ``text`` in the counts label, relaying out the status bar only if it grew wider.

        A label of fixed size asks no layout of its parent when its text changes: the idle
        window's item rate flickering 7.9 -> 8.1 items/s cost a status-bar relayout each time.
        """
        label = self.label
        label.setText(text)
        hint = label.sizeHint()
        if hint.width() > label.minimumWidth() or hint.height() != label.minimumHeight():
            slack = label.fontMetrics().horizontalAdvance("0000")  # room for the numbers to grow
            label.setFixedSize(hint.width() + slack, hint.height())

    def stop(self) -> None:
        """Stop refreshing and close the kept-open /proc files."""
        self.timer.stop()
        self._proc_stats.close()

    def _start_timer(self, ms: int) -> None:
        self.timer.start(ms)
        self._due = time.monotonic() + ms / 1000  # when the timeout should come, to see how late it is

    def _on_timeout(self) -> None:
        late = time.monotonic() - self._due
        self._start_timer(self.period_ms)  # back on its own period after a batch carried it
        self._timer_tick_at = time.monotonic()
        self._timed_tick(late)

    def _timed_tick(self, late: float) -> None:
        """Tick, then tell the overload watch how late it came (a busy window's ticks mostly ride on batches)."""
        workers_cpu = self.tick()
        advice = self.overload.tick(time.monotonic(), late, workers_cpu)
        if advice is not None:
            self.overloaded.emit(advice)
