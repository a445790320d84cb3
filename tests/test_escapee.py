"""A worker lets go of what it inherited from Pulse's helpers and keeps what it was given; pipelines end with Pulse."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.core.test_headless import LineReader
from tests.helpers import config, items_of, poll_until, spec, wait_ended

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
[[worker]]
name = "escaper"
target = "tests.workers:escapee"
restart = "never"
start_secs = 0.1
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


class Run:
    """``main.py --headless`` on the escaper, its stdout read here as ``| cat`` would."""

    def __init__(self, tmp_path: Path, start_method: str, stderr: int | None = None) -> None:
        cfg = tmp_path / "pulse.toml"
        cfg.write_text(CONFIG)
        args = [sys.executable, "main.py", "--headless", "--config", str(cfg), "--start-method", start_method]
        with open(tmp_path / "stderr.txt", "wb") as err:
            self.pulse = subprocess.Popen(
                [*args, "--duration", "60"], cwd=ROOT, stdout=subprocess.PIPE, stderr=err if stderr is None else stderr
            )
        assert self.pulse.stdout is not None
        self.reader = LineReader(self.pulse.stdout)
        self.others: list[psutil.Process] = []

    def wait_for_the_escapee(self) -> tuple[psutil.Process, psutil.Process, list[psutil.Process]]:
        """Return the worker, its escaped descendant, and Pulse's helpers, all running."""
        deadline = time.monotonic() + 60
        worker = None
        while (line := self.reader.next_line(deadline)) is not None:
            record = json.loads(line)
            if record["type"] == "state" and record["pid"]:
                worker = psutil.Process(record["pid"])
            if record["type"] == "item":
                escapee = psutil.Process(record["data"])
                helpers = psutil.Process(self.pulse.pid).children()  # the forkserver, the resource tracker
                self.others = [escapee, *helpers]
                assert worker is not None and helpers
                return worker, escapee, helpers
        raise AssertionError("the worker sent no item")

    def close(self) -> None:
        if self.pulse.poll() is None:
            self.pulse.kill()
            self.pulse.wait(timeout=10)
        for stream in (self.pulse.stdout, self.pulse.stderr):
            if stream is not None:
                stream.close()
        for p in self.others:  # should they have outlived the test: the escapee first
            with contextlib.suppress(psutil.Error):
                p.kill()
        wait_ended(self.others, timeout=10.0)


def _read_ends(pid: int) -> set[str]:
    """Return the pipes ``pid`` holds open for reading, past its stdin, stdout and stderr."""
    found = set()
    for fd in [fd for fd in os.listdir(f"/proc/{pid}/fd") if int(fd) > 2]:
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            flags = Path(f"/proc/{pid}/fdinfo/{fd}").read_text().split("flags:")[1].split()[0]
            if target.startswith("pipe:") and int(flags, 8) & os.O_ACCMODE == os.O_RDONLY:
                found.add(target)
    return found


def _pipes(pid: int) -> set[str]:
    """Return what each descriptor of ``pid`` points at (``pipe:[123]``, paths)."""
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return found


def _pipe_of(fd: int) -> str:
    return f"pipe:[{os.fstat(fd).st_ino}]"


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_no_helper_or_escapee_holds_pulses_stdout_or_the_alive_pipe(tmp_path, start_method):
    run = Run(tmp_path, start_method, stderr=subprocess.PIPE)
    try:
        worker, escapee, helpers = run.wait_for_the_escapee()
        assert run.pulse.stderr is not None
        pulses = {_pipe_of(run.pulse.stdout.fileno()), _pipe_of(run.pulse.stderr.fileno())}
        for p in [*helpers, worker, escapee]:
            assert not pulses & _pipes(p.pid), p.cmdline()
        servers = [p for p in helpers if " ".join(p.cmdline()).strip() == "pulse: forkserver"]  # its title
        assert len(servers) == (start_method == "forkserver")
        for server in servers:  # its "Pulse is alive" pipe: the one it reads of those Pulse holds (the write end)
            (alive,) = _read_ends(server.pid) & _pipes(run.pulse.pid)
            assert alive not in _pipes(worker.pid) | _pipes(escapee.pid)
        run.pulse.send_signal(signal.SIGTERM)
        assert run.pulse.wait(timeout=30) == 0
        run.reader.rest(time.monotonic() + 10.0)  # EOF
        assert wait_ended([escapee, *helpers], timeout=10.0) == []
    finally:
        run.close()


def test_a_headless_pipeline_ends_with_pulse_though_an_escapee_lives(tmp_path):
    """``pulse --headless | cat`` sees EOF when Pulse exits, and Pulse's forkserver and tracker end.

    The worker leaves a descendant that escaped every sweep, then is SIGKILLed from outside (as
    the OOM killer would); Pulse, with nothing left to run, exits normally. The forkserver, no
    longer kept up by the escapee, sees Pulse's end and ends the escapee with it.
    """
    run = Run(tmp_path, "forkserver")
    try:
        worker, escapee, helpers = run.wait_for_the_escapee()
        worker.kill()
        assert run.pulse.wait(timeout=30) == 0
        rest = run.reader.rest(time.monotonic() + 10.0)  # EOF, promptly
        exits = [r for r in map(json.loads, rest) if r["type"] == "exit"]
        assert [(r["exitcode"], r["signal"]) for r in exits] == [(None, signal.SIGKILL)]
        assert wait_ended([escapee, *helpers], timeout=10.0) == []
    finally:
        run.close()


def test_a_descriptor_the_kwargs_carry_is_the_workers_own(make_supervisor):
    """multiprocessing passes it as it passes the worker's pipes: the clean-up keeps it."""
    r, w = multiprocessing.Pipe(duplex=False)
    with r, w:
        sup = make_supervisor(config(spec("sender", "tests.workers:send_on", kwargs={"conn": w})))
        sup.start("sender")
        poll_until(sup, lambda evs: bool(items_of(evs, "sender")), timeout=30.0)
        assert r.poll(10.0)
        assert r.recv_bytes() == b"through a pipe in the kwargs"
