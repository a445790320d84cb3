"""One worker's channel: a pipe or socket the worker writes batches of items into, and its wire format."""

from __future__ import annotations

import collections
import os
import pickle
import threading
import time
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.wire import item_pickler

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

DEFAULT_MAX_BATCH = 1000  # items per message under load
DEFAULT_MAX_DELAY = 0.002  # seconds an item may wait for company; one frame is 16 ms
_PROTOCOL = pickle.HIGHEST_PROTOCOL
# A frame this big is handed on as a view of the buffer it was read into, and its loader copies it
# in steps (`tolerant_unpickle.load_message`): each copy in one go held the GIL for all of it,
# and a 100 MB item was three (cut out of the buffer, made bytes, unpickled), 40-60 ms each here,
# during which the GUI thread waited: stalls of 90-150 ms.
BIG_FRAME = 1 << 20
# A drain reads at most this many times (2 MiB at 32 KiB a read): a grandchild that kept writing
# into a dead worker's channel must not keep the supervisor reading for ever.
_MAX_DRAIN_READS = 64

# Wire messages are plain tuples, tag first, pickled whole: cheaper than dataclasses.
ITEMS = "items"  # (ITEMS, first_seq, [item, ...], sent_ns)
LOG = "log"  # (LOG, stream, level, line, time, is_traceback)
STACK = "stack"  # (STACK, text)
BYE = "bye"  # (BYE, total_sent): the worker flushed everything and is exiting
HELLO = "hello"  # (HELLO,): the worker's stop handler is in place; a SIGTERM now stops it gracefully
INBOX = "inbox"  # (INBOX, dropped): messages the worker's full inbox dropped, this run so far
# Down the channel (Pulse to worker), raw frames: b"stack", or MESSAGE + a pickled value.
MESSAGE = b"m"


class ChannelWriter:
    """The worker's end: batches items by count and by time, with a leading edge.

    An item that follows a quiet gap goes out at once (no batching delay when the stream is
    slow); under load items travel ``max_batch`` at a time, and a flusher thread sends what
    waited ``max_delay``. A blocking send pushes back on a producer the GUI cannot keep up with.

    Called by the child bootstrap (``emit`` from the producer's thread, ``send`` from any).
    Items are pickled by `item_pickler`: objects of classes Pulse's process must not import go
    as stand-ins (``objects``: as `item_forms.Pickled`, for an app that loads them itself).

    Attributes
    ----------
    sent : int
        Items sent so far; also the next item's sequence number.
    """

    def __init__(
        self,
        conn: Connection,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_delay: float = DEFAULT_MAX_DELAY,
        objects: bool = False,
    ) -> None:
        self._conn = conn
        self._objects = objects
        self._max_batch = max_batch
        self._max_delay = max_delay
        # deque: append (producer) and popleft (flusher) are atomic, so no lock per item.
        self._buf: collections.deque[Any] = collections.deque()
        self._lock = threading.Lock()  # one writer on the pipe at a time
        self._armed = threading.Event()
        self._closed = False
        self._last_send = 0.0
        self._said_forked = False
        self.sent = 0
        self._flusher = threading.Thread(target=self._flush_loop, name="pulse-flusher", daemon=True)
        self._flusher.start()

    def emit(self, item: Any) -> None:
        """Queue one item for the GUI (hot path: keep it short)."""
        buf = self._buf
        buf.append(item)
        n = len(buf)
        if n >= self._max_batch:
            self.flush()
        elif n == 1:
            if time.monotonic() - self._last_send >= self._max_delay:
                self.flush()  # leading edge: the stream was quiet, don't make this one wait
            else:
                self._armed.set()

    def busy(self) -> bool:
        """Return whether some thread is writing to the pipe right now."""
        return self._lock.locked()

    def flush(self) -> None:
        """Send every queued item now."""
        with self._lock:
            self._flush_locked()

    def send(self, message: tuple[Any, ...]) -> None:
        """Send a control message (log line, stack, bye) after the items queued before it."""
        data = pickle.dumps(message, _PROTOCOL)
        with self._lock:
            self._flush_locked()
            self._conn.send_bytes(data)

    def in_forked_child(self) -> None:
        """This is now a child forked from the worker (a fork Pool's process, an os.fork).

        The channel belongs to the worker: a second writer would interleave its frames. Log
        lines go to stderr (the worker's own capture reads it), items are dropped with a note,
        and the lock, which another thread may have held at the fork, is a new one.
        """
        self._lock = threading.Lock()
        self._closed = True
        self._buf.clear()
        self.emit = self._emit_in_child  # type: ignore[method-assign]
        self.send = self._send_in_child  # type: ignore[method-assign]

    def _emit_in_child(self, item: Any) -> None:
        if not self._said_forked:
            self._said_forked = True
            note = "items sent from a process forked by the worker are dropped: send them from the worker"
            self._send_in_child((LOG, "", "", f"{note} (e.g. return them from a Pool's task)"))

    def _send_in_child(self, message: tuple[Any, ...]) -> None:
        if message[0] == LOG:
            try:
                os.write(2, f"{message[3]}\n".encode("utf-8", "backslashreplace"))
            except OSError:
                pass

    def close(self) -> None:
        """Flush, send BYE, and stop the flusher thread."""
        self._closed = True
        self._armed.set()
        self.flush()  # first, so the count in BYE includes every item
        self.send((BYE, self.sent))
        self._flusher.join(timeout=1.0)

    def _flush_locked(self) -> None:
        buf = self._buf
        n = len(buf)
        if not n:
            return
        popleft = buf.popleft
        items = [popleft() for _ in range(n)]
        try:
            data = item_pickler.dumps((ITEMS, self.sent, items, time.monotonic_ns()), objects=self._objects)
        except Exception:
            items = self._drop_unpicklable(items)
            if not items:
                return
            data = item_pickler.dumps((ITEMS, self.sent, items, time.monotonic_ns()), objects=self._objects)
        self._conn.send_bytes(data)
        self.sent += len(items)
        self._last_send = time.monotonic()

    def _drop_unpicklable(self, items: list[Any]) -> list[Any]:
        """Keep the items that pickle; report each one that does not, and go on."""
        good = []
        for item in items:
            try:
                item_pickler.dumps(item, objects=self._objects)
            except Exception as exc:
                line = f"item of type {type(item).__qualname__} cannot be pickled and was dropped: {exc}"
                msg = (LOG, "stderr", "ERROR", line, time.time(), False)
                self._conn.send_bytes(pickle.dumps(msg, _PROTOCOL))
            else:
                good.append(item)
        return good

    def _flush_loop(self) -> None:
        while True:
            self._armed.wait()
            self._armed.clear()
            while not self._closed:
                time.sleep(self._max_delay)
                try:
                    self.flush()
                except OSError:
                    return  # the GUI is gone; the bootstrap notices on its own send
                if not self._buf:
                    break
            if self._closed:
                return


class FrameReader:
    """The GUI's end: reads a channel's messages without ever blocking, many per system call.

    ``Connection.recv_bytes`` costs two reads per message, and knowing whether another message
    waits costs a ``Connection.poll``, which builds a selector each time: ~30 µs a message on an
    idle machine. Here the pipe is non-blocking and one ``os.read`` takes whatever is there (up
    to ``read_size``), which is cut into frames of ``Connection``'s format (a 4-byte big-endian
    length, or -1 and an 8-byte length); a frame split across reads waits for its rest.

    Used by the supervisor's polling thread only.
    """

    def __init__(self, conn: Connection, read_size: int = 32 * 1024) -> None:
        self._fd = conn.fileno()
        os.set_blocking(self._fd, False)  # the reading end only: the worker's end stays blocking
        self._read_size = read_size
        self._buf = bytearray()
        self.total_read = 0  # bytes read so far
        self.mark = 0  # total_read when the supervisor last looked (see Supervisor.busiest_bytes)

    def read(self, *, drain: bool = False) -> tuple[list[bytes | memoryview], bool]:
        """Return (complete frames read now, whether the writer's end is closed).

        A frame of `BIG_FRAME` bytes or more is a view of the buffer it was read into, not a copy.

        One ``os.read`` unless ``drain``, which reads until the pipe is empty (a dead worker's
        last words; it never waits for a writer that is still alive, such as a grandchild).
        A partial frame left at end of file was torn by a kill and is dropped.

        Raises
        ------
        ValueError
            If the stream holds something that is not a frame (it cannot be resynchronised).
        """
        frames: list[bytes | memoryview] = []
        for _ in range(_MAX_DRAIN_READS if drain else 1):
            try:
                chunk = os.read(self._fd, self._read_size)
            except BlockingIOError:
                return frames, False
            except OSError:  # e.g. closed under us: the channel is over
                return frames, True
            self.total_read += len(chunk)
            if not chunk:
                return frames, True
            self._buf += chunk
            self._cut(frames)
        return frames, False

    def _cut(self, frames: list[bytes | memoryview]) -> None:
        buf = self._buf
        end = len(buf)
        pos = 0
        handed_on = False  # a big frame is a view of ``buf``: it is left to the frame, not cut
        while end - pos >= 4:
            size = int.from_bytes(buf[pos : pos + 4], "big", signed=True)
            head = 4
            if size == -1:
                if end - pos < 12:
                    break
                size, head = int.from_bytes(buf[pos + 4 : pos + 12], "big"), 12
            elif size < 0:
                raise ValueError(f"not a frame: length {size}")
            if end - pos - head < size:
                break
            start = pos + head
            if size >= BIG_FRAME:
                frames.append(memoryview(buf)[start : start + size])
                handed_on = True
            else:
                frames.append(bytes(buf[start : start + size]))
            pos = start + size
        if handed_on:
            self._buf = bytearray(memoryview(buf)[pos:])  # what follows: a frame's start at most
        elif pos:
            del buf[:pos]


def decode(data: bytes) -> tuple[Any, ...]:
    """Return the wire tuple in ``data`` (raises on a torn or foreign message); for Pulse's own messages.

    A worker's messages are loaded by `tolerant_unpickle.load_message`, which imports nothing.
    """
    msg = pickle.loads(data)
    if not isinstance(msg, tuple) or not msg:
        raise ValueError(f"not a Pulse message: {type(msg).__name__}")
    return msg
