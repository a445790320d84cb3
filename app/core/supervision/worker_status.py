"""What the events say about each worker: state, process, counts; kept where the events arrive."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pulse_supervisor.core.spec import WorkerSpec
from pulse_supervisor.core.supervision.events import (
    CountersReset,
    Event,
    ItemBatch,
    LogLine,
    StateChanged,
    WorkerExited,
)
from pulse_supervisor.core.supervision.policy import State


@dataclass
class WorkerStatus:
    """One worker as its events have told it, in the thread that reads them (read-only elsewhere).

    Attributes
    ----------
    spec : WorkerSpec
        What the worker runs (the newest spec given: a changed one applies at its next start).
    state, pid, restarts, node : as the last `StateChanged` said
    reason : str
        Its reason: why the worker went FATAL, or was restarted for crossing a limit ("" if none).
    fatal_reason : str
        The reason, in FATAL only.
    last_exit : (exitcode, signal) of the last run, or None
    received, lost : int
        Items delivered, and items sent that never arrived, since the worker was added or its
        counters reset; their sum is what the worker has sent, as far as Pulse has read.
    last_traceback : str
        The last traceback the worker reported ("" if none).
    """

    spec: WorkerSpec
    state: State = State.STOPPED
    pid: int | None = None
    node: str = ""
    restarts: int = 0
    fatal_reason: str = ""
    reason: str = ""
    last_exit: tuple[int | None, int | None] | None = None
    received: int = 0
    lost: int = 0
    last_traceback: str = ""

    @property
    def name(self) -> str:
        """Return the worker's name."""
        return self.spec.name

    @property
    def sent(self) -> int:
        """Return how many items the worker has sent, as far as Pulse has read its channel."""
        return self.received + self.lost

    def apply(self, event: Event) -> None:
        """Fold one of this worker's events in."""
        if isinstance(event, ItemBatch):
            self.received += len(event.items)
            self.lost += event.lost_before
        elif isinstance(event, StateChanged):
            self.state, self.pid, self.restarts, self.node = event.state, event.pid, event.restarts, event.node
            self.reason = event.reason
            self.fatal_reason = event.reason if event.state is State.FATAL else ""
        elif isinstance(event, WorkerExited):
            self.last_exit = (event.exitcode, event.signal)
        elif isinstance(event, LogLine) and event.traceback:
            self.last_traceback = event.line
        elif isinstance(event, CountersReset):  # the items before it came before the reset
            self.reset_counters()

    def reset_counters(self) -> None:
        """Count items, lost items and restarts from zero."""
        self.received = self.lost = self.restarts = 0


def changes_status(event: Event) -> bool:
    """Whether `WorkerStatus.apply` changes the state, pid, restarts, exit or traceback for ``event``
    (an `ItemBatch` changes only the counts)."""
    return isinstance(event, StateChanged | WorkerExited | CountersReset) or (
        isinstance(event, LogLine) and event.traceback
    )


class WorkerStatuses:
    """Every worker's `WorkerStatus`, in config order; `fold` keeps them true to a stream of events.

    Names change here at once when a worker is added or removed (the supervisor's own
    `WorkersChanged` arrives a poll later); events of a worker no longer here are ignored.
    """

    def __init__(self, specs: Iterable[WorkerSpec] = ()) -> None:
        self._by_name: dict[str, WorkerStatus] = {s.name: WorkerStatus(s) for s in specs}

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[WorkerStatus]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def __getitem__(self, name: str) -> WorkerStatus:
        return self._by_name[name]

    def get(self, name: str) -> WorkerStatus | None:
        """Return the status of ``name``, or None if there is no such worker."""
        return self._by_name.get(name)

    def names(self) -> list[str]:
        """Return the workers' names, in config order."""
        return list(self._by_name)

    def add(self, spec: WorkerSpec) -> WorkerStatus:
        """Add a worker (STOPPED, counts at zero) at the end; return its status."""
        status = self._by_name[spec.name] = WorkerStatus(spec)
        return status

    def remove(self, name: str) -> None:
        """Forget ``name``."""
        del self._by_name[name]

    def replace_specs(self, specs: Iterable[WorkerSpec]) -> None:
        """Become ``specs``, in their order: workers kept keep their state and counts."""
        old = self._by_name
        self._by_name = {}
        for spec in specs:
            status = old.get(spec.name) or WorkerStatus(spec)
            status.spec = spec
            self._by_name[spec.name] = status

    def fold(self, events: Iterable[Event]) -> None:
        """Apply each event to its worker's status."""
        by_name = self._by_name
        for ev in events:
            status = by_name.get(getattr(ev, "worker", ""))
            if status is not None:
                status.apply(ev)
