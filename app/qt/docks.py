"""Creates the window's docks (log, plot) and places them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt5.QtCore import Qt

from app.qt.log_dock import LogDock
from app.qt.plot_dock import PlotDock

if TYPE_CHECKING:
    from PyQt5.QtWidgets import QMainWindow


def make_log_dock(window: QMainWindow) -> LogDock:
    """Return the log dock, docked at the bottom of ``window``."""
    dock = LogDock(parent=window)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    return dock


def make_plot_dock(window: QMainWindow, beside: LogDock) -> PlotDock:
    """Return the plot dock, at the bottom of ``window`` to the right of the log."""
    dock = PlotDock(parent=window)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.splitDockWidget(beside, dock, Qt.Orientation.Horizontal)
    # The table stays the main thing; the docks share the bottom half.
    window.resizeDocks([beside, dock], [640, 560], Qt.Orientation.Horizontal)
    window.resizeDocks([beside], [330], Qt.Orientation.Vertical)
    return dock
