"""Jobs (issue 30): run_in_process beside superqt's thread_worker and a bare multiprocessing call, one run.

``python bench/jobs.py [--quick] [--rounds N]``, under ``flock /work/cpu.lock`` on a shared machine.
Each of the three runs in fresh processes of its own (so "the first job of the app" is one), one
per round; the table gives the median over the rounds (and over the calls of each, for the warm
figures), with the range across rounds. The baselines: superqt's ``thread_worker`` (threads: what
run_in_process answers, for processes) and a bare ``multiprocessing`` forkserver ``Process`` per
call with a ``Pipe`` for its value (the floor for a fresh process per job, no Qt, no supervision).
"The first job of the app" is called 0.5 s after the imports in each column (an app builds its window
first; importing ``pulse_supervisor.qt.jobs`` starts Pulse's forkserver in the background meanwhile). Each warm
call comes 50 ms after the last job ended (a click, not a loop: back to back is the jobs/s row).

superqt is not Pulse's dependency: it is the ``bench`` extra (``pip install -e '.[bench]'``, or
``pip install superqt`` in the same venv). Without it, the superqt column says how to install it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(ROOT))

WHO = ("pulse", "superqt", "multiprocessing")
APP_START_S = 0.5  # from the imports to the first job: the app built its window meanwhile
WARM_PAUSE_S = 0.05  # before each warm call, the event loop running (time.sleep for multiprocessing)
INSTALL_SUPERQT = "superqt is not installed: pip install -e '.[bench]' (or pip install superqt) for its column"
# (key, label, target text, is the target met by a value)
FIGURES: list[tuple[str, str, str, Callable[[float], bool]]] = [
    ("first_ms", "first job of the app: call → first value (ms)", "≤ 50", lambda v: v <= 50),
    ("started_ms", "warm: call → started (ms)", "", lambda v: True),
    ("yielded_ms", "warm: call → first value (ms)", "≤ 3", lambda v: v <= 3),
    ("per_s", "sequential trivial jobs (jobs/s)", "≥ 300", lambda v: v >= 300),
    ("parallel_s", "parallel 0.5 s sleeps, all done (s)", "< 1.5", lambda v: v < 1.5),
]


def _now_ms() -> float:
    return time.perf_counter() * 1000.0


# --- trials, each in a fresh process ---------------------------------------------------------------


def _wait_qt(seconds: float) -> None:
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec_()


def _after_a_pause(wait: Callable[[float], None], one: Callable[..., Any], *args: Any) -> Any:
    """A warm call comes after a pause (a user's click), not on the heels of the last job's end."""
    wait(WARM_PAUSE_S)
    return one(*args)


def _app_builds_its_window() -> None:
    """The first job comes this long after the imports, in each column: an app builds its window first."""
    time.sleep(APP_START_S)


def _qt_figures(
    one: Callable[..., tuple[float, float]],
    start_sleeps: Callable[[Callable[[], None]], None],
    warm: int,
    sequential: int,
    parallel: int,
) -> dict[str, Any]:
    """The figures of a Qt column: ``one(fn, *args)`` runs a job to its end; ``start_sleeps(done)`` the sleeps."""
    from qtpy.QtCore import QEventLoop

    from bench import job_fns

    first = one(job_fns.first_value)[1]
    warm_runs = [_after_a_pause(_wait_qt, one, job_fns.first_value) for _ in range(warm)]
    t0 = time.perf_counter()
    for i in range(sequential):
        one(job_fns.trivial, i)
    per_s = sequential / (time.perf_counter() - t0)
    loop = QEventLoop()
    left = [parallel]

    def done() -> None:
        left[0] -= 1
        if not left[0]:
            loop.quit()

    t0 = time.perf_counter()
    start_sleeps(done)
    loop.exec_()
    return _result(first, warm_runs, per_s, time.perf_counter() - t0)


def trial_pulse(warm: int, sequential: int, parallel: int) -> dict[str, Any]:
    from qtpy.QtCore import QCoreApplication, QEventLoop

    app = QCoreApplication.instance() or QCoreApplication([])
    from bench import job_fns
    from pulse_supervisor.qt.jobs import run_in_process

    _app_builds_its_window()

    def one(fn: Callable[..., Any], *args: Any) -> tuple[float, float]:
        seen: dict[str, float] = {}
        loop = QEventLoop()
        t0 = _now_ms()
        job = run_in_process(fn, *args)
        job.started.connect(lambda: seen.setdefault("started", _now_ms() - t0))
        job.yielded.connect(lambda _v: seen.setdefault("value", _now_ms() - t0))
        job.returned.connect(lambda _v: seen.setdefault("value", _now_ms() - t0))
        job.finished.connect(loop.quit)
        loop.exec_()
        return seen.get("started", float("nan")), seen.get("value", float("nan"))

    def start_sleeps(done: Callable[[], None]) -> None:
        for _ in range(parallel):
            run_in_process(job_fns.sleep_half).finished.connect(done)

    result = _qt_figures(one, start_sleeps, warm, sequential, parallel)
    del app
    return result


def trial_superqt(warm: int, sequential: int, parallel: int) -> dict[str, Any]:
    try:
        from superqt.utils import create_worker
    except ImportError:
        return {"error": INSTALL_SUPERQT}
    from qtpy.QtCore import QCoreApplication, QEventLoop, QThreadPool

    app = QCoreApplication.instance() or QCoreApplication([])
    from bench import job_fns

    _app_builds_its_window()

    def one(fn: Callable[..., Any], *args: Any) -> tuple[float, float]:
        seen: dict[str, float] = {}
        loop = QEventLoop()
        t0 = _now_ms()
        worker = create_worker(fn, *args, _start_thread=False)
        worker.started.connect(lambda: seen.setdefault("started", _now_ms() - t0))
        if hasattr(worker, "yielded"):
            worker.yielded.connect(lambda _v: seen.setdefault("value", _now_ms() - t0))
        worker.returned.connect(lambda _v: seen.setdefault("value", _now_ms() - t0))
        worker.finished.connect(loop.quit)
        worker.start()
        loop.exec_()
        return seen.get("started", float("nan")), seen.get("value", float("nan"))

    def start_sleeps(done: Callable[[], None]) -> None:
        workers = [create_worker(job_fns.sleep_half, _start_thread=False) for _ in range(parallel)]
        for worker in workers:
            worker.finished.connect(done)
            worker.start()

    result = _qt_figures(one, start_sleeps, warm, sequential, parallel)
    QThreadPool.globalInstance().waitForDone()
    del app
    return result


def trial_multiprocessing(warm: int, sequential: int, parallel: int) -> dict[str, Any]:
    import multiprocessing

    from bench import job_fns

    ctx = multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
    _app_builds_its_window()

    def one(fn: Callable[..., Any], *args: Any) -> tuple[float, float]:
        t0 = _now_ms()
        ours, theirs = ctx.Pipe(duplex=False)
        process = ctx.Process(target=fn, args=(theirs, *args))
        process.start()
        started = _now_ms() - t0
        theirs.close()
        ours.recv()
        value = _now_ms() - t0
        process.join()
        ours.close()
        return started, value

    first = one(job_fns.pipe_first_value)[1]
    warm_runs = [_after_a_pause(time.sleep, one, job_fns.pipe_first_value) for _ in range(warm)]
    t0 = time.perf_counter()
    for i in range(sequential):
        one(job_fns.pipe_trivial, i)
    per_s = sequential / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    running = []
    for _ in range(parallel):
        ours, theirs = ctx.Pipe(duplex=False)
        process = ctx.Process(target=job_fns.pipe_sleep_half, args=(theirs,))
        process.start()
        theirs.close()
        running.append((process, ours))
    for process, ours in running:
        ours.recv()
        process.join()
        ours.close()
    parallel_s = time.perf_counter() - t0
    return _result(first, warm_runs, per_s, parallel_s)


def _result(first: float, warm_runs: list[tuple[float, float]], per_s: float, parallel_s: float) -> dict[str, Any]:
    return {
        "first_ms": first,
        "started_ms": statistics.median(s for s, _ in warm_runs),
        "yielded_ms": statistics.median(v for _, v in warm_runs),
        "per_s": per_s,
        "parallel_s": parallel_s,
    }


# --- the run -------------------------------------------------------------------------------------------


def run_trial(who: str, params: dict[str, int], timeout: float) -> dict[str, Any]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.jobs", "--trial", who, "--params", json.dumps(params)]
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-500:]}"}
    return json.loads(lines[-1][len("RESULT ") :])  # type: ignore[no-any-return]


def cell(values: list[float], key: str) -> str:
    if not values:
        return "n/a"
    fmt = "{:.0f}" if key == "per_s" else "{:.2f}" if key == "parallel_s" else "{:.1f}"
    mid = fmt.format(statistics.median(values))
    return mid if len(values) == 1 else f"{mid} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings (the smoke test)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trial", choices=WHO)
    parser.add_argument("--params", default="{}")
    args = parser.parse_args()
    if args.trial:
        result = globals()[f"trial_{args.trial}"](**json.loads(args.params))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    full = {"warm": 30, "sequential": 150, "parallel": 50}
    params = {"warm": 3, "sequential": 10, "parallel": 10} if args.quick else full
    rounds = 1 if args.quick else args.rounds
    results: dict[str, list[dict[str, Any]]] = {who: [] for who in WHO}
    errors: dict[str, str] = {}
    for _ in range(rounds):
        for who in WHO:
            got = run_trial(who, params, timeout=60 if args.quick else 300)
            if "error" in got:
                errors[who] = got["error"]
            else:
                results[who].append(got)
    print(f"Jobs: {rounds} round(s); each: {params['warm']} warm calls, {params['sequential']} sequential jobs, "
          f"{params['parallel']} parallel sleeps")  # fmt: skip
    print("\n| Figure | Pulse | superqt thread_worker (same run) | bare multiprocessing (same run) | Target | Met |")
    print("|---|---|---|---|---|---|")
    for key, label, target, met in FIGURES:
        cells = [cell([r[key] for r in results[who]], key) for who in WHO]
        pulse = [r[key] for r in results["pulse"]]
        verdict = ("yes" if met(statistics.median(pulse)) else "**no**") if target and pulse else ""
        print(f"| {label} | {' | '.join(cells)} | {target} | {verdict} |")
    for who, error in errors.items():
        print(f"\n{who}: {error}")
    return 1 if "pulse" in errors or "multiprocessing" in errors else 0


if __name__ == "__main__":
    sys.exit(main())
