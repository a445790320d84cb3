"""Qt-side helpers for trials: event-driven waits, an event tap, timer lateness, paint timing.

Imported only inside trial functions (it loads PyQt5), never at a bench script's top level:
worker processes re-import the main script and must not load Qt.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PyQt5.QtWidgets import QApplication, QWidget

from bench._common import percentile
from pulse_supervisor.core.supervision.events import ItemBatch

_app: list[QApplication] = []  # a reference, so the application lives as long as the trial


def application() -> QApplication:
    """Return the QApplication, creating it (offscreen unless QT_QPA_PLATFORM says otherwise)."""
    if not _app:
        _app.append(QApplication.instance() or QApplication(["pulse-bench"]))
    return _app[0]


class Waiter:
    """Runs the event loop until a predicate holds or a timeout passes; `poke` re-checks it.

    Waits are event-driven: whatever may make the predicate true (a slot, a timer) calls
    `poke`, so no polling timer competes with what is being measured.
    """

    def __init__(self) -> None:
        self._loop: QEventLoop | None = None
        self._pred: Callable[[], bool] | None = None

    def wait(self, pred: Callable[[], bool], timeout: float) -> bool:
        """Run the event loop until ``pred()`` or ``timeout`` seconds; return ``pred()``."""
        if pred():
            return True
        loop = QEventLoop()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        timer.start(max(0, int(timeout * 1000)))
        self._loop, self._pred = loop, pred
        try:
            loop.exec_()
        finally:
            timer.stop()
            self._loop = self._pred = None
        return pred()

    def wait_polling(self, pred: Callable[[], bool], timeout: float, every: float = 0.005) -> bool:
        """`wait`, checking ``pred`` on a timer: for set-up, where nothing pokes (not while measuring)."""
        timer = QTimer()
        timer.timeout.connect(self.poke)
        timer.start(max(1, int(every * 1000)))
        try:
            return self.wait(pred, timeout)
        finally:
            timer.stop()

    def sleep(self, seconds: float) -> None:
        """Run the event loop for ``seconds`` (the GUI keeps working)."""
        self.wait(lambda: False, seconds)

    def poke(self, *_: Any) -> None:
        """Quit the running wait if its predicate now holds."""
        if self._pred is not None and self._loop is not None and self._pred():
            self._loop.quit()


class EventTap(QObject):
    """A slot on ``QtSupervisor.events``, connected after the window's own.

    Each handler gets ``(events, now_ns)``; ``now_ns`` is taken when the slot runs, i.e. after
    the window has shown the same events. The waiter is poked after the handlers.
    """

    def __init__(self, supervisor: Any, waiter: Waiter, *handlers: Callable[[list[Any], int], None]) -> None:
        super().__init__(supervisor)  # lives as long as the supervisor, kept or not
        self.handlers = list(handlers)
        self.waiter = waiter
        self.emissions = 0
        supervisor.events.connect(self._on_events_received)

    def _on_events_received(self, events: list[Any]) -> None:
        now = time.monotonic_ns()
        self.emissions += 1
        for handler in self.handlers:
            handler(events, now)
        self.waiter.poke()


class ItemCount:
    """An EventTap handler counting items (``count``) and the workers they came from (``seen``)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.count = 0

    def __call__(self, events: list[Any], now: int) -> None:
        for ev in events:
            if isinstance(ev, ItemBatch):
                self.seen.add(ev.worker)
                self.count += len(ev.items)


class LatenessProbe(QObject):
    """A repeating precise QTimer in the GUI thread; records how late each tick came (ms).

    Lateness of a tick = time since the previous tick minus the interval: the time the GUI
    thread was busy elsewhere when it should have run this timer.
    """

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.late_ms: list[float] = []
        self._last: int | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timeout)

    def start(self) -> None:
        """Forget earlier ticks and start ticking."""
        self.late_ms, self._last = [], None
        self._timer.start()

    def stop(self) -> dict[str, float]:
        """Stop; return ``{"late_max", "late_p99", "ticks"}`` in ms."""
        self._timer.stop()
        xs = self.late_ms
        return {"late_max": max(xs) if xs else None, "late_p99": percentile(xs, 99) if xs else None, "ticks": len(xs)}

    def _on_timeout(self) -> None:
        now = time.monotonic_ns()
        if self._last is not None:
            self.late_ms.append(max(0.0, (now - self._last) / 1e6 - self.interval_ms))
        self._last = now


class PaintProbe(QObject):
    """Times the first paint of ``widget`` after `expect` (an item's creation, monotonic ns)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.delays_ms: list[float] = []
        self._pending: int | None = None
        self._shown: Callable[[], bool] | None = None
        widget.installEventFilter(self)

    def expect(self, created_ns: int, shown: Callable[[], bool] | None = None) -> None:
        """Time the next paint from ``created_ns``; with ``shown``, the next paint once it holds.

        ``shown`` lets a probe be armed before the change it waits for (a paint of the old
        state does not count), so a repaint that comes quickly is never missed.
        """
        self._pending, self._shown = created_ns, shown

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint and self._pending is not None:
            if self._shown is None or self._shown():
                self.delays_ms.append((time.monotonic_ns() - self._pending) / 1e6)
                self._pending = self._shown = None
        return False


def pulse_window(config: Any, *, show: bool = True) -> Any:
    """Return a Pulse MainWindow on a new QtSupervisor for ``config``, shown like the app shows it.

    Its settings file and the workers' log files go to a temporary directory (removed at exit),
    so a trial neither reads nor writes the user's own.
    """
    from PyQt5.QtCore import QSettings

    from pulse_supervisor.qt.qt_supervisor import QtSupervisor
    from pulse_supervisor.qt.window.main_window import MainWindow

    tmp = tempfile.mkdtemp(prefix="pulse-bench-")
    atexit.register(shutil.rmtree, tmp, True)
    settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
    supervisor = QtSupervisor(
        config, autostart=False, objects=False, log_dir=os.path.join(tmp, "logs"), share_cpu=True
    )  # as the app makes it (application.run_window)
    window = MainWindow(supervisor, settings=settings)
    if show:
        window.show()
    return window


def close_pulse_window(window: Any, waiter: Waiter, timeout: float = 30.0) -> bool:
    """Close a Pulse MainWindow as a user would; return whether it stopped gracefully in time.

    The window stops every worker, the supervisor finishes, then the window closes. Past
    ``timeout`` the supervisor's close kills the rest.
    """
    sup = window.supervisor
    sup.finished.connect(waiter.poke)
    window.close()
    graceful = waiter.wait(lambda: not sup.is_running and not window.isVisible(), timeout)
    sup.close(timeout=0 if not graceful else None)  # joins the thread; kills whatever still runs
    window.deleteLater()
    QApplication.processEvents()
    return graceful


def tutorial_window(q: Any, on_item: Callable[[str], None] | None = None) -> Any:
    """Return the tutorial's ``MyWindow`` on ``q``, counting items its slot shows.

    ``on_item(data)`` runs after the original slot has shown ``data``.
    """
    from PyQt5.QtCore import pyqtSlot

    from bench.tutorial_baseline import gui_classes

    class RecordingWindow(gui_classes()[1]):  # type: ignore[misc]
        received = 0

        @pyqtSlot(str)
        def print_data(self, data: str) -> None:
            super().print_data(data)
            self.received += 1
            if on_item is not None:
                on_item(data)

    return RecordingWindow(q)
