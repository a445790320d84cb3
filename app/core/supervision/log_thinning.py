"""Thinning a flood of log lines for a view: each worker's newest lines, and one exact note for the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

from pulse_supervisor.core.supervision.events import LinesSkipped, LogLine

if TYPE_CHECKING:
    from collections.abc import Callable

    from pulse_supervisor.core.supervision.events import Event

# Lines a view is sent at most per emission (about 60 a second), every worker together: far more
# than a person can read, and a few ms of the GUI thread's time (a line costs it ~3 us). A print
# flood sent whole (80 000 lines/s, 5 000-30 000 a frame) cost it 20-100 ms a frame.
LINES_PER_EMIT = 256
# A worker keeps at least this many of its lines in an emission, however many others flood: a
# note in place of a handful of lines would save the view nothing.
MIN_KEPT = 8


def _thinnable(ev: Event) -> TypeGuard[LogLine]:
    """A line a worker printed or logged: not a traceback, not one of Pulse's own notes."""
    return type(ev) is LogLine and not ev.traceback and ev.stream != "pulse"


def count_lines(events: list[Event]) -> int:
    """Return how many of ``events`` are lines `thin_lines` may leave out."""
    return sum(1 for ev in events if _thinnable(ev))


def thin_lines(events: list[Event], most: int, in_file: Callable[[str], bool]) -> list[Event]:
    """Return ``events`` with at most about ``most`` of the workers' printed or logged lines.

    Each worker keeps its newest lines, a fair share of ``most`` (workers with fewer keep all
    theirs, and the rest is shared among the others, at least `MIN_KEPT` each); the older ones
    are replaced, where the last of them was, by one `LinesSkipped` with their exact count, which
    takes in any earlier one of that worker in ``events`` (thinning again what was thinned
    leaves one note a worker). Tracebacks and Pulse's own notes are always kept; every other
    event keeps its place. ``in_file(worker)`` says whether the worker's log file holds the
    lines left out (the supervisor wrote them there before returning them).
    """
    counts: dict[str, int] = {}
    for ev in events:
        if _thinnable(ev):
            counts[ev.worker] = counts.get(ev.worker, 0) + 1
    if sum(counts.values()) <= most:
        return events
    skip: dict[str, int] = {}
    left, workers = most, len(counts)
    for worker, n in sorted(counts.items(), key=lambda kv: kv[1]):  # the quietest first: they keep all
        keep = min(n, max(MIN_KEPT, left // workers))
        left, workers = max(0, left - keep), workers - 1
        if n > keep + 1:  # a note in place of one line saves nothing
            skip[worker] = n - keep
    earlier: dict[str, tuple[int, bool]] = {}  # worker -> lines its earlier notes counted, all in its file
    for ev in events:
        if type(ev) is LinesSkipped and ev.worker in skip:
            count, kept = earlier.get(ev.worker, (0, True))
            earlier[ev.worker] = (count + ev.count, kept and ev.in_file)
    out: list[Event] = []
    dropped: dict[str, int] = {}
    for ev in events:
        if type(ev) is LinesSkipped and ev.worker in skip:
            continue  # taken into this worker's new note
        if _thinnable(ev) and ev.worker in skip:
            worker = ev.worker
            done, total = dropped.get(worker, 0) + 1, skip[worker]
            if done <= total:
                dropped[worker] = done
                if done == total:  # the note goes where the last line left out was
                    count, kept = earlier.get(worker, (0, True))
                    out.append(LinesSkipped(worker, count + total, ev.time, kept and in_file(worker)))
                continue
        out.append(ev)
    return out
