"""QtSupervisor(share_cpu=True), as the window makes it: its consumer on the GUI thread's CPU, its workers free."""

from __future__ import annotations

import os
import threading

import pytest

from pulse_supervisor.core.processes.thread_affinity import PROCESS_CPUS
from pulse_supervisor.core.supervision.policy import State

pytestmark = pytest.mark.skipif(len(PROCESS_CPUS) < 2, reason="needs two CPUs and per-thread affinity (Linux)")


def _consumer_cpus(pool):
    """Return the CPUs the pool's consumer thread may run on (found by its thread id in /proc)."""
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/comm") as f:
            if f.read().strip() == "Consumer" and int(tid) != threading.get_native_id():
                return os.sched_getaffinity(int(tid))
    return None


def test_the_window_shares_its_gui_threads_cpu_with_the_consumer_but_never_with_a_worker(qtbot, make_pool):
    pool = make_pool(share_cpu=True)
    qtbot.waitUntil(lambda: len(os.sched_getaffinity(0)) == 1, timeout=10_000)  # the consumer has started
    (cpu,) = os.sched_getaffinity(0)
    assert _consumer_cpus(pool) == {cpu}
    with qtbot.waitSignal(pool.items, timeout=10_000):
        pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 100})
    qtbot.waitUntil(lambda: pool.state("tick") is State.RUNNING, timeout=10_000)
    assert os.sched_getaffinity(pool.supervisor.record("tick").pid) == PROCESS_CPUS
    pool.close(timeout=10.0)
    assert os.sched_getaffinity(0) == PROCESS_CPUS  # the GUI thread's CPUs given back


def test_a_library_supervisor_leaves_the_gui_thread_free(qtbot, make_pool):
    pool = make_pool()
    with qtbot.waitSignal(pool.items, timeout=10_000):
        pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 100})
    assert os.sched_getaffinity(0) == PROCESS_CPUS
    assert _consumer_cpus(pool) == PROCESS_CPUS
