"""Figure 5: 64 workers at 1 000 items/s each: every item counted, the GUI stays responsive.

``python bench/scale.py`` (``--workers``, ``--rate``, ``--seconds`` to change the load).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.scale"
LIMITS = (
    "64 processes each waking 1 000 times a second (`pulse_supervisor.producers:counter` sleeps per item) and "
    "flushing every 2 ms: ~100 000 wake-ups a second on 2 cores, the workers alone using 1.1-1.6 "
    "cores, so the machine is at or near saturation. Linux here schedules with autogroup (its desktop "
    "default): the CPU is shared between sessions first. When the workers ran in the window's session, "
    "the GUI's two threads were 2 of 66 equal tasks (GUI thread on a CPU ~6 % of the time and waiting "
    "for one ~45 %; while the consumer waited for a CPU holding the GIL the GUI thread could not run at "
    "all), and the window froze for 2-6 s. Now the forkserver starts a session of its own, which every "
    "worker shares, at autogroup nice 5 (`PULSE_WORKERS_NICE`): the workers together weigh a third of "
    "the window, take all the CPU it leaves, and it gets what it needs (the thread rows above). Measured "
    "one change at a time with the same load: the session alone at nice 0, max 0.26-0.66 s (each GUI "
    "thread still got only half of its CPU); at nice 5, 30-40 ms; at nice 10, 53 ms. The consumer also "
    "emits a batch only once the GUI thread has taken the previous one, so a starved window handles "
    "fewer, bigger batches instead of a queue it cannot empty (the session alone, without it: max "
    "0.57-1.4 s). A bare Qt program with the same 64 pipes read by a QThread and a GUI doing no work "
    "per batch never stalled over 25 ms, with or without a collector process reading the pipes for it: "
    'the cost was the GUI thread\'s share of the CPU, not the reading. `sched = "idle"` workers now '
    "yield to the other workers; against the window they get their group's share (max 71-159 ms at "
    "nice 5, 30 ms at nice 10)."
)
TARGET_LATE_MS = 100.0  # issue 13: at the default settings, max < 100 ms and p99 < 40 ms
TARGET_P99_MS = 40.0


def _cpu_of(pids: list[int]) -> float:
    """Return the summed user+system CPU seconds of ``pids`` (those still alive)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _thread_sched() -> dict[str, tuple[int, int]]:
    """Return {"gui": (ran_ns, waited_ns), "consumer": ...} from /proc/self/task/<tid>/schedstat.

    Ran: on a CPU; waited: runnable but waiting for one. The rest of the wall time a thread
    slept: on its own wait (event loop, pipes) or on the GIL another thread of the process holds.
    """
    import os

    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                ran, waited = map(int, f.read().split()[:2])
        except OSError:
            continue
        name = "gui" if int(tid) == os.getpid() else "consumer" if comm == "Consumer" else None
        if name:
            out[name] = (ran, waited)
    return out


def trial_pulse_idle(workers: int, rate: float, seconds: float) -> dict[str, Any]:
    """`trial_pulse` with every worker at ``sched = "idle"``: the window preempts them all."""
    return trial_pulse(workers, rate, seconds, sched="idle")


def trial_pulse(workers: int, rate: float, seconds: float, sched: str = "normal") -> dict[str, Any]:
    """Pulse: ``workers`` pulse_supervisor.producers:counter workers at ``rate``, window shown, ``seconds`` measured."""
    from bench import _qt

    _qt.application()
    specs = [
        C.pulse_spec(
            f"w{i:02d}", "pulse_supervisor.producers:counter", kwargs={"rate": rate}, autostart=True, sched=sched
        )
        for i in range(workers)
    ]
    window = _qt.pulse_window(C.pulse_config(*specs))
    waiter = _qt.Waiter()
    counter = _qt.ItemCount()
    _qt.EventTap(window.supervisor, waiter, counter)
    t_start = time.monotonic()
    advice: list[float] = []  # when the window told the user it was starved (seconds after start)
    window.clock.overloaded.connect(lambda _text: advice.append(time.monotonic() - t_start))
    window.supervisor.start_autostart()
    # A GUI that cannot keep up is a result, not an error: measure whatever arrives.
    all_up = time.monotonic() - t_start if waiter.wait(lambda: len(counter.seen) == workers, 60.0) else None
    delivering = len(counter.seen)
    waiter.sleep(1.0)
    sup = window.supervisor
    pids = [sup.supervisor.record(s.name).pid for s in specs]
    lateness = _qt.LatenessProbe()
    lateness.start()
    s0 = _thread_sched()
    n0, c0, w0, r0, t0 = counter.count, C.cpu_seconds(), _cpu_of(pids), C.rss_mb(), time.monotonic()
    waiter.sleep(seconds)
    n1, c1, w1, r1, t1 = counter.count, C.cpu_seconds(), _cpu_of(pids), C.rss_mb(), time.monotonic()
    s1 = _thread_sched()
    result: dict[str, Any] = lateness.stop()
    elapsed = t1 - t0
    for name in s0.keys() & s1.keys():  # % of the wall time on a CPU, and waiting for one
        result[f"{name}_ran"] = 100 * (s1[name][0] - s0[name][0]) / 1e9 / elapsed
        result[f"{name}_waited"] = 100 * (s1[name][1] - s0[name][1]) / 1e9 / elapsed
    result.update(
        rate_in=(n1 - n0) / elapsed,
        gui_cpu=100 * (c1 - c0) / elapsed,
        workers_cpu=100 * (w1 - w0) / elapsed,
        gui_rss_start=r0,
        gui_rss_end=r1,
        all_up_s=all_up,
        delivering=delivering,
        advice_s=advice[0] if advice else None,
    )
    result["graceful"] = _qt.close_pulse_window(window, waiter, timeout=60.0)
    recs = [sup.supervisor.record(s.name) for s in specs]
    result.update(
        received=sum(r.received for r in recs),
        sent=sum(r.sent for r in recs),
        lost=sum(r.lost for r in recs),
        mismatched=sum(r.received != r.sent for r in recs),
        tapped=counter.count,
    )
    return result


def trial_tutorial(workers: int, rate: float, seconds: float) -> dict[str, Any]:
    """The tutorial: ``workers`` producers at ``rate`` on its one queue, one signal per item."""
    from multiprocessing import RawValue

    from bench import tutorial_baseline as T

    q = T.Queue()
    stop = RawValue("b", 0)
    sents = [RawValue("q", 0) for _ in range(workers)]
    procs = [T.start_producer(q, rate=rate, stop=stop, sent=s) for s in sents]  # before Qt, as the original

    from bench import _qt

    _qt.application()
    waiter = _qt.Waiter()
    window = _qt.tutorial_window(q)
    window.show()
    if not waiter.wait_polling(lambda: window.received > 0, 60.0):
        raise RuntimeError("no item from the tutorial producers")
    waiter.sleep(1.0)
    lateness = _qt.LatenessProbe()
    lateness.start()
    sent = lambda: sum(s.value for s in sents)  # noqa: E731
    n0, s0, c0, w0, r0, t0 = (
        window.received,
        sent(),
        C.cpu_seconds(),
        _cpu_of([p.pid for p in procs]),
        C.rss_mb(),
        time.monotonic(),
    )
    waiter.sleep(seconds)
    n1, s1, c1, w1, r1, t1 = (
        window.received,
        sent(),
        C.cpu_seconds(),
        _cpu_of([p.pid for p in procs]),
        C.rss_mb(),
        time.monotonic(),
    )
    result: dict[str, Any] = lateness.stop()
    elapsed = t1 - t0
    result.update(
        rate_in=(n1 - n0) / elapsed,
        put_rate=(s1 - s0) / elapsed,
        gui_cpu=100 * (c1 - c0) / elapsed,
        workers_cpu=100 * (w1 - w0) / elapsed,
        gui_rss_start=r0,
        gui_rss_end=r1,
        received=n1,
        sent=s1,
        backlog=s1 - n1,
    )
    result["graceful"] = T.stop_consumer(window)
    T.end_producers(procs, stop)
    window.close()
    result["hard_exit"] = True
    return result


def _ran_waited(results: list[Any], thread: str) -> str:
    """Return "ran % / waited %" of ``thread``, medians over ``results``, as a table cell."""
    ran, waited = C.values(results, f"{thread}_ran"), C.values(results, f"{thread}_waited")
    if not ran:
        return "—"
    return f"{C.num(C.median(ran), 2)} % / {C.num(C.median(waited), 2)} %"


def run(
    quick: bool = False,
    reps: int | None = None,
    workers: int | None = None,
    rate: float = 1000.0,
    seconds: float | None = None,
    tutorial_seconds: float | None = None,
) -> C.Report:
    """Many workers at a steady rate: exact counts, GUI lateness, GUI RSS and CPU."""
    workers = workers or (4 if quick else 64)
    seconds = seconds or (2.0 if quick else 20.0)
    tutorial_seconds = tutorial_seconds or min(seconds, 5.0)
    reps = reps or 1
    plan = [
        ("pulse", {"workers": workers, "rate": rate, "seconds": seconds}),
        ("tutorial", {"workers": workers, "rate": rate, "seconds": tutorial_seconds}),
        ("pulse_idle", {"workers": workers, "rate": rate, "seconds": seconds}),
    ]
    res = C.interleaved(MODULE, plan, reps, timeout=180 + 3 * seconds)
    P, T, PI = res["pulse"], res["tutorial"], res["pulse_idle"]
    ms = lambda x: C.num(x, 3) + " ms"  # noqa: E731
    mb = lambda x: C.num(x, 3) + " MB"  # noqa: E731
    pct = lambda x: C.num(x, 3) + " %"  # noqa: E731
    total = lambda rs, k: sum(r[k] for r in C.ok(rs)) if C.ok(rs) else float("nan")  # noqa: E731

    def row(
        figure: str, key: str, fmt: Any, better: str = "lower", target: str = "—", limit: float | None = None, pulse=P
    ):
        p, b = C.values(pulse, key), C.values(T, key)
        m = C.met(C.median(p), limit, better) if limit is not None else None
        return C.Row(figure, C.spread(p, fmt), C.spread(b, fmt), C.ratio(C.median(p), C.median(b), better), target, m)

    lost, mism = total(P, "lost"), total(P, "mismatched")
    received, sent = total(P, "received"), total(P, "sent")
    rows = [
        C.Row(
            "items received == items sent (after a graceful stop)",
            f"{C.num(received)} == {C.num(sent)}" if received == sent else f"{C.num(received)} != {C.num(sent)}",
            f"{C.num(total(T, 'received'))} of {C.num(total(T, 'sent'))} put (backlog {C.num(total(T, 'backlog'))})",
            "—",
            "equal",
            bool(C.ok(P)) and received == sent,
        ),
        C.Row("items lost (sequence gaps)", C.num(lost), "—", "—", "0", bool(C.ok(P)) and lost == 0),
        C.Row("workers whose received != sent", C.num(mism), "—", "—", "0", bool(C.ok(P)) and mism == 0),
        row(f"items/s into the GUI (nominal {C.rate(workers * rate)})", "rate_in", C.rate, "higher"),
        row(
            "GUI lateness of a 10 ms QTimer, max",
            "late_max",
            ms,
            target=f"< {TARGET_LATE_MS:g} ms",
            limit=TARGET_LATE_MS,
        ),
        row(
            "GUI lateness of a 10 ms QTimer, p99", "late_p99", ms, target=f"< {TARGET_P99_MS:g} ms", limit=TARGET_P99_MS
        ),
        row("GUI-process CPU, % of a core", "gui_cpu", pct),
        C.Row("  GUI thread: % of the time on a CPU / waiting for one", _ran_waited(P, "gui")),
        C.Row("  consumer thread: % of the time on a CPU / waiting for one", _ran_waited(P, "consumer")),
        row("workers' CPU, % of a core (sum)", "workers_cpu", pct),
        C.Row("  the window's overload advice (status bar and log), s after start", _advice(P)),
        row("GUI RSS at start of the window", "gui_rss_start", mb),
        row("GUI RSS at end of the window", "gui_rss_end", mb),
        C.Row(
            'with every worker at sched = "idle": items lost; received == sent',
            f"{C.num(total(PI, 'lost'))}; " + ("yes" if total(PI, "received") == total(PI, "sent") else "no"),
            "—",
            "—",
            "0; yes",
            bool(C.ok(PI)) and total(PI, "lost") == 0 and total(PI, "received") == total(PI, "sent"),
        ),
        row('  items/s into the GUI (sched = "idle")', "rate_in", C.rate, "higher", pulse=PI),
        row(
            '  GUI lateness, max (sched = "idle")',
            "late_max",
            ms,
            target=f"< {TARGET_LATE_MS:g} ms",
            limit=TARGET_LATE_MS,
            pulse=PI,
        ),
        row('  GUI lateness, p99 (sched = "idle")', "late_p99", ms, pulse=PI),
        row('  workers\' CPU, % of a core (sched = "idle")', "workers_cpu", pct, pulse=PI),
        C.Row('  GUI thread: on a CPU / waiting for one (sched = "idle")', _ran_waited(PI, "gui")),
        C.Row('  consumer thread: on a CPU / waiting for one (sched = "idle")', _ran_waited(PI, "consumer")),
        C.Row('  the window\'s overload advice (sched = "idle")', _advice(PI)),
    ]
    report = C.Report(
        "5. Scale",
        rows,
        f"{workers} workers × {C.num(rate)} items/s (`pulse_supervisor.producers:counter`), "
        f"measured for {C.num(seconds)} s "
        f"(tutorial: {C.num(tutorial_seconds)} s) once all deliver; {reps} run(s) per design; window shown.",
        [
            "Pulse: workers delivering after start_autostart (forkserver): "
            + "; ".join(
                f"{r['delivering']} of {workers}"
                + (f" within {r['all_up_s']:.1f} s" if r["all_up_s"] is not None else " after 60 s (gave up waiting)")
                for r in C.ok(P)
            )
            + ".",
            "The tutorial's 'backlog' is items put but not yet shown when the window closed: late, not lost, "
            "but nobody can tell which.",
        ],
    )
    return C.finish(report, res.values())


def _advice(results: Any) -> str:
    """Say when each run's window gave its overload advice, or that it gave none."""
    times = [r.get("advice_s") for r in C.ok(results)]
    return "; ".join("none" if t is None else f"after {t:.1f} s" for t in times) or "—"


def _args(p: Any) -> None:
    p.add_argument("--workers", type=int, help="number of workers (default 64; quick 4)")
    p.add_argument("--rate", type=float, default=1000.0, help="items/s per worker (default 1000)")
    p.add_argument("--seconds", type=float, help="measured seconds (default 20; quick 2)")
    p.add_argument("--tutorial-seconds", type=float, help="measured seconds for the tutorial (default min(seconds, 5))")


if __name__ == "__main__":
    sys.exit(C.script_main(None, run, _args))
