"""Figure 8: what the window costs for what it shows, beside the floor (``python bench/window_cost.py``).

Idle with numeric feeds not aligned on a clock (the plot drawing them), the built-in demo, and
hostile items (a list of a million floats, dicts of hundreds of keys, a line of megabytes with no
newline): GUI-process CPU, and how late a 10 ms timer in the GUI thread comes (its stalls).
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.window_cost"
IDLE_TARGET_PCT = 0.5
DEMO_TARGET_PCT = 8.0
STALL_TARGETS_MS = {"big_list": 50.0, "wide_dicts": 100.0, "long_line": 100.0}
HOSTILE = (  # (kind, kwargs, label)
    ("big_list", {"n": 1_000_000}, "one item: a list of 1 M floats"),
    ("wide_dicts", {"keys": 100}, "dicts of 100 numeric keys at 10/s, worker selected"),
    ("wide_dicts", {"keys": 300}, "dicts of 300 numeric keys at 10/s, worker selected"),
    ("wide_dicts", {"keys": 1000}, "dicts of 1 000 numeric keys at 10/s, worker selected"),
    ("long_line", {"megabytes": 1}, "a 1 MB line with no newline on stdout"),
    ("long_line", {"megabytes": 20}, "a 20 MB line with no newline on stdout"),
    ("long_line", {"megabytes": 200}, "a 200 MB line with no newline on stdout"),
)


def _phase(i: int) -> float:
    return (0.05 + 0.137 * i) % 1.0  # spread over the second, on no grid


def _measure(waiter: Any, seconds: float, reps: int) -> list[float]:
    cpu = []
    for _ in range(reps):
        c0, t0 = C.cpu_seconds(), time.monotonic()
        waiter.sleep(seconds)
        cpu.append(100.0 * (C.cpu_seconds() - c0) / (time.monotonic() - t0))
    return cpu


def _floor_cpu(window: Any, feeds: list[Any], seconds: float, reps: int, settle: float) -> list[float]:
    """Run ``feeds`` into the floor ``window``; return its CPU % over ``reps`` windows, then close it."""
    from bench import _floor, _qt

    timers = _floor.start_feeds(window, feeds)
    waiter = _qt.Waiter()
    waiter.sleep(settle + 1.0)  # the feeds' phases reach up to a second
    cpu = _measure(waiter, seconds, reps)
    for timer in timers:
        timer.stop()
    window.close()
    return cpu


def trial_pulse_numeric(workers: int, seconds: float, reps: int, settle: float) -> dict[str, Any]:
    """Pulse's window, default settings: ``workers`` feeds of one number a second, plotted."""
    from bench import _qt

    _qt.application()
    specs = [
        C.pulse_spec(
            f"feed{i}", "bench.producers:numbers", kwargs={"interval": 1.0, "phase": _phase(i)}, autostart=True
        )
        for i in range(workers)
    ]
    window = _qt.pulse_window(C.pulse_config(*specs))
    waiter, counter = _qt.Waiter(), _qt.ItemCount()
    _qt.EventTap(window.supervisor, waiter, counter)
    window.supervisor.start_autostart()
    waiter.wait(lambda: len(counter.seen) == workers, 30.0)
    waiter.sleep(settle)
    cpu = _measure(waiter, seconds, reps)
    shown = len(window.plot_dock.shown_names())
    return {"cpu_pct": cpu, "plotted": shown, "graceful": _qt.close_pulse_window(window, waiter)}


def trial_floor_numeric(workers: int, seconds: float, reps: int, settle: float) -> dict[str, Any]:
    """The floor: a bare Qt/pyqtgraph window drawing the same feeds (in-process timers)."""
    from bench import _floor, _qt

    _qt.application()
    names = [f"feed{i}" for i in range(workers)]
    window = _floor.FloorWindow(names, names)
    window.show()
    feeds = [
        (n, 1.0, _phase(i), lambda k, n=n: ({n: math.sin(k / 10)}, f"{math.sin(k / 10)!r}"))
        for i, n in enumerate(names)
    ]
    return {"cpu_pct": _floor_cpu(window, feeds, seconds, reps, settle)}


def trial_pulse_demo(seconds: float, reps: int, settle: float) -> dict[str, Any]:
    """Pulse's window on the built-in demo, as `python main.py` opens it."""
    from bench import _qt
    from pulse_supervisor.cli import demo_config

    _qt.application()
    window = _qt.pulse_window(demo_config())
    waiter, counter = _qt.Waiter(), _qt.ItemCount()
    _qt.EventTap(window.supervisor, waiter, counter)
    window.supervisor.start_autostart()
    autostart = sum(s.autostart for s in demo_config().workers)
    waiter.wait(lambda: len(counter.seen) >= autostart, 30.0)
    waiter.sleep(settle)
    cpu = _measure(waiter, seconds, reps)
    return {"cpu_pct": cpu, "graceful": _qt.close_pulse_window(window, waiter)}


def trial_floor_demo(seconds: float, reps: int, settle: float) -> dict[str, Any]:
    """The floor of the demo: its 8 rows, and its running feeds drawn the same way (clock, sine, sensors, walk)."""
    import random

    from bench import _floor, _qt
    from pulse_supervisor.cli import demo_config

    _qt.application()
    rows = [s.name for s in demo_config().workers]
    series = ["sine", "sensors.temp", "sensors.humidity", "sensors.wind", "walk"]
    window = _floor.FloorWindow(rows, series)
    window.show()
    walk = [0.0]

    def walk_batch(_k: int) -> tuple[dict[str, Any], str]:
        steps = [random.gauss(0, 0.1) for _ in range(33)]  # 2 000/s arrive as ~60 batches a second
        values = [walk[0] + v for v in itertools.accumulate(steps)]
        walk[0] = values[-1]
        return {"walk": values}, repr(values[-1])

    feeds = [
        ("clock", 1.0, 0.3, lambda k: (None, time.strftime("%Y-%m-%d %H:%M:%S"))),
        ("sine", 0.02, 0.0, lambda k: ({"sine": math.sin(k / 8)}, repr(math.sin(k / 8)))),
        ("sensors", 0.1, 0.05, lambda k: ({"sensors.temp": 21.0, "sensors.humidity": 45.0, "sensors.wind": 3.0},
                                          "{'humidity': 45.0, 'temp': 21.0, 'wind': 3.0}")),
        ("walk", 1 / 60, 0.01, walk_batch),
    ]  # fmt: skip
    return {"cpu_pct": _floor_cpu(window, feeds, seconds, reps, settle)}


def trial_pulse_hostile(kind: str, kwargs: dict[str, Any], seconds: float) -> dict[str, Any]:
    """One hostile worker in Pulse's window (selected): GUI lateness and RSS while its output arrives."""
    from bench import _qt

    _qt.application()
    spec = C.pulse_spec("hostile", f"bench.producers:{kind}", kwargs=kwargs, autostart=True)
    window = _qt.pulse_window(C.pulse_config(spec))
    window.select("hostile")
    waiter, counter = _qt.Waiter(), _qt.ItemCount()
    _qt.EventTap(window.supervisor, waiter, counter)
    probe = _qt.LatenessProbe(10)
    rss0 = C.rss_mb()
    probe.start()
    window.supervisor.start_autostart()
    got = waiter.wait(lambda: counter.count >= 1, 60.0)
    waiter.sleep(seconds)
    late = probe.stop()
    log_lines = [window.log_dock.model.entry_at(r).message for r in range(window.log_dock.model.rowCount())]
    cut = any("cut" in line.lower() for line in log_lines)
    result = {**late, "items": counter.count, "started": got, "rss_growth_mb": C.rss_mb() - rss0, "cut_note": cut}
    result["graceful"] = _qt.close_pulse_window(window, waiter)
    return result


def run(quick: bool = False, reps: int | None = None) -> C.Report:
    """GUI-process CPU with numeric feeds and the demo beside the floor; stalls under hostile output."""
    seconds, settle = (1.0, 0.5) if quick else (5.0, 3.0)
    reps = reps or (1 if quick else 3)
    workers = 2 if quick else 8
    idle = {"workers": workers, "seconds": seconds, "reps": reps, "settle": settle}
    demo = {"seconds": seconds, "reps": reps, "settle": settle}
    plan = [("pulse_numeric", idle), ("floor_numeric", idle), ("pulse_demo", demo), ("floor_demo", demo)]
    res = C.interleaved(MODULE, plan, 1, timeout=90 + reps * seconds * 3)
    hostile = HOSTILE[:1] if quick else HOSTILE
    hres = {label: C.run_trial(MODULE, "pulse_hostile", {"kind": k, "kwargs": kw, "seconds": seconds}, 120)
            for k, kw, label in hostile}  # fmt: skip
    fmt = lambda x: C.num(x, 2)  # noqa: E731
    rows = []
    for name, pulse_kind, floor_kind, target in (
        (f"GUI-process CPU, {workers} numeric feeds × 1/s not on a clock grid, plotted", "pulse_numeric",
         "floor_numeric", IDLE_TARGET_PCT),
        ("GUI-process CPU, the built-in demo", "pulse_demo", "floor_demo", DEMO_TARGET_PCT),
    ):  # fmt: skip
        p = [x for r in C.ok(res[pulse_kind]) for x in r["cpu_pct"]]
        f = [x for r in C.ok(res[floor_kind]) for x in r["cpu_pct"]]
        pm, fm = C.median(p), C.median(f)
        ratio = "—" if not fm or fm != fm else f"{C.num(pm / fm, 3)}× the floor"
        rows.append(C.Row(name, C.spread(p, fmt, " %"), "—", ratio, f"≤ {target} %", C.met(pm, target),
                          floor=C.spread(f, fmt, " %")))  # fmt: skip
    for kind, _, label in hostile:
        r = hres[label]
        if "error" in r:
            rows.append(C.Row(f"GUI stall, {label}", "failed", target=f"< {STALL_TARGETS_MS[kind]:g} ms"))
            continue
        note = f", RSS +{C.num(r['rss_growth_mb'])} MB" + (", cut with a note" if r["cut_note"] else "")
        limit = STALL_TARGETS_MS[kind]
        shown = f"{C.num(r['late_max'])} ms (p99 {C.num(r['late_p99'])} ms{note})"
        late = f"GUI stall (max lateness of a 10 ms timer), {label}"
        rows.append(C.Row(late, shown, target=f"< {limit:g} ms", met=C.met(r["late_max"], limit)))
    report = C.Report(
        "8. Window cost",
        rows,
        f"CPU of the GUI process over {reps} consecutive {C.num(seconds)} s windows after a {settle} s settle, "
        "median [min–max]; the floor is `bench/_floor.py`, a bare Qt/pyqtgraph window drawing the same feeds "
        "in-process (table, status bar, plot from the same buckets); stalls over "
        f"{C.num(seconds)} s from the worker's start, the worker selected.",
        notes=["The tutorial has no plot and cannot carry these items; it is in figures 1-7."],
    )
    return C.finish(report, [*res.values(), list(hres.values())])


if __name__ == "__main__":
    sys.exit(C.script_main(None, run))
