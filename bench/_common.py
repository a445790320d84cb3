"""The bench harness: trial subprocesses, statistics, markdown tables (no Qt here).

Every figure is measured in *trials*: fresh Python processes (``python -m bench._trial MODULE
--trial KIND --params JSON``) that build one GUI process, measure, clean up and print one ``BENCH-RESULT {json}``
line. A fresh process per trial keeps CPU and RSS figures honest (nothing left over from the
previous design), lets the tutorial start its producers before Qt exists as the original does,
and lets a wedged baseline be killed without taking the bench down. Trials run in their own
session with a tag in their environment; afterwards any process still carrying the tag is
killed and reported as leaked.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH-RESULT "
TAG_VAR = "PULSE_BENCH_TAG"
# Lines Qt's offscreen plugin prints on every start; not worth showing with a failure.
_NOISE = ("propagateSizeHints", "XDG_RUNTIME_DIR")


# --- running trials -----------------------------------------------------------------------


def run_trial(module: str, kind: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``module``'s trial ``kind`` in a fresh process and return its result dict.

    On a crash, a timeout or a missing result the dict has an ``error`` key instead. Any
    process the trial left behind is killed and counted in ``leaked``.
    """
    tag = uuid.uuid4().hex
    env = dict(os.environ, **{TAG_VAR: tag})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench._trial", module, "--trial", kind, "--params", json.dumps(params)]
    t0 = time.monotonic()
    # Files, not pipes: a leaked grandchild holding a pipe open must not keep us waiting. The
    # trial's own TMPDIR goes with it, whatever it left there (settings, logs, forkserver socket).
    with (
        tempfile.TemporaryDirectory(prefix="pulse-bench-trial-", ignore_cleanup_errors=True) as tmp,
        tempfile.TemporaryFile("w+") as out_f,
        tempfile.TemporaryFile("w+") as err_f,
    ):
        env["TMPDIR"] = tmp
        proc = subprocess.Popen(cmd, env=env, stdout=out_f, stderr=err_f, text=True, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
            error = None if proc.returncode == 0 else f"trial exited with {proc.returncode}"
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
            error = f"trial timed out after {timeout:.0f} s"
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
        leaked = sweep(tag)
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
    if error is None and not result:
        error = "trial printed no result"
    if error is not None:
        tail = [ln for ln in err.splitlines() if not any(n in ln for n in _NOISE)][-15:]
        result["error"] = error
        print(f"[bench] {module} {kind}: {error}\n    " + "\n    ".join(tail), file=sys.stderr)
    result["leaked"] = leaked
    result["trial_seconds"] = time.monotonic() - t0
    return result


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def sweep(tag: str, grace: float = 2.0) -> int:
    """Kill every process whose environment carries ``tag``; return how many there were.

    Processes get ``grace`` seconds to go on their own first: a forkserver or resource
    tracker ends a moment after its parent does, and that is not a leak.
    """
    import psutil

    def tagged() -> list[psutil.Process]:
        found = []
        for p in psutil.process_iter():
            try:
                if p.environ().get(TAG_VAR) == tag and p.status() != psutil.STATUS_ZOMBIE:
                    found.append(p)
            except (psutil.Error, OSError):
                continue
        return found

    deadline = time.monotonic() + grace
    leaked = tagged()
    while leaked and time.monotonic() < deadline:
        time.sleep(0.02)
        leaked = [p for p in leaked if _running(p)]
    names = []
    for p in leaked:
        try:
            names.append(f"{p.pid} {' '.join(p.cmdline())[:100]}")
            p.kill()
        except psutil.Error:
            pass
    if leaked:
        print(f"[bench] killed {len(leaked)} leaked process(es): {names}", file=sys.stderr)
    return len(leaked)


def _running(p: Any) -> bool:
    """Return whether ``p`` still runs (a zombie has ended; only its reaping is pending)."""
    import psutil

    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def interleaved(
    module: str, plan: Sequence[tuple[str, dict[str, Any]]], reps: int, timeout: float
) -> dict[str, list[dict[str, Any]]]:
    """Run every (kind, params) of ``plan`` once per repetition, designs interleaved.

    Interleaving (A B A B ...) spreads the noise of a shared machine over both designs.
    """
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind, _ in plan}
    for _ in range(reps):
        for kind, params in plan:
            results[kind].append(run_trial(module, kind, params, timeout))
    return results


def trial_main(module: str, argv: list[str]) -> int:
    """Entry of a trial process: run ``module.trial_<kind>(**params)``, print its result line."""
    import importlib

    p = argparse.ArgumentParser()
    p.add_argument("--trial", required=True)
    p.add_argument("--params", default="{}")
    args = p.parse_args(argv)
    try:
        result = getattr(importlib.import_module(module), f"trial_{args.trial}")(**json.loads(args.params))
    except Exception:
        traceback.print_exc()
        return 1
    hard = result.pop("hard_exit", False)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    if hard:
        hard_exit(0)
    return 0


# --- statistics ---------------------------------------------------------------------------


def ok(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the results that did not fail."""
    return [r for r in results if "error" not in r]


def values(results: Iterable[dict[str, Any]], key: str) -> list[float]:
    """Return ``r[key]`` of every successful result that has it."""
    return [r[key] for r in ok(results) if r.get(key) is not None]


def median(xs: Sequence[float]) -> float:
    """Return the median, or NaN for no data."""
    return statistics.median(xs) if xs else math.nan


def percentile(xs: Sequence[float], p: float) -> float:
    """Return the nearest-rank ``p``-th percentile, or NaN for no data."""
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def summary(xs: Sequence[float]) -> dict[str, float]:
    """Return n, p50, p99 and max of ``xs`` (latencies, lateness)."""
    return {"n": len(xs), "p50": percentile(xs, 50), "p99": percentile(xs, 99), "max": max(xs) if xs else math.nan}


# --- formatting ---------------------------------------------------------------------------


def num(x: float, digits: int = 3) -> str:
    """Format with about ``digits`` significant digits, thousands separated."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


def rate(x: float) -> str:
    """Format items/s as 1.23 M/s, 45.6 k/s or 789/s."""
    if x is None or math.isnan(x):
        return "n/a"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M/s"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k/s"
    return f"{x:.0f}/s"


def spread(xs: Sequence[float], fmt: Callable[[float], str] = num, unit: str = "") -> str:
    """Return "median [min–max]" of ``xs`` (just the value for one sample)."""
    if not xs:
        return "n/a"
    m = fmt(median(xs)) + unit
    return m if len(xs) == 1 else f"{m} [{fmt(min(xs))}–{fmt(max(xs))}]"


def ratio(pulse: float, base: float, better: str) -> str:
    """Return how many times better Pulse is, ``better`` being "lower" or "higher"."""
    if any(v is None or math.isnan(v) for v in (pulse, base)):
        return "n/a"
    if better == "lower":
        r, word = (base / pulse if pulse else math.inf), "less"
    else:
        r, word = (pulse / base if base else math.inf), "more"
    if math.isinf(r):
        return f"∞× {word}"
    if r < 1:
        return f"{num(1 / r, 3)}× worse"
    return f"{num(r, 3)}× {word}"


@dataclass
class Row:
    """One line of a figure's table."""

    figure: str
    pulse: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None  # None: no target on this line
    floor: str = "—"  # a bare Qt/pyqtgraph window doing the same drawing, where it applies


@dataclass
class Report:
    """What a bench script returns: its table, notes, and which targets it met."""

    title: str
    rows: list[Row]
    settings: str
    notes: list[str] = field(default_factory=list)
    errors: int = 0
    leaked: int = 0

    def table(self) -> str:
        """Return the markdown table."""
        lines = [
            "| Figure | Pulse | Tutorial (same run) | Floor (same run) | Ratio | Target | Met |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            met = "" if r.met is None else ("yes" if r.met else "**NO**")
            lines.append(f"| {r.figure} | {r.pulse} | {r.baseline} | {r.floor} | {r.ratio} | {r.target} | {met} |")
        return "\n".join(lines)

    def markdown(self) -> str:
        """Return the section: title, settings, table, notes."""
        parts = [f"## {self.title}", "", f"Settings: {self.settings}", "", self.table()]
        if self.errors or self.leaked:
            parts += ["", f"**{self.errors} trial(s) failed, {self.leaked} leaked process(es) killed.**"]
        if self.notes:
            parts += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(parts) + "\n"

    @property
    def ok(self) -> bool:
        """Return whether every trial ran and cleaned up (targets aside)."""
        return not self.errors and not self.leaked


def finish(report: Report, results: Iterable[list[dict[str, Any]]]) -> Report:
    """Count the failed and leaking trials of ``results`` into ``report``."""
    for group in results:
        for r in group:
            report.errors += "error" in r
            report.leaked += r.get("leaked", 0)
    return report


def met(value: float, limit: float, better: str = "lower") -> bool | None:
    """Return whether ``value`` meets ``limit`` (None when there is no value)."""
    if value is None or math.isnan(value):
        return None
    return value <= limit if better == "lower" else value >= limit


def script_main(
    argv: list[str] | None,
    run: Callable[..., Report],
    add_args: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Entry of a bench script: parse ``--quick``/``--reps``/own options, run, print the table."""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=(run.__doc__ or "").strip().splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny settings (seconds, for smoke tests)")
    p.add_argument("--reps", type=int, help="repetitions (default: the figure's own)")
    if add_args is not None:
        add_args(p)
    args = vars(p.parse_args(argv))
    report = run(**args)
    print(report.markdown(), flush=True)
    return 0 if report.ok else 1


# --- Pulse configs (no Qt) ----------------------------------------------------------------


def pulse_spec(name: str, target: str, **fields: Any) -> Any:
    """Return a WorkerSpec: not autostarted, never restarted, unless ``fields`` say otherwise."""
    from pulse_supervisor.core.spec import RestartPolicy, WorkerSpec

    fields.setdefault("autostart", False)
    fields.setdefault("restart", RestartPolicy.NEVER)
    return WorkerSpec(name=name, target=target, **fields)


def pulse_config(*specs: Any, start_method: str = "forkserver") -> Any:
    """Return a PulseConfig of ``specs``."""
    from pulse_supervisor.core.spec import PulseConfig

    return PulseConfig(workers=tuple(specs), start_method=start_method)


def rss_mb(pid: int | None = None) -> float:
    """Return the resident set size of ``pid`` (default: this process) in MB."""
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


def cpu_seconds() -> float:
    """Return this process's CPU time, every thread, in seconds (ns resolution)."""
    return time.process_time_ns() / 1e9


def hard_exit(code: int = 0) -> None:
    """Leave now, skipping interpreter teardown (for trials with a thread stuck for ever)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
