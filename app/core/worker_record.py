"""One supervised worker's live state, and reading its channel into events."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core import channel
from app.core.events import Event, ItemBatch, LogLine, StackDump
from app.core.policy import Runtime

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from app.core.spec import WorkerSpec


@dataclass
class WorkerRecord:
    """The supervisor's live view of one worker (read-only outside the polling thread).

    Attributes
    ----------
    spec, runtime : WorkerSpec, Runtime
        What to run and where the policy stands.
    process, reader, control : the live process and the parent's ends of its pipes, or None
    received, lost, sent : int
        Items received, sequence numbers skipped, items the worker reported sent (all runs).
    restarts : int
        Automatic restarts (from BACKOFF), not user starts.
    last_exit : tuple[int | None, int | None] | None
        (exitcode, signal) of the last run.
    """

    spec: WorkerSpec
    runtime: Runtime = field(default_factory=Runtime)
    process: BaseProcess | None = None
    reader: Connection | None = None
    control: Connection | None = None
    received: int = 0
    lost: int = 0
    sent: int = 0
    restarts: int = 0
    next_seq: int = 0
    last_exit: tuple[int | None, int | None] | None = None
    pending_spec: WorkerSpec | None = None  # applied once the current run has stopped
    removing: bool = False
    log_path: str | None = None  # this worker's log file on disk, when logs are kept

    @property
    def pid(self) -> int | None:
        """Return the pid of the live process, if any."""
        return self.process.pid if self.process is not None else None

    def read(self, events: list[Event], limit: int | None) -> None:
        """Decode up to ``limit`` ready messages (None: all that are there) and append their events."""
        reader = self.reader
        n = 0
        while reader is not None and (limit is None or n < limit):
            try:
                # Never block, except on the first message of a reader wait() found ready: after
                # a death, a grandchild may still hold the write end, and EOF would never come.
                if (n or limit is None) and not reader.poll():
                    return
                msg = channel.decode(reader.recv_bytes())
            except (EOFError, OSError):
                # Clean EOF, or a message torn by a kill: either way this run's channel is done.
                reader.close()
                self.reader = None
                return
            except Exception as exc:
                line = f"undecodable message dropped: {type(exc).__name__}: {exc}"
                events.append(LogLine(self.spec.name, "pulse", "ERROR", line, time.time()))
            else:
                self._dispatch(events, msg)
            n += 1

    def _dispatch(self, events: list[Event], msg: tuple[Any, ...]) -> None:
        name = self.spec.name
        tag = msg[0]
        if tag == channel.ITEMS:
            _, first_seq, items, sent_ns = msg
            gap = max(0, first_seq - self.next_seq)
            self.lost += gap
            self.received += len(items)
            self.next_seq = first_seq + len(items)
            events.append(ItemBatch(name, first_seq, items, sent_ns, time.monotonic_ns(), gap))
        elif tag == channel.LOG:
            _, stream, level, line, when, is_tb = msg
            events.append(LogLine(name, stream, level, line, when, is_tb))
        elif tag == channel.STACK:
            events.append(StackDump(name, msg[1]))
        elif tag == channel.BYE:
            self.sent += msg[1]
            self.lost += max(0, msg[1] - self.next_seq)

    def signal(self, sig: int) -> None:
        """Signal the worker's process group, or just the worker if it has no group of its own yet."""
        pid = self.pid
        if pid is None:
            return
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
                return
        except ProcessLookupError:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def release(self) -> None:
        """Close the pipes and the process handle of the run that ended."""
        for conn in (self.reader, self.control):
            if conn is not None:
                conn.close()
        if self.process is not None:
            self.process.close()
        self.process = self.reader = self.control = None
