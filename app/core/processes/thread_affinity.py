"""The window's consumer thread and GUI thread on one CPU, and the CPUs back for what they start.

Why: the consumer and the GUI thread hand Python's GIL to each other hundreds of times a second
while a flood runs (every call from Qt into Python in the GUI thread needs it; the consumer asks
for it back 0.5 ms later). On two CPUs, each hand-off wakes the other thread on a CPU the workers
keep busy, where it waits for its turn: with 16 workers printing and yielding flat out on 2
cores, the GUI thread's 10 ms timer came 69-92 ms late. On one CPU a hand-off is a switch between
the two, and the same flood left stalls of 15-18 ms, with as many items through
(``bench/flood_stalls.py``, figure 17). The consumer alone on the GUI thread's CPU did not do it:
the GUI thread then moved away.

A thread's CPU mask is inherited by every thread and process it starts, so Pulse starts its own
inside `unpinned`, with the CPUs the process had: a worker, a forkserver, a probe never inherits
the pin. Threads and processes the app's GUI thread starts itself while it is pinned do; that is
why `QtSupervisor` shares a CPU only when asked (``share_cpu=True``, as the window does).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

# "0": the threads stay free to move between CPUs (the scheduler's choice, as before).
SHARE_ENV = "PULSE_SHARE_CPU"


def _own_cpus() -> frozenset[int]:
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no per-thread affinity here (macOS)
        return frozenset()


# The CPUs this process may use, as the thread that imported this module had them (the app's,
# before any pin): what `unpinned` gives the threads and processes Pulse starts.
PROCESS_CPUS = _own_cpus()

_lock = threading.Lock()
_shared: dict[int, tuple[int, frozenset[int]]] = {}  # GUI thread id -> (threads sharing its CPU, its CPUs before)


def cpu_of(tid: int) -> int | None:
    """Return the CPU the thread ``tid`` of this process last ran on (Linux), or None."""
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[36])  # field 39, "processor" (the fields after the name start at 3)
    except (OSError, IndexError, ValueError):
        return None


def share_cpu(gui_thread: int) -> int | None:
    """Keep the calling thread and the thread ``gui_thread`` on one CPU, the one it is on; return it.

    Undo with `end_share` from the same thread. None, and both left as they were, where the OS
    has no per-thread affinity, the threads may use one CPU only, or ``PULSE_SHARE_CPU=0``.
    """
    if len(PROCESS_CPUS) < 2 or os.environ.get(SHARE_ENV, "1").strip() == "0":
        return None
    with _lock:
        try:
            count, before = _shared.get(gui_thread, (0, frozenset()))
            if count:  # another consumer shares it already: the same CPU
                (cpu,) = os.sched_getaffinity(gui_thread)
            else:
                before = frozenset(os.sched_getaffinity(gui_thread))
                mine = os.sched_getaffinity(0)
                usable = before & mine
                if len(usable) < 2:
                    return None
                here = cpu_of(gui_thread)
                cpu = here if here in usable else min(usable)
                os.sched_setaffinity(gui_thread, {cpu})
            os.sched_setaffinity(0, {cpu})
        except (OSError, ValueError):  # a thread gone, a CPU taken offline: leave them free
            return None
        _shared[gui_thread] = (count + 1, before)
    return cpu


def end_share(gui_thread: int) -> None:
    """The calling thread stops sharing; the last one to stop gives ``gui_thread`` its CPUs back."""
    with _lock:
        count, before = _shared.pop(gui_thread, (0, frozenset()))
        if count > 1:
            _shared[gui_thread] = (count - 1, before)
            return
        with contextlib.suppress(OSError):  # gone already: nothing to give back
            if before:
                os.sched_setaffinity(gui_thread, before)


@contextlib.contextmanager
def unpinned() -> Iterator[None]:
    """Around starting a process or a thread: it gets `PROCESS_CPUS`, whatever the calling thread's pin."""
    now = _own_cpus()
    if not PROCESS_CPUS or now in (PROCESS_CPUS, frozenset()):
        yield
        return
    os.sched_setaffinity(0, PROCESS_CPUS)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # a CPU gone offline meanwhile: stay free
            os.sched_setaffinity(0, now)
