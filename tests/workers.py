"""Worker targets only the tests need (importable by worker processes as ``tests.workers``)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any


def with_child(interval: float = 0.05) -> Iterator[int]:
    """Start a grandchild process (sleeping) and yield its pid, then count."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield child.pid
    for n in itertools.count():
        yield n
        time.sleep(interval)


def unpicklable_every(n: int = 3, count: int = 9) -> Iterator[Any]:
    """Yield ints, with a lambda (unpicklable) in place of every ``n``-th one."""
    for i in range(count):
        yield (lambda: None) if i % n == n - 1 else i


def exit_with(code: int = 3) -> Iterator[int]:
    """Yield one item, then exit with ``code`` (via SystemExit)."""
    yield 1
    raise SystemExit(code)


def tight_loop() -> Iterator[int]:
    """Yield once, then spin in pure Python forever (for stack dumps)."""
    yield os.getpid()
    x = 0
    while True:
        x = spin_step(x)


def spin_step(x: int) -> int:
    """One step of busy work, a named frame to find in a stack dump."""
    for i in range(1000):
        x = (x + i) % 1_000_003
    return x


def flat_out(value: float = 1.0) -> Iterator[tuple[int, float]]:
    """Yield (n, value) as fast as possible."""
    for n in itertools.count():
        yield (n, value)


def announce_pid(path: str, interval: float = 0.2) -> Iterator[int]:
    """Write our pid to ``path`` (a FIFO the test reads), then tick for ever."""
    with open(path, "w") as fifo:
        fifo.write(f"{os.getpid()}\n")
    for n in itertools.count():
        yield n
        time.sleep(interval)


def fork_and_exit() -> Iterator[int]:
    """Fork a grandchild that inherits our channel's write end, yield its pid, and return."""
    pid = os.fork()
    if pid == 0:  # the grandchild: hold the fds for a while, as a careless subprocess would
        time.sleep(600)  # longer than the test timeout: a blocking read would hang the test
        os._exit(0)
    yield pid


def surrogate_talker(interval: float = 0.05) -> Iterator[int]:
    """Log, print and warn a non-UTF-8 file name (a lone surrogate after os.fsdecode), then count."""
    import logging

    name = os.fsdecode(b"caf\xe9.txt")
    logging.warning("file %s", name)
    print(f"printed {name}", flush=True)
    for n in itertools.count():
        yield n
        time.sleep(interval)


def family(then: str = "sleep", path: str | None = None) -> Iterator[list[int]]:
    """Start every kind of child a worker may have, yield their pids, then ``then``.

    The children: a subprocess, a bare fork, a multiprocessing child, one that called setsid,
    and one that ignores SIGTERM; each sleeps for ten minutes. ``then``: "sleep" (until
    stopped), "return", "crash", or "segfault". With ``path``, the pids also go to that FIFO.
    """
    import multiprocessing
    import signal

    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    deaf_code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(600)"
    )
    pids = [subprocess.Popen(sleeper).pid, subprocess.Popen(sleeper, start_new_session=True).pid]
    deaf_child = subprocess.Popen([sys.executable, "-c", deaf_code], stdout=subprocess.PIPE)
    deaf_child.stdout.readline()  # its SIGTERM is ignored from here on
    pids.append(deaf_child.pid)
    forked = os.fork()
    if forked == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        time.sleep(600)
        os._exit(0)
    pids.append(forked)
    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(600,))
    child.start()
    pids.append(child.pid)
    if path is not None:
        with open(path, "w") as fifo:
            fifo.write("".join(f"{pid}\n" for pid in [os.getpid(), *pids]))
    yield pids
    if then == "return":
        return
    if then == "crash":
        raise RuntimeError("crashed with children")
    if then == "segfault":
        import ctypes

        ctypes.string_at(0)
    while True:
        time.sleep(1)


def square(x: int) -> int:
    """Square ``x`` (a pool's task: a module-level function, so it pickles)."""
    return x * x


def pool_user(method: str = "forkserver", executor: bool = False) -> Iterator[int]:
    """Fan out over a pool of two processes (multiprocessing.Pool, or a ProcessPoolExecutor), yield the sum."""
    import multiprocessing

    ctx = multiprocessing.get_context(method)
    if executor:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(2, mp_context=ctx) as pool:
            yield sum(pool.map(square, range(10)))
    else:
        with ctx.Pool(2) as pool:
            yield sum(pool.map(square, range(10)))


def block_in(wait: str) -> None:
    """Block the calling thread in the standard library wait named ``wait`` (for ten minutes or for ever)."""
    import asyncio
    import concurrent.futures
    import multiprocessing
    import queue
    import socket
    import threading

    if wait == "queue.get":
        queue.Queue().get()
    elif wait == "Event.wait":
        threading.Event().wait()
    elif wait == "Thread.join":
        worker = threading.Thread(target=time.sleep, args=(600,), daemon=True)
        worker.start()
        worker.join()
    elif wait == "socket.accept":
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            server.accept()
    elif wait == "socket.readline":
        a, b = socket.socketpair()
        with a, b, a.makefile("rb") as lines:
            lines.readline()
    elif wait == "asyncio.run":
        asyncio.run(asyncio.sleep(600))
    elif wait == "Future.result":
        concurrent.futures.Future().result()
    elif wait == "multiprocessing.Queue.get":
        multiprocessing.get_context("spawn").Queue().get()
    elif wait == "Popen.wait":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]).wait()
    elif wait == "time.sleep":
        time.sleep(600)
    else:
        raise ValueError(wait)


def blocked_generator(wait: str) -> Iterator[int]:
    """Yield 1, then block in ``wait``; say when its cleanup ran."""
    try:
        yield 1
        block_in(wait)
    finally:
        print("cleanup done", flush=True)


def blocked_ctx(ctx: Any, wait: str) -> None:
    """Emit 1, then block in ``wait`` (a ctx function); say when its cleanup ran."""
    try:
        ctx.emit(1)
        block_in(wait)
    finally:
        print("cleanup done", flush=True)


async def async_ticks(interval: float = 0.01) -> Any:
    """An async generator: yield a count every ``interval`` seconds; say when its cleanup ran."""
    import asyncio

    try:
        for n in itertools.count():
            yield n
            await asyncio.sleep(interval)
    finally:
        print("cleanup done", flush=True)


async def async_ctx(ctx: Any, interval: float = 0.01) -> None:
    """An ``async def f(ctx)``: emit a count every ``interval`` seconds; say when its cleanup ran."""
    import asyncio

    try:
        for n in itertools.count():
            ctx.emit(n)
            await asyncio.sleep(interval)
    finally:
        print("cleanup done", flush=True)


def returns_iterator(count: int = 5) -> Iterator[int]:
    """A plain function (no yield) that returns an iterator."""
    return iter(range(count))


def returns_none() -> None:
    """A plain function that does nothing a producer should: Pulse must say so."""


def returns_number() -> int:
    """A plain function that returns a value that is not iterable."""
    return 42


def exits_with_message() -> Iterator[int]:
    """Yield once, then sys.exit with a message."""
    yield 1
    sys.exit("the feed's credentials expired")


class BrokenRepr:
    """An item whose __repr__ raises (it pickles, and unpickles in the GUI: importable there)."""

    def __repr__(self) -> str:
        raise RuntimeError("this repr is broken")


def hostile_items(interval: float = 0.02) -> Iterator[Any]:
    """Yield an item with a broken repr, a list of a million floats, then count; log a non-UTF-8 name."""
    import logging

    yield BrokenRepr()
    yield [0.5] * 1_000_000
    logging.warning("file %s", os.fsdecode(b"caf\xe9.txt"))
    for n in itertools.count():
        yield BrokenRepr() if n % 2 else n
        time.sleep(interval)


def configures_logging(path: str) -> Iterator[int]:
    """Set logging up as a script would (basicConfig to a file, DEBUG), log, and yield once."""
    import logging

    logging.basicConfig(level=logging.DEBUG, filename=path, format="%(levelname)s %(message)s")
    logging.getLogger("feed").debug("debug line for the file")
    yield 1


def emits_from_a_thread(ctx: Any, count: int = 50) -> None:
    """A ctx function that starts a (non-daemon) thread emitting ``count`` items, and returns at once."""
    import threading

    def send() -> None:
        for n in range(count):
            ctx.emit(n)
            time.sleep(0.002)

    threading.Thread(target=send).start()


def _fails_to_load() -> None:
    raise ValueError("refuses to load")


class LoadsBadly:
    """Pickles fine; unpickling calls a function that raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_fails_to_load, ())


def some_items_do_not_load(count: int = 1000) -> Iterator[Any]:
    """Yield ``count`` ints (one batch, unless preempted), with an object of a class that exists
    only in this process at 100, and one whose unpickling raises at 500 and at the very end."""
    import types

    only_here = types.ModuleType("pulse_worker_only_module")
    exec("class Secret:\n    pass\n", only_here.__dict__)
    only_here.Secret.__module__ = "pulse_worker_only_module"
    sys.modules["pulse_worker_only_module"] = only_here
    for n in range(count):
        if n == 100:
            yield only_here.Secret()
        elif n in (500, count - 1):
            yield LoadsBadly()
        else:
            yield n


def accepts_anything(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """A target that takes any keyword arguments (for config tests): yields them once."""
    yield kwargs


def gc_state() -> Iterator[bool]:
    """Yield whether cyclic garbage collection is on in this worker."""
    import gc

    yield gc.isenabled()


def last_words(then: str = "exit") -> Iterator[int]:
    """Yield once, print, then end abruptly: os._exit, a segfault or os.abort."""
    yield 1
    print("last words before the end")
    if then == "exit":
        os._exit(3)
    if then == "segfault":
        import ctypes

        ctypes.string_at(0)
    os.abort()


def progress_bar() -> Iterator[int]:
    """Redraw a progress line with carriage returns (tqdm-style), newline only at the end."""
    for pct in (10, 20, 30):
        sys.stderr.write(f"\rworking {pct}%")
        sys.stderr.flush()
        yield pct
    sys.stderr.write("\rdone\r\n")
    sys.stderr.flush()


def long_line(megabytes: int = 20) -> Iterator[int]:
    """Write one line of ``megabytes`` MB with no newline, then a short line."""
    chunk = "x" * (1024 * 1024)
    for _ in range(megabytes):
        sys.stdout.write(chunk)
    sys.stdout.write("\nafter the long line\n")
    sys.stdout.flush()
    yield 1


def own_classes(count: int = 1) -> Iterator[Any]:
    """Yield objects of `tests.item_classes` (a module Pulse's process must never import), then ints."""
    os.environ["PULSE_TEST_ITEM_CLASSES"] = "1"
    from tests import item_classes as ic

    for _ in range(count):
        yield ic.Point(1.5, 2)
        yield ic.Pair(3, 4)
        yield ic.Colour.RED
        yield ic.Holder(ic.Point(5, 6), ic.Node())
        yield [ic.Point(7, 8), 9]
        yield ic.ExitsWhenLoaded()
        yield 10


def foreign_frame(ctx: Any) -> None:
    """Write one batch with the standard pickler, as a foreign or hostile writer would: 1, an object
    whose loading calls sys.exit, 3; then emit 4 through Pulse's writer."""
    import pickle

    from pulse_supervisor.core.wire import channel

    class ExitsWhenLoaded:
        def __reduce__(self) -> tuple[Any, ...]:
            return (sys.exit, ("loaded in Pulse",))

    writer = ctx._writer
    with writer._lock:
        frame = pickle.dumps((channel.ITEMS, 0, [1, ExitsWhenLoaded(), 3], time.monotonic_ns()))
        writer._conn.send_bytes(frame)
        writer.sent = 3
    ctx.emit(4)


def gated_reading() -> Iterator[Any]:
    """Yield one `tests.gated_import.Reading` (a module whose import hangs in the tests' process), then 2."""
    os.environ["PULSE_TEST_GATED_WORKER"] = "1"
    from tests.gated_import import Reading

    yield Reading(1.5)
    yield 2


def escapee(lifetime: float = 60.0) -> Iterator[int]:
    """Leave a descendant Pulse's sweep cannot tell from a stranger's, yield its pid, then sleep.

    The child calls ``setsid``, clears its environment and forks again: the grandchild is in no
    process group or session of the worker's, is no session leader and carries no mark. Killed
    abruptly, the worker leaves it under the forkserver, holding every descriptor the worker
    had. It ends by itself after ``lifetime`` seconds, should a test fail to end it.
    """
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.setsid()
        os.environ.clear()
        if os.fork() == 0:
            os.write(w, f"{os.getpid()}\n".encode())
            time.sleep(lifetime)
        os._exit(0)
    os.close(w)
    os.waitpid(child, 0)
    with os.fdopen(r, "rb") as reader:
        yield int(reader.readline())
    while True:
        time.sleep(1)


def file_limit(path: str | None = None) -> Iterator[list[int]]:
    """Yield this worker's soft and hard limits on open files, then sleep until stopped.

    With ``path`` (a FIFO), the worker's pid and both limits go there first, one a line.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if path is not None:
        with open(path, "w") as fifo:
            fifo.write(f"{os.getpid()}\n{soft}\n{hard}\n")
    yield [soft, hard]
    while True:
        time.sleep(1)


def send_on(conn: Any, data: bytes = b"through a pipe in the kwargs") -> Iterator[int]:
    """Send ``data`` on ``conn`` (a multiprocessing Connection from the kwargs), then yield 1."""
    conn.send_bytes(data)
    yield 1


def json_forms() -> Iterator[Any]:
    """Yield one value of each kind headless JSON writes in a form of its own (tests/core/test_headless_json.py)."""
    import collections
    import dataclasses
    import datetime
    import decimal
    import math
    import urllib.parse

    import numpy as np

    @dataclasses.dataclass
    class Quote:  # local: a class Pulse's process cannot load, so a stand-in carries its fields
        bid: float
        ask: float

    Pair = collections.namedtuple("Pair", "a b")
    yield from [
        np.int64(7),
        np.float32(0.5),
        np.array([[1.0, math.nan], [math.inf, 2.0]]),
        {"a": math.nan, "b": 1},
        "nan",
        -(10**5000),
        Pair(1, math.inf),
        Quote(1.5, math.nan),
        urllib.parse.urlsplit("http://host/path"),
        {3, 1, 2},
        b"\x00\xff",
        datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        decimal.Decimal("1.10"),
        {"$float": "nan"},
        {(1, 2): "pair"},
    ]


def deep_recursion(depth: int = 200_000) -> Iterator[int]:
    """Yield, then recurse until a RecursionError at about ``depth`` frames (the limit raised to allow it).

    Says when the error reached this frame, so a test can time what the worker does after it.
    """
    yield depth
    sys.setrecursionlimit(depth)
    try:
        _recurse(0)
    except RecursionError:
        print("the recursion ended", flush=True)
        raise


def _recurse(n: int) -> int:
    return _recurse(n + 1) + 1


def parent_watch() -> Iterator[list[Any]]:
    """Yield what ``multiprocessing.parent_process()`` says of Pulse: [its pid, is_alive()], then sleep."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    assert parent is not None
    yield [parent.pid, parent.is_alive()]
    while True:
        time.sleep(1)


def prints_flat_out() -> Iterator[int]:
    """Print lines flat out, yielding one item in ten thousand (a print flood)."""
    for i in itertools.count():
        print(f"line {i}", flush=True)
        if i % 10_000 == 0:
            yield i


def prints_then_ends(lines: int = 50_000) -> Iterator[int]:
    """Print ``lines`` lines flat out (``line 0`` ...), yielding one item in a thousand, then end."""
    for i in range(lines):
        print(f"line {i}", flush=True)
        if i % 1000 == 0:
            yield i


def big_items(megabytes: int = 64, count: int = 2) -> Iterator[bytes]:
    """Yield ``count`` items of ``megabytes`` MB (a repeating 0..255 pattern), then a small one, then sleep."""
    for _ in range(count):
        yield bytes(range(256)) * (megabytes * 4096)
    yield b"done"
    while True:
        time.sleep(1)
