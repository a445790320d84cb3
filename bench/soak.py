"""Figure 7: the demo config at full rate for 10 minutes: GUI memory stays flat, nothing is lost.

``python bench/soak.py --minutes 10`` is the real thing. ``bench/run_all.py`` runs it shorter
(``--soak-minutes``, default 0.75): the same run with every minute scaled, so "minute 1" is
the first tenth of the run and "minute 10" its end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.soak"
LIMITS = (
    "Pulse: a short soak's 'minute 1' falls inside warm-up (plot buffers filling to 5 000 points a "
    "series, the log model toward its cap, pymalloc arenas), so growth reads high; `--minutes 10` "
    "separates warm-up from a leak. Throughput is the flood worker's, as in figure 2. Tutorial: at "
    "2 000 items/s it keeps up; flat out, its producer grows ~30 MB/s (figure 2)."
)
TARGET_GROWTH_PCT = 10.0
SAMPLES = 60  # RSS samples over the run
TUTORIAL_RATE = 2000.0  # the demo's steady rate; flat out the tutorial's producer grows ~30 MB/s


def _sample_rss(waiter: Any, seconds: float, on_sample: Any = None) -> list[tuple[float, float]]:
    """Run the event loop for ``seconds``, sampling this process's RSS; return (t, MB) pairs."""
    trace = [(0.0, C.rss_mb())]
    t0 = time.monotonic()
    for i in range(1, SAMPLES + 1):
        waiter.sleep(max(0.0, t0 + seconds * i / SAMPLES - time.monotonic()))
        trace.append((time.monotonic() - t0, C.rss_mb()))
        if on_sample is not None:
            on_sample()
    return trace


def _marks(trace: list[tuple[float, float]]) -> dict[str, float]:
    """RSS at "minute 1" (a tenth of the run), at the end, and the growth between them."""
    m1 = trace[SAMPLES // 10][1]
    end = trace[-1][1]
    return {"rss_m1": m1, "rss_end": end, "growth_pct": 100 * (end - m1) / m1, "rss_max": max(mb for _, mb in trace)}


def trial_pulse(seconds: float, everything: bool) -> dict[str, Any]:
    """Pulse on app/demo.toml with the window shown; every worker started when ``everything``."""
    from bench import _qt
    from pulse_supervisor.cli import demo_config
    from pulse_supervisor.core.supervision.events import ItemBatch

    _qt.application()
    window = _qt.pulse_window(demo_config())
    sup = window.supervisor
    waiter = _qt.Waiter()
    count = [0]

    def on_events(events: list[Any], now: int) -> None:
        for ev in events:
            if isinstance(ev, ItemBatch):
                count[0] += len(ev.items)

    _qt.EventTap(window.supervisor, waiter, on_events)
    lateness = _qt.LatenessProbe()
    sup.start_autostart()
    if everything:
        for name in sup.names():
            if not sup.spec(name).autostart:
                sup.start(name)
    waiter.wait(lambda: count[0] > 0, 20.0)
    lateness.start()
    c0, t0 = C.cpu_seconds(), time.monotonic()
    trace = _sample_rss(waiter, seconds)
    elapsed = time.monotonic() - t0
    result: dict[str, Any] = {**_marks(trace), **lateness.stop()}
    result.update(
        rate_in=count[0] / elapsed, gui_cpu=100 * (C.cpu_seconds() - c0) / elapsed, trace=trace[:: SAMPLES // 10]
    )
    result["graceful"] = _qt.close_pulse_window(window, waiter, timeout=60.0)
    recs = {name: sup.supervisor.record(name) for name in sup.names()}
    result["workers"] = {n: [r.received, r.sent, r.lost, r.last_exit] for n, r in recs.items()}
    result.update(
        received=sum(r.received for r in recs.values()),
        sent=sum(r.sent for r in recs.values()),
        lost=sum(r.lost for r in recs.values()),
    )
    return result


def trial_tutorial(seconds: float) -> dict[str, Any]:
    """The tutorial: its one producer at the demo's steady rate, one signal per item."""
    from multiprocessing import RawValue

    from bench import tutorial_baseline as T

    q = T.Queue()
    stop, sent = RawValue("b", 0), RawValue("q", 0)
    proc = T.start_producer(q, rate=TUTORIAL_RATE, stop=stop, sent=sent)

    from bench import _qt

    _qt.application()
    waiter = _qt.Waiter()
    window = _qt.tutorial_window(q)
    window.show()
    waiter.wait_polling(lambda: window.received > 0, 20.0)
    lateness = _qt.LatenessProbe()
    lateness.start()
    c0, t0 = C.cpu_seconds(), time.monotonic()
    trace = _sample_rss(waiter, seconds)
    elapsed = time.monotonic() - t0
    result: dict[str, Any] = {**_marks(trace), **lateness.stop()}
    result.update(
        rate_in=window.received / elapsed,
        gui_cpu=100 * (C.cpu_seconds() - c0) / elapsed,
        received=window.received,
        sent=sent.value,
        backlog=sent.value - window.received,
    )
    result["graceful"] = T.stop_consumer(window)
    T.end_producers([proc], stop)
    window.close()
    result["hard_exit"] = True
    return result


def run(
    quick: bool = False,
    reps: int | None = None,
    minutes: float | None = None,
    tutorial_minutes: float | None = None,
    autostart_only: bool = False,
) -> C.Report:
    """The demo config at full rate: GUI RSS at minute 1 and 10, items lost."""
    minutes = minutes or (0.05 if quick else 10.0)
    tutorial_minutes = tutorial_minutes or minutes / 3
    seconds, tseconds = minutes * 60, tutorial_minutes * 60
    plan = [("pulse", {"seconds": seconds, "everything": not autostart_only}), ("tutorial", {"seconds": tseconds})]
    res = C.interleaved(MODULE, plan, reps or 1, timeout=120 + seconds * 1.5)
    P, T = res["pulse"], res["tutorial"]
    mb = lambda x: C.num(x, 3) + " MB"  # noqa: E731
    pct = lambda x: C.num(x, 2) + " %"  # noqa: E731
    ms = lambda x: C.num(x, 3) + " ms"  # noqa: E731
    m1, m10 = (
        ("", "")
        if minutes == 10
        else (f" (scaled: at {C.num(seconds / 10, 2)} s)", f" (scaled: at {C.num(seconds, 2)} s)")
    )

    def row(figure: str, key: str, fmt: Any, target: str = "—", limit: float | None = None, better: str = "lower"):
        p, b = C.values(P, key), C.values(T, key)
        m = C.met(C.median(p), limit) if limit is not None else None
        return C.Row(figure, C.spread(p, fmt), C.spread(b, fmt), C.ratio(C.median(p), C.median(b), better), target, m)

    okp = C.ok(P)
    lost = sum(r["lost"] for r in okp)
    rows = [
        row(f"GUI RSS at minute 1{m1}", "rss_m1", mb),
        row(f"GUI RSS at minute 10{m10}", "rss_end", mb),
        row("GUI RSS growth, minute 1 → 10", "growth_pct", pct, f"< {TARGET_GROWTH_PCT:g} %", TARGET_GROWTH_PCT),
        C.Row(
            "items lost (sequence gaps + never delivered)",
            C.num(lost) if okp else "n/a",
            "; ".join(f"{C.num(r['backlog'])} still queued at the end" for r in C.ok(T)) or "n/a",
            "—",
            "0",
            bool(okp) and lost == 0,
        ),
        C.Row(
            "items received == sent (after a graceful stop)",
            "; ".join(f"{C.num(r['received'])} == {C.num(r['sent'])}: {r['received'] == r['sent']}" for r in okp)
            or "n/a",
            "—",
        ),
        row("items/s into the GUI", "rate_in", C.rate, better="higher"),
        row("GUI lateness of a 10 ms QTimer, max", "late_max", ms),
        row("GUI-process CPU, % of a core", "gui_cpu", pct),
    ]
    notes = [
        "Pulse runs `app/demo.toml` (`pulse_supervisor.cli.demo_config()`) with "
        + (
            "its autostart workers only."
            if autostart_only
            else "every worker started, flood included (flat out), crashy going FATAL."
        )
        + f" The tutorial's one producer runs at {C.num(TUTORIAL_RATE)} items/s for {C.num(tseconds)} s.",
    ]
    for r in okp:
        bad = {n: v for n, v in r["workers"].items() if v[0] != v[1] or v[2]}
        if bad:
            notes.append(f"Workers whose received != sent or lost > 0 ([received, sent, lost, last exit]): {bad}")
        notes.append("Pulse GUI RSS trace (s, MB): " + ", ".join(f"({t:.0f}, {mb:.1f})" for t, mb in r["trace"]))
    report = C.Report(
        "7. Soak",
        rows,
        f"{C.num(minutes, 2)} min of the demo config"
        + ("" if minutes == 10 else " (shortened; `--minutes 10` is the real soak)")
        + f"; RSS sampled {SAMPLES} times; {reps or 1} run(s).",
        notes,
    )
    return C.finish(report, res.values())


def _args(p: Any) -> None:
    p.add_argument("--minutes", type=float, help="soak length (default 10; quick 0.1)")
    p.add_argument("--tutorial-minutes", type=float, help="tutorial soak length (default a third of --minutes)")
    p.add_argument("--autostart-only", action="store_true", help="run only the demo's autostart workers")


if __name__ == "__main__":
    sys.exit(C.script_main(None, run, _args))
