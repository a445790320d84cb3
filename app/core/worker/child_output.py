"""A worker's stdout and stderr pointed at the supervisor's pipes, its logging sent down its channel (child side)."""

from __future__ import annotations

import codecs
import io
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.wire.channel import LOG, ChannelWriter

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def capture_output(stdout: Connection, stderr: Connection) -> None:
    """Point fds 1 and 2 at the pipes the supervisor reads (see output_pipe), so C code and children are caught too."""
    for conn, fd in ((stdout, 1), (stderr, 2)):
        os.dup2(conn.fileno(), fd)
        conn.close()
    # Line buffering: a print shows up when it happens, not when the process exits.
    codecs.register_error(_ERRORS, _smuggled_bytes_or_escape)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, errors=_ERRORS)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, errors=_ERRORS)


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


def finish_output() -> None:
    """Flush Python's buffers: what they hold reaches the supervisor's end of the pipes."""
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass


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
