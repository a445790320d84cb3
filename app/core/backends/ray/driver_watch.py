"""An agent's watch on the Pulse whose head it runs under: its run ends as Pulse dies, not when Ray notices."""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Callable

import psutil

_SAME_START = 0.01  # s: two readings of one process's start time (psutil's, from /proc) agree to this


def end_with(driver: tuple[int, float], orphaned: Callable[[], None]) -> bool:
    """Call ``orphaned`` on a thread of its own the moment ``driver`` (pid, start time) ends; return whether it will.

    Watched only when ``driver`` is an ancestor of this process, which makes it this machine's
    process in this pid namespace: a head of Pulse's own (started by Pulse's process, or by an
    app's own ``ray.init`` in it) whose processes, Ray workers included, descend from Pulse. Its
    runs would otherwise outlive Pulse until the agent's Ray notices its raylet is gone (seen:
    ~2 s, and a minute). An outside cluster's agent is no descendant of Pulse: Ray ends a dead
    driver's actors there.

    The wait is on a pidfd, readable the moment the process exits: an event, no polling.
    """
    pid, started = driver
    try:
        fd = os.pidfd_open(pid)
    except OSError:  # gone already (and reaped), or no pidfds here: Ray's own watch is what is left
        return False
    try:
        ancestors = psutil.Process().parents()
        if not any(p.pid == pid and abs(p.create_time() - started) < _SAME_START for p in ancestors):
            os.close(fd)
            return False
    except psutil.Error:  # our lineage changed as we read it: its head is going, and Ray's watch ends us
        os.close(fd)
        return False

    def watch() -> None:
        ended = select.poll()  # not select(): it refuses descriptors past 1023
        ended.register(fd, select.POLLIN)
        with contextlib.suppress(OSError):
            ended.poll()
        os.close(fd)
        orphaned()

    threading.Thread(target=watch, name="pulse-driver-watch", daemon=True).start()
    return True
