"""A Ray worker's local working_dir and py_modules at config time: resolved, checked, and where its target is probed.

Shipping them to a cluster is tested with the other Ray scenarios, on their head: tests/core/test_backends.py.
"""

from __future__ import annotations

import os

import pytest

from pulse_supervisor.core.config.spec_checks import spec_from_call
from pulse_supervisor.core.config.toml_file import load_config
from pulse_supervisor.core.errors import ConfigError

FEED = "def {name}():\n    yield 1\n"


def worker(name: str, target: str, runtime_env: str) -> str:
    return f'[[worker]]\nname = "{name}"\ntarget = "{target}"\nbackend = "ray"\nruntime_env = {runtime_env}\n\n'


def test_a_target_found_only_in_its_local_paths_is_accepted_and_the_paths_are_made_absolute(tmp_path):
    for where, name in [("one", "feed"), ("two", "other"), ("mods/pulse_pkg_only", "feed")]:
        (tmp_path / where).mkdir(parents=True)
        # The same module name in two working dirs, each with its own function: each probed in its own.
        (tmp_path / where / ("__init__.py" if "pkg" in where else "pulse_wd_only.py")).write_text(
            FEED.format(name=name)
        )
    path = tmp_path / "cluster.toml"
    path.write_text(worker("a", "pulse_wd_only:feed", '{ working_dir = "one" }')
                    + worker("b", "pulse_wd_only:other", f'{{ working_dir = "{tmp_path / "two"}" }}')
                    + worker("c", "pulse_pkg_only:feed", '{ py_modules = ["mods/pulse_pkg_only", "s3://b/m.zip"] }')
                    + worker("d", "pulse_supervisor.producers:clock",
                             '{ working_dir = "s3://bucket/code.zip" }'))  # fmt: skip
    cfg = load_config(path)
    assert [w.runtime_env for w in cfg.workers] == [
        {"working_dir": str(tmp_path / "one")},
        {"working_dir": str(tmp_path / "two")},
        {"py_modules": [str(tmp_path / "mods" / "pulse_pkg_only"), "s3://b/m.zip"]},
        {"working_dir": "s3://bucket/code.zip"},  # a URI: the node fetches it
    ]


def test_a_bad_local_path_or_a_target_not_in_it_is_a_config_error_naming_the_field(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "pulse_wd_typo.py").write_text(FEED.format(name="feed"))
    (tmp_path / "notes.txt").write_text("")
    path = tmp_path / "cluster.toml"
    path.write_text(worker("gone", "pulse_supervisor.producers:clock", '{ working_dir = "nowhere" }')
                    + worker("typo", "pulse_wd_tpyo:feed", '{ working_dir = "code" }')
                    + worker("file", "pulse_supervisor.producers:clock", '{ py_modules = ["code", "notes.txt"] }')
                    + worker("shape", "pulse_supervisor.producers:clock", '{ py_modules = "code" }'))  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).splitlines() == [
        f'{path}:5: worker "gone".runtime_env.working_dir: no such directory or file: {tmp_path / "nowhere"}',
        f"{path}:9: worker \"typo\".target: cannot import module 'pulse_wd_tpyo': No module named 'pulse_wd_tpyo'",
        f'{path}:17: worker "file".runtime_env.py_modules: expected a directory, .py or .whl file, got '
        f"{tmp_path / 'notes.txt'}",
        f'{path}:23: worker "shape".runtime_env.py_modules: expected a list of directories, .py or .whl files, '
        "or URIs, got string 'code'",
    ]


def test_a_worker_added_in_code_takes_its_local_paths_from_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "pulse_wd_code.py").write_text(FEED.format(name="feed"))
    monkeypatch.chdir(tmp_path)
    spec = spec_from_call(
        "add()", "w", "pulse_wd_code:feed", None, {"backend": "ray", "runtime_env": {"working_dir": "code"}}
    )
    assert spec.runtime_env == {"working_dir": os.path.join(tmp_path, "code")}
    with pytest.raises(ConfigError) as caught:
        spec_from_call("add()", "w", "pulse_supervisor.producers:clock", None, {"runtime_env": {"working_dir": "gone"}})
    assert str(caught.value) == f"add(): runtime_env.working_dir: no such directory or file: {tmp_path / 'gone'}"
