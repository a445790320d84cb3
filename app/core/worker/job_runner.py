"""The worker side of a one-call job: call a function, send what it yields, warns, returns or raises."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.spec import resolve_target
from pulse_supervisor.core.worker.traceback_text import format_exception

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pulse_supervisor.core.worker.context import WorkerContext

# Each item a job's worker sends is (kind, value). The function's own values go pickled here, in
# the job, so one that does not pickle is the job's error naming it (not an item dropped on the
# way), and one that does not load in the GUI is the GUI's error naming it (not a lost batch).
YIELDED, RETURNED, RAISED, WARNED, PAUSED, RESUMED = "yielded", "returned", "raised", "warned", "paused", "resumed"
# After RETURNED, from a spare: its process takes another job (the last left nothing behind).
READY = "ready"
JOBS_PER_PROCESS = 100  # then a fresh one: whatever a job leaks in its process is bounded
# What the GUI sends down a job's control pipe: (SEND, value), (PAUSE, None), (RESUME, None).
SEND, PAUSE, RESUME = "send", "pause", "resume"
# Set on the starter ``@process_job`` makes: the function it stands for, which the worker runs.
JOB_FUNCTION_ATTR = "__pulse_job_function__"


class UnsendableValue(TypeError):
    """A value the job yielded or returned cannot be pickled to cross to the GUI."""


def dump_value(value: Any, what: str) -> bytes:
    """Pickle ``value`` to send; raise `UnsendableValue` naming its type and the reason."""
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise UnsendableValue(
            f"the job {what} a {type(value).__module__}.{type(value).__qualname__} that cannot be sent "
            f"to the GUI's process: {type(exc).__name__}: {exc}"
        ) from None


def run_job(
    target: str, payload: bytes = b"", control: Connection | None = None, *, ctx: WorkerContext
) -> Iterator[Any]:
    """Call ``target(*args, **kwargs)`` (``payload`` pickles them); yield what it yields, then returns.

    The worker's target for a plain function or a generator function. ``control`` brings what
    the GUI sends a generator: values for ``send``, pause and resume. A Stop interrupts it
    anywhere, as any generator producer (see ``stopping``).
    """
    try:
        with _warnings_to(ctx):
            args, kwargs = pickle.loads(payload) if payload else ((), {})
            result = _function(target)(*args, **kwargs)
            if inspect.iscoroutine(result):  # a "module:callable" target named an async def
                result = asyncio.run(result)
            elif inspect.isasyncgen(result):
                raise TypeError(f"{target} is an async generator: pass the function itself, not its name")
            if inspect.isgenerator(result):
                result = yield from _drive(result, control)
        yield (RETURNED, dump_value(result, "returned"))
        ctx._writer.flush()  # the last item: not after the writer's batching delay
    except Exception as exc:
        yield (RAISED, describe_exception(exc))
        ctx._writer.flush()
        raise  # and the worker ends as a crash: traceback in its log, exit code 1


def _drive(gen: Any, control: Connection | None) -> Generator[Any, None, Any]:
    """Run the generator ``gen``, yielding (YIELDED, value) items; serve ``control`` between its values."""
    incoming = None
    try:
        while True:
            try:
                item = gen.send(incoming)
            except StopIteration as stop:  # the generator's `return value`
                return stop.value
            incoming = None
            yield (YIELDED, dump_value(item, "yielded"))
            if control is not None and control.poll():
                incoming = yield from _serve(control)
    finally:
        gen.close()


def _serve(control: Connection) -> Generator[Any, None, Any]:
    """Take what the GUI sent; while paused, wait for a resume. Return the last value sent, if any."""
    incoming = None
    paused = False
    while paused or control.poll():
        try:
            op, value = pickle.loads(control.recv_bytes())
        except EOFError:  # the GUI closed its end: nothing more will come
            return incoming
        if op == SEND:
            incoming = value
        elif op == PAUSE and not paused:
            paused = True
            yield (PAUSED, None)
        elif op == RESUME and paused:
            paused = False
            yield (RESUMED, None)
    return incoming


def spare_job(control: Connection, preload: tuple[str, ...] = (), *, ctx: WorkerContext) -> Iterator[Any]:
    """Wait, started ahead, to be handed a job down ``control``; run it as `run_job` does; perhaps another.

    ``preload``: modules to import meanwhile (those of the last jobs: the next is likely one of
    them). Once a job has returned, the process says READY and takes the next only if the job left
    nothing behind (`leftovers`): no child, no thread, the same directory, environment, argv,
    sys.path and signal handlers; otherwise it ends, as after a job that raised. A cancel kills it
    and its children in any case. At most `JOBS_PER_PROCESS` jobs, then it ends.
    """
    for module in preload:
        with contextlib.suppress(Exception):  # the job that needs it will say what is wrong
            importlib.import_module(module)
    for _ in range(JOBS_PER_PROCESS):
        handed = _next_job(control)
        if handed is None:  # the GUI let it go
            return
        before = leftovers()
        yield from run_job(*handed, control, ctx=ctx)  # a job that raised ends the process here
        if leftovers() != before:
            return
        yield (READY, None)
        ctx._writer.flush()


def _next_job(control: Connection) -> tuple[str, bytes] | None:
    """The next ``(target, payload)`` down ``control``, skipping what was sent to a job that has ended."""
    while True:
        try:
            message = pickle.loads(control.recv_bytes())
        except EOFError:
            return None
        if message[0] not in (SEND, PAUSE, RESUME):
            return message  # type: ignore[no-any-return]


def leftovers() -> tuple[Any, ...]:
    """What a job may leave in its process that would reach the next job there (compared before and after)."""
    return (
        os.getcwd(),
        dict(os.environ),
        list(sys.argv),
        list(sys.path),
        {t.ident for t in threading.enumerate()},
        _children(),
        {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)},
    )


def _children() -> set[int]:
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as f:
                found.update(map(int, f.read().split()))
    return found


async def run_async_job(
    target: str, payload: bytes = b"", control: Connection | None = None, *, ctx: WorkerContext
) -> AsyncIterator[Any]:
    """As `run_job`, for an ``async def`` function or async generator (a Stop cancels it)."""
    try:
        with _warnings_to(ctx):
            args, kwargs = pickle.loads(payload) if payload else ((), {})
            result = _function(target)(*args, **kwargs)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield (YIELDED, dump_value(item, "yielded"))
                result = None
            else:
                result = await result
        yield (RETURNED, dump_value(result, "returned"))
    except Exception as exc:
        yield (RAISED, describe_exception(exc))
        raise


@contextlib.contextmanager
def _warnings_to(ctx: WorkerContext) -> Iterator[None]:
    """Send each warning the job issues to the GUI as it happens (always: no "once" filtering)."""

    def show(
        message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        try:
            sent: Any = pickle.loads(pickle.dumps(message))
        except Exception:  # a warning carrying what does not pickle still arrives, as its text
            sent = str(message)
        ctx.emit((WARNED, (sent, f"{category.__module__}.{category.__qualname__}", filename, lineno)))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def _function(target: str) -> Callable[..., Any]:
    """Import ``target``: the function itself, where ``@process_job`` put its starter in its place."""
    fn = resolve_target(target)
    return getattr(fn, JOB_FUNCTION_ATTR, fn)


def describe_exception(exc: BaseException) -> tuple[str, str, str, bytes | None, str]:
    """Return the exception's type name, message, traceback text, itself pickled if it pickles, and its module."""
    try:
        message = str(exc)
    except Exception:  # a __str__ that raises still leaves the type and the traceback
        message = "<the exception's message could not be read>"
    text = format_exception(exc)  # bounded: a deep recursion's would take seconds whole
    original: bytes | None
    try:
        original = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(original)  # one that pickles but does not load (a bad __init__) is not sent
    except Exception:
        original = None
    return type(exc).__qualname__, message, text, original, type(exc).__module__


# The same runners, named so the launcher knows the job's process needs nothing of the app's
# main script (`job_calls` chose them): it does not import it (see `pulse_forkserver`).
run_job_main_free = run_job
run_async_job_main_free = run_async_job
MAIN_FREE_RUNNERS = frozenset(
    {f"{__name__}:run_job_main_free", f"{__name__}:run_async_job_main_free", f"{__name__}:spare_job"}
)
