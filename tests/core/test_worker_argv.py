"""A worker's ``sys.argv`` is ``[target, *argv]``, never Pulse's; ``--check`` imports its target with the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pulse_supervisor.core.supervision.events import LogLine, WorkerExited
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, items_of, poll_until, reached, spec, states_of

ROOT = Path(__file__).parents[2]
TARGET = "tests.argv_script:quotes"  # parses sys.argv at import: --symbol required, --count an int


def test_a_worker_gets_its_own_argv_before_its_module_is_imported(make_supervisor) -> None:
    sup = make_supervisor(config(spec("q", TARGET, argv=("--symbol", "EURUSD", "--count", "3"))))
    sup.start("q")
    events = poll_until(sup, lambda evs: any(isinstance(e, WorkerExited) for e in evs), timeout=30)
    argv = [TARGET, "--symbol", "EURUSD", "--count", "3"]
    assert [item for _, item in items_of(events, "q")] == [{"symbol": "EURUSD", "n": n, "argv": argv} for n in range(3)]
    assert [(e.exitcode, e.signal) for e in events if isinstance(e, WorkerExited)] == [(0, None)]


def test_an_argv_the_module_rejects_fails_the_worker_as_it_fails_the_check(make_supervisor) -> None:
    sup = make_supervisor(config(spec("q", TARGET, argv=("--symbol", "X", "--count", "x"))))
    sup.start("q")
    events = poll_until(sup, reached("q", State.EXITED), timeout=30)
    assert [(e.exitcode, e.signal) for e in events if isinstance(e, WorkerExited)] == [(2, None)]  # argparse's
    said = [e.line for e in events if isinstance(e, LogLine) and e.worker == "q" and e.stream == "stderr"]
    assert f"{TARGET}: error: argument --count: invalid int value: 'x'" in said
    assert State.RUNNING not in states_of(events, "q")


def main_py(tmp_path: Path, toml: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "pulse.toml"
    cfg.write_text(toml)
    return subprocess.run(
        [sys.executable, "main.py", *args, "--config", str(cfg)], cwd=ROOT, capture_output=True, text=True, timeout=90
    )


WORKER = f'[[worker]]\nname = "q"\ntarget = "{TARGET}"\nrestart = "never"\nstart_secs = 0.2\n'


def test_headless_runs_a_worker_that_parses_argv_at_import(tmp_path: Path) -> None:
    # Given Pulse's own argv (main.py --headless --config ...), the module exited 2 on every
    # start and the worker went FATAL, while --check said OK.
    toml = WORKER + 'argv = ["--symbol", "EURUSD"]\n'
    assert main_py(tmp_path, toml, "--check").returncode == 0
    run = main_py(tmp_path, toml, "--headless", "--duration", "60")  # an upper bound: ends once q is done
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["data"]["argv"] for r in records if r["type"] == "item"] == [[TARGET, "--symbol", "EURUSD"]] * 2
    assert [r["state"] for r in records if r["type"] == "state"][-1] == "EXITED"
    assert [(r["exitcode"], r["signal"]) for r in records if r["type"] == "exit"] == [(0, None)]


def test_check_imports_the_target_with_the_workers_argv(tmp_path: Path) -> None:
    check = main_py(tmp_path, WORKER, "--check")  # no argv: --symbol is missing, as the worker would find
    assert check.returncode == 2 and check.stdout == ""
    assert check.stderr.strip().endswith(
        'worker "q".target: importing it raised SystemExit: 2 '
        f"({TARGET}: error: the following arguments are required: --symbol)"
    )
    check = main_py(tmp_path, WORKER + 'argv = ["--symbol", "X", "--count", "x"]\n', "--check")
    assert check.returncode == 2 and f"{TARGET}: error: argument --count: invalid int value: 'x'" in check.stderr
    check = main_py(tmp_path, WORKER + 'argv = ["--symbol", "X"]\n', "--check")
    assert check.returncode == 0 and f"q  {TARGET}  argv=['--symbol', 'X']  restart=never" in check.stdout
