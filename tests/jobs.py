"""Functions the run_in_process tests run in worker processes (module-level, so importable there)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator

from pulse_supervisor.qt.jobs import process_job


def add(a: int, b: int = 0) -> int:
    return a + b


def count_up(n: int) -> Iterator[int]:
    yield from range(n)
    return f"counted {n}"


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def fail(kind: str = "value") -> None:
    if kind == "value":
        raise ValueError("bad input: 42")
    raise Unpicklable


def spin(started_path: str) -> int:
    with open(started_path, "w") as f:  # the test waits for this file, not for time to pass
        f.write(str(os.getpid()))
    n = 0
    while True:  # CPU-bound, never returns: only a cancel ends it
        n += 1


def die(code: int = 3) -> None:
    print("about to die", flush=True)
    os._exit(code)


def wait_for(path: str) -> int:
    """Hold the job's process until ``path`` exists (the test opens that gate), then return the pid."""
    import time

    while not os.path.exists(path):
        time.sleep(0.02)
    return os.getpid()


async def double_later(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


async def ticks(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


@process_job
def square_job(x: int) -> int:
    return x * x


def c_loop(started_path: str) -> int:
    """Say our pid, then run one C call that checks no signal: a cancel cannot interrupt it."""
    with open(started_path, "w") as f:
        f.write(str(os.getpid()))
    return sum(range(10**13))
