"""The code stays type-clean: mypy --strict runs on the whole package (the app/ folder) in the suite, as in CI.

examples/cpu_job.py is checked too: an app using the library face (run_in_process, ProcessJob's
signals, JobError) type-checks under --strict.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float, **env_vars: str) -> subprocess.CompletedProcess[str]:
    # PyQt5, whatever QT_API says: the config, the stubs (PyQt5-stubs) and the ignores are for it.
    env = {**os.environ, "QT_API": "pyqt5", **env_vars}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.timeout(300)
def test_mypy_strict(tmp_path):
    assert importlib.util.find_spec("mypy") is not None, "mypy comes with the test extra: pip install -e '.[test]'"
    # qtpy's mypy-args (--always-true=PYQT5 ...) have mypy take qtpy's PyQt5 branches only.
    qtpy_args = _run("qtpy", "mypy-args", timeout=60)
    assert qtpy_args.returncode == 0, qtpy_args.stdout + qtpy_args.stderr
    cache = ["--cache-dir", str(tmp_path / "mypy_cache")]  # no .mypy_cache left in the repository
    # mypy names a package by its folder, and the app/ folder installs as pulse_supervisor (setup.py):
    # a folder of that name, linked to app/, lets it check the package under the name users import.
    (tmp_path / "pulse_supervisor").symlink_to(ROOT / "app", target_is_directory=True)
    args = ("--strict", *cache, *qtpy_args.stdout.split(), str(tmp_path / "pulse_supervisor"), "examples/cpu_job.py")
    result = _run("mypy", *args, timeout=280, MYPYPATH=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
