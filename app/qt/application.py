"""Builds the QApplication and the window around a supervisor, and runs the event loop."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication

from app.core.supervisor import Supervisor
from app.qt.main_window import MainWindow

if TYPE_CHECKING:
    from app.core.spec import PulseConfig


def run_window(config: PulseConfig) -> int:
    """Open the window on ``config``, autostart its workers, and run until it closes."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Pulse")
    app.setOrganizationName("Pulse")
    supervisor = Supervisor(config)
    window = MainWindow(supervisor, config_path=config.source)
    window.show()
    supervisor.start_autostart()
    # Ctrl-C in the terminal closes the window the same way the close button does. The timer
    # lets the interpreter run Python signal handlers while Qt's loop is in C.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    signal.signal(signal.SIGTERM, lambda *_: window.close())
    ticker = QTimer(interval=250)
    ticker.timeout.connect(lambda: None)
    ticker.start()
    code = app.exec()
    window.consumer.wait()
    return code
