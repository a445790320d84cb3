"""Every live worker's channel and sentinel, and the wake-up pipe, waited on together."""

from __future__ import annotations

from collections.abc import Iterable
from multiprocessing.connection import Connection
from typing import Any

from pulse_supervisor.core.supervision.events import Event
from pulse_supervisor.core.supervision.fd_watch import FdWatch
from pulse_supervisor.core.supervision.worker_record import WorkerRecord


class WorkerWatch:
    """Blocks until a channel has data, a worker exits or the wake pipe is written; reads channels.

    The supervisor's polling thread owns it, and calls `changed` whenever a worker's reader or
    process comes or goes (a spawn, a reap), so the watched set is rebuilt before the next wait.

    Parameters
    ----------
    wake : Connection
        The read end of the supervisor's wake-up pipe; drained here when it fires.
    """

    def __init__(self, wake: Connection) -> None:
        self._wake = wake
        self._all = FdWatch()  # wake pipe, sentinels and channels
        self._control = FdWatch()  # wake pipe and sentinels: what a gathering wait blocks on
        self._by: dict[Any, WorkerRecord] = {}  # watch token -> its worker
        self._dirty = True

    def forget(self, fd: int) -> None:
        """Stop watching ``fd``, which is about to be closed (see `FdWatch.forget`)."""
        self._all.forget(fd)
        self._control.forget(fd)

    def close(self) -> None:
        """Release the watches' own descriptors."""
        self._all.close()
        self._control.close()

    def changed(self) -> None:
        """Note that a reader or process came or went: rebuild the watched set before waiting."""
        self._dirty = True

    def wait(
        self, workers: Iterable[WorkerRecord], timeout: float | None, events: list[Event], *, gather: bool = False
    ) -> list[WorkerRecord]:
        """Wait up to ``timeout``, append what the ready channels hold to ``events``; return who exited.

        With ``gather`` the channels are left out of the wait, and every one that holds something
        is read once after it.
        """
        if self._dirty:
            self._rewatch(workers)
        if gather:
            # Then only the channels holding something: a read of an empty pipe costs as much as a
            # poll of all of them (an idle window's items mostly arrive alone).
            ready = self._control.wait(timeout)
            ready += [token for token in self._all.wait(0) if token not in ready]
        else:
            ready = self._all.wait(timeout)
        exited = []
        for token in ready:
            if token is self._wake:
                while self._wake.poll():
                    self._wake.recv_bytes()
                continue
            rec = self._by[token]
            if token is rec.reader:
                self._read(rec, events)
            elif token is rec.run:
                exited.append(rec)
            else:
                self._read_output(rec, token, events)
        return exited

    def busiest_bytes(self, workers: Iterable[WorkerRecord]) -> int:
        """Return the most bytes one of ``workers``' channels delivered since the last call."""
        busiest = 0
        for rec in workers:
            frames = rec.frames
            if frames is not None:
                busiest = max(busiest, frames.total_read - frames.mark)
                frames.mark = frames.total_read
        return busiest

    def _read(self, rec: WorkerRecord, events: list[Event]) -> None:
        rec.read(events)  # one read of at most 32 KiB, so no channel starves the rest
        if rec.reader is None:  # EOF: closed, so no longer to be watched
            self._dirty = True

    def _read_output(self, rec: WorkerRecord, conn: Any, events: list[Event]) -> None:
        for stream, output in list(rec.outputs.items()):
            if output.conn is conn:
                rec.read_output(stream, events)
                if stream not in rec.outputs:  # EOF: closed, so no longer to be watched
                    self._dirty = True

    def _rewatch(self, workers: Iterable[WorkerRecord]) -> None:
        control: dict[Any, Any] = {self._wake: self._wake}
        by: dict[Any, WorkerRecord] = {}
        readers: dict[Any, Any] = {}
        for rec in workers:
            rec.unwatch = self.forget
            if rec.reader is not None:
                readers[rec.reader] = rec.reader
                by[rec.reader] = rec
            for output in rec.outputs.values():
                readers[output.conn] = output.conn
                by[output.conn] = rec
            if rec.run is not None:
                control[rec.run.sentinel] = rec.run  # the run, not its sentinel, says who it is
                by[rec.run] = rec
        self._control.set(control)
        self._all.set(control | readers)
        self._by = by
        self._dirty = False
