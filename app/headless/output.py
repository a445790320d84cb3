"""Headless output: JSON lines written whole, by a thread of their own, so a stalled reader stalls nothing else."""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

MAX_BACKLOG = 8 * 1024 * 1024  # bytes queued for a slow reader before the run waits for it


class HeadlessOutput:
    """Writes batches of lines to a text file; a closed reader or a failed write is a flag, not an error.

    With a file descriptor (stdout, a file), a writer thread does the writing with ``os.write``,
    finishing every partial write itself: each line is whole even on a descriptor someone made
    non-blocking (a torn line was seen once under kill churn), and the run's loop never blocks on
    a reader that stalls: it only waits, checking ``should_stop``, while more than `MAX_BACKLOG`
    is queued. Without one (a StringIO), lines are written directly.

    Attributes
    ----------
    broken : bool
        Nothing more can be written: the run stops its workers gracefully and ends.
    failure : str or None
        Why, when it was not just the reader going away (a full disk, a stalled reader at the
        end): the run exits 1.
    """

    def __init__(self, out: TextIO, should_stop: Callable[[], bool] = lambda: False) -> None:
        self._out = out
        self._should_stop = should_stop
        self.broken = False
        self.failure: str | None = None
        try:
            out.flush()
            self._fd: int | None = out.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None
        self._tty = self._fd is not None and os.isatty(self._fd)
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._cond = threading.Condition()
        if self._fd is not None:
            threading.Thread(target=self._write_loop, name="pulse-output", daemon=True).start()

    def write(self, lines: list[str]) -> None:
        """Queue ``lines`` (each ending in a newline) to be written, in order."""
        if self.broken or not lines:
            return
        if self._fd is None:
            self._write_text("".join(lines))
            return
        data = "".join(lines).encode("utf-8", "backslashreplace")
        with self._cond:
            self._queue.append(data)
            self._queued += len(data)
            self._cond.notify()
            while self._queued > MAX_BACKLOG and not self.broken and not self._should_stop():
                self._cond.wait(0.1)  # backpressure on a slow reader; a signal still ends the run

    def close(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for every queued line to be written; return whether they were."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queued and not self.broken:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._fail(f"pulse: the output's reader stalled; {self._queued} bytes of lines not written")
                    return False
                self._cond.wait(min(left, 0.1))
        return not self.broken

    def _write_text(self, text: str) -> None:
        try:
            self._out.write(text)
            self._out.flush()
        except ConnectionError:
            self.broken = True
        except OSError as exc:
            self._fail(f"pulse: output cannot be written ({exc}); stopping every worker")

    def _write_loop(self) -> None:
        assert self._fd is not None
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                data = self._queue[0]
            try:
                _write_all(self._fd, data)
            except OSError as exc:
                # BrokenPipeError: e.g. piped to `head`, which has quit; EIO on a terminal: it hung up
                # (its window or SSH session closed). Either way the reader is gone, nothing failed.
                if isinstance(exc, ConnectionError) or (self._tty and exc.errno == errno.EIO):
                    self.broken = True
                    _silence(self._fd)
                else:  # e.g. a full disk: say so once, stop the workers gracefully
                    self._fail(f"pulse: output cannot be written ({exc}); stopping every worker")
            with self._cond:
                self._queue.popleft()
                self._queued -= len(data)
                if self.broken:
                    self._queue.clear()
                    self._queued = 0
                self._cond.notify_all()
            if self.broken:
                return

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = message
            with contextlib.suppress(OSError, ValueError):  # stderr may be gone too: the exit code says it
                print(message, file=sys.stderr, flush=True)
        self.broken = True


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``, whatever the descriptor's mode: partial writes are resumed, not torn."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            poller = select.poll()  # not select(): a raised file limit (fd_limit) allows any descriptor
            poller.register(fd, select.POLLOUT)
            poller.poll()
            continue
        view = view[n:]


def _silence(fd: int) -> None:
    """Point ``fd`` at /dev/null, so whatever else is buffered for it flushes quietly at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
    except OSError:
        pass
