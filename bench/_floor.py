"""The floor: a bare Qt + pyqtgraph window drawing what Pulse's window draws, fed in-process, no workers.

Imported only inside trial functions (it loads PyQt5). It has what Pulse's window shows for the
same feeds and nothing else: a table whose changed cells repaint once a second, the newest item in
the status bar, and a plot with x = seconds before now on a fixed axis, redrawn when data comes
(at most every 33 ms) from the same min/max buckets
(``pulse_supervisor.qt.window.plot.series_history``, numpy only), so the
ratio to it is what Pulse's processes, consumer thread, models and checks cost on top of Qt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QStandardItem, QStandardItemModel
from PyQt5.QtWidgets import QMainWindow, QSplitter, QTableView

from pulse_supervisor.qt.window.plot.series_history import SeriesHistory

COLUMNS = ("Name", "State", "PID", "Uptime", "Items", "Rate/s", "Lost", "Restarts", "CPU %", "RSS", "Last item")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


class FloorWindow(QMainWindow):
    """Table, status bar and plot, as in Pulse's window, updated by `feed`."""

    def __init__(self, rows: list[str], series: list[str]) -> None:
        super().__init__()
        self.resize(1280, 820)
        self.model = QStandardItemModel(len(rows), len(COLUMNS))
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        for r, name in enumerate(rows):
            for c in range(len(COLUMNS)):
                self.model.setItem(r, c, QStandardItem(name if c == 0 else ""))
        self.rows = {name: r for r, name in enumerate(rows)}
        self.counts = dict.fromkeys(rows, 0)
        self.last: dict[str, str] = {}
        self.started = time.monotonic()
        table = QTableView()
        table.setModel(self.model)
        pg.setConfigOptions(antialias=False)
        self.plot = pg.PlotWidget(background="w")
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setLabel("bottom", "seconds before now")
        item.disableAutoRange()
        item.getViewBox().setRange(xRange=(-10.0, 0.0), yRange=(-2.0, 50.0), padding=0)
        self.history = {name: SeriesHistory() for name in series}
        self.curves = {
            name: item.plot(pen=pg.mkPen(PALETTE[i % len(PALETTE)], width=1), connect="finite")
            for i, name in enumerate(series)
        }
        splitter = QSplitter()
        splitter.addWidget(table)
        splitter.addWidget(self.plot)
        self.setCentralWidget(splitter)
        self.redraw_timer = QTimer(self, singleShot=True, interval=33)
        self.redraw_timer.timeout.connect(self.redraw)
        self.tick_timer = QTimer(self, interval=1000)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()

    def feed(self, row: str, values: dict[str, float] | None, shown: str) -> None:
        """One batch from ``row``: its numbers (series name -> values) and the text of its newest item."""
        now = time.monotonic()
        self.counts[row] += 1
        self.last[row] = shown
        self.statusBar().showMessage(f"{row} #{self.counts[row]}: {shown}")
        for name, ys in (values or {}).items():
            ys = np.atleast_1d(np.asarray(ys, dtype=np.float64))
            self.history[name].extend(np.linspace(now - 0.016, now, len(ys)) if len(ys) > 1 else np.array([now]), ys)
        if values and not self.redraw_timer.isActive():
            self.redraw_timer.start()

    def redraw(self) -> None:
        now = time.monotonic()
        for name, history in self.history.items():
            x, y = history.level(10.0).polyline(now - 10.0, shift_s=now)
            self.curves[name].setData(x, y)

    def tick(self) -> None:
        uptime = f"{time.monotonic() - self.started:.1f}s"
        for name, r in self.rows.items():
            for c, text in ((3, uptime), (4, f"{self.counts[name]:,}"), (10, self.last.get(name, ""))):
                cell = self.model.item(r, c)
                if cell.text() != text:
                    cell.setText(text)


def start_feeds(window: FloorWindow, feeds: list[tuple[str, float, float, Callable[[int], Any]]]) -> list[QTimer]:
    """Start a timer per ``(row, interval_s, phase_s, make(i) -> (values, shown))`` feed; return them."""
    timers = []
    for row, interval, phase, make in feeds:
        timer = QTimer(window)
        timer.setInterval(max(1, int(interval * 1000)))
        # Precise: Qt lines coarse timers up to wake together, which would align feeds Pulse gets unaligned.
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        counter = iter(range(10**9))
        timer.timeout.connect(lambda row=row, make=make, counter=counter: window.feed(row, *make(next(counter))))
        QTimer.singleShot(int(phase * 1000), timer.start)
        timers.append(timer)
    return timers
