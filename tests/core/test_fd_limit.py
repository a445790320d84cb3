"""Pulse raises its soft limit on open files to the hard one at start, says so, and gives its workers theirs back."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.helpers import wait_ended
from tests.test_orphans import read_pids

ROOT = Path(__file__).resolve().parents[2]
LOW = 256  # the soft limit Pulse is started with
_, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or HARD == resource.RLIM_INFINITY or HARD <= LOW,
    reason="needs a finite hard limit above 256",
)


def _low_soft_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW, HARD))


LIBRARY_SCRIPT = """
import logging, resource, sys
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import config, items_of, poll_until, run_until_stopped, spec
print(list(resource.getrlimit(resource.RLIMIT_NOFILE)))  # before: the limit it was started with
sup = Supervisor(config(spec("limits", "tests.workers:file_limit")))
Supervisor(config())  # a second supervisor raises nothing more, and logs nothing more
try:
    print(list(resource.getrlimit(resource.RLIMIT_NOFILE)))
    sup.start("limits")
    print(items_of(poll_until(sup, lambda evs: bool(items_of(evs, "limits")), timeout=30), "limits")[0][1])
    run_until_stopped(sup)
finally:
    sup.close()
"""


def test_the_library_face_raises_the_limit_once_and_logs_it():
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY_SCRIPT],
        cwd=ROOT,
        preexec_fn=_low_soft_limit,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    before, during, worker = done.stdout.split("\n")[:3]
    assert before == f"[{LOW}, {HARD}]"
    assert during == f"[{HARD}, {HARD}]"  # the supervising process: the hard limit
    assert worker == f"[{LOW}, {HARD}]"  # its worker: the limit it would have had without Pulse
    logged = [line for line in done.stderr.splitlines() if line.startswith("pulse: open files")]
    assert logged == [f"pulse: open files: soft limit raised from {LOW} to {HARD} (hard limit {HARD})"]


@pytest.mark.parametrize("mode", [["--headless"], []])
def test_pulse_raises_its_limit_at_start_headless_and_windowed(tmp_path, mode):
    fifo = tmp_path / "limits.fifo"
    os.mkfifo(fifo)
    cfg = tmp_path / "pulse.toml"
    cfg.write_text(
        f'[[worker]]\nname = "limits"\ntarget = "tests.workers:file_limit"\nkwargs = {{ path = "{fifo}" }}\n'
    )
    pulse = subprocess.Popen(
        [sys.executable, "main.py", "--config", str(cfg), *mode],
        cwd=ROOT,
        preexec_fn=_low_soft_limit,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pid, soft, hard = read_pids(fifo, 3, timeout=60)
        assert (soft, hard) == (LOW, HARD)  # the worker's
        assert psutil.Process(pulse.pid).rlimit(psutil.RLIMIT_NOFILE) == (HARD, HARD)
        pulse.send_signal(signal.SIGTERM)
        assert pulse.wait(timeout=30) == 0
        assert wait_ended([pid], timeout=10.0) == []
    finally:
        if pulse.poll() is None:
            pulse.kill()
            pulse.wait(timeout=10)
