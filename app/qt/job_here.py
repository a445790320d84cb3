"""`ProcessJob.run_here`: a job run in the calling thread, blocking, with its signals (for debugging)."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import time
import warnings
from typing import Any

from qtpy.QtCore import QCoreApplication

from pulse_supervisor.core.errors import JobError
from pulse_supervisor.core.spec import resolve_target
from pulse_supervisor.core.worker.job_runner import JOB_FUNCTION_ATTR, PAUSE, RAISED, RESUME, RETURNED, SEND
from pulse_supervisor.core.worker.traceback_text import format_exception

_PAUSE_POLL_S = 0.01  # a paused generator here waits for a resume in the event loop, in these steps


def run_here(job: Any) -> Any:
    """Run ``job`` (a `ProcessJob`, not started) here; return what it returned (None if cancelled or raised)."""
    if job._started:
        raise JobError(f"{job.name or 'the job'} was started already: a job runs once; make another")
    job._started = job._running = True
    job._here = []
    fn = job.call.fn if job.call.fn is not None else resolve_target(job.call.target)
    fn = getattr(fn, JOB_FUNCTION_ATTR, fn)
    job.started.emit()
    result: Any = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda m, c, f, n, *_: job.warned.emit((m, f"{c.__module__}.{c.__qualname__}", f, n))
            result = fn(*job.call.args, **job.call.kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            if inspect.isgenerator(result):
                result = _drive(job, result)
        if job._cancelled:
            result = None
            job.aborted.emit()
        else:
            job._outcome = RETURNED
            job.returned.emit(result)
    except Exception as exc:
        result = None
        job._outcome = RAISED
        job._error(JobError(str(exc), type_name=type(exc).__qualname__, traceback=format_exception(exc), original=exc))
    finally:
        job._running = job._paused = False
        job._here = None
    job.finished.emit()
    return result


def _drive(job: Any, gen: Any) -> Any:
    incoming = None
    try:
        while not job._cancelled:
            try:
                value = gen.send(incoming)
            except StopIteration as stop:
                return stop.value
            incoming = None
            job.yielded.emit(value)  # its slots run now, and may pause, send or cancel
            incoming = _serve(job)
        return None
    finally:
        gen.close()


def _serve(job: Any) -> Any:
    """Take what was sent; while paused, run the event loop until a resume (or a cancel)."""
    assert job._here is not None
    incoming = None
    while job._here or (job._paused and not job._cancelled):
        if not job._here:
            QCoreApplication.processEvents()
            time.sleep(_PAUSE_POLL_S)
            continue
        op, value = pickle.loads(job._here.pop(0))
        if op == SEND:
            incoming = value
        elif op == PAUSE and not job._paused:
            job._paused = True
            job.paused.emit()
        elif op == RESUME and job._paused:
            job._paused = False
            job.resumed.emit()
    return incoming
