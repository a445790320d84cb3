"""ProcStats: CPU % and RSS of real processes, against psutil, with a fake clock for the interval."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from pulse_supervisor.core.processes.proc_stats import ProcStats

# Says it is up, waits for a line on stdin, burns 0.3 s of its own CPU time, says so, waits for EOF.
_BURNER = (
    "import sys, time\n"
    "print('up', flush=True)\n"
    "sys.stdin.readline()\n"
    "t = time.process_time()\n"
    "while time.process_time() - t < 0.3: pass\n"
    "print('burnt', flush=True)\n"
    "sys.stdin.read()\n"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def burner():
    proc = subprocess.Popen([sys.executable, "-c", _BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "up\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        for f in (proc.stdin, proc.stdout):
            f.close()


def test_cpu_percent_is_cpu_time_over_the_clock_interval(burner):
    clock = FakeClock()
    stats = ProcStats(clock)
    try:
        first_cpu, first_rss = stats.sample([burner.pid])[burner.pid]
        assert first_cpu is None  # nothing to compare with yet
        assert first_rss and first_rss > 1_000_000
        burner.stdin.write("go\n")
        burner.stdin.flush()
        assert burner.stdout.readline() == "burnt\n"
        clock.now += 1.0
        cpu, rss = stats.sample([burner.pid])[burner.pid]
        # It burnt >= 0.3 s of CPU in the "1 s" the fake clock says passed; /proc counts in 10 ms ticks.
        assert cpu is not None and 25.0 <= cpu < 100.0
        assert abs(rss - psutil.Process(burner.pid).memory_info().rss) < 1_000_000
    finally:
        stats.close()


def stat_files_open() -> set[str]:
    """The /proc/<pid>/stat files this process holds open (other fds may come and go meanwhile)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/proc/") and target.endswith("/stat"):
            found.add(target)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="the /proc fast path is Linux's")
def test_gone_processes_read_as_none_and_their_files_are_closed(burner):
    stats = ProcStats(FakeClock())
    stats.sample([burner.pid, os.getpid()])
    assert {f"/proc/{burner.pid}/stat", f"/proc/{os.getpid()}/stat"} <= stat_files_open()
    burner.kill()
    burner.wait()
    result = stats.sample([burner.pid, os.getpid()])
    assert result[burner.pid] == (None, None)
    assert f"/proc/{burner.pid}/stat" not in stat_files_open()  # closed as soon as it read as gone
    assert result[os.getpid()][1] > 0
    stats.sample([])  # forgets this process too
    assert f"/proc/{os.getpid()}/stat" not in stat_files_open()


def test_a_pid_that_never_existed_reads_as_none():
    stats = ProcStats(FakeClock())
    pid = 2**22 + 12345  # above the default pid_max
    assert stats.sample([pid]) == {pid: (None, None)}
    stats.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="the /proc fast path is Linux's")
def test_past_max_open_a_process_is_read_without_keeping_its_file(burner):
    clock = FakeClock()
    stats = ProcStats(clock, max_open=1)
    try:
        stats.sample([os.getpid()])  # keeps this one's file
        first = stats.sample([os.getpid(), burner.pid])
        assert f"/proc/{burner.pid}/stat" not in stat_files_open() and first[burner.pid][1] > 1_000_000
        burner.stdin.write("go\n")
        burner.stdin.flush()
        assert burner.stdout.readline() == "burnt\n"
        clock.now += 1.0
        cpu, _rss = stats.sample([os.getpid(), burner.pid])[burner.pid]
        assert cpu is not None and 25.0 <= cpu < 100.0  # read afresh each time, measured the same
        assert stat_files_open() == {f"/proc/{os.getpid()}/stat"}
    finally:
        stats.close()
