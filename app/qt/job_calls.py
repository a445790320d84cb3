"""Checking a ``run_in_process`` call before anything starts: its function, arguments, main script, slots, thread."""

from __future__ import annotations

import ast
import inspect
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from qtpy.QtCore import QCoreApplication, QThread

from pulse_supervisor.core.config.target_probe import target_of
from pulse_supervisor.core.errors import JobCallError, JobError
from pulse_supervisor.core.worker.job_runner import JOB_FUNCTION_ATTR
from pulse_supervisor.core.worker.producer_shapes import shape_of

RUNNER = "pulse_supervisor.core.worker.job_runner:run_job"
ASYNC_RUNNER = "pulse_supervisor.core.worker.job_runner:run_async_job"
# The same runners under names that tell the launcher the job needs nothing of the app's main
# script: its process does not import it (a script that imports Qt at its top cost every job
# 75 ms, and one without a __main__ guard ran itself again, QApplication and all, and hung).
MAIN_FREE = {
    RUNNER: "pulse_supervisor.core.worker.job_runner:run_job_main_free",
    ASYNC_RUNNER: "pulse_supervisor.core.worker.job_runner:run_async_job_main_free",
}
GUARD_ADVICE = 'put the script\'s own start-up under `if __name__ == "__main__":`'


@dataclass(frozen=True)
class JobCall:
    """A call checked and ready to send: what the job's process runs, with what."""

    target: str  # "module:qualname" of the function the job runs
    runner: str  # the job_runner function the worker runs
    payload: bytes  # (args, kwargs), pickled
    fn: Callable[..., Any] | None  # the function itself (None for a "module:callable" string)
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    is_generator: bool  # takes values (send) and pauses; also True when not known (a string)


def make_call(fn: Callable[..., Any] | str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> JobCall:
    """Check ``fn(*args, **kwargs)`` can run in another process; raise `JobCallError` saying why not."""
    if isinstance(fn, str):
        payload = _payload(args, kwargs)
        return JobCall(fn, _runner(RUNNER, fn, payload), payload, None, args, kwargs, True)
    if not callable(fn):
        raise JobCallError(f"{fn!r} is not callable (a {type(fn).__name__})")
    real = getattr(fn, JOB_FUNCTION_ATTR, fn)  # a @process_job starter stands for its function
    if inspect.ismethod(real) and not isinstance(real.__self__, type):  # bound to an instance: send it
        instance = real.__self__
        try:
            pickle.dumps(instance, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise JobCallError(
                f"{real.__qualname__} is bound to a {type(instance).__qualname__} that cannot be sent to the "
                f"job's process ({type(exc).__name__}: {exc}): pass a module-level function and what it needs"
            ) from None
        target, reason = target_of(real.__func__)
        args = (instance, *args)
    else:  # a function, or a classmethod (its class is found by name in the job)
        target, reason = target_of(real)
    if reason:
        raise JobCallError(reason)
    shape = shape_of(real)
    payload = _payload(args, kwargs)
    runner = _runner(ASYNC_RUNNER if shape in ("async", "async generator") else RUNNER, target, payload)
    return JobCall(target, runner, payload, real, args, kwargs, shape == "generator")


def _payload(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """Pickle the arguments once, here; one that does not pickle is named (a lock, a QObject, a file)."""
    try:
        return pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        pass
    for what, value in [*((f"argument {i + 1}", a) for i, a in enumerate(args)), *_named(kwargs)]:
        try:
            pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise JobCallError(
                f"{what} (a {type(value).__module__}.{type(value).__qualname__}) cannot be sent to the job's "
                f"process: {type(exc).__name__}: {exc}"
            ) from None
    raise JobCallError("the arguments cannot be sent to the job's process together (pickle failed on the whole)")


def _named(kwargs: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in kwargs.items():
        yield f"keyword argument {key!r}", value


def _runner(runner: str, target: str, payload: bytes) -> str:
    """The runner, told whether the job's process must import the app's main script (and refuse if unsafe)."""
    if not target.startswith("__main__:") and b"__main__" not in payload:
        return MAIN_FREE[runner]
    problem = main_guard_problem()
    if problem:
        raise JobCallError(problem)
    return runner


_guard_checked: dict[tuple[str, float], bool] = {}


def main_guard_problem() -> str | None:
    """Why the job's process could not import the main script safely: it starts the app unguarded."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None
    try:
        key = (str(path), os.stat(path).st_mtime)
        if key not in _guard_checked:
            with open(path, "rb") as f:
                _guard_checked[key] = _has_guard(ast.parse(f.read()))
    except (OSError, SyntaxError, ValueError):
        return None  # not readable as a script: let the job's process say what it finds
    if _guard_checked[key]:
        return None
    return (
        f"the job needs the main script {os.path.basename(path)} (its function or an argument's class is "
        f"defined there), and its process would run the whole script again: {GUARD_ADVICE}, or move "
        "the job's function and classes into a module"
    )


def _has_guard(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            sides = [node.test.left, *node.test.comparators]
            names = {s.id for s in sides if isinstance(s, ast.Name)}
            values = {s.value for s in sides if isinstance(s, ast.Constant)}
            if "__name__" in names and "__main__" in values:
                return True
    return False


def check_connect(connect: Mapping[str, Any] | None, signals: tuple[str, ...]) -> list[tuple[str, Callable[..., Any]]]:
    """Return ``connect``'s (signal, slot) pairs: ``{signal: slot or [slots]}``; raise `JobCallError` if bad."""
    if connect is None:
        return []
    if not isinstance(connect, Mapping):
        raise JobCallError(f"connect must be a dict of signal name to slot(s), not a {type(connect).__name__}")
    pairs = []
    for name, value in connect.items():
        if name not in signals:
            raise JobCallError(f"connect: {name!r} is not a signal of a job (one of {', '.join(signals)})")
        slots = list(value) if isinstance(value, (list, tuple)) else [value]
        for slot in slots:
            if not callable(slot):
                raise JobCallError(f"connect[{name!r}] must be a function or a list of functions, not {slot!r}")
            pairs.append((name, slot))
    return pairs


def check_thread() -> None:
    """Refuse a job the GUI thread would not hear from: no QApplication, or called from another thread."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise JobError(f"run_in_process was called while a job's process ran the main script again: {GUARD_ADVICE}")
    app = QCoreApplication.instance()
    if app is None:
        raise JobError("run_in_process needs a QApplication (create one first)")
    if QThread.currentThread() != app.thread():
        raise JobError(
            "run_in_process must be called in the GUI thread, where its signals are delivered: from another "
            "thread, emit a signal connected to a slot that starts the job"
        )
