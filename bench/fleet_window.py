"""Figure 11: the window over a fleet: N workers x 1 item/s, GUI CPU and stalls (``python bench/fleet_window.py``).

``python bench/fleet_window.py [--workers 64,200,1000] [--seconds 10] [--reps 3] [--baseline DIR]``

Pulse: its window at default settings (nothing selected, so the plot shows 8 of the lines), N
counters at 1 item/s started together with Start all, each from its own start (not aligned on a
clock). Measured in the window's process: how long the start storm takes until every worker is
RUNNING and the GUI thread's worst stall meanwhile (a 10 ms precise timer's lateness), then CPU
(every thread) and stalls over ``--seconds``. The floor: a bare Qt/pyqtgraph window drawing the
same N feeds from in-process timers (`_floor`). The baseline: ``main.py --config`` of another
checkout (e.g. 5d1d41e), offscreen, its CPU read from outside (no stall probe inside it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from bench import _common as C
from bench.fleet import SETTLE_S, _config

MODULE = "bench.fleet_window"


def _steady(waiter: Any, probe: Any, seconds: float) -> tuple[float, dict[str, float]]:
    """After `SETTLE_S`, this process's CPU % and the GUI thread's lateness over ``seconds``."""
    waiter.sleep(SETTLE_S)
    probe.start()
    c0, t0 = C.cpu_seconds(), time.monotonic()
    waiter.sleep(seconds)
    return 100.0 * (C.cpu_seconds() - c0) / (time.monotonic() - t0), probe.stop()


def trial_pulse(workers: int, seconds: float) -> dict[str, Any]:
    """Pulse's window on ``workers`` counters: the start storm, then CPU and stalls."""
    from bench import _qt

    _qt.application()
    specs = [
        C.pulse_spec(
            f"w{i}", "pulse_supervisor.producers:counter", kwargs={"rate": 1.0}, autostart=True, stop_timeout=20.0
        )
        for i in range(workers)
    ]
    window = _qt.pulse_window(C.pulse_config(*specs))
    waiter, probe = _qt.Waiter(), _qt.LatenessProbe()
    sup = window.supervisor
    sup.state_changed.connect(waiter.poke)
    probe.start()
    t0 = time.monotonic()
    sup.start_autostart()
    running = lambda: sum(s.state.value == "RUNNING" for s in sup.statuses) == workers  # noqa: E731
    all_up = waiter.wait_polling(running, 60.0 + workers * 0.2, every=0.25)
    storm_s = time.monotonic() - t0
    storm = probe.stop()
    if not all_up:
        return {"error": "not every worker became RUNNING", "graceful": _qt.close_pulse_window(window, waiter, 60)}
    cpu, steady = _steady(waiter, probe, seconds)
    lost = sum(s.lost for s in sup.statuses)
    return {
        "cpu_pct": cpu,
        "late_max": steady["late_max"],
        "late_p99": steady["late_p99"],
        "storm_s": storm_s,
        "storm_late_max": storm["late_max"],
        "lost": lost,
        "graceful": _qt.close_pulse_window(window, waiter, 60),
    }


def trial_floor(workers: int, seconds: float) -> dict[str, Any]:
    """A bare Qt/pyqtgraph window with the same N rows, 8 of them plotted, fed 1 number a second each."""
    from bench import _floor, _qt

    _qt.application()
    names = [f"w{i}" for i in range(workers)]
    window = _floor.FloorWindow(names, names[:8])
    window.show()
    feeds = [(n, 1.0, (0.05 + 0.137 * i) % 1.0, lambda k, n=n: ({n: float(k)}, str(k))) for i, n in enumerate(names)]
    timers = _floor.start_feeds(window, feeds)
    cpu, late = _steady(_qt.Waiter(), _qt.LatenessProbe(), seconds)
    for timer in timers:
        timer.stop()
    window.close()
    return {"cpu_pct": cpu, "late_max": late["late_max"], "late_p99": late["late_p99"]}


def baseline_cpu(checkout: Path, workers: int, seconds: float) -> dict[str, Any]:
    """The window of ``checkout`` (main.py --config, offscreen): its CPU over ``seconds`` after its starts."""
    with tempfile.TemporaryDirectory(prefix="pulse-fleet-window-") as tmp:
        config = Path(tmp) / "fleet.toml"
        _config(config, workers)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PULSE_LOG_DIR=f"{tmp}/logs", XDG_CONFIG_HOME=f"{tmp}/cfg")
        proc = subprocess.Popen(
            [sys.executable, "main.py", "--config", str(config)],
            cwd=checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            me = psutil.Process(proc.pid)
            deadline = time.monotonic() + 60 + workers * 0.2
            while time.monotonic() < deadline:  # its workers are its process's grandchildren: count them
                if sum(1 for c in me.children(recursive=True) if "pulse: w" in " ".join(c.cmdline())) >= workers:
                    break
                time.sleep(0.5)
            time.sleep(SETTLE_S + 2.0)
            c0, t0 = me.cpu_times(), time.monotonic()
            time.sleep(seconds)
            c1, t1 = me.cpu_times(), time.monotonic()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"cpu_pct": (c1.user + c1.system - c0.user - c0.system) / (t1 - t0) * 100}


def _cell(results: list[dict[str, Any]], key: str, fmt: str = "{:.2f}") -> str:
    xs = [r[key] for r in results if r.get(key) is not None]
    if not xs:
        return ""
    return f"{fmt.format(statistics.median(xs))} [{fmt.format(min(xs))}-{fmt.format(max(xs))}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="64,200,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args(argv)
    print("| workers | who | GUI CPU % | stall max ms | stall p99 ms | start storm s | storm stall max ms | lost |")
    print("|---|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.workers.split(",")]:
        runs: dict[str, list[dict[str, Any]]] = {"Pulse": [], "baseline": [], "floor": []}
        for _ in range(args.reps):
            runs["Pulse"].append(C.run_trial(MODULE, "pulse", {"workers": n, "seconds": args.seconds}, 300 + n))
            if args.baseline is not None:
                runs["baseline"].append(baseline_cpu(args.baseline, n, args.seconds))
            runs["floor"].append(C.run_trial(MODULE, "floor", {"workers": n, "seconds": args.seconds}, 120))
        for who, results in runs.items():
            good = [r for r in results if "error" not in r]
            if not results:
                continue
            if not good:
                print(f"| {n} | {who} | failed: {results[0].get('error')} |||||||")
                continue
            cells = [_cell(good, k) for k in ("cpu_pct", "late_max", "late_p99")]
            cells += [
                _cell(good, "storm_s", "{:.1f}"),
                _cell(good, "storm_late_max", "{:.0f}"),
                _cell(good, "lost", "{:.0f}"),
            ]
            print(f"| {n} | {who} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
