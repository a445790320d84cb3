"""The consumer QThread: blocks on every channel and sentinel, emits coalesced event batches."""

from __future__ import annotations

import gc
import threading
import time
from typing import TYPE_CHECKING

from qtpy.QtCore import QThread, Signal, Slot

from pulse_supervisor.core.processes import thread_affinity
from pulse_supervisor.core.supervision.bursts import BurstWatch
from pulse_supervisor.core.supervision.events import (
    ItemBatch,
    LinesSkipped,
    LogLine,
    StateChanged,
    WorkerExited,
    merge_batches,
)
from pulse_supervisor.core.supervision.log_thinning import LINES_PER_EMIT, count_lines, thin_lines
from pulse_supervisor.core.wire.channel import DEFAULT_MAX_DELAY
from pulse_supervisor.qt import gui_gc

if TYPE_CHECKING:
    from pulse_supervisor.core.supervision.events import Event
    from pulse_supervisor.core.supervision.supervisor import Supervisor

_URGENT = (StateChanged, WorkerExited)  # rare, and what a click waits to see: never held back a frame

DEFAULT_MAX_EMITS_PER_SECOND = 60  # one per frame: more would only queue up in the event loop
# Gather a frame's messages in the pipes only while no channel delivered more than this in the
# last frame: a quarter of Linux's 64 KiB pipe, so a gathering pipe never fills (about 1 MB/s). A
# local run's channel, a socket pair, holds ~200 KiB of big messages but only ~280 messages of
# any size: messages of under 60 bytes at over 17 000 a second may make their writer wait.
GATHER_MAX_BYTES = 16 * 1024
# Items held for a GUI thread that has not taken the last batch, past which the channels are
# left unread (their pipes fill and their writers wait: lossless) until it does: a batch stays
# a few frames of a flood, and so does the memory it takes (the soak's GUI RSS growth
# 3.6-15 % -> 1.1-1.2 %, at 1.0-1.3 M items/s instead of 0.94).
MAX_HELD_ITEMS = 50_000
# Log lines held, past which they are thinned at once rather than at the next emission: while
# the GUI thread is busy, a print flood's lines (16 workers: over a million a second) would pile
# up here only to be thinned away, holding memory, and live objects for every cycle collection.
MAX_HELD_LINES = 4 * LINES_PER_EMIT
# Events other than log lines per emission, at most: the GUI thread handles one emission in one
# go, and a fleet's start storm (1 000 workers: a state change and a first item each, merged while
# the GUI thread was busy) made one emission of thousands of events, a 300-700 ms stall. The rest
# go out in the next emissions, in order, each after the GUI thread took the one before. Log lines
# do not count: the log takes a batch of them in one insert, and counted, a print flood's lines
# queued here faster than they left, a state change behind them (a flooding worker never showed
# RUNNING). Their number is bounded otherwise: `thin_lines` keeps `LINES_PER_EMIT` an emission.
MAX_EVENTS_PER_EMIT = 128
# How long this thread waits, after an emission, for the GUI thread to take it and collect cycles
# (when a collection is due), before it reads on. A collection goes through every young object,
# this thread's too: in the middle of a read from 16 print floods that was 5 000-80 000 log lines
# alive for a moment, and gen 0 took 17-55 ms; here this thread holds a frame's events at most.
COLLECT_WAIT_S = 0.05
# Time for the thread to finish once every worker is gone, on top of the longest stop_timeout.
_CLOSE_MARGIN_S = 2.0


class Consumer(QThread):
    """Runs `Supervisor.poll` in a loop and relays its events to the GUI thread.

    Leading-edge coalescing: the first events after a quiet spell are emitted at once; while
    events keep coming, they are gathered and emitted about once a frame (``max_emits_per_second``,
    the writers' batching delay included), so a flooding worker costs the GUI thread one slot
    call per frame, not one per item. Workers that send together (clocks on the same second)
    are a burst: once one was seen, the next one's first item waits for the rest, a few ms at
    most (`BurstWatch`), so the burst goes out in one emission, not two.

    Log lines are thinned (`thin_lines`): past `LINES_PER_EMIT` lines an emission, each worker's
    newest are sent and the rest replaced by one note with their exact count. The supervisor has
    written every one of them to the worker's log file before `poll` returned them.

    Backpressure: a batch is emitted only once the GUI thread has taken the previous one from its
    event queue. A GUI thread that gets less CPU than the items cost (64 busy workers on 2 cores)
    then handles fewer, bigger batches and runs its timers and repaints between them, instead of
    falling behind a queue of batches it can never empty: in that case the window froze for 5-6 s
    at a time. Events wait here meanwhile, merged; nothing is dropped.

    Only `run` executes in the thread; `request_stop` and `request_shutdown` only set flags and
    wake the poll.

    Attributes
    ----------
    _shutdown : bool
        Set by `request_shutdown` (GUI thread): stop every worker, then end when all are gone.
    _stop : bool
        Set by `request_stop` (GUI thread): end at once, leaving workers to ``Supervisor.close``.
    """

    events_received = Signal(object)  # emitted with a list[Event], in order
    errored = Signal(object)  # emitted with the exception that ended the loop
    # The thread's side of `events_received`: one queued call a batch, relayed by `_deliver`.
    # Three queued connections were three events, three wake-ups of the GUI thread's loop, and
    # the GUI thread taking the GIL while this one still held it (idle window: 3 -> 1 eventfd
    # writes and 4.6 -> 2.4 GIL waits a second).
    _batch = Signal(object)

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        max_emits_per_second: float = DEFAULT_MAX_EMITS_PER_SECOND,
        writer_delay: float = DEFAULT_MAX_DELAY,
        share_cpu: bool = False,
    ) -> None:
        super().__init__()
        self._supervisor = supervisor
        # An item waits twice: up to ``writer_delay`` in its worker's writer (which batches a
        # busy stream), then here for the next emission. The two together stay within one frame,
        # so the gap here is a frame minus the writer's delay (1 000/s: p99 20.0 -> 18.0 ms).
        self.min_gap = max(0.0, 1.0 / max_emits_per_second - writer_delay)
        # Hold a burst's first items for the rest (`BurstWatch`); read each time, so it may change
        # while the thread runs. Jobs turn it off: one after another, they looked like bursts.
        self.hold_bursts = True
        self._shutdown = False
        self._stop = False
        self.emissions = 0
        # Run on the GUI thread's CPU, and keep it there (see `thread_affinity`): the window does.
        self._share_cpu = share_cpu
        self._gui_thread = threading.get_native_id()  # made and started there (QtSupervisor checks)
        # An emission not yet taken by the GUI thread (set here, cleared there), and whether events
        # are being held back for it (set here, cleared there): then `_taken` wakes the poll.
        self._unacked = False
        self._held = False
        # Cycles are collected in the GUI thread while this thread runs (see gui_gc): this
        # object lives in the GUI thread, so its slots run there.
        self._collector = gui_gc.collector()
        self._holding = False
        self._collected = threading.Event()  # set by the GUI thread once it took a batch and collected
        self._batch.connect(self._deliver)
        self.finished.connect(self.release_collector)

    def start(self, priority: QThread.Priority = QThread.Priority.InheritPriority) -> None:
        """Start the thread (in the GUI thread): automatic cycle collection is off until it ends."""
        if not self._holding:
            self._holding = True
            self._collector.hold()
        super().start(priority)

    def release_collector(self) -> None:
        """Give automatic collection back (GUI thread), once the thread has ended; idempotent.

        `finished` does it, but a queued `finished` is dropped if this object is deleted first
        (a QtSupervisor closed and let go at once): whoever joins the thread calls this too.
        """
        if self._holding and self.isFinished():
            self._holding = False
            self._collector.release()

    @Slot(object)  # a slot of this object: its queued calls are posted here (`QtSupervisor.close` sends them)
    def _deliver(self, events: list[Event]) -> None:
        """Take a batch (GUI thread): ack it, hand it to the slots, then collect cycles if due."""
        self._taken()
        self.events_received.emit(events)
        self._collector.collect_if_due()
        self._collected.set()

    def _taken(self) -> None:
        """The GUI thread reached the last batch: the next may be emitted (GUI thread)."""
        self._unacked = False
        if self._held:  # events wait for this: send them now, not at the next item's arrival
            self._held = False
            self._supervisor.wake()

    def request_shutdown(self) -> None:
        """Stop every worker gracefully; the thread ends once none is left running."""
        self._shutdown = True
        self._supervisor.stop_all()
        # With no worker left, stop_all posts nothing: without this the poll slept on until its
        # next deadline, and a blocking `close` waited its whole margin (2 s: issue 30, defect 2).
        self._supervisor.wake()

    def request_stop(self) -> None:
        """End the loop as soon as possible."""
        self._stop = True
        self._collected.set()
        self._supervisor.wake()

    def run(self) -> None:
        """Poll, gather, emit; until stopped (or shut down and every worker gone)."""
        # One CPU with the GUI thread: the GIL passes between them without waiting for a CPU
        # (16 workers flooding on 2 cores: stall max 69-92 -> 15-18 ms, figure 17; see thread_affinity).
        shared = self._share_cpu and thread_affinity.share_cpu(self._gui_thread) is not None
        try:
            self._loop()
        except BaseException as exc:  # noqa: B036 - a bug here, SystemExit too, must be shown, not end the thread silently
            self.errored.emit(exc)
        finally:
            if shared:
                thread_affinity.end_share(self._gui_thread)

    def _loop(self) -> None:
        sup = self._supervisor
        bursts = BurstWatch()
        pending: list[Event] = []
        held = 0  # items in `pending`
        lines = 0  # log lines in `pending`
        urgent = False
        gather = True
        last_emit = 0.0
        hold_until = 0.0  # the first items of a burst wait for the rest until then
        while not self._stop:
            if self._shutdown and sup.all_stopped():
                break
            timeout = None
            if pending:
                timeout = max(0.0, max(last_emit + self.min_gap, hold_until) - time.monotonic())
                if self._unacked:
                    self._held = True
                    # Asked again after saying so: an ack in between saw no flag and woke nobody.
                    timeout = None if self._unacked else 0.0
            # Holding items for the next frame anyway: let the channels fill meanwhile and read
            # them all at the frame (one wake-up, not one per message), unless a channel was so
            # busy last frame that its pipe would fill first. 64 workers at 1 000/s: consumer
            # CPU 45 % -> 12 %, GUI lateness p99 30 -> 16 ms.
            full = self._unacked and held >= MAX_HELD_ITEMS
            new = sup.poll(timeout, gather=bool(pending) and (gather or full))
            batches = [ev for ev in new if type(ev) is ItemBatch and ev.items]
            now = time.monotonic()
            if batches:
                if not held and not self._unacked and now - last_emit >= self.min_gap:
                    hold = bursts.lead(batches, now)  # a quiet spell ends here
                    hold_until = now + (hold if self.hold_bursts else 0.0)
                elif now < bursts.open_until:
                    bursts.follow(batches)
                held += sum(len(ev.items) for ev in batches)
            pending.extend(new)
            lines += count_lines(new)
            if lines > MAX_HELD_LINES:
                pending = thin_lines(pending, LINES_PER_EMIT, self._in_log_file)
                lines = count_lines(pending)
            urgent = urgent or any(type(ev) in _URGENT for ev in new)
            if pending and not self._unacked and (urgent or (now - last_emit >= self.min_gap and now >= hold_until)):
                self._unacked = True
                merged = merge_batches(pending)
                cut = _cut_point(merged, MAX_EVENTS_PER_EMIT)
                batch = thin_lines(merged[:cut], LINES_PER_EMIT, self._in_log_file)
                pending = merged[cut:]
                del new, batches, merged  # a poll's worth of lines: gone before the collection
                # Due, or nearly: the GUI thread's own objects of the frame may take it past.
                collect = gc.get_count()[0] > gc.get_threshold()[0] // 2
                if collect:
                    self._collected.clear()
                self._batch.emit(batch)
                self.emissions += 1
                del batch
                if collect:  # held here, only a frame's events are alive: the collection is short
                    self._collected.wait(COLLECT_WAIT_S)
                held = sum(len(ev.items) for ev in pending if type(ev) is ItemBatch)
                lines = count_lines(pending)
                hold_until = 0.0
                if not urgent:  # a rare state change going out early must not push the items' frames back
                    last_emit = time.monotonic()
                urgent = any(type(ev) in _URGENT for ev in pending)
                gather = sup.busiest_bytes() < GATHER_MAX_BYTES
        if pending:
            self._batch.emit(thin_lines(merge_batches(pending), LINES_PER_EMIT, self._in_log_file))
            self.emissions += 1

    def _in_log_file(self, worker: str) -> bool:
        """Return whether ``worker``'s log file holds the lines the supervisor returned (this thread)."""
        return self._supervisor.log_files.keeps(worker)


def _cut_point(events: list[Event], most: int) -> int:
    """Return how many of ``events`` go in one emission: up to ``most`` that are not log lines (or notes of them)."""
    if len(events) <= most:
        return len(events)
    counted = 0
    for i, ev in enumerate(events):
        if type(ev) is not LogLine and type(ev) is not LinesSkipped:
            counted += 1
            if counted > most:
                return i
    return len(events)


def stop_and_join(consumer: Consumer, supervisor: Supervisor, timeout: float | None) -> bool:
    """Stop every worker and end ``consumer``, waiting up to ``timeout``; kill whatever is left.

    ``timeout`` defaults to the longest ``stop_timeout`` plus a margin for the thread to finish.
    Returns whether every worker stopped in time.
    """
    graceful = True
    if consumer.isRunning():
        if timeout is None:
            timeout = max((supervisor.spec(n).stop_timeout for n in supervisor.names()), default=0.0) + _CLOSE_MARGIN_S
        consumer.request_shutdown()
        graceful = consumer.wait(max(1, int(timeout * 1000)))
        if not graceful:
            consumer.request_stop()
    consumer.wait()  # also a thread in the middle of finishing (no longer "running"; not finished yet)
    consumer.release_collector()
    supervisor.close()
    return graceful
