"""Figure 2: one worker flat out for 5 s: throughput, GUI lateness, staleness, producer memory.

``python bench/flood.py``. Also measures, in the same run, the roofline: pickle + pipe +
unpickle of 1000-item batches between two processes with no Pulse and no Qt.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.flood"
LIMITS = (
    "Pulse: the producer's Python loop (a generator step and `ChannelWriter.emit` per item, a pickle "
    "per 1000) on one core. The consumer reads a channel with one non-blocking 32 KiB `os.read` per "
    "readiness and cuts the frames itself (no `recv_bytes` + `poll` per message), then unpickles; the "
    "GUI thread sees about one emission a frame (at most 68 a second), so it stays responsive: its lateness is the GUI "
    "thread's own work per frame (merging batches, the status bar, the plot) plus waits for the GIL "
    "the consumer holds while unpickling. The roofline rows are the ceiling for this machine. "
    "Tutorial: every `put` pickles on its own and a feeder thread writes it; one Qt signal per item; "
    "the producer outruns the reader and buffers without bound."
)
TARGET_RATE = 1_000_000  # items/s into the GUI process
TARGET_LATE_MS = 20.0  # max lateness of a 10 ms QTimer in the GUI thread
TARGET_AGE_MS = 50.0  # age of the item the status bar shows at the end
TARGET_GROWTH_MB = 5.0  # "flat": producer RSS growth over the run
RSS_SAMPLE_MS = 250
_PULSE_ITEM = re.compile(r"\((\d+), ([-+0-9.e]+), ")  # the status bar: "flood #12: (12, 3456.7, 1.0)"


class _RssTrace:
    """Samples a process's RSS on a GUI timer (MB): first, last, max."""

    def __init__(self, pid: int) -> None:
        from PyQt5.QtCore import QTimer

        self.pid = pid
        self.mb: list[float] = [C.rss_mb(pid)]
        self._timer = QTimer()
        self._timer.timeout.connect(self._sample)
        self._timer.start(RSS_SAMPLE_MS)

    def _sample(self) -> None:
        try:
            self.mb.append(C.rss_mb(self.pid))
        except Exception:  # the process is gone
            self._timer.stop()

    def stop(self) -> dict[str, float]:
        self._sample()
        self._timer.stop()
        return {"rss_start": self.mb[0], "rss_end": self.mb[-1], "rss_max": max(self.mb)}


def trial_pulse(seconds: float) -> dict[str, Any]:
    """Pulse: Supervisor + Consumer + MainWindow, pulse_supervisor.producers:flood flat out."""
    from bench import _qt
    from pulse_supervisor.core.supervision.events import ItemBatch

    _qt.application()
    window = _qt.pulse_window(C.pulse_config(C.pulse_spec("flood", "pulse_supervisor.producers:flood")))
    waiter = _qt.Waiter()
    count = [0]

    def on_events(events: list[Any], now: int) -> None:
        for ev in events:
            if isinstance(ev, ItemBatch):
                count[0] += len(ev.items)

    _qt.EventTap(window.supervisor, waiter, on_events)
    window.supervisor.start("flood")
    if not waiter.wait(lambda: count[0] > 0, 20.0):
        raise RuntimeError("no item from the flood worker")
    pid = window.supervisor.supervisor.record("flood").pid
    lateness = _qt.LatenessProbe()
    rss = _RssTrace(pid)
    gui0 = C.rss_mb()
    lateness.start()
    n0, t0 = count[0], time.monotonic()
    waiter.sleep(seconds)
    n1, t1 = count[0], time.monotonic()
    shown = window.statusBar().currentMessage()
    m = _PULSE_ITEM.search(shown)
    age_ms = (time.monotonic() - float(m.group(2))) * 1000 if m else None
    result = {"rate": (n1 - n0) / (t1 - t0), "age_ms": age_ms, "shown": shown[:80], "gui_rss_start": gui0}
    result.update(lateness.stop())
    result.update(rss.stop())
    result["gui_rss_end"] = C.rss_mb()
    result["graceful"] = _qt.close_pulse_window(window, waiter)
    rec = window.supervisor.supervisor.record("flood")
    result.update(received=rec.received, sent=rec.sent, lost=rec.lost)
    return result


def trial_tutorial(seconds: float) -> dict[str, Any]:
    """The tutorial: one producer flat out on the global queue, one signal per item."""
    import datetime
    from multiprocessing import RawValue

    from bench import tutorial_baseline as T

    q = T.Queue()
    stop, sent = RawValue("b", 0), RawValue("q", 0)
    proc = T.start_producer(q, rate=None, stop=stop, sent=sent)  # before Qt, as the original

    from bench import _qt

    _qt.application()
    waiter = _qt.Waiter()
    window = _qt.tutorial_window(q)
    window.show()
    if not waiter.wait_polling(lambda: window.received > 0, 20.0):
        raise RuntimeError("no item from the tutorial producer")
    lateness = _qt.LatenessProbe()
    rss = _RssTrace(proc.pid)
    gui0 = C.rss_mb()
    lateness.start()
    n0, s0, t0 = window.received, sent.value, time.monotonic()
    waiter.sleep(seconds)
    n1, s1, t1 = window.received, sent.value, time.monotonic()
    shown = window.statusBar().currentMessage()
    try:
        age_ms = (datetime.datetime.now() - datetime.datetime.fromisoformat(shown)).total_seconds() * 1000
    except ValueError:
        age_ms = None
    result = {"rate": (n1 - n0) / (t1 - t0), "put_rate": (s1 - s0) / (t1 - t0), "age_ms": age_ms, "shown": shown[:80]}
    result.update(lateness.stop())
    result.update(rss.stop())
    result.update(gui_rss_start=gui0, gui_rss_end=C.rss_mb(), sent=sent.value, received=window.received)
    result["graceful"] = T.stop_consumer(window)
    T.end_producers([proc], stop)
    window.close()
    result["hard_exit"] = True  # millions of queued signals and a full queue: skip the teardown
    return result


def trial_roofline(seconds: float) -> dict[str, Any]:
    """Two plain processes, a pipe, pickled 1000-item batches: prebuilt, then made live."""
    import multiprocessing
    import pickle

    from bench.producers import roofline_sender

    ctx = multiprocessing.get_context("fork")  # no Qt and no threads here: fork is safe
    result: dict[str, Any] = {}
    for live in (False, True):
        reader, writer = ctx.Pipe(duplex=False)
        stop = ctx.RawValue("b", 0)
        p = ctx.Process(target=roofline_sender, args=(writer, stop, live), daemon=True)
        p.start()
        writer.close()
        recv, loads = reader.recv_bytes, pickle.loads
        recv()  # the sender is up
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            n += len(loads(recv())[2])
        elapsed = time.monotonic() - t0
        stop.value = 1
        try:
            while True:
                recv()
        except EOFError:
            pass
        p.join()
        reader.close()
        result["live" if live else "prebuilt"] = n / elapsed
    return result


def run(quick: bool = False, reps: int | None = None) -> C.Report:
    """One worker flat out: items/s into the GUI, GUI lateness, staleness, producer memory."""
    seconds = 1.0 if quick else 5.0
    reps = reps or (1 if quick else 3)
    plan = [("pulse", {"seconds": seconds}), ("tutorial", {"seconds": seconds}), ("roofline", {"seconds": 1.0})]
    res = C.interleaved(MODULE, plan, reps, timeout=60 + seconds * 4)
    P, T, R = res["pulse"], res["tutorial"], res["roofline"]

    def row(figure: str, key: str, fmt: Any, target: str, limit: float | None, better: str = "lower") -> C.Row:
        p, b = C.values(P, key), C.values(T, key)
        m = C.met(C.median(p), limit, better) if limit is not None else None
        return C.Row(figure, C.spread(p, fmt), C.spread(b, fmt), C.ratio(C.median(p), C.median(b), better), target, m)

    ms = lambda x: C.num(x, 2) + " ms"  # noqa: E731
    mb = lambda x: C.num(x, 3) + " MB"  # noqa: E731
    for r in C.ok(P + T):
        r["growth"] = r["rss_end"] - r["rss_start"]
        r["gui_growth"] = r["gui_rss_end"] - r["gui_rss_start"]
    pulse_rate, roof = C.median(C.values(P, "rate")), C.median(C.values(R, "prebuilt"))
    rows = [
        row("items/s into the GUI process (counted in the slot)", "rate", C.rate, "≥ 1 M/s", TARGET_RATE, "higher"),
        row("GUI lateness of a 10 ms QTimer, max", "late_max", ms, f"< {TARGET_LATE_MS:.0f} ms", TARGET_LATE_MS),
        row("GUI lateness of a 10 ms QTimer, p99", "late_p99", ms, "—", None),
        row(
            "age of the item the status bar shows at the end", "age_ms", ms, f"< {TARGET_AGE_MS:.0f} ms", TARGET_AGE_MS
        ),
        row("producer RSS at start", "rss_start", mb, "—", None),
        row("producer RSS at end", "rss_end", mb, "—", None),
        row(
            f"producer RSS growth over {C.num(seconds)} s",
            "growth",
            mb,
            f"flat (< {TARGET_GROWTH_MB:.0f} MB)",
            TARGET_GROWTH_MB,
        ),
        row(f"GUI RSS growth over {C.num(seconds)} s", "gui_growth", mb, "—", None),
        C.Row("items the producer put (tutorial) per s", "—", C.spread(C.values(T, "put_rate"), C.rate)),
        C.Row("roofline: pickle + pipe of prebuilt 1000-item batches", C.spread(C.values(R, "prebuilt"), C.rate)),
        C.Row("roofline: same, items made live as a producer must", C.spread(C.values(R, "live"), C.rate)),
        C.Row(
            "Pulse's share of the prebuilt roofline",
            C.num(100 * pulse_rate / roof, 2) + " %" if roof == roof and pulse_rate == pulse_rate else "n/a",
        ),
    ]
    lost = [r["lost"] for r in C.ok(P)]
    exact = [r["received"] == r["sent"] for r in C.ok(P)]
    notes = [
        f"Pulse after a graceful stop: received == sent in {sum(exact)} of {len(exact)} runs, lost {sum(lost)}.",
        "The tutorial's item is its own `str(datetime.now())`; its age is read back from the status bar "
        "(wall clock). Pulse's item is `(seq, time.monotonic(), 1.0)` (pulse_supervisor.producers:flood).",
    ]
    report = C.Report(
        "2. Flood",
        rows,
        f"one worker flat out, {C.num(seconds)} s measured from its first item; {reps} runs per design, "
        "interleaved, each in a fresh GUI process; median [min–max].",
        notes,
    )
    return C.finish(report, res.values())


if __name__ == "__main__":
    sys.exit(C.script_main(None, run))
