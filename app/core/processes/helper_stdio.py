"""Pulse's helper processes (its forkserver, the resource tracker) keep no pipe of Pulse's stdout or stderr open."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
from multiprocessing import resource_tracker, spawn, util
from typing import Any

# The tracker must not die of a Ctrl-C meant for Pulse before it ignores the signal itself, nor of
# the SIGHUP of a closed terminal at all (it never unblocks that one): the workers still use it
# while Pulse stops them.
_TRACKER_BLOCKS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
TRACKER_TITLE = "pulse: resource tracker"
# What the tracker runs: multiprocessing's own line, after a title for ps and htop (Pulse's own
# tracker only; one the app started itself keeps Python's command line).
_TRACKER_CODE = (
    "try:\n import setproctitle\nexcept ImportError:\n pass\n"
    f"else:\n setproctitle.setproctitle({TRACKER_TITLE!r})\n"
    "from multiprocessing.resource_tracker import main;main({fd})"
)


class _Unwaited(subprocess.Popen[bytes]):
    """A process that outlives its Popen by design: no "still running" warning, no reaping.

    multiprocessing waits for its tracker itself, if ever (when asked to stop it); a reaping
    behind its back would leave it waiting for a pid that is gone.
    """

    def __del__(self) -> None:
        pass


def stderr_is_awaited(fd: int = 2) -> bool:
    """Return whether ``fd`` is a pipe or a socket: something that reads it waits for its end.

    A terminal or a file has no end to wait for, so a helper may keep writing there: its rare
    words (a worker that failed before Pulse's bootstrap ran, leaked semaphores) stay visible.
    """
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def detach_from_pulse() -> None:
    """In a helper: point stdout at /dev/null, and stderr too when something awaits its end.

    Without this a helper held Pulse's stdout for as long as it lived, and could outlive Pulse
    (a worker's escaped descendant kept it up): ``pulse --headless | cat`` never saw EOF.
    Nothing a helper prints belongs in Pulse's stdout anyway, which is JSON lines headless.
    """
    for fd in (1, 2) if stderr_is_awaited() else (1,):
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)


def start_resource_tracker() -> None:
    """Start this process's multiprocessing resource tracker, unless one runs, detached from Pulse.

    multiprocessing starts the tracker on first use with Pulse's stdout and stderr, and it lives
    until every holder of its pipe has exited: every worker, and whatever they left behind. So
    Pulse starts it first, the same way but with its output elsewhere (`detach_from_pulse`).
    A tracker the app itself started earlier is left as it is.
    """
    if sys.platform == "win32":  # no tracker there: Windows frees what a dead process held
        return
    tracker: Any = resource_tracker._resource_tracker  # typeshed declares none of its state
    with tracker._lock:
        if tracker._fd is not None:
            return
        r, w = os.pipe()
        try:
            exe = spawn.get_executable()
            args = [exe, *util._args_from_interpreter_flags()]  # type: ignore[attr-defined]
            args += ["-c", _TRACKER_CODE.format(fd=r)]
            stderr = subprocess.DEVNULL if stderr_is_awaited() else None
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _TRACKER_BLOCKS)
            try:
                process = _Unwaited(
                    args, pass_fds=[r], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
                )
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        except BaseException:
            os.close(w)
            raise
        finally:
            os.close(r)
        tracker._fd, tracker._pid = w, process.pid
