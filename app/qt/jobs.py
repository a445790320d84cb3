"""One call for one job in a supervised process: ``run_in_process(fn, *args)``, ``@process_job``, ``await_jobs``."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from qtpy.QtCore import QCoreApplication, QEventLoop, QTimer

from pulse_supervisor.core.errors import JobError
from pulse_supervisor.core.processes import worker_tree
from pulse_supervisor.core.spec import DEFAULT_START_METHOD, DEFAULT_STOP_TIMEOUT
from pulse_supervisor.core.worker.job_runner import JOB_FUNCTION_ATTR
from pulse_supervisor.qt.job_calls import make_call
from pulse_supervisor.qt.job_host import Job, each_host
from pulse_supervisor.qt.job_signals import ProcessJob, connect_and_start


def _warm_up() -> None:
    """Start Pulse's forkserver in the background as the app imports jobs: its first job then waits
    for no interpreter to start and import (the first job of an app: ~135 ms -> see bench/jobs.py)."""
    from pulse_supervisor.core.backends.local.local_run import start_forkserver

    with contextlib.suppress(Exception):  # a job starts it itself, and says what is wrong
        start_forkserver()


# Not in a worker's process (a job's module that uses @process_job is imported there too): it
# runs no jobs, and the forkserver would be a child the job left behind.
if DEFAULT_START_METHOD == "forkserver" and worker_tree.RUN_MARK not in os.environ:
    threading.Thread(target=_warm_up, name="pulse-forkserver-warm-up", daemon=True).start()

__all__ = ["JobError", "ProcessJob", "await_jobs", "cancel_jobs", "process_job", "run_in_process"]

P = ParamSpec("P")
Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")
Slots = Mapping[str, "Callable[..., Any] | list[Callable[..., Any]] | tuple[Callable[..., Any], ...]"]


@overload
def run_in_process(
    fn: Callable[..., Generator[Y, S, R]], *args: Any, _connect: Slots | None = None, _start: bool = True,
    _ignore_errors: bool = False, _stop_timeout: float = DEFAULT_STOP_TIMEOUT, **kwargs: Any,
) -> ProcessJob[Y, S, R]: ...  # fmt: skip
@overload
def run_in_process(
    fn: Callable[..., AsyncGenerator[Y, S]], *args: Any, _connect: Slots | None = None, _start: bool = True,
    _ignore_errors: bool = False, _stop_timeout: float = DEFAULT_STOP_TIMEOUT, **kwargs: Any,
) -> ProcessJob[Y, S, None]: ...  # fmt: skip
@overload
def run_in_process(
    fn: Callable[..., Coroutine[Any, Any, R]], *args: Any, _connect: Slots | None = None, _start: bool = True,
    _ignore_errors: bool = False, _stop_timeout: float = DEFAULT_STOP_TIMEOUT, **kwargs: Any,
) -> ProcessJob[None, None, R]: ...  # fmt: skip
@overload
def run_in_process(
    fn: Callable[..., R], *args: Any, _connect: Slots | None = None, _start: bool = True,
    _ignore_errors: bool = False, _stop_timeout: float = DEFAULT_STOP_TIMEOUT, **kwargs: Any,
) -> ProcessJob[None, None, R]: ...  # fmt: skip
@overload
def run_in_process(
    fn: str, *args: Any, _connect: Slots | None = None, _start: bool = True,
    _ignore_errors: bool = False, _stop_timeout: float = DEFAULT_STOP_TIMEOUT, **kwargs: Any,
) -> ProcessJob[Any, Any, Any]: ...  # fmt: skip
def run_in_process(
    fn: Callable[..., Any] | str,
    *args: Any,
    _connect: Slots | None = None,
    _start: bool = True,
    _ignore_errors: bool = False,
    _stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    **kwargs: Any,
) -> ProcessJob[Any, Any, Any]:
    """Run ``fn(*args, **kwargs)`` in a supervised process of its own; return its `ProcessJob`.

    ``fn`` is a module-level function (or ``"module:callable"``), or a method of an instance
    that pickles (the instance is sent): a plain function (its return value arrives in
    ``returned``), a generator function (each value in ``yielded``, then what it returns; it
    takes `ProcessJob.send`, `pause` and `resume`), or an ``async def`` function or async
    generator. Arguments and results cross the process boundary pickled: an argument that does
    not pickle is refused here, named. The job's process imports the app's main script only
    when the job needs it (its function or an argument's class is defined there), and then only
    if the script has an ``if __name__ == "__main__":`` guard.

    Options: ``_connect`` maps signal names to a slot or a list of slots, connected before the
    job starts (``_connect={"returned": show}``); ``_start=False`` leaves the start to
    `ProcessJob.start`; ``_ignore_errors=True`` keeps an error with no ``errored`` slot from
    being raised again in the GUI thread. The job is a worker like any other: it dies with the
    app, leaves no process behind, and `cancel` stops it: at once wherever it waits or runs Python
    code; one inside a long C call is killed ``_stop_timeout`` seconds after the cancel (default 5).

    Raises
    ------
    JobError
        ``fn`` cannot run in another process (a lambda, a nested function, an interactive
        definition, an instance that does not pickle), an argument cannot be sent, ``_connect``
        is not ``{signal: slot or [slots]}`` (`JobCallError`, also a TypeError), ``_stop_timeout``
        is not a positive number, there is no QApplication, or this is not the GUI thread.
    """
    if not (isinstance(_stop_timeout, (int, float)) and _stop_timeout > 0):
        raise JobError(f"_stop_timeout must be a number of seconds above 0, not {_stop_timeout!r}")
    job: ProcessJob[Any, Any, Any] = ProcessJob(
        make_call(fn, args, kwargs), stop_timeout=_stop_timeout, ignore_errors=_ignore_errors
    )
    connect_and_start(job, _connect, _start)
    return job


class _JobDecorator(Protocol):
    @overload
    def __call__(self, fn: Callable[P, Generator[Y, S, R]]) -> Callable[P, ProcessJob[Y, S, R]]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, ProcessJob[None, None, R]]: ...


@overload
def process_job(fn: Callable[P, Generator[Y, S, R]]) -> Callable[P, ProcessJob[Y, S, R]]: ...  # type: ignore[overload-overlap]
@overload
def process_job(fn: Callable[P, R]) -> Callable[P, ProcessJob[None, None, R]]: ...
@overload
def process_job(
    *, connect: Slots | None = None, start: bool = True, ignore_errors: bool = False,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
) -> _JobDecorator: ...  # fmt: skip
def process_job(
    fn: Callable[..., Any] | None = None,
    *,
    connect: Slots | None = None,
    start: bool = True,
    ignore_errors: bool = False,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
) -> Any:
    """Decorator: calling the function runs it with `run_in_process` and returns its `ProcessJob`::

        @process_job
        def count_primes(limit: int) -> int: ...

        @process_job(connect={"returned": show}, start=False, ignore_errors=True, stop_timeout=1.0)
        def frames(path: str) -> Iterator[Frame]: ...

        job = count_primes(10_000_000)

    The options are `run_in_process`'s, for every call (a call may still pass ``_connect=`` ...
    of its own). The worker process imports the decorated name and runs the function it stands
    for. The call keeps the function's signature for type checkers.
    """
    options = {"_connect": connect, "_start": start, "_ignore_errors": ignore_errors, "_stop_timeout": stop_timeout}

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def starter(*args: Any, **kwargs: Any) -> ProcessJob[Any, Any, Any]:
            return run_in_process(function, *args, **{**options, **kwargs})

        setattr(starter, JOB_FUNCTION_ATTR, function)
        return starter

    return decorate if fn is None else decorate(fn)


def _running() -> list[Job]:
    return [job for jobs in each_host() for job in jobs.jobs.values()]


def cancel_jobs() -> None:
    """Cancel every running job."""
    for job in _running():
        job.cancel()


def await_jobs(msecs: int | None = None) -> bool:
    """Run the event loop until every job has finished (``finished`` emitted), or ``msecs`` have passed.

    Returns whether none runs now. Like superqt's ``WorkerBase.await_workers``.
    """
    if QCoreApplication.instance() is None or not _running():
        return not _running()
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: loop.quit() if not _running() else None)
    poll.start(5)
    if msecs is not None:
        QTimer.singleShot(msecs, loop.quit)
    loop.exec_()
    poll.stop()
    return not _running()
