"""One supervised worker's live state, and reading its channel into events."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.supervision.events import Event, ItemBatch, LogLine, StackDump
from pulse_supervisor.core.supervision.output_pipe import OutputReader
from pulse_supervisor.core.supervision.policy import Runtime
from pulse_supervisor.core.supervision.tolerant_unpickle import load_message, loads_tolerant, salvage_batch
from pulse_supervisor.core.wire import channel
from pulse_supervisor.core.wire.item_text import valid_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from multiprocessing.connection import Connection

    from pulse_supervisor.core.backends.run import Launcher, Run
    from pulse_supervisor.core.spec import WorkerSpec


@dataclass
class WorkerRecord:
    """The supervisor's live view of one worker (read-only outside the polling thread).

    Attributes
    ----------
    spec, runtime : WorkerSpec, Runtime
        What to run and where the policy stands.
    run : Run or None
        The live run (until reaped), whatever backend it is on.
    reader : Connection or None
        Its channel, open until end of file (which may come after the run is reaped, or never).
    received, lost, sent : int
        Items received, sequence numbers skipped, items the worker reported sent (all runs).
    restarts : int
        Automatic restarts (from BACKOFF), not user starts.
    last_exit : tuple[int | None, int | None] | None
        (exitcode, signal) of the last run.
    """

    spec: WorkerSpec
    runtime: Runtime = field(default_factory=Runtime)
    run: Run | None = None
    reader: Connection | None = None
    frames: channel.FrameReader | None = None  # reads `reader`, which stays open until EOF
    received: int = 0
    lost: int = 0
    sent: int = 0
    restarts: int = 0
    next_seq: int = 0
    last_exit: tuple[int | None, int | None] | None = None
    start_failure: str | None = None  # why the last start failed before its process ran, if it did
    pending_spec: WorkerSpec | None = None  # applied once the current run has stopped
    removing: bool = False
    log_path: str | None = None  # this worker's log file on disk, when logs are kept
    outputs: dict[str, OutputReader] = field(default_factory=dict)  # its stdout and stderr, while open
    crash_reports: dict[str, list[str]] = field(default_factory=dict)  # faulthandler's, being read
    # Until the run's HELLO arrives its SIGTERM handler may not be in place, and SIGTERM's
    # default action would end it as killed: a stop asked meanwhile waits for the HELLO.
    ready: bool = False
    term_deferred: bool = False
    # From the HELLO, for the sweep of what the run leaves behind (worker_tree.sweep_orphans).
    run_mark: str | None = None
    forkserver_pid: int | None = None
    # Told each descriptor the watch waits on before it is closed (see fd_watch.FdWatch.forget).
    unwatch: Callable[[int], None] | None = None
    # Messages to the worker (`Supervisor.send`): queued for it, and dropped by its full inbox
    # (all runs; `run_dropped` is the current run's count as it last reported it).
    messages_sent: int = 0
    messages_dropped: int = 0
    run_dropped: int = 0

    @property
    def pid(self) -> int | None:
        """Return the pid of the live run's process (on its node), if any."""
        return self.run.pid or None if self.run is not None else None  # 0: a remote run not started yet

    @property
    def node(self) -> str | None:
        """Return where the live run is (`run.LOCAL_NODE`: here), if any."""
        return self.run.node if self.run is not None else None

    def read(self, events: list[Event], *, drain: bool = False) -> None:
        """Decode what the channel holds now and append its events; close it at end of file.

        One read of the pipe, or with ``drain`` every byte already in it (never waiting for
        more: after a death, a grandchild may still hold the write end, and EOF would not come).
        """
        if self.frames is None:
            return
        name = self.spec.name
        try:
            frames, eof = self.frames.read(drain=drain)
        except ValueError as exc:  # bytes that are not a frame: nothing after them can be trusted
            frames, eof = [], True
            events.append(LogLine(name, "pulse", "ERROR", f"channel corrupted, closed: {exc}", time.time()))
        # Consecutive item messages of one read become one ItemBatch: at 64 workers x 1 000
        # items/s (~7 messages per worker per frame) an event per message cost the consumer
        # thread ~5 us of Python each, holding the GIL the GUI thread waits for.
        run: list[Any] | None = None  # [first_seq, items, sent_ns, lost_before, stand_ins] being extended
        for msg, stand_ins in self._messages(frames):
            if isinstance(msg, LogLine):  # Pulse's own note, in its place among the messages
                self._end_run(events, run)
                run = None
                events.append(msg)
                continue
            if msg[0] != channel.ITEMS:
                self._end_run(events, run)
                run = None
                self._dispatch(events, msg)
                continue
            _, first_seq, items, sent_ns = msg
            gap = max(0, first_seq - self.next_seq)
            contiguous = first_seq == self.next_seq
            self.lost += gap
            self.received += len(items)
            self.next_seq = first_seq + len(items)
            if run is not None and contiguous:
                run[1].extend(items)  # the run's list came fresh from unpickling: ours to grow
                run[2] = sent_ns
                run[4] = run[4] or stand_ins
            else:
                self._end_run(events, run)
                run = [first_seq, items, sent_ns, gap, stand_ins]
        self._end_run(events, run)
        if eof:  # clean EOF, or a message torn by a kill: either way this run's channel is done
            self.close_channel()

    def _messages(self, frames: list[bytes | memoryview]) -> Iterator[tuple[tuple[Any, ...] | LogLine, bool]]:
        """Decode each frame; an item batch some of whose items do not load here loses only those.

        Yields (message, whether it holds stand-ins): the wire tuples, and a `LogLine` where a
        message could not be (wholly) decoded. Nothing a frame holds can end this loop: any
        `BaseException` from loading it (``SystemExit`` too) is that frame's failure.
        """
        for data in frames:
            try:
                msg, stand_ins = load_message(data)
                error: BaseException | None = None
            except BaseException as exc:  # noqa: B036 - contained to this frame, whatever it is
                msg, error = None, exc
            if error is None:
                if isinstance(msg, tuple) and msg:
                    yield msg, stand_ins
                    continue
                error = ValueError(f"not a Pulse message: {type(msg).__name__}")
            try:
                msg = loads_tolerant(data)
            except BaseException:  # noqa: B036
                msg = None
            if not (isinstance(msg, tuple) and len(msg) == 4 and msg[0] == channel.ITEMS):
                line = f"undecodable message dropped: {type(error).__name__}: {error}"
                yield LogLine(self.spec.name, "pulse", "ERROR", line, time.time()), False
                continue
            for part in salvage_batch(self.spec.name, msg):
                yield part, True

    def _forget(self, waitable: Any) -> None:
        if self.unwatch is not None:
            self.unwatch(waitable if isinstance(waitable, int) else waitable.fileno())

    def close_channel(self) -> None:
        """Close the reading end of this run's channel."""
        if self.reader is not None:
            self._forget(self.reader)
            self.reader.close()
        self.reader = self.frames = None

    def _end_run(self, events: list[Event], run: list[Any] | None) -> None:
        if run is not None:
            first_seq, items, sent_ns, gap, stand_ins = run
            if self.run is not None:  # a remote node's monotonic clock, on ours
                sent_ns += self.run.mono_offset_ns
            events.append(ItemBatch(self.spec.name, first_seq, items, sent_ns, time.monotonic_ns(), gap, stand_ins))

    def _dispatch(self, events: list[Event], msg: tuple[Any, ...]) -> None:
        name = self.spec.name
        tag = msg[0]
        if tag == channel.LOG:
            _, stream, level, line, when, is_tb = msg
            if self.run is not None:  # a remote node's wall clock, on ours
                when += self.run.clock_offset
            events.append(LogLine(name, stream, level, valid_text(line), when, is_tb))
        elif tag == channel.STACK:
            events.append(StackDump(name, valid_text(msg[1])))
        elif tag == channel.HELLO:
            self.ready = True
            self.run_mark, self.forkserver_pid = msg[1], msg[2]
            if self.term_deferred:
                self.term_deferred = False
                self.signal(signal.SIGTERM)
        elif tag == channel.INBOX:
            more = int(msg[1]) - self.run_dropped
            if more > 0:
                self.run_dropped += more
                self.messages_dropped += more
                dropped = self.messages_dropped
                line = f"inbox full: {dropped} message(s) to this worker dropped so far (it does not read them)"
                events.append(LogLine(name, "pulse", "WARNING", line, time.time()))
        elif tag == channel.BYE:
            self.sent += msg[1]
            gap = max(0, msg[1] - self.next_seq)
            if gap:  # the run's last items never arrived (a message dropped): say so, as a gap mid-run is
                self.lost += gap
                now = time.monotonic_ns()
                events.append(ItemBatch(name, self.next_seq, [], now, now, gap))
                self.next_seq = msg[1]

    def reset_counters(self) -> None:
        """Count restarts and items from zero (the current run's items so far no longer count as sent)."""
        self.restarts = self.received = self.lost = 0
        self.sent = -self.next_seq if self.run is not None else 0  # `sent` gains the run's total at its end

    def signal(self, sig: int) -> None:
        """Signal the worker, and with any signal but SIGTERM the processes it started (see `Run.signal`).

        A SIGTERM before the run said HELLO is held back until it does (the policy's stop
        timeout still ends a run that never does).
        """
        if self.run is None:
            return
        if sig == signal.SIGTERM and not self.ready:
            self.term_deferred = True
            return
        self.run.signal(sig)

    def request_stack(self) -> None:
        """Ask the live run for its stack (a `StackDump` event answers)."""
        if self.run is not None:
            self.run.request_stack()

    def send_message(self, data: bytes) -> str | None:
        """Queue a pickled message for the live run's inbox; return why not (no run, a stalled one), or None."""
        if self.run is None:
            return "it is not running"
        refused = self.run.send_message(data)
        if refused is None:
            self.messages_sent += 1
        return refused

    def launch(self, launcher: Launcher) -> None:
        """Start a run of this worker with ``launcher``; raise (nothing left open) if it cannot start."""
        run = self.run = launcher.launch(self.spec)
        self.reader = run.channel
        self.outputs = {stream: OutputReader(conn) for stream, conn in run.outputs.items()}
        self.crash_reports = {}
        self.frames = channel.FrameReader(run.channel)
        self.next_seq = 0
        self.ready = self.term_deferred = False
        self.run_dropped = 0
        self.run_mark = self.forkserver_pid = None

    def reap(self, events: list[Event]) -> tuple[int, int | None, int | None]:
        """The process ended: read what is left in its channel, reap it, release this run.

        Returns (pid, exitcode, signal): exitcode None when a signal ended it.
        """
        assert self.run is not None
        self.read(events, drain=True)  # the worker is gone: what it sent is all in the pipe
        for stream in list(self.outputs):
            self.read_output(stream, events, drain=True)
        code = self.run.join()
        sig = -code if code is not None and code < 0 else None
        exitcode = None if sig is not None else code
        pid = self.run.pid
        self.release()  # ends what the run left behind, too
        self.last_exit = (exitcode, sig)
        return pid, exitcode, sig

    def read_output(self, stream: str, events: list[Event], *, drain: bool = False) -> None:
        """Turn what the worker wrote to ``stream`` ("stdout" or "stderr") into log lines.

        A crash report faulthandler writes (a segfault, an abort) becomes one traceback entry,
        however many reads it arrives in: from its first line to the end of the run's output.
        """
        output = self.outputs.get(stream)
        if output is None:
            return
        lines, eof = output.read(drain=drain)
        level = "INFO" if stream == "stdout" else "WARNING"
        now = time.time()
        name = self.spec.name
        report = self.crash_reports.get(stream)
        if report is None:
            fatal = next((i for i, line in enumerate(lines) if line.startswith("Fatal Python error:")), None)
            for line in lines if fatal is None else lines[:fatal]:
                events.append(LogLine(name, stream, level, valid_text(line), now))
            if fatal is not None:
                report = self.crash_reports[stream] = lines[fatal:]
        else:
            report.extend(lines)
        if report is not None and (eof or drain):  # the worker is gone: the report is whole
            text = "\n".join(line for line in self.crash_reports.pop(stream) if line)
            events.append(LogLine(name, stream, "ERROR", valid_text(text), now, True))
        if eof:
            self._forget(output.conn)
            output.close()
            del self.outputs[stream]

    def release(self) -> None:
        """Close the pipes of the run that ended, and its handle; end what it left behind."""
        self.close_channel()
        for output in self.outputs.values():
            self._forget(output.conn)
            output.close()
        self.outputs = {}
        if self.run is not None:
            self._forget(self.run.sentinel)
            self.run.release((self.run_mark, self.forkserver_pid))
        self.run = None
