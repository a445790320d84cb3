"""Producers of every shape that block in one wait each, for the stop tests (``tests.stop_waits``)."""

from __future__ import annotations

import asyncio
import linecache
import os
import queue
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

# What a producer may block in (issue 29): each is ended by a Stop in every shape.
WAITS = (
    "time.sleep", "select.select", "selectors", "Lock.acquire", "RLock.acquire", "Semaphore.acquire",
    "Condition.wait", "queue.get", "Event.wait", "socket.accept", "socket.recv", "subprocess.run",
    "Popen.wait", "Manager.Queue.get",
)  # fmt: skip
ASYNC_WAITS = ("asyncio.sleep", "awaited future", "gathered task blocks")  # async shapes only
LONG = 600.0  # longer than any test: only a stop ends these waits


def wait_in(wait: str) -> None:
    """Block the calling thread in ``wait`` for ten minutes or for ever."""
    if wait == "time.sleep":
        time.sleep(LONG)
    elif wait in ("select.select", "selectors", "socket.recv"):
        a, b = socket.socketpair()
        with a, b:
            if wait == "select.select":
                select.select([a], [], [])
            elif wait == "selectors":
                with selectors.DefaultSelector() as selector:
                    selector.register(a, selectors.EVENT_READ)
                    selector.select()
            else:
                a.recv(1024)
    elif wait == "Lock.acquire":
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()
    elif wait == "RLock.acquire":
        rlock, held = threading.RLock(), threading.Event()
        threading.Thread(target=_hold, args=(rlock, held), daemon=True).start()
        held.wait()
        rlock.acquire()
    elif wait == "Semaphore.acquire":
        threading.Semaphore(0).acquire()
    elif wait == "Condition.wait":
        condition = threading.Condition()
        with condition:
            condition.wait()
    elif wait == "queue.get":
        queue.Queue().get()
    elif wait == "Event.wait":
        threading.Event().wait()
    elif wait == "socket.accept":
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            server.accept()
    elif wait == "subprocess.run":
        subprocess.run(["sleep", str(LONG)], check=False)
    elif wait == "Popen.wait":
        subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({LONG})"]).wait()
    elif wait == "Manager.Queue.get":
        import multiprocessing

        with multiprocessing.Manager() as manager:
            manager.Queue().get()
    else:
        raise ValueError(wait)


def _hold(rlock: Any, held: threading.Event) -> None:
    rlock.acquire()  # for good: this thread owns it and never gives it back
    held.set()
    threading.Event().wait()


def generator(wait: str) -> Iterator[int]:
    """Yield 1, then block in ``wait``; say when its cleanup ran."""
    try:
        yield os.getpid()
        wait_in(wait)
    finally:
        print("cleanup done", flush=True)


def ctx_function(ctx: Any, wait: str) -> None:
    """Emit 1, then block in ``wait``; say when its cleanup ran."""
    try:
        ctx.emit(os.getpid())
        wait_in(wait)
    finally:
        print("cleanup done", flush=True)


def sigterm_caught_off_the_main_thread() -> Iterator[int]:
    """Yield, block in ``Event.wait``; a thread of its own then catches a SIGTERM sent to it alone.

    What the kernel may do with a SIGTERM sent to the process: hand it to any thread. Python
    notes it there without waking the main thread, blocked in a wait it would never leave.
    """
    main = threading.main_thread().ident
    assert main is not None

    def signal_once_main_waits() -> None:
        while True:  # until the main thread is inside Condition.wait's blocking acquire
            frame = sys._current_frames().get(main)
            if frame is not None and frame.f_code.co_filename == threading.__file__:
                if linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip() == "waiter.acquire()":
                    break
            time.sleep(0.005)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    try:
        yield os.getpid()
        threading.Thread(target=signal_once_main_waits, daemon=True).start()
        threading.Event().wait()
    finally:
        print("cleanup done", flush=True)


async def async_generator(wait: str) -> AsyncIterator[int]:
    """Yield 1, then wait in ``wait`` (a blocking one blocks the event loop); say when its cleanup ran."""
    try:
        yield os.getpid()
        await _async_wait_in(wait)
    finally:
        print("cleanup done", flush=True)


async def async_ctx(ctx: Any, wait: str) -> None:
    """``async def f(ctx)``: emit 1, then wait in ``wait``; say when its cleanup ran."""
    try:
        ctx.emit(os.getpid())
        await _async_wait_in(wait)
    finally:
        print("cleanup done", flush=True)


async def _async_wait_in(wait: str) -> None:
    if wait == "asyncio.sleep":
        await asyncio.sleep(LONG)
    elif wait == "awaited future":
        await asyncio.get_running_loop().create_future()
    elif wait == "gathered task blocks":  # a task of the producer's blocks the loop in time.sleep
        await asyncio.gather(_blocks_the_loop(), asyncio.sleep(LONG))
    else:
        wait_in(wait)  # blocks the whole event loop, as careless code does


async def _blocks_the_loop() -> None:
    wait_in("time.sleep")


def busy_between_checks(ctx: Any, step: float = 0.3) -> None:
    """A ctx function computing in Python between its checks of ``ctx.stopping``, never waiting."""
    rounds = 0
    ctx.emit(os.getpid())
    try:
        while not ctx.stopping:
            _compute(step)
            rounds += 1
    except BaseException as exc:
        print(f"interrupted by {type(exc).__name__} in round {rounds + 1}", flush=True)
        raise
    print(f"finished round {rounds}", flush=True)


def ignores_the_stop(ctx: Any) -> None:
    """A ctx function computing in Python for ever, never looking at ``ctx.stopping``."""
    ctx.emit(os.getpid())
    try:
        while True:
            _compute(1.0)
    finally:
        print("cleanup done", flush=True)


def _compute(seconds: float) -> int:
    """Busy in Python (calls and loops, no wait) for ``seconds``."""
    x, end = 1, time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(1000):
            x = _step(x)
    return x


def _step(x: int) -> int:
    return (x * 7 + 3) % 1_000_003


def long_c_call() -> Iterator[int]:
    """Yield, then run one C call that checks no signal for far longer than any test."""
    try:
        yield os.getpid()
        sum(range(10**13))
    finally:
        print("cleanup done", flush=True)


def talks_to_its_child_when_stopped() -> Iterator[int]:
    """Start a child that echoes a line; block; when stopped, talk to the child in ``finally``."""
    echo = "import sys; sys.stdout.write(sys.stdin.readline()); sys.stdout.flush()"
    child = subprocess.Popen([sys.executable, "-c", echo], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        yield child.pid
        time.sleep(LONG)
    finally:
        child.stdin.write(b"goodbye\n")
        child.stdin.flush()
        print(f"the child said {child.stdout.readline().decode().strip()}", flush=True)
        child.wait()


def uses_a_manager_between_rounds(ctx: Any) -> None:
    """A ctx function that computes, then records each round in a ``multiprocessing.Manager()`` dict."""
    import multiprocessing

    with multiprocessing.Manager() as manager:
        shared = manager.dict(rounds=0)
        ctx.emit(os.getpid())
        while not ctx.stopping:
            _compute(0.05)
            shared["rounds"] += 1
        print(f"the manager counted {shared['rounds']} rounds", flush=True)
