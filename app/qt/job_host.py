"""The supervisor that ``run_in_process`` jobs share, its spare processes, and the routing to each job."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import multiprocessing
import os
import pickle
import weakref
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Protocol

from qtpy.QtCore import QCoreApplication, QObject, QTimer

from pulse_supervisor.core.spec import DEFAULT_STOP_TIMEOUT, RestartPolicy, WorkerSpec
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.worker.job_runner import READY, YIELDED
from pulse_supervisor.qt.job_calls import MAIN_FREE, RUNNER
from pulse_supervisor.qt.qt_supervisor import QtSupervisor

if TYPE_CHECKING:
    from pulse_supervisor.qt.job_calls import JobCall

_job_numbers = itertools.count(1)
# With no job running, the supervisor (its thread) is kept this long for the next job, then shut
# down: a burst of jobs pays its start once, and an idle app keeps no thread waiting on nothing.
IDLE_CLOSE_MS = 3_000
# Processes started ahead, each waiting to be handed one job: a job's start is then a message down
# a pipe, not a process start (issue 30: warm call to first value 20 ms -> ~2 ms).
SPARES = 2
SPARE_RUNNER = "pulse_supervisor.core.worker.job_runner:spare_job"
# Arguments bigger than this go in a process of the job's own, pickled in the consumer thread as a
# worker's start: down a spare's pipe, the GUI thread would write them itself, waiting on the reader.
SPARE_MAX_PAYLOAD = 32 * 1024
REFILL_MS = 50
_RECENT_MODULES = 3  # a spare imports the modules of the last jobs while it waits


class Job(Protocol):
    """What the host asks of a job (a `ProcessJob`): it routes the signals of the job's worker to it."""

    @property
    def is_running(self) -> bool: ...
    def cancel(self) -> None: ...
    def _on_items(self, items: list[Any]) -> None: ...
    def _on_state(self, state: State) -> None: ...
    def _on_output(self, text: str) -> None: ...
    def _on_exited(self, exitcode: int | None, signal: int | None) -> None: ...
    def _on_start_failed(self, reason: str) -> None: ...


class JobHost(QObject):
    """The `QtSupervisor` the running jobs share (a child of the application), routing to each job.

    Shut down, never closed blocking, once idle: ``close`` in the GUI thread waited for the
    consumer thread, and that stalled the GUI about 2 s when the last job ended.
    """

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.workers = QtSupervisor(parent=self)
        # A job's few items go out as they come, not on the next frame: a frame's wait was most of
        # a warm job's latency, and capped sequential jobs near 60/s. A flood is still gathered
        # while the GUI thread has not taken the last batch (the consumer's backpressure).
        self.workers.consumer.min_gap = 0.0
        self.workers.consumer.hold_bursts = False  # jobs one after another are no clocks ticking together
        self.jobs: dict[str, Job] = {}
        self.spares: dict[str, tuple[Connection, bool]] = {}  # name -> (our control end, running)
        self._handed: dict[str, Connection] = {}  # a spare running a job -> our control end
        self._theirs: dict[str, Connection] = {}  # a process's control end, ours to close once it runs
        self._recent: deque[str] = deque(maxlen=_RECENT_MODULES)
        # The spare a job took is replaced once the job runs on (a generator's first value, or
        # REFILL_MS), or ends without its process coming back READY. Started at the hand-off, the
        # new spare held the job's first value up in the consumer thread (warm 4.7 -> 1.3 ms).
        self._refill = QTimer(self)
        self._refill.setSingleShot(True)
        self._refill.setInterval(REFILL_MS)
        self._refill.timeout.connect(self._fill_spares)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._shut_down_idle)
        workers = self.workers
        workers.items.connect(self._on_items)
        workers.state_changed.connect(self._on_state)
        workers.log_line.connect(lambda name, _level, text: self._route(name, "_on_output", text))
        workers.exited.connect(self._on_exited)
        workers.start_failed.connect(self._on_start_failed)
        workers.finished.connect(self.deleteLater)  # its thread has ended: nothing of it is left
        _hosts.add(self)

    @property
    def usable(self) -> bool:
        """Whether it takes new jobs (not shut down, nor closed as the app quit)."""
        return not self.workers.closed

    def start(self, job: Job, call: JobCall, stop_timeout: float) -> tuple[str, Connection | None]:
        """Start ``call`` for ``job``: in a spare process if it can; return the worker's name and our control end."""
        self._idle.stop()
        module = call.target.split(":")[0]
        if module in self._recent:
            self._recent.remove(module)
        self._recent.append(module)
        sparable = call.runner == MAIN_FREE[RUNNER] and stop_timeout == DEFAULT_STOP_TIMEOUT
        spare = self._ready_spare() if sparable and len(call.payload) <= SPARE_MAX_PAYLOAD else None
        if spare is None:
            self._fill_spares()
        else:  # after the job's first item, or soon: a spare's start (~2 ms of the consumer thread) held it up
            self._refill.start()
        if spare is not None:
            name, control = spare
            try:
                control.send_bytes(pickle.dumps((call.target, call.payload), protocol=pickle.HIGHEST_PROTOCOL))
            except OSError:  # it died a moment ago (its exit is on the way): a process of the job's own
                control.close()
            else:
                self.jobs[name] = job
                self._handed[name] = control  # ours, to hand it on if the process comes back READY
                call_later(lambda: job._on_state(State.RUNNING))  # it runs already: no state change to come
                return name, Connection(os.dup(control.fileno()), readable=False)  # the job's, closed at its end
        name = f"job-{next(_job_numbers)}: {call.target}"  # unique for the session, in logs too
        kwargs: dict[str, Any] = {"target": call.target, "payload": call.payload}
        ours = None
        if call.is_generator:
            self._theirs[name], ours = multiprocessing.Pipe(duplex=False)
            kwargs["control"] = self._theirs[name]
        self.jobs[name] = job
        self._add(name, call.runner, kwargs, stop_timeout)
        return name, ours

    def _ready_spare(self) -> tuple[str, Connection] | None:
        """Take a spare that runs already, if any. One still starting is left: a burst of jobs would
        each hold a pipe until their spares ran (2 descriptors a job), and wait for them anyway."""
        for name, (control, running) in self.spares.items():
            if running:
                del self.spares[name]
                return name, control
        return None

    def _fill_spares(self) -> None:
        if self.workers.closed:  # a refill due as the host shut down
            return
        while len(self.spares) < SPARES:
            self._start_spare()

    def _start_spare(self) -> str:
        name = f"job-{next(_job_numbers)}"
        theirs, ours = multiprocessing.Pipe(duplex=False)
        self._theirs[name] = theirs
        self.spares[name] = (ours, False)
        self._add(name, SPARE_RUNNER, {"control": theirs, "preload": tuple(self._recent)}, DEFAULT_STOP_TIMEOUT)
        return name

    def _add(self, name: str, runner: str, kwargs: dict[str, Any], stop_timeout: float) -> None:
        spec = WorkerSpec(
            name=name,
            target=runner,
            kwargs=kwargs,
            restart=RestartPolicy.NEVER,
            start_secs=0.0,  # a job counts as started at once: a quick one is not a failed start
            stop_timeout=stop_timeout,
        )
        self.workers.add_spec(spec)

    def shut_down(self) -> None:
        """Stop every job and spare and end the thread, without waiting (`deleteLater` follows its end)."""
        self._idle.stop()
        self._refill.stop()
        self.workers.shutdown()

    def _shut_down_idle(self) -> None:
        if not self.jobs:
            self.workers.shutdown()

    def _route(self, name: str, method: str, arg: Any) -> None:
        job = self.jobs.get(name)
        if job is not None:
            getattr(job, method)(arg)

    def _on_items(self, name: str, items: list[Any]) -> None:
        ready = items[-1][0] == READY  # the job returned, and its process takes another
        self._route(name, "_on_items", items[:-1] if ready else items)
        if ready:
            self._take_back(name)
        elif self._refill.isActive() and any(kind == YIELDED for kind, _ in items):
            self._refill.stop()  # a generator, still running: its spare's place is taken now
            self._fill_spares()

    def _take_back(self, name: str) -> None:
        """The process of ``name``'s job comes back READY: a spare again (or let go, if enough wait)."""
        self.jobs.pop(name, None)
        control = self._handed.pop(name, None)
        if control is None:
            return
        if len(self.spares) < SPARES and not self.workers.closed:
            self.spares[name] = (control, True)
        else:
            control.close()  # its end of file: the process ends
        if not self.jobs:
            self._idle.start(IDLE_CLOSE_MS)

    def _on_state(self, name: str, state: State) -> None:
        if state is State.RUNNING:
            self._close_theirs(name)  # the process has its copy now
            spare = self.spares.get(name)
            if spare is not None:
                self.spares[name] = (spare[0], True)
        self._route(name, "_on_state", state)

    def _close_theirs(self, name: str) -> None:
        theirs = self._theirs.pop(name, None)
        if theirs is not None:
            theirs.close()

    def _on_exited(self, name: str, exitcode: int | None, signal: int | None) -> None:
        job = self._end(name)
        if job is not None:
            job._on_exited(exitcode, signal)

    def _on_start_failed(self, name: str, reason: str) -> None:
        # A job is never restarted: its start failed, and so did the job.
        job = self._end(name)
        if job is not None:
            job._on_start_failed(reason)

    def _end(self, name: str) -> Job | None:
        """Forget the worker ``name`` (a job's, or a spare's); once no job runs, wait a while for the next."""
        self._close_theirs(name)
        spare = self.spares.pop(name, None)
        if spare is not None:  # a spare that ended unused (shut down, or it died): a later take starts another
            spare[0].close()
        handed = self._handed.pop(name, None)
        if handed is not None:  # a spare's job ended, its process with it: another takes its place
            handed.close()
            self._fill_spares()
        job = self.jobs.pop(name, None)
        if not self.workers.closed and name in self.workers.statuses:  # the first of its ends only
            self.workers.remove(name)  # a finished job needs no place in the supervisor
        if job is not None and not self.jobs:
            self._idle.start(IDLE_CLOSE_MS)
        return job


_hosts: weakref.WeakSet[JobHost] = weakref.WeakSet()


@atexit.register  # before the Supervisor's own (atexit runs last in, first out): thread first, then workers
def _close_at_exit() -> None:
    """A script that never ran the event loop (no aboutToQuit): join the thread, then end the spares and jobs."""
    for found in list(_hosts):
        with contextlib.suppress(RuntimeError):  # its Qt object went with the application
            found.workers.close(timeout=5.0)


def host() -> JobHost:
    """Return the application's job host, made if there is none (or the last one was shut down)."""
    app = QCoreApplication.instance()
    assert app is not None  # checked by the caller, with the message
    for found in app.findChildren(JobHost):
        if found.usable:
            return found
    return JobHost(app)


def each_host() -> list[JobHost]:
    """Every job host of the application still taking jobs."""
    app = QCoreApplication.instance()
    return [h for h in app.findChildren(JobHost) if h.usable] if app is not None else []


def call_later(fn: Callable[[], None]) -> None:
    """Run ``fn`` from the event loop, on its own: what it raises reaches ``sys.excepthook`` alone."""
    QTimer.singleShot(0, fn)
