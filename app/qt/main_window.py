"""The main window: worker table, action buttons, log, and the newest item in the status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QCloseEvent
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.events import Event, ItemBatch, StackDump, StateChanged
from app.core.policy import State
from app.qt.consumer import Consumer
from app.qt.inspect_dialog import InspectDialog
from app.qt.log_view import LogView
from app.qt.worker_model import WorkerTableModel, elide

if TYPE_CHECKING:
    from app.core.supervisor import Supervisor

# Which action makes sense in which state: buttons are enabled from these.
CAN_START = {State.STOPPED, State.EXITED, State.FATAL, State.BACKOFF}
CAN_STOP = {State.STARTING, State.RUNNING, State.BACKOFF}
CAN_KILL = {State.STARTING, State.RUNNING, State.STOPPING}
CAN_RESTART = {State.STOPPED, State.EXITED, State.FATAL, State.BACKOFF, State.STARTING, State.RUNNING}
CLOCK_REFRESH_MS = 1000


class MainWindow(QMainWindow):
    """Shows the supervisor's workers and forwards the user's actions to it.

    Parameters
    ----------
    supervisor : Supervisor
        The core; the window owns its consumer thread and stops everything on close.
    """

    def __init__(self, supervisor: Supervisor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.supervisor = supervisor
        self.setWindowTitle("Pulse")
        self.resize(1100, 640)
        self.model = WorkerTableModel(supervisor.names, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _index: self.inspect_selected())

        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.kill_button = QPushButton("Kill")
        self.restart_button = QPushButton("Restart")
        self.inspect_button = QPushButton("Inspect")
        self.start_button.clicked.connect(lambda: self._act(self.supervisor.start))
        self.stop_button.clicked.connect(lambda: self._act(self.supervisor.stop))
        self.kill_button.clicked.connect(lambda: self._act(self.supervisor.kill))
        self.restart_button.clicked.connect(lambda: self._act(self.supervisor.restart))
        self.inspect_button.clicked.connect(self.inspect_selected)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.kill_button, self.restart_button, self.inspect_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.log_view = LogView()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel("Log"))
        layout.addWidget(self.log_view, 2)
        self.setCentralWidget(central)

        self.counts_label = QLabel()
        self.statusBar().addPermanentWidget(self.counts_label)
        self.statusBar().showMessage("Waiting for the first item…")
        self._newest: dict[str, str] = {}
        self._closing = False

        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self._clock = QTimer(self, interval=CLOCK_REFRESH_MS)
        self._clock.timeout.connect(self._on_clock_tick)
        self._clock.start()

        # Connect first, then start: nothing emitted before the slots exist is lost.
        self.consumer = Consumer(supervisor)
        self.consumer.events_received.connect(self._on_events_received)
        self.consumer.errored.connect(self._on_consumer_errored)
        self.consumer.finished.connect(self._on_consumer_finished)
        self.consumer.start()
        self._update_actions()
        self._update_counts()

    # --- user intent ----------------------------------------------------------------------

    def selected_name(self) -> str | None:
        """Return the selected worker's name, if a row is selected."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.name_at(rows[0].row()) if rows else None

    def select(self, name: str) -> None:
        """Select the row of worker ``name``."""
        self.table.selectRow(self.model.names().index(name))

    def inspect_selected(self) -> InspectDialog | None:
        """Open the inspector of the selected worker."""
        name = self.selected_name()
        if name is None:
            return None
        return InspectDialog.show_for(name, self.supervisor, self.model, self)

    def _act(self, action) -> None:  # type: ignore[no-untyped-def]
        name = self.selected_name()
        if name is not None:
            action(name)

    # --- slots ----------------------------------------------------------------------------

    def _on_events_received(self, events: list[Event]) -> None:
        self.model.apply_events(events)
        self.log_view.append_events(events)
        newest_any = None
        for ev in events:
            if isinstance(ev, ItemBatch) and ev.items:
                self._newest[ev.worker] = f"{ev.worker} #{ev.next_seq - 1}: {elide(ev.items[-1])}"
                newest_any = ev.worker
            elif isinstance(ev, StackDump):
                dialog = InspectDialog._open.get(ev.worker)
                if dialog is not None:
                    dialog.show_stack(ev.text)
            elif isinstance(ev, StateChanged) and ev.worker == self.selected_name():
                self._update_actions()
        selected = self.selected_name()
        shown = selected if selected in self._newest else newest_any
        if shown is not None and not self._closing:
            self.statusBar().showMessage(self._newest[shown])
        self._update_counts()

    def _on_consumer_errored(self, exc: Exception) -> None:
        self.statusBar().showMessage(f"Internal error in the consumer thread: {exc!r}")
        self.log_view.append_line("pulse", "ERROR", f"consumer thread failed: {exc!r}")

    def _on_consumer_finished(self) -> None:
        if self._closing:
            self.close()

    def _on_clock_tick(self) -> None:
        self.model.refresh_clock()
        self._update_counts()

    def _update_actions(self) -> None:
        name = self.selected_name()
        state = self.model.row(name).state if name is not None else None
        self.start_button.setEnabled(state in CAN_START)
        self.stop_button.setEnabled(state in CAN_STOP)
        self.kill_button.setEnabled(state in CAN_KILL)
        self.restart_button.setEnabled(state in CAN_RESTART)
        self.inspect_button.setEnabled(state is not None)

    def _update_counts(self) -> None:
        rows = [self.model.row(n) for n in self.model.names()]
        running = sum(r.state is State.RUNNING for r in rows)
        rate = sum(r.rate for r in rows)
        self.counts_label.setText(f"{running}/{len(rows)} running · {rate:,.0f} items/s")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop every worker, then let the consumer finish, then close (never block the GUI)."""
        if self.consumer.isFinished() or not self.consumer.isRunning():
            self._clock.stop()
            self.supervisor.close()
            event.accept()
            return
        event.ignore()
        if not self._closing:
            self._closing = True
            self.statusBar().showMessage("Stopping workers…")
            for b in (self.start_button, self.stop_button, self.kill_button, self.restart_button):
                b.setEnabled(False)
            self.consumer.request_shutdown()
