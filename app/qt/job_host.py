"""The supervisor that ``run_in_process`` jobs share, and the routing of its signals to each job."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QCoreApplication, QObject, QTimer

from app.core.spec import RestartPolicy, WorkerSpec
from app.qt.qt_supervisor import QtSupervisor

if TYPE_CHECKING:
    from app.qt.job_calls import JobCall
    from app.qt.jobs import ProcessJob

_job_numbers = itertools.count(1)
# With no job running, the supervisor (its thread) is kept this long for the next job, then shut
# down: a burst of jobs pays its start once, and an idle app keeps no thread waiting on nothing.
IDLE_CLOSE_MS = 3_000


class JobHost(QObject):
    """The `QtSupervisor` the running jobs share (a child of the application), routing to each job.

    Shut down, never closed blocking, once idle: ``close`` in the GUI thread waited for the
    consumer thread, and that stalled the GUI about 2 s when the last job ended.
    """

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.workers = QtSupervisor(parent=self)
        self.jobs: dict[str, ProcessJob[Any, Any, Any]] = {}
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._shut_down_idle)
        workers = self.workers
        workers.items.connect(lambda name, items: self._route(name, "_on_items", items))
        workers.state_changed.connect(lambda name, state: self._route(name, "_on_state", state))
        workers.log_line.connect(lambda name, _level, text: self._route(name, "_on_output", text))
        workers.exited.connect(self._on_exited)
        workers.start_failed.connect(self._on_start_failed)
        workers.finished.connect(self.deleteLater)  # its thread has ended: nothing of it is left

    @property
    def usable(self) -> bool:
        """Whether it takes new jobs (not shut down, nor closed as the app quit)."""
        return not self.workers.closed

    def start(self, job: ProcessJob[Any, Any, Any], call: JobCall, stop_timeout: float, control: Any) -> str:
        """Start ``call`` as a worker for ``job``; return the worker's name."""
        name = f"job-{next(_job_numbers)}: {call.target}"  # unique for the session, in logs too
        kwargs: dict[str, Any] = {"target": call.target, "payload": call.payload}
        if control is not None:
            kwargs["control"] = control
        spec = WorkerSpec(
            name=name,
            target=call.runner,
            kwargs=kwargs,
            restart=RestartPolicy.NEVER,
            start_secs=0.0,  # a job counts as started at once: a quick one is not a failed start
            stop_timeout=stop_timeout,
        )
        self._idle.stop()
        self.jobs[name] = job
        self.workers.add_spec(spec)
        return name

    def shut_down(self) -> None:
        """Stop every job and end the thread, without waiting (`deleteLater` follows its end)."""
        self._idle.stop()
        self.workers.shutdown()

    def _shut_down_idle(self) -> None:
        if not self.jobs:
            self.workers.shutdown()

    def _route(self, name: str, method: str, arg: Any) -> None:
        job = self.jobs.get(name)
        if job is not None:
            getattr(job, method)(arg)

    def _on_exited(self, name: str, exitcode: int | None, signal: int | None) -> None:
        job = self._end(name)
        if job is not None:
            job._on_exited(exitcode, signal)

    def _on_start_failed(self, name: str, reason: str) -> None:
        # A job is never restarted: its start failed, and so did the job.
        job = self._end(name)
        if job is not None:
            job._on_start_failed(reason)

    def _end(self, name: str) -> ProcessJob[Any, Any, Any] | None:
        """Forget the job ``name`` and its worker; once none runs, wait a while for the next one."""
        job = self.jobs.pop(name, None)
        if job is None:
            return None
        if not self.workers.closed:
            self.workers.remove(name)  # a finished job needs no place in the supervisor
        if not self.jobs:
            self._idle.start(IDLE_CLOSE_MS)
        return job


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
