"""One call for one job in a supervised process: ``run_in_process(fn, *args)`` and its signals."""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from qtpy.QtCore import QCoreApplication, QObject, Signal

from pulse_supervisor.core.config.target_probe import target_of
from pulse_supervisor.core.errors import JobError
from pulse_supervisor.core.spec import DEFAULT_STOP_TIMEOUT, RestartPolicy, WorkerSpec
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.worker.job_runner import JOB_FUNCTION_ATTR, RAISED, RETURNED, YIELDED
from pulse_supervisor.core.worker.producer_shapes import shape_of
from pulse_supervisor.qt.qt_supervisor import QtSupervisor

F = TypeVar("F", bound=Callable[..., Any])
_job_numbers = itertools.count(1)
_OUTPUT_KEPT = 20  # a job that dies without a traceback is explained by the end of its output


class ProcessJob(QObject):
    """A function running in a worker process of its own; what it does arrives as Qt signals.

    Made by `run_in_process`. Every signal is emitted in the GUI thread.

    Signals
    -------
    started()
        The process is running the function.
    yielded(object)
        A value the function yielded (a generator function), in order.
    returned(object)
        What the function returned: the job succeeded.
    errored(object)
        A `JobError`: the function raised (its type, message, traceback and, if it pickles,
        the exception itself), the process died without a result (killed, crashed in C), or
        it could not be started (e.g. too many open files: Pulse says how many).
    aborted()
        `cancel` stopped the job before it returned.
    finished()
        The job is over, whichever way; always last.
    """

    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    aborted = Signal()
    finished = Signal()

    def __init__(self, name: str, workers: QtSupervisor) -> None:
        super().__init__()  # yours to keep: the shared supervisor goes once no job runs
        self.name = name
        self._workers = workers
        self._outcome = ""  # RETURNED or RAISED once the job said how it ended
        self._cancelled = False
        self._running = True
        self._output: deque[str] = deque(maxlen=_OUTPUT_KEPT)

    @property
    def is_running(self) -> bool:
        """Whether the job has not finished yet."""
        return self._running

    def cancel(self) -> None:
        """Interrupt the job as a Stop does (SIGTERM: it ends wherever it waits or computes)."""
        if self._running and not self._cancelled:
            self._cancelled = True
            self._workers.stop(self.name)

    # --- from the supervisor (GUI thread) --------------------------------------------------------

    def _on_items(self, items: list[Any]) -> None:
        for kind, value in items:
            if kind == YIELDED:
                self.yielded.emit(value)
            elif kind == RETURNED:
                self._outcome = RETURNED
                self.returned.emit(value)
            elif kind == RAISED:
                self._outcome = RAISED
                type_name, message, text, original = value
                self.errored.emit(JobError(message, type_name=type_name, traceback=text, original=original))

    def _on_state(self, state: State) -> None:
        if state is State.RUNNING:
            self.started.emit()

    def _on_output(self, text: str) -> None:
        self._output.append(text)

    def _on_start_failed(self, reason: str) -> None:
        self._running = False
        self.errored.emit(JobError(f"the job's process could not start: {reason}"))
        self.finished.emit()

    def _on_exited(self, exitcode: int | None, signal: int | None) -> None:
        self._running = False
        if not self._outcome:
            if self._cancelled:
                self.aborted.emit()
            else:  # it died before it could say how it ended: a kill, a segfault, os._exit
                how = f"was killed by signal {signal}" if signal else f"exited with code {exitcode}"
                self.errored.emit(
                    JobError(f"the job's process {how} before returning", traceback="".join(self._output))
                )
        self.finished.emit()


class _Jobs(QObject):
    """The supervisor the running `run_in_process` jobs share, and its routing; closed once none runs."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.workers = QtSupervisor(parent=self)
        self.jobs: dict[str, ProcessJob] = {}
        self.workers.items.connect(lambda name, items: self._route(name, ProcessJob._on_items, items))
        self.workers.state_changed.connect(lambda name, state: self._route(name, ProcessJob._on_state, state))
        self.workers.log_line.connect(lambda name, _level, text: self._route(name, ProcessJob._on_output, text))
        self.workers.exited.connect(self._on_exited)
        self.workers.start_failed.connect(self._on_start_failed)

    def start(
        self, target: str, runner: str, args: tuple[Any, ...], kwargs: dict[str, Any], stop_timeout: float
    ) -> ProcessJob:
        name = f"job-{next(_job_numbers)}: {target}"  # unique for the session, in logs too
        spec = WorkerSpec(
            name=name,
            target=runner,
            kwargs={"target": target, "args": args, "kwargs": kwargs},
            restart=RestartPolicy.NEVER,
            start_secs=0.0,  # a job counts as started at once: a quick one is not a failed start
            stop_timeout=stop_timeout,
        )
        job = ProcessJob(name, self.workers)
        self.jobs[name] = job
        self.workers.add_spec(spec)
        return job

    def _route(self, name: str, method: Callable[..., None], *args: Any) -> None:
        job = self.jobs.get(name)
        if job is not None:
            method(job, *args)

    def _on_exited(self, name: str, exitcode: int | None, signal: int | None) -> None:
        job = self._end(name)
        if job is not None:
            job._on_exited(exitcode, signal)

    def _on_start_failed(self, name: str, reason: str) -> None:
        # A job is never restarted: its start failed, and so did the job.
        job = self._end(name)
        if job is not None:
            job._on_start_failed(reason)

    def _end(self, name: str) -> ProcessJob | None:
        """Forget the job ``name`` and its worker; close the supervisor once no job runs."""
        job = self.jobs.pop(name, None)
        if job is None:
            return None
        self.workers.remove(name)  # a finished job needs no place in the supervisor
        if not self.jobs:  # no thread waits on nothing between jobs: the next job starts a new one
            self.workers.close()
            self.deleteLater()
        return job


def _jobs() -> _Jobs:
    app = QCoreApplication.instance()
    if app is None:
        raise JobError("run_in_process needs a QApplication (create one first)")
    jobs = app.findChild(_Jobs)
    if jobs is None or jobs.workers.closed:  # none yet, or the last one closed as the app quit
        jobs = _Jobs(app)
    return jobs


def run_in_process(
    fn: Callable[..., Any] | str,
    *args: Any,
    _connect: dict[str, Callable[..., Any]] | None = None,
    _stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    **kwargs: Any,
) -> ProcessJob:
    """Run ``fn(*args, **kwargs)`` in a supervised process of its own; return its `ProcessJob`.

    ``fn`` is a module-level function (or ``"module:callable"``): a plain function (its return
    value arrives in ``returned``), a generator function (each value in ``yielded``, then what it
    returns), or an ``async def`` function or async generator. Arguments and results cross the
    process boundary pickled. ``_connect`` maps signal names to slots, connected before the job
    starts: ``run_in_process(count, 10**7, _connect={"returned": show})``. The job is a worker
    like any other: it dies with the app, leaves no process behind, and `cancel` stops it: at
    once wherever it waits or runs Python code; one inside a long C call (``sum(range(10**12))``)
    is killed ``_stop_timeout`` seconds after the cancel (default 5).

    Raises
    ------
    JobError
        ``fn`` cannot run in another process (a lambda, a nested function, an interactive
        definition), ``_stop_timeout`` is not a positive number, or there is no QApplication.
    """
    if not (isinstance(_stop_timeout, (int, float)) and _stop_timeout > 0):
        raise JobError(f"_stop_timeout must be a number of seconds above 0, not {_stop_timeout!r}")
    if isinstance(fn, str):
        target, runner = fn, "pulse_supervisor.core.worker.job_runner:run_job"
    else:
        target, reason = target_of(fn)
        if reason:
            raise JobError(reason)
        is_async = shape_of(fn) in ("async", "async generator")
        runner = (
            "pulse_supervisor.core.worker.job_runner:run_async_job"
            if is_async
            else "pulse_supervisor.core.worker.job_runner:run_job"
        )
    jobs = _jobs()
    job = jobs.start(target, runner, args, kwargs, _stop_timeout)
    for signal_name, slot in (_connect or {}).items():
        getattr(job, signal_name).connect(slot)
    return job


def process_job(fn: F) -> Callable[..., ProcessJob]:
    """Decorator: calling the function runs it with `run_in_process` and returns its `ProcessJob`::

        @process_job
        def count_primes(limit: int) -> int: ...

        job = count_primes(10_000_000, _connect={"returned": show})

    The worker process imports the decorated name and runs the function it stands for.
    """

    @functools.wraps(fn)
    def start(*args: Any, **kwargs: Any) -> ProcessJob:
        return run_in_process(fn, *args, **kwargs)

    setattr(start, JOB_FUNCTION_ATTR, fn)
    return start
