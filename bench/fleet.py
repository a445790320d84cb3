"""Figure 10: what a fleet costs to watch: headless CPU and descriptors for N workers x 1 item/s.

``python bench/fleet.py [--workers 64,400,1000] [--seconds 10] [--reps 3] [--baseline DIR] [--soft-limit N]``

Pulse is ``main.py --headless`` of this checkout; the baseline is the same command in ``DIR``
(a checkout of an earlier design, e.g. ``git worktree add /tmp/pulse-5d1d41e 5d1d41e``), run
in the same trials, alternated. Each worker is ``pulse_supervisor.producers:counter`` at 1 item/s, started
when its turn comes, so the fleet is not aligned on a clock. CPU is main.py's own (user + sys,
its threads; not the workers'), over ``--seconds`` once every worker is RUNNING and 3 s have
passed. The floor is the least any supervisor could pay: one process blocked in epoll on the
same number of pipes, each written once a second by a shell loop, reading each line.
``--soft-limit`` starts main.py with that soft limit on open files (the hard one unchanged), as
``ulimit -Sn 1024`` would: Pulse raises it to the hard one. Lost counts the sequence numbers
missing from each worker's items.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
SETTLE_S = 3.0


def _config(path: Path, workers: int) -> None:
    entries = [
        f'[[worker]]\nname = "w{i}"\ntarget = "pulse_supervisor.producers:counter"\nkwargs = {{ rate = 1.0 }}\n'
        "start_secs = 0.5\nstop_timeout = 10\n"
        for i in range(workers)
    ]
    path.write_text("\n".join(entries))


class _Stream(threading.Thread):
    """Reads headless JSON lines: counts RUNNING workers and items."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self._proc = proc
        self.running: set[str] = set()
        self.items = 0
        self.seen: dict[str, list[int]] = {}  # worker -> [items, highest seq]
        self.all_running = threading.Event()
        self.workers = 0

    def run(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            record = json.loads(line)
            if record["type"] == "item":
                self.items += 1
                seen = self.seen.setdefault(record["worker"], [0, -1])
                seen[0] += 1
                seen[1] = max(seen[1], record["seq"])
            elif record["type"] == "state" and record["state"] == "RUNNING":
                self.running.add(record["worker"])
                if len(self.running) == self.workers:
                    self.all_running.set()


def trial_headless(checkout: Path, workers: int, seconds: float, soft_limit: int | None = None) -> dict[str, Any]:
    """Run main.py --headless of ``checkout`` with ``workers`` counters; its CPU % and descriptors."""

    def limit() -> None:
        if soft_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft_limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    with tempfile.TemporaryDirectory(prefix="pulse-fleet-") as tmp:
        config = Path(tmp) / "fleet.toml"
        _config(config, workers)
        env = dict(os.environ, PULSE_LOG_DIR=str(Path(tmp) / "logs"))
        argv = [sys.executable, "main.py", "--headless", "--config", str(config)]
        proc = subprocess.Popen(
            argv, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, preexec_fn=limit
        )
        stream = _Stream(proc)
        stream.workers = workers
        stream.start()
        try:
            started = time.monotonic()
            if not stream.all_running.wait(timeout=120 + workers * 0.2):
                return {"ok": False, "why": f"only {len(stream.running)} of {workers} RUNNING"}
            start_storm = time.monotonic() - started
            time.sleep(SETTLE_S)  # the last starts' own settling; this is a measurement window, not a wait
            me = psutil.Process(proc.pid)
            t0, c0, i0 = time.monotonic(), me.cpu_times(), stream.items
            time.sleep(seconds)
            t1, c1, i1 = time.monotonic(), me.cpu_times(), stream.items
            fds = me.num_fds()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            stream.join(timeout=10)
    cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0) * 100
    return {
        "ok": True,
        "cpu_pct": cpu,
        "fds_per_worker": fds / workers,
        "items_per_s": (i1 - i0) / (t1 - t0),
        "start_storm_s": start_storm,
        "lost": sum(top + 1 - count for count, top in stream.seen.values()),
    }


def trial_floor(workers: int, seconds: float) -> dict[str, Any]:
    """One process in epoll on ``workers`` pipes, each written once a second: the least it can cost."""
    code = f"""
import os, selectors, subprocess, sys, time, resource
procs, sel = [], selectors.DefaultSelector()
for i in range({workers}):
    p = subprocess.Popen(["sh", "-c", "while :; do echo x; sleep 1; done"], stdout=subprocess.PIPE)
    procs.append(p)
    sel.register(p.stdout.fileno(), selectors.EVENT_READ)
print("ready", flush=True)
end = time.monotonic() + {SETTLE_S + seconds + 30}
while time.monotonic() < end:
    for key, _ in sel.select(1.0):
        os.read(key.fd, 4096)
for p in procs:
    p.kill()
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(SETTLE_S)
        me = psutil.Process(proc.pid)
        t0, c0 = time.monotonic(), me.cpu_times()
        time.sleep(seconds)
        t1, c1 = time.monotonic(), me.cpu_times()
    finally:
        for child in psutil.Process(proc.pid).children():
            child.kill()
        proc.kill()
        proc.wait()
    return {"ok": True, "cpu_pct": (c1.user + c1.system - c0.user - c0.system) / (t1 - t0) * 100}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="64,400,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout of the design to compare with")
    parser.add_argument("--soft-limit", type=int, default=None, help="main.py's soft limit on open files at start")
    args = parser.parse_args(argv)
    head = (
        "| workers | who | main.py CPU % of a core (median [min-max]) | fds/worker | items/s | start storm s | lost |"
    )
    print(head)
    print("|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.workers.split(",")]:
        runs: dict[str, list[dict[str, Any]]] = {"Pulse": [], "baseline": [], "floor": []}
        for _ in range(args.reps):
            runs["Pulse"].append(trial_headless(ROOT, n, args.seconds, args.soft_limit))
            if args.baseline is not None:
                runs["baseline"].append(trial_headless(args.baseline, n, args.seconds, args.soft_limit))
            runs["floor"].append(trial_floor(n, args.seconds))
        for who, results in runs.items():
            good = [r for r in results if r["ok"]]
            if not results:
                continue
            if not good:
                print(f"| {n} | {who} | failed: {results[0].get('why')} | | | | |")
                continue
            cpu = [r["cpu_pct"] for r in good]
            cell = f"{statistics.median(cpu):.2f} [{min(cpu):.2f}-{max(cpu):.2f}]"
            fds = f"{statistics.median(r['fds_per_worker'] for r in good):.2f}" if "fds_per_worker" in good[0] else ""
            rate = f"{statistics.median(r['items_per_s'] for r in good):.0f}" if "items_per_s" in good[0] else ""
            storm = f"{statistics.median(r['start_storm_s'] for r in good):.1f}" if "start_storm_s" in good[0] else ""
            lost = str(max(r["lost"] for r in good)) if "lost" in good[0] else ""
            print(f"| {n} | {who} | {cell} | {fds} | {rate} | {storm} | {lost} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
