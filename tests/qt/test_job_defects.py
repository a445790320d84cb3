"""run_in_process, issue 30's defects: each one met with real processes, and what happens instead now."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from pulse_supervisor.core.errors import JobCallError, JobError
from pulse_supervisor.qt.job_host import each_host
from pulse_supervisor.qt.jobs import run_in_process
from tests import jobs
from tests.qt.test_jobs import finish, record

pytestmark = pytest.mark.usefixtures("no_jobs_left")
ROOT = Path(__file__).resolve().parents[2]


def _no_job_started() -> bool:
    return not any(job.is_running for host in each_host() for job in host.jobs.values())


# --- 1. an argument that cannot be sent --------------------------------------------------------------


def test_an_argument_that_does_not_pickle_is_refused_at_the_call_named():
    with pytest.raises(JobCallError, match=r"argument 2 \(a _thread\.lock\) cannot be sent") as caught:
        run_in_process(jobs.add, 1, threading.Lock())
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, JobError)
    with pytest.raises(JobCallError, match=r"keyword argument 'b' \(a _io\.BufferedReader\)"):
        with open(__file__, "rb") as f:
            run_in_process(jobs.add, 1, b=f)
    assert _no_job_started()


# --- 2. no GUI stall when the last job ends -----------------------------------------------------------


def test_the_gui_thread_does_not_stall_when_the_last_jobs_end(qtbot, tmp_path):
    from qtpy.QtCore import QTimer

    started = [tmp_path / f"started-{i}" for i in range(8)]
    running = [run_in_process(jobs.spin, str(path)) for path in started]
    qtbot.waitUntil(lambda: all(p.exists() and p.read_text() for p in started), timeout=60_000)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(5)
    for job in running:
        job.cancel()
    for job in running:
        if job.is_running:
            finish(qtbot, job)
    (host,) = each_host()
    with qtbot.waitSignal(host.workers.finished, timeout=30_000):
        host.shut_down()  # what the idle timer does 3 s later
    qtbot.wait(50)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert max(gaps) < 0.5, max(gaps)  # was 2 s: close() waited for a consumer nobody woke


def test_a_supervisor_with_no_worker_left_shuts_down_at_once(qtbot):
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor

    pool = QtSupervisor()
    began = time.monotonic()
    assert pool.close()
    assert time.monotonic() - began < 1.0  # was its whole 2 s margin


# --- 3. bound methods -----------------------------------------------------------------------------


def test_a_bound_method_runs_with_its_instance_and_a_classmethod_with_its_class(qtbot):
    job = run_in_process(jobs.Multiplier(6).times, 7)
    other = run_in_process(jobs.Multiplier.make_and_apply, 3, 5)
    seen, other_seen = record(job), record(other)
    for j in (job, other):
        if j.is_running:
            finish(qtbot, j)
    assert seen["returned"] == [42] and other_seen["returned"] == [15]


def test_a_method_of_an_instance_that_does_not_pickle_is_refused_with_the_reason():
    with pytest.raises(JobCallError, match=r"Locked\.work is bound to a Locked that cannot be sent"):
        run_in_process(jobs.Locked().work)
    assert _no_job_started()


# --- 4. a script without a __main__ guard -----------------------------------------------------------

SCRIPT = """
import os, sys
from qtpy.QtCore import QCoreApplication, QTimer
from pulse_supervisor.qt.jobs import run_in_process
from pulse_supervisor.core.errors import JobError
from tests import jobs

def here(x):
    return x + 1

app = QCoreApplication([])
print("script ran in", os.getpid(), flush=True)
results = []
try:
    run_in_process(here, 1)
    results.append("here: started")
except JobError as exc:
    results.append(f"here: refused: {exc}")
job = run_in_process(jobs.wait_for, sys.argv[1])
job.started.connect(lambda: open(sys.argv[1], "w").close())
job.returned.connect(lambda pid: results.append(f"module job: returned {pid}"))
job.errored.connect(lambda error: results.append(f"module job: errored {error}"))
job.finished.connect(app.quit)
QTimer.singleShot(60_000, app.quit)
app.exec_()
print("\\n".join(results), flush=True)
"""


@pytest.mark.timeout(120)
def test_a_script_without_a_main_guard_runs_jobs_of_modules_and_is_told_for_its_own(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "gate")], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=100,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert sum(line.startswith("script ran in") for line in lines) == 1, lines  # never again in a job
    (refused,) = [line for line in lines if line.startswith("here: ")]
    assert "refused" in refused and 'if __name__ == "__main__":' in refused, refused
    (returned,) = [line for line in lines if line.startswith("module job: ")]
    assert returned.startswith("module job: returned "), returned
    pid = int(returned.rsplit(" ", 1)[1])
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_guarded_script_s_own_function_runs_in_a_job(tmp_path):
    head, body = textwrap.dedent(SCRIPT).split("app = QCoreApplication([])")
    body = "app = QCoreApplication([])" + body
    guarded = head + "def main():\n" + textwrap.indent(body, "    ") + '\nif __name__ == "__main__":\n    main()\n'
    script = tmp_path / "guarded.py"
    script.write_text(guarded)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "gate")], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=100,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "here: started" in done.stdout.splitlines(), done.stdout


# --- 5. a job started from another thread ---------------------------------------------------------


def test_a_job_started_from_another_thread_is_refused_clearly(qtbot):
    caught: list[BaseException] = []

    def call() -> None:
        try:
            run_in_process(jobs.add, 1)
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(30)
    (error,) = caught
    assert isinstance(error, JobError) and "must be called in the GUI thread" in str(error)
    assert _no_job_started()


# --- 6. values that do not cross ----------------------------------------------------------------------


def test_a_yielded_value_that_does_not_pickle_is_an_error_naming_it(qtbot):
    job = run_in_process(jobs.yield_then_unpicklable)
    seen = record(job)
    finish(qtbot, job)
    (error,) = seen["errored"]
    assert seen["yielded"] == [1] and seen["returned"] == []
    assert "yielded a _thread.lock that cannot be sent" in str(error) and "pickle" in str(error)


def test_a_return_value_that_does_not_pickle_is_an_error_naming_it(qtbot):
    job = run_in_process(jobs.return_unpicklable)
    seen = record(job)
    finish(qtbot, job)
    (error,) = seen["errored"]
    assert "returned a _thread.lock that cannot be sent" in str(error) and seen["returned"] == []


def test_an_exception_that_does_not_load_keeps_its_class_name_and_message(qtbot):
    job = run_in_process(jobs.fail_bad_init)
    seen = record(job)
    finish(qtbot, job)
    (error,) = seen["errored"]
    assert error.type_name == "BadInit" and "the step failed with 7" in str(error) and error.original is None
    assert "in fail_bad_init" in error.traceback


# --- 7. connect -----------------------------------------------------------------------------------------


def test_connect_takes_lists_of_slots_and_a_bad_entry_starts_nothing(qtbot):
    got: list[tuple[str, int]] = []
    job = run_in_process(
        jobs.add, 2, 3, _connect={"returned": [lambda v: got.append(("a", v)), lambda v: got.append(("b", v))]}
    )
    finish(qtbot, job)
    assert got == [("a", 5), ("b", 5)]
    for bad in ({"returned": ["not callable"]}, {"no_such_signal": print}, print, {"returned": [print, 3]}):
        with pytest.raises(JobCallError):
            run_in_process(jobs.add, 1, _connect=bad)
    assert _no_job_started()
