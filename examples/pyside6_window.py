"""Pulse in a PySide6 window: a producer process's newest item in a label (PyQt6 works the same)."""

import sys

from PySide6.QtWidgets import QApplication, QLabel  # your binding, imported before Pulse

from pulse_supervisor import QtSupervisor


class Window(QLabel):
    def __init__(self) -> None:
        super().__init__("waiting for the first item…")
        self.workers = QtSupervisor(parent=self)  # processes, channels, a consumer thread, signals
        self.workers.newest.connect(lambda _worker, item: self.setText(f"clock: {item}"))
        self.workers.add("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 0.5})

    def closeEvent(self, event) -> None:  # noqa: N802
        self.workers.close()  # stops the worker gracefully, joins the thread
        super().closeEvent(event)


if __name__ == "__main__":
    app = QApplication(sys.argv)
    window = Window()
    window.show()
    sys.exit(app.exec())
