"""The main window: worker table, actions, docks, and the newest item in the status bar."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from qtpy.QtCore import QByteArray, QItemSelectionModel, QPoint, QSettings
from qtpy.QtGui import QCloseEvent
from qtpy.QtWidgets import QLabel, QMainWindow, QMenu, QTableView, QWidget

from pulse_supervisor.core.supervision.events import (
    DescriptorsLow,
    Event,
    ItemBatch,
    StackDump,
    StateChanged,
    WorkersChanged,
)
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.dialogs.inspect_dialog import InspectDialog
from pulse_supervisor.qt.window.docks import make_log_dock, make_plot_dock, place_docks
from pulse_supervisor.qt.window.menus import window_commands
from pulse_supervisor.qt.window.menus.config_files import ConfigFiles
from pulse_supervisor.qt.window.menus.window_menus import build_menus, build_toolbar
from pulse_supervisor.qt.window.table.table_clock import PERIOD_CHOICES, REFRESH_MS, TableClock
from pulse_supervisor.qt.window.table.worker_actions import WorkerActions
from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel
from pulse_supervisor.qt.window.table.worker_row import elide
from pulse_supervisor.qt.window.table.worker_table import make_worker_table, set_default_column_widths, visible_rows

if TYPE_CHECKING:
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor


class MainWindow(QMainWindow):
    """Shows the supervisor's workers and forwards the user's intent to it.

    Built on the library face alone: everything it knows comes from the `QtSupervisor`'s
    ``events`` signal and its statuses, and every command goes through it.

    Parameters
    ----------
    supervisor : QtSupervisor
        The workers; closing the window shuts it down (every worker stopped) before it closes.
    settings : QSettings, optional
        Where window state is remembered (tests pass a temporary file).
    config_path : str, optional
        The config file the workers came from (for Reload and Save).
    """

    def __init__(
        self,
        supervisor: QtSupervisor,
        settings: QSettings | None = None,
        config_path: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.supervisor = supervisor
        self.settings = settings if settings is not None else QSettings()
        self.setWindowTitle("Pulse")
        self.resize(1280, 820)
        self.model = WorkerTableModel(supervisor.statuses, self)
        self._selection_cache: tuple[str, ...] | None = None
        self.table = self._build_table()
        self.setCentralWidget(self.table)
        self.worker_actions = WorkerActions(self)
        self.log_dock = make_log_dock(self)
        self.log_dock.set_workers(supervisor.names())
        self.plot_dock = make_plot_dock(self, self.log_dock)
        self.config_files = ConfigFiles(self, supervisor, self.settings, self.show_notice, config_path)
        self.counts_label = QLabel()
        self.statusBar().addPermanentWidget(self.counts_label)
        self.clock = TableClock(self.model, self.counts_label, self)
        self.clock.remote_facts = supervisor.remote_facts
        self.clock.overloaded.connect(self._on_overloaded)
        docks = (self.log_dock, self.plot_dock)
        build_menus(
            self, self.worker_actions, self.config_files, docks, self.reset_layout, self.clock.period_menu(self)
        )
        self.toolbar = build_toolbar(self, self.worker_actions)
        # The toolbar's buttons, for tests and for anyone who thinks in buttons.
        a = self.worker_actions
        self.start_button = self.toolbar.widgetForAction(a.start)
        self.stop_button = self.toolbar.widgetForAction(a.stop)
        self.kill_button = self.toolbar.widgetForAction(a.kill)
        self.restart_button = self.toolbar.widgetForAction(a.restart)
        self.inspect_button = self.toolbar.widgetForAction(a.inspect)
        self._connect_actions()
        self.statusBar().showMessage("Waiting for the first item…")
        self._newest: dict[str, tuple[object, int]] = {}  # worker -> its newest item, its number
        self._newest_any: str | None = None
        self._notice_until = 0.0  # monotonic time a notice (show_notice) stops covering the items
        self._closing = False
        self._restore_settings()
        supervisor.events.connect(self._on_events_received)
        supervisor.errored.connect(self._on_consumer_errored)
        supervisor.finished.connect(self._on_supervisor_finished)
        self._on_selection_changed()
        # Everything built so far (Qt wrappers, pyqtgraph, modules) lives as long as the window:
        # out of the collector's way, a full collection takes ~1 ms instead of ~45 ms (64 workers),
        # and it runs in whichever thread allocates, holding the GIL the other thread needs.
        gc.freeze()

    # --- building ---------------------------------------------------------------------------

    def _build_table(self) -> QTableView:
        table = make_worker_table(self.model)
        self.model.visible_rows = lambda: visible_rows(table)
        # A group's row opens or closes; a worker's opens its inspector.
        table.doubleClicked.connect(lambda index: self.model.toggle_group(index.row()) or self.inspect_selected())
        table.customContextMenuRequested.connect(self._on_context_menu_requested)
        # Connected before the selection slot, which reads the names again. Rows also move under a
        # selection when the model sorts or resets: forget the cached names then too.
        for signal in (table.selectionModel().selectionChanged, self.model.layoutChanged, self.model.modelReset):
            signal.connect(self._forget_selection)
        table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection_changed())
        return table

    def _connect_actions(self) -> None:
        a, sup = self.worker_actions, self.supervisor
        a.start.triggered.connect(lambda: self._for_selected("start", sup.start))
        a.stop.triggered.connect(lambda: self._for_selected("stop", sup.stop))
        a.kill.triggered.connect(lambda: self._for_selected("kill", sup.kill))
        a.restart.triggered.connect(lambda: self._for_selected("restart", sup.restart))
        a.inspect.triggered.connect(self.inspect_selected)
        a.reset.triggered.connect(lambda: window_commands.reset_counters(self.selected_names(), self.model, sup))
        a.remove.triggered.connect(
            lambda: window_commands.remove_selected(self.selected_names(), self.model, sup, self.confirm)
        )
        a.start_all.triggered.connect(self._start_all)
        a.stop_all.triggered.connect(sup.stop_all)
        a.add.triggered.connect(self.config_files.add_worker)
        a.clear_log.triggered.connect(lambda: window_commands.clear_log(self.log_dock, self.confirm))
        self.log_dock.clear_button.clicked.disconnect()  # the dock's own Clear asks first too
        self.log_dock.clear_button.clicked.connect(a.clear_log.trigger)
        self.log_dock.saved.connect(self.show_notice)

    # --- selection and user intent ------------------------------------------------------------

    def selected_names(self) -> list[str]:
        """Return the selected workers' names, in table order (a group's row: each of its instances)."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return list(dict.fromkeys(n for r in rows for n in self.model.names_at(r)))

    def _cached_selected_names(self) -> tuple[str, ...]:
        """`selected_names`, cached between selection changes (asked on every batch of items)."""
        if self._selection_cache is None:
            self._selection_cache = tuple(self.selected_names())
        return self._selection_cache

    def selected_name(self) -> str | None:
        """Return the first selected worker's name, if any."""
        names = self.selected_names()
        return names[0] if names else None

    def select(self, *names: str) -> None:
        """Select the rows of ``names`` (replacing the selection)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for name in names:
            source = self.model.index(self.model.row_of(name), 0)
            selection.select(source, flags)

    def inspect_selected(self) -> InspectDialog | None:
        """Open an inspector for each selected worker; return the first."""
        dialogs = [InspectDialog.show_for(n, self.supervisor, self.model, self) for n in self.selected_names()]
        return dialogs[0] if dialogs else None

    def reset_layout(self) -> None:
        """View > Reset layout: the docks and the table's columns as on a first launch."""
        place_docks(self, self.log_dock, self.plot_dock)
        set_default_column_widths(self.table)

    def confirm(self, title: str, text: str) -> bool:
        """Ask the user ``text``; return whether they said yes (a seam tests replace)."""
        return window_commands.confirm(self, title, text)

    def _for_selected(self, action: str, command: Callable[[str], None]) -> None:
        for name in self.selected_names():
            if WorkerActions.applies(action, self.model.row(name).state):
                command(name)

    def _start_all(self) -> None:
        for name in self.model.worker_names():
            if self.model.row(name).state in (State.STOPPED, State.EXITED, State.FATAL):
                self.supervisor.start(name)

    def _on_context_menu_requested(self, pos: QPoint) -> None:
        menu = QMenu(self)
        a = self.worker_actions
        for action in a.selection_actions():
            menu.addAction(action)
        menu.addSeparator()
        for action in (a.start_all, a.stop_all, a.add):
            menu.addAction(action)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _forget_selection(self, *_: object) -> None:
        self._selection_cache = None

    def _on_selection_changed(self) -> None:
        names = self.selected_names()
        self.worker_actions.update_for(self.model.row(n).state for n in names)
        self.plot_dock.set_selected(names)
        self._show_newest()

    # --- events from the consumer ---------------------------------------------------------

    def _on_events_received(self, events: list[Event]) -> None:
        self.model.apply_events(events)
        self.log_dock.append_events(events)
        self.plot_dock.append_events(events)
        selection_touched = actions_touched = False
        selected = self._cached_selected_names()
        newest: dict[str, object] = {}
        for ev in events:
            if isinstance(ev, ItemBatch) and ev.items:
                newest[ev.worker] = ev.items[-1]
                self._newest_any = ev.worker
            elif isinstance(ev, StateChanged) and ev.worker in selected:
                actions_touched = True  # same selection: only which actions apply changed
            elif isinstance(ev, StackDump):
                dialog = InspectDialog._open.get(ev.worker)
                if dialog is not None:
                    dialog.show_stack(ev.text)
            elif isinstance(ev, WorkersChanged):
                self.log_dock.set_workers(self.supervisor.names())
                selection_touched = True
            elif isinstance(ev, DescriptorsLow):  # starts may be refused: say why before they are
                self.show_notice(ev.message, 20_000 if ev.low else 5000)
                self.log_dock.append_line("pulse", "WARNING" if ev.low else "INFO", ev.message)
        for worker, item in newest.items():
            # Numbered as the Items column counts: every item since the worker was added (or reset).
            # Made into text only when shown: of a batch's workers, the status bar shows one.
            row = self.model.get(worker)
            self._newest[worker] = (item, 0 if row is None else row.received)
        if selection_touched:
            self._on_selection_changed()
        elif actions_touched:
            self.worker_actions.update_for(self.model.row(n).state for n in selected)
        self._show_newest()
        self.clock.batch_shown()

    def show_notice(self, text: str, msecs: int = 5000) -> None:
        """Show ``text`` in the status bar for ``msecs``, over the newest items meanwhile."""
        self._notice_until = time.monotonic() + msecs / 1000
        self.statusBar().showMessage(text, msecs)

    def _on_overloaded(self, advice: str) -> None:
        self.show_notice(advice, 20_000)  # the freezes just seen have a cause, and a remedy
        self.log_dock.append_line("pulse", "WARNING", advice)

    def _show_newest(self) -> None:
        """Status bar: the newest item of the selected worker, else of any worker."""
        if self._closing or time.monotonic() < self._notice_until:
            return
        selected = self._cached_selected_names()
        if selected and selected[0] not in self._newest:
            self.statusBar().showMessage(f"{selected[0]}: no items yet")  # not another worker's item
            return
        shown = selected[0] if selected else self._newest_any
        if shown is not None and shown in self._newest:
            item, count = self._newest[shown]
            self.statusBar().showMessage(f"{shown} #{count:,}: {elide(item)}")

    def _on_consumer_errored(self, exc: Exception) -> None:
        self.statusBar().showMessage(f"Internal error in the consumer thread: {exc!r}")
        self.log_dock.append_line("pulse", "ERROR", f"consumer thread failed: {exc!r}")

    def _on_supervisor_finished(self) -> None:
        if self._closing:
            self.close()

    # --- settings and closing -------------------------------------------------------------

    def _restore_settings(self) -> None:
        s = self.settings
        for key, restore in (
            ("geometry", self.restoreGeometry),
            ("window_state", self.restoreState),
            ("table_header", self.table.horizontalHeader().restoreState),
        ):
            value = s.value(key)
            if isinstance(value, QByteArray):
                restore(value)
        period = s.value("table_refresh_ms", REFRESH_MS, type=int)
        self.clock.set_period(period if period in dict(PERIOD_CHOICES) else REFRESH_MS)

    def save_settings(self) -> None:
        """Remember geometry, docks, column widths, the table's refresh and the config file."""
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window_state", self.saveState())
        s.setValue("table_header", self.table.horizontalHeader().saveState())
        s.setValue("table_refresh_ms", self.clock.period_ms)
        if self.config_files.path:
            s.setValue("last_config", self.config_files.path)
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop every worker, let the supervisor finish, then close (never blocking the GUI)."""
        if not self.supervisor.is_running:
            self.clock.stop()
            self.supervisor.close()
            event.accept()
            return
        event.ignore()
        if not self._closing:
            self.save_settings()
            self._closing = True
            self.statusBar().showMessage("Stopping workers…")
            for action in self.worker_actions.actions.values():
                action.setEnabled(False)
            self.supervisor.shutdown()
