"""A blocking call run off the GUI thread, its result delivered to a slot in the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal

from app.qt import gui_gc


class BackgroundCall(QObject):
    """Runs ``fn()`` in a thread of its own; `done` carries (result, exception) to the GUI thread.

    For what may block for seconds and must not freeze the window: checking a config's targets
    imports them in a subprocess (``target_probe``), bounded by its timeout. Give it a parent that
    outlives the call (the window); a result that arrives after the parent is gone is dropped.
    """

    done = Signal(object, object)  # emitted with (result, None) or (None, the exception)

    def __init__(
        self, fn: Callable[[], Any], on_done: Callable[[Any, BaseException | None], None], parent: QObject
    ) -> None:
        super().__init__(parent)
        # Through a method of this object, which lives in the GUI thread: a plain callable
        # connected to a signal emitted in another thread runs in that thread under PySide6
        # (PyQt queues it to the sender's thread), and a slot touching widgets there crashes.
        self._on_done = on_done
        self.done.connect(self._deliver)
        # The thread allocates (a subprocess, its output): cycles it would collect there may hold Qt
        # objects, destroyed off their thread. While it runs, cycles are collected in the GUI
        # thread only, as while a consumer runs (gui_gc).
        self._collector = gui_gc.collector()
        self._collector.hold()
        self._thread = threading.Thread(target=self._run, args=(fn,), name="pulse-background", daemon=True)
        self._thread.start()

    def _deliver(self, result: Any, error: BaseException | None) -> None:
        try:
            self._on_done(result, error)
        finally:
            self.deleteLater()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            result, error = fn(), None
        except Exception as exc:  # delivered to the slot, which decides what to show
            result, error = None, exc
        try:
            self.done.emit(result, error)
        except RuntimeError:  # the parent, and so this object, is gone: nobody is waiting
            pass
        finally:
            self._collector.release_later.emit()  # released in the GUI thread, gone parent or not
