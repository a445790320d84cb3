"""Pulse's own forkserver, apart from multiprocessing's global one, so it is always the guarded one.

The no-orphan guarantee needs the workers' parent to be a subreaper that ends what a dying worker
leaves behind (`worker_tree`); the forkserver becomes one through its preload. multiprocessing
keeps one global forkserver per process, started by whoever uses it first: an app (or a test)
that ran its own forkserver pool before creating a `Supervisor` would leave Pulse's workers under
a server without the guard, and their orphans free. So Pulse starts a server of its own: the same
`multiprocessing.forkserver` code, in an instance of its own, reached by a `Process` subclass whose
launch asks that instance instead of the global one.

A launch here also costs Pulse's process one descriptor per worker (the sentinel), where
multiprocessing's keeps two, and never leaves the server with half a request (see `_connect`).
"""

from __future__ import annotations

import io
import os
import socket
import threading
from multiprocessing import context, forkserver, popen_forkserver, reduction, resource_tracker, spawn, util
from typing import Any

from pulse_supervisor.core.processes import thread_affinity

_server = forkserver.ForkServer()
_preload_lock = threading.Lock()


def _pidfd_works() -> bool:
    """Return whether this kernel gives pidfds (Linux 5.3 and later), which workers use to watch Pulse."""
    try:
        fd = os.pidfd_open(os.getpid())
    except (AttributeError, OSError):
        return False
    os.close(fd)
    return True


# multiprocessing keeps a copy of each child's data pipe open for the child's
# ``multiprocessing.parent_process()`` (its sentinel ends with the parent): a descriptor per worker
# that nothing of Pulse's reads. Where pidfds exist, the worker watches Pulse with one of its own
# instead (`inherited_fds.release`), and Pulse keeps no copy.
KEEP_PARENT_PIPE = not _pidfd_works()


def set_preload(modules: list[str]) -> None:
    """Modules the server imports once, before it forks any worker (takes effect at its start)."""
    with _preload_lock:
        _server.set_forkserver_preload(modules)


def ensure_running() -> None:
    """Start the server now, unless it runs (a launch starts it otherwise, at the first worker)."""
    with thread_affinity.unpinned():  # its workers fork from it: they would inherit a pin
        _server.ensure_running()


def server_pid() -> int | None:
    """Return the pid of Pulse's forkserver, if it runs."""
    return getattr(_server, "_forkserver_pid", None)


def _connect(fds: list[int]) -> tuple[int, int]:
    """Ask the server for a child that inherits ``fds``; return (its status pipe, its data pipe).

    `forkserver.ForkServer.connect_to_new_process`, in another order: every descriptor this end
    needs is made before it connects. There, a process out of descriptors connected, then failed
    to make its pipes and hung up; the server took the empty request for an error and exited,
    and every worker it had forked died with it. Here a launch that runs out fails before the
    server hears of it.
    """
    ensure_running()
    if len(fds) + 4 >= forkserver.MAXFDS_TO_SEND:
        raise ValueError("too many fds")
    tracker_fd = resource_tracker.getfd()  # may start the tracker: before we connect, too
    assert tracker_fd is not None  # getfd() starts it if need be
    made: list[int] = []
    try:
        parent_r, child_w = os.pipe()
        made += (parent_r, child_w)
        child_r, parent_w = os.pipe()
        made += (child_r, parent_w)
        server: Any = _server  # its state is private: typeshed declares none of it
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(server._forkserver_address)
            reduction.sendfds(client, [child_r, child_w, server._forkserver_alive_fd, tracker_fd, *fds])
    except BaseException:
        for fd in made:
            os.close(fd)
        raise
    os.close(child_r)
    os.close(child_w)
    return parent_r, parent_w


class _Popen(popen_forkserver.Popen):
    """`popen_forkserver.Popen`, launching through Pulse's server instead of the global one."""

    _fds: list[int]  # set by popen_forkserver.Popen.__init__; typeshed does not declare it

    def _launch(self, process_obj: Any) -> None:
        # The body of popen_forkserver.Popen._launch (CPython 3.11-3.13), but for `_server`.
        prep_data = spawn.get_preparation_data(process_obj._name)
        if getattr(process_obj, "_pulse_skip_main", False):  # a job that needs nothing of the main script
            prep_data.pop("init_main_from_path", None)
            prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = _connect(self._fds)
        kept = [self.sentinel]
        if KEEP_PARENT_PIPE:
            try:
                kept.append(os.dup(w))  # the child's sentinel of its parent, as multiprocessing keeps it
            except OSError:
                os.close(w)  # the child reads end of file and exits: no half-started worker
                os.close(self.sentinel)
                raise
        # util.close_fds exists at runtime (CPython 3.11-3.13) but typeshed does not declare it.
        self.finalizer = util.Finalize(self, util.close_fds, tuple(kept))  # type: ignore[attr-defined]
        try:
            with open(w, "wb", closefd=True) as f:
                f.write(buf.getbuffer())
            self.pid = forkserver.read_signed(self.sentinel)
        except (BrokenPipeError, EOFError) as exc:  # it closed the request's pipes: dropped (forkserver_guard)
            raise RuntimeError("Pulse's forkserver did not take this start whole (out of descriptors?)") from exc


class PulseForkServerProcess(context.ForkServerProcess):
    """A forkserver `Process` started by Pulse's own server."""

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:  # noqa: N802 - multiprocessing's name
        return _Popen(process_obj)
