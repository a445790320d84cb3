"""The descriptor budget: what a worker costs Pulse, and a fleet past the limit refused by name, never crashed."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from pulse_supervisor.core.supervision import fd_budget
from pulse_supervisor.core.supervision.fd_budget import Count, FdBudget
from pulse_supervisor.core.supervision.logfiles import LogFiles
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, poll_until, reached, spec

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 128  # soft and hard: room for about 20 workers
_, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)

needs_limits = pytest.mark.skipif(
    not sys.platform.startswith("linux") or (HARD != resource.RLIM_INFINITY and HARD < LIMIT),
    reason="needs Linux and a hard limit of at least 128",
)


def _descriptors() -> dict[int, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own descriptor, closed already
            pass
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lists /proc/self/fd")
def test_a_worker_costs_pulse_four_descriptors(make_supervisor, tmp_path):
    n = 8
    sup = make_supervisor(
        config(*[spec(f"w{i}", "pulse_supervisor.producers:counter", kwargs={"rate": 5.0}) for i in range(n)])
    )
    sup.log_files = LogFiles(tmp_path, max_open=1)  # log files are shared out apart: see LogFiles
    sup.start("w0")
    poll_until(sup, reached("w0", State.RUNNING), timeout=30.0)
    before = _descriptors()
    for i in range(1, n):
        sup.start(f"w{i}")
    poll_until(sup, lambda evs: all(sup.record(f"w{i}").runtime.state is State.RUNNING for i in range(n)), 60.0)
    added = [kind for fd, kind in _descriptors().items() if fd not in before]
    kinds = sorted({kind.split(":")[0] for kind in added})
    # Each: its channel (a socket, both ways), its stdout and stderr pipes, and the sentinel that
    # says it died (a pipe from the forkserver).
    assert len(added) <= 4 * (n - 1) + 1, added  # + 1: the one log file kept open may have changed
    assert kinds in (["pipe", "socket"], ["/", "pipe", "socket"]) or kinds[-2:] == ["pipe", "socket"], kinds
    assert sum(kind.startswith("socket:") for kind in added) == n - 1


def _opened(monkeypatch, n: int) -> list[int]:
    """Make the budget's counts read ``n`` open descriptors (change the list's item to change it)."""
    opened = [n]
    monkeypatch.setattr(fd_budget, "count_open", lambda limit: opened[0])
    return opened


def test_a_start_is_refused_under_the_reserve_and_says_the_counts(monkeypatch):
    _opened(monkeypatch, 100 - fd_budget.START_RESERVE + 1)  # one short of the reserve
    text = FdBudget(limit=100).refusal(7)
    assert text == (
        f"too many open files: 7 workers hold {100 - fd_budget.START_RESERVE + 1} of 100 descriptors (a start needs "
        f"{fd_budget.START_RESERVE} free; raise the hard limit, ulimit -Hn, or run fewer workers)"
    )
    _opened(monkeypatch, 100 - fd_budget.START_RESERVE)
    assert FdBudget(limit=100).refusal(7) is None  # just enough
    assert FdBudget(limit=None).refusal(7) is None  # no limit: nothing to refuse


def test_only_a_failure_for_want_of_descriptors_is_a_refusal(monkeypatch):
    _opened(monkeypatch, 10)
    budget = FdBudget(limit=100_000)
    emfile = OSError(24, "Too many open files")
    assert budget.refusal(3, ValueError("kwargs do not pickle")) is None
    assert budget.refusal(3, emfile) == (
        "too many open files: 3 workers hold 10 of 100000 descriptors (raise the hard limit, ulimit -Hn, or run "
        "fewer workers)"
    )
    wrapped = RuntimeError("launch failed")
    wrapped.__cause__ = emfile
    assert fd_budget.out_of_descriptors(wrapped)


def test_starts_far_from_the_limit_are_estimated_and_counted_near_it(monkeypatch):
    opened = _opened(monkeypatch, 100)
    budget = FdBudget(limit=1000)
    assert budget.count() == Count(100, 1000)
    opened[0] = 990  # another thread opened many: seen at the next count, not before
    budget.started()
    assert budget.count() == Count(108, 1000)  # far from the limit: estimated
    assert budget.count(exact=True) == Count(990, 1000)
    assert budget.refusal(1) is not None


def test_the_notice_comes_once_near_the_limit_and_once_with_room_again(monkeypatch):
    opened = _opened(monkeypatch, 500)
    budget = FdBudget(limit=1000)
    assert budget.notice(10) is None
    opened[0] = 950  # 50 free, under 10 % (counted: far from the limit, starts are estimated)
    low = budget.notice(100, exact=True)
    assert low is not None and low.low and (low.workers, low.open, low.limit) == (100, 950, 1000)
    assert "Near the limit on open files (100 workers: 950 of 1000 descriptors open)" in low.message
    assert budget.notice(100) is None  # said once
    opened[0] = 880  # 120 free: over 10 %, not yet half as much again
    assert budget.notice(90) is None
    opened[0] = 800
    back = budget.notice(80)
    assert back is not None and not back.low and "room again" in back.message


FLEET_SCRIPT = """
import json, os, sys, time
from pulse_supervisor.core.supervision import fd_budget
from pulse_supervisor.core.worker import pulse_forkserver
from pulse_supervisor.core.supervision.events import DescriptorsLow, StartFailed, WorkerExited
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import config, poll_until, run_until_stopped, spec

n, reserve = int(sys.argv[1]), int(sys.argv[2])
fd_budget.START_RESERVE = reserve  # 0: no check first, so launches do run out half-way
names = [f"w{i}" for i in range(n)]
sup = Supervisor(config(*[spec(name, "pulse_supervisor.producers:counter", restart="on-failure", kwargs={"rate": 20.0},
                               start_retries=1, backoff_initial=0.05, backoff_max=0.05) for name in names]))
settled = lambda evs: all(sup.record(m).runtime.state in (State.RUNNING, State.FATAL) for m in names)
try:
    for name in names:
        sup.start(name)
    events = poll_until(sup, settled, timeout=120)
    running = [m for m in names if sup.record(m).runtime.state is State.RUNNING]
    server, pids = pulse_forkserver.server_pid(), {m: sup.record(m).pid for m in running}
    # The fleet at the limit, for a while: nothing running may end, nothing may restart.
    later = poll_until(sup, lambda evs: len([e for e in evs if type(e).__name__ == "ItemBatch"]) > 3 * len(running),
                       timeout=60)
    after = {m: sup.record(m).pid for m in running}
    refused = [m for m in names if m not in running]
    # Room again: half the running workers stop, and the refused ones start when asked.
    half = running[: len(running) // 2]
    for name in half:
        sup.stop(name)
    stops = poll_until(sup, lambda evs: all(sup.record(m).run is None for m in half), timeout=60)
    for name in refused[:5]:
        sup.start(name)
    again = poll_until(sup, lambda evs: all(sup.record(m).runtime.state is State.RUNNING for m in refused[:5]),
                       timeout=60)
    final = run_until_stopped(sup)
    print(json.dumps({
        "running": running, "refused": refused, "same_pids": pids == after,
        "same_server": server == pulse_forkserver.server_pid() and os.waitpid(server, os.WNOHANG) == (0, 0),
        "exits_at_limit": [[e.worker, e.exitcode, e.signal] for e in later if isinstance(e, WorkerExited)],
        "failed": sorted({e.worker for e in events if isinstance(e, StartFailed)}),
        "reasons": sorted({e.reason.split(" (")[0] for e in events + later if isinstance(e, StartFailed)}),
        "low": [[e.low, e.limit] for e in events + later + stops + again + final if isinstance(e, DescriptorsLow)],
        "stop_exits": [[e.exitcode, e.signal] for e in stops + final if isinstance(e, WorkerExited)],
        "log_dir": str(sup.log_files.directory),
    }))
finally:
    sup.close()
"""


def _fleet(n: int, reserve: int, tmp_path: Path) -> dict:
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

    env = dict(os.environ, PULSE_LOG_DIR=str(tmp_path / "logs"))
    done = subprocess.run(
        [sys.executable, "-c", FLEET_SCRIPT, str(n), str(reserve)],
        cwd=ROOT, env=env, preexec_fn=low_limit, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@needs_limits
@pytest.mark.timeout(300)
@pytest.mark.parametrize("reserve", [fd_budget.START_RESERVE, 0], ids=["refused-first", "ran-out-mid-launch"])
def test_past_the_limit_the_rest_are_refused_by_name_and_nothing_running_ends(tmp_path, reserve):
    result = _fleet(40, reserve, tmp_path)
    running, refused = result["running"], result["refused"]
    assert len(running) >= 15 and len(refused) >= 5, result  # ~4 descriptors a worker, in 128
    assert result["failed"] == sorted(refused)  # each by name...
    # ...with the counts: "too many open files: 22 workers hold 99 of 128 descriptors"
    assert result["reasons"] and all(r.startswith("too many open files: ") for r in result["reasons"]), result
    assert all(r.endswith(f" of {LIMIT} descriptors") for r in result["reasons"]), result
    assert result["same_server"] and result["same_pids"], result  # no crash: the forkserver and every run unchanged
    assert result["exits_at_limit"] == []  # no crash loop
    assert result["low"][0] == [True, LIMIT]  # the fleet was said to be near the limit
    assert all(exit_ == [0, None] for exit_ in result["stop_exits"]), result  # stopped, not killed (no 255)
    logs = Path(result["log_dir"])
    for name in refused[:5]:  # started later: its log file is whole again from then on
        text = (logs / f"{name}.log").read_text()
        assert "state RUNNING" in text, text
        assert "too many open files" in text or "Pulse was out of descriptors" in text, text  # its refusal, or its gap
