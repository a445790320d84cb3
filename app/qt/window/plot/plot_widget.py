"""The plot's pyqtgraph widget: axes, grid, fixed ranges, timed paints, an overlay for messages."""

from __future__ import annotations

import time

import pyqtgraph as pg
from qtpy.QtGui import QPaintEvent, QResizeEvent
from qtpy.QtWidgets import QWidget


def make_plot_widget() -> TimedPlotWidget:
    """Return a white, gridded plot widget with its ranges left to the dock (autorange off)."""
    pg.setConfigOptions(antialias=False)  # antialiased lines cost several times more to draw
    widget = TimedPlotWidget(background="w")
    item = widget.getPlotItem()
    for side in ("left", "bottom"):
        item.getAxis(side).setPen("k")
        item.getAxis(side).setTextPen("k")
    item.setLabel("bottom", "seconds before now")
    item.showGrid(x=True, y=True, alpha=0.2)
    # PlotDock sets both ranges itself. x runs to 0 = now, so in a time window the axis and its
    # labels stay put and are not laid out again each frame; the lines are min/max per bucket
    # already (series_history), so pyqtgraph has nothing to clip or decimate.
    item.disableAutoRange()
    item.hideButtons()  # its "A" (auto range) would fight the window the dock keeps
    item.setMenuEnabled(False)
    return widget


class TimedPlotWidget(pg.PlotWidget):  # type: ignore[misc]  # pyqtgraph has no types: PlotWidget is Any
    """A PlotWidget that remembers how long its last paint took (wall time, GIL waits included)."""

    def __init__(self, **kwargs: object) -> None:
        self.overlay: QWidget | None = None  # a label kept over the plot area (set before: init resizes)
        super().__init__(**kwargs)
        self.paint_s = 0.0

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.overlay is not None:
            self.overlay.setGeometry(self.rect().adjusted(50, 10, -10, -40))  # inside the axes

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        started = time.perf_counter()
        super().paintEvent(event)
        self.paint_s = time.perf_counter() - started
