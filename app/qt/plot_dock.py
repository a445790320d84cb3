"""The plot dock: a live pyqtgraph plot of the numbers workers send, bounded and redrawn on a timer."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.events import Event, ItemBatch
from app.qt.plot_widget import PALETTE, make_plot_widget
from app.qt.series import SeriesBuffer, fit_y_range, numeric_columns

DEFAULT_MAX_POINTS = 5_000
REDRAW_INTERVAL_MS = 33  # ~30 fps: smooth to the eye, and at most 30 setData calls per curve a second
# Frame pacing: the plot may use at most 1/PLOT_SHARE of the GUI thread. A frame (redraw + paint)
# that took c ms delays the next one by PLOT_SHARE * c ms, never less than REDRAW_INTERVAL_MS nor
# more than MAX_REDRAW_INTERVAL_MS; so 64 busy curves slow the plot down, never the window.
PLOT_SHARE = 8
MAX_REDRAW_INTERVAL_MS = 250
# A batch's items are spread back to the previous batch, but no further than this: after a quiet
# spell (a restart, a slow worker) the items were made just before sending, not over the whole gap.
MAX_SPREAD_S = 1.0
# With nothing selected, the first this many series show: each curve costs paint time every frame,
# and 64 workers' worth would stall the GUI thread.
MAX_AUTO_SERIES = 8
WINDOWS: tuple[tuple[str, float | None], ...] = (("Last 10 s", 10.0), ("Last 60 s", 60.0), ("All", None))


@dataclass(slots=True)
class _Series:
    worker: str
    buffer: SeriesBuffer
    colour: str
    order: int  # position of first appearance
    curve: pg.PlotDataItem | None = None  # made when first shown: creating one costs milliseconds
    dirty: bool = False  # the buffer holds points the curve doesn't show yet


class PlotDock(QDockWidget):
    """Plots the numeric items of the selected workers (none selected: the first few series).

    Items that are ``int``/``float`` (not ``bool``) make a series named after the worker; dicts of
    numbers make one series per key, ``"worker.key"``; other items are ignored. x is seconds since
    the dock was created, each batch spread evenly up to the time it was received.

    Parameters
    ----------
    parent : QWidget, optional
        The owning window.
    max_points : int
        How many newest points each series keeps.

    Attributes
    ----------
    redraw_timer : QTimer
        Single-shot, started by an append that changed something; its timeout redraws.
    redraw_count : int
        Redraws done so far (tests wait on it).
    origin_ns : int
        ``time.monotonic_ns()`` at creation: x is ``(received_ns - origin_ns) / 1e9``.
    """

    def __init__(self, parent: QWidget | None = None, *, max_points: int = DEFAULT_MAX_POINTS) -> None:
        super().__init__("Plot", parent)
        self.setObjectName("plot_dock")
        self.max_points = max_points
        self.redraw_count = 0
        self._redraw_s = 0.0  # how long the last redraw took (its paint: plot_widget.paint_s)
        self.origin_ns = time.monotonic_ns()
        self._series: dict[str, _Series] = {}
        self._selected: frozenset[str] = frozenset()  # empty: every worker
        self._window_s: float | None = WINDOWS[0][1]

        self.plot_widget = make_plot_widget()
        self.plot_item = self.plot_widget.getPlotItem()
        self._y_range: tuple[float, float] | None = None
        self.legend = self.plot_item.addLegend(offset=(10, 10))

        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.window_combo = QComboBox()
        for label, seconds in WINDOWS:
            self.window_combo.addItem(label, seconds)
        self.window_combo.currentIndexChanged.connect(self._on_window_changed)
        bar = QHBoxLayout()
        bar.addWidget(self.pause_button)
        bar.addWidget(self.clear_button)
        bar.addStretch(1)
        bar.addWidget(QLabel("Window"))
        bar.addWidget(self.window_combo)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.plot_widget, 1)
        self.setWidget(body)

        # Single-shot and started on demand: no wake-ups at all while nothing arrives.
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setSingleShot(True)
        self.redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self.redraw_timer.timeout.connect(self._on_redraw_timer_timeout)

    # --- data -----------------------------------------------------------------------------

    def append_events(self, events: Iterable[Event]) -> None:
        """Buffer the numeric items in ``events``; the curves follow on the next timer tick.

        Parameters
        ----------
        events : iterable of Event
            One emit of the consumer; anything but an ``ItemBatch`` is skipped.
        """
        # One conversion per worker per call, not per batch: many workers send many small batches.
        grouped: dict[str, tuple[list[object], int]] = {}
        for ev in events:
            if type(ev) is ItemBatch and ev.items:
                items, _ = grouped.get(ev.worker, ([], 0))
                items.extend(ev.items)
                grouped[ev.worker] = (items, ev.received_ns)
        changed = False
        for worker, (items, received_ns) in grouped.items():
            changed = self._append_batch(worker, items, received_ns) or changed
        if changed:
            self._schedule_redraw()

    def _append_batch(self, worker: str, items: list[object], received_ns: int) -> bool:
        n = len(items)
        # Points before the last max_points would be dropped at once: don't even convert them.
        skip = max(0, n - self.max_points)
        columns = numeric_columns(items[skip:] if skip else items)
        t = (received_ns - self.origin_ns) * 1e-9
        for key, indices, ys in columns:
            name = worker if key is None else f"{worker}.{key}"
            series = self._series.get(name) or self._add_series(name, worker)
            buffer = series.buffer
            prev = t if buffer.last_x is None else buffer.last_x  # a first batch lands at t
            end = max(t, prev)
            start = max(prev, end - MAX_SPREAD_S)
            # Item i of n sits at start + (i + 1)/n of the way, so the last one lands on `end`.
            pos = np.arange(skip + 1, n + 1) if indices is None else indices + (skip + 1)
            buffer.extend(np.multiply(pos, (end - start) / n, dtype=np.float64) + start, ys)
            buffer.last_x = end
            series.dirty = True
        return bool(columns)

    def _add_series(self, name: str, worker: str) -> _Series:
        colour = PALETTE[len(self._series) % len(PALETTE)]
        series = _Series(worker, SeriesBuffer(self.max_points), colour, len(self._series))
        self._series[name] = series
        if self._is_shown(series):
            self._show_curve(name, series)
        return series

    def _curve_of(self, name: str, series: _Series) -> pg.PlotDataItem:
        if series.curve is None:
            series.curve = pg.PlotDataItem(name=name, pen=pg.mkPen(series.colour, width=1))
            self.plot_item.addItem(series.curve)  # adds it to the legend too, as it has a name
            self.legend.removeItem(series.curve)  # the legend follows what is shown
            series.curve.setVisible(False)
            series.dirty = True
        return series.curve

    def _show_curve(self, name: str, series: _Series) -> None:
        curve = self._curve_of(name, series)
        curve.setVisible(True)
        self.legend.addItem(curve, name)

    def clear(self) -> None:
        """Drop every buffered point and empty the curves, paused or not (the user asked)."""
        for series in self._series.values():
            series.buffer.clear()
            if series.curve is not None:
                series.curve.setData([], [])
            series.dirty = False
        self._y_range = None

    # --- queries --------------------------------------------------------------------------

    def series_names(self) -> list[str]:
        """Return the series' names, in order of first appearance."""
        return list(self._series)

    def buffer(self, name: str) -> SeriesBuffer:
        """Return the buffer of series ``name`` (``x``/``y`` are views into it)."""
        return self._series[name].buffer

    def curve(self, name: str) -> pg.PlotDataItem:
        """Return the curve of series ``name`` (made, hidden, if it was never shown)."""
        return self._curve_of(name, self._series[name])

    def colour(self, name: str) -> str:
        """Return the ``#rrggbb`` colour of series ``name``."""
        return self._series[name].colour

    # --- view state -----------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Return whether the curves are frozen (data is still buffered)."""
        return self.pause_button.isChecked()

    @paused.setter
    def paused(self, value: bool) -> None:
        self.pause_button.setChecked(value)

    def set_selected(self, names: Iterable[str]) -> None:
        """Show only the series of workers in ``names``; none selected shows the first few."""
        self._selected = frozenset(names)
        self._y_range = None  # other curves: fit y to them afresh
        self.legend.clear()
        for name, series in self._series.items():
            if self._is_shown(series):
                self._show_curve(name, series)
            elif series.curve is not None:
                series.curve.setVisible(False)
        # Hidden series were not redrawn; catch them up now that they may show.
        if any(s.dirty for s in self._series.values()):
            self._schedule_redraw()

    def set_window(self, seconds: float | None) -> None:
        """Show the last ``seconds`` of data (None: all of it), as the Window combo does."""
        self.window_combo.setCurrentIndex([s for _, s in WINDOWS].index(seconds))

    def redraw(self) -> None:
        """Push changed buffers to their curves and move the time window; nothing while paused."""
        if self.paused:
            return
        started = time.perf_counter()
        for series in self._series.values():
            if series.dirty and series.curve is not None and self._is_shown(series):
                # Copies: setData keeps the arrays it gets, and the buffers change under it.
                series.curve.setData(series.buffer.x.copy(), series.buffer.y.copy())
                series.dirty = False
        self._apply_window()
        self.redraw_count += 1
        self._redraw_s = time.perf_counter() - started

    def _is_shown(self, series: _Series) -> bool:
        if self._selected:
            return series.worker in self._selected
        return series.order < MAX_AUTO_SERIES

    def _schedule_redraw(self) -> None:
        # Trailing throttle: the first change starts the timer, later ones ride along.
        if not self.paused and not self.redraw_timer.isActive():
            self.redraw_timer.start(self.redraw_interval_ms())

    def redraw_interval_ms(self) -> int:
        """Return the delay before the next redraw: the last frame's cost times PLOT_SHARE, bounded."""
        cost_ms = 1000.0 * (self._redraw_s + self.plot_widget.paint_s)
        return int(min(MAX_REDRAW_INTERVAL_MS, max(REDRAW_INTERVAL_MS, PLOT_SHARE * cost_ms)))

    def _apply_window(self) -> None:
        """Scroll x to the newest point; fit y to the points in view, with hysteresis.

        pyqtgraph's own auto-range recomputed every curve's bounds several times per frame and
        moved the y axis by a hair each frame, so its ticks and labels were laid out again 30
        times a second: a fifth of a frame's cost with 64 workers (5.5 -> 4.4 ms). Here y only
        moves when the data leaves it or shrinks to under half of it, in one setRange with x.
        """
        if self._window_s is None:
            return
        shown = [s.buffer for s in self._series.values() if len(s.buffer) and self._is_shown(s)]
        if not shown:
            return
        newest = float(max(b.x[-1] for b in shown))
        oldest = newest - self._window_s
        y_range = self._y_range = fit_y_range(shown, oldest, self._y_range)
        self.plot_item.getViewBox().setRange(xRange=(oldest, newest), yRange=y_range, padding=0)

    # --- slots ----------------------------------------------------------------------------

    def _on_redraw_timer_timeout(self) -> None:
        self.redraw()

    def _on_pause_toggled(self, checked: bool) -> None:
        if checked:
            self.redraw_timer.stop()
        else:
            self.redraw()

    def _on_window_changed(self, index: int) -> None:
        self._window_s = WINDOWS[index][1]
        if self._window_s is None:
            self.plot_item.enableAutoRange()
        else:
            self.plot_item.disableAutoRange()
            self._y_range = None
            self._apply_window()
