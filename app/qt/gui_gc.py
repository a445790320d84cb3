"""Python's cycle collector runs in the GUI thread only while a consumer thread runs.

CPython collects cycles in whichever thread happens to allocate past the threshold, and the
consumer thread, which unpickles every item, does nearly all the allocating: measured with a
flood worker and a GUI making ordinary garbage (widgets and timers kept in cycles by Python
attributes), 4 419 collections ran in the consumer thread and 48 in the GUI thread. A Qt object
collected there is destroyed off its thread while the GUI thread paints: the suite's rare
segmentation fault, reproduced 2 runs in 3 that way (the crashing thread: the consumer, inside
its channel read). So while any consumer runs, automatic collection is off and this collects,
by the same thresholds, in the GUI thread: after each batch of events the consumer delivers,
and after a second in which nothing arrived. (pyqtgraph's GarbageCollector does the same, for the
same reason.) Worker processes turn collection back on for themselves (`bootstrap.run`).
"""

from __future__ import annotations

import gc

from qtpy.QtCore import QObject, QTimer

IDLE_CHECK_MS = 1000


class GuiThreadCollector(QObject):
    """Collects cycles in the GUI thread; automatic collection is off while anyone holds it."""

    def __init__(self) -> None:
        super().__init__()
        self._holders = 0
        self._was_enabled = True
        self._timer = QTimer(self)
        self._timer.setInterval(IDLE_CHECK_MS)
        self._timer.timeout.connect(self.collect_if_due)

    @property
    def active(self) -> bool:
        """Whether automatic collection is off and collection happens here."""
        return self._holders > 0

    def hold(self) -> None:
        """A consumer thread starts (call in the GUI thread)."""
        if self._holders == 0:
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._timer.start()
        self._holders += 1

    def release(self) -> None:
        """A consumer thread has ended (call in the GUI thread)."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            self._timer.stop()
            if self._was_enabled:
                gc.enable()
            self.collect_if_due()

    def collect_if_due(self) -> None:
        """Collect the generations whose counts passed their thresholds, as CPython would.

        Each call puts the idle check a second off again: a window whose batches come every
        second had its own wake-up for this as well (idle window: 2 -> 1 wake-ups a second).
        """
        if self._holders:
            self._timer.start()
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if counts[0] <= thresholds[0]:
            return
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 2 if thresholds[2] and counts[2] > thresholds[2] else 1
        gc.collect(generation)


_collector: GuiThreadCollector | None = None


def collector() -> GuiThreadCollector:
    """Return the process's collector (made on first use, in the GUI thread)."""
    global _collector
    if _collector is None:
        _collector = GuiThreadCollector()
    return _collector
