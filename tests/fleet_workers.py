"""Workers for the fleet keys' tests: what a worker's environment and directory are, and limits to cross."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any


def env_and_cwd(keys: list[str], tag: str = "") -> Iterator[dict[str, Any]]:
    """Yield the worker's values of ``keys``, its directory, ``tag``, and whether it has any other variable."""
    yield {"env": {k: os.environ.get(k) for k in keys}, "cwd": os.getcwd(), "tag": tag, "count": len(os.environ)}


def idle(tag: str = "") -> Iterator[str]:
    """Yield ``tag`` once, then idle until stopped."""
    yield tag
    while True:
        time.sleep(0.05)


def grow(mib_per_step: int = 16, steps: int = 64) -> Iterator[int]:
    """Hold ``mib_per_step`` MiB more every 50 ms (touched, so resident), yielding the MiB held; then idle."""
    held = []
    for _ in range(steps):
        held.append(bytearray(os.urandom(1)) * (mib_per_step << 20))
        yield len(held) * mib_per_step
        time.sleep(0.05)
    while True:
        time.sleep(0.05)


def spin(tag: str = "") -> Iterator[str]:
    """Yield ``tag`` once, then burn a core until stopped."""
    yield tag
    while True:
        sum(range(10_000))
