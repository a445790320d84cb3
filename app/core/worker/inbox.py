"""A worker's inbox: the messages Pulse sent it, bounded, read by ``ctx.receive`` or a generator's ``yield``."""

from __future__ import annotations

import asyncio
import collections
import os
import pickle
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.worker import stop_points
from pulse_supervisor.core.worker.stopping import StopRequested

if TYPE_CHECKING:
    from pulse_supervisor.core.worker.stopping import StopFlag

stop_points.own_files.add(__file__)

# A worker that never reads its messages holds at most this many, or this many bytes; the rest
# are dropped and counted (Pulse shows the count), so a sender can never fill a worker's memory.
INBOX_MESSAGES = 1000
INBOX_BYTES = 16 * 1024 * 1024
NO_DEFAULT: Any = object()  # receive() without a default raises TimeoutError


class Inbox:
    """Messages from Pulse, pickled, oldest first; the control thread puts, the producer takes.

    Values stay pickled until taken: the bound is on bytes, and a message of a class the worker
    cannot load fails in the producer that reads it, not in the thread that serves Pulse.

    Attributes
    ----------
    dropped : int
        Messages that arrived while the inbox was full (counted since the run started).
    """

    def __init__(self, stopping: StopFlag, *, max_messages: int = INBOX_MESSAGES, max_bytes: int = INBOX_BYTES) -> None:
        self._stopping = stopping
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self.queue: collections.deque[bytes] = collections.deque()  # read bare by the generator driver
        self._bytes = 0
        self.dropped = 0
        # A pipe, not a Condition: a wait must also wake on a stop, which writes to the stop flag's pipe.
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)

    def put(self, data: bytes) -> bool:
        """Queue one pickled message (the control thread); return False when it was dropped (full)."""
        if len(self.queue) >= self._max_messages or self._bytes + len(data) > self._max_bytes:
            self.dropped += 1
            return False
        self._bytes += len(data)
        self.queue.append(data)
        try:
            os.write(self._w, b"m")
        except BlockingIOError:  # the pipe holds plenty of wake-ups already
            pass
        return True

    def take(self) -> Any:
        """Return the oldest message, unpickled (the caller checked there is one)."""
        data = self.queue.popleft()
        self._bytes -= len(data)
        return pickle.loads(data)

    def receive(self, timeout: float | None = None, default: Any = NO_DEFAULT) -> Any:
        """Return the next message, waiting up to ``timeout`` seconds (None: for ever).

        Raises
        ------
        TimeoutError
            No message came in time, and no ``default`` was given.
        StopRequested
            A graceful stop was asked while waiting (the producer unwinds as from any wait).
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            if self.queue:
                return self.take()
            self._drain_wakeups()
            if self.queue:
                return self.take()
            if self._stopping.is_set():
                self._stopping.delivered = True
                raise StopRequested
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                if default is not NO_DEFAULT:
                    return default
                raise TimeoutError(f"no message within {timeout:g} s")
            select.select([self._r, self._stopping._r], [], [], left)

    def messages(self) -> Iterator[Any]:
        """Yield each message as it comes, until a graceful stop is asked (then return quietly)."""
        while True:
            try:
                yield self.receive()
            except StopRequested:
                return

    async def areceive(self) -> Any:
        """Return the next message without blocking the event loop (a stop cancels the task)."""
        loop = asyncio.get_running_loop()
        while True:
            if self.queue:
                return self.take()
            self._drain_wakeups()
            if self.queue:
                return self.take()
            woken = loop.create_future()

            def wake(fut: asyncio.Future[None] = woken) -> None:
                if not fut.done():
                    fut.set_result(None)

            loop.add_reader(self._r, wake)
            try:
                await woken
            finally:
                loop.remove_reader(self._r)

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._r, 4096):
                pass
        except BlockingIOError:
            pass


class InboxReport:
    """Tells Pulse how many messages the inbox dropped: at the first drop, then at most every ``interval``."""

    def __init__(self, inbox: Inbox, send: Callable[[int], None], interval: float = 0.5) -> None:
        self._inbox = inbox
        self._send = send
        self._interval = interval
        self._reported = 0
        self._last = 0.0
        self._lock = threading.Lock()  # the control thread and the final report at exit

    def maybe(self, *, final: bool = False) -> None:
        """Report the count if it changed and the last report is old enough (or ``final``)."""
        with self._lock:
            dropped = self._inbox.dropped
            now = time.monotonic()
            if dropped == self._reported or (not final and self._reported and now - self._last < self._interval):
                return
            self._reported, self._last = dropped, now
        self._send(dropped)
