"""A worker's stdout, stderr and logging, sent down its channel as log lines (child side)."""

from __future__ import annotations

import codecs
import io
import logging
import os
import sys
import threading
import time
from typing import Any

from app.core.channel import LOG, ChannelWriter


def capture_output(writer: ChannelWriter) -> list[threading.Thread]:
    """Point fds 1 and 2 at pipes read line by line, so C code and children are caught too."""
    threads = []
    for fd, stream, level in ((1, "stdout", "INFO"), (2, "stderr", "WARNING")):
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)
        t = threading.Thread(target=_pump_lines, args=(r, writer, stream, level), name=f"pulse-{stream}", daemon=True)
        t.start()
        threads.append(t)
    # Line buffering: a print shows up when it happens, not when the process exits.
    codecs.register_error(_ERRORS, _smuggled_bytes_or_escape)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, errors=_ERRORS)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, errors=_ERRORS)
    return threads


_ERRORS = "pulse-bytes-or-escape"


def _smuggled_bytes_or_escape(exc: UnicodeError) -> tuple[bytes, int]:
    """Encode what UTF-8 cannot: a byte smuggled in by ``surrogateescape`` (a non-UTF-8 file
    name through ``os.fsdecode``) as that byte, as a UTF-8 terminal would show it; any other
    lone surrogate as a ``\\ud800`` escape. Never raises: a print must not fail in a worker."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start : exc.end]:
        code = ord(ch)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}".encode()
    return bytes(out), exc.end


def _pump_lines(fd: int, writer: ChannelWriter, stream: str, level: str) -> None:
    with open(fd, "rb", buffering=0) as pipe:
        for raw in io.BufferedReader(pipe):  # type: ignore[arg-type]
            line = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
            try:
                writer.send((LOG, stream, level, line, time.time(), False))
            except OSError:
                return


def finish_output(readers: list[threading.Thread]) -> None:
    """Flush Python's buffers, close fds 1 and 2 so the readers see EOF, and let them drain."""
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    # One deadline for both: a grandchild holding fds 1 and 2 must not delay the exit twice.
    deadline = time.monotonic() + 1.0
    for t in readers:
        t.join(timeout=max(0.0, deadline - time.monotonic()))


class _ChannelLogHandler(logging.Handler):
    def __init__(self, writer: ChannelWriter) -> None:
        super().__init__()
        self._writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self._writer.send((LOG, "logging", record.levelname, text, record.created, False))
        except Exception:
            self.handleError(record)


def capture_logging(writer: ChannelWriter) -> None:
    """Send the root logger's records down the channel (at INFO and up unless configured).

    Until the worker sets logging up itself: ``logging.basicConfig`` would do nothing while a
    handler sits on the root logger, so Pulse's steps aside when it is called, and the worker's
    ``basicConfig(filename=..., level=...)`` works as it does outside Pulse. Pulse's handler
    stays logging's last resort, for records no handler of the worker's takes.
    """
    handler = _ChannelLogHandler(writer)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    logging.lastResort = handler
    if root.level == logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)  # a worker's info logs are worth seeing in the GUI
    original = logging.basicConfig

    def basic_config(**kwargs: Any) -> None:
        if root.handlers == [handler]:
            root.removeHandler(handler)
        original(**kwargs)
        if not root.handlers:  # it added nothing after all
            root.addHandler(handler)

    logging.basicConfig = basic_config
