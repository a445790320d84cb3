"""Targets are checked in a subprocess: what their modules do at import never touches Pulse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pulse_supervisor.core.config import probe_process
from pulse_supervisor.core.config.target_probe import list_producers, probe_targets
from pulse_supervisor.core.config.toml_file import load_config, parse_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.processes.worker_tree import wait_ended

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


HANGS = "import threading\nthreading.Event().wait()\n"
FEED = "def feed():\n    yield 1\n"


def test_a_hanging_import_is_blamed_alone_and_the_targets_after_it_are_checked(user_modules):
    user_modules("fine_first", FEED)
    user_modules("hangs_at_import", HANGS + FEED)
    user_modules("fine_after", FEED)
    user_modules("wrong_after", FEED)
    targets = [("fine_first:feed", {}), ("hangs_at_import:feed", {}), ("fine_after:feed", {}), ("wrong_after:nope", {})]
    problems = probe_targets(targets, timeout=[10, 1, 10, 10])  # a limit per target
    assert problems[0] is None and problems[2] is None  # checked, in a fresh process after the hang
    assert problems[1].field == "target" and "did not finish within 1 s, its check_timeout" in problems[1].reason
    assert "a larger check_timeout, for this worker or in [pulse], allows more" in problems[1].reason
    assert "has no attribute 'nope'" in problems[3].reason


def test_slow_imports_each_within_the_limit_all_pass(user_modules):
    # Together they take longer than the limit: it is each target's, not the whole check's.
    targets = [(user_modules(f"slowish_{i}", "import time\ntime.sleep(0.5)\n" + FEED) + ":feed", {}) for i in range(4)]
    assert probe_targets(targets, timeout=1.5) == [None] * 4


def test_a_target_that_ends_the_check_process_is_blamed_and_the_rest_are_checked(user_modules):
    user_modules("exits_hard", "import os\nos._exit(3)\n")
    user_modules("fine_module", FEED)
    problems = probe_targets([("exits_hard:feed", {}), ("fine_module:feed", {})])
    assert problems[0].reason == (
        "the check process exited with code 3 while importing it (an os._exit or a crash at import?)"
    )
    assert problems[1] is None


@pytest.mark.timeout(30)
def test_a_non_daemon_thread_started_at_import_does_not_hold_the_check(user_modules, monkeypatch):
    user_modules(
        "starts_a_thread", "import threading\nthreading.Thread(target=threading.Event().wait).start()\n" + FEED
    )
    # The check process must exit by itself: were it killed after a grace, this test would time out.
    monkeypatch.setattr(probe_process, "EXIT_TIMEOUT", 3600.0)
    assert probe_targets([("starts_a_thread:feed", {})], timeout=20) == [None]


SPAWNS = """\
import subprocess, sys
SLEEPER = [sys.executable, "-c", "import threading; threading.Event().wait()"]
child = subprocess.Popen(SLEEPER)
leader = subprocess.Popen(SLEEPER, start_new_session=True)
# A daemon: its parent exits at once, so it is re-parented (to the check process, a subreaper).
daemonize = (
    "import subprocess, sys; "
    "print(subprocess.Popen(sys.argv[1:], start_new_session=True, stdout=-3, stderr=-3).pid)"  # DEVNULL
)
daemon = subprocess.run([sys.executable, "-c", daemonize, *SLEEPER], capture_output=True, text=True, check=True)
with open(PIDS, "w") as f:
    f.write(f"{child.pid} {leader.pid} {daemon.stdout}")
"""


@pytest.mark.parametrize("then", ["returns", "hangs"])
def test_processes_started_at_import_are_ended_with_the_check(user_modules, tmp_path, then):
    pids = tmp_path / "pids"
    user_modules("spawns_at_import", f"PIDS = {str(pids)!r}\n" + SPAWNS + (HANGS if then == "hangs" else "") + FEED)
    (problem,) = probe_targets([("spawns_at_import:feed", {})], timeout=10)
    assert (problem is None) == (then == "returns")
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 3
    alive = wait_ended(started, 10.0)  # killed before the check returned: their exits are on the way
    for pid in alive:  # a failure leaves nothing behind either
        os.kill(pid, signal.SIGKILL)
    assert alive == []


HANGS_WITH_A_CHILD = """\
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"], start_new_session=True)
with open(PIDS, "w") as f:  # a FIFO: the test waits on it
    f.write(f"{os.getpid()} {child.pid}")
"""


@pytest.mark.timeout(30)
def test_a_check_whose_caller_dies_ends_with_everything_it_started(user_modules, tmp_path):
    fifo = tmp_path / "pids"
    os.mkfifo(fifo)
    user_modules("hangs_with_a_child", f"PIDS = {str(fifo)!r}\n" + HANGS_WITH_A_CHILD + HANGS + FEED)
    check = (
        "from pulse_supervisor.core.config.target_probe import probe_targets; "
        "probe_targets([('hangs_with_a_child:feed', {})], 3600)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    caller = subprocess.Popen([sys.executable, "-c", check], env=env)
    try:
        with open(fifo) as f:  # opens once the check process, importing, opens it to write
            started = [int(pid) for pid in f.read().split()]
    finally:
        caller.kill()  # Pulse SIGKILLed in the middle of a check
        caller.wait()
    alive = wait_ended(started, 10.0)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == []


def test_list_producers_skips_a_hanging_module_and_lists_the_rest(user_modules):
    user_modules("hangs_listed", HANGS + FEED)
    user_modules("listed", FEED)
    assert list_producers(["hangs_listed", "listed"], timeout=1) == ["listed:feed"]


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


def test_the_config_sets_each_workers_limit_and_names_the_one_that_overran(user_modules):
    user_modules("takes_a_second", "import time\ntime.sleep(1)\n" + FEED)
    user_modules("hangs_in_config", HANGS + FEED)
    text = textwrap.dedent(
        """\
        [pulse]
        check_timeout = 0.5

        [[worker]]
        name = "patient"
        target = "takes_a_second:feed"
        check_timeout = 20

        [[worker]]
        name = "stuck"
        target = "hangs_in_config:feed"

        [[worker]]
        name = "after"
        target = "pulse_supervisor.producers:counter"
        """
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, "pulse.toml")
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (11, 'worker "stuck".target')
    assert problem.reason.startswith("importing it did not finish within 0.5 s, its check_timeout")
    fixed = text.replace('target = "hangs_in_config:feed"', 'target = "takes_a_second:feed"\ncheck_timeout = 20')
    config = parse_config(fixed, "pulse.toml")
    assert config.check_timeout == 0.5 and [w.check_timeout for w in config.workers] == [20.0, 20.0, None]


def test_a_target_is_imported_with_its_workers_argv():
    # tests/argv_script.py parses sys.argv as it is imported: --symbol is required, --count an int.
    good, bad = ["--symbol", "EURUSD"], ["--symbol", "EURUSD", "--count", "x"]
    problems = probe_targets([("tests.argv_script:quotes", {})] * 4, argv=[good, [], bad, good])
    assert problems[0] is None and problems[3] is None
    assert problems[1].reason == (
        "importing it raised SystemExit: 2 "
        "(tests.argv_script:quotes: error: the following arguments are required: --symbol)"
    )
    # The module is imported anew for each argv: the good import before it does not hide it.
    assert problems[2].reason.endswith("(tests.argv_script:quotes: error: argument --count: invalid int value: 'x')")
