"""A blocking call run off the GUI thread, its result delivered to a slot in the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from qtpy.QtCore import QObject, QTimer, Signal

from pulse_supervisor.core.processes import thread_affinity
from pulse_supervisor.qt import gui_gc
from pulse_supervisor.qt.binding import is_deleted

# Every call until its thread has ended and its result was delivered (GUI thread only). A call
# has no Qt parent: a parent deleted while the thread emits `done` would free the sender under
# the emit (a loaded suite run crashed in the GUI thread entering a callback of a closed dialog
# while such a call was in flight), so nothing but `_deliver` ends a call's life.
_running: set[BackgroundCall] = set()


class BackgroundCall(QObject):
    """Runs ``fn()`` in a thread of its own; ``on_done(result, error)`` runs in the GUI thread.

    For what may block for seconds and must not freeze the window: checking a config's targets
    imports them in a subprocess (``target_probe``), bounded by its timeout. ``owner`` is the
    widget that asked (a dialog, the window): once it is deleted, the result is dropped.

    Signals
    -------
    done(object, object)
        Emitted from the thread with (result, None) or (None, the exception).
    """

    done = Signal(object, object)

    def __init__(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any, BaseException | None], None],
        owner: QObject | None = None,
    ) -> None:
        super().__init__()
        self._on_done: Callable[[Any, BaseException | None], None] | None = on_done
        self._owner = owner
        # Through a method of this object, which lives in the GUI thread: a plain callable
        # connected to a signal emitted in another thread runs in that thread under PySide6
        # (PyQt queues it to the sender's thread), and a callback touching widgets there crashes.
        self.done.connect(self._deliver)
        _running.add(self)
        # The thread allocates (a subprocess, its output): cycles it would collect there may hold Qt
        # objects, destroyed off their thread. While it runs, cycles are collected in the GUI
        # thread only, as while a consumer runs (gui_gc).
        self._collector = gui_gc.collector()
        self._collector.hold()
        self._thread = threading.Thread(target=self._run, args=(fn,), name="pulse-background", daemon=True)
        with thread_affinity.unpinned():  # not on the CPU a window's GUI thread keeps (share_cpu)
            self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            result, error = fn(), None
        except Exception as exc:  # delivered to the callback, which decides what to show
            result, error = None, exc
        self.done.emit(result, error)  # the thread's last use of this object

    def _deliver(self, result: Any, error: BaseException | None) -> None:
        # The emit was the thread's last step: once joined, it holds no reference to this object,
        # so the last one is dropped here, in the GUI thread, and the C++ object is deleted here.
        self._thread.join()
        self._collector.release()
        on_done, owner, self._on_done, self._owner = self._on_done, self._owner, None, None
        try:
            if on_done is not None and (owner is None or not is_deleted(owner)):
                on_done(result, error)
        finally:
            QTimer.singleShot(0, partial(_running.discard, self))  # not inside this object's own slot
