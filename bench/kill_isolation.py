"""Figure 6: kill worker A again and again while B runs flat out: B never stalls, nothing is torn.

``python bench/kill_isolation.py`` (``--kills N``, ``--tutorial-kills N``). Pulse: one pipe per
worker. The tutorial: both producers on its one queue, whose cross-process write lock a killed
producer can take to its grave; each wedge is detected by a bound, counted, and the program
rebuilt, instead of being hung on.
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.kill_isolation"
LIMITS = (
    "Pulse: one pipe per worker, so a kill can only tear A's own channel (read to EOF and closed); "
    "the cycle rate is forkserver start + first message + reap under B's flood. Tutorial: a producer "
    "killed while its feeder thread holds the queue's cross-process write lock (or mid-write) leaves "
    "it held: B and every later A block for good, silently."
)
STALL_S = 0.1  # B without an item this long is a stall
WEDGE_S = 0.5  # tutorial: B without an item this long is wedged for good (its normal gaps: < 50 ms)
ALIVE_AFTER_S = 0.2  # tutorial: B must still deliver this long after the kill (the pipe holds ~40 ms)
REBUILD_EVERY = 10  # tutorial: a fresh queue every N kills, or B's unbounded buffer eats the machine
_TUTORIAL_ITEM = re.compile(r"[AB] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?")


class _Stream:
    """Checks one worker's batches: contiguous sequence numbers, items that match them, gaps."""

    def __init__(self) -> None:
        self.expected = 0
        self.items = 0
        self.corrupted = 0
        self.stalls = 0
        self.wedges = 0
        self.max_gap = 0.0
        self.last: float | None = None

    def batch(self, ev: Any, now: float, timed: bool) -> None:
        items = ev.items
        ok = ev.first_seq == self.expected and ev.lost_before == 0
        ok = ok and items[0][0] == ev.first_seq and items[-1][0] == ev.first_seq + len(items) - 1
        self.corrupted += not ok
        self.expected = ev.first_seq + len(items)
        self.items += len(items)
        if timed and self.last is not None:
            gap = now - self.last
            self.max_gap = max(self.max_gap, gap)
            self.stalls += gap > STALL_S
            self.wedges += gap > WEDGE_S
        self.last = now


def trial_pulse(kills: int) -> dict[str, Any]:
    """Pulse: B = pulse_supervisor.producers:flood runs; A (flood) is started and SIGKILLed ``kills`` times."""
    from bench import _qt
    from pulse_supervisor.core.supervision.events import ItemBatch, LogLine, StateChanged
    from pulse_supervisor.core.supervision.policy import State

    _qt.application()
    specs = [
        C.pulse_spec("A", "pulse_supervisor.producers:flood"),
        C.pulse_spec("B", "pulse_supervisor.producers:flood", autostart=True),
    ]
    window = _qt.pulse_window(C.pulse_config(*specs))
    sup = window.supervisor
    waiter = _qt.Waiter()
    a, b = _Stream(), _Stream()
    state = {"undecodable": 0, "driving": False}

    def on_events(events: list[Any], now: int) -> None:
        for ev in events:
            if isinstance(ev, ItemBatch):
                (a if ev.worker == "A" else b).batch(ev, now / 1e9, state["driving"])
            elif isinstance(ev, StateChanged) and ev.worker == "A" and ev.state is State.STARTING:
                a.expected = 0  # a new run counts from 0
            elif isinstance(ev, LogLine) and "undecodable" in ev.line:
                state["undecodable"] += 1

    _qt.EventTap(window.supervisor, waiter, on_events)
    sup.start_autostart()
    if not waiter.wait(lambda: b.items > 0, 20.0):
        raise RuntimeError("B never delivered")
    rec_a = sup.supervisor.record("A")
    done = threading.Event()
    report: dict[str, Any] = {"kills": 0, "a_silent": 0}

    def drive() -> None:
        # A plain thread: supervisor commands are thread-safe and records are readable, so a
        # cycle costs what the supervisor costs, not the GUI's 60 Hz.
        rng = random.Random(6)
        try:
            for _ in range(kills):
                r0 = rec_a.received
                sup.start("A")
                deadline = time.monotonic() + 5.0
                while rec_a.received == r0 and time.monotonic() < deadline:
                    time.sleep(0.0005)
                report["a_silent"] += rec_a.received == r0
                time.sleep(rng.uniform(0.0, 0.002))  # land anywhere in A's stream of 1000-item writes
                sup.kill("A")
                deadline = time.monotonic() + 10.0
                while not (rec_a.run is None and rec_a.runtime.state is State.STOPPED):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"A stuck in {rec_a.runtime.state}")
                    time.sleep(0.0005)
                report["kills"] += 1
        except Exception as exc:  # reported, not raised in a thread nobody joins
            report["error_in_driver"] = repr(exc)
        finally:
            done.set()

    state["driving"] = True
    b_items0, t0 = b.items, time.monotonic()
    threading.Thread(target=drive, name="bench-kill-driver", daemon=True).start()
    waiter.wait_polling(done.is_set, 30.0 + kills * 1.0, every=0.05)
    elapsed = time.monotonic() - t0
    state["driving"] = False
    report.update(
        seconds=elapsed,
        b_rate=(b.items - b_items0) / elapsed,
        b_stalls=b.stalls,
        b_wedges=b.wedges,
        b_max_gap_ms=b.max_gap * 1000,
        b_corrupted=b.corrupted,
        a_corrupted=a.corrupted,
        undecodable=state["undecodable"],
    )
    report["graceful"] = _qt.close_pulse_window(window, waiter)
    rec_b = sup.supervisor.record("B")
    report.update(b_received=rec_b.received, b_sent=rec_b.sent, b_lost=rec_b.lost)
    return report


def trial_tutorial(kills: int) -> dict[str, Any]:
    """The tutorial: A and B flat out on one queue; A killed ``kills`` times; wedges counted."""
    from multiprocessing import RawValue

    from bench import tutorial_baseline as T

    state: dict[str, Any] = {"a_seen": False, "last_b": None, "stalls": 0, "corrupted": 0, "max_gap": 0.0}

    def on_item(data: str) -> None:
        now = time.monotonic()
        if not _TUTORIAL_ITEM.fullmatch(data):
            state["corrupted"] += 1
        elif data[0] == "A":
            state["a_seen"] = True
        else:
            last = state["last_b"]
            if last is not None and state["timed"]:
                gap = now - last
                state["max_gap"] = max(state["max_gap"], gap)
                state["stalls"] += gap > STALL_S
            state["last_b"] = now

    def build() -> tuple[Any, Any, Any, Any]:
        q = T.Queue()
        stop = RawValue("b", 0)
        b = T.start_producer(q, name="B", rate=None, tag="B ", stop=stop)
        return q, stop, b, None

    q, stop, b, _ = build()  # the first before Qt, as the original
    from bench import _qt

    _qt.application()
    waiter = _qt.Waiter()
    window = _qt.tutorial_window(q, on_item)
    window.show()
    out = {"kills": 0, "wedged": 0, "a_silent": 0, "builds": 1, "stuck_readers": 0}
    state["timed"] = False

    kept: list[Any] = []  # every window ever built: a QThread must never be destroyed while it runs

    def teardown() -> None:
        kept.append(window)
        window.consumer.running = False
        T.end_producers([b], stop, grace=0.0)
        # Let the consumer leave its loop before closing the last writer: with every writer gone,
        # poll() reports the empty pipe readable (EOF), so a consumer that passed its `running`
        # check just before would find `q.empty()` False and get EOFError from `q.get()`.
        stuck = not window.consumer.wait(1000)
        q._writer.close()  # with every writer gone, a reader blocked mid-message gets EOF
        if stuck:
            out["stuck_readers"] += not window.consumer.wait(1000)
        window.close()

    if not waiter.wait_polling(lambda: state["last_b"] is not None, 20.0):
        raise RuntimeError("B never delivered")
    for k in range(kills):
        if k and k % REBUILD_EVERY == 0:
            teardown()
            q, stop, b, _ = build()
            window = _qt.tutorial_window(q, on_item)
            window.show()
            out["builds"] += 1
            state["last_b"] = None
            waiter.wait_polling(lambda: state["last_b"] is not None, 5.0)
        state["timed"] = True
        state["a_seen"] = False
        a = T.start_producer(q, name="A", rate=None, tag="A ")
        waiter.wait_polling(lambda: state["a_seen"], 1.0, every=0.001)
        out["a_silent"] += not state["a_seen"]
        a.kill()
        a.join()
        out["kills"] += 1
        alive_after = time.monotonic() + ALIVE_AFTER_S
        alive = waiter.wait_polling(lambda t=alive_after: (state["last_b"] or 0) > t, WEDGE_S + ALIVE_AFTER_S)
        if not alive:
            out["wedged"] += 1
            state["timed"] = False  # the rebuild is not B's stall
            teardown()
            q, stop, b, _ = build()
            window = _qt.tutorial_window(q, on_item)
            window.show()
            out["builds"] += 1
            state["last_b"] = None
            waiter.wait_polling(lambda: state["last_b"] is not None, 5.0)
    state["timed"] = False
    out.update(b_stalls=state["stalls"], b_max_gap_ms=state["max_gap"] * 1000, corrupted=state["corrupted"])
    teardown()
    out["hard_exit"] = True  # a reader may still be blocked for good
    return out


def run(
    quick: bool = False, reps: int | None = None, kills: int | None = None, tutorial_kills: int | None = None
) -> C.Report:
    """Kill A repeatedly while B runs flat out: B's stalls and corrupted messages."""
    kills = kills or (50 if quick else 1000)
    tutorial_kills = tutorial_kills or (5 if quick else 30)
    reps = reps or 1
    plan = [("pulse", {"kills": kills}), ("tutorial", {"kills": tutorial_kills})]
    res = C.interleaved(MODULE, plan, reps, timeout=120 + kills * 0.2 + tutorial_kills * 3)
    P, T = C.ok(res["pulse"]), C.ok(res["tutorial"])
    tot = lambda rs, k: sum(r.get(k, 0) for r in rs)  # noqa: E731
    pk, tk = tot(P, "kills"), tot(T, "kills")
    ms = lambda x: C.num(x, 3) + " ms"  # noqa: E731
    # A wedged B never delivers again, so no gap is ever measured for it: count wedges as stalls.
    p_stalls, t_stalls = tot(P, "b_stalls"), tot(T, "b_stalls") + tot(T, "wedged")
    p_corrupt = tot(P, "b_corrupted") + tot(P, "a_corrupted") + tot(P, "undecodable")
    rows = [
        C.Row("kills of A done", f"{pk}", f"{tk}"),
        C.Row(
            f"B stalls (> {STALL_S * 1000:.0f} ms without an item)",
            f"{p_stalls} of {pk} kills",
            f"{t_stalls} of {tk} kills",
            "—",
            "0",
            bool(P) and p_stalls == 0,
        ),
        C.Row(
            f"B wedged for good (nothing for {WEDGE_S:g} s)",
            f"{tot(P, 'b_wedges')} of {pk} kills" if P else "n/a",
            f"{tot(T, 'wedged')} of {tk} kills",
            "—",
            "0",
            bool(P) and tot(P, "b_wedges") == 0,
        ),
        C.Row(
            "corrupted messages (torn, out of sequence, undecodable)",
            f"{p_corrupt}",
            f"{tot(T, 'corrupted')}",
            "—",
            "0",
            bool(P) and p_corrupt == 0,
        ),
        C.Row(
            "B's longest gap between items",
            C.spread(C.values(P, "b_max_gap_ms"), ms),
            C.spread(C.values(T, "b_max_gap_ms"), ms),
        ),
        C.Row("B's items/s into the GUI during the kills", C.spread(C.values(P, "b_rate"), C.rate), "—"),
        C.Row(
            "B after a graceful stop: received == sent, lost",
            "; ".join(f"{r['b_received'] == r['b_sent']}, lost {r['b_lost']}" for r in P) or "n/a",
            "—",
        ),
        C.Row("kill cycles per second", C.spread([r["kills"] / r["seconds"] for r in P], C.num), "—"),
    ]
    notes = [
        "Pulse: a driver thread starts A, waits for A's first message, waits 0–2 ms more (so the kill "
        "lands anywhere in A's stream of 1000-item writes) and SIGKILLs it through `Supervisor.kill`; "
        "B's batches are checked for contiguous sequence numbers and matching items in the GUI slot.",
        f"Tutorial: A is started, killed once it has shown an item; B must still deliver "
        f"{ALIVE_AFTER_S * 1000:.0f} ms after the kill (the pipe alone holds ~40 ms of items), else it is "
        f"counted wedged after {WEDGE_S:g} s and the program rebuilt. A fresh queue every {REBUILD_EVERY} "
        "kills too, or B's unbounded put buffer grows without limit. "
        f"Stuck readers: {tot(T, 'stuck_readers')}; A never shown before its kill: {tot(T, 'a_silent')}.",
    ]
    if any("error_in_driver" in r for r in P):
        notes.append("Driver errors: " + "; ".join(r["error_in_driver"] for r in P if "error_in_driver" in r))
    report = C.Report(
        "6. Kill isolation",
        rows,
        f"two workers flat out (`pulse_supervisor.producers:flood`), A SIGKILLed {kills} times and restarted each time "
        f"while B runs (tutorial: {tutorial_kills} kills); window shown.",
        notes,
    )
    return C.finish(report, res.values())


def _args(p: Any) -> None:
    p.add_argument("--kills", type=int, help="kills of A for Pulse (default 1000; quick 50)")
    p.add_argument("--tutorial-kills", type=int, help="kills of A for the tutorial (default 30; quick 5)")


if __name__ == "__main__":
    sys.exit(C.script_main(None, run, _args))
