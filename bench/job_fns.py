"""What bench/jobs.py's jobs run: module-level, light to import, the same for Pulse, superqt and multiprocessing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any


def first_value() -> Iterator[int]:
    """Yield at once: the time to the first value is the cost of starting a job."""
    yield 1
    return 2


def trivial(x: int) -> int:
    return x


def sleep_half() -> float:
    time.sleep(0.5)
    return 0.5


def pipe_first_value(conn: Any) -> None:
    """The bare multiprocessing job: the same first value, sent down a pipe."""
    conn.send(1)
    conn.close()


def pipe_trivial(conn: Any, x: int) -> None:
    conn.send(trivial(x))
    conn.close()


def pipe_sleep_half(conn: Any) -> None:
    conn.send(sleep_half())
    conn.close()
