"""The tutorial's program made real: a producer process, a QThread, the newest item in a status bar.

Run it from the repository: ``.venv/bin/python examples/tutorial_window.py``. The tutorial's
version spins a core on ``q.empty()``, shares one queue, cannot stop its thread and leaves the
producer running if the window dies; here `QtSupervisor` does the process, the channel and the
thread, and closing the window stops the producer gracefully.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Iterator

from qtpy.QtGui import QCloseEvent
from qtpy.QtWidgets import QApplication, QMainWindow

from pulse_supervisor.qt.qt_supervisor import QtSupervisor


def producer(interval: float = 1.0) -> Iterator[str]:
    """The tutorial's producer: the current time, once a second (each yielded value is one item)."""
    while True:
        yield str(datetime.datetime.now())
        time.sleep(interval)  # a Stop interrupts this sleep


class MyWindow(QMainWindow):
    """The tutorial's window: the producer's newest item in the status bar."""

    def __init__(self) -> None:
        super().__init__()
        self.setGeometry(200, 200, 300, 200)
        self.workers = QtSupervisor(parent=self)
        self.workers.newest.connect(lambda _worker, item: self.statusBar().showMessage(item))
        self.workers.add("producer", producer)  # its own process, started now

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.workers.close()  # stops the producer (SIGTERM, then SIGKILL after 5 s) and the thread
        super().closeEvent(event)


if __name__ == "__main__":  # guarded: the worker process imports this file to find `producer`
    app = QApplication(sys.argv)
    window = MyWindow()
    window.show()
    sys.exit(app.exec())
