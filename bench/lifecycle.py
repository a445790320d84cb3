"""Figure 4: Start click -> first item; graceful stop -> STOPPED; kill -> state shown.

``python bench/lifecycle.py``. Pulse is driven through its window (select the row, click the
toolbar button); the tutorial has no buttons, so its figures are ``Process.start()`` -> first
item in the slot and ``terminate()``/``kill()`` -> process reaped (it shows no state).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.lifecycle"
LIMITS = (
    "Start: forkserver fork + re-import of the main module + bootstrap (~5-8 ms); the first item then "
    "goes out at once (the STARTING emission no longer holds it for a frame). Stop and kill: the "
    "worker is gone in ~2 ms; state changes are emitted at once, then the window's slot runs (a state "
    "change of the selected worker rebuilds the plot legend). Spawn starts a fresh interpreter and "
    "imports the bootstrap (~50 ms). Outside SIGKILL: sentinel -> reap -> slot."
)
TARGET_START_MS = 30.0  # warm forkserver
TARGET_STOP_MS = 50.0
TARGET_KILL_MS = 20.0
OPS = ("stop", "kill", "sigkill")
SETTLE = 0.1  # s of quiet before each click: a user acts on a window that is not mid-update


def trial_pulse(method: str, cycles: int) -> dict[str, Any]:
    """Pulse with ``method``: warm up once, then ``cycles`` of start + (stop | kill | SIGKILL)."""
    from bench import _qt
    from pulse_supervisor.core.supervision.events import ItemBatch, StateChanged
    from pulse_supervisor.core.supervision.policy import State

    _qt.application()
    spec = C.pulse_spec("ticker", "pulse_supervisor.producers:ticker", kwargs={"interval": 0.5}, start_secs=0.05)
    window = _qt.pulse_window(C.pulse_config(spec, start_method=method))
    waiter = _qt.Waiter()
    paint = _qt.PaintProbe(window.table.viewport())
    seen: dict[str, int | None] = {"item": None, "state": None}
    states: list[State] = []

    def on_events(events: list[Any], now: int) -> None:
        for ev in events:
            if isinstance(ev, ItemBatch) and seen["item"] is None:
                seen["item"] = now
            elif isinstance(ev, StateChanged):
                states.append(ev.state)
                seen["state"] = now

    _qt.EventTap(window.supervisor, waiter, on_events)
    window.select("ticker")
    out: dict[str, list[float]] = {"start": [], **{op: [] for op in OPS}, **{f"{op}_paint": [] for op in OPS}}

    def click(button: Any) -> int:
        if not button.isEnabled():
            raise RuntimeError(f"{button.text()} is disabled in state {states[-1:]}")
        t0 = time.monotonic_ns()
        button.click()
        return t0

    for i in range(cycles + 1):  # the first cycle warms up (forkserver started, caches hot)
        waiter.sleep(SETTLE)
        seen["item"] = None
        states.clear()
        t0 = click(window.start_button)
        if not waiter.wait(lambda: seen["item"] is not None, 30.0):
            raise RuntimeError("no first item")
        started = seen["item"] - t0
        if not waiter.wait(lambda: State.RUNNING in states, 10.0):
            raise RuntimeError(f"never RUNNING: {states}")
        waiter.sleep(SETTLE)
        op = OPS[i % len(OPS)]
        end = State.EXITED if op == "sigkill" else State.STOPPED
        states.clear()
        paint.delays_ms = []
        # Armed before the action: the first table paint once the model holds the end state.
        painted = lambda end=end: window.model.row("ticker").state is end  # noqa: E731
        if op == "sigkill":
            t1 = time.monotonic_ns()
            paint.expect(t1, painted)
            os.kill(window.supervisor.supervisor.record("ticker").pid, signal.SIGKILL)
        else:
            paint.expect(time.monotonic_ns(), painted)
            t1 = click(window.stop_button if op == "stop" else window.kill_button)
            paint.expect(t1, painted)
        if not waiter.wait(lambda end=end: end in states, 30.0):
            raise RuntimeError(f"{op}: never {end}: {states}")
        shown = seen["state"] - t1
        waiter.wait_polling(lambda: bool(paint.delays_ms), 1.0)
        if i:
            out["start"].append(started / 1e6)
            out[op].append(shown / 1e6)
            out[f"{op}_paint"] += paint.delays_ms[:1]
    out["graceful"] = _qt.close_pulse_window(window, waiter)  # type: ignore[assignment]
    return out


def trial_tutorial(cycles: int) -> dict[str, Any]:
    """The tutorial: ``Process.start()`` -> first item in its slot; ``terminate``/``kill`` -> reaped."""
    from bench import tutorial_baseline as T

    q = T.Queue()
    from bench import _qt

    _qt.application()
    waiter = _qt.Waiter()
    window = _qt.tutorial_window(q, lambda data: waiter.poke())
    window.show()
    out: dict[str, Any] = {"start": [], "terminate": [], "kill": []}
    for i in range(cycles + 1):
        waiter.sleep(0.1)
        n = window.received
        t0 = time.monotonic_ns()
        p = T.start_producer(q, rate=1.0)
        if not waiter.wait(lambda n=n: window.received > n, 30.0):
            raise RuntimeError("no first item")
        started = time.monotonic_ns() - t0
        waiter.sleep(0.1)
        op = ("terminate", "kill")[i % 2]
        t1 = time.monotonic_ns()
        getattr(p, op)()
        p.join()
        if i:
            out["start"].append(started / 1e6)
            out[op].append((time.monotonic_ns() - t1) / 1e6)
    out["graceful"] = T.stop_consumer(window)
    window.close()
    return out


def run(quick: bool = False, reps: int | None = None) -> C.Report:
    """Start -> first item, graceful stop -> STOPPED, kill -> state shown (Pulse's window vs tutorial)."""
    reps = reps or 1
    n = 3 if quick else 15
    plan = [
        ("pulse", {"method": "forkserver", "cycles": n}),
        ("tutorial", {"cycles": 2 if quick else 10}),
        ("pulse", {"method": "spawn", "cycles": 2 if quick else 6}),
        ("pulse", {"method": "fork", "cycles": 2 if quick else 6}),
    ]
    res: dict[str, list[dict[str, Any]]] = {"forkserver": [], "spawn": [], "fork": [], "tutorial": []}
    for _ in range(reps):
        for kind, params in plan:
            res[params.get("method", kind)].append(C.run_trial(MODULE, kind, params, timeout=120))

    def pooled(key: str, metric: str) -> list[float]:
        return [x for r in C.ok(res[key]) for x in r.get(metric, [])]

    ms = lambda x: C.num(x, 3) + " ms"  # noqa: E731

    def cell(key: str, metric: str) -> str:
        xs, paint = pooled(key, metric), pooled(key, f"{metric}_paint")
        if not xs:
            return "n/a"
        return f"{ms(C.median(xs))} [{ms(min(xs))}–{ms(max(xs))}]" + (
            f"; repainted {ms(C.median(paint))}" if paint else ""
        )

    tut_start, tut_term, tut_kill = (C.median(pooled("tutorial", m)) for m in ("start", "terminate", "kill"))
    start = C.median(pooled("forkserver", "start"))
    stop, kill, sigkill = (C.median(pooled("forkserver", m)) for m in OPS)
    rows = [
        C.Row(
            "Start click → first item in the GUI, warm forkserver",
            cell("forkserver", "start"),
            ms(tut_start),
            C.ratio(start, tut_start, "lower"),
            f"< {TARGET_START_MS:g} ms",
            C.met(start, TARGET_START_MS),
        ),
        C.Row("Start click → first item, spawn", cell("spawn", "start"), ms(tut_start)),
        C.Row("Start click → first item, fork", cell("fork", "start"), ms(tut_start)),
        C.Row(
            "Stop click (cooperative worker) → STOPPED in the GUI",
            cell("forkserver", "stop"),
            ms(tut_term) + " (terminate → reaped)",
            C.ratio(stop, tut_term, "lower"),
            f"< {TARGET_STOP_MS:g} ms",
            C.met(stop, TARGET_STOP_MS),
        ),
        C.Row(
            "Kill click → STOPPED in the GUI",
            cell("forkserver", "kill"),
            ms(tut_kill) + " (kill → reaped)",
            C.ratio(kill, tut_kill, "lower"),
            f"< {TARGET_KILL_MS:g} ms",
            C.met(kill, TARGET_KILL_MS),
        ),
        C.Row(
            "SIGKILL from outside → EXITED in the GUI",
            cell("forkserver", "sigkill"),
            "— (shows nothing)",
            "—",
            f"< {TARGET_KILL_MS:g} ms",
            C.met(sigkill, TARGET_KILL_MS),
        ),
    ]
    report = C.Report(
        "4. Lifecycle",
        rows,
        f"Pulse: one window per start method, a warm-up cycle, then {n} cycles (forkserver; stop, kill and "
        "outside SIGKILL in turn) of `pulse_supervisor.producers:ticker` (a ctx producer that stops cooperatively), "
        "each click after "
        f"{SETTLE * 1000:.0f} ms of quiet; "
        "tutorial: its producer started from the running GUI with the default start method (fork), ended "
        "by terminate()/kill() in turn. Median [min–max] over the cycles; 'repainted' is the first paint "
        "of the table with the new state in the model, timed from the click.",
        [
            "GUI times are taken in a slot connected after the window's own, i.e. once the window has "
            "updated its model; the tutorial's start is measured the same way in its slot.",
        ],
    )
    return C.finish(report, res.values())


if __name__ == "__main__":
    sys.exit(C.script_main(None, run))
