"""Cheap CPU % and RSS of many processes, sampled every second for the worker table."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable

import psutil

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_USE_PROC = sys.platform.startswith("linux") and os.path.isdir("/proc/self")
# Files kept open: past these, a process's file is opened for each sample (~6 µs more a process),
# so a fleet of 1 000 workers does not cost the window 1 000 more descriptors.
DEFAULT_MAX_OPEN = 64


class ProcStats:
    """Samples (CPU % since the previous sample, RSS bytes) for a set of pids.

    On Linux the ``/proc/<pid>/stat`` of up to ``max_open`` pids stays open and is re-read with
    one ``pread`` (about 5 µs a process, against ~35 µs for psutil's open-read-parse of two
    files), any other pid's is opened, read and closed (~6 µs more); other systems use psutil.
    A process is forgotten, and its file closed, as soon as a sample does not ask for it, so a
    recycled pid never inherits an old counter.

    Parameters
    ----------
    clock : callable
        Monotonic clock (seconds) the CPU % is measured against.
    max_open : int
        How many files may stay open between samples.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_open: int = DEFAULT_MAX_OPEN) -> None:
        self._clock = clock
        self._max_open = max_open
        self._fds: dict[int, int] = {}
        self._psutil: dict[int, psutil.Process] = {}
        self._last: dict[int, tuple[float, float]] = {}  # pid -> (clock, cpu seconds)

    def sample(self, pids: Iterable[int]) -> dict[int, tuple[float | None, int | None]]:
        """Return ``{pid: (cpu %, rss)}``; CPU % is None on a pid's first sample, both None once it is gone."""
        wanted = set(pids)
        for pid in set(self._fds) - wanted:
            os.close(self._fds.pop(pid))
        for pid in set(self._psutil) - wanted:
            del self._psutil[pid]
        for pid in set(self._last) - wanted:
            del self._last[pid]
        now = self._clock()
        out: dict[int, tuple[float | None, int | None]] = {}
        for pid in wanted:
            times = self._read(pid)
            if times is None:
                self._last.pop(pid, None)
                out[pid] = (None, None)
                continue
            cpu_seconds, rss = times
            previous = self._last.get(pid)
            self._last[pid] = (now, cpu_seconds)
            cpu = None
            if previous is not None and now > previous[0]:
                cpu = max(0.0, 100.0 * (cpu_seconds - previous[1]) / (now - previous[0]))
            out[pid] = (cpu, rss)
        return out

    def close(self) -> None:
        """Close every file kept open."""
        self.sample(())

    def _read(self, pid: int) -> tuple[float, int] | None:
        """Return (user + system CPU seconds, RSS bytes) of ``pid``, or None if it is gone."""
        if _USE_PROC:
            return self._read_proc(pid)
        proc = self._psutil.get(pid)
        try:
            if proc is None:
                proc = self._psutil[pid] = psutil.Process(pid)
            with proc.oneshot():
                t = proc.cpu_times()
                return t.user + t.system, proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            self._psutil.pop(pid, None)
            return None

    def _read_proc(self, pid: int) -> tuple[float, int] | None:
        fd = self._fds.get(pid)
        kept = fd is not None
        try:
            if fd is None:
                fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
                kept = len(self._fds) < self._max_open
                if kept:
                    self._fds[pid] = fd
            data = os.pread(fd, 1024, 0)
        except OSError:  # gone (ESRCH once reaped, ENOENT before we opened)
            if kept:
                os.close(self._fds.pop(pid))
            elif fd is not None:
                os.close(fd)
            return None
        if not kept:
            os.close(fd)
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = data[data.rindex(b")") + 2 :].split()
        # proc(5): utime and stime are fields 14 and 15, rss field 24 (1-based, pid is 1).
        return (int(fields[11]) + int(fields[12])) / _TICKS, int(fields[21]) * _PAGE
