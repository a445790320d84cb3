"""One worker's row as the table shows it: its status, what only the table keeps, each column's text and sort key."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from pulse_supervisor.core.processes.inspection import describe_exit, format_bytes, format_count, format_duration
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.worker_status import WorkerStatus
from pulse_supervisor.core.wire.item_text import item_text
from pulse_supervisor.core.worker.worker_env import describe_setup

RATE_SMOOTHING_S = 3.0  # time constant of the items/s average
COLUMNS = (
    "Name", "State", "PID", "Uptime", "Items", "Rate/s", "Lost", "Restarts", "CPU %", "RSS", "Node", "Last item"
)  # fmt: skip
NODE = 10  # the Node column
STATE_COLOURS = {
    State.STOPPED: "#9e9e9e",
    State.STARTING: "#f0ad4e",
    State.RUNNING: "#3c9d3c",
    State.BACKOFF: "#e08a1e",
    State.STOPPING: "#5b8bd0",
    State.EXITED: "#7a7a7a",
    State.FATAL: "#d9534f",
}
LAST_ITEM_CHARS = 80


@dataclass
class WorkerRow:
    """What the table shows about one worker: its `WorkerStatus` (state, pid, counts, owned by the
    QtSupervisor) and what only the table keeps (uptime, rate, CPU, RSS, the last item)."""

    status: WorkerStatus
    started: float | None = None  # monotonic time the current process started
    last_item: Any = None
    has_item: bool = False
    last_item_text: str | None = None  # the table's text of last_item, once made (None: not yet)
    rate: float = 0.0
    cpu: float | None = None
    rss: int | None = None
    lag_ms: float | None = None  # producer send -> decoded here, for the newest batch
    _rate_mark: tuple[float, int] = field(default_factory=lambda: (time.monotonic(), 0))
    _rate_seeded: bool = False

    @property
    def name(self) -> str:
        """Return the worker's name."""
        return self.status.name

    @property
    def state(self) -> State:
        """Return the worker's state."""
        return self.status.state

    @property
    def pid(self) -> int | None:
        """Return the pid of the worker's live process, if any."""
        return self.status.pid

    @property
    def received(self) -> int:
        """Return the items received since the worker was added or its counters reset."""
        return self.status.received

    def reset_counters(self, now: float) -> None:
        """Start the rate afresh (the status's counts are reset by its owner)."""
        self.rate = 0.0
        self._rate_mark = (now, 0)
        self._rate_seeded = False

    def update_rate(self, now: float) -> None:
        """Update items/s from the items since the last call (called by the view's refresh timer).

        Averaged over about RATE_SMOOTHING_S: a worker sending 1 item/s, counted on a 1 s tick
        whose phase drifts against it, would otherwise read 0, 2, 1, 0, 2 items/s; an average
        reads a steady 1.0. A worker with no process has no rate (the items its stop flushed
        included: they read 0.9/s for a tick), and its next run starts one afresh.
        """
        if self.pid is None:
            self.rate, self._rate_seeded, self._rate_mark = 0.0, False, (now, self.received)
            return
        then, count = self._rate_mark
        elapsed = now - then
        if elapsed < 0.5:
            return
        new = self.received - count
        now_rate = new / elapsed
        if not self._rate_seeded:
            self.rate, self._rate_seeded = now_rate, True
        else:
            self.rate += (1.0 - math.exp(-elapsed / RATE_SMOOTHING_S)) * (now_rate - self.rate)
        self._rate_mark = (now, self.received)

    def tooltip(self) -> str:
        """Return the row's tooltip: state, counts, the last exit and the last error line."""
        st = self.status
        parts = [f"{st.name}: {st.state.value}"]
        if st.state is State.FATAL and st.fatal_reason:
            parts.append(f"gave up: {st.fatal_reason}")
        elif st.reason:
            parts.append(st.reason)
        rate = "" if self.pid is None else f" ({self.rate:,.1f}/s)"
        parts.append(f"items: {st.received:,}{rate}, lost: {st.lost:,}, restarts: {st.restarts}")
        if st.last_exit is not None:
            parts.append(f"last exit: {describe_exit(*st.last_exit)}")
        if st.last_traceback:
            lines = st.last_traceback.strip().splitlines()
            crash = lines[0].startswith("Fatal Python error:")  # faulthandler's report: the crash comes first
            parts.append("last error:\n" + lines[0 if crash else -1])
        parts.extend(f"{key.lower()}: {text}" for key, text in describe_setup(st.spec).items())
        return "\n".join(parts)

    def text(self, col: int) -> str:
        """Return the text of column ``col`` (see `COLUMNS`)."""
        if col == 0:
            return self.name
        if col == 1:
            return self.state.value
        if col == 2:
            return "" if self.pid is None else str(self.pid)
        if col == 3:
            return "" if self.started is None else format_duration(time.monotonic() - self.started)
        if col == 4:
            return format_count(self.received)
        if col == 5:  # no process, no rate: empty, as uptime, CPU and RSS are
            return "" if self.pid is None else format_count(self.rate) if self.rate >= 10 else f"{self.rate:.1f}"
        if col == 6:
            return format_count(self.status.lost)
        if col == 7:
            return str(self.status.restarts)
        if col == 8:
            return "" if self.cpu is None else f"{self.cpu:.1f}"
        if col == 9:
            return format_bytes(self.rss) if self.rss is not None else ""
        if col == NODE:
            return self.status.node or ("local" if self.pid is not None else "")
        if not self.has_item:
            return ""
        if self.last_item_text is None:
            self.last_item_text = elide(self.last_item)
        return self.last_item_text

    def sort_key(self, col: int) -> Any:
        """Return what column ``col`` sorts by: numbers as numbers, an empty cell first."""
        if col == 0:
            return self.name.lower()
        if col == 1:
            return list(State).index(self.state)
        if col >= NODE:  # node, last item
            return self.text(col)
        if col == 3:
            return -1.0 if self.started is None else time.monotonic() - self.started
        st = self.status
        value = (None, None, st.pid, None, st.received, self.rate, st.lost, st.restarts, self.cpu, self.rss)[col]
        return -1 if value is None else value


def elide(item: Any, limit: int = LAST_ITEM_CHARS) -> str:
    """Return a bounded one-line text of ``item`` (see `item_text`: never raises, whatever the item)."""
    return item_text(item, limit)
