"""The Ray backend's polling path: a run's messages on a bounded queue that long polls drain (Ray Client)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

QUEUE_SIZE = 8  # messages (a data batch is up to 1 MiB): a full queue holds the run's stream back
POLL_WAIT = 0.5  # seconds a poll waits for a first message: an idle run costs two calls a second


class PolledRun:
    """One run's messages (`ray_agent.Agent.run`'s), pumped by a thread onto a queue for `take`.

    Ray Client cannot run a streaming generator, so a client's runs are fetched by long polls
    instead. The queue is bounded: while nobody polls, the pump waits on it, the agent stops
    reading the run's pipes and the worker blocks on its writes, as a streamed run's does when
    its consumer lags. Nothing is dropped, so a graceful stop still counts exactly.

    Parameters
    ----------
    run_id : int
        The run's id, which every poll names.
    messages : Iterator
        The run's messages, ("pid", pid) first and ("exit", code) last.
    """

    def __init__(self, run_id: int, messages: Iterator[tuple[Any, ...]]) -> None:
        self.run_id = run_id
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=QUEUE_SIZE)
        self._failed: BaseException | None = None
        self._pump = threading.Thread(target=self._feed, args=(messages,), name=f"pulse-poll:{run_id}", daemon=True)
        self._pump.start()

    def take(self, timeout: float) -> list[tuple[Any, ...]]:
        """Return every message ready (at most twice the queue's size), waiting up to ``timeout`` for one.

        Raises
        ------
        BaseException
            What ended the run's messages early (the agent's failure): its caller's crash note.
        """
        if self._failed is not None and self._queue.empty():
            raise self._failed
        taken: list[tuple[Any, ...]] = []
        try:
            taken.append(self._queue.get(timeout=timeout))
            while len(taken) < 2 * QUEUE_SIZE and taken[-1][0] not in ("exit", "failed"):
                taken.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        if taken and taken[-1][0] == "failed":  # what came before it first; the next poll raises
            taken.pop()
            if not taken and self._failed is not None:
                raise self._failed
        return taken

    def _feed(self, messages: Iterator[tuple[Any, ...]]) -> None:
        try:
            for msg in messages:
                self._queue.put(msg)
        except BaseException as exc:  # raised to the poll that reaches it, as a stream raises it to its reader
            self._failed = exc
            self._queue.put(("failed",))
