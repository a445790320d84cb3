"""The agent's watch on Pulse (driver_watch): it ends a process as its ancestor dies, and watches nothing else."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from pulse_supervisor.core.backends.ray import driver_watch
from tests.core.test_headless import LineReader
from tests.helpers import wait_ended

ROOT = Path(__file__).resolve().parents[2]

# A "driver" whose grandchild watches it (as an agent under Pulse's head descends from Pulse,
# through the raylet): the watcher says its pid once it watches.
DRIVER = """
import os, subprocess, sys
import psutil
me = repr((os.getpid(), psutil.Process().create_time()))
subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2].replace("DRIVER", me)])
"""
MIDDLE = """
import subprocess, sys
subprocess.run([sys.executable, "-c", sys.argv[1]])
"""
WATCHER = """
import os, time
from pulse_supervisor.core.backends.ray import driver_watch
assert driver_watch.end_with(DRIVER, lambda: os._exit(0))
print(os.getpid(), flush=True)
time.sleep(60)
"""


def test_a_process_under_the_driver_ends_as_the_driver_dies():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, MIDDLE, WATCHER], cwd=ROOT, stdout=subprocess.PIPE,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    tree: list[psutil.Process] = []
    try:
        line = LineReader(driver.stdout).next_line(time.monotonic() + 30.0)
        assert line is not None
        watcher = psutil.Process(int(line))
        tree = psutil.Process(driver.pid).children(recursive=True)
        assert watcher in tree
        driver.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert wait_ended([watcher], timeout=10.0) == []
        assert time.monotonic() - killed < 2.0
    finally:
        driver.kill()
        driver.wait(timeout=10)
        driver.stdout.close()
        for proc in tree:  # the process in between (it ends with the watcher, or is ended here)
            with contextlib.suppress(psutil.Error):
                proc.kill()
        assert wait_ended(tree, timeout=10.0) == []


def test_nothing_but_an_ancestor_is_watched():
    parent = psutil.Process().parent()
    assert parent is not None
    assert driver_watch.end_with((parent.pid, parent.create_time() + 5.0), lambda: None) is False  # its pid, reused
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(child.pid).create_time()
        assert driver_watch.end_with((child.pid, started), lambda: None) is False  # not ours to die with
    finally:
        child.kill()
        child.wait(timeout=10)
    assert driver_watch.end_with((child.pid, started), lambda: None) is False  # gone
