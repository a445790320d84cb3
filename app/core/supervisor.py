"""The supervisor: the imperative shell that carries out the policy on real processes."""

from __future__ import annotations

import atexit
import collections
import dataclasses
import heapq
import itertools
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core import fd_limit, policy
from app.core.errors import ConfigError, ConfigProblem, UnknownWorkerError
from app.core.events import CountersReset, Event, LogLine, StartFailed, StateChanged, WorkerExited, WorkersChanged
from app.core.fd_budget import FdBudget, log_files_share
from app.core.inspection import ProcessInfo
from app.core.launchers import Launchers
from app.core.limits import LimitWatch
from app.core.logfiles import LogFiles, default_log_dir
from app.core.policy import Command, State
from app.core.run import LOCAL_NODE
from app.core.spec import PulseConfig, WorkerSpec, runs_the_same
from app.core.worker_record import WorkerRecord
from app.core.worker_watch import WorkerWatch

_REMOTE_START_CHECK = 0.05  # how often a remote run still being started is looked at
COMMANDS_PER_POLL = 16  # commands carried out per poll, the rest at the next (see _drain_inbox)


class Supervisor:
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
        # (deadline, order, record) for every deadline the policy set; stale ones dropped lazily.
        self._deadlines: list[tuple[float, int, WorkerRecord]] = []
        self._deadline_order = itertools.count()
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
            if rec.runtime.state in (State.STARTING, State.RUNNING):
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

    def _drain_inbox(self) -> None:
        # At most a few commands that start or signal a process per poll: Start all on a fleet
        # (1 000 workers) is spread over polls, with the channels read and the states reported
        # between them, instead of one poll of 1 000 spawns that showed nothing for seconds.
        commands = 0
        while self._inbox and commands < COMMANDS_PER_POLL:
            kind, payload = self._inbox.popleft()
            commands += kind in ("event", "add", "remove")
            if kind == "event":
                name, event = payload
                if name in self._workers:
                    self._feed(self._workers[name], event)
            elif kind == "stack":
                rec = self._workers.get(payload)
                if rec is not None:
                    rec.request_stack()
            elif kind == "reset":
                rec = self._workers.get(payload)
                if rec is not None:
                    rec.reset_counters()
                    self._events.append(CountersReset(payload, time.time()))  # in order with its items
            elif kind == "config":
                self._apply(payload)
            elif kind == "add":
                if payload.name not in self._workers:
                    self._workers[payload.name] = self._new_record(payload)
                    self._events.append(WorkersChanged(tuple(self._workers)))
                    if payload.autostart:
                        self._feed(self._workers[payload.name], policy.StartAsked())
                self._adding.discard(payload.name)  # after: the name is always in one of the two
            elif kind == "remove":
                rec = self._workers.get(payload)
                if rec is not None:
                    rec.removing = True
                    self._feed(rec, policy.StopAsked())
                    if not rec.runtime.state.is_alive and payload in self._workers:
                        del self._workers[payload]
                        self._events.append(WorkersChanged(tuple(self._workers)))

    def _set_runtime(self, rec: WorkerRecord, runtime: policy.Runtime) -> None:
        """Take the policy's new runtime for ``rec``, noting its deadline in the heap of deadlines."""
        rec.runtime = runtime
        if runtime.deadline is not None:
            heapq.heappush(self._deadlines, (runtime.deadline, next(self._deadline_order), rec))

    def _due_records(self, now: float) -> list[WorkerRecord]:
        """Pop the records whose deadline has come; entries no longer current are dropped on the way.

        A heap, not a look at every worker: a poll a millisecond with 1 000 workers looked at
        a million deadlines a second.
        """
        due = []
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            deadline, _, rec = heapq.heappop(heap)
            if rec.runtime.deadline == deadline and self._workers.get(rec.spec.name) is rec and rec not in due:
                due.append(rec)
        return due

    def _fire_timers(self) -> None:
        now = self._clock()
        for rec in self._due_records(now):
            if rec.runtime.deadline is not None and now >= rec.runtime.deadline and not self._start_pending(rec, now):
                self._feed(rec, policy.TimerFired())

    def _start_pending(self, rec: WorkerRecord, now: float) -> bool:
        """Hold a remote run in STARTING until ``start_secs`` after its real start on its node.

        Making its agent can take seconds: counted from the launch, a target that fails at
        import would look RUNNING, and its crashes would escape the fast-failure limit.
        """
        run = rec.run
        if rec.runtime.state is not State.STARTING or run is None or run.node == LOCAL_NODE:
            return False
        if run.started is None:
            self._set_runtime(rec, dataclasses.replace(rec.runtime, deadline=now + _REMOTE_START_CHECK))
            return True
        real_deadline = run.started + rec.spec.start_secs
        if now >= real_deadline:
            return False
        self._set_runtime(rec, dataclasses.replace(rec.runtime, deadline=real_deadline, started_at=run.started))
        return True

    def _next_deadline(self) -> float | None:
        heap = self._deadlines
        while heap:
            deadline, _, rec = heap[0]
            if rec.runtime.deadline == deadline and self._workers.get(rec.spec.name) is rec:
                return deadline
            heapq.heappop(heap)  # a deadline since moved or cleared, or a worker since removed
        return None

    def _feed(self, rec: WorkerRecord, event: policy.Event) -> None:
        """Run one policy transition and carry out its commands."""
        was = rec.runtime.state
        step = policy.transition(rec.runtime, rec.spec, event, self._clock())
        self._set_runtime(rec, step.runtime)
        if was is State.STOPPING and Command.KILL in step.commands and isinstance(event, policy.TimerFired):
            # Its exit reads "SIGKILL (9)", as an outside kill's would: say whose kill it is.
            self._log(rec, f"did not stop within stop_timeout ({rec.spec.stop_timeout:g} s): killed", "WARNING")
        was_backoff = was is State.BACKOFF
        for state in step.states:
            if state is State.STARTING and was_backoff and isinstance(event, policy.TimerFired):
                rec.restarts += 1
            elif state is State.STARTING and was is State.STOPPING and step.runtime.limit_reason:
                rec.restarts += 1  # a limit's restart is automatic too
            if state is State.STOPPED and rec.pending_spec is not None:
                rec.spec, rec.pending_spec = rec.pending_spec, None
            if state is State.STARTING:
                self._spawn(rec)
                if rec.run is None:  # could not even start: treated as a failed run
                    return
            else:
                self._announce(rec, state)
        for command in step.commands:
            if command is Command.TERMINATE and rec.run is not None:
                rec.signal(signal.SIGTERM)
            elif command is Command.KILL and rec.run is not None:
                rec.signal(signal.SIGKILL)
        if rec.removing and rec.run is None and not rec.runtime.state.is_alive:
            del self._workers[rec.spec.name]
            self._events.append(WorkersChanged(tuple(self._workers)))

    def _announce(self, rec: WorkerRecord, state: State) -> None:
        self._limits.watch(rec, state in (State.STARTING, State.RUNNING))
        reason = rec.runtime.fatal_reason if state is State.FATAL else _limit_text(rec.runtime.limit_reason, state)
        if reason and rec.start_failure:  # its "exits" were starts that failed before a process ran
            reason += f"; the last start failed: {rec.start_failure}"
        node = rec.node or ""
        self._events.append(StateChanged(rec.spec.name, state, rec.pid, time.time(), rec.restarts, reason, node))
        if reason:
            self._log(rec, f"FATAL: gave up restarting: {reason}; Start tries again")

    def _spawn(self, rec: WorkerRecord) -> None:
        live = sum(r.run is not None for r in self._workers.values())
        refused = self._fds.refusal(live)  # before the launch: none may run out of descriptors half-way
        failed = None
        if refused is None:
            try:
                rec.launch(self._launchers.for_spec(rec.spec))
                self._fds.started()
            except Exception as exc:  # e.g. kwargs that do not pickle
                refused = self._fds.refusal(live, exc)  # out of descriptors after all: said the same way
                failed = None if refused else f"{type(exc).__name__}: {exc}"
        reason = rec.start_failure = refused or failed
        self._note_fds(live + (rec.run is not None), exact=reason is not None)
        if reason is not None:
            self._log(rec, f"cannot start worker: {reason}", traceback=failed is not None)
            self._events.append(StartFailed(rec.spec.name, reason, time.time()))
            self._feed(rec, policy.Exited(exitcode=None))
            return
        self._watch.changed()
        self._announce(rec, State.STARTING)

    def _note_fds(self, live: int, *, exact: bool = False) -> None:
        """Say when the fleet comes near the limit on descriptors, or has room again."""
        event = self._fds.notice(live, exact=exact)
        if event is not None:
            self._events.append(event)

    def _reap(self, rec: WorkerRecord) -> None:
        """The sentinel fired: read what is left in the channel, reap, and tell the policy."""
        if rec.run is None:
            return
        pid, exitcode, sig = rec.reap(self._events)
        self._watch.changed()
        if self._fds.low:  # its descriptors are free again: perhaps enough to say so
            self._note_fds(sum(r.run is not None for r in self._workers.values()))
        self._events.append(WorkerExited(rec.spec.name, pid, exitcode, sig, time.time()))
        self._feed(rec, policy.Exited(exitcode, sig))

    def _new_record(self, spec: WorkerSpec) -> WorkerRecord:
        return WorkerRecord(spec, log_path=str(self.log_files.path(spec.name)))

    def _log(self, rec: WorkerRecord, line: str, level: str = "ERROR", *, traceback: bool = False) -> None:
        self._events.append(LogLine(rec.spec.name, "pulse", level, line, time.time(), traceback))

    def _apply(self, config: PulseConfig) -> None:
        self._launchers.configure(config)
        new = {w.name: w for w in config.workers}
        for name, rec in list(self._workers.items()):
            if name not in new:
                rec.removing = True
                self._feed(rec, policy.StopAsked())
                if not rec.runtime.state.is_alive:
                    self._workers.pop(name, None)
            elif new[name] != (rec.pending_spec or rec.spec):
                if not rec.runtime.state.is_alive:
                    rec.spec = new[name]
                    if rec.spec.autostart:  # as if newly added: supervisord's update does the same
                        self._feed(rec, policy.StartAsked())
                elif runs_the_same(rec.spec, new[name]):  # e.g. autostart, as Save writes it: no restart
                    rec.spec, rec.pending_spec = new[name], None
                    self._limits.watch(rec, rec.runtime.state in (State.STARTING, State.RUNNING))  # new limits
                else:
                    rec.pending_spec = new[name]
                    self._feed(rec, policy.RestartAsked())
        added = [name for name in new if name not in self._workers]
        for name in added:
            self._workers[name] = self._new_record(new[name])
        order = list(new)
        self._workers = dict(sorted(self._workers.items(), key=lambda kv: _position(order, kv[0])))
        # Announced before they start: whoever shows workers has their row when STARTING comes.
        self._events.append(WorkersChanged(tuple(self._workers)))
        for name in added:
            if new[name].autostart:
                self._feed(self._workers[name], policy.StartAsked())


# Workers are not daemonic (so they may have children), and at exit multiprocessing joins every
# non-daemonic child: one left running by a supervisor nobody closed would hang the exit. Our
# hook is registered after multiprocessing's, so it runs first.
_open_supervisors: weakref.WeakSet[Supervisor] = weakref.WeakSet()


@atexit.register
def _close_open_supervisors() -> None:
    for sup in list(_open_supervisors):
        sup.close()


def _limit_text(reason: str, state: State) -> str:
    """Return the reason a state shows for a limit's restart: "restarting: ...", then "restarted: ..." once started."""
    if not reason:
        return ""
    return f"restarted: {reason}" if state in (State.STARTING, State.RUNNING) else f"restarting: {reason}"


def _position(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)
