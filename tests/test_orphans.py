"""No orphans: when the GUI process is SIGKILLed, its workers and their children exit within seconds."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import wait_ended

ROOT = Path(__file__).resolve().parents[1]


def read_pids(fifo: Path, count: int, timeout: float) -> list[int]:
    """Read ``count`` pid lines from ``fifo``, blocking on it (select) until ``timeout``."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keep_open = os.open(fifo, os.O_WRONLY)  # so the reader never sees EOF between writers
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while buf.count(b"\n") < count:
            left = deadline - time.monotonic()
            assert left > 0, f"workers did not report in {timeout}s: {buf!r}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                buf += os.read(fd, 4096)
    finally:
        os.close(fd)
        os.close(keep_open)
    return [int(line) for line in buf.split()]


def run_and_sigkill(tmp_path: Path, extra_args: list[str], *, families: bool = False, within: float = 2.0) -> None:
    """Start Pulse on two workers (or one worker with five children of every kind), SIGKILL it,
    and check every one of those processes ends ``within`` seconds."""
    fifo = tmp_path / "pids.fifo"
    os.mkfifo(fifo)
    cfg = tmp_path / "pulse.toml"
    target, count = ("tests.workers:family", 6) if families else ("tests.workers:announce_pid", 2)
    workers = "".join(
        f'[[worker]]\nname = "w{i}"\ntarget = "{target}"\nkwargs = {{ path = "{fifo}" }}\n'
        for i in range(1 if families else 2)
    )
    cfg.write_text(workers)
    # A SIGKILLed process cannot remove its temp files (the forkserver's socket directory):
    # give it a directory of its own to remove after. Short, as a socket's path must be.
    own_tmp = tempfile.mkdtemp(prefix="po-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), TMPDIR=own_tmp)
    gui = subprocess.Popen(
        [sys.executable, "main.py", "--config", str(cfg), *extra_args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pids = read_pids(fifo, count, timeout=60)
        workers = [psutil.Process(pid) for pid in pids]
        gui.send_signal(signal.SIGKILL)
        gui.wait(timeout=10)
        alive = wait_ended(workers, timeout=within)
        assert not alive, f"processes outlived the GUI by {within} s: {alive} of {pids}"
    finally:
        gui.kill()
        gui.wait(timeout=10)
        shutil.rmtree(own_tmp, ignore_errors=True)


def test_workers_die_with_the_sigkilled_gui(tmp_path):
    run_and_sigkill(tmp_path, [])


def test_workers_die_with_the_sigkilled_gui_under_spawn(tmp_path):
    run_and_sigkill(tmp_path, ["--start-method", "spawn"])


def test_workers_die_with_the_sigkilled_headless_runner(tmp_path):
    run_and_sigkill(tmp_path, ["--headless"])


@pytest.mark.parametrize("mode", [[], ["--headless"]])
def test_the_workers_children_die_with_the_sigkilled_gui(tmp_path, mode):
    # A subprocess, a setsid one, one deaf to SIGTERM, a bare fork, a multiprocessing child.
    run_and_sigkill(tmp_path, mode, families=True, within=5.0)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_sigint_sigterm_and_sighup_close_the_window_gracefully(tmp_path, sig):
    fifo = tmp_path / "pids.fifo"
    os.mkfifo(fifo)
    cfg = tmp_path / "pulse.toml"
    cfg.write_text(f'[[worker]]\nname = "w"\ntarget = "tests.workers:announce_pid"\nkwargs = {{ path = "{fifo}" }}\n')
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    gui = subprocess.Popen([sys.executable, "main.py", "--config", str(cfg)], cwd=ROOT, env=env)
    try:
        (pid,) = read_pids(fifo, 1, timeout=60)
        worker = psutil.Process(pid)
        gui.send_signal(sig)
        assert gui.wait(timeout=20) == 0  # the window stopped its workers and closed
        assert not wait_ended([worker], timeout=2.0)
    finally:
        gui.kill()
        gui.wait(timeout=10)
