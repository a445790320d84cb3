"""The descriptors Pulse's process has left: a start refused before it could run out, and a notice near the limit."""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass

from pulse_supervisor.core.supervision.events import DescriptorsLow

if sys.platform != "win32":
    import resource

# Free descriptors a start needs: at its peak a local one holds 6 new ones (its channel and
# output pipes, both ends) and the forkserver request 5 more, and its log file one; the rest is
# room for what other threads open meanwhile (the window, an inspection, Ray). Under it a start
# is refused before it begins, so no launch ever runs out half-way.
START_RESERVE = 32
# Below this share of the limit free, the fleet is near it: the window and headless say so.
LOW_SHARE = 0.10
# A count costs ~1 ms per 1 500 descriptors (a listing of /proc/self/fd), so starts far from the
# limit are estimated: each adds at most this many until the next count.
_PER_START = 8
_RECOUNT_EVERY = 64
_OUT = (errno.EMFILE, errno.ENFILE)


def soft_limit() -> int | None:
    """Return this process's soft limit on open descriptors (None: none, or no such limit here)."""
    if sys.platform == "win32":
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def count_open(limit: int) -> int | None:
    """Return how many descriptors this process has open now (None: this OS cannot list them).

    A listing that fails for want of a descriptor means there is none left: ``limit``.
    """
    for path in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(path)) - 1  # less the listing's own
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno in _OUT:
                return limit
            return None
    return None


def log_files_share(limit: int | None) -> int:
    """Return how many log files may be open at once: a sixteenth of ``limit``, between 4 and 64."""
    return 64 if limit is None else max(4, min(64, limit // 16))


def out_of_descriptors(exc: BaseException | None) -> bool:
    """Return whether ``exc``, or what caused it, is an OSError for want of descriptors (EMFILE, ENFILE)."""
    seen = 0
    while exc is not None and seen < 8:  # a chain, never a cycle, but bounded all the same
        if isinstance(exc, OSError) and exc.errno in _OUT:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


@dataclass(frozen=True, slots=True)
class Count:
    """Descriptors open in this process, against its soft limit."""

    open: int
    limit: int

    @property
    def free(self) -> int:
        """Return how many more may be opened."""
        return max(0, self.limit - self.open)

    @property
    def low(self) -> bool:
        """Return whether fewer than `LOW_SHARE` of the limit (at least `START_RESERVE`) are free."""
        return self.free < self._threshold

    @property
    def recovered(self) -> bool:
        """Return whether half as many again are free: a fleet hovering at the edge is not said to leave it."""
        return self.free >= 1.5 * self._threshold

    @property
    def _threshold(self) -> float:
        return max(START_RESERVE, LOW_SHARE * self.limit)


def refusal_text(workers: int, count: Count, *, failed: bool = False) -> str:
    """Return why a start was refused (or ``failed`` for want of descriptors): ``too many open files: ...``."""
    need = "" if failed else f"a start needs {START_RESERVE} free; "
    return (
        f"too many open files: {workers} workers hold {count.open} of {count.limit} descriptors "
        f"({need}raise the hard limit, ulimit -Hn, or run fewer workers)"
    )


class FdBudget:
    """Counts this process's descriptors when it matters; used by the supervisor's polling thread.

    Parameters
    ----------
    limit : int or None
        The soft limit (default: this process's now); None: no limit, nothing is ever refused.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit if limit is not None else soft_limit()
        self.low = False  # as last said (`notice`)
        self._last: Count | None = None
        self._starts = 0  # since the last count

    def count(self, *, exact: bool = False) -> Count | None:
        """Return the count: a fresh one near the limit (or ``exact``), else an estimate from the last."""
        if self.limit is None:
            return None
        last = self._last
        if last is not None and not exact and self._starts < _RECOUNT_EVERY:
            estimate = Count(last.open + _PER_START * self._starts, self.limit)
            if estimate.free >= 2 * estimate._threshold:
                return estimate
        now = count_open(self.limit)
        if now is None:
            return None
        self._last, self._starts = Count(now, self.limit), 0
        return self._last

    def refusal(self, workers: int, error: BaseException | None = None) -> str | None:
        """Return why a start must not go ahead (or, given its ``error``, why it failed); None: no reason.

        ``workers`` is how many runs are live. A start is refused when fewer than `START_RESERVE`
        descriptors are free; one that failed for want of descriptors (another thread took them
        meanwhile, or the system's table is full) is told the same way.
        """
        if error is not None and not out_of_descriptors(error):
            return None
        count = self.count(exact=error is not None)
        if count is None:
            return None if error is None else f"too many open files: {error}"
        if error is None and count.free >= START_RESERVE:
            return None
        return refusal_text(workers, count, failed=error is not None)

    def started(self) -> None:
        """Note a start: it holds a few more descriptors until the next count."""
        self._starts += 1

    def notice(self, workers: int, *, exact: bool = False) -> DescriptorsLow | None:
        """Return the event when the fleet has just come near the limit, or away from it again; else None."""
        count = self.count(exact=exact or self.low)  # while low, every look is a count: leaving it shows at once
        if count is None or (count.low if not self.low else not count.recovered) == self.low:
            return None
        self.low = not self.low
        return DescriptorsLow(workers, count.open, count.limit, self.low)
