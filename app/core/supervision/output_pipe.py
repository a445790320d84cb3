"""A worker's stdout or stderr, read by the supervisor itself: lines survive the worker's crash.

The worker's fds 1 and 2 are pipes whose reading ends are in Pulse's process, so what a worker
(or C code in it, or its children) wrote is read even after it died: the last ``print`` before
``os._exit``, the traceback faulthandler writes on a segfault. A reader thread inside the worker
died with it and lost those. Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (progress bars
redraw with it, tqdm-style), and are cut at `MAX_LINE_BYTES` with a note, so a 200 MB line with
no newline costs Pulse 64 KiB, not 200 MB.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

MAX_LINE_BYTES = 64 * 1024
_READ_SIZE = 64 * 1024
_MAX_DRAIN_READS = 64  # a dead worker's pipe: at most 4 MiB more (a grandchild may still write)
CUT_NOTE = " [… line longer than 64 KiB: cut here, the rest dropped]"


class OutputReader:
    """Reads one output pipe without blocking, into whole lines (used by the polling thread only).

    Attributes
    ----------
    conn : Connection
        The reading end; closed by `close`.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._fd = conn.fileno()
        os.set_blocking(self._fd, False)
        self._partial = bytearray()
        self._cutting = False  # inside a line already cut: drop up to its end
        self._pending_cr = False  # a chunk ended in \r: a \n at the next one's start is the same end

    def read(self, *, drain: bool = False) -> tuple[list[str], bool]:
        """Return (the whole lines read now, whether the writers' ends are all closed).

        One read, or with ``drain`` every byte already there (never waiting for more). At end of
        file a last line without a newline is returned too.
        """
        lines: list[str] = []
        for _ in range(_MAX_DRAIN_READS if drain else 1):
            try:
                chunk = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                return lines, False
            except OSError:
                chunk = b""
            if not chunk:
                if self._partial and not self._cutting:
                    lines.append(_text(self._partial))
                self._partial.clear()
                return lines, True
            self._split(chunk, lines)
        return lines, False

    def close(self) -> None:
        """Close the reading end."""
        self.conn.close()

    def _split(self, chunk: bytes, lines: list[str]) -> None:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = chunk.endswith(b"\r")
        start = 0
        end = len(chunk)
        while start < end:
            cut = _next_end(chunk, start)
            if cut == -1:
                self._add(chunk[start:], lines)
                return
            self._add(chunk[start:cut], lines)
            crlf = chunk[cut : cut + 2] == b"\r\n"
            redraw = chunk[cut] == 13 and not crlf  # a lone \r: a progress bar's redraw
            if not self._cutting and (self._partial or not redraw):  # a redraw's empty start is no line
                lines.append(_text(self._partial))
            self._partial.clear()
            self._cutting = False
            start = cut + (2 if crlf else 1)

    def _add(self, piece: bytes, lines: list[str]) -> None:
        if self._cutting:
            return
        room = MAX_LINE_BYTES - len(self._partial)
        if len(piece) <= room:
            self._partial += piece
            return
        self._partial += piece[:room]
        lines.append(_text(self._partial) + CUT_NOTE)
        self._partial.clear()
        self._cutting = True


def _next_end(chunk: bytes, start: int) -> int:
    nl, cr = chunk.find(b"\n", start), chunk.find(b"\r", start)
    if nl == -1 or cr == -1:
        return max(nl, cr)
    return min(nl, cr)


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", "backslashreplace")
