"""Carrying out the pure policy's steps on real processes: spawn, signal, reap, timers, a new config.

`Supervisor` is this plus its thread-safe commands and the poll loop; everything here runs on
the polling thread, so no locks guard the records.
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
import itertools
import signal
import time
from collections.abc import Callable
from typing import Any

from pulse_supervisor.core.backends.launchers import Launchers
from pulse_supervisor.core.backends.run import LOCAL_NODE
from pulse_supervisor.core.processes import thread_affinity
from pulse_supervisor.core.spec import PulseConfig, WorkerSpec, runs_the_same
from pulse_supervisor.core.supervision import policy
from pulse_supervisor.core.supervision.events import (
    CountersReset,
    Event,
    LogLine,
    StartFailed,
    StateChanged,
    WorkerExited,
    WorkersChanged,
)
from pulse_supervisor.core.supervision.fd_budget import FdBudget
from pulse_supervisor.core.supervision.limits import LimitWatch, limit_text
from pulse_supervisor.core.supervision.logfiles import LogFiles
from pulse_supervisor.core.supervision.policy import Command, State
from pulse_supervisor.core.supervision.worker_record import WorkerRecord
from pulse_supervisor.core.supervision.worker_watch import WorkerWatch

COMMANDS_PER_POLL = 16  # commands carried out per poll, the rest at the next (see _drain_inbox)
UNSENT_RETRY = 0.05  # how often messages a worker had no room for are offered again
_REMOTE_START_CHECK = 0.05  # how often a remote run still being started is looked at


class PolicyShell:
    """The records, and what the policy's transitions make happen to them (the polling thread only)."""

    _clock: Callable[[], float]
    _fds: FdBudget
    _launchers: Launchers
    _watch: WorkerWatch
    _limits: LimitWatch
    _workers: dict[str, WorkerRecord]
    _events: list[Event]
    _inbox: collections.deque[tuple[str, Any]]
    _adding: set[str]
    log_files: LogFiles

    def __init__(self) -> None:
        # (deadline, order, record) for every deadline the policy set; stale ones dropped lazily.
        self._deadlines: list[tuple[float, int, WorkerRecord]] = []
        self._deadline_order = itertools.count()
        self._unsent: dict[str, WorkerRecord] = {}  # those whose run has messages it had no room for yet

    def deliver(self, name: str, data: bytes) -> str | None:
        """Queue the pickled message ``data`` for ``name`` now; return why not, or None (polling thread only)."""
        rec = self._workers.get(name)
        if rec is None:
            return "no such worker"
        refused = rec.send_message(data)
        if refused is None and rec.run is not None and not rec.run.flush_outbox():
            self._unsent[name] = rec  # the worker has no room now: offered again at each poll
        return refused

    def _flush_unsent(self) -> bool:
        """Offer the waiting messages again; return whether none waits any more."""
        for name, rec in list(self._unsent.items()):
            if rec.run is None or rec.run.flush_outbox():
                del self._unsent[name]
        return not self._unsent

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
            elif kind == "send":
                name, data = payload
                refused = self.deliver(name, data)
                if refused is not None and name in self._workers:
                    self._log(self._workers[name], f"message not delivered: {refused}", "WARNING")
            elif kind == "call":
                payload()
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
        reason = rec.runtime.fatal_reason if state is State.FATAL else limit_text(rec.runtime.limit_reason, state)
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
                with thread_affinity.unpinned():  # a worker never inherits a pinned consumer's CPU
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


def _position(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)
