"""A Ray head of Pulse's own (ray_address = "local"): loopback only, its token kept from Pulse's workers, its
workers ending with Pulse.

Each Pulse here is a subprocess with a head of its own, as a user's would be: no RAY_ variable
of the suite's (whose head is the test process's), and Ray's files in a directory of the test's.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.core.test_headless import LineReader
from tests.helpers import wait_ended

ROOT = Path(__file__).resolve().parents[2]
RAY_WORKERS = ("r1", "r2")

PULSE_SCRIPT = """
import json, os, select, sys
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import items_of, poll_until
workers = [("r1", "ray"), ("r2", "ray"), ("during", "local"), ("after", "local")]
text = "".join(f'[[worker]]\\nname = "{name}"\\ntarget = "pulse_supervisor.producers:clock"\\n'
                f'kwargs = {{ interval = 0.05 }}\\n'
               f'backend = "{backend}"\\n' for name, backend in workers)  # ray_address: "local", the default
sup = Supervisor(parse_config(text))
for name in ("r1", "r2", "during"):  # the local one as the head starts
    sup.start(name)
poll_until(sup, lambda evs: all(items_of(evs, name) for name in ("r1", "r2", "during")), timeout=90.0)
sup.start("after")
poll_until(sup, lambda evs: bool(items_of(evs, "after")), timeout=30.0)
print(json.dumps(sorted(k for k in os.environ if k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"))), flush=True)
while not select.select([sys.stdin], [], [], 0)[0]:  # until the test closes our stdin
    sup.poll(0.2)
sup.close()
"""


class OwnHeadPulse:
    """A Pulse in a subprocess whose workers all run, two on a head of its own.

    Attributes
    ----------
    process : subprocess.Popen
        Pulse.
    ray_variables : list of str
        The RAY_AUTH_ variables in Pulse's environment once its workers ran.
    """

    def __init__(self, tmp_path: Path, ray_tmp: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # as a user's would be
        env.update(PYTHONPATH=str(ROOT), PULSE_LOG_DIR=str(tmp_path), HOME=str(tmp_path), TMPDIR=ray_tmp)
        self.process = subprocess.Popen([sys.executable, "-c", PULSE_SCRIPT], cwd=ROOT, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
        self._seen: list[psutil.Process] = []
        line = LineReader(self.process.stdout).next_line(time.monotonic() + 120.0)
        assert line is not None, f"Pulse exited with {self.process.wait()}"
        self.ray_variables: list[str] = json.loads(line)

    def tree(self) -> list[psutil.Process]:
        """Return Pulse and every process under it (each is ended when the test is over)."""
        procs = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        self._seen += procs
        return procs

    def sigkill(self) -> None:
        self.tree()  # what its death leaves to init is still ended afterwards
        self.process.send_signal(signal.SIGKILL)

    def end(self) -> None:
        """Close Pulse (it ends its head) unless it was killed, then end whatever of it is left."""
        with contextlib.suppress(OSError, psutil.Error):
            self.tree()
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process.stdout.close()
        # A SIGKILLed Pulse's head leaves Ray's own agents a minute (Ray's): not the test's to wait for.
        for proc in self._seen:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        assert wait_ended(self._seen, timeout=10.0) == []


@pytest.fixture
def own_head_pulse(tmp_path: Path) -> Iterator[OwnHeadPulse]:
    ray_tmp = tempfile.mkdtemp(prefix="pulse-ray-")  # short: Ray's socket paths must fit in 107 bytes
    pulse = None
    try:
        pulse = OwnHeadPulse(tmp_path, ray_tmp)
        yield pulse
    finally:
        if pulse is not None:
            pulse.end()
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _runs(pulse: subprocess.Popen[bytes], names: tuple[str, ...]) -> list[psutil.Process]:
    """Return the worker processes under ``pulse`` named ``names``, by their title (pulse: NAME (target))."""
    found = []
    for proc in psutil.Process(pulse.pid).children(recursive=True):
        if " ".join(_cmdline(proc)).startswith(tuple(f"pulse: {name} (" for name in names)):
            found.append(proc)
    return found


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:  # ended meanwhile (Ray starts and ends workers of its own)
        return []


def _is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1, an IPv6 socket's view of 127.0.0.1
    return (mapped or address).is_loopback


def _environment(proc: psutil.Process) -> bytes:
    """Return the environment ``proc`` started with, as the kernel keeps it (/proc/<pid>/environ)."""
    return Path(f"/proc/{proc.pid}/environ").read_bytes()


@pytest.mark.timeout(180)
def test_its_head_listens_on_loopback_alone_and_its_token_stays_with_ray(own_head_pulse):
    tree = own_head_pulse.tree()
    listening = []
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            listening += [(proc.name(), c.laddr) for c in proc.net_connections("inet") if c.status == "LISTEN"]
    # The GCS, the raylet's two, each Ray worker's and Pulse's own (the driver's) at least.
    assert len(listening) >= 6, listening
    assert [(name, addr) for name, addr in listening if not _is_loopback(addr.ip)] == []
    # Its dashboard is off: Ray still runs the dashboard's process, without its UI.
    dashboards = [c for c in map(_cmdline, tree) if any(arg.endswith("/dashboard/dashboard.py") for arg in c)]
    assert all("--disable-frontend" in cmdline for cmdline in dashboards), dashboards
    assert own_head_pulse.ray_variables == []  # the token left Pulse's environment once its head had started
    workers = _runs(own_head_pulse.process, ("r1", "r2", "during", "after"))
    assert len(workers) == 4, workers
    assert [w.cmdline()[0] for w in workers if b"RAY_AUTH_TOKEN=" in _environment(w)] == []
    gcs = [p for p in tree if _cmdline(p)[:1] and _cmdline(p)[0].endswith("/gcs_server")]
    assert gcs and b"RAY_AUTH_TOKEN=" in _environment(gcs[0])  # where Ray needs it, it is


@pytest.mark.timeout(180)
def test_its_ray_workers_end_within_two_seconds_of_a_sigkilled_pulse(own_head_pulse):
    """As local workers do (test_orphans): the agents watch Pulse (0.05 s), rather than wait for Ray to
    notice the head is gone. Ray's own way took 1.8-1.9 s here, and a minute in runs reported before:
    the bound is the promise, not a proof of the watch (test_driver_watch is that)."""
    workers = _runs(own_head_pulse.process, RAY_WORKERS)
    assert len(workers) == len(RAY_WORKERS), workers
    own_head_pulse.sigkill()
    killed = time.monotonic()
    left = wait_ended(workers, timeout=10.0)
    took = time.monotonic() - killed
    assert left == [], f"Ray workers alive 10 s after Pulse was SIGKILLed: {left}"
    assert took < 2.0, f"the Ray workers took {took:.1f} s to end"
