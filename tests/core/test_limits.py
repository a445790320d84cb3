"""``max_rss`` and ``max_cpu_percent``: checked every second, a graceful restart that is no crash."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pulse_supervisor.core.config.config_dump import dump_config
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.supervision import policy
from pulse_supervisor.core.supervision.events import LogLine, StateChanged
from pulse_supervisor.core.supervision.policy import LimitExceeded, Runtime, State
from tests.helpers import config, poll_until, spec

ROOT = Path(__file__).parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, check_targets=False)
    return [str(p) for p in info.value.problems]


def entry(extra: str) -> str:
    return f'[[worker]]\nname = "w"\ntarget = "tests.fleet_workers:idle"\n{extra}\n'


def test_limits_load_in_bytes_with_suffixes_and_write_back_as_written() -> None:
    (w,) = parse_config(entry('max_rss = "512M"\nmax_cpu_percent = 90\nmax_cpu_secs = 30'), check_targets=False).workers
    assert (w.max_rss, w.max_cpu_percent, w.max_cpu_secs) == (512 << 20, 90.0, 30.0)
    assert 'max_rss = "512M"' in dump_config(config(w))
    assert parse_config(dump_config(config(w))).workers == (w,)
    sizes = {'"1.5G"': 3 << 29, '"800k"': 800 << 10, "1000": 1000, '"64MiB"': 64 << 20}
    for text, size in sizes.items():
        assert parse_config(entry(f"max_rss = {text}"), check_targets=False).workers[0].max_rss == size


def test_bad_limits_name_line_field_and_reason() -> None:
    assert problems(entry('max_rss = "12X"\nmax_cpu_percent = -1')) == [
        '<input>:4: worker "w".max_rss: expected bytes, or a size such as "512M" (K, M, G), got string \'12X\'',
        '<input>:5: worker "w".max_cpu_percent: must be >= 0, got -1',
    ]
    assert problems(entry("max_cpu_secs = 5")) == [
        '<input>:4: worker "w".max_cpu_secs: applies with max_cpu_percent (the CPU % the worker may exceed '
        "for max_cpu_secs)"
    ]
    assert problems(entry("max_rss = 0")) == ['<input>:4: worker "w".max_rss: must be > 0, got 0']


def test_a_limit_restart_stops_then_starts_and_forgives_nothing_nor_counts_as_a_crash() -> None:
    s = spec("w", "m:f", flap_limit=1, start_retries=0)
    crashed = Runtime(State.RUNNING, started_at=0.0, crash_times=(1.0,), consecutive_failures=1)
    step = policy.transition(crashed, s, LimitExceeded("RSS 9 MiB over max_rss 8 MiB"), 5.0)
    assert step.states == (State.STOPPING,) and step.commands == (policy.Command.TERMINATE,)
    step = policy.transition(step.runtime, s, policy.Exited(None, 15), 6.0)
    assert step.states == (State.STOPPED, State.STARTING)
    assert step.runtime.crash_times == (1.0,) and step.runtime.consecutive_failures == 1  # as they were
    assert step.runtime.limit_reason == "RSS 9 MiB over max_rss 8 MiB"
    assert policy.transition(step.runtime, s, policy.StopAsked(), 7.0).runtime.limit_reason == ""


def test_a_worker_over_max_rss_is_restarted_gracefully_and_never_goes_fatal(make_supervisor) -> None:
    # flap_limit 1 and start_retries 0: a single crash would be FATAL; limit restarts are none.
    grow = spec("g", "tests.fleet_workers:grow", kwargs={"mib_per_step": 16}, max_rss=96 << 20, flap_limit=1,
                start_retries=0, start_secs=0.1)  # fmt: skip
    sup = make_supervisor(config(grow))
    sup.start("g")

    def restarted_twice(evs: list) -> bool:
        return sum(isinstance(e, StateChanged) and e.state is State.STARTING for e in evs) >= 3

    events = poll_until(sup, restarted_twice, timeout=60)
    states = [e for e in events if isinstance(e, StateChanged)]
    assert not {State.FATAL, State.BACKOFF, State.EXITED} & {e.state for e in states}
    stopping = next(e for e in states if e.state is State.STOPPING)
    assert stopping.reason.startswith("restarting: RSS ") and stopping.reason.endswith(" MiB over max_rss 96 MiB")
    again = next(e for e in states if e.state is State.STARTING and e.reason)
    assert again.reason == "restarted: " + stopping.reason.removeprefix("restarting: ") and again.restarts == 1
    warnings = [e.line for e in events if isinstance(e, LogLine) and e.stream == "pulse"]
    assert warnings[0] == stopping.reason


def test_a_worker_over_max_cpu_percent_for_max_cpu_secs_is_restarted(make_supervisor) -> None:
    sup = make_supervisor(config(spec("s", "tests.fleet_workers:spin", max_cpu_percent=20, max_cpu_secs=2)))
    sup.start("s")
    events = poll_until(sup, lambda evs: any(isinstance(e, StateChanged) and e.reason for e in evs), timeout=60)
    (reason,) = [e.reason for e in events if isinstance(e, StateChanged) and e.reason]
    assert reason.startswith("restarting: CPU ") and reason.endswith(" % over max_cpu_percent 20 % for 2 s")


def test_headless_json_says_why_a_worker_was_restarted(tmp_path: Path) -> None:
    cfg = tmp_path / "pulse.toml"
    cfg.write_text('[[worker]]\nname = "g"\ntarget = "tests.fleet_workers:grow"\nmax_rss = "64M"\n')
    run = subprocess.run(
        [sys.executable, "main.py", "--headless", "--duration", "8", "--config", str(cfg)],
        cwd=ROOT, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    records = [json.loads(line) for line in run.stdout.splitlines()]
    reasons = [r.get("reason", "") for r in records if r["type"] == "state" and r["state"] == "STOPPING"]
    assert reasons and reasons[0].startswith("restarting: RSS ") and reasons[0].endswith("over max_rss 64 MiB")


def test_the_limits_bench_runs_on_tiny_settings() -> None:
    run = subprocess.run([sys.executable, "bench/limits.py", "--quick"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert [line.split(" | ")[1] for line in run.stdout.splitlines()[2:]] == ["Pulse", "psutil", "floor"]


def test_no_pass_without_limits_and_a_limit_reloaded_in_applies_without_a_restart(make_supervisor) -> None:
    grow = spec("g", "tests.fleet_workers:grow", kwargs={"mib_per_step": 4, "steps": 200})
    sup = make_supervisor(config(grow))
    sup.start("g")
    poll_until(sup, lambda evs: sup.record("g").runtime.state is State.RUNNING, timeout=30)
    assert sup._limits.next_check() is None  # no limit: no pass, no wake-up a second
    pid = sup.record("g").pid
    sup.apply_config(config(dataclasses.replace(grow, max_rss=64 << 20)))
    events = poll_until(sup, lambda evs: any(isinstance(e, StateChanged) and e.reason for e in evs), timeout=60)
    (stopping,) = [e for e in events if isinstance(e, StateChanged)]  # the reload itself restarted nothing
    assert stopping.state is State.STOPPING and stopping.pid == pid and "over max_rss 64 MiB" in stopping.reason
