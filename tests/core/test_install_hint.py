"""Commands Pulse tells a user are spelled for the interpreter and the install that run it."""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from pathlib import Path

import pytest

from pulse_supervisor.core.config import install_hint
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

CLUSTER = """\
[pulse]
backend = "ray"

[[worker]]
name = "a"
target = "pulse_supervisor.producers:sine"

[[worker]]
name = "b"
target = "pulse_supervisor.producers:sensors"

[[worker]]
name = "c"
target = "pulse_supervisor.producers:clock"
backend = "ray"

[[worker]]
name = "here"
target = "pulse_supervisor.producers:clock"
backend = "local"
"""


def test_paths_are_shown_relative_to_the_current_directory_when_inside_it(tmp_path, monkeypatch):
    inside = str(tmp_path / ".venv" / "bin" / "python")
    assert install_hint.shown_path(inside, str(tmp_path)) == os.path.join(".venv", "bin", "python")
    assert install_hint.shown_path(str(tmp_path / "main.py"), str(tmp_path)) == "main.py"
    assert install_hint.shown_path(inside, str(tmp_path / "elsewhere")) == inside
    assert install_hint.python() == install_hint.shown_path(sys.executable)
    monkeypatch.chdir(os.path.dirname(sys.executable))
    assert install_hint.python() == os.path.join(".", os.path.basename(sys.executable))  # not looked up in PATH


def test_the_install_command_is_the_readmes_from_a_checkout_else_the_registrys(monkeypatch, tmp_path):
    monkeypatch.chdir(install_hint.CHECKOUT)
    assert install_hint.pip_install("ray") == f"{install_hint.python()} -m pip install -e '.[ray]'"
    monkeypatch.chdir(tmp_path)
    assert install_hint.pip_install("ray").endswith(f" -m pip install -e '{install_hint.CHECKOUT}[ray]'")
    monkeypatch.setattr(install_hint, "CHECKOUT", tmp_path)  # an installed Pulse: no pyproject.toml beside it
    assert install_hint.pip_install("ray") == f"{install_hint.python()} -m pip install 'pulse-supervisor[ray]'"
    with open(ROOT / "pyproject.toml", "rb") as f:
        assert tomllib.load(f)["project"]["name"] == install_hint.DIST_NAME


def test_ray_missing_is_one_problem_at_the_pulse_backend_key(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ConfigError) as caught:
        parse_config(CLUSTER, "cluster.toml", check_targets=False)
    hint = install_hint.pip_install("ray")
    assert [str(p) for p in caught.value.problems] == [
        f"cluster.toml:2: pulse.backend: Ray workers need Ray, which is not installed: {hint}",
        f'cluster.toml:15: worker "c".backend: Ray workers need Ray, which is not installed: {hint}',
    ]
