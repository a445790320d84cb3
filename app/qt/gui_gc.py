"""While a consumer thread runs: cycles are collected in the GUI thread only, and the GIL changes hands often.

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

Two things CPython does, or would, that this does too, so that a collection stays a few ms: the
heap as it stands when the first consumer starts (modules and classes: ~50 000 objects in a window)
is frozen (`gc.freeze`), so full collections go through what came later, not through it again
and again (CPython runs them only when the objects awaiting one are a quarter of the long-lived
ones; this collector cannot see that count); and a young generation far past its threshold is put
off (see `BUSY_FACTOR`).

The GIL: a thread that wants it waits the switch interval (5 ms by default) before the one that
holds it is asked to let go, and the GUI thread takes and gives it back for every call between
Qt and Python (each cell a view paints asks the model). While the consumer thread was busy, each
of those waited up to 5 ms: 16 workers printing and yielding flat out stalled the GUI thread
75-170 ms with 5 ms, 26 ms with 1 ms (probe runs). So the interval is `SWITCH_INTERVAL_S` while
anyone holds the collector.
"""

from __future__ import annotations

import gc
import sys
import time

from qtpy.QtCore import QObject, QTimer

IDLE_CHECK_MS = 1000
# A young generation this many times past its threshold is mostly what the consumer thread holds
# in the middle of a read: a print flood's lines from 16 workers, 5 000-80 000 objects alive for a
# moment, that a collection now would go through one by one (gen 0 took 17-40 ms in the GUI
# thread). Such a collection is put off to a later batch, when the count has fallen back, for at
# most `MAX_PUT_OFF_S`.
BUSY_FACTOR = 4
MAX_PUT_OFF_S = 1.0
SWITCH_INTERVAL_S = 0.0005


class GuiThreadCollector(QObject):
    """Collects cycles in the GUI thread; automatic collection is off while anyone holds it."""

    def __init__(self) -> None:
        super().__init__()
        self._holders = 0
        self._was_enabled = True
        self._was_interval = sys.getswitchinterval()
        self._last = time.monotonic()  # when the last collection ran
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
            gc.freeze()  # what exists now lives on: full collections need not go through it
            self._was_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._was_interval, SWITCH_INTERVAL_S))
            self._timer.start()
        self._holders += 1

    def release(self) -> None:
        """A consumer thread has ended (call in the GUI thread)."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            self._timer.stop()
            gc.unfreeze()  # into the oldest generation: collected again, if it ever is garbage
            sys.setswitchinterval(self._was_interval)
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
        now = time.monotonic()
        if counts[0] > BUSY_FACTOR * thresholds[0] and now - self._last < MAX_PUT_OFF_S and self._holders:
            return  # mostly another thread's objects of the moment: a later batch collects fewer
        self._last = now
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
