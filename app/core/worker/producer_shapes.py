"""Every producer shape users write, driven in the worker: generators, iterators, ctx functions, async.

- a generator function (``yield``): each value is sent (``value = yield item`` gets the next
  message Pulse sent it, None when none waits); a stop is raised where it waits (its
  own code, ``time.sleep``, ``queue.get``, a socket...), or lands after the current item;
- a function returning an iterable: the same;
- ``def f(ctx)`` calling ``ctx.emit``: called once; a stop sets ``ctx.stopping``, and is raised
  where it blocks (``time.sleep``, a lock, ``select``, ``queue.get``, a socket...), or, once half
  its ``stop_timeout`` has passed, anywhere in its code;
- an ``async def`` generator, or ``async def f(ctx)``: run in an event loop of its own; a stop
  cancels its task, or is raised as CancelledError where one of its coroutines blocks the loop,
  so its ``finally`` blocks run and what it sent so far is delivered.

Anything else (a plain function that returns None, or a value that is not iterable) would
exit 0 having done nothing: it is an error that says what the target is and what it returned.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.errors import PulseError
from pulse_supervisor.core.worker import stopping

if TYPE_CHECKING:
    from pulse_supervisor.core.worker.context import WorkerContext


class NotAProducer(PulseError, TypeError):
    """The target is not a shape Pulse can run as a producer."""


def shape_of(target: Callable[..., Any]) -> str:
    """Return ``target``'s shape: "generator", "async generator", "async" or "function"; raise if not callable."""
    if not callable(target):
        raise NotAProducer(f"{target!r} is not callable (a {type(target).__name__})")
    if inspect.isasyncgenfunction(target):
        return "async generator"
    if inspect.iscoroutinefunction(target):
        return "async"
    if inspect.isgeneratorfunction(target):
        return "generator"
    return "function"


def takes_ctx(target: Callable[..., Any]) -> bool:
    """Return whether ``target`` takes the worker context as ``ctx``."""
    try:
        return "ctx" in inspect.signature(target).parameters
    except (TypeError, ValueError):  # a builtin without a signature: no ctx
        return False


def stop_mode(target: Callable[..., Any]) -> str:
    """Return where a stop may be raised in ``target`` (see `stopping.install_stop_handler`)."""
    shape = shape_of(target)
    if shape in ("async generator", "async"):
        return stopping.IN_TASKS  # its task is cancelled; raised only where a coroutine blocks the loop
    return stopping.AT_WAITS if takes_ctx(target) and shape == "function" else stopping.ANYWHERE


# The producer generator being drained: a stack dump taken while the main thread sends an item
# (the generator paused at its yield, off the stack) shows where the producer is paused.
current: Any = None


def run_producer(target: Callable[..., Any], kwargs: dict[str, Any], ctx: WorkerContext) -> None:
    """Call ``target`` with ``kwargs`` and drive what it gives, sending items through ``ctx``.

    Raises
    ------
    NotAProducer
        When the call gave nothing Pulse can run (None from a function without ``ctx``, or a
        value that is not iterable).
    """
    _run(target, kwargs, ctx)
    _join_producer_threads()


def _join_producer_threads() -> None:
    """Wait for the threads the producer started and left running, as Python does at exit.

    A ``ctx`` function may hand its work to a thread and return: what that thread emits is
    delivered (the channel closes after), and a stop still interrupts this wait.
    """
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()


def _run(target: Callable[..., Any], kwargs: dict[str, Any], ctx: WorkerContext) -> None:
    shape = shape_of(target)
    if shape in ("async generator", "async"):
        _run_async(lambda: target(**kwargs), shape, ctx)
        return
    result = target(**kwargs)
    if result is None:
        if shape == "function" and not takes_ctx(target):
            name = getattr(target, "__qualname__", repr(target))
            raise NotAProducer(
                f"{name} returned None without sending anything: a producer yields its items (a generator), "
                "returns an iterable, or takes a ctx argument and calls ctx.emit(item)"
            )
        return
    if isinstance(result, (str, bytes, bytearray)) or not hasattr(result, "__iter__"):
        raise NotAProducer(f"the producer returned {_short_repr(result)} ({type(result).__name__}), not an iterable")
    drain(iter(result), ctx)


def drain(gen: Any, ctx: WorkerContext) -> None:
    """Send each value of the iterator ``gen``; stop between items once a stop is asked."""
    global current
    current = gen
    emit = ctx._writer.emit  # the hot path: one call per item, not two
    stop = ctx.stopping
    box = ctx.inbox
    waiting = box.queue
    send = getattr(gen, "send", None)  # a generator: `value = yield item` gets the messages
    try:
        for item in gen:
            emit(item)
            # One test of a deque per item: the messages, when there are any, go in by `send`,
            # each the value of one `yield` (the others give None, as under a `for`).
            while waiting and send is not None and not stop._set:
                try:
                    item = send(box.take())
                except StopIteration:
                    return
                emit(item)
            if stop._set:
                stop.delivered = True  # by the close below: a raise must not cut its finally short
                break
    finally:
        close = getattr(gen, "close", None)
        if close is not None:
            close()


def _run_async(make: Callable[[], Any], shape: str, ctx: WorkerContext) -> None:
    """Run the coroutine or async generator ``make()`` gives in a new event loop; a stop cancels it."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        stop = ctx.stopping

        def cancel() -> None:
            if not stop.delivered:  # else raised in its own code already: a cancel would cut its cleanup
                stop.delivered = True
                task.cancel()

        # From the signal handler, which may come after asyncio.run closed the loop.
        stop.call_on_set(lambda: loop.is_closed() or loop.call_soon_threadsafe(cancel))
        try:
            if shape == "async generator":
                await _drain_async(make(), ctx)
            else:
                await make()
        except asyncio.CancelledError:
            if not ctx.stopping:
                raise  # cancelled by the producer's own code: an error like any other

    asyncio.run(main())


async def _drain_async(agen: Any, ctx: WorkerContext) -> None:
    emit = ctx._writer.emit
    stop = ctx.stopping
    box = ctx.inbox
    waiting = box.queue
    try:
        async for item in agen:
            emit(item)
            while waiting and not stop._set:  # as `drain`: a message is the value of one `yield`
                try:
                    item = await agen.asend(box.take())
                except StopAsyncIteration:
                    return
                emit(item)
            if stop._set:
                stop.delivered = True  # by the aclose below, not also by a cancel
                break
    finally:
        await agen.aclose()


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the real error
        return f"<{type(value).__name__} whose repr raised {type(exc).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."
