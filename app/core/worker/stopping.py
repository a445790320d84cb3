"""A graceful stop inside a worker: the SIGTERM handler, and the nudges that deliver it where it may land."""

from __future__ import annotations

import asyncio
import opcode
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pulse_supervisor.core.worker import stop_points
from pulse_supervisor.core.worker.stop_points import (
    OWN_TASK,
    blocked_in_a_wait,
    files_until_own,
    interruptible,
    task_at,
)

if TYPE_CHECKING:
    from types import FrameType

# Where a stop may be raised, by producer shape (see `install_stop_handler`).
NEVER, AT_WAITS, ANYWHERE, IN_TASKS = "never", "at waits", "anywhere", "in tasks"

stop_points.own_files.add(__file__)


class StopRequested(BaseException):
    """Raised inside a producer when a graceful stop arrives (like KeyboardInterrupt)."""


class StopFlag:
    """Set when a graceful stop is asked; true-ish once set. Safe to set from a signal handler.

    ``wait`` sleeps on a pipe, not a lock, because the setter runs inside a signal handler.

    Attributes
    ----------
    delivered : bool
        The stop has reached the producer: raised in its code, its task cancelled, or seen by
        it (``ctx.stopping`` read true, ``ctx.sleep`` cut short). From then on it is not raised
        there again, so the producer's own way out and its cleanup run whole.
    """

    def __init__(self) -> None:
        self._set = False
        self.delivered = False
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        self._callbacks: list[Callable[[], object]] = []

    def __bool__(self) -> bool:
        return self.is_set()

    def is_set(self) -> bool:
        """Return whether a stop was asked (once it was, the producer has seen it: see ``delivered``)."""
        if self._set:
            self.delivered = True
        return self._set

    def set(self) -> None:
        """Ask for a stop (async-signal safe: a flag, one byte on a pipe, the callbacks the first time)."""
        first, self._set = not self._set, True
        try:
            os.write(self._w, b"x")
        except BlockingIOError:
            pass
        for callback in self._callbacks if first else ():
            callback()

    def call_on_set(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` (from the signal handler) when the stop is asked; at once if it was."""
        self._callbacks.append(callback)
        if self._set:
            callback()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is asked or ``timeout`` passes; return whether it was asked."""
        if self._set:
            return True
        select.select([self._r], [], [], timeout)
        return self._set


# A stop that could not land where the signal found the producer (our writer, a ctx function's
# own code) is delivered again this often, to the main thread, until it lands or the producer
# is done: a producer that then blocks gets it.
NUDGE_INTERVAL = 0.01
# A main thread found at the same instruction of the same frame on IDLE_LOOKS nudges in a row,
# having used less CPU than IDLE_CPU_NS between looks, is blocked in the call it makes there
# (time.sleep, lock.acquire, select...): ~30 ms. Fewer looks are not enough on a loaded machine,
# where a computing thread starved of CPU can sit at one instruction: with 2 cores shared by
# 15-150 busy processes it was taken for a blocked one once in 3 600 single looks 20 ms apart,
# once in 5 500 pairs of looks 10 ms apart, never in 5 500 triples. Instructions where Python
# checks for signals without calling anything never count.
IDLE_LOOKS = 3
IDLE_CPU_NS = 1_000_000
_NOT_A_CALL = {opcode.opmap[name] for name in ("RESUME", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT")}


class StopHandler:
    """The worker's SIGTERM handler, and the thread that delivers a stop again until it lands."""

    def __init__(self, stopping: StopFlag, where: Callable[[], str], grace: float) -> None:
        self._stopping = stopping
        self._where = where
        self._grace = grace
        self._finished = False
        self._late = False  # `grace` has passed since the stop was asked
        self._seen: tuple[FrameType, int, int] | None = None  # the handler's last look: frame, instruction, CPU ns
        self._idle: tuple[FrameType, int] | None = None  # the nudger's: the main thread is still there, idle
        self._idle_looks = 0
        self._cancelled: list[object] = []  # the tasks a stop was raised in (async producers)
        self._main = threading.main_thread().ident
        self._cpu_clock = _cpu_clock(self._main)
        self._done = threading.Event()
        self._wakeup = _signal_wakeup()
        # Started now rather than by the handler: starting a thread takes threading's locks, which
        # the main thread the handler interrupted may hold.
        threading.Thread(target=self._nudge, name="pulse-stop", daemon=True).start()

    def producer_done(self) -> None:
        """The producer has ended: no more raising, no more nudges."""
        self._finished = True
        self._seen = self._idle = None
        self._done.set()

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        """Flag the stop; raise it in the producer once, where its shape allows (see `install_stop_handler`)."""
        self._stopping.set()
        if self._finished or self._stopping.delivered or frame is None:
            return
        mode = self._where()
        stop = None if mode == NEVER else self._stop_for(mode, frame)
        if stop is not None:
            self._seen = self._idle = None
            raise stop
        self._seen = (frame, frame.f_lasti, time.thread_time_ns())

    def _stop_for(self, mode: str, frame: FrameType) -> BaseException | None:
        """Return the exception to raise where the main thread is, or None to only flag the stop."""
        waiting = blocked_in_a_wait(frame)
        idle = self._idle
        blocked = waiting or (idle is not None and idle[0] is frame and idle[1] == frame.f_lasti)
        if not (blocked or self._late or mode == ANYWHERE):
            return None
        if mode != IN_TASKS:
            if not interruptible(files_until_own(frame), waiting=waiting):
                return None
            self._stopping.delivered = True
            return StopRequested()
        task = task_at(frame, waiting=waiting)
        if task is None or any(task is t for t in self._cancelled):
            return None
        self._cancelled.append(task)
        if task is OWN_TASK:
            self._stopping.delivered = True  # the task unwinds from here: cancelling it would cut its cleanup
        return asyncio.CancelledError()

    def _nudge(self) -> None:
        self._await_stop()
        late_at = time.monotonic() + self._grace
        while not self._done.wait(NUDGE_INTERVAL) and not self._stopping.delivered:
            self._late = time.monotonic() >= late_at
            if self._where() == NEVER:
                continue  # mid-send: the next nudge
            still = self._still_idle()
            self._idle_looks = self._idle_looks + 1 if still is not None else 0
            self._idle = still if self._idle_looks >= IDLE_LOOKS else None
            try:
                signal.pthread_kill(self._main, signal.SIGTERM)  # type: ignore[arg-type]
            except (ProcessLookupError, OSError):
                return

    def _await_stop(self) -> None:
        """Block until the stop is flagged, or until a SIGTERM was caught on another thread than the main one.

        The kernel may hand a process's SIGTERM to any of its threads. Caught on another one,
        Python notes it but does not wake the main thread, which runs the handler only once it
        next runs Python: one blocked in ``recv`` or ``Event.wait`` never does, and the worker
        was SIGKILLed at its stop timeout (seen about once in 20 runs of the stop tests with the
        cores busy). The signal's wakeup byte comes here from whichever thread caught it; the
        nudges then signal the main thread itself.
        """
        fds = [self._stopping._r] if self._wakeup is None else [self._stopping._r, self._wakeup]
        while not self._stopping._set:
            ready, _, _ = select.select(fds, [], [])
            if self._wakeup in ready and signal.SIGTERM in os.read(self._wakeup, 512):
                return

    def _still_idle(self) -> tuple[FrameType, int] | None:
        """Return where the handler last found the main thread, if it is still there and used no CPU since."""
        seen = self._seen
        if seen is None or self._main is None:
            return None
        frame, lasti, cpu = seen
        now = sys._current_frames().get(self._main)
        if now is not frame or frame.f_lasti != lasti or lasti < 0 or frame.f_code.co_code[lasti] in _NOT_A_CALL:
            return None
        if self._cpu_clock is not None and time.clock_gettime_ns(self._cpu_clock) - cpu > IDLE_CPU_NS:
            return None
        return frame, lasti


def install_stop_handler(stopping: StopFlag, where: Callable[[], str], grace: float) -> StopHandler:
    """SIGTERM sets ``stopping``, and raises the stop in the producer once, where ``where()`` allows.

    ``where()`` answers at the moment of the signal:

    - NEVER: only the flag (start-up, a send in progress);
    - ANYWHERE (a generator): StopRequested in its own code, C calls such as ``time.sleep``
      included, and in the standard library's waits (``queue.get``, ``Event.wait``...);
    - AT_WAITS (a ``ctx`` function, which checks its flag itself): StopRequested where it is
      blocked, in a call from its own code (``time.sleep``, ``lock.acquire``, ``select``, a
      socket's ``recv``...) or in a standard library wait; ``grace`` seconds after the stop,
      anywhere in its code, so that its ``finally`` runs before the SIGKILL;
    - IN_TASKS (an async producer, whose task is cancelled): CancelledError in a coroutine of
      the producer that blocks the event loop, as AT_WAITS; never in the event loop's own code.

    Never in Pulse's code nor elsewhere in the standard library (see `stop_points`). A stop
    that could not be raised at once is delivered again until it can, or the producer ends.
    """
    handler = StopHandler(stopping, where, grace)
    signal.signal(signal.SIGTERM, handler.on_sigterm)
    return handler


def _signal_wakeup() -> int | None:
    """Return a pipe's reading end that gets a byte for each signal caught (the wakeup fd), or None.

    None where one is set already (the producer's own, an event loop's: it is left in place, and
    only the flag wakes the nudger) or off the main thread.
    """
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        previous = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        previous = None
    if previous == -1:
        return r
    if previous is not None:
        signal.set_wakeup_fd(previous)
    os.close(r)
    os.close(w)
    return None


def _cpu_clock(thread: int | None) -> int | None:
    """Return the CPU-time clock of ``thread`` where the OS has one (Linux; without, frames alone tell)."""
    try:
        return time.pthread_getcpuclockid(thread)  # type: ignore[arg-type]
    except (AttributeError, OSError, TypeError):
        return None
