"""The main window's menu bar and toolbar, built from the actions, docks and commands it is given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QDockWidget, QMainWindow, QMenu, QToolBar

if TYPE_CHECKING:
    from pulse_supervisor.qt.window.menus.config_files import ConfigFiles
    from pulse_supervisor.qt.window.table.worker_actions import WorkerActions


def build_menus(
    window: QMainWindow,
    a: WorkerActions,
    config_files: ConfigFiles,
    docks: Sequence[QDockWidget],
    reset_layout: Callable[[], None],
    period_menu: QMenu,
) -> None:
    """Fill ``window``'s menu bar: File, Workers, View, Help."""
    file_menu = window.menuBar().addMenu("&File")
    config_files.populate(file_menu)
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
    for dock in docks:
        view_menu.addAction(dock.toggleViewAction())
    reset = view_menu.addAction("&Reset layout", reset_layout)
    reset.setToolTip("Docks shown, side by side under the table, at their first-launch sizes")
    view_menu.addSeparator()
    view_menu.addMenu(period_menu)
    help_menu = window.menuBar().addMenu("&Help")
    help_menu.addAction("&About Pulse", config_files.show_about)


def build_toolbar(window: QMainWindow, a: WorkerActions) -> QToolBar:
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
