"""The main window's menu bar and toolbar, built from its actions, docks and table clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt

if TYPE_CHECKING:
    from app.qt.window.main_window import MainWindow


def build_menus_and_toolbar(window: MainWindow) -> None:
    """Fill ``window``'s menu bar (File, Workers, View, Help) and its toolbar; keep the toolbar's buttons."""
    a = window.actions
    file_menu = window.menuBar().addMenu("&File")
    window.config_menu.populate(file_menu)
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
    help_menu.addAction("&About Pulse", window.config_menu.show_about)
    window.toolbar = window.addToolBar("Workers")
    window.toolbar.setObjectName("workers_toolbar")
    window.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for action in (a.start, a.stop, a.kill, a.restart, a.inspect):
        window.toolbar.addAction(action)
    window.toolbar.addSeparator()
    for action in (a.start_all, a.stop_all, a.add, a.remove):
        window.toolbar.addAction(action)
    # The toolbar's buttons, for tests and for anyone who thinks in buttons.
    window.start_button = window.toolbar.widgetForAction(a.start)
    window.stop_button = window.toolbar.widgetForAction(a.stop)
    window.kill_button = window.toolbar.widgetForAction(a.kill)
    window.restart_button = window.toolbar.widgetForAction(a.restart)
    window.inspect_button = window.toolbar.widgetForAction(a.inspect)
