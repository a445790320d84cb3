"""Where the worker bootstrap may raise a graceful stop inside the producer, and where not."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from multiprocessing import Pipe

from pulse_supervisor.core.wire import channel
from pulse_supervisor.core.worker import bootstrap, producer_shapes, stop_points, stopping
from pulse_supervisor.core.worker.context import WorkerContext
from pulse_supervisor.core.worker.stop_points import interruptible

OWN = bootstrap.__file__
DRIVER = producer_shapes.__file__  # what calls a generator producer
USER = "/home/someone/feeds/ticker.py"


def test_a_stop_interrupts_the_producers_own_code():
    assert interruptible([USER, OWN])  # e.g. sleeping in time.sleep (C): the producer's frame
    assert interruptible([USER, "/venv/lib/python3.11/site-packages/requests/api.py", USER, OWN])


def test_a_stop_never_lands_in_standard_library_lock_code():
    # Raised between Condition.__enter__'s acquire and the `with` body, the lock stays held
    # and the worker's final flush deadlocks (seen live: Event.set called by ChannelWriter.emit).
    assert not interruptible([threading.__file__, threading.__file__, USER, OWN])
    assert not interruptible([logging.__file__, USER, OWN])
    assert not interruptible(["<frozen importlib._bootstrap>", USER, OWN])


def test_a_stop_never_lands_in_pulses_own_code():
    assert not interruptible([OWN])  # the bootstrap itself, between two statements
    assert not interruptible([threading.__file__, channel.__file__])  # the writer's Event.set
    assert not interruptible([channel.__file__])
    assert not interruptible([])


def test_frames_are_read_up_to_the_first_of_pulses_own():
    """From inside a running producer, as the SIGTERM handler sees it."""
    seen: list[list[str]] = []

    @contextlib.contextmanager
    def in_stdlib():  # contextlib (standard library) calls this generator's body
        seen.append(stop_points.files_until_own(sys._getframe()))
        yield

    def producer():
        seen.append(stop_points.files_until_own(sys._getframe()))
        with in_stdlib():
            pass
        yield 1

    reader, writer_end = Pipe(duplex=False)
    writer = channel.ChannelWriter(writer_end)
    try:
        producer_shapes.drain(producer(), WorkerContext("w", writer))
    finally:
        writer.close()
        writer_end.close()
        reader.close()
    direct, via_stdlib = seen
    assert direct == [__file__, DRIVER] and interruptible(direct)
    assert via_stdlib == [__file__, contextlib.__file__, __file__, DRIVER] and not interruptible(via_stdlib)


def _inner():
    yield "inner"


def _outer():
    yield from _inner()


def test_a_stack_taken_while_an_item_is_sent_shows_where_the_producer_paused(monkeypatch):
    gen = _outer()
    next(gen)  # paused inside _inner, off every thread's stack, as while the main thread sends
    assert [f.name for f in bootstrap._paused_at(gen)] == ["_outer", "_inner"]
    monkeypatch.setattr(producer_shapes, "current", gen)
    monkeypatch.setattr(bootstrap, "_is_plumbing", lambda filename: True)  # the main thread: all Pulse
    text = bootstrap.format_stacks()
    main = text.split("\n\n")[0]
    assert main.startswith("Thread MainThread") and "in _outer" in main and "in _inner" in main
    assert "(paused at its yield while Pulse sends the item)" in main
    gen.close()
    assert "paused at its yield" not in bootstrap.format_stacks()  # a finished producer: nothing to show


def test_code_made_from_a_string_is_the_producers_but_frozen_code_never():
    import multiprocessing.connection
    import multiprocessing.managers

    # A Manager proxy's methods are exec'd from a string: its queue's get waits in a connection read.
    to_a_wait = [multiprocessing.connection.__file__] * 3 + [multiprocessing.managers.__file__, "<string>", USER, OWN]
    assert interruptible(to_a_wait, waiting=True)
    assert not interruptible(["<frozen importlib._bootstrap>", USER, OWN], waiting=True)
    assert interruptible(["<string>", USER, OWN])  # e.g. a dataclass's generated __init__


def test_reading_the_flag_true_means_the_producer_has_seen_the_stop():
    flag = stopping.StopFlag()
    assert not flag and not flag.delivered  # read before a stop: nothing seen
    flag.set()
    assert not flag.delivered
    assert flag and flag.delivered  # from here on a stop is not raised in its own way out


def test_in_an_async_producer_a_stop_lands_in_its_coroutines_never_in_the_loop_or_a_callback():
    import asyncio

    found: dict[str, object] = {}

    def look(name):
        found[name] = stop_points.task_at(sys._getframe(1))

    async def child():
        look("gathered task")

    async def producer(ctx):
        look("own task")
        asyncio.get_running_loop().call_soon(look, "plain callback")
        await asyncio.gather(child(), asyncio.sleep(0))

    reader, writer_end = Pipe(duplex=False)
    writer = channel.ChannelWriter(writer_end)
    try:
        producer_shapes._run_async(lambda: producer(WorkerContext("w", writer)), "async", WorkerContext("w", writer))
    finally:
        writer.close()
        writer_end.close()
        reader.close()
    assert found["own task"] is stop_points.OWN_TASK
    assert isinstance(found["gathered task"], asyncio.Task)
    assert found["plain callback"] is None  # a CancelledError there would be logged by asyncio as an error
