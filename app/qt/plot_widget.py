"""The plot's pyqtgraph widget (axes, grid, clipping, decimation, timed paints) and its colours."""

from __future__ import annotations

import time

import pyqtgraph as pg
from PyQt5.QtGui import QPaintEvent

# Colours by order of first appearance (matplotlib's tab10), so a series keeps its colour for good.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def make_plot_widget() -> TimedPlotWidget:
    """Return a white, gridded plot widget that draws only what is in view, autorange off."""
    pg.setConfigOptions(antialias=False)  # antialiased lines cost several times more to draw
    widget = TimedPlotWidget(background="w")
    item = widget.getPlotItem()
    for side in ("left", "bottom"):
        item.getAxis(side).setPen("k")
        item.getAxis(side).setTextPen("k")
    item.setLabel("bottom", "time (s)")
    item.showGrid(x=True, y=True, alpha=0.2)
    # Draw only what is in view, decimated to the screen's width.
    item.setClipToView(True)
    item.setDownsampling(auto=True, mode="peak")
    # In a time window PlotDock sets both ranges itself (`_apply_window`); "All" is pyqtgraph's.
    item.getViewBox().setAutoVisible(y=True)
    item.disableAutoRange()
    return widget


class TimedPlotWidget(pg.PlotWidget):
    """A PlotWidget that remembers how long its last paint took (wall time, GIL waits included)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.paint_s = 0.0

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        started = time.perf_counter()
        super().paintEvent(event)
        self.paint_s = time.perf_counter() - started
