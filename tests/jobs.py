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


class Multiplier:
    """A picklable instance whose bound method runs as a job (the instance is sent)."""

    def __init__(self, factor: int) -> None:
        self.factor = factor

    def times(self, x: int) -> int:
        return self.factor * x

    @classmethod
    def make_and_apply(cls, factor: int, x: int) -> int:
        return cls(factor).times(x)


class Locked:
    """An instance that does not pickle: its bound methods cannot run as jobs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def work(self) -> int:
        return 1


def yield_then_unpicklable() -> Iterator[object]:
    yield 1
    yield threading.Lock()
    yield 3  # never reached: the job ended at the value before


def return_unpicklable() -> object:
    return threading.Lock()


class BadInit(Exception):
    """Pickles, but does not load back anywhere (its __init__ wants two arguments)."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__(f"{what} failed with {code}")


def fail_bad_init() -> None:
    raise BadInit("the step", 7)


def warn_twice() -> Iterator[int]:
    import warnings

    yield 1
    warnings.warn("hey!", stacklevel=1)
    yield 3
    warnings.warn("careful", DeprecationWarning, stacklevel=1)
    return 1


def warn_in_function() -> int:
    import warnings

    warnings.warn("from a plain function", UserWarning, stacklevel=1)
    return 5


def echo(n: int) -> Iterator[object]:
    """Yield what was sent in, n times: (i, the value sent at the last yield)."""
    got = None
    for i in range(n):
        got = yield (i, got)
    return "done"


def ticker(gate: str) -> Iterator[int]:
    """Yield 0, 1, 2, ... while the file ``gate`` does not exist (a test opens it to end the job)."""
    import time

    i = 0
    while not os.path.exists(gate):
        yield i
        i += 1
        time.sleep(0.005)
    return i


def slow_steps(n: int, step: float) -> Iterator[int]:
    import time

    for i in range(n):
        yield i
        time.sleep(step)


def echo_until_stop() -> Iterator[object]:
    """Yield (i, the value last sent) until "stop" is sent; return how many it yielded."""
    import time

    got = None
    i = 0
    while got != "stop":
        got = yield (i, got)
        i += 1
        time.sleep(0.005)
    return i


def own_pid() -> int:
    """Return the job's process id."""
    return os.getpid()


def leave_behind(what: str) -> int:
    """Return the process id, leaving ``what`` changed in the process: a thread, the directory or the environment."""
    if what == "thread":
        threading.Thread(target=threading.Event().wait, daemon=True).start()
    elif what == "directory":
        os.chdir("/")
    elif what == "environment":
        os.environ["LEFT_BY_A_JOB"] = "1"
    return os.getpid()
