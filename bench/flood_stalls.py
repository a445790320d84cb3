"""Figure 12: GUI stalls under floods of prints, logging, items and huge items (``python bench/flood_stalls.py``).

``python bench/flood_stalls.py [--seconds 8] [--reps 3] [--cases ...]``

Pulse's window at default settings with the flooding workers selected (their log lines shown,
their items plotted where they are numbers): a 10 ms precise timer in the GUI thread records how
late each tick comes (a stall), over ``--seconds`` after the flood is under way. The floor is the
same window with the same number of workers that send nothing. Every line a worker prints is in
its log file, whatever the window shows (counted against the lines the workers wrote).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.flood_stalls"
CASES: dict[str, tuple[int, str, dict[str, Any]]] = {  # name -> (workers, target, kwargs)
    "print+yield x1": (1, "bench.producers:print_and_yield", {}),
    "prints x1": (1, "bench.producers:print_and_yield", {"items": False}),
    "logging x1": (1, "bench.producers:print_and_yield", {"prints": False, "items": False, "logging_too": True}),
    "print+yield x16": (16, "bench.producers:print_and_yield", {}),
    "50 MB items": (1, "bench.producers:big_bytes", {"megabytes": 50}),
    "100 MB items": (1, "bench.producers:big_bytes", {"megabytes": 100}),
}


def trial_pulse(case: str, seconds: float, quiet: bool = False) -> dict[str, Any]:
    """The window with ``case``'s workers selected (``quiet``: the same number, sending nothing)."""
    from bench import _qt

    workers, target, kwargs = CASES[case]
    if quiet:
        target, kwargs = "bench.producers:quiet", {}
    _qt.application()
    specs = [C.pulse_spec(f"f{i}", target, kwargs=kwargs, autostart=True, stop_timeout=10.0) for i in range(workers)]
    window = _qt.pulse_window(C.pulse_config(*specs))
    waiter, probe = _qt.Waiter(), _qt.LatenessProbe()
    sup = window.supervisor
    window.table.selectAll()
    sup.start_autostart()
    running = lambda: all(s.state.value == "RUNNING" for s in sup.statuses)  # noqa: E731
    if not waiter.wait_polling(running, 60.0, every=0.1):
        return {"error": "not RUNNING", "graceful": _qt.close_pulse_window(window, waiter, 60)}
    waiter.sleep(2.0)  # the flood under way: its first second is the start, not the flood
    probe.start()
    waiter.sleep(seconds)
    late = probe.stop()
    xs = sorted(probe.late_ms)
    items = sum(s.received for s in sup.statuses)
    return {
        "late_max": late["late_max"],
        "late_p99": late["late_p99"],
        "over_50": sum(x > 50 for x in xs),
        "items": items,
        "log_rows": window.log_dock.model.total_count(),
        "graceful": _qt.close_pulse_window(window, waiter, 60),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args(argv)
    print("| case | who | stall max ms | stall p99 ms | stalls > 50 ms | items |")
    print("|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        runs: dict[str, list[dict[str, Any]]] = {"Pulse": [], "floor": []}
        for _ in range(args.reps):
            params = {"case": case, "seconds": args.seconds}
            runs["Pulse"].append(C.run_trial(MODULE, "pulse", params, 180))
            runs["floor"].append(C.run_trial(MODULE, "pulse", {**params, "quiet": True}, 180))
        for who, results in runs.items():
            good = [r for r in results if "error" not in r]
            if not good:
                print(f"| {case} | {who} | failed: {results[0].get('error')} | | | |")
                continue
            cells = []
            for key in ("late_max", "late_p99", "over_50", "items"):
                xs = [r[key] for r in good]
                cells.append(f"{statistics.median(xs):.0f} [{min(xs):.0f}-{max(xs):.0f}]")
            print(f"| {case} | {who} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
