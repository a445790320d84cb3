"""Figure 9: the Ray backend beside the local one: flood, latency and lifecycle, no window.

``python bench/ray_backend.py``. Each trial is a fresh process that drives an
`pulse_supervisor.core.supervision.supervisor.Supervisor` and counts what its own `poll` returns. A Ray trial starts one
head of its own first (as the tests' ``ray_head`` fixture does) and runs every measurement on
it, then ends it; a local trial runs the same code on the local backend and never imports Ray.
The two kinds alternate. In the table the "Pulse" column is Pulse on Ray and the "Tutorial"
column is Pulse local in the same run: there is no tutorial here, local is the floor.
"""

from __future__ import annotations

import collections
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

MODULE = "bench.ray_backend"
LIMITS = (
    "Ray: a run is a local run on the agent's node, whose pipes the agent reads and yields in "
    "batches (up to 1 MiB, or once the oldest bytes waited 5 ms) as objects of a streaming call; a "
    "pump thread in the supervisor's process `ray.get`s each and writes it into local pipes that "
    "`poll` reads as it reads a local run. So a flood pays two more copies, Ray's object transfer "
    "and a thread in the measuring process that competes with `poll` for the GIL and, on 2 cores, "
    "for a CPU with the worker, the agent and Ray's own processes; an item alone waits the agent's "
    "5 ms gathering window plus a Ray round trip. A first start makes the agent (a Ray worker "
    "process: an interpreter importing Ray, then its own forkserver); a later start reuses it, one "
    "actor call away. Stop and kill are an actor call, the signal on the node and the exit streamed "
    "back. The issue's prototype measured 0.6-0.9 M items/s into poll() on Ray (local 1.0-1.8 M), "
    "stop/kill 7-31 ms, first start 1.5-2.4 s, restart with a reused agent 16-30 ms, p50 latency "
    "at 50 items/s 1.6-2.3 ms; there are no targets beyond the figures existing."
)
SETTLE = 0.1  # s of quiet polling before each start, stop and kill
PACED = (
    "paced"  # pulse_supervisor.producers:counter at 50/s: the lifecycle's worker, then the latency's (its agent reused)
)


class _Events:
    """Poll a supervisor one event at a time, remembering each worker's last state."""

    def __init__(self, sup: Any) -> None:
        self.sup = sup
        self.states: dict[str, Any] = {}
        self.at = 0  # time.monotonic_ns() when the poll that returned the current event returned
        self._backlog: collections.deque[Any] = collections.deque()

    def next(self, deadline: float) -> Any:
        """Return the next event, or None once ``deadline`` (time.monotonic()) has passed."""
        from pulse_supervisor.core.supervision.events import StateChanged

        while not self._backlog:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._backlog.extend(self.sup.poll(left))
            self.at = time.monotonic_ns()
        ev = self._backlog.popleft()
        if isinstance(ev, StateChanged):
            self.states[ev.worker] = ev.state
        return ev

    def until(self, done: Any, timeout: float, what: str) -> Any:
        """Return the first event ``done`` accepts (its time in ``self.at``); raise after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (ev := self.next(deadline)) is not None:
            if done(ev):
                return ev
        raise RuntimeError(f"{what}: not within {timeout:g} s")

    def idle(self, seconds: float) -> None:
        """Keep polling for ``seconds``: the supervisor handles what comes, nothing is measured."""
        deadline = time.monotonic() + seconds
        while self.next(deadline) is not None:
            pass

    def start(self, name: str) -> tuple[float, Any]:
        """Start ``name``; return ms to its first item batch, and that batch."""
        from pulse_supervisor.core.supervision.events import ItemBatch

        t0 = time.monotonic_ns()
        self.sup.start(name)
        first = self.until(lambda ev: isinstance(ev, ItemBatch) and ev.worker == name, 120.0, f"{name}: first item")
        return (self.at - t0) / 1e6, first

    def end(self, name: str, how: str) -> float:
        """Stop or kill ``name`` (``how``); return ms to its STOPPED state."""
        from pulse_supervisor.core.supervision.events import StateChanged
        from pulse_supervisor.core.supervision.policy import State

        t0 = time.monotonic_ns()
        getattr(self.sup, how)(name)
        stopped = lambda ev: isinstance(ev, StateChanged) and ev.worker == name and ev.state is State.STOPPED  # noqa: E731
        self.until(stopped, 30.0, f"{name}: {how} -> STOPPED")
        return (self.at - t0) / 1e6


def _lifecycle(ev: _Events, cycles: int) -> dict[str, Any]:
    """The first start of `PACED`, then ``cycles`` of start -> first item, RUNNING, stop or kill in turn."""
    from pulse_supervisor.core.supervision.events import StateChanged
    from pulse_supervisor.core.supervision.policy import State

    out: dict[str, Any] = {"start": [], "stop": [], "kill": []}
    for i in range(cycles + 1):
        ev.idle(SETTLE)
        started, _ = ev.start(PACED)
        if ev.states.get(PACED) is not State.RUNNING:
            running = lambda e: isinstance(e, StateChanged) and e.worker == PACED and e.state is State.RUNNING  # noqa: E731
            ev.until(running, 30.0, f"{PACED}: RUNNING")
        ev.idle(SETTLE)
        how = ("stop", "kill")[i % 2]
        ended = ev.end(PACED, how)
        if i == 0:  # Ray: its agent was made; local: the first run of the process started the forkserver
            out["first"] = started
        else:
            out["start"].append(started)
            out[how].append(ended)
    return out


def _flood(ev: _Events, seconds: float) -> dict[str, Any]:
    """``flood`` flat out: items/s that poll() returns over ``seconds`` from its first item, then a graceful stop."""
    from pulse_supervisor.core.supervision.events import ItemBatch, StateChanged
    from pulse_supervisor.core.supervision.policy import State

    first_ms, batch = ev.start("flood")
    seen, n = len(batch.items), 0
    t0, cpu0 = time.monotonic(), C.cpu_seconds()
    deadline = t0 + seconds
    while (e := ev.next(deadline)) is not None:
        if isinstance(e, ItemBatch):
            n += len(e.items)
    t1, cpu1 = time.monotonic(), C.cpu_seconds()
    ev.sup.stop("flood")  # lossless: everything sent before the stop is still read, counted below
    tail = [0]

    def stopped(e: Any) -> bool:
        if isinstance(e, ItemBatch):
            tail[0] += len(e.items)
        return isinstance(e, StateChanged) and e.worker == "flood" and e.state is State.STOPPED

    ev.until(stopped, 60.0, "flood: stop -> STOPPED")
    rec = ev.sup.record("flood")
    return {
        "rate": n / (t1 - t0),
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),  # poll, and on Ray the pump thread and Ray's own threads
        "received": rec.received,
        "sent": rec.sent,
        "lost": rec.lost,
        "seen": seen + n + tail[0],
        "first_start": first_ms,
    }


def _latency(ev: _Events, seconds: float, warmup: float) -> dict[str, Any]:
    """`PACED` at 50 items/s: recv_ns - sent_ns of each batch after ``warmup`` s, for ``seconds``."""
    from pulse_supervisor.core.supervision.events import ItemBatch

    ev.start(PACED)
    lat: list[float] = []
    t0 = time.monotonic()
    deadline = t0 + warmup + seconds
    while (e := ev.next(deadline)) is not None:
        if isinstance(e, ItemBatch) and time.monotonic() - t0 >= warmup:
            lat.append((e.received_ns - e.sent_ns) / 1e6)
    ev.end(PACED, "stop")
    return {"lat": lat, "p50": C.percentile(lat, 50), "p99": C.percentile(lat, 99)}


def trial_run(backend: str, flood_s: float, latency_s: float, warmup_s: float, cycles: int) -> dict[str, Any]:
    """One process, one backend: lifecycle, latency, flood in turn, on one supervisor (one Ray head)."""
    ray = None
    if backend == "ray":
        # Before Ray is imported: a token only this process and its workers know, and no token
        # file in ~/.ray (what Ray 2.60 writes for a new head otherwise).
        os.environ.setdefault("RAY_AUTH_MODE", "token")
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
        import logging

        import ray

        t = time.monotonic()  # once per trial: every measurement below runs on this head
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=100 * 1024 * 1024, logging_level=logging.ERROR)  # fmt: skip
        head_s = time.monotonic() - t
    from pulse_supervisor.core.spec import PulseConfig
    from pulse_supervisor.core.supervision.supervisor import Supervisor

    # Two workers, so two agents on Ray (each ~1.4 s to make, here): the smoke test stays short.
    specs = [
        C.pulse_spec(PACED, "pulse_supervisor.producers:counter", kwargs={"rate": 50.0}, start_secs=0.05),
        C.pulse_spec("flood", "pulse_supervisor.producers:flood"),
    ]
    # With Ray initialised here the supervisor's Ray launcher uses this head (ray_address unused).
    config = PulseConfig(workers=tuple(specs), backend=backend)
    sup = Supervisor(config, log_dir=os.path.join(tempfile.gettempdir(), "logs"))  # the trial's own TMPDIR
    try:
        ev = _Events(sup)
        result: dict[str, Any] = _lifecycle(ev, cycles)
        result["latency"] = _latency(ev, latency_s, warmup_s)
        result["flood"] = _flood(ev, flood_s)
    finally:
        sup.close()  # kills what still runs and, on Ray, every agent
        if ray is not None:
            ray.shutdown()  # the head and its processes end with it: nothing left for the sweep
    if ray is not None:
        result["head_s"] = head_s
    return result


def run(quick: bool = False, reps: int | None = None) -> C.Report:
    """The Ray backend beside the local one: items/s into poll(), latency at 50/s, start/stop/kill."""
    reps = reps or (1 if quick else 3)
    params = {"flood_s": 0.5 if quick else 5.0, "latency_s": 0.5 if quick else 10.0, "cycles": 2 if quick else 10}
    params["warmup_s"] = 0.2 if quick else 1.0  # latency: batches before are not counted (caches, first facts)
    plan = [("run", {"backend": "ray", **params}), ("run", {"backend": "local", **params})]
    res: dict[str, list[dict[str, Any]]] = {"ray": [], "local": []}
    for _ in range(reps):  # alternated, each in a fresh process: the machine's noise falls on both
        for kind, p in plan:
            res[p["backend"]].append(C.run_trial(MODULE, kind, p, timeout=120 + 2 * (p["flood_s"] + p["latency_s"])))
    R, L = C.ok(res["ray"]), C.ok(res["local"])

    def per_trial(rs: list[dict[str, Any]], part: str, key: str) -> list[float]:
        return [r[part][key] for r in rs]

    def pooled(rs: list[dict[str, Any]], key: str) -> list[float]:
        return [x for r in rs for x in r[key]]

    ms = lambda x: C.num(x, 3) + " ms"  # noqa: E731
    pct = lambda x: C.num(x, 3) + " %"  # noqa: E731

    def row(figure: str, ray_xs: list[float], local_xs: list[float], fmt: Any, better: str = "lower") -> C.Row:
        ratio = C.ratio(C.median(ray_xs), C.median(local_xs), better)
        return C.Row(figure, C.spread(ray_xs, fmt), C.spread(local_xs, fmt), ratio)

    def exact(rs: list[dict[str, Any]]) -> str:
        fl = [r["flood"] for r in rs]
        good = sum(f["received"] == f["sent"] == f["seen"] and f["lost"] == 0 for f in fl)
        return f"{good} of {len(fl)} exact, lost {sum(f['lost'] for f in fl)}" if fl else "n/a"

    # Ray's first start of every worker makes its agent; local's are warm but for the process's first.
    ray_first = [r["first"] for r in R] + [r["flood"]["first_start"] for r in R]
    n_lat = (sum(len(r["latency"]["lat"]) for r in R), sum(len(r["latency"]["lat"]) for r in L))
    rows = [
        row("items/s into poll(), one worker flat out (Ray; local)", per_trial(R, "flood", "rate"),
            per_trial(L, "flood", "rate"), C.rate, "higher"),
        row("CPU of the polling process in the flood, % of a core (Ray: with its pump thread; local)",
            per_trial(R, "flood", "cpu_pct"), per_trial(L, "flood", "cpu_pct"), pct),
        C.Row("flood counts after a graceful stop: received == sent == seen, lost (Ray; local)", exact(R), exact(L)),
        row(f"latency sent → poll() at 50 items/s, p50 per batch (n={n_lat[0]}; {n_lat[1]})",
            per_trial(R, "latency", "p50"), per_trial(L, "latency", "p50"), ms),
        row("latency sent → poll() at 50 items/s, p99 per batch", per_trial(R, "latency", "p99"),
            per_trial(L, "latency", "p99"), ms),
        row("start → first item, first start (Ray: agent made; local: warm forkserver)", ray_first,
            pooled(L, "start"), ms),
        row("start → first item, again (Ray: agent reused; local: warm forkserver)", pooled(R, "start"),
            pooled(L, "start"), ms),
        row("graceful stop → STOPPED (Ray; local)", pooled(R, "stop"), pooled(L, "stop"), ms),
        row("kill → STOPPED (Ray; local)", pooled(R, "kill"), pooled(L, "kill"), ms),
    ]  # fmt: skip
    notes = [
        "Columns: Pulse = Pulse on Ray (a head of the trial's own, 2 CPUs, on this machine); Tutorial = Pulse "
        "on the local backend in the same run: the floor, the same supervisor with no cluster in between.",
        f"Local's first start of a process (its forkserver started): {C.spread([r['first'] for r in L], ms)}; "
        f"Ray's head took {C.spread([r['head_s'] for r in R], lambda x: C.num(x, 3) + ' s')} to start "
        "(not in any row). Ray's first starts are both workers' (each makes its own agent): 2 per trial.",
        "Latency is the batch's `recv_ns - sent_ns` (the worker's clock at send, this process's when poll() "
        "decoded it); at 50 items/s every batch is one item.",
    ]
    report = C.Report(
        "9. Ray backend",
        rows,
        f"core level (a `Supervisor` polled in the trial process, no window); {reps} trial(s) per backend, "
        f"alternated, each a fresh process (Ray: one head per trial); flood `pulse_supervisor.producers:flood` "
        f"{C.num(params['flood_s'])} s from its first item; latency `pulse_supervisor.producers:counter` at 50/s for "
        f"{C.num(params['latency_s'])} s after {params['warmup_s']:g} s; lifecycle: the same worker, its first "
        f"start then {params['cycles']} cycles (stop and kill in turn, {SETTLE * 1000:.0f} ms of quiet before each). "
        "Flood and latency: median [min–max] of the trials' figures; lifecycle: of every cycle.",
        notes,
    )
    return C.finish(report, res.values())


if __name__ == "__main__":
    sys.exit(C.script_main(None, run))
