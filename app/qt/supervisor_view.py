"""What an app hears and reads of its workers (`QtSupervisor`'s signals, each one's status), and messages to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QObject, Signal

from pulse_supervisor.core.errors import SupervisorClosedError, UnknownWorkerError
from pulse_supervisor.core.supervision.events import (
    ItemBatch,
    LinesSkipped,
    LogLine,
    StackDump,
    StartFailed,
    StateChanged,
    WorkerExited,
)
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.worker_status import WorkerStatus, WorkerStatuses
from pulse_supervisor.qt.binding import is_connected

if TYPE_CHECKING:
    from pulse_supervisor.core.spec import WorkerSpec
    from pulse_supervisor.core.supervision.events import Event
    from pulse_supervisor.core.supervision.policy import State
    from pulse_supervisor.core.supervision.supervisor import Supervisor


class SupervisorView(QObject):
    """Every signal of `QtSupervisor`, each emitted in the GUI thread, and the statuses read beside them.

    Every worker as its events told it, in the GUI thread: the one place the GUI side reads
    states and counts (the supervisor's records belong to the consumer thread).

    Signals
    -------
    items(str, list)
        A worker's new items, in order: at most one emission per worker per frame (~60 a second).
    newest(str, object)
        The newest of those items: connect it to a status bar or a label.
    state_changed(str, object)
        The worker entered a `State` (STARTING, RUNNING, STOPPING, STOPPED, BACKOFF, ...).
    exited(str, object, object)
        The worker's process ended: exit code (None if a signal killed it) and signal number.
    start_failed(str, str)
        A start of the worker failed before its process ran, and why (e.g. too many open
        files: the counts); its state goes on as after a failed run (BACKOFF, FATAL, EXITED).
    limit_restarted(str, str)
        The worker crossed its ``max_rss`` or ``max_cpu_percent`` and is being restarted (no
        crash), and why: "RSS 530 MiB over max_rss 512 MiB"; `status` has it as its ``reason``.
    log_line(str, str, str)
        A line the worker printed or logged, or a whole traceback: worker, level, text. In a
        flood (more than a few hundred lines a frame) each worker's newest lines come, and for
        the rest one WARNING, "N lines not shown; all are in the log file" (`LinesSkipped`).
    stack(str, str)
        The worker's live Python stack, all threads, in answer to `request_stack`.
    events(list)
        Every event as the core reports it (`ItemBatch`, `StateChanged`, ...), in order.
    errored(object)
        The consumer thread hit an internal error (the exception); it has stopped.
    finished()
        Every worker is stopped and the thread has ended (after `shutdown` or `close`).
    """

    items = Signal(str, list)
    newest = Signal(str, object)
    state_changed = Signal(str, object)
    exited = Signal(str, object, object)
    start_failed = Signal(str, str)
    limit_restarted = Signal(str, str)
    log_line = Signal(str, str, str)
    stack = Signal(str, str)
    events = Signal(list)
    errored = Signal(object)
    finished = Signal()

    _statuses: WorkerStatuses
    _closed: bool
    supervisor: Supervisor

    def _check_open(self) -> None:
        if self._closed:
            raise SupervisorClosedError("this QtSupervisor is closed: it takes no more commands")

    def names(self) -> list[str]:
        """Return the workers' names, in the order they were configured or added."""
        return self._statuses.names()

    def state(self, name: str) -> State:
        """Return the state of ``name`` as last signalled (`state_changed`)."""
        return self.status(name).state

    def status(self, name: str) -> WorkerStatus:
        """Return what the events have said about ``name``: state, pid, exit, counts (kept current, read-only)."""
        status = self._statuses.get(name)
        if status is None:
            raise UnknownWorkerError(name)
        return status

    @property
    def statuses(self) -> WorkerStatuses:
        """Every worker's `WorkerStatus`, in config order, updated before each batch is signalled (read-only)."""
        return self._statuses

    def spec(self, name: str) -> WorkerSpec:
        """Return the spec ``name`` runs (or will run at its next start, after a change)."""
        return self.status(name).spec

    def send(self, name: str, value: Any) -> None:
        """Send ``value`` to ``name``'s inbox (``ctx.receive()``, a generator's ``value = yield item``).

        Pickled now, one way; a worker not running when it arrives does not get it (its log says
        so), nor one whose inbox is full (1 000 messages: the overflow is counted and logged).

        Raises
        ------
        UnknownWorkerError
            No worker has that name.
        MessageError
            ``value`` does not pickle, or is over 1 MiB pickled.
        """
        self._check_open()
        self.status(name)
        self.supervisor.send(name, value)

    def message_counts(self, name: str) -> tuple[int, int]:
        """Return (messages sent to ``name``, messages its full inbox dropped), all its runs."""
        self.status(name)
        try:
            rec = self.supervisor.record(name)  # the consumer thread's: read here, never changed
        except KeyError:  # being added
            return 0, 0
        return rec.messages_sent, rec.messages_dropped

    def _dispatch(self, events: list[Event]) -> None:
        self._statuses.fold(events)  # first: every slot reads statuses already current
        self._emit_signals(events)

    def _emit_signals(self, events: list[Event]) -> None:
        """Emit ``events`` as the signals someone listens to, in order."""
        # Only the signals someone listens to are emitted: an app on `events` alone (the window)
        # pays no per-worker emissions (asked per batch: a slot connected later is served).
        if is_connected(self, self.events):
            self.events.emit(events)
        items, newest = is_connected(self, self.items), is_connected(self, self.newest)
        states, exits = is_connected(self, self.state_changed), is_connected(self, self.exited)
        failures = is_connected(self, self.start_failed)
        lines, stacks = is_connected(self, self.log_line), is_connected(self, self.stack)
        for ev in events:
            if type(ev) is ItemBatch:
                if ev.items:
                    if items:
                        self.items.emit(ev.worker, ev.items)
                    if newest:
                        self.newest.emit(ev.worker, ev.items[-1])
            elif type(ev) is StateChanged:
                if states:
                    self.state_changed.emit(ev.worker, ev.state)
                if ev.state is State.STOPPING and ev.reason.startswith("restarting: "):
                    self.limit_restarted.emit(ev.worker, ev.reason.removeprefix("restarting: "))
            elif type(ev) is WorkerExited:
                if exits:
                    self.exited.emit(ev.worker, ev.exitcode, ev.signal)
            elif type(ev) is StartFailed:
                if failures:
                    self.start_failed.emit(ev.worker, ev.reason)
            elif type(ev) is LogLine:
                if lines:
                    self.log_line.emit(ev.worker, ev.level, ev.line)
            elif type(ev) is LinesSkipped:
                if lines:
                    self.log_line.emit(ev.worker, "WARNING", ev.message)
            elif type(ev) is StackDump and stacks:
                self.stack.emit(ev.worker, ev.text)
