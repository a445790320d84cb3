"""Pulse's own forkserver, apart from multiprocessing's global one, so it is always the guarded one.

The no-orphan guarantee needs the workers' parent to be a subreaper that ends what a dying worker
leaves behind (`worker_tree`); the forkserver becomes one through its preload. multiprocessing
keeps one global forkserver per process, started by whoever uses it first: an app (or a test)
that ran its own forkserver pool before creating a `Supervisor` would leave Pulse's workers under
a server without the guard, and their orphans free. So Pulse starts a server of its own: the same
`multiprocessing.forkserver` code, in an instance of its own, reached by a `Process` subclass whose
launch asks that instance instead of the global one.
"""

from __future__ import annotations

import io
import os
import threading
from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util
from typing import Any

_server = forkserver.ForkServer()
_preload_lock = threading.Lock()


def set_preload(modules: list[str]) -> None:
    """Modules the server imports once, before it forks any worker (takes effect at its start)."""
    with _preload_lock:
        _server.set_forkserver_preload(modules)


def ensure_running() -> None:
    """Start the server now, unless it runs (a launch starts it otherwise, at the first worker)."""
    _server.ensure_running()


def server_pid() -> int | None:
    """Return the pid of Pulse's forkserver, if it runs."""
    return getattr(_server, "_forkserver_pid", None)


class _Popen(popen_forkserver.Popen):
    """`popen_forkserver.Popen`, launching through Pulse's server instead of the global one."""

    _fds: list[int]  # set by popen_forkserver.Popen.__init__; typeshed does not declare it

    def _launch(self, process_obj: Any) -> None:
        # The body of popen_forkserver.Popen._launch (CPython 3.11-3.13), but for `_server`.
        prep_data = spawn.get_preparation_data(process_obj._name)
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = _server.connect_to_new_process(self._fds)
        parent_w = os.dup(w)  # the child's sentinel of its parent, as multiprocessing keeps it
        # util.close_fds exists at runtime (CPython 3.11-3.13) but typeshed does not declare it.
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class PulseForkServerProcess(context.ForkServerProcess):
    """A forkserver `Process` started by Pulse's own server."""

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:  # noqa: N802 - multiprocessing's name
        return _Popen(process_obj)
