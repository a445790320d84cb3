"""No process outlives the worker that started it, however the worker ends; pools run in workers."""

from __future__ import annotations

import os
import re
import signal

import pytest

from pulse_supervisor.core.processes import worker_tree
from pulse_supervisor.core.supervision.events import LogLine, WorkerExited
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, items_of, poll_until, reached, spec, wait_ended

ENDS = ["stop", "return", "crash", "segfault", "kill", "sigkill-from-outside"]


def exits_of(events, name):
    return [e for e in events if isinstance(e, WorkerExited) and e.worker == name]


@pytest.mark.parametrize("end", ENDS)
def test_everything_a_worker_started_ends_with_it(make_supervisor, end):
    then = end if end in ("return", "crash", "segfault") else "sleep"
    sup = make_supervisor(config(spec("fam", "tests.workers:family", kwargs={"then": then}, stop_timeout=10.0)))
    sup.start("fam")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "fam")) or bool(exits_of(evs, "fam")), timeout=30.0)
    ((_, pids),) = items_of(events, "fam")[:1]
    assert len(pids) == 5
    if end == "stop":
        sup.stop("fam")
    elif end == "kill":
        sup.kill("fam")
    elif end == "sigkill-from-outside":
        os.kill(sup.record("fam").pid, signal.SIGKILL)
    # A worker that ends by itself may have ended in the batch that brought its items.
    events += poll_until(sup, lambda evs: bool(exits_of(events + evs, "fam")), timeout=30.0)
    # The worker's end, the whole tree's: a child that ignores SIGTERM or left with setsid included.
    assert wait_ended(pids, timeout=10.0) == []
    if end == "stop":
        assert [(e.exitcode, e.signal) for e in exits_of(events, "fam")] == [(0, None)]


def test_a_crash_loop_leaves_nothing_behind(make_supervisor):
    sup = make_supervisor(
        config(spec("loop", "tests.workers:family", restart="always", kwargs={"then": "crash"},
                    start_retries=100, backoff_initial=0.01, backoff_max=0.01))
    )  # fmt: skip
    sup.start("loop")
    events = poll_until(sup, lambda evs: len(exits_of(evs, "loop")) >= 3, timeout=60.0)
    sup.stop("loop")
    events += poll_until(sup, reached("loop", State.STOPPED), timeout=30.0)
    pids = [pid for _, family in items_of(events, "loop") for pid in family]
    assert len(pids) >= 15
    assert wait_ended(pids, timeout=10.0) == []


@pytest.mark.parametrize(
    ("method", "executor"), [("fork", False), ("forkserver", False), ("spawn", False), ("forkserver", True)]
)
def test_a_worker_may_fan_out_over_its_own_pool(make_supervisor, method, executor):
    sup = make_supervisor(
        config(spec("pool", "tests.workers:pool_user", kwargs={"method": method, "executor": executor}))
    )
    sup.start("pool")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "pool")), timeout=60.0)
    errors = [e.line for e in events if isinstance(e, LogLine) and e.level == "ERROR"]
    assert not errors
    assert [item for _, item in items_of(events, "pool")] == [285]
    assert [(e.exitcode, e.signal) for e in exits_of(events, "pool")] == [(0, None)]


def _autogroup(pid):
    """Return (group, nice) from ``/proc/<pid>/autogroup`` ("/autogroup-123 nice 5"), or None.

    None where the kernel schedules without autogroup: no such file, or (as on some sandboxed
    kernels, CI's among them) a file that reads empty.
    """
    try:
        with open(f"/proc/{pid}/autogroup") as f:
            found = re.fullmatch(r"(/autogroup-\d+) nice (-?\d+)", f.read().strip())
    except OSError:
        return None
    return (found[1], int(found[2])) if found else None


def test_workers_share_one_session_apart_from_the_supervisors(make_supervisor):
    """One session, so one scheduling group under autogroup: 64 busy workers weigh as much as the window."""
    from pulse_supervisor.core.worker import pulse_forkserver

    sup = make_supervisor(
        config(spec("a", "pulse_supervisor.producers:clock"), spec("b", "pulse_supervisor.producers:clock"))
    )
    sup.start("a")
    sup.start("b")
    poll_until(sup, lambda _: all(sup.record(n).runtime.state is State.RUNNING for n in "ab"), timeout=30.0)
    a, b = sup.record("a").pid, sup.record("b").pid
    assert os.getsid(a) == os.getsid(b) == pulse_forkserver.server_pid() != os.getsid(0)
    assert os.getpgid(a) == a and os.getpgid(b) == b  # each still its own process group, for signals
    if _autogroup("self") is not None:
        assert _autogroup(a) == _autogroup(b) != _autogroup("self")
        assert _autogroup(a)[1] == worker_tree.DEFAULT_WORKERS_NICE  # together, a nice program


WORKERS_NICE_SCRIPT = """
import os, sys, time
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import config, poll_until, spec
sup = Supervisor(config(spec("a", "pulse_supervisor.producers:clock")))
try:
    sup.start("a")
    poll_until(sup, lambda _: sup.record("a").runtime.state is State.RUNNING, timeout=30.0)
    print(open(f"/proc/{sup.record('a').pid}/autogroup").read().split()[-1])
finally:
    sup.close()
"""


def test_the_workers_group_nice_is_overridable(tmp_path):
    import subprocess
    import sys

    if _autogroup("self") is None:
        pytest.skip("this kernel has no autogroup scheduling")
    env = {**os.environ, "PULSE_WORKERS_NICE": "9", "PULSE_LOG_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", WORKERS_NICE_SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["9"]
