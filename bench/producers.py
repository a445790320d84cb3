"""Worker targets the bench needs beyond pulse_supervisor.producers (importable by worker processes)."""

from __future__ import annotations

import itertools
import pickle
import time
from collections.abc import Iterator
from typing import Any


def stamped(rate: float = 50.0) -> Iterator[tuple[int, int]]:
    """Yield ``(seq, time.monotonic_ns())`` at ``rate`` items/s, paced on deadlines.

    CLOCK_MONOTONIC is one clock for every process on Linux, so the GUI can subtract.
    """
    interval = 1.0 / rate
    next_at = time.monotonic()
    for seq in itertools.count():
        yield (seq, time.monotonic_ns())
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def roofline_sender(conn: Any, stop: Any, live: bool, batch: int = 1000) -> None:
    """Send pickled 1000-item batches down ``conn`` until ``stop`` is set (no Pulse, no Qt).

    ``live=False``: one prebuilt batch of ``(seq, time, value)`` sent again and again, the
    cost of pickle + pipe + unpickle alone. ``live=True``: each item made fresh, as a producer
    must, and batched in a plain loop: the ceiling for any Python producer of such items.
    The message has Pulse's wire shape, ``("items", first_seq, items, sent_ns)``.
    """
    dumps, proto, now, send = pickle.dumps, pickle.HIGHEST_PROTOCOL, time.monotonic, conn.send_bytes
    prebuilt = [(i, now(), 1.0) for i in range(batch)]
    seq = 0
    try:
        while not stop.value:
            items = [(seq + i, now(), 1.0) for i in range(batch)] if live else prebuilt
            send(dumps(("items", seq, items, time.monotonic_ns()), proto))
            seq += batch
    except (BrokenPipeError, OSError):
        pass


def numbers(interval: float = 1.0, phase: float = 0.0) -> Iterator[float]:
    """Yield a number every ``interval`` s, ``phase`` s off the start: feeds not aligned on a clock grid."""
    import math

    time.sleep(phase)
    next_at = time.monotonic()
    for i in itertools.count():
        yield math.sin(i / 10)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def big_list(n: int = 1_000_000) -> Iterator[Any]:
    """Yield one list of ``n`` floats, then numbers once a second: the window must not choke on it."""
    yield [float(i) for i in range(n)]
    for i in itertools.count():
        time.sleep(1.0)
        yield i


def wide_dicts(keys: int = 100, rate: float = 10.0) -> Iterator[dict[str, float]]:
    """Yield dicts of ``keys`` numbers at ``rate`` a second."""
    names = [f"k{i:04d}" for i in range(keys)]
    for i in itertools.count():
        yield {name: float(i + j) for j, name in enumerate(names)}
        time.sleep(1.0 / rate)


def long_line(megabytes: float = 1.0) -> Iterator[str]:
    """Print one line of ``megabytes`` MB with no newline, then yield a marker once a second."""
    import sys

    sys.stdout.write("x" * int(megabytes * 1_000_000))
    sys.stdout.flush()
    for i in itertools.count():
        yield f"after the line {i}"
        time.sleep(1.0)


def print_and_yield(prints: bool = True, items: bool = True, logging_too: bool = False) -> Iterator[int]:
    """Flat out: print a line and/or yield an item per step (issue 29's flood), for ever."""
    import logging

    log = logging.getLogger("flood")
    for i in itertools.count():
        if prints:
            print(f"line {i}", flush=True)
        if logging_too:
            log.warning("logged %d", i)
        if items:
            yield i
        elif i % 1000 == 0:
            yield i  # a generator must yield: one item in a thousand steps


def big_bytes(megabytes: int = 50, every: float = 2.0) -> Iterator[bytes]:
    """One item of ``megabytes`` MB every ``every`` seconds."""
    while True:
        yield bytes(megabytes * 1024 * 1024)
        time.sleep(every)


def quiet() -> Iterator[int]:
    """Yield nothing for a long time: a worker that is there and does nothing (a floor's worker)."""
    time.sleep(10**6)
    yield 0


def spin() -> Iterator[int]:
    """Burn a CPU flat out, sending nothing (a busy floor's worker: the CPU a flood takes, without the flood)."""
    for i in itertools.count():
        if i % 1_000_000_000 == 999_999_999:
            yield i  # a generator must yield: about once a minute
