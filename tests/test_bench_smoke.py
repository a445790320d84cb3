"""Every bench script runs on tiny settings, exits 0 and prints its table (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["idle_cpu", "flood", "latency", "lifecycle", "scale", "kill_isolation", "soak", "window_cost", "ray_backend"]
JOBS_HEADER = "| Figure | Pulse | superqt thread_worker (same run) | bare multiprocessing (same run) | Target | Met |"
TABLE_HEADER = "| Figure | Pulse | Tutorial (same run) | Floor (same run) | Ratio | Target | Met |"


def run_bench(*args: str, timeout: float = 45) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


# window_cost runs five trials, each a fresh GUI process with workers: ~12 s here, more on busy cores.
# ray_backend starts a Ray head (~4 s) and two agents (~1.4 s each) in its Ray trial: ~14 s in all here.
SLOW = {"window_cost": 100.0, "ray_backend": 60.0}
# Scripts run this many at a time: they mostly wait on their workers and windows (one at a time
# the smoke took ~75 s of the suite's ~4 min; three at a time, ~30 s). Longest first.
AT_ONCE = 3
RUN_ALL = ("bench/run_all.py", "--quick", "--only", "latency", "--output")
# Rows that must hold a measured value (no "n/a") even in the tiny run: every part of the figure ran.
MEASURED_ROWS = {"ray_backend": ("items/s into poll()", "latency sent → poll()", "first start", "kill → STOPPED")}


# A test may wait for the scripts queued before its own: the whole module's budget, not one script's.
_BUDGET = sum(SLOW.get(s, 45) for s in SCRIPTS) + 60


@pytest.fixture(scope="module")
def bench_runs(tmp_path_factory):
    """Start every script's quick run (and run_all's), `AT_ONCE` at a time; each test waits for its own."""
    results_file = tmp_path_factory.mktemp("bench") / "results.md"
    runs: dict[str, Future[subprocess.CompletedProcess[str]]] = {}
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for script in sorted(SCRIPTS, key=lambda s: -SLOW.get(s, 0)):
            runs[script] = pool.submit(run_bench, f"bench/{script}.py", "--quick", timeout=SLOW.get(script, 45))
        runs["run_all"] = pool.submit(run_bench, *RUN_ALL, str(results_file))
        yield runs, results_file
        # Leaving the pool waits for every run: each ends within its timeout (its process killed then).


@pytest.mark.timeout(_BUDGET)
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_prints_its_table(bench_runs, script):
    result = bench_runs[0][script].result()
    assert result.returncode == 0, result.stdout + result.stderr
    assert TABLE_HEADER in result.stdout, result.stdout
    for label in MEASURED_ROWS.get(script, ()):
        rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and label in line]
        assert rows and not any("n/a" in row for row in rows), (label, result.stdout)


@pytest.mark.timeout(_BUDGET)
def test_run_all_writes_the_results_file(bench_runs):
    runs, out = bench_runs
    result = runs["run_all"].result()
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Pulse bench results")
    assert "PyQt 5." in text and "CPUs" in text
    assert "## 3. Latency" in text and TABLE_HEADER in text


@pytest.mark.timeout(120)
def test_the_jobs_bench_prints_its_table():
    result = run_bench("bench/jobs.py", "--quick", timeout=100)
    assert result.returncode == 0, result.stdout + result.stderr
    assert JOBS_HEADER in result.stdout, result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "→" in line]
    assert rows and not any(row.split("|")[2].strip() == "n/a" for row in rows), result.stdout
