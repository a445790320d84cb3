"""The functions of superqt's test_threadworker.py, module-level so a job's process can import them."""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from collections.abc import Iterator

from pulse_supervisor.qt.jobs import process_job


@process_job(start=False)
def returns_one() -> int:
    return 1


@process_job(start=False)
def yields_one_one_returns_three() -> Iterator[int]:
    yield 1
    yield 1
    return 3


def yields_then_raises() -> Iterator[int]:
    yield 1
    yield 1
    raise ValueError("whoops")


def yields_and_warns() -> Iterator[int]:
    yield 1
    warnings.warn("hey!", stacklevel=1)
    yield 3
    warnings.warn("hey!", stacklevel=1)
    return 1


def returns_one_plain() -> int:
    return 1


def add_xy(x: int, y: int) -> int:
    return x + y


def identity(x: object) -> object:
    return x


def counts_and_takes() -> Iterator[int]:
    """superqt's generator for the main-thread test: a value sent replaces the count."""
    i = 0
    while i < 10:
        i += 1
        incoming = yield i
        i = incoming if incoming is not None else i
    return 3


def long_running() -> Iterator[int]:
    loop_counter = 0
    for _ in range(5):
        yield loop_counter
        time.sleep(0.1)
        loop_counter += 1


def _touch(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(os.getpid()))


def starts_a_nested_process(first: str, second: str) -> None:
    """superqt's nested start: the job touches ``first``, then a process of its own touches ``second``."""
    _touch(first)
    nested = multiprocessing.get_context("spawn").Process(target=_touch, args=(second,))
    nested.start()
    nested.join(60)
