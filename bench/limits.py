"""Figure 14: what checking 1 000 workers' max_rss costs Pulse, a pass a second (``python bench/limits.py``).

Measures `limits.LimitWatch.check`, the supervisor's pass, over ``--workers`` live processes
(``sleep``: the pass reads the same ``/proc`` files whatever the process runs), in this process's
CPU time. Baseline: the same pass with psutil (``Process.oneshot``: ``memory_info`` and
``cpu_times``), as a monitor built on psutil makes it. Floor: one ``pread`` of each process's
``/proc/<pid>/stat`` from files held open, nothing parsed. Figures are % of one core at one pass
a second: the median over ``--reps`` rounds of ``--passes`` passes each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_PCT = 1.0  # issue 31: memory checks of 1 000 workers under 1 % of a core


class _Run:
    """What a pass reads of a run: a local pid."""

    node = ""
    facts = None

    def __init__(self, pid: int) -> None:
        self.pid = pid


def _records(pids: list[int]) -> list[Any]:
    from pulse_supervisor.core.backends.run import LOCAL_NODE
    from pulse_supervisor.core.spec import WorkerSpec
    from pulse_supervisor.core.supervision.worker_record import WorkerRecord

    records = []
    for i, pid in enumerate(pids):
        rec = WorkerRecord(WorkerSpec(name=f"w{i}", target="m:f", max_rss=1 << 40), log_path=os.devnull)
        run = _Run(pid)
        run.node = LOCAL_NODE
        rec.run = run  # type: ignore[assignment]
        records.append(rec)
    return records


def _cpu_per_pass(passes: int, one_pass: Any) -> float:
    t0 = time.process_time_ns()
    for _ in range(passes):
        one_pass()
    return (time.process_time_ns() - t0) / 1e9 / passes


def pulse_pass(records: list[Any]) -> Any:
    """Return a pass of the supervisor's `LimitWatch` over ``records`` (due every time it is called)."""
    from pulse_supervisor.core.supervision.limits import LimitWatch

    clock = [0.0]
    from pulse_supervisor.core.supervision.fd_budget import soft_limit

    watch = LimitWatch(lambda: clock[0], soft_limit())
    for rec in records:
        watch.watch(rec, True)

    def one() -> None:
        clock[0] += 1.0
        assert watch.check() == []

    return one, watch.close


def psutil_pass(pids: list[int]) -> Any:
    """Return the baseline pass: psutil's cpu_times and memory_info of each process."""
    import psutil

    procs = [psutil.Process(pid) for pid in pids]

    def one() -> None:
        for proc in procs:
            with proc.oneshot():
                proc.cpu_times()
                proc.memory_info()

    return one, lambda: None


def floor_pass(pids: list[int]) -> Any:
    """Return the floor: one pread of each /proc/<pid>/stat, kept open, nothing parsed."""
    fds = [os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC) for pid in pids]

    def one() -> None:
        for fd in fds:
            os.pread(fd, 1024, 0)

    def close() -> None:
        for fd in fds:
            os.close(fd)

    return one, close


def run(workers: int = 1000, passes: int = 20, reps: int = 5, quick: bool = False) -> list[tuple[str, list[float]]]:
    """Start ``workers`` processes and return (who, % of a core per round) for Pulse, baseline and floor."""
    if quick:
        workers, passes, reps = 20, 3, 2
    procs = [subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL) for _ in range(workers)]
    try:
        pids = [p.pid for p in procs]
        makers = {"Pulse": lambda: pulse_pass(_records(pids)), "psutil": lambda: psutil_pass(pids),
                  "floor": lambda: floor_pass(pids)}  # fmt: skip
        figures: dict[str, list[float]] = {who: [] for who in makers}
        for _ in range(reps):  # interleaved: a busy moment of the machine costs each the same
            for who, make in makers.items():
                one, close = make()
                one()  # the first pass opens files and meets each pid: not the steady cost
                figures[who].append(100.0 * _cpu_per_pass(passes, one))  # CPU s per 1 s pass -> %
                close()
        return list(figures.items())
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def main(argv: list[str] | None = None) -> int:
    """Print the figure's table (median [min-max] over the rounds)."""
    import argparse
    import statistics

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny settings (seconds, for smoke tests)")
    args = parser.parse_args(argv)
    rows = run(args.workers, args.passes, args.reps, args.quick)
    workers = 20 if args.quick else args.workers
    print("| workers | who | % of a core, a pass a second | target |\n|---|---|---|---|")
    for who, xs in rows:
        target = f"< {TARGET_PCT:g} % ({'met' if statistics.median(xs) < TARGET_PCT else 'missed'})"
        print(f"| {workers} | {who} | {statistics.median(xs):.3f} [{min(xs):.3f}-{max(xs):.3f}] |"
              f" {target if who == 'Pulse' else ''} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
