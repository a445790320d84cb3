"""Resource limits: once a second, every live worker with ``max_rss`` or ``max_cpu_percent`` is measured."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pulse_supervisor.core.backends.run import LOCAL_NODE
from pulse_supervisor.core.processes.proc_stats import DEFAULT_MAX_OPEN, ProcStats
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.worker.worker_env import mib

if TYPE_CHECKING:
    from pulse_supervisor.core.supervision.worker_record import WorkerRecord

CHECK_INTERVAL = 1.0  # seconds between two passes over the fleet (PM2 checks every 30 s)
# Files the passes keep open: a sixteenth of the descriptor limit (as the log files), at most this
# many. Kept, a process's /proc/<pid>/stat is one pread a pass; opened and closed each pass, it
# cost 1 000 workers 1.1 % of a core instead of 0.7 % (bench/limits.py, figure 14).
MAX_KEPT_OPEN = 1024


def has_limits(rec: WorkerRecord) -> bool:
    """Return whether ``rec``'s spec sets a resource limit."""
    return bool(rec.spec.max_rss or rec.spec.max_cpu_percent)


class LimitWatch:
    """The live workers, measured in one pass a second (`proc_stats.ProcStats`: one ``/proc`` read each).

    A local run is read here by pid; a remote one's figures come from its node (``run.facts``).
    CPU % is the worker process's own (its children are theirs), over the second before; RSS is
    the worker process's resident memory.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, file_limit: int | None = None) -> None:
        self._clock = clock
        kept = DEFAULT_MAX_OPEN if file_limit is None else max(DEFAULT_MAX_OPEN, min(MAX_KEPT_OPEN, file_limit // 16))
        self._stats = ProcStats(clock, max_open=kept)
        self._live: dict[str, WorkerRecord] = {}
        self._over_since: dict[int, float] = {}  # pid -> when its CPU went over its limit
        self._next: float | None = None

    def watch(self, rec: WorkerRecord, alive: bool) -> None:
        """Note that ``rec`` has a running process (STARTING, RUNNING) or not any more, or a new spec.

        Only workers with a limit are watched: a fleet without any costs no pass, and no wake-up.
        """
        if alive and has_limits(rec):
            self._live[rec.spec.name] = rec
            if self._next is None:
                self._next = self._clock() + CHECK_INTERVAL
        elif self._live.get(rec.spec.name) is rec:
            del self._live[rec.spec.name]

    def next_check(self) -> float | None:
        """Return when the next pass is due (None: no live worker has a limit)."""
        return self._next

    def check(self) -> list[tuple[WorkerRecord, str]]:
        """If a pass is due, make it; return each worker over a limit, and why ("RSS 530 MiB over max_rss 512 MiB")."""
        now = self._clock()
        if self._next is None or now < self._next:
            return []
        limited = [rec for rec in self._live.values() if has_limits(rec) and rec.run is not None and rec.pid]
        local = {rec.run.pid: rec for rec in limited if rec.run is not None and rec.run.node == LOCAL_NODE}
        samples = self._stats.sample(local)  # also forgets (and closes) the pids no longer asked for
        self._next = now + CHECK_INTERVAL if self._live else None
        over: list[tuple[WorkerRecord, str]] = []
        pids = set()
        for rec in limited:
            assert rec.run is not None and rec.pid is not None
            if rec.pid in local:
                cpu, rss = samples.get(rec.pid, (None, None))
            else:
                facts = rec.run.facts or {}
                cpu, rss = facts.get("cpu_percent"), facts.get("rss")
            pids.add(rec.pid)
            reason = self._reason(rec, rec.pid, cpu, rss, now)
            if reason:
                over.append((rec, reason))
        for pid in set(self._over_since) - pids:
            del self._over_since[pid]
        return over

    def close(self) -> None:
        """Close the files kept open for the passes."""
        self._stats.close()

    def _reason(self, rec: WorkerRecord, pid: int, cpu: float | None, rss: int | None, now: float) -> str:
        spec = rec.spec
        if spec.max_rss and rss is not None and rss > spec.max_rss:
            return f"RSS {mib(rss)} over max_rss {mib(spec.max_rss)}"
        if not spec.max_cpu_percent or cpu is None:
            return ""
        if cpu <= spec.max_cpu_percent:
            self._over_since.pop(pid, None)
            return ""
        since = self._over_since.setdefault(pid, now - CHECK_INTERVAL)  # over for the whole second sampled
        if now - since < spec.max_cpu_secs:
            return ""
        del self._over_since[pid]
        return f"CPU {cpu:.0f} % over max_cpu_percent {spec.max_cpu_percent:g} % for {spec.max_cpu_secs:g} s"


def limit_text(reason: str, state: State) -> str:
    """Return the reason a state shows for a limit's restart: "restarting: ...", then "restarted: ..." once started."""
    if not reason:
        return ""
    return f"restarted: {reason}" if state in (State.STARTING, State.RUNNING) else f"restarting: {reason}"
