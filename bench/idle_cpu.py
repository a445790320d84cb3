"""Figure 1: GUI-process CPU while 8 workers each send 1 item/s (``python bench/idle_cpu.py``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

TARGET_PCT = 0.3  # % of one core (issue 13: 8 clocks on the wall-clock grid)
MODULE = "bench.idle_cpu"
LIMITS = (
    "Pulse: the clocks tick on the wall clock's grid, so the 8 items of a second arrive within a few ms "
    "of each other. Once one such burst was seen, the next one's first item waits for the rest (at most "
    "8 ms, `BurstWatch`): one consumer emission a second instead of two. The table's 1 s tick rides on "
    "that batch as a posted call, which Qt runs before the status bar's low-priority repaint, so the "
    "table and the status bar repaint together: one GUI wake-up and one paint a second (the collector's "
    "idle check, its own wake-up before, is put off by each batch). Per second here, measured per event: "
    "the paint ~1.1 ms (the table's ~24 changed cells ~0.7-0.8 ms of it), the tick's Python ~0.5 ms "
    "(CPU/RSS of 8 workers by pread of /proc/<pid>/stat, the live columns' texts, ~24 dataChanged), the "
    "batch's slots ~0.35 ms, and the consumer thread ~0.7 ms (two wake-ups, 8 reads at ~30 us each, cold). "
    "A bare QMainWindow with a C++ QStandardItemModel repainting the same cells and the status bar, no "
    "Python and no processes, used 0.16-0.17 % alone on this machine. A custom delegate drawing cached "
    "QStaticText, no alternating colours or no grid did not paint measurably faster. The tutorial's "
    "QThread spins on `q.empty()`: one core, whatever the rate."
)


def trial_pulse_paused(workers: int, seconds: float, reps: int, settle: float) -> dict[str, Any]:
    """`trial_pulse` with View > Table refresh > Paused: what the table's 1 s refresh costs."""
    return trial_pulse(workers, seconds, reps, settle, refresh_ms=0)


def trial_pulse(workers: int, seconds: float, reps: int, settle: float, refresh_ms: int = 1000) -> dict[str, Any]:
    """Supervisor + Consumer + MainWindow, ``workers`` clocks at 1 item/s; CPU over ``reps`` windows."""
    from bench import _qt

    _qt.application()
    specs = [
        C.pulse_spec(f"clock{i}", "pulse_supervisor.producers:clock", kwargs={"interval": 1.0}, autostart=True)
        for i in range(workers)
    ]
    window = _qt.pulse_window(C.pulse_config(*specs))
    window.clock.set_period(refresh_ms)
    waiter = _qt.Waiter()
    counter = _qt.ItemCount()
    tap = _qt.EventTap(window.supervisor, waiter, counter)
    window.supervisor.start_autostart()
    started = waiter.wait(lambda: len(counter.seen) == workers, 20.0)
    waiter.sleep(settle)  # past start_secs: every worker RUNNING, start-up work done
    cpu, items = measure_windows(waiter, seconds, reps, lambda: counter.count)
    emissions = tap.emissions
    graceful = _qt.close_pulse_window(window, waiter)
    return {"cpu_pct": cpu, "items": items, "started": started, "graceful": graceful, "emissions": emissions}


def trial_tutorial(workers: int, seconds: float, reps: int, settle: float) -> dict[str, Any]:
    """The tutorial: ``workers`` producers at 1 item/s on its one queue, its spinning QThread."""
    from multiprocessing import RawValue

    from bench import tutorial_baseline as T

    q = T.Queue()
    stop = RawValue("b", 0)
    procs = [T.start_producer(q, rate=1.0, stop=stop) for _ in range(workers)]  # before Qt, as the original

    from bench import _qt

    _qt.application()
    window = _qt.tutorial_window(q)
    window.show()
    waiter = _qt.Waiter()
    waiter.sleep(settle)
    cpu, items = measure_windows(waiter, seconds, reps, lambda: window.received)
    stopped = T.stop_consumer(window)
    T.end_producers(procs, stop)
    window.close()
    return {"cpu_pct": cpu, "items": items, "graceful": stopped}


def measure_windows(waiter: Any, seconds: float, reps: int, received: Any) -> tuple[list[float], list[int]]:
    """Return this process's CPU % of one core, and items received, over ``reps`` windows."""
    cpu, items = [], []
    for _ in range(reps):
        c0, n0, t0 = C.cpu_seconds(), received(), time.monotonic()
        waiter.sleep(seconds)
        c1, t1 = C.cpu_seconds(), time.monotonic()
        cpu.append(100.0 * (c1 - c0) / (t1 - t0))
        items.append(received() - n0)
    return cpu, items


def run(quick: bool = False, reps: int | None = None) -> C.Report:
    """GUI-process CPU % of one core while workers send 1 item/s each."""
    workers, seconds = (2, 1.0) if quick else (8, 5.0)
    reps = reps or (1 if quick else 3)
    params = {"workers": workers, "seconds": seconds, "reps": reps, "settle": 0.5 if quick else 2.0}
    # Paused is a contrast row, not a target: two windows, not three, keep run_all shorter.
    plan = [("pulse", params), ("tutorial", params), ("pulse_paused", {**params, "reps": min(reps, 2)})]
    res = C.interleaved(MODULE, plan, 1, timeout=60 + reps * seconds * 3)
    pulse = [x for r in C.ok(res["pulse"]) for x in r["cpu_pct"]]
    paused = [x for r in C.ok(res["pulse_paused"]) for x in r["cpu_pct"]]
    tut = [x for r in C.ok(res["tutorial"]) for x in r["cpu_pct"]]
    p, b = C.median(pulse), C.median(tut)
    fmt = lambda x: C.num(x, 2)  # noqa: E731
    items = [x for r in C.ok(res["pulse"]) for x in r["items"]]
    titems = [x for r in C.ok(res["tutorial"]) for x in r["items"]]
    rows = [
        C.Row(
            f"GUI-process CPU, % of a core ({workers} workers × 1 item/s)",
            C.spread(pulse, fmt, " %"),
            C.spread(tut, fmt, " %"),
            C.ratio(p, b, "lower"),
            f"≤ {TARGET_PCT} %",
            C.met(p, TARGET_PCT),
        ),
        C.Row(f"items shown per {C.num(seconds)} s window", C.spread(items), C.spread(titems)),
        C.Row(
            "Pulse with View > Table refresh > Paused (not the default: what the 1 s refresh costs)",
            C.spread(paused, fmt, " %"),
            C.spread(tut, fmt, " %"),
            C.ratio(C.median(paused), b, "lower"),
            "—",
        ),
    ]
    report = C.Report(
        "1. Idle CPU",
        rows,
        f"{workers} workers at 1 item/s, CPU of the GUI process (all its threads, `time.process_time`) over "
        f"{reps} consecutive {C.num(seconds)} s windows after a {params['settle']} s settle; median [min–max].",
    )
    return C.finish(report, res.values())


if __name__ == "__main__":
    sys.exit(C.script_main(None, run))
