"""One worker's row as the table shows it: its status, and what only the table keeps (a smoothed items/s)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from app.core.inspection import describe_exit
from app.core.policy import State
from app.core.worker_env import describe_setup
from app.core.worker_status import WorkerStatus

RATE_SMOOTHING_S = 3.0  # time constant of the items/s average


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
