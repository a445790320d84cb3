"""The worker side of a one-call job: call a function, send what it yields, returns or raises."""

from __future__ import annotations

import asyncio
import inspect
import pickle
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from pulse_supervisor.core.spec import resolve_target
from pulse_supervisor.core.worker.traceback_text import format_exception

# Each item a job's worker sends is (kind, value): the function's own items are wrapped, so any
# value it yields, a tuple like these included, reaches the caller as it was.
YIELDED, RETURNED, RAISED = "yielded", "returned", "raised"
# Set on the starter ``@process_job`` makes: the function it stands for, which the worker runs.
JOB_FUNCTION_ATTR = "__pulse_job_function__"


def run_job(target: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Iterator[Any]:
    """Call ``target(*args, **kwargs)``; yield each value it yields, then what it returned.

    The worker's target for a plain function or a generator function. A Stop interrupts it
    anywhere, as any generator producer (see ``stopping``).
    """
    try:
        result = _function(target)(*args, **(kwargs or {}))
        if inspect.iscoroutine(result):  # a "module:callable" target named an async def
            result = asyncio.run(result)
        elif inspect.isasyncgen(result):
            raise TypeError(f"{target} is an async generator: pass the function itself, not its name")
        if inspect.isgenerator(result):
            gen = result
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:  # the generator's `return value`
                    result = stop.value
                    break
                yield (YIELDED, item)
        yield (RETURNED, result)
    except Exception as exc:
        yield (RAISED, describe_exception(exc))
        raise  # and the worker ends as a crash: traceback in its log, exit code 1


async def run_async_job(
    target: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> AsyncIterator[Any]:
    """As `run_job`, for an ``async def`` function or async generator (a Stop cancels it)."""
    try:
        result = _function(target)(*args, **(kwargs or {}))
        if inspect.isasyncgen(result):
            async for item in result:
                yield (YIELDED, item)
            result = None
        else:
            result = await result
        yield (RETURNED, result)
    except Exception as exc:
        yield (RAISED, describe_exception(exc))
        raise


def _function(target: str) -> Callable[..., Any]:
    """Import ``target``: the function itself, where ``@process_job`` put its starter in its place."""
    fn = resolve_target(target)
    return getattr(fn, JOB_FUNCTION_ATTR, fn)


def describe_exception(exc: BaseException) -> tuple[str, str, str, BaseException | None]:
    """Return the exception's type name, message and traceback text, and itself if it pickles."""
    try:
        message = str(exc)
    except Exception:  # a __str__ that raises still leaves the type and the traceback
        message = "<the exception's message could not be read>"
    text = format_exception(exc)  # bounded: a deep recursion's would take seconds whole
    try:
        pickle.loads(pickle.dumps(exc))
        original: BaseException | None = exc
    except Exception:
        original = None
    return type(exc).__qualname__, message, text, original
