"""Per-worker log files on disk: one text file per worker, rotated by size, flushed per poll."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import IO

from app.core.events import Event, LogLine, StateChanged, WorkerExited
from app.core.inspection import describe_exit

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_BACKUPS = 3


def default_log_dir() -> Path:
    """Return ``$PULSE_LOG_DIR``, else ``$XDG_DATA_HOME/pulse/logs`` (``~/.local/share/...``)."""
    explicit = os.environ.get("PULSE_LOG_DIR")
    if explicit:
        return Path(explicit)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "pulse" / "logs"


def _file_name(worker: str) -> str:
    # Worker names are free text; keep file names portable and unambiguous.
    return re.sub(r"[^A-Za-z0-9._-]", "_", worker) + ".log"


class LogFiles:
    """Appends each worker's log lines to ``<dir>/<worker>.log``, keeping ``backups`` rotations.

    Only the supervisor's polling thread calls it. Writes are buffered and flushed once per
    poll, so a chatty worker costs one write call per poll, not one per line.
    """

    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> None:
        self.directory = Path(directory)
        self._max_bytes = max_bytes
        self._backups = backups
        self._files: dict[str, IO[str]] = {}
        self._dirty: set[str] = set()
        self._failed = False

    def path(self, worker: str) -> Path:
        """Return the path of ``worker``'s current log file."""
        return self.directory / _file_name(worker)

    def write(self, worker: str, when: float, stream: str, level: str, text: str) -> None:
        """Append one entry (multi-line text is indented under its first line)."""
        f = self._open(worker)
        if f is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)) + f".{int(when % 1 * 1000):03d}"
        body = text.replace("\n", "\n    ")
        f.write(f"{stamp} {level:<8} {stream:<8} {body}\n")
        self._dirty.add(worker)

    def write_events(self, events: list[Event]) -> None:
        """Append the log lines, state changes and exits in ``events``, then flush."""
        wrote = False
        for ev in events:
            if isinstance(ev, LogLine):
                self.write(ev.worker, ev.time, ev.stream, ev.level, ev.line)
            elif isinstance(ev, StateChanged):
                pid = f" (pid {ev.pid})" if ev.pid else ""
                self.write(ev.worker, ev.time, "pulse", "INFO", f"state {ev.state.value}{pid}")
            elif isinstance(ev, WorkerExited):
                ended = f"process {ev.pid} ended: {describe_exit(ev.exitcode, ev.signal)}"
                self.write(ev.worker, ev.time, "pulse", "INFO", ended)
            else:
                continue
            wrote = True
        if wrote:
            self.flush()

    def flush(self) -> None:
        """Flush what was written since the last call, rotating files that grew too big."""
        for worker in self._dirty:
            f = self._files.get(worker)
            if f is None:
                continue
            f.flush()
            if f.tell() >= self._max_bytes:
                self._rotate(worker)
        self._dirty.clear()

    def close(self) -> None:
        """Flush and close every file."""
        self.flush()
        for f in self._files.values():
            f.close()
        self._files.clear()

    def _open(self, worker: str) -> IO[str] | None:
        f = self._files.get(worker)
        if f is None and not self._failed:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                f = self._files[worker] = open(self.path(worker), "a", encoding="utf-8")  # noqa: SIM115
            except OSError:
                self._failed = True  # a read-only home must not stop supervision
                return None
        return f

    def _rotate(self, worker: str) -> None:
        self._files.pop(worker).close()
        base = self.path(worker)
        for i in range(self._backups, 0, -1):
            src = base if i == 1 else base.with_name(f"{base.name}.{i - 1}")
            if src.exists():
                os.replace(src, base.with_name(f"{base.name}.{i}"))
