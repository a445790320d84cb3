"""Targets are checked in a subprocess: what their modules do at import never touches Pulse."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.core.config import load_config, parse_config
from app.core.errors import ConfigError
from app.core.target_probe import probe_targets

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def user_modules(tmp_path, monkeypatch):
    """Write modules into a directory on sys.path (the probe gets our sys.path)."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    return write


def test_a_target_that_exits_at_import_is_a_reason_and_pulse_goes_on(user_modules):
    user_modules("exits_at_import", "import sys\nsys.exit('usage: feed.py HOST')\ndef feed():\n    yield 1\n")
    (problem,) = probe_targets([("exits_at_import:feed", {})])
    assert problem.field == "target" and "SystemExit" in problem.reason and "usage: feed.py HOST" in problem.reason


def test_a_slow_import_is_cut_at_the_timeout(user_modules):
    user_modules("slow_at_import", "import time\ntime.sleep(60)\ndef feed():\n    yield 1\n")
    user_modules("fine_module", "def feed():\n    yield 1\n")
    reasons = probe_targets([("slow_at_import:feed", {}), ("fine_module:feed", {})], timeout=2.0)
    assert "did not finish within 2 s" in reasons[0].reason and "not checked" in reasons[1].reason


def test_kwargs_are_fitted_to_the_signature_and_ctx_is_allowed(user_modules):
    user_modules(
        "shapes",
        "def gen(interval=1.0):\n    yield 1\ndef with_ctx(ctx, n):\n    ctx.emit(n)\n"
        "def bare():\n    yield 1\ndef anything(**kw):\n    yield 1\ndef pos(a, /):\n    yield a\n",
    )
    problems = probe_targets(
        [("shapes:gen", {"intervl": 2}), ("shapes:with_ctx", {}), ("shapes:bare", {"x": 1}), ("shapes:pos", {"a": 1}),
         ("shapes:with_ctx", {"n": 1}), ("shapes:gen", {}), ("shapes:anything", {"x": 1})]
    )  # fmt: skip
    assert problems[0].field == "kwargs.intervl"
    assert problems[0].reason == "gen() takes no argument 'intervl' (it takes interval)"
    assert (problems[1].field, problems[1].reason) == ("kwargs", "with_ctx() needs argument 'n'")
    assert problems[2].reason == "bare() takes no argument 'x' (it takes none)"
    assert problems[3].field == "kwargs.a"  # positional-only: not by keyword
    assert problems[4:] == [None, None, None]


def test_a_kwarg_the_target_cannot_take_is_named_at_its_line(user_modules):
    user_modules("feeds", "def clock(interval=1.0):\n    yield 1\n")
    text = '[[worker]]\nname = "c"\ntarget = "feeds:clock"\nkwargs = { interval = 1.0, foo = 1 }\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "pulse.toml")
    assert str(info.value.problems[0]) == (
        "pulse.toml:4: worker \"c\".kwargs.foo: clock() takes no argument 'foo' (it takes interval)"
    )


def test_a_module_changed_on_disk_is_seen_fresh(user_modules, tmp_path):
    user_modules("grows", "def first():\n    yield 1\n")
    text = '[[worker]]\nname = "w"\ntarget = "grows:second"\n'
    with pytest.raises(ConfigError, match="has no attribute 'second'"):
        parse_config(text)
    user_modules("grows", "def first():\n    yield 1\ndef second():\n    yield 2\n")
    assert parse_config(text).workers[0].target == "grows:second"  # no stale import in Pulse


def test_an_import_time_print_never_reaches_the_check_output(tmp_path, monkeypatch):
    (tmp_path / "noisy_module.py").write_text("print('HELLO FROM IMPORT')\ndef feed():\n    yield 1\n")
    cfg = tmp_path / "pulse.toml"
    cfg.write_text('[[worker]]\nname = "w"\ntarget = "noisy_module:feed"\n')
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "main.py", "--check", "--config", str(cfg)], cwd=ROOT, capture_output=True, text=True,
        env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "HELLO" not in proc.stdout + proc.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_config(cfg).workers[0].name == "w"
    assert "noisy_module" not in sys.modules  # checked, and never run in this process
