"""Events the supervisor reports, in order, to the GUI and to headless mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulse_supervisor.core.supervision.policy import State


@dataclass(frozen=True, slots=True)
class ItemBatch:
    """Items one worker sent in one message; item ``i`` has sequence ``first_seq + i``."""

    worker: str
    first_seq: int
    items: list[Any]
    sent_ns: int  # time.monotonic_ns() in the worker when the batch left
    received_ns: int  # time.monotonic_ns() in this process when it was decoded
    lost_before: int = 0  # sequence numbers skipped just before this batch
    stand_ins: bool = False  # some items hold `item_forms.StandIn` or `Pickled` objects

    @property
    def next_seq(self) -> int:
        """Return the sequence number the next batch should start at."""
        return self.first_seq + len(self.items)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a worker printed or logged, or a whole traceback when ``traceback`` is set."""

    worker: str
    stream: str  # "stdout" | "stderr" | "logging"
    level: str  # "INFO", "WARNING", "ERROR", ...; stdout is INFO and stderr WARNING
    line: str
    time: float  # time.time() in the worker
    traceback: bool = False


@dataclass(frozen=True, slots=True)
class LinesSkipped:
    """Lines of ``worker`` a view was not sent in a flood (``count``, exactly), in place of the oldest of them.

    Only the window's consumer makes these (`log_thinning`); the supervisor wrote every line to
    the worker's log file first, unless that file was given up (``in_file`` False).
    """

    worker: str
    count: int
    time: float  # time.time() in the worker of the last line left out
    in_file: bool = True

    @property
    def message(self) -> str:
        """Return the note in words: ``"1,077 lines not shown; all are in the log file"``."""
        lines = f"{self.count:,} line{'' if self.count == 1 else 's'} not shown"
        if self.in_file:
            return f"{lines}; all are in the log file"
        return f"{lines}; its log file is not being written, so they are not kept anywhere"


@dataclass(frozen=True, slots=True)
class StateChanged:
    """A worker entered ``state``; ``pid`` is the live process, if any."""

    worker: str
    state: State
    pid: int | None
    time: float  # time.time() here
    restarts: int = 0  # automatic restarts since the worker was added (or its counters were reset)
    reason: str = ""  # for FATAL: why the supervisor gave up; after a limit: "restarting: RSS ... over max_rss ..."
    node: str = ""  # where the live process is: "" this machine, else the backend's name for its node


@dataclass(frozen=True, slots=True)
class WorkerExited:
    """A worker process ended and was reaped; ``signal`` is set when a signal killed it."""

    worker: str
    pid: int
    exitcode: int | None
    signal: int | None
    time: float


@dataclass(frozen=True, slots=True)
class CountersReset:
    """The worker's items, lost items and restarts count from zero from here on (the user asked)."""

    worker: str
    time: float  # time.time() here


COUNTERS_RESET = "counters reset"  # what logs say for a `CountersReset`


@dataclass(frozen=True, slots=True)
class StackDump:
    """The worker's current Python stack, all threads, as text."""

    worker: str
    text: str


@dataclass(frozen=True, slots=True)
class WorkersChanged:
    """The set of configured workers changed (config applied, worker added or removed)."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StartFailed:
    """A start of ``worker`` failed before its process ran (its state goes on as after a failed run)."""

    worker: str
    reason: str  # e.g. "too many open files: 52 workers hold 230 of 256 descriptors (...)"
    time: float


@dataclass(frozen=True, slots=True)
class DescriptorsLow:
    """Pulse's process came near its limit on open descriptors (``low``), or has room again.

    Near the limit, starts may be refused (each needs some free); workers already running go on.
    """

    workers: int  # live runs
    open: int  # descriptors open in Pulse's process
    limit: int  # its soft limit
    low: bool

    @property
    def message(self) -> str:
        """Return the notice in words."""
        held = f"{self.workers} workers: {self.open} of {self.limit} descriptors open"
        if self.low:
            return f"Near the limit on open files ({held}); further starts may be refused. Raise it: ulimit -Hn"
        return f"Open files: room again ({held})"


Event = (
    ItemBatch
    | LogLine
    | LinesSkipped
    | StateChanged
    | WorkerExited
    | StackDump
    | WorkersChanged
    | CountersReset
    | StartFailed
    | DescriptorsLow
)


def kept_runs(count: int, dropped: list[int]) -> list[tuple[int, int, int]]:
    """Return ``(start, stop, dropped just before)`` for each run of items kept among ``count``.

    ``dropped`` are the indices (ascending) of the items that could not be delivered. When the
    last items were dropped, a final empty run ``(count, count, n)`` says so now, rather than at
    the next batch.
    """
    runs: list[tuple[int, int, int]] = []
    start = kept_to = 0  # the next index after a dropped one; the end of the last run
    for i in [*dropped, count]:
        if i > start:
            runs.append((start, i, start - kept_to))  # everything since the last run was dropped
            kept_to = i
        start = i + 1
    if dropped and dropped[-1] == count - 1:
        runs.append((count, count, count - kept_to))
    return runs


def merge_batches(events: list[Event]) -> list[Event]:
    """Return ``events`` with each worker's consecutive, gap-free ItemBatches merged into one.

    A worker's run of batches ends at any other event of that worker or at a sequence gap, so
    every worker's events keep their order; batches of different workers may interleave. The
    merged batch keeps the first batch's ``first_seq`` and ``lost_before`` and the last one's
    ``sent_ns``/``received_ns``. The GUI then pays per worker per frame, not per message.
    """
    out: list[Any] = []
    runs: dict[str, tuple[int, list[Any] | None]] = {}  # worker -> (index in out, merged items or None)
    for ev in events:
        if type(ev) is ItemBatch:
            run = runs.get(ev.worker)
            if run is not None:
                i, items = run
                head = out[i]
                if ev.first_seq == head.first_seq + len(head.items) and not ev.lost_before:
                    if items is None:  # first merge: a list of our own, never one someone holds
                        items = list(head.items)
                        runs[ev.worker] = (i, items)
                    items.extend(ev.items)
                    out[i] = ItemBatch(
                        ev.worker,
                        head.first_seq,
                        items,
                        ev.sent_ns,
                        ev.received_ns,
                        head.lost_before,
                        head.stand_ins or ev.stand_ins,
                    )
                    continue
            runs[ev.worker] = (len(out), None)
        else:
            worker = getattr(ev, "worker", None)
            if worker is None:
                runs.clear()
            else:
                runs.pop(worker, None)
        out.append(ev)
    return out
