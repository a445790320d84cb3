"""The inspector: a non-modal dialog per worker, refreshed live, with psutil facts and counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from qtpy.QtCore import Qt, QTimer
from qtpy.QtGui import QFontDatabase
from qtpy.QtWidgets import QDialog, QFormLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from pulse_supervisor.core.processes.inspection import describe_exit, format_bytes, format_duration
from pulse_supervisor.core.worker.worker_env import describe_setup
from pulse_supervisor.qt.window.dialogs.message_sender import MessageSender
from pulse_supervisor.qt.window.table.worker_row import elide

if TYPE_CHECKING:
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor
    from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel

REFRESH_MS = 1000
FIELDS = (
    "Worker", "Target", "State", "Node", "PID", "PPID", "Process status", "Last exit", "Uptime", "CPU %", "RSS",
    "Threads", "Children", "Open files", "Connections", "Command line", "Items sent", "Items received",
    "Items lost", "Rate", "Lag", "Last item", "Messages", "Log file", "Instance", "Environment", "Directory",
    "Limits",
)  # fmt: skip


def describe_child(pid: int, name: str, cmdline: str) -> str:
    """Return ``"4242 sleep: sleep 600"``: a child's pid, name and command line (bounded)."""
    if not name:
        return f"{pid} (ended, or not readable)"
    return f"{pid} {name}: {elide(cmdline, 120)}" if cmdline else f"{pid} {name}"


class InspectDialog(QDialog):
    """Everything known about one worker; open it with `show_for` (one dialog per worker)."""

    _open: ClassVar[dict[str, InspectDialog]] = {}

    def __init__(self, name: str, supervisor: QtSupervisor, model: WorkerTableModel, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.name = name
        self._supervisor = supervisor
        self._model = model
        self.setWindowTitle(f"Inspect — {name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setModal(False)
        self.resize(680, 820)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.labels: dict[str, QLabel] = {}
        for field in FIELDS:
            label = QLabel("-")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.labels[field] = label
            form.addRow(f"{field}:", label)
        self.message_sender = MessageSender(name, supervisor)
        form.addRow("Send:", self.message_sender)
        layout.addLayout(form)
        self.traceback_view = QPlainTextEdit()
        self.traceback_view.setReadOnly(True)
        self.traceback_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.traceback_view.setPlaceholderText("No traceback and no stack yet. Press Show stack.")
        layout.addWidget(QLabel("Last traceback / current stack:"))
        layout.addWidget(self.traceback_view, 1)
        self.stack_button = QPushButton("Show stack")
        self.stack_button.clicked.connect(self._on_stack_clicked)
        layout.addWidget(self.stack_button)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    @classmethod
    def show_for(cls, name: str, supervisor: QtSupervisor, model: WorkerTableModel, parent: QWidget) -> InspectDialog:
        """Show (or raise) the inspector of ``name`` and return it."""
        dialog = cls._open.get(name)
        if dialog is None:
            dialog = cls(name, supervisor, model, parent)
            cls._open[name] = dialog
            dialog.destroyed.connect(lambda *_: cls._open.pop(name, None))
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_stack(self, text: str) -> None:
        """Show a stack dump the worker sent."""
        self.traceback_view.setPlainText(text)

    def refresh(self) -> None:
        """Re-read psutil and the counters."""
        if self.name not in self._supervisor.names():
            self.labels["State"].setText("removed")
            return
        status = self._supervisor.status(self.name)
        row = self._model.get(self.name)
        info = self._supervisor.inspect(self.name)
        values = {
            "Worker": self.name,
            "Target": f"{status.spec.target}  {status.spec.resolved().kwargs or ''}",
            "State": status.state.value
            + (
                f": gave up, {status.reason}" if status.fatal_reason else f": {status.reason}" if status.reason else ""
            ),  # fmt: skip
            "Node": f"{info.node} (Ray actor {info.agent or '-'})" if info.node else "this machine",
            "PID": str(info.pid or "-"),
            "PPID": str(info.ppid or "-"),
            "Process status": info.status or info.error or "not running",
            "Last exit": describe_exit(*status.last_exit) if status.last_exit else "-",
            "Uptime": format_duration(info.uptime),
            "CPU %": "-" if info.cpu_percent is None else f"{info.cpu_percent:.1f}",
            "RSS": format_bytes(info.rss),
            "Threads": str(info.num_threads or "-"),
            "Children": "\n".join(describe_child(*c) for c in info.children) or "none",
            "Open files": "\n".join(info.open_files) or "none",
            "Connections": "\n".join(info.connections) or "none",
            "Command line": elide(info.cmdline, 160) if info.cmdline else "-",
            "Items sent": f"{status.sent:,}",
            "Items received": f"{status.received:,}",
            "Items lost": f"{status.lost:,}",
            "Rate": f"{row.rate:,.1f}/s" if row and row.pid is not None else "-",
            "Lag": f"{row.lag_ms:.1f} ms" if row and row.lag_ms is not None else "-",
            "Last item": elide(row.last_item, 200) if row and row.has_item else "-",
            "Messages": self._messages(),
            "Log file": self._supervisor.log_path(self.name),
            "Instance": "-",
            "Environment": "Pulse's",
            "Directory": "Pulse's",
            "Limits": "none",
            **describe_setup(status.spec),
        }
        for key, value in values.items():
            self.labels[key].setText(value)
        self.labels["Command line"].setToolTip(info.cmdline)
        self.stack_button.setEnabled(status.pid is not None)
        self.message_sender.set_running(status.state.is_alive)
        if status.last_traceback and not self.traceback_view.toPlainText():
            self.traceback_view.setPlainText(status.last_traceback)

    def _messages(self) -> str:
        """Return the messages sent to the worker, and those its full inbox dropped."""
        sent, dropped = self._supervisor.message_counts(self.name)
        return f"{sent:,} sent" + (f", {dropped:,} dropped (inbox full)" if dropped else "")

    def _on_stack_clicked(self) -> None:
        self.traceback_view.setPlainText("Asking the worker for its stack…")
        self._supervisor.request_stack(self.name)

    def closeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        self._timer.stop()
        super().closeEvent(event)
