"""The worker table's once-a-second refresh: uptime, rates, CPU and RSS, and the counts label."""

from __future__ import annotations

from PyQt5.QtCore import QObject, Qt, QTimer
from PyQt5.QtWidgets import QLabel

from app.core.policy import State
from app.core.proc_stats import ProcStats
from app.qt.worker_model import WorkerTableModel

REFRESH_MS = 1000
# A tick due within this much of an item batch runs with it: the table and the status bar then
# repaint in one wake-up instead of two (idle window: the clock's own wake-up gone).
EARLY_MS = 100


class TableClock(QObject):
    """Refreshes the table's time-based columns and the counts label about once a second.

    Parameters
    ----------
    model : WorkerTableModel
        The rows to refresh.
    label : QLabel
        Shows "N/M running · R items/s"; kept at a fixed size that only grows, so a new count
        asks the status bar for no relayout.
    """

    def __init__(self, model: WorkerTableModel, label: QLabel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.label = label
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._proc_stats = ProcStats()
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self._on_timeout)
        self.timer.start()

    def batch_shown(self) -> None:
        """Called after each batch of events is shown: run the tick now if it is nearly due."""
        if self.timer.isActive() and self.timer.remainingTime() <= EARLY_MS:
            # A steady stream's next batch comes about a period from now: fire a little after it,
            # so that batch carries the next tick too instead of racing the timer for it. The tick
            # itself runs right after the caller's slot, in the same wake-up: inside it, it would
            # hold back the newest item by ~0.5 ms once a second (2 % of the items at 50/s: the p99).
            self.timer.start(REFRESH_MS + EARLY_MS // 2)
            QTimer.singleShot(0, self.tick)

    def tick(self) -> None:
        """Refresh uptime, rates, CPU and RSS of every row, and the counts."""
        rows = [self.model.row(n) for n in self.model.names()]
        pids = {r.name: r.pid for r in rows if r.pid is not None}
        sampled = self._proc_stats.sample(pids.values())
        self.model.refresh_clock({name: sampled[pid] for name, pid in pids.items()})
        running = sum(r.state is State.RUNNING for r in rows)
        rate = sum(r.rate for r in rows)
        counts = f"{running}/{len(rows)} running · {rate:,.0f} items/s"
        if counts != self.label.text():  # an unchanged label still relays out the status bar
            self.set_counts(counts)

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

    def _on_timeout(self) -> None:
        self.timer.setInterval(REFRESH_MS)  # back on its own period after a batch carried it
        self.tick()
