"""A graceful stop inside a worker: the SIGTERM handler, and where it may interrupt the producer."""

from __future__ import annotations

import linecache
import os
import select
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

# The standard library juggles locks in Python (threading's Condition, logging's handlers, the
# import system): a stop raised between an acquire and the `try` that releases it leaves the
# lock held for good. One landing in Event.set deadlocked a worker's final flush (seen in about
# 1 of 8 runs stopping 64 busy workers together), so a stop is raised in such code only where it
# is known to wait, at the call that blocks, inside the `try` that cleans up after it.
_STDLIB_DIR = os.path.dirname(threading.__file__) + os.sep

# Where a main thread blocked in the standard library waits: (function, source line, a local the
# function has set once it is inside its `try`). queue.get, Event.wait, Future.result and
# Semaphore.acquire wait in Condition.wait; Thread.join in _wait_for_tstate_lock; socket reads,
# asyncio and multiprocessing's connection.wait in a selector; Popen.wait in waitpid.
_WAITS: dict[tuple[str, str], str | None] = {
    ("wait", "waiter.acquire()"): "gotit",
    ("wait", "gotit = waiter.acquire(True, timeout)"): "gotit",
    ("_wait_for_tstate_lock", "if lock.acquire(block, timeout):"): None,
    ("select", "fd_event_list = self._selector.poll(timeout, max_ev)"): None,
    ("select", "fd_event_list = self._selector.poll(timeout)"): None,
    ("select", "r, w, _ = self._select(self._readers, self._writers, [], timeout)"): None,
    ("accept", "fd, addr = self._accept()"): None,
    ("readinto", "return self._sock.recv_into(b)"): None,
    ("_try_wait", "(pid, sts) = os.waitpid(self.pid, wait_flags)"): None,
    ("_recv", "chunk = read(handle, remaining)"): None,
}

NEVER, AT_WAITS, ANYWHERE = "never", "at waits", "anywhere"  # where a stop may be raised

# Pulse's own modules on a worker's main thread. A stop is never raised in them; the producer's
# frames are those below the first of them (the driver that called the producer).
own_files: set[str] = {__file__}
drivers: set[str] = set()  # the modules that call the producer: a stop may land right below them


class StopRequested(BaseException):
    """Raised inside a producer when a graceful stop arrives (like KeyboardInterrupt)."""


class StopFlag:
    """Set when a graceful stop is asked; true-ish once set. Safe to set from a signal handler.

    ``wait`` sleeps on a pipe, not a lock, because the setter runs inside a signal handler.
    """

    def __init__(self) -> None:
        self._set = False
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        self._callbacks: list[Callable[[], object]] = []

    def __bool__(self) -> bool:
        return self._set

    def is_set(self) -> bool:
        """Return whether a stop was asked."""
        return self._set

    def set(self) -> None:
        """Ask for a stop (async-signal safe: a flag, one byte on a pipe, the callbacks)."""
        self._set = True
        try:
            os.write(self._w, b"x")
        except BlockingIOError:
            pass
        for callback in self._callbacks:
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


# A stop that found the producer where it may not be raised (in our writer, or in a ctx
# function between two waits) is delivered again this often, to the main thread, until it lands
# in a wait or the producer is done: a producer that then enters queue.get still gets it.
NUDGE_INTERVAL = 0.02


class StopHandler:
    """The worker's SIGTERM handler (see `install_stop_handler`)."""

    def __init__(self, stopping: StopFlag, where: Callable[[], str]) -> None:
        self._stopping = stopping
        self._where = where
        self._raised = False
        self._done = threading.Event()
        self._nudger: threading.Thread | None = None
        self._main = threading.main_thread().ident

    def producer_done(self) -> None:
        """The producer has ended: no more raising, no more nudges."""
        self._raised = True
        self._done.set()

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        """Flag the stop; raise StopRequested once, where the producer may be interrupted."""
        self._stopping.set()
        if self._raised:
            return  # once: a second raise would cut the producer's own cleanup short
        mode = self._where()
        waiting = blocked_in_a_wait(frame)
        if mode != NEVER and (mode == ANYWHERE or waiting) and interruptible(files_until_own(frame), waiting=waiting):
            self._raised = True
            raise StopRequested
        if self._nudger is None:
            self._nudger = threading.Thread(target=self._nudge, name="pulse-stop", daemon=True)
            self._nudger.start()

    def _nudge(self) -> None:
        while not self._done.wait(NUDGE_INTERVAL) and not self._raised:
            if self._where() == NEVER:
                continue  # mid-send: the next nudge
            try:
                signal.pthread_kill(self._main, signal.SIGTERM)  # type: ignore[arg-type]
            except (ProcessLookupError, OSError):
                return


def install_stop_handler(stopping: StopFlag, where: Callable[[], str]) -> StopHandler:
    """SIGTERM sets ``stopping``, and raises StopRequested in the producer where ``where()`` allows.

    ``where()`` answers at the moment of the signal: NEVER (only the flag: start-up, a send
    in progress, an async producer, which is cancelled instead), AT_WAITS (a ``ctx`` function,
    which checks its flag itself: only where it blocks in a standard library wait), or
    ANYWHERE (a generator: its own code, C calls such as ``time.sleep``, and those waits). Never
    in Pulse's code (mid-send) nor elsewhere in the standard library: see `interruptible`. A
    stop that could not be raised at once is delivered again until it can, or the producer ends.
    """
    handler = StopHandler(stopping, where)
    signal.signal(signal.SIGTERM, handler.on_sigterm)
    return handler


def interruptible(files: list[str], *, waiting: bool = False) -> bool:
    """Return whether a stop may be raised where a signal found the main thread.

    ``files`` are the source files of the interrupted frames, innermost first, up to and
    including the first of Pulse's own. Yes in the producer's code (a generator in
    ``time.sleep``, a C extension, a socket's ``recv``...) called straight from a driver, and,
    when ``waiting`` (the innermost frame is a standard library wait at its blocking call), in the
    standard library calls on the way to that wait. Never in frozen import code, never in the
    channel writer, never elsewhere in the standard library: then the stop is only flagged, and
    the producer ends at its next item.
    """
    if len(files) < 2 or files[-1] not in drivers:
        return False
    inner = files[:-1]
    if any(f.startswith("<") for f in inner):
        return False
    in_stdlib = [_is_stdlib(f) for f in inner]
    return not any(in_stdlib) or (waiting and in_stdlib[0])


def blocked_in_a_wait(frame: FrameType | None) -> bool:
    """Return whether ``frame`` is a standard library wait at the call that blocks (see ``_WAITS``)."""
    if frame is None or not _is_stdlib(frame.f_code.co_filename):
        return False
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    key = (frame.f_code.co_name, line)
    if key not in _WAITS:
        return False
    needed = _WAITS[key]
    return needed is None or needed in frame.f_locals


def files_until_own(frame: FrameType | None) -> list[str]:
    """Return the source files of ``frame`` and its callers, up to and including Pulse's first."""
    files = []
    while frame is not None:
        files.append(frame.f_code.co_filename)
        if files[-1] in own_files:
            break
        frame = frame.f_back
    return files


def _is_stdlib(path: str) -> bool:
    return path.startswith(_STDLIB_DIR) and f"{os.sep}site-packages{os.sep}" not in path
