"""The plot dock: workers' numbers against seconds before now, redrawn when data changes, not on a clock."""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QTimer
from qtpy.QtGui import QShowEvent
from qtpy.QtWidgets import QDockWidget, QWidget

from pulse_supervisor.core.supervision.events import Event
from pulse_supervisor.qt.window.plot.plot_controls import PlotControls
from pulse_supervisor.qt.window.plot.plot_legend import PlotLegend
from pulse_supervisor.qt.window.plot.plot_series import MAX_AUTO_SERIES, PlotSeries, Series
from pulse_supervisor.qt.window.plot.plot_widget import make_plot_widget
from pulse_supervisor.qt.window.plot.series import fit_y_range
from pulse_supervisor.qt.window.plot.series_history import WINDOWS

REDRAW_INTERVAL_MS = 33  # at most ~30 redraws a second, however often data comes
# Frame pacing: the plot may use at most 1/PLOT_SHARE of the GUI thread. A frame (redraw + paint)
# that took c ms delays the next one by PLOT_SHARE * c ms, never less than REDRAW_INTERVAL_MS nor
# more than MAX_REDRAW_INTERVAL_MS; so many busy curves slow the plot down, never the window.
PLOT_SHARE = 8
MAX_REDRAW_INTERVAL_MS = 250
# With no new data the lines still age: they move left this often while any is in view (x is
# time before now), and not at all once none is: an idle plot costs no wake-ups.
SLIDE_MS: dict[float | None, int] = {10.0: 500, 60.0: 2000, None: 5000}


class PlotDock(QDockWidget):
    """Plots the numeric items of the selected workers (none selected: the live ones, a few).

    Items that are ``int``/``float`` (not ``bool``) make a series named after the worker; dicts of
    numbers make one series per key, ``"worker.key"``; other items are not plotted, and an empty
    plot says so. x is seconds before now; a worker's line breaks where a new run starts.

    Attributes
    ----------
    data : PlotSeries
        The series and their history (Qt-free).
    redraw_timer : QTimer
        Single-shot, started when data for a shown series arrives; its timeout redraws.
    slide_timer : QTimer
        Single-shot, started by a redraw that left lines in view: it moves them left as time passes.
    redraw_count : int
        Redraws done so far (tests wait on it).
    now_ns : callable
        The clock x is measured against (``time.monotonic_ns``; tests fix it).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Plot", parent)
        self.setObjectName("plot_dock")
        self.data = PlotSeries()
        self.now_ns = time.monotonic_ns
        self.redraw_count = 0
        self._redraw_s = 0.0  # how long the last redraw took (its paint: plot_widget.paint_s)
        self._selected: frozenset[str] = frozenset()  # empty: the live workers
        self._window_s: float | None = WINDOWS[0][1]
        self._y_range: tuple[float, float] | None = None
        self._shown: list[str] = []
        self._shown_workers: set[str] = set()
        self._stale = False  # data came while the plot could not be seen

        self.plot_widget = make_plot_widget()
        self.plot_item = self.plot_widget.getPlotItem()
        self.view_box = self.plot_item.getViewBox()
        self.view_box.sigRangeChangedManually.connect(self._on_range_changed_by_user)
        # Every line lives in one group whose x offset is (origin - now): lines hold seconds since
        # `_origin_s` and only change when their data does, while the axis keeps a fixed range.
        self._lines = pg.ItemGroup()
        self.view_box.addItem(self._lines, ignoreBounds=True)
        self._origin_s: float | None = None  # set by the first redraw
        self.legend = PlotLegend()
        self.legend.hidden_changed.connect(self.redraw)
        controls = PlotControls(self.plot_widget, self.legend)
        self.empty_label, self.note_label = controls.empty_label, controls.note_label
        self.pause_button, self.clear_button, self.window_combo = controls.pause, controls.clear, controls.window
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.clear_button.clicked.connect(self.clear)
        self.window_combo.currentIndexChanged.connect(self._on_window_changed)
        self.setWidget(controls.body)

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setSingleShot(True)
        self.redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self.redraw_timer.timeout.connect(self._on_timer_timeout)
        self.slide_timer = QTimer(self)
        self.slide_timer.setSingleShot(True)
        self.slide_timer.timeout.connect(self._on_timer_timeout)
        self._show_empty(self.data.empty_message(self._selected, self._window_s))

    # --- data -----------------------------------------------------------------------------

    def append_events(self, events: Iterable[Event]) -> None:
        """Take one emit of the consumer; the lines follow on the next redraw, if any changed."""
        changed = self.data.apply_events(events)
        removed = self.data.take_removed()
        for series in removed:
            if series.curve is not None:  # a removed worker leaves no ghost line
                series.curve.setParentItem(None)
                if series.curve.scene() is not None:
                    series.curve.scene().removeItem(series.curve)
        if removed or (changed and self._touches_view(changed)):
            self._schedule_redraw()

    def _touches_view(self, workers: set[str]) -> bool:
        if self._selected:
            return not workers.isdisjoint(self._selected)
        # With nothing selected, new points of a worker whose line is not shown change nothing
        # on screen unless a place is free: 200 workers at 1 item/s would redraw the 8 lines
        # at the redraw pace for points nobody sees. A shown line that goes quiet makes room
        # at the next slide, which redraws and chooses again.
        return len(self._shown) < MAX_AUTO_SERIES or not workers.isdisjoint(self._shown_workers)

    def clear(self) -> None:
        """Drop every point and empty the lines, paused or not (the user asked)."""
        for series in self.data.series.values():
            series.history.clear()
            series.changed = True
            if series.curve is not None:
                series.curve.setData([], [])
        self._y_range = None
        self._draw()

    # --- queries --------------------------------------------------------------------------

    def series_names(self) -> list[str]:
        """Return the series' names, in order of first appearance."""
        return list(self.data.series)

    def shown_names(self) -> list[str]:
        """Return the series the last redraw put on the plot (and in the legend), in order."""
        return list(self._shown)

    def curve(self, name: str) -> pg.PlotDataItem:
        """Return the line of series ``name`` (made, hidden, if it was never shown)."""
        return self._curve_of(name, self.data.series[name])

    def colour(self, name: str) -> str:
        """Return the ``#rrggbb`` colour of series ``name``."""
        return self.data.series[name].colour

    # --- view state -----------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Return whether the lines are frozen (data is still kept)."""
        return self.pause_button.isChecked()

    @paused.setter
    def paused(self, value: bool) -> None:
        self.pause_button.setChecked(value)

    def set_selected(self, names: Iterable[str]) -> None:
        """Show only the series of workers in ``names``; none selected shows the live ones."""
        self._selected = frozenset(names)
        self._y_range = None  # other lines: fit y to them afresh
        self._draw()

    def set_window(self, seconds: float | None) -> None:
        """Show the last ``seconds`` of data (None: all of it), as the Window combo does."""
        self.window_combo.setCurrentIndex([s for _, s in WINDOWS].index(seconds))

    def redraw(self) -> None:
        """Draw the shown series as of now, unless paused."""
        if not self.paused:
            self._draw()

    def _draw(self) -> None:
        started = time.perf_counter()
        now = self.now_ns() * 1e-9
        window = self._window_s
        start = None if window is None else now - window
        shown, more = self.data.choose_shown(self._selected, start)
        visible = [name for name in shown if name not in self.legend.hidden]
        if self._origin_s is None:
            self._origin_s = now
        bounds, firsts = [], []
        for name, series in self.data.series.items():
            if name in visible:
                level = series.history.level(window)
                curve = self._curve_of(name, series)
                if series.changed:
                    # Only lines with new points get new data; time passing moves the group they
                    # are in (below), so the axes and the other lines stay as they are.
                    curve.setData(*level.polyline(None, shift_s=self._origin_s))
                    series.changed = False
                curve.setVisible(True)
                if (b := level.y_bounds(start)) is not None:
                    bounds.append(b)
                if (first := level.oldest_x()) is not None:
                    firsts.append(first)
            elif series.curve is not None and series.curve.isVisible():
                series.curve.setVisible(False)
        self._shown = shown
        self._shown_workers = {self.data.series[name].worker for name in shown}
        self.legend.set_entries([(name, self.data.series[name].colour) for name in shown])
        self._y_range = fit_y_range(bounds, self._y_range)
        self._lines.setPos(self._origin_s - now, 0.0)  # x on screen = seconds before now
        left = -window if window is not None else min(-1.0, min(firsts) - now if firsts else -10.0)
        self.view_box.setRange(xRange=(left, 0.0), yRange=self._y_range or (0.0, 1.0), padding=0)
        self._show_messages(shown, visible, bool(bounds), more)
        self.redraw_count += 1
        self._redraw_s = time.perf_counter() - started
        if bounds and not self.paused:
            self.slide_timer.start(SLIDE_MS[window])
        else:
            self.slide_timer.stop()

    def _show_messages(self, shown: list[str], visible: list[str], drawn: bool, more: int) -> None:
        if drawn:
            self._show_empty("")
        elif shown and not visible:
            self._show_empty("Every line is hidden: check one in the legend to show it.")
        else:
            self._show_empty(self.data.empty_message(self._selected, self._window_s))
        notes = []
        if more:
            where = "select workers in the table" if not self._selected else "select fewer workers"
            notes.append(f"{len(shown)} of {len(shown) + more} series shown: {where} to see the others.")
        notes += self.data.notes(self._selected or {s.worker for s in self.data.series.values()})
        self.note_label.setText("\n".join(notes))
        self.note_label.setVisible(bool(notes))

    def _show_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.empty_label.setVisible(bool(text))

    def _curve_of(self, name: str, series: Series) -> pg.PlotDataItem:
        if series.curve is None:
            series.curve = pg.PlotDataItem(pen=pg.mkPen(series.colour, width=1), connect="finite")
            series.curve.setVisible(False)
            series.curve.setParentItem(self._lines)
            series.changed = True
        return series.curve

    def shown_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the points the line of ``name`` shows: x in seconds before the last redraw, and y."""
        x, y = self.curve(name).getData()
        if x is None or y is None:
            return np.array([]), np.array([])
        return x + self._lines.pos().x(), y

    def _can_be_seen(self) -> bool:
        return (
            self.isVisible()
            and not self.window().isMinimized()
            and not self.plot_widget.viewport().visibleRegion().isEmpty()
        )

    def _schedule_redraw(self) -> None:
        if self.paused:
            return
        if not self._can_be_seen():
            self._stale = True  # drawn when shown again (showEvent), not while nobody can see it
            return
        if not self.redraw_timer.isActive():  # trailing throttle: later changes ride along
            self.redraw_timer.start(self.redraw_interval_ms())

    def redraw_interval_ms(self) -> int:
        """Return the delay before the next redraw: the last frame's cost times PLOT_SHARE, bounded."""
        cost_ms = 1000.0 * (self._redraw_s + self.plot_widget.paint_s)
        return int(min(MAX_REDRAW_INTERVAL_MS, max(REDRAW_INTERVAL_MS, PLOT_SHARE * cost_ms)))

    # --- slots ----------------------------------------------------------------------------

    def _on_timer_timeout(self) -> None:
        if self._can_be_seen():
            self.redraw()
        else:
            self._stale = True

    def _on_pause_toggled(self, checked: bool) -> None:
        self.pause_button.setText("Resume" if checked else "Pause")
        if checked:
            self.redraw_timer.stop()
            self.slide_timer.stop()
        else:
            self._y_range = None  # back from a zoom: fit the data again
            self.redraw()

    def _on_range_changed_by_user(self, *_: object) -> None:
        # Zooming or panning a moving plot is undone by its next frame: hold still until Resume.
        if not self.paused:
            self.paused = True

    def _on_window_changed(self, index: int) -> None:
        self._window_s = WINDOWS[index][1]
        self._y_range = None
        for series in self.data.series.values():
            series.changed = True  # another window reads another level: every line's points change
        self.redraw()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._schedule_redraw()
