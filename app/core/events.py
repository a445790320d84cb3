"""Events the supervisor reports, in order, to the GUI and to headless mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.policy import State


@dataclass(frozen=True, slots=True)
class ItemBatch:
    """Items one worker sent in one message; item ``i`` has sequence ``first_seq + i``."""

    worker: str
    first_seq: int
    items: list[Any]
    sent_ns: int  # time.monotonic_ns() in the worker when the batch left
    received_ns: int  # time.monotonic_ns() in this process when it was decoded
    lost_before: int = 0  # sequence numbers skipped just before this batch

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
class StateChanged:
    """A worker entered ``state``; ``pid`` is the live process, if any."""

    worker: str
    state: State
    pid: int | None
    time: float  # time.time() here
    restarts: int = 0  # automatic restarts since the worker was added


@dataclass(frozen=True, slots=True)
class WorkerExited:
    """A worker process ended and was reaped; ``signal`` is set when a signal killed it."""

    worker: str
    pid: int
    exitcode: int | None
    signal: int | None
    time: float


@dataclass(frozen=True, slots=True)
class StackDump:
    """The worker's current Python stack, all threads, as text."""

    worker: str
    text: str


@dataclass(frozen=True, slots=True)
class WorkersChanged:
    """The set of configured workers changed (config applied, worker added or removed)."""

    names: tuple[str, ...]


Event = ItemBatch | LogLine | StateChanged | WorkerExited | StackDump | WorkersChanged
