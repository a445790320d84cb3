"""The main window's menu bar and toolbar, built from its actions, docks and table clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QToolBar

if TYPE_CHECKING:
    from app.qt.window.main_window import MainWindow
    from app.qt.window.worker_actions import WorkerActions


def build_menus(window: MainWindow) -> None:
    """Fill ``window``'s menu bar: File, Workers, View, Help."""
    a = window.worker_actions
    file_menu = window.menuBar().addMenu("&File")
    window.config_files.populate(file_menu)
    workers_menu = window.menuBar().addMenu("&Workers")
    for action in a.selection_actions()[:6]:
        workers_menu.addAction(action)
    workers_menu.addSeparator()
    for action in (a.start_all, a.stop_all):
        workers_menu.addAction(action)
    workers_menu.addSeparator()
    workers_menu.addAction(a.add)
    workers_menu.addAction(a.remove)
    workers_menu.addSeparator()
    workers_menu.addAction(a.clear_log)
    view_menu = window.menuBar().addMenu("&View")
    view_menu.addAction(window.log_dock.toggleViewAction())
    view_menu.addAction(window.plot_dock.toggleViewAction())
    reset = view_menu.addAction("&Reset layout", window.reset_layout)
    reset.setToolTip("Docks shown, side by side under the table, at their first-launch sizes")
    view_menu.addSeparator()
    view_menu.addMenu(window.clock.period_menu(window))
    help_menu = window.menuBar().addMenu("&Help")
    help_menu.addAction("&About Pulse", window.config_files.show_about)


def build_toolbar(window: MainWindow, a: WorkerActions) -> QToolBar:
    """Add the Workers toolbar to ``window`` and return it."""
    toolbar = window.addToolBar("Workers")
    toolbar.setObjectName("workers_toolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for action in (a.start, a.stop, a.kill, a.restart, a.inspect):
        toolbar.addAction(action)
    toolbar.addSeparator()
    for action in (a.start_all, a.stop_all, a.add, a.remove):
        toolbar.addAction(action)
    return toolbar
