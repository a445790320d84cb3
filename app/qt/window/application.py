"""Builds the QApplication and the window around a supervisor, and runs the event loop."""

from __future__ import annotations

import signal
import socket
import sys
from typing import TYPE_CHECKING

from qtpy.QtCore import QSocketNotifier
from qtpy.QtWidgets import QApplication

from pulse_supervisor.core.control.wire import ControlError
from pulse_supervisor.qt.control_bridge import ControlBridge
from pulse_supervisor.qt.qt_supervisor import QtSupervisor
from pulse_supervisor.qt.window.main_window import MainWindow

if TYPE_CHECKING:
    from pulse_supervisor.core.spec import PulseConfig

NOTICE_MS = 60_000  # a start-up notice stays long enough to be read; the log keeps it


def run_window(config: PulseConfig, notice: str | None = None) -> int:
    """Open the window on ``config``, autostart its workers, and run until it closes.

    A ``notice`` (why this config and not the one asked for) is shown in the status bar and the log.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Pulse")
    app.setOrganizationName("Pulse")
    # The window imports no worker's module; its GUI thread and consumer share a CPU (floods).
    supervisor = QtSupervisor(config, autostart=False, objects=False, share_cpu=True)
    window = MainWindow(supervisor, config_path=config.source)
    window.show()
    if notice:
        show_start_notice(window, notice)
    wakeup = _SignalWakeup(window)  # before any worker starts: a signal then is handled as well
    control = _serve_control(supervisor, window)
    supervisor.start_autostart()
    try:
        code = app.exec()
    finally:
        if control is not None:
            control.close()
        wakeup.close()
        supervisor.close()  # the window shut it down already; this joins its thread
    return code


def _serve_control(supervisor: QtSupervisor, window: MainWindow) -> ControlBridge | None:
    """Serve ``pulse ctl`` for the window; without a safe socket directory, say so in the log and go on."""
    files = window.config_files
    try:
        return ControlBridge(
            supervisor, config_path=lambda: files.path, on_reloaded=files.apply_loaded, kind="window", parent=window
        )
    except (ControlError, OSError) as exc:
        window.show_notice(f"pulse ctl cannot reach this window: {exc}")
        return None


def show_start_notice(window: MainWindow, notice: str) -> None:
    """Show ``notice``'s first line in the status bar for a minute, and all of it in the log."""
    window.show_notice(notice.split("\n", 1)[0], NOTICE_MS)
    window.log_dock.append_line("pulse", "WARNING", notice)


class _SignalWakeup:
    """SIGINT, SIGTERM and SIGHUP (its terminal gone) close the window as its close button does, with no polling.

    Python runs signal handlers only when it gets control, and Qt's loop runs in C: the usual
    fix is a QTimer every 250 ms, four wake-ups a second for nothing. Here the C-level handler
    writes to a socket (``signal.set_wakeup_fd``) that a QSocketNotifier watches; its slot gives
    the interpreter the moment it needs to run the Python handler, which closes the window.
    """

    def __init__(self, window: MainWindow) -> None:
        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno())
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: window.close())
        # PyQt5 takes the fd as a qintptr (an int); PyQt5-stubs type it sip.voidptr.
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read)  # type: ignore[arg-type]
        self._notifier.activated.connect(self._on_activated)

    def _on_activated(self) -> None:
        try:
            while self._read.recv(64):  # the handlers themselves have run by now
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Stop watching; restore the previous wake-up fd."""
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        self._read.close()
        self._write.close()
