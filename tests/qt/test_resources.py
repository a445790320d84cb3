"""A window's whole life leaves nothing behind: file descriptors, threads, processes."""

from __future__ import annotations

import threading

import psutil

from app.core.policy import State
from tests.helpers import config, spec


def lifecycle(qtbot, make_window):
    w = make_window(config(spec("a", "app.producers:counter", kwargs={"rate": 100.0})), autostart=True)
    qtbot.waitUntil(lambda: w.model.row("a").state is State.RUNNING, timeout=10_000)
    w.select("a")
    w.actions.restart.trigger()
    qtbot.waitUntil(lambda: w.model.row("a").restarts == 0 and w.model.row("a").pid is not None, timeout=10_000)
    with qtbot.waitSignal(w.consumer.finished, timeout=10_000):
        w.close()
    assert w.consumer.wait(5000)
    w.close()  # the second close, after the thread ended, really closes and releases


def test_closing_the_window_leaks_no_fds_or_threads(qtbot, make_window):
    me = psutil.Process()
    lifecycle(qtbot, make_window)  # warm-up: the forkserver's own pipe stays for the session
    fds, threads = me.num_fds(), threading.active_count()
    lifecycle(qtbot, make_window)
    assert me.num_fds() == fds
    assert threading.active_count() == threads
