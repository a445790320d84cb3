"""Figures 12, 16 and 17: GUI stalls under floods of prints, logging, items, huge items (``bench/flood_stalls.py``).

``python bench/flood_stalls.py [--seconds 8] [--reps 3] [--cases ...]``

Pulse's window at default settings with the flooding workers selected (their log lines shown,
their items plotted where they are numbers): a 10 ms precise timer in the GUI thread records how
late each tick comes (a stall), over ``--seconds`` after the flood is under way. The floor is the
same window with the same number of workers that send nothing; for the 16-worker cases a busy
floor too, whose workers burn a CPU each and send nothing (the CPU a flood takes, without the
flood). "Pulse, PULSE_SHARE_CPU=0" is the same flood with the window's GUI thread and consumer
free to run on different CPUs (before figure 17). Every trial of each kind runs in a fresh
process, interleaved.

Lines: what the window was sent (shown) and what it was told it was not sent (the notes' exact
counts), and the log files' gaps: between the first and the last ``line N`` / ``logged N`` a
worker's log file (with its rotations) holds, how many are missing (0: none lost).
"""

from __future__ import annotations

import argparse
import glob
import re
import statistics
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.flood_stalls"
FLOOD = "bench.producers:print_and_yield"
CASES: dict[str, tuple[int, str, dict[str, Any]]] = {  # name -> (workers, target, kwargs)
    "prints x1": (1, FLOOD, {"items": False}),
    "print+yield x1": (1, FLOOD, {}),
    "logging x1": (1, FLOOD, {"prints": False, "items": False, "logging_too": True}),
    "print+yield x16": (16, FLOOD, {}),
    "logging x16": (16, FLOOD, {"prints": False, "items": False, "logging_too": True}),
    "print+log+yield x16": (16, FLOOD, {"logging_too": True}),
    "50 MB items": (1, "bench.producers:big_bytes", {"megabytes": 50}),
    "100 MB items": (1, "bench.producers:big_bytes", {"megabytes": 100}),
    "100 MB items x4": (4, "bench.producers:big_bytes", {"megabytes": 100}),
}
FLOORS = {"floor": "bench.producers:quiet", "busy floor": "bench.producers:spin"}
_NUMBERED = re.compile(r" (?:stdout|logging) +(line|logged) (\d+)$", re.MULTILINE)


def log_file_gaps(path: str) -> int:
    """Return how many ``line N`` / ``logged N`` entries are missing between the first and last the files hold."""
    numbers: dict[str, set[int]] = {}
    for name in glob.glob(glob.escape(path) + "*"):
        with open(name, encoding="utf-8", errors="replace") as f:
            for kind, n in _NUMBERED.findall(f.read()):
                numbers.setdefault(kind, set()).add(int(n))
    return sum(max(ns) - min(ns) + 1 - len(ns) for ns in numbers.values())


def trial_pulse(case: str, seconds: float, floor: str | None = None) -> dict[str, Any]:
    """The window with ``case``'s workers selected (``floor``: the same number, sending nothing).

    ``floor`` "unshared": the same flood, the window's GUI thread and consumer free to run on
    different CPUs (``PULSE_SHARE_CPU=0``, as before figure 17).
    """
    import os

    from bench import _qt
    from pulse_supervisor.core.supervision.events import LinesSkipped, LogLine

    workers, target, kwargs = CASES[case]
    if floor == "unshared":
        os.environ["PULSE_SHARE_CPU"] = "0"
    elif floor is not None:
        target, kwargs = FLOORS[floor], {}
    _qt.application()
    specs = [C.pulse_spec(f"f{i}", target, kwargs=kwargs, autostart=True, stop_timeout=10.0) for i in range(workers)]
    window = _qt.pulse_window(C.pulse_config(*specs))
    waiter, probe = _qt.Waiter(), _qt.LatenessProbe()
    sup = window.supervisor
    window.table.selectAll()
    lines = {"shown": 0, "not_shown": 0}

    def count_lines(events: list[Any], _now: int) -> None:
        for ev in events:
            if type(ev) is LogLine and ev.stream != "pulse":
                lines["shown"] += 1
            elif type(ev) is LinesSkipped:
                lines["not_shown"] += ev.count

    _qt.EventTap(sup, waiter, count_lines)
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
    paths = [sup.log_path(f"f{i}") for i in range(workers)]
    graceful = _qt.close_pulse_window(window, waiter, 60)
    return {
        "late_max": late["late_max"],
        "late_p99": late["late_p99"],
        "over_50": sum(x > 50 for x in xs),
        "items": items,
        "shown": lines["shown"],
        "not_shown": lines["not_shown"],
        "gaps": sum(log_file_gaps(p) for p in paths),
        "graceful": graceful,
    }


COLUMNS = ("late_max", "late_p99", "over_50", "items", "shown", "not_shown", "gaps")
HEADER = (
    "| case | who | stall max ms | stall p99 ms | stalls > 50 ms | items"
    " | lines shown | lines not shown | log-file gaps |"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args(argv)
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    for case in args.cases.split(","):
        whos: list[str | None] = [None, "unshared", "floor"] + (["busy floor"] if CASES[case][0] >= 16 else [])
        runs: dict[str | None, list[dict[str, Any]]] = {who: [] for who in whos}
        for _ in range(args.reps):
            for who in whos:
                params = {"case": case, "seconds": args.seconds, "floor": who}
                runs[who].append(C.run_trial(MODULE, "pulse", params, 240))
        for who, results in runs.items():
            name = {None: "Pulse", "unshared": "Pulse, PULSE_SHARE_CPU=0"}.get(who, who)
            good = [r for r in results if "error" not in r]
            if not good:
                print(f"| {case} | {name} | failed: {results[0].get('error')} |" + " |" * (len(COLUMNS) - 1))
                continue
            cells = []
            for key in COLUMNS:
                xs = [r[key] for r in good]
                cells.append(f"{statistics.median(xs):,.0f} [{min(xs):,.0f}-{max(xs):,.0f}]")
            print(f"| {case} | {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
