"""Creates the window's docks (log, plot) and places them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt

from pulse_supervisor.qt.window.log.log_dock import LogDock
from pulse_supervisor.qt.window.plot.plot_dock import PlotDock

if TYPE_CHECKING:
    from qtpy.QtWidgets import QMainWindow


def make_log_dock(window: QMainWindow) -> LogDock:
    """Return the log dock, docked at the bottom of ``window``."""
    dock = LogDock(parent=window)
    dock.setMinimumHeight(MIN_DOCK_HEIGHT)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    return dock


# No dock can be squashed below this (and saved so, for every later launch).
MIN_DOCK_HEIGHT = 140


def make_plot_dock(window: QMainWindow, beside: LogDock) -> PlotDock:
    """Return the plot dock, at the bottom of ``window`` to the right of the log."""
    dock = PlotDock(parent=window)
    place_docks(window, beside, dock)
    return dock


def place_docks(window: QMainWindow, log: LogDock, plot: PlotDock) -> None:
    """Put the docks where a first launch has them: shown, docked, side by side under the table."""
    for dock in (log, plot):
        dock.setMinimumHeight(MIN_DOCK_HEIGHT)
        dock.setFloating(False)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.show()
    window.splitDockWidget(log, plot, Qt.Orientation.Horizontal)
    # The table stays the main thing; the docks share the bottom half.
    window.resizeDocks([log, plot], [640, 560], Qt.Orientation.Horizontal)
    window.resizeDocks([log], [330], Qt.Orientation.Vertical)
