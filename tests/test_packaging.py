"""What `pip install .` installs: the app/ folder as pulse_supervisor, whole, and no top-level `app`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(240)
def test_the_wheel_holds_pulse_supervisor_and_no_app(tmp_path):
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ behind
    shutil.copytree(ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True,
        text=True,
        timeout=220,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"pulse_supervisor", "pulse_supervisor-0.1.0.dist-info"}
    packages = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert packages == {"pulse_supervisor", *(f"pulse_supervisor.{p}" for p in find_packages(str(ROOT / "app")))}
    assert {"pulse_supervisor/py.typed", "pulse_supervisor/demo.toml"} <= set(names)
    entry = zipfile.ZipFile(wheel).read("pulse_supervisor-0.1.0.dist-info/entry_points.txt").decode()
    assert "pulse = pulse_supervisor.cli:main" in entry
