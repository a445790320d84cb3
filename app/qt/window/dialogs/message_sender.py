"""The inspector's message box: type a Python literal or JSON, and Send puts it in the worker's inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from pulse_supervisor.core.errors import MessageError, PulseError
from pulse_supervisor.core.wire.messages import parse_value
from pulse_supervisor.qt.window.table.worker_row import elide

if TYPE_CHECKING:
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor


class MessageSender(QWidget):
    """A line to type a value in, a Send button, and a line that says what became of it."""

    def __init__(self, name: str, supervisor: QtSupervisor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._supervisor = supervisor
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("a Python literal or JSON: 42, 'go', {\"rate\": 2}")
        self.edit.setToolTip("Sent to the worker's ctx.receive(), or as the value of its generator's yield")
        self.edit.returnPressed.connect(self.send)
        self.button = QPushButton("Send")
        self.button.clicked.connect(self.send)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.result)

    def set_running(self, running: bool) -> None:
        """Enable sending while the worker runs (a message to a stopped one would be dropped)."""
        self.button.setEnabled(running)
        self.edit.setEnabled(running)

    def send(self) -> None:
        """Parse the text and send the value; say what was sent, or why not."""
        text = self.edit.text()
        try:
            value = parse_value(text)
            self._supervisor.send(self._name, value)
        except (MessageError, PulseError) as exc:
            self.result.setText(f"Not sent: {exc}")
            return
        self.result.setText(f"Sent {elide(repr(value), 120)}")
        self.edit.clear()
