"""Worker targets the bench needs beyond app.producers (importable by worker processes)."""

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
