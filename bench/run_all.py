"""Run every bench figure and write ``bench/results.md`` (``.venv/bin/python bench/run_all.py``).

The whole run takes about 9 minutes (2 of them the Ray figure): the soak is shortened to
``--soak-minutes`` (default 0.5, every minute scaled; ``--soak-minutes 10`` is the real thing). ``--quick`` runs tiny
settings in well under a minute and writes no file unless ``--output`` is given.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: import bench and app from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as C

FIGURES = (
    "idle_cpu",
    "flood",
    "latency",
    "lifecycle",
    "scale",
    "kill_isolation",
    "soak",
    "window_cost",
    "ray_backend",
)
DEFAULT_OUTPUT = Path(__file__).with_name("results.md")
DEFAULT_SOAK_MINUTES = 0.5


def machine() -> list[str]:
    """Return header lines: date, CPU, Python, PyQt/Qt, load, and the commit measured."""
    from PyQt5.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

    model = ""
    try:
        model = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=C.ROOT, capture_output=True, text=True, timeout=10).stdout
        except OSError:
            return ""

    dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "app").splitlines() if ln.strip()]
    return [
        f"- Date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- Machine: {os.cpu_count()} CPUs ({model or platform.machine()}), {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, PyQt {PYQT_VERSION_STR}, Qt {QT_VERSION_STR}, "
        f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}",
        f"- Product measured: commit {git('rev-parse', '--short', 'HEAD').strip() or '?'}"
        + (f", with uncommitted changes in {', '.join(dirty)}" if dirty else ", app/ clean"),
        "- Load average (1, 5, 15 min) at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the figures, print each table as it completes, write the results file."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny settings (a smoke test); writes no file by default")
    p.add_argument("--soak-minutes", type=float, default=None, help=f"soak length (default {DEFAULT_SOAK_MINUTES})")
    p.add_argument("--only", help=f"comma-separated figures to run, of {', '.join(FIGURES)}")
    p.add_argument("--output", type=Path, help=f"results file (default {DEFAULT_OUTPUT.name}; none with --quick)")
    args = p.parse_args(argv)
    figures = args.only.split(",") if args.only else list(FIGURES)
    unknown = set(figures) - set(FIGURES)
    if unknown:
        p.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    soak_minutes = args.soak_minutes or (None if args.quick else DEFAULT_SOAK_MINUTES)

    header = machine()
    t_all = time.monotonic()
    reports: list[tuple[str, C.Report, float]] = []
    for name in figures:
        module = importlib.import_module(f"bench.{name}")
        kwargs = {"quick": args.quick}
        if name == "soak" and soak_minutes:
            kwargs["minutes"] = soak_minutes
        t0 = time.monotonic()
        report = module.run(**kwargs)
        elapsed = time.monotonic() - t0
        reports.append((name, report, elapsed))
        print(report.markdown(), flush=True)
        print(f"({name}: {elapsed:.0f} s)\n", file=sys.stderr, flush=True)
    total = time.monotonic() - t_all

    lines = ["# Pulse bench results", ""]
    lines += header
    lines += [
        "- Load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"- Command: `.venv/bin/python bench/run_all.py{' --quick' if args.quick else ''}"
        + (f" --soak-minutes {soak_minutes:g}`" if soak_minutes and soak_minutes != DEFAULT_SOAK_MINUTES else "`")
        + f", {total:.0f} s in all"
        + (
            f"; the soak ran {soak_minutes:g} min instead of 10 (every minute scaled), "
            "`--soak-minutes 10` runs the real one"
            if soak_minutes and soak_minutes != 10
            else ""
        ),
        "",
        "Every figure: Pulse beside the tutorial program (`bench/tutorial_baseline.py`) measured in the same run,",
        "each design in fresh GUI processes, interleaved; medians with [min–max] over the repetitions.",
        "",
        "## Summary",
        "",
        "| Figure | Targets met | Time |",
        "|---|---|---|",
    ]
    for _, report, elapsed in reports:
        verdicts = [r.met for r in report.rows if r.met is not None]
        missed = [r.figure for r in report.rows if r.met is False]
        cell = f"{sum(verdicts)} of {len(verdicts)}" + (f" (missed: {'; '.join(missed)})" if missed else "")
        if not report.ok:
            cell += f" — {report.errors} trial(s) failed, {report.leaked} leaked process(es)"
        lines.append(f"| {report.title} | {cell} | {elapsed:.0f} s |")
    lines.append("")
    for _, report, _ in reports:
        lines += ["", report.markdown()]
    limits = [(importlib.import_module(f"bench.{n}").__dict__.get("LIMITS"), r.title) for n, r, _ in reports]
    if any(text for text, _ in limits):
        lines += ["", "## What limits each figure", ""]
        lines += [f"- **{title}** {text}" for text, title in limits if text]
    text = "\n".join(lines).rstrip() + "\n"
    if output is not None:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
        print(f"wrote {output} ({total:.0f} s)", file=sys.stderr)
    return 0 if all(r.ok for _, r, _ in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
