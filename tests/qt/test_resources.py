"""A window's whole life leaves nothing behind: file descriptors, threads, processes."""

from __future__ import annotations

import os
import threading

import psutil

from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, spec


def lifecycle(qtbot, make_window):
    w = make_window(config(spec("a", "pulse_supervisor.producers:counter", kwargs={"rate": 100.0})), autostart=True)
    qtbot.waitUntil(lambda: w.model.row("a").state is State.RUNNING, timeout=10_000)
    w.select("a")
    w.worker_actions.restart.trigger()
    qtbot.waitUntil(lambda: w.model.row("a").status.restarts == 0 and w.model.row("a").pid is not None, timeout=10_000)
    with qtbot.waitSignal(w.supervisor.finished, timeout=10_000):
        w.close()
    assert w.supervisor.close(timeout=5)  # joins the thread
    w.close()  # the second close, after the thread ended, really closes and releases


def test_closing_the_window_leaks_no_fds_or_threads(qtbot, make_window):
    me = psutil.Process()
    lifecycle(qtbot, make_window)  # warm-up: the forkserver's own pipe stays for the session
    fds, threads = me.num_fds(), threading.active_count()
    lifecycle(qtbot, make_window)
    assert me.num_fds() == fds
    assert threading.active_count() == threads


def open_files() -> list[str]:
    """What this process's descriptors point at, but the table's kept-open /proc/<pid>/stat files
    (one per live worker, each closed at the first refresh after its process is gone)."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the listing's own descriptor, closed by now
            continue
    return sorted(link for link in links if not link.startswith("/proc/"))


def test_200_start_kill_cycles_leave_fds_threads_and_memory_flat(qtbot, make_window):
    w = make_window(config(spec("a", "tests.workers:flat_out", start_secs=0.0)))
    me = psutil.Process()
    w.select("a")

    def cycle() -> None:
        w.worker_actions.start.trigger()
        qtbot.waitUntil(
            lambda: w.model.row("a").state is State.RUNNING and w.model.row("a").received > 0, timeout=10_000
        )
        w.worker_actions.kill.trigger()
        qtbot.waitUntil(lambda: w.model.row("a").state is State.STOPPED, timeout=10_000)

    for _ in range(20):  # warm-up: caches, the forkserver, the first allocations
        cycle()
    fds, threads, rss = open_files(), threading.active_count(), me.memory_info().rss
    for _ in range(180):
        cycle()
    assert open_files() == fds
    assert threading.active_count() == threads
    assert me.memory_info().rss - rss < 16 * 1024 * 1024  # flat: no growth per cycle (180 cycles)
