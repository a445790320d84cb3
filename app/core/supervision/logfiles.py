"""Per-worker log files on disk: one user-only file per worker, rotated by size, flushed per poll."""

from __future__ import annotations

import collections
import errno
import fcntl
import hashlib
import os
import re
import time
from pathlib import Path
from typing import IO

from pulse_supervisor.core.processes.inspection import describe_exit
from pulse_supervisor.core.supervision.events import (
    COUNTERS_RESET,
    CountersReset,
    Event,
    LogLine,
    StateChanged,
    WorkerExited,
    WorkersChanged,
)

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_BACKUPS = 3
# Files kept open at once; the rest are reopened when they are next written. One open file per
# worker would cost a fleet of 1 000 workers 1 000 descriptors, the scarcest thing Pulse has.
DEFAULT_MAX_OPEN = 64
# Out of descriptors (EMFILE, ENFILE) is not for good: a worker's file is tried again this often.
RETRY_S = 1.0
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE)


def default_log_dir() -> Path:
    """Return ``$PULSE_LOG_DIR``, else ``$XDG_DATA_HOME/pulse/logs`` (``~/.local/share/...``)."""
    explicit = os.environ.get("PULSE_LOG_DIR")
    if explicit:
        return Path(explicit)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "pulse" / "logs"


def file_name(worker: str, suffix: str = "") -> str:
    """Return the log file name of ``worker``: portable, and distinct for distinct names.

    Names are free text; characters a file name should not hold become ``_``, and then a short
    hash of the real name keeps ``feed/1`` and ``feed 1`` from sharing ``feed_1.log``.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", worker)
    if safe != worker or safe.startswith("."):
        safe = f"{safe}-{hashlib.sha1(worker.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
    return f"{safe}{suffix}.log"


class LogFiles:
    """Appends each worker's log lines to ``<dir>/<worker>.log``, keeping ``backups`` rotations.

    Only the supervisor's polling thread calls it. Writes are buffered and flushed once per
    poll, so a chatty worker costs one write call per poll, not one per line. At most
    ``max_open`` files are open at once: the least recently written one is closed to open
    another, and opened again (appending) when next written. Nothing here may end supervision:
    a file that cannot be opened, locked or written (a read-only home, a full disk) is given up
    with a notice (`take_notices`), and that worker's lines stay in the window. A file that
    could not be opened for want of descriptors is tried again (`RETRY_S`) and, once open, says
    how many lines it missed. Files are user-only (0600 in a 0700 directory): program output
    can hold secrets. Each file is locked while open, so a second Pulse on the same config writes
    ``<worker>.<pid>.log`` instead of interleaving with, and rotating, the first one's.
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        max_open: int = DEFAULT_MAX_OPEN,
    ) -> None:
        self.directory = Path(directory)
        self._max_bytes = max_bytes
        self._backups = backups
        self._max_open = max(1, max_open)
        self._files: collections.OrderedDict[str, IO[str]] = collections.OrderedDict()  # least recent first
        self._paths: dict[str, Path] = {}
        self._dirty: set[str] = set()
        self._failed: set[str] = set()  # workers whose file was given up
        # Out of descriptors: worker -> when its file is tried again, and the entries it missed.
        self._retry_at: dict[str, float] = {}
        self._missed: dict[str, int] = {}
        self._dir_ready = False
        self._notices: list[LogLine] = []

    def path(self, worker: str) -> Path:
        """Return the path of ``worker``'s current log file."""
        return self._paths.get(worker) or self.directory / file_name(worker)

    def keeps(self, worker: str) -> bool:
        """Return whether ``worker``'s lines reach its file now (it was not given up, nor waits to be retried)."""
        return worker not in self._failed and worker not in self._retry_at

    def write(self, worker: str, when: float, stream: str, level: str, text: str) -> None:
        """Append one entry (multi-line text is indented under its first line)."""
        self._write_text(worker, _entry(when, stream, level, text))

    def _write_text(self, worker: str, text: str) -> None:
        f = self._open(worker)
        if f is None:
            return
        try:
            f.write(text)
        except (OSError, ValueError) as exc:
            self._give_up(worker, "cannot be written", exc)
            return
        self._dirty.add(worker)

    def write_events(self, events: list[Event]) -> list[LogLine]:
        """Append the log lines, state changes and exits in ``events``, flush; return new notices."""
        wrote = False
        # A worker's lines in a row are written as one text: a print flood brings 10^5 a second.
        run: list[str] = []
        run_worker = ""
        for ev in events:
            if type(ev) is LogLine:
                if ev.worker != run_worker and run:
                    self._write_text(run_worker, "".join(run))
                    run.clear()
                run_worker = ev.worker
                run.append(_entry(ev.time, ev.stream, ev.level, ev.line))
                wrote = True
                continue
            if run:
                self._write_text(run_worker, "".join(run))
                run.clear()
            if isinstance(ev, StateChanged):
                pid = f" (pid {ev.pid})" if ev.pid else ""
                self.write(ev.worker, ev.time, "pulse", "INFO", f"state {ev.state.value}{pid}")
            elif isinstance(ev, WorkerExited):
                ended = f"process {ev.pid} ended: {describe_exit(ev.exitcode, ev.signal)}"
                self.write(ev.worker, ev.time, "pulse", "INFO", ended)
            elif isinstance(ev, CountersReset):
                self.write(ev.worker, ev.time, "pulse", "INFO", COUNTERS_RESET)
            elif isinstance(ev, WorkersChanged):
                # A removed worker's file is done with (its last lines came before this): close it,
                # or a long session holds one descriptor per worker ever removed.
                for worker in [w for w in self._files if w not in ev.names]:
                    self._close(worker)
                for worker in [w for w in self._retry_at if w not in ev.names]:
                    del self._retry_at[worker], self._missed[worker]
                continue
            else:
                continue
            wrote = True
        if run:
            self._write_text(run_worker, "".join(run))
        if wrote:
            self.flush()
        return self.take_notices()

    def take_notices(self) -> list[LogLine]:
        """Return (and forget) the notices of files given up since the last call."""
        notices, self._notices = self._notices, []
        return notices

    def flush(self) -> None:
        """Flush what was written since the last call, rotating files that grew too big."""
        for worker in self._dirty:
            f = self._files.get(worker)
            if f is None:
                continue
            try:
                f.flush()
                if f.tell() >= self._max_bytes:
                    self._rotate(worker)
            except (OSError, ValueError) as exc:
                self._give_up(worker, "cannot be written", exc)
        self._dirty.clear()

    def close(self) -> None:
        """Flush and close every file."""
        self.flush()
        for worker in list(self._files):
            self._close(worker)

    @property
    def open_count(self) -> int:
        """Return how many log files are open now (each holds a descriptor)."""
        return len(self._files)

    def _open(self, worker: str) -> IO[str] | None:
        f = self._files.get(worker)
        if f is not None:
            self._files.move_to_end(worker)
            return f
        if worker in self._failed:
            return None
        if worker in self._retry_at and time.monotonic() < self._retry_at[worker]:
            self._missed[worker] += 1
            return None
        while len(self._files) >= self._max_open:
            self._evict()
        try:
            self._prepare_dir()
            f = self._open_locked(worker)
        except OSError as exc:
            if exc.errno in _OUT_OF_DESCRIPTORS and self._files:
                self._evict()  # log files are the descriptors Pulse can best spare
                return self._open(worker)
            self._give_up(worker, "cannot be opened", exc)
            return None
        self._files[worker] = f
        if worker in self._retry_at:
            del self._retry_at[worker]
            self._say_missed(worker, f, self._missed.pop(worker))
        return f

    def _evict(self) -> None:
        """Close the least recently written file (written out first: a failure there is its notice)."""
        worker, f = next(iter(self._files.items()))
        try:
            f.flush()
        except (OSError, ValueError) as exc:
            self._give_up(worker, "cannot be written", exc)
            return
        self._close(worker)

    def _say_missed(self, worker: str, f: IO[str], entries: int) -> None:
        """Say in the file, and in a notice, that it missed ``entries`` while Pulse was out of descriptors."""
        line = f"log file {self.path(worker)} is written again; {entries} entries before this one are not in it"
        self._notices.append(LogLine(worker, "pulse", "INFO", line, time.time()))
        gap = f"{entries} entries missing here: Pulse was out of descriptors"
        f.write(_entry(time.time(), "pulse", "WARNING", gap))

    def _prepare_dir(self) -> None:
        if self._dir_ready:
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.directory.stat().st_mode & 0o077 and self.directory.stat().st_uid == os.getuid():
            os.chmod(self.directory, 0o700)  # made by an older Pulse, world-readable
        self._dir_ready = True

    def _open_locked(self, worker: str) -> IO[str]:
        """Open the worker's file, or, if another process holds it, one named after our pid.

        A file closed to make room is reopened where it was, if it still can be.
        """
        paths = [self.directory / file_name(worker, suffix) for suffix in ("", f".{os.getpid()}")]
        if worker in self._paths:
            paths.insert(0, self._paths[worker])
        for path in dict.fromkeys(paths):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            except OSError:
                os.close(fd)
                raise
            os.fchmod(fd, 0o600)
            self._paths[worker] = path
            # backslashreplace: a lone surrogate (a file name through os.fsdecode) is written escaped.
            return open(fd, "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
        raise OSError(f"{self.directory / file_name(worker)} is locked by another process")

    def _give_up(self, worker: str, what: str, exc: BaseException) -> None:
        path = self.path(worker)
        self._close(worker)
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_DESCRIPTORS:
            if worker not in self._retry_at:
                line = f"log file {path} {what} ({exc}); its lines stay in the window, and it is tried again"
                self._notices.append(LogLine(worker, "pulse", "WARNING", line, time.time()))
            self._retry_at[worker] = time.monotonic() + RETRY_S
            self._missed[worker] = self._missed.get(worker, 0) + 1  # the entry that failed to open it
            return
        self._failed.add(worker)
        line = f"log file {path} {what} ({exc}); this worker's lines are no longer kept on disk"
        self._notices.append(LogLine(worker, "pulse", "WARNING", line, time.time()))

    def _close(self, worker: str) -> None:
        f = self._files.pop(worker, None)
        if f is None:
            return
        try:
            f.close()
        except (OSError, ValueError):
            try:  # the buffer could not be written: close the descriptor anyway
                os.close(f.fileno())
            except (OSError, ValueError):
                pass

    def _rotate(self, worker: str) -> None:
        base = self.path(worker)
        for i in range(self._backups, 0, -1):  # while we still hold the lock on ``base``
            src = base if i == 1 else base.with_name(f"{base.name}.{i - 1}")
            if src.exists():
                os.replace(src, base.with_name(f"{base.name}.{i}"))
        self._close(worker)
        del self._paths[worker]


_second: tuple[int, str] = (-1, "")  # the last second stamped, and its text: strftime costs ~3 us a line


def _entry(when: float, stream: str, level: str, text: str) -> str:
    """Return one entry as the file holds it (multi-line text indented under its first line)."""
    global _second
    second, day_time = _second  # read once: another thread may stamp another second meanwhile
    if int(when) != second:
        second, day_time = _second = (int(when), time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)))
    body = text.replace("\n", "\n    ")
    return f"{day_time}.{int(when % 1 * 1000):03d} {level:<8} {stream:<8} {body}\n"
