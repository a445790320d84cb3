"""A Ray head of Pulse's own (``ray_address = "local"``): listening on loopback only, its token held by Ray alone."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterator

import psutil

from pulse_supervisor.core.backends.ray.ray_import import ray_module
from pulse_supervisor.core.processes import worker_tree

TOKEN_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")  # where Ray's processes read a head's token


def new_token() -> str | None:
    """Return a token for a new head of Pulse's own, or None to leave authentication to Ray.

    None when the environment already says how Ray authenticates (``RAY_AUTH_MODE``: the
    user's choice), or Ray was imported before (it read the mode then, so Ray's default for a
    new head applies: a token file written to ~/.ray, and a warning).
    """
    if "ray" in sys.modules or "RAY_AUTH_MODE" in os.environ:
        return None
    return secrets.token_hex(32)


@contextlib.contextmanager
def starting(token: str | None) -> Iterator[None]:
    """Hold what a new head needs while it starts: import Ray and ``ray.init`` inside, nothing else.

    - ``token`` is in this process's environment meanwhile, where Ray reads it: here at import
      and ``ray.init``, and in each head process started then (the GCS and the raylet copy the
      environment, and the raylet gives it to every Ray worker it starts later). Nothing here
      reads it afterwards, so it leaves: what Pulse starts later (local workers, their
      forkserver, target checks) never inherits it.
    - Ray takes this machine for a node on its own (``ENABLE_RAY_CLUSTER`` off, as Ray sets it
      on macOS and Windows): the node's address is then 127.0.0.1, and Ray binds every listener
      of the head to it (GCS, raylet, object manager, its agents, each worker and this driver)
      instead of every interface. Only ``ray.init`` here asks; the head's processes are told
      the address.
    """
    if token is not None:
        os.environ.update(zip(TOKEN_VARIABLES, ("token", token), strict=True))
    try:
        from ray._private import ray_constants  # after the token: Ray reads the mode as it is imported

        clustered = ray_constants.ENABLE_RAY_CLUSTER
        ray_constants.ENABLE_RAY_CLUSTER = False
        try:
            yield
        finally:
            ray_constants.ENABLE_RAY_CLUSTER = clustered
    finally:
        if token is not None:
            for name in TOKEN_VARIABLES:
                os.environ.pop(name, None)


def shutdown_own_head(token: str | None = None) -> None:
    """Shut down the Ray head this process started, and end the Ray processes that outlive it.

    ``ray.shutdown`` ends the head's core processes, but its dashboard and runtime-env agents
    linger a minute after their raylet is gone (seen with Ray 2.60): Pulse leaves nothing.
    ``token`` is the head's (default: the environment's), which finds agents started late.
    """
    ours = [p for p in psutil.Process().children(recursive=True) if _is_rays(p)]
    ray_module().shutdown()
    left = set(worker_tree.wait_ended(ours, timeout=2.0))
    # The raylet restarts an agent that dies: it goes first, then what it started.
    core = [p for p in ours if p.pid in left and _name(p) in ("raylet", "gcs_server")]
    worker_tree.kill_all(core)
    worker_tree.wait_ended(core, timeout=2.0)
    worker_tree.kill_all([p for p in ours if p.pid in left])
    # The raylet may start those agents after the listing above (late on a loaded machine): they
    # carry the head's token. Looked for until three looks 0.3 s apart find none (5 s at most).
    token = token or os.environ.get("RAY_AUTH_TOKEN")
    deadline, clear = time.monotonic() + 5.0, 0
    while token and clear < 3 and time.monotonic() < deadline:
        late = [p for p in psutil.process_iter() if p.pid != os.getpid() and _carries(p, token)]
        clear = 0 if late else clear + 1
        if late:
            worker_tree.kill_all(late)
            worker_tree.wait_ended(late, timeout=0.3)
        else:
            time.sleep(0.3)


def _is_rays(proc: psutil.Process) -> bool:
    """Return whether ``proc`` is one of Ray's own processes (its head's, its workers')."""
    try:
        cmdline = " ".join(proc.cmdline())
    except psutil.Error:
        return False
    return "ray::" in cmdline or f"{os.sep}ray{os.sep}" in cmdline


def _carries(proc: psutil.Process, token: str) -> bool:
    """Return whether ``proc`` is a Ray process of the head whose token is ``token``."""
    try:
        return _is_rays(proc) and proc.environ().get("RAY_AUTH_TOKEN") == token
    except psutil.Error:
        return False


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""
