"""Notice when busy workers starve the window of CPU, so the user can be told the remedy."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

# A window tick this late is a stall a user sees (a frozen table and status bar).
STALL_S = 0.5
# This many stalls within WINDOW_S, while the workers use BUSY_SHARE of every CPU, mean the
# machine is saturated by the workers (64 workers at 1 000 items/s on 2 cores: stalls of 0.5-2 s
# with the workers at 1.2-1.8 cores), not a one-off hiccup.
STALLS = 3
WINDOW_S = 30.0
BUSY_SHARE = 0.5


@dataclass
class OverloadWatch:
    """Fed once per table tick; says once, and only once, that the workers starve the window.

    Attributes
    ----------
    cpus : int
        CPUs the workers and the window share.
    warned : bool
        The message was given (it is not repeated: the user has been told).
    """

    cpus: int
    warned: bool = False
    _stalls: collections.deque[tuple[float, float]] = field(default_factory=collections.deque)  # (when, how late)

    def tick(self, now: float, lateness: float, workers_cpu_percent: float) -> str | None:
        """Record one tick ``lateness`` seconds late; return the advice when it is due, else None.

        ``workers_cpu_percent`` is the workers' summed CPU over the last period, in % of one CPU.
        """
        if self.warned or lateness < STALL_S or workers_cpu_percent < BUSY_SHARE * 100 * self.cpus:
            return None
        self._stalls.append((now, lateness))
        while self._stalls[0][0] < now - WINDOW_S:
            self._stalls.popleft()
        if len(self._stalls) < STALLS:
            return None
        self.warned = True
        worst = max(late for _, late in self._stalls)
        return (
            f"The window froze for up to {worst:.1f} s: the workers use {workers_cpu_percent / 100:.1f} of "
            f"{self.cpus} CPUs. Start Pulse with PULSE_WORKERS_NICE=10 (or more) to put the window first."
        )
