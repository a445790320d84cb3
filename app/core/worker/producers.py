"""Built-in producers: the tutorial's clock, plus numeric, flood, noisy and failing demos."""

from __future__ import annotations

import itertools
import logging
import math
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulse_supervisor.core.worker.context import WorkerContext

_log = logging.getLogger("pulse.producers")


def clock(interval: float = 1.0) -> Iterator[str]:
    """Yield ``str(datetime.now())`` every ``interval`` seconds: the tutorial's producer.

    Ticks on the wall clock's grid (a 1 s clock at every whole second, as ``date`` would), so
    it never drifts and clocks of the same interval tick together: the window then wakes once
    for all of them, not once per clock (8 clocks: consumer CPU 0.18 -> 0.06 % of a core). The
    tutorial's ``sleep(interval)`` after each item drifts by however long each loop takes.
    """
    if not interval > 0:
        raise ValueError(f"clock: interval must be > 0 seconds, got {interval!r}")
    while True:
        yield str(datetime.now())
        time.sleep(until_next_tick(time.time(), interval))


def until_next_tick(now: float, interval: float) -> float:
    """Return the seconds from ``now`` to the next multiple of ``interval`` (a whole one if on it).

    A tick that comes late (the consumer was slow) waits for the next grid point rather than
    catching up in a burst, as a clock should.
    """
    return interval - now % interval


def sine(rate: float = 50.0, period: float = 5.0, noise: float = 0.05) -> Iterator[float]:
    """Yield a noisy sine wave sample ``rate`` times a second."""
    start = time.monotonic()
    for n in itertools.count(1):
        t = time.monotonic() - start
        yield math.sin(2 * math.pi * t / period) + random.gauss(0.0, noise)
        _sleep_until(start + n / rate)


def sensors(rate: float = 10.0) -> Iterator[dict[str, float]]:
    """Yield a dict of three random-walk readings ``rate`` times a second."""
    temp, humidity, wind = 21.0, 45.0, 5.0
    start = time.monotonic()
    for n in itertools.count(1):
        temp += random.gauss(0, 0.05)
        humidity += random.gauss(0, 0.2)
        wind = max(0.0, wind + random.gauss(0, 0.3))
        yield {"temp": round(temp, 3), "humidity": round(humidity, 3), "wind": round(wind, 3)}
        _sleep_until(start + n / rate)


def random_walk(rate: float = 2000.0, step: float = 0.02) -> Iterator[float]:
    """Yield a Gaussian random walk ``rate`` times a second (paced in small bursts)."""
    value = 0.0
    start = time.monotonic()
    for n in itertools.count(1):
        value += random.gauss(0.0, step)
        yield value
        if n % 20 == 0:  # sleeping per item would cost more than the item at 2000/s
            _sleep_until(start + n / rate)


def counter(count: int | None = None, rate: float | None = None) -> Iterator[int]:
    """Yield 0, 1, 2, ... (``count`` items, or for ever), at ``rate`` a second or flat out."""
    start = time.monotonic()
    for n in range(count) if count is not None else itertools.count():
        yield n
        if rate:
            _sleep_until(start + (n + 1) / rate)


def flood(value: float = 1.0) -> Iterator[tuple[int, float, float]]:
    """Yield ``(seq, time, value)`` tuples as fast as possible: the flood benchmark's producer."""
    now = time.monotonic
    for seq in itertools.count():
        yield (seq, now(), value)


def ticker(ctx: WorkerContext, interval: float = 0.5) -> None:
    """A ``ctx``-style producer: emits a tick count until a stop is asked, then says goodbye."""
    n = 0
    while not ctx.stopping:
        ctx.emit({"tick": n})
        n += 1
        ctx.sleep(interval)
    print(f"ticker stopping after {n} ticks", flush=True)


def chatty(interval: float = 1.0, count: int | None = None) -> Iterator[int]:
    """Print, log and warn every ``interval`` seconds, yielding a counter: a log demo (``count`` times, or for ever)."""
    for n in itertools.count() if count is None else range(count):
        print(f"stdout line {n}")
        _log.info("logging line %d", n)
        if n % 5 == 4:
            print(f"stderr warning {n}", file=sys.stderr)
        yield n
        time.sleep(interval)


def crashy(after: float = 3.0, message: str = "simulated failure") -> Iterator[int]:
    """Yield for ``after`` seconds, then raise: shows tracebacks, restarts and backoff."""
    deadline = time.monotonic() + after
    n = 0
    while time.monotonic() < deadline:
        yield n
        n += 1
        time.sleep(0.1)
    raise RuntimeError(f"{message} after {n} items")


def stubborn(interval: float = 0.1) -> Iterator[int]:
    """Ignore SIGTERM and keep yielding: a worker that only a kill (or the stop timeout) ends."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for n in itertools.count():
        yield n
        time.sleep(interval)


def busy(seconds: float | None = None) -> Iterator[int]:
    """Spin in a tight Python loop, yielding a count now and then: a CPU-heavy job."""
    deadline = None if seconds is None else time.monotonic() + seconds
    total = 0
    while deadline is None or time.monotonic() < deadline:
        for i in range(200_000):
            total += i * i % 7
        yield total


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
