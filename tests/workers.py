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
