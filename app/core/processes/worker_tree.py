"""No process outlives the worker that started it: subreapers, tree ends, and the orphan sweep.

Three places take part (Linux; elsewhere the worker's process group is all there is):

- the worker is a child subreaper: a descendant whose parent dies is re-parented to the worker,
  not to init, so while the worker lives its whole tree hangs under it, ``setsid`` or not, and at
  its end the worker ends that tree (`end_descendants`: SIGTERM, a grace, SIGKILL);
- the forkserver Pulse starts (`guard_forkserver`, run by its preload) is a subreaper too: a
  worker that dies abruptly (Kill, SIGKILL from outside, a segfault) leaves its children to it,
  and when Pulse itself dies (even SIGKILLed) it ends every process under it before it exits;
- the supervisor, after reaping a worker, ends what that worker left with the forkserver
  (`sweep_orphans`): its process group, session leaders it made, and anything carrying its
  ``PULSE_RUN`` mark. Other children of the forkserver (an app's own pool) are left alone.

What can still escape: a descendant that leaves both the worker's process group and its
environment mark and double-forks while the worker dies abruptly lives on until Pulse exits
(the forkserver ends it then: the worker closed its copy of the alive pipe, `inherited_fds`);
every descendant when the start method is ``spawn`` or ``fork`` and the worker dies abruptly
(only its group is ended).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator

import psutil

_PR_SET_CHILD_SUBREAPER = 36
RUN_MARK = "PULSE_RUN"  # in every worker's environment, inherited by what it execs

# Set in the forkserver by `guard_forkserver`, and so in every worker forked from it: the worker
# tells the supervisor (HELLO) that its orphans will land on a subreaper that can be swept.
forkserver_guarded = False

# Every live worker process of this GUI process, whichever supervisor started it: the forkserver
# is shared by all of them, and a sweep must never take another supervisor's worker for an orphan.
_live_workers: set[int] = set()
_lock = threading.Lock()


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux); return whether it is one."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        rc: int = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        return rc == 0
    except (OSError, AttributeError):
        return False


def guard_forkserver() -> None:
    """In the forkserver: become a subreaper, and end every descendant when exiting.

    The forkserver exits when Pulse's process does (its end of a pipe closes), however that
    died; its ``SystemExit`` runs this module's atexit hook, while the workers still live, so
    their whole trees are found and ended. Orphans it inherits meanwhile are reaped by its own
    SIGCHLD loop, which warns about each unknown pid: expected here, so not shown.
    """
    global forkserver_guarded
    if not become_subreaper():
        return
    forkserver_guarded = True
    warnings.filterwarnings("ignore", message="forkserver: waitpid returned unexpected pid")
    atexit.register(_end_all_descendants)


DEFAULT_WORKERS_NICE = 5  # the workers' group against the window and other programs (autogroup only)


def own_session() -> None:
    """In the forkserver: start a session of its own, which every worker it forks then shares.

    Linux schedules each session as one group when autogroup is on (the default on desktops:
    ``/proc/sys/kernel/sched_autogroup_enabled``), sharing the CPU between groups first. In the
    window's session, 64 busy workers weighed 64 times the window and starved it of CPU (GUI
    stalls of 2-6 s on 2 cores). In a session of their own they weigh, together, what one program
    at ``PULSE_WORKERS_NICE`` does (default 5): the window gets the CPU it needs however many
    workers are busy (stalls under 50 ms), and they use all the CPU it leaves. A worker keeps its
    own process group, so signals to it reach its tree as before.
    """
    with contextlib.suppress(OSError):  # already a session leader: nothing to do
        os.setsid()
    text = os.environ.get("PULSE_WORKERS_NICE", str(DEFAULT_WORKERS_NICE))
    nice = int(text) if text.strip().isdigit() and int(text) <= 19 else None
    if nice is None:
        print(f"pulse: PULSE_WORKERS_NICE={text!r} is not 0-19; using {DEFAULT_WORKERS_NICE}", file=sys.stderr)
        nice = DEFAULT_WORKERS_NICE
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:  # absent: no autogroup
        group.write(str(nice))


def _end_all_descendants() -> None:
    with contextlib.suppress(psutil.Error):
        kill_all(psutil.Process().children(recursive=True))


def kill_all(procs: list[psutil.Process]) -> None:
    """SIGKILL every process in ``procs`` (those already gone are skipped)."""
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()


def kill_tree(root: int) -> None:
    """SIGKILL every descendant of ``root``, then ``root`` itself unless it is this process.

    Each process found is stopped (SIGSTOP) before the next look, so none forks one more child
    meanwhile; the tree is killed once a look finds nothing new. ``root`` is stopped first and
    killed last: while it lives, a subreaper root holds every orphan of its tree (``setsid`` or
    not), and a stopped one lets none escape.
    """
    own = root == os.getpid()
    if not own:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(root, signal.SIGSTOP)
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        top = psutil.Process(root)
        while new := [p for p in top.children(recursive=True) if p.pid not in found]:
            for p in new:
                with contextlib.suppress(psutil.Error):
                    p.suspend()
                found[p.pid] = p
    kill_all(list(found.values()))
    if not own:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(root, signal.SIGKILL)


def end_descendants(grace: float = 1.0) -> None:
    """End this worker's whole tree: SIGTERM, up to ``grace`` seconds, then SIGKILL; reap our children.

    Called by the worker on its way out, however its producer ended. A subreaper's tree holds
    every descendant still alive, ``setsid`` or not.
    """
    try:
        procs = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    if not procs:
        return
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    alive = wait_ended(procs, grace)
    kill_all([p for p in procs if p.pid in alive])
    wait_ended(alive, grace)
    _reap_children()


def wait_ended(procs: Iterable[int | psutil.Process], timeout: float) -> list[int]:
    """Wait until every process in ``procs`` has ended; return the pids of those still running.

    Waits on each process's pidfd, readable the moment the process exits: an event, no polling,
    for children and non-children alike. A zombie has ended (reaping it is its parent's job; a
    subreaper that reaps late must not look like a process that lives on).
    """
    fds: dict[int, int] = {}
    for p in procs:
        pid = p if isinstance(p, int) else p.pid
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue  # gone, and reaped
    try:
        deadline = time.monotonic() + timeout
        waiting = set(fds)
        poller = select.poll()  # not select(): a raised file limit (fd_limit) gives descriptors above 1023
        for fd in fds:
            poller.register(fd, select.POLLIN)
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for fd, _ in poller.poll(left * 1000):
                poller.unregister(fd)
                waiting.discard(fd)
        return sorted(fds[fd] for fd in waiting)
    finally:
        for fd in fds:
            os.close(fd)


def _reap_children() -> None:
    """Reap whatever children have ended (re-parented orphans included), without waiting."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@contextlib.contextmanager
def launching() -> Iterator[set[int]]:
    """Hold the sweep off while a worker starts; add its pid to the returned set once known."""
    with _lock:
        yield _live_workers


def forget(pid: int) -> None:
    """The worker ``pid`` has been reaped."""
    with _lock:
        _live_workers.discard(pid)


def sweep_orphans(worker_pid: int, forkserver_pid: int | None, mark: str | None) -> int:
    """End what the reaped worker ``worker_pid`` left behind; return how many processes were ended.

    Its process group (children that stayed in it), and, when its parent was a guarded
    forkserver, the forkserver's children that are no live worker and are the dead worker's:
    in its group, a session leader (``setsid``), or carrying its ``mark`` in their environment.
    """
    ended = 0
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(worker_pid, signal.SIGKILL)
        ended += 1
    if forkserver_pid is None:
        return ended
    with _lock:
        try:
            candidates = psutil.Process(forkserver_pid).children()
        except psutil.Error:
            return ended
        for child in candidates:
            if child.pid in _live_workers or not _left_by(child, worker_pid, mark):
                continue
            with contextlib.suppress(psutil.Error):
                tree = [child, *child.children(recursive=True)]
                kill_all(tree)
                ended += len(tree)
    return ended


def _left_by(proc: psutil.Process, worker_pid: int, mark: str | None) -> bool:
    try:
        if os.getpgid(proc.pid) == worker_pid or os.getsid(proc.pid) == proc.pid:
            return True
        return mark is not None and proc.environ().get(RUN_MARK) == mark
    except (OSError, psutil.Error):
        return False


def new_mark() -> str:
    """Return a mark unique to one run of one worker (set in its environment as ``PULSE_RUN``)."""
    return f"{os.getpid()}-{time.monotonic_ns()}"
