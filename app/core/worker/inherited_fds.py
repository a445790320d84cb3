"""A worker closes the descriptors it inherited and does not own, so nothing it leaves behind holds them."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from multiprocessing import forkserver, resource_tracker
from typing import Any

from pulse_supervisor.core.worker import pulse_forkserver

_FD_DIRS = ("/proc/self/fd", "/dev/fd")  # Linux, then macOS and the BSDs
_FALLBACK_MAX_FD = 65536


def release() -> None:
    """Close the inherited descriptors this worker does not own; call it first thing in the worker.

    A forkserver child starts with the forkserver's descriptors besides its own: the write end
    of the "Pulse is alive" pipe, which the forkserver reads to learn that Pulse exited, and
    whatever the server itself held. A descendant that escapes every sweep (``setsid``, a
    cleared environment, a double fork, then its worker killed) inherited them all: it kept the
    forkserver waiting for an EOF that never came, and the forkserver held Pulse's stdout.

    Kept: 0, 1 and 2 (pointed at the worker's pipes next), what ``sys.stdin`` reads, the pipes
    the supervisor passed (with any descriptor the target's kwargs carry: multiprocessing passes
    those the same way), what tells the worker its parent died (`_watch_parent`), and the
    resource tracker's pipe. That tracker is Pulse's, and the worker's too: a ``Pool`` or
    ``shared_memory`` in the worker registers with it, so that what a killed worker leaks is
    still cleaned up when Pulse ends. An escapee holding it keeps the tracker up, which holds
    nothing of Pulse's (`helper_stdio`), until the forkserver, seeing Pulse's end, ends the
    escapee (`worker_tree.guard_forkserver`).

    Under ``spawn`` a child inherits only what was passed: nothing to close. Under ``fork`` it
    inherits all of Pulse's descriptors, among them the pipe whose end tells Pulse of the
    worker's death, which nothing names: there only the forkservers' alive pipes are closed.
    """
    _forget_forkservers()
    inherited = forkserver._forkserver.get_inherited_fds()
    if inherited is None:  # not a forkserver child: spawn passed only ours; fork, see above
        return
    keep = {0, 1, 2, *inherited, *_std_fds()}
    tracker: Any = resource_tracker._resource_tracker  # typeshed declares none of its state
    tracker_fd = tracker._fd
    if tracker_fd is not None:
        keep.add(tracker_fd)
    parent = _watch_parent()
    if parent is not None:
        keep.add(parent)
    for fd in _open_fds():
        if fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed already
                os.close(fd)


def _watch_parent() -> int | None:
    """Make ``multiprocessing.parent_process()`` watch Pulse with a pidfd; return its sentinel.

    Its sentinel is a copy of the pipe the worker's start came down, which ends when Pulse
    closes the other end: Pulse would keep a copy of that end per worker (`pulse_forkserver`)
    for no use of its own. Where pidfds exist it keeps none, and ``is_alive()`` and ``join()``
    wait on Pulse's pidfd instead, ready when Pulse ends. Pulse's pid cannot have been reused
    meanwhile: Pulse was alive a moment ago, when it sent this worker its start.
    """
    parent: Any = multiprocessing.parent_process()  # typeshed declares none of its state
    if parent is None:
        return None
    if pulse_forkserver.KEEP_PARENT_PIPE or parent.pid is None:
        return int(parent.sentinel)
    try:
        pidfd = os.pidfd_open(parent.pid)
    except OSError:  # Pulse has gone already: its end of the pipe has too, which reads as gone
        return int(parent.sentinel)
    parent._sentinel = pidfd  # the old one, a pipe at end of file, is closed with the rest
    return pidfd


def _forget_forkservers() -> None:
    """Close the alive pipes of the forkservers this process knows of, and forget those servers.

    Forgotten, a server is started afresh if the worker asks for one (its own forkserver pool),
    as multiprocessing does in any forkserver child anyway.
    """
    servers: list[Any] = [forkserver._forkserver]  # their state is private: typeshed has none of it
    ours = sys.modules.get("pulse_supervisor.core.worker.pulse_forkserver")  # imported in Pulse: a fork child has it
    if ours is not None:
        servers.append(ours._server)
    for server in servers:
        fd = server._forkserver_alive_fd
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        server._forkserver_alive_fd = None
        server._forkserver_pid = None
        server._forkserver_address = None


def _std_fds() -> set[int]:
    """Return the descriptors of the standard streams (multiprocessing reopened stdin on /dev/null, above 2)."""
    fds = set()
    for stream in (sys.stdin, sys.__stdin__, sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            fds.add(stream.fileno())  # type: ignore[union-attr]
    return fds


def _open_fds() -> list[int]:
    """Return this process's open descriptors (every possible one where the OS cannot list them)."""
    for path in _FD_DIRS:
        with contextlib.suppress(OSError):
            return [int(name) for name in os.listdir(path)]
    limit = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else _FALLBACK_MAX_FD
    return list(range(3, min(limit, _FALLBACK_MAX_FD)))
