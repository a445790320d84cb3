"""``env``, ``env_clear`` and ``cwd``: checked at load, applied in the worker before its import, used by ``--check``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pulse_supervisor.core.config.config_dump import dump_config
from pulse_supervisor.core.config.spec_checks import check_spec_fields
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.supervision.events import WorkerExited
from tests.helpers import config, items_of, poll_until, spec

ROOT = Path(__file__).parents[2]
PROBE = "tests.fleet_workers:env_and_cwd"


def problems(text: str, path: str = "<input>") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path, check_targets=False)
    return [str(p) for p in info.value.problems]


def worker(extra: str, target: str = PROBE) -> str:
    return f'[[worker]]\nname = "w"\ntarget = "{target}"\nkwargs = {{ keys = ["A"] }}\n{extra}\n'


def test_env_and_cwd_load_with_cwd_relative_to_the_config_and_tilde_expanded(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    text = worker('env = { A = "1", B = "two" }\nenv_clear = true\ncwd = "data"')
    (w,) = parse_config(text, str(tmp_path / "p.toml"), check_targets=False).workers
    assert (w.env, w.env_clear, w.cwd) == ({"A": "1", "B": "two"}, True, str(tmp_path / "data"))
    (home,) = parse_config(worker('cwd = "~"'), check_targets=False).workers
    assert home.cwd == os.path.expanduser("~")
    again = parse_config(dump_config(parse_config(text, str(tmp_path / "p.toml"), check_targets=False)))
    assert again.workers == (w,)


def test_bad_env_and_cwd_name_file_line_field_and_reason(tmp_path: Path) -> None:
    path = str(tmp_path / "p.toml")
    text = worker('env = { A = 1 }\nenv_clear = "yes"\ncwd = "nowhere"')
    assert problems(text, path) == [
        f'{path}:5: worker "w".env: A: expected a string (quote it: "1"), got integer 1',
        f"{path}:6: worker \"w\".env_clear: expected true or false, got string 'yes'",
        f'{path}:7: worker "w".cwd: {tmp_path / "nowhere"} does not exist',
    ]
    assert problems(worker('env = ["A=1"]'))[0].endswith(
        "env: expected a table of environment variables, e.g. { LOG_LEVEL = \"debug\" }, got array ['A=1']"
    )
    (tmp_path / "f").write_text("")
    assert problems(worker('cwd = "f"'), path) == [f'{path}:5: worker "w".cwd: {tmp_path / "f"} is not a directory']


def test_cwd_is_refused_on_a_ray_worker_and_env_clear_checked_in_code(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    said = problems(worker(f'backend = "ray"\ncwd = "{tmp_path}"'))
    assert said == [
        '<input>:6: worker "w".cwd: applies to local workers only: a Ray worker runs in its '
        "runtime_env's working_dir on its node (set runtime_env.working_dir instead)"
    ]
    with pytest.raises(ConfigError, match=r"add\('w'\): env: expected a table"):
        check_spec_fields("add('w')", {"name": "w", "target": PROBE, "kwargs": {"keys": []}, "env": "A=1"})


def test_a_worker_runs_with_its_env_over_pulses_and_in_its_cwd(make_supervisor, tmp_path: Path) -> None:
    keys = ["A", "PULSE_LOG_DIR", "PATH"]
    sup = make_supervisor(config(
        spec("merged", PROBE, kwargs={"keys": keys}, env={"A": "1"}, cwd=str(tmp_path)),
        spec("cleared", PROBE, kwargs={"keys": keys}, env={"A": "2"}, env_clear=True),
        spec("plain", PROBE, kwargs={"keys": keys}),
    ))  # fmt: skip
    for name in sup.names():
        sup.start(name)
    events = poll_until(sup, lambda evs: sum(isinstance(e, WorkerExited) for e in evs) == 3, timeout=30)
    got = {name: items_of(events, name)[0][1] for name in sup.names()}
    assert got["merged"]["env"] == {"A": "1", "PULSE_LOG_DIR": os.environ["PULSE_LOG_DIR"], "PATH": os.environ["PATH"]}
    assert got["merged"]["cwd"] == str(tmp_path)
    assert got["cleared"]["env"] == {"A": "2", "PULSE_LOG_DIR": None, "PATH": os.environ["PATH"]}
    assert got["cleared"]["count"] < got["plain"]["count"]
    assert got["plain"]["env"]["A"] is None and got["plain"]["cwd"] == os.getcwd()


def main_py(tmp_path: Path, toml: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "pulse.toml"
    cfg.write_text(toml)
    return subprocess.run(
        [sys.executable, "main.py", *args, "--config", str(cfg)], cwd=ROOT, capture_output=True, text=True, timeout=90
    )


def test_check_imports_the_target_with_the_workers_env_and_cwd(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "marker.txt").write_text("found\n")
    base = '[[worker]]\nname = "g"\ntarget = "tests.env_gated:gated"\n'
    ok = main_py(tmp_path, base + 'env = { FLEET_GATE = "open" }\ncwd = "here"\n', "--check")
    assert ok.returncode == 0, ok.stderr
    assert f"env={{'FLEET_GATE': 'open'}}  cwd={tmp_path / 'here'}" in ok.stdout
    closed = main_py(tmp_path, base + 'cwd = "here"\n', "--check")
    assert closed.returncode == 2
    assert "g\".target: cannot import module 'tests.env_gated': FLEET_GATE must be 'open', got None" in closed.stderr
    elsewhere = main_py(tmp_path, base + 'env = { FLEET_GATE = "open" }\n', "--check")
    assert elsewhere.returncode == 2 and "No such file or directory: 'marker.txt'" in elsewhere.stderr
    run = main_py(tmp_path, base + 'env = { FLEET_GATE = "open" }\ncwd = "here"\nrestart = "never"\n',
                  "--headless", "--duration", "60")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '"data":"found"' in run.stdout.replace(" ", "")
