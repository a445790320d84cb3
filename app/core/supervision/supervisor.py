"""The supervisor: the imperative shell that carries out the policy on real processes."""

from __future__ import annotations

import atexit
import collections
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulse_supervisor.core.backends.launchers import Launchers
from pulse_supervisor.core.errors import ConfigError, ConfigProblem, UnknownWorkerError
from pulse_supervisor.core.processes import fd_limit
from pulse_supervisor.core.processes.inspection import ProcessInfo
from pulse_supervisor.core.spec import PulseConfig, WorkerSpec
from pulse_supervisor.core.supervision import policy
from pulse_supervisor.core.supervision.events import (
    Event,
)
from pulse_supervisor.core.supervision.fd_budget import FdBudget, log_files_share
from pulse_supervisor.core.supervision.limits import LimitWatch
from pulse_supervisor.core.supervision.logfiles import LogFiles, default_log_dir
from pulse_supervisor.core.supervision.policy_shell import UNSENT_RETRY, PolicyShell
from pulse_supervisor.core.supervision.worker_record import WorkerRecord
from pulse_supervisor.core.supervision.worker_watch import WorkerWatch
from pulse_supervisor.core.wire.messages import encode_message


class Supervisor(PolicyShell):
    """Starts, stops, kills and restarts workers; reports everything as events from `poll`.

    Command methods (`start`, `stop`, ...) are thread-safe: they queue the request and wake the
    polling thread. Everything else happens inside `poll`, on one thread, so no locks guard the
    worker records.

    Parameters
    ----------
    config : PulseConfig
        Workers and start method.
    clock : callable
        Monotonic clock for the policy (tests pass a fake one).
    log_dir : path or None
        Where per-worker log files go (default `default_log_dir()`).
    objects : bool
        Deliver items of classes this process did not load itself as `item_forms.Pickled` (for
        an app that imports its own modules: `QtSupervisor`) instead of `item_forms.StandIn`
        (the window, headless). Either way this process imports no worker's module.

    Notes
    -----
    The first supervisor of a process raises the process's soft limit on open files to the hard
    limit (`fd_limit.raise_file_limit`; every worker costs this process 4 descriptors) and
    logs the figures on the ``pulse`` logger. Its workers start with the limit the process had.
    A start that would leave too few descriptors free is refused (`fd_budget`): that worker's
    start fails, by name and with the counts (a `StartFailed` event, then its policy as for any
    failed start), and everything running goes on. `DescriptorsLow` says when the fleet comes
    near the limit, and when it has room again.
    """

    def __init__(
        self,
        config: PulseConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        log_dir: str | os.PathLike[str] | None = None,
        objects: bool = False,
    ) -> None:
        super().__init__()
        fd_limit.raise_file_limit()  # before any helper or worker starts: the helpers inherit it
        self._fds = FdBudget()
        self._launchers = Launchers(config, objects=objects)
        self.start_method = config.start_method
        self._clock = clock
        self._workers: dict[str, WorkerRecord] = {}
        self._adding: set[str] = set()  # added, not yet taken in by `poll`: commands may name them already
        self._inbox: collections.deque[tuple[str, Any]] = collections.deque()
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._events: list[Event] = []
        self._closed = False
        self._watch = WorkerWatch(self._wake_r)
        self._limits = LimitWatch(clock, self._fds.limit)
        directory = Path(log_dir) if log_dir is not None else default_log_dir()
        self.log_files = LogFiles(directory, max_open=log_files_share(self._fds.limit))
        for spec in config.workers:
            self._workers[spec.name] = self._new_record(spec)
        _open_supervisors.add(self)

    # --- thread-safe commands -------------------------------------------------------------

    def start(self, name: str) -> None:
        """Start ``name`` (also from FATAL, BACKOFF or EXITED)."""
        self._post("event", (self._check(name), policy.StartAsked()))

    def stop(self, name: str) -> None:
        """Stop ``name`` gracefully: SIGTERM, then SIGKILL after its ``stop_timeout``."""
        self._post("event", (self._check(name), policy.StopAsked()))

    def kill(self, name: str) -> None:
        """SIGKILL ``name`` and its process group now."""
        self._post("event", (self._check(name), policy.KillAsked()))

    def restart(self, name: str) -> None:
        """Stop ``name`` (if running), then start it again."""
        self._post("event", (self._check(name), policy.RestartAsked()))

    def reset_counters(self, name: str) -> None:
        """Count ``name``'s restarts and items sent, received and lost from zero again."""
        self._post("reset", self._check(name))

    def request_stack(self, name: str) -> None:
        """Ask ``name`` for its current Python stack; a `StackDump` event answers."""
        self._post("stack", self._check(name))

    def send(self, name: str, value: Any) -> None:
        """Send ``value`` to ``name``'s inbox (``ctx.receive``, a generator's ``yield``); any thread.

        Pickled here, now, one way. A worker not running when it arrives, or whose inbox is
        full, does not get it: its log says so.

        Raises
        ------
        UnknownWorkerError
            No worker has that name.
        MessageError
            ``value`` does not pickle, or is over `messages.MAX_MESSAGE_BYTES` pickled.
        """
        self.send_pickled(name, encode_message(value))

    def send_pickled(self, name: str, data: bytes) -> None:
        """`send` a value pickled already (`messages.encode_message`); any thread."""
        self._post("send", (self._check(name), data))

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Call ``fn()`` in the polling thread, at its next `poll` (any thread; e.g. `pulse ctl`'s commands)."""
        self._post("call", fn)

    def start_autostart(self) -> None:
        """Start every worker whose spec says ``autostart``."""
        for rec in list(self._workers.values()):
            if rec.spec.autostart:
                self.start(rec.spec.name)

    def stop_all(self) -> None:
        """Stop every worker gracefully."""
        for name in list(self._workers):
            self.stop(name)

    def add_spec(self, spec: WorkerSpec) -> None:
        """Add a worker (started at once if ``spec.autostart``); its name must be new.

        Raises
        ------
        ConfigError
            The name is in use (its worker may still be being removed).
        """
        if spec.name in self._workers or spec.name in self._adding:
            problem = ConfigProblem("Supervisor.add_spec", None, "name", f"a worker named {spec.name!r} already exists")
            raise ConfigError([problem])
        self._adding.add(spec.name)
        self._post("add", spec)

    def remove(self, name: str) -> None:
        """Stop ``name`` if it runs, then forget it."""
        self._post("remove", self._check(name))

    def apply_config(self, config: PulseConfig) -> None:
        """Reload: unchanged workers keep running (so do those changed only in `SUPERVISION_FIELDS`),
        changed ones restart, removed ones stop."""
        self._post("config", config)

    def wake(self) -> None:
        """Make a blocked `poll` return (used to stop the polling thread)."""
        # Non-blocking: a signal handler may call this while the same thread is inside it.
        if not self._wake_lock.acquire(blocking=False):
            return  # whoever holds it is already waking the poll (or closing)
        try:
            if not self._closed:
                self._wake_w.send_bytes(b"w")
        finally:
            self._wake_lock.release()

    # --- read-only views ------------------------------------------------------------------

    def names(self) -> list[str]:
        """Return the configured worker names, in order."""
        return list(self._workers)

    def record(self, name: str) -> WorkerRecord:
        """Return the live record of ``name`` (do not modify it)."""
        return self._workers[self._check(name)]

    def spec(self, name: str) -> WorkerSpec:
        """Return the spec of ``name``."""
        return self.record(name).spec

    def remote_facts(self, name: str) -> dict[str, Any] | None:
        """Return the process facts of ``name``'s remote run, as last read on its node (any thread).

        None for a local run (read them here, by pid) or no run. Keys: ``cpu_percent`` (None on
        the first reading), ``rss``, ``threads``, ``children``.
        """
        rec = self._workers.get(name)
        run = rec.run if rec is not None else None
        return run.facts if run is not None else None  # a local run's are None: read by pid

    def inspect_remote(self, name: str) -> ProcessInfo | None:
        """Return ``name``'s remote run's process as last read on its node (any thread; never blocks).

        None for a local run (inspect it here, by pid) or no run.
        """
        rec = self._workers.get(name)
        run = rec.run if rec is not None else None
        return run.inspect() if run is not None else None  # a local run's is None: inspected by pid

    def commands_pending(self) -> bool:
        """Return whether commands wait to be carried out by a coming `poll` (see `COMMANDS_PER_POLL`)."""
        return bool(self._inbox)

    def all_stopped(self) -> bool:
        """Return whether no worker has a live process."""
        return all(rec.run is None for rec in self._workers.values())

    # --- the polling thread ---------------------------------------------------------------

    def poll(self, timeout: float | None = None, *, gather: bool = False) -> list[Event]:
        """Wait up to ``timeout`` for anything to happen, handle it, and return the events.

        Blocks on every channel, every process sentinel and the wake-up pipe at once; never
        longer than the next policy deadline. Returns early (possibly with no events) on wake.

        With ``gather``, the wait leaves the channels out (an exit, a command or a timer still
        ends it) and every channel holding something is read once when it ends: a caller that
        will hold items until a deadline anyway lets them gather in the pipes, and pays one
        wake-up for all of them instead of one per message. See `busiest_bytes` for when not to.
        """
        self._drain_inbox()
        self._fire_timers()
        if self._inbox:  # commands left for the next poll: do not wait for anything first
            timeout = 0.0
        if self._unsent and not self._flush_unsent():
            timeout = UNSENT_RETRY if timeout is None else min(timeout, UNSENT_RETRY)
        if not self._events:
            due = min((d for d in (self._next_deadline(), self._limits.next_check()) if d is not None), default=None)
            if due is not None:
                left = max(0.0, due - self._clock())
                timeout = left if timeout is None else min(timeout, left)
            exited = self._watch.wait(self._workers.values(), timeout, self._events, gather=gather)
            for rec in exited:
                self._reap(rec)
            self._drain_inbox()
            self._fire_timers()
        for rec, reason in self._limits.check():
            if rec.runtime.state in (policy.State.STARTING, policy.State.RUNNING):
                self._log(rec, f"restarting: {reason}", "WARNING")
                self._feed(rec, policy.LimitExceeded(reason))
        events, self._events = self._events, []
        events.extend(self.log_files.write_events(events))  # a log file given up is a notice
        return events

    def busiest_bytes(self) -> int:
        """Return the most bytes one channel delivered since the last call (polling thread only).

        A channel that delivers a quarter of a pipe (64 KiB on Linux) between two frames would
        fill its pipe if a frame's worth gathered there, and its worker would wait: a caller
        deciding whether to `poll` with ``gather`` asks this first.
        """
        return self._watch.busiest_bytes(self._workers.values())

    def close(self) -> None:
        """Kill whatever still runs, reap it, and close every pipe (the last call; again, a no-op)."""
        if self._closed:
            return
        for rec in self._workers.values():
            if rec.run is not None:
                rec.signal(signal.SIGKILL)
                rec.run.join(timeout=5.0)
                rec.release()
        self._launchers.close()
        self._watch.close()
        self._limits.close()
        with self._wake_lock:
            self._closed = True
            self._wake_w.close()
        self._wake_r.close()
        self.log_files.close()
        _open_supervisors.discard(self)

    # --- internals ------------------------------------------------------------------------

    def _check(self, name: str) -> str:
        if name not in self._workers and name not in self._adding:
            raise UnknownWorkerError(name)
        return name

    def _post(self, kind: str, payload: Any) -> None:
        self._inbox.append((kind, payload))
        self.wake()


# Workers are not daemonic (so they may have children), and at exit multiprocessing joins every
# non-daemonic child: one left running by a supervisor nobody closed would hang the exit. Our
# hook is registered after multiprocessing's, so it runs first.
_open_supervisors: weakref.WeakSet[Supervisor] = weakref.WeakSet()


@atexit.register
def _close_open_supervisors() -> None:
    for sup in list(_open_supervisors):
        sup.close()
