"""`ProcessJob`: one job in a process of its own, what it does arriving as Qt signals; its controls."""

from __future__ import annotations

import contextlib
import pickle
from collections import deque
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from qtpy.QtCore import QObject, Signal

from pulse_supervisor.core.errors import JobCallError, JobError, UnknownWorkerError
from pulse_supervisor.core.spec import DEFAULT_STOP_TIMEOUT
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.worker.job_runner import (
    PAUSE,
    PAUSED,
    RAISED,
    RESUME,
    RESUMED,
    RETURNED,
    SEND,
    WARNED,
    YIELDED,
)
from pulse_supervisor.qt.binding import is_connected
from pulse_supervisor.qt.job_calls import JobCall, check_connect, check_thread
from pulse_supervisor.qt.job_host import call_later, host

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

Y = TypeVar("Y")  # what the job yields
S = TypeVar("S")  # what `send` sends it
R = TypeVar("R")  # what it returns
_OUTPUT_KEPT = 20  # a job that dies without a traceback is explained by the end of its output
SIGNALS = ("started", "yielded", "returned", "errored", "warned", "paused", "resumed", "aborted", "finished")


class ProcessJob(QObject, Generic[Y, S, R]):
    """A function running in a worker process of its own; what it does arrives as Qt signals.

    Made by `run_in_process` (or a `process_job` function). Every signal is emitted in the GUI
    thread. An error nobody handles (no slot on ``errored``, and not ``ignore_errors``) is raised
    again in the GUI thread, as superqt's workers do.

    Signals
    -------
    started()
        The process is running the function.
    yielded(object)
        A value the function yielded (a generator function), in order.
    returned(object)
        What the function returned: the job succeeded.
    errored(object)
        A `JobError`: the function raised (its type, message, traceback and, if it loads here,
        the exception itself), a value it yielded or returned cannot cross to this process (named),
        the process died without a result (killed, crashed in C), or it could not be started.
    warned(object)
        A warning the job issued: ``(message, category name, filename, lineno)``.
    paused(), resumed()
        A generator job stopped between two values after `pause`, and went on after `resume`.
    aborted()
        `cancel` stopped the job before it returned.
    finished()
        The job is over, whichever way; always last.
    """

    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    warned = Signal(object)
    paused = Signal()
    resumed = Signal()
    aborted = Signal()
    finished = Signal()

    def __init__(self, call: JobCall, *, stop_timeout: float = DEFAULT_STOP_TIMEOUT, ignore_errors: bool = False):
        super().__init__()  # yours to keep: the shared supervisor forgets it once it ended
        self.name = ""  # the worker's, once started
        self.call = call
        self._stop_timeout = stop_timeout
        self._ignore_errors = ignore_errors
        self._outcome = ""  # RETURNED or RAISED once the job said how it ended
        self._cancelled = False
        self._started = False  # start() was called
        self._running = False
        self._paused = False
        self._supervisor: Any = None
        self._control: Connection | None = None  # ours: what we send the job's generator
        self._started_said = False  # `started` was emitted
        self._finished = False  # it ended: `finished` was emitted, or is being
        self._pending: list[bytes] = []  # sent before start
        self._here: list[bytes] | None = None  # what was sent, while `run_here` runs it
        self._output: deque[str] = deque(maxlen=_OUTPUT_KEPT)

    # --- the caller's --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the job (made with ``start=False``); a job starts once.

        Raises
        ------
        JobError
            Already started, not in the GUI thread, or no QApplication.
        """
        if self._started:
            raise JobError(f"{self.name or 'the job'} was started already: a job runs once; make another")
        check_thread()
        jobs = host()
        self._started = self._running = True
        self._supervisor = jobs.workers
        self.name, self._control = jobs.start(self, self.call, self._stop_timeout)
        if self._control is not None:
            for message in self._pending:
                self._control.send_bytes(message)
        self._pending.clear()

    @property
    def is_running(self) -> bool:
        """Whether the job was started and has not finished yet."""
        return self._running

    @property
    def abort_requested(self) -> bool:
        """Whether `cancel` was called (superqt's name)."""
        return self._cancelled

    @property
    def is_paused(self) -> bool:
        """Whether the job's generator is paused (after `paused`, until `resumed`)."""
        return self._paused

    def cancel(self) -> None:
        """Interrupt the job as a Stop does (SIGTERM: it ends wherever it waits or computes)."""
        if self._cancelled:
            return
        self._cancelled = True
        if self._running and self._supervisor is not None:
            with contextlib.suppress(UnknownWorkerError):  # it ended a moment ago: nothing left to stop
                self._supervisor.stop(self.name)

    def send(self, value: S) -> None:
        """Send ``value`` into the job's generator: the value of its next ``yield`` that takes one."""
        try:
            data = pickle.dumps((SEND, value), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise JobCallError(
                f"send: a {type(value).__qualname__} cannot be sent to the job's process: {exc}"
            ) from None
        self._tell(data, "send")

    def pause(self) -> None:
        """Ask a generator job to stop after its current value; `paused` says when it has."""
        if not self._paused:
            self._tell(pickle.dumps((PAUSE, None)), "pause")

    def resume(self) -> None:
        """Let a paused generator job go on; `resumed` says when it has."""
        if self._paused:
            self._tell(pickle.dumps((RESUME, None)), "resume")

    def toggle_pause(self) -> None:
        """`resume` if paused, else `pause`."""
        if self._paused:
            self.resume()
        else:
            self.pause()

    def run_here(self) -> Any:
        """Run the job in this process and thread, blocking, with its signals (superqt's ``work``).

        For debugging and tests only: nothing is pickled, and `cancel`, `pause` and `send` act
        between the generator's values, as in superqt. Returns what the function returned (None
        when cancelled).
        """
        from pulse_supervisor.qt.job_here import run_here

        return run_here(self)

    def _tell(self, data: bytes, what: str) -> None:
        if not self.call.is_generator:
            raise JobError(f"{what}: {self.call.target} is not a generator function: only a generator takes values")
        if self._here is not None:
            self._here.append(data)
            return
        if self._control is None:
            self._pending.append(data)  # not started yet: sent at the start
        elif self._running:
            with contextlib.suppress(OSError):  # it ended a moment ago: its end of the pipe is gone
                self._control.send_bytes(data)

    # --- from the job host (GUI thread) --------------------------------------------------------

    def _on_items(self, items: list[Any]) -> None:
        self._say_started()  # a spare's job: its RUNNING came before the job did
        for kind, value in items:
            if self._finished:  # it ended here (a value that did not load): the rest is moot
                return
            if kind == YIELDED:
                try:
                    self.yielded.emit(pickle.loads(value))
                except Exception as exc:
                    self._unloadable(exc, "yielded")
            elif kind == RETURNED:
                try:
                    result = pickle.loads(value)
                except Exception as exc:
                    self._unloadable(exc, "returned")
                else:
                    self._outcome = RETURNED
                    self.returned.emit(result)
                    self._finish()
            elif kind == RAISED:
                if self._cancelled:  # what the stop broke (an import it cut short): the job was aborted
                    continue
                self._outcome = RAISED
                self._error(_job_error(value))
                self._finish()
            elif kind == WARNED:
                self.warned.emit(value)
            elif kind in (PAUSED, RESUMED):
                self._paused = kind == PAUSED
                (self.paused if self._paused else self.resumed).emit()

    def _unloadable(self, exc: Exception, what: str) -> None:
        self._outcome = RAISED
        why = f"a value the job {what} cannot be loaded in the GUI's process: {type(exc).__name__}: {exc}"
        if self._running and not self._cancelled:
            self._supervisor.stop(self.name)
        self._error(JobError(why))
        self._finish()

    def _finish(self) -> None:
        """The job said how it ended: it is over for the caller (its process exits on its own, supervised)."""
        self._end()
        self.finished.emit()

    def _on_state(self, state: State) -> None:
        if state is State.RUNNING and self._running:
            self._say_started()

    def _say_started(self) -> None:
        if not self._started_said:
            self._started_said = True
            self.started.emit()

    def _on_output(self, text: str) -> None:
        self._output.append(text)

    def _on_start_failed(self, reason: str) -> None:
        if self._finished:
            return
        self._end()
        self._error(JobError(f"the job's process could not start: {reason}"))
        self.finished.emit()

    def _on_exited(self, exitcode: int | None, signal: int | None) -> None:
        if self._finished:  # it said how it ended, and `finished` went then
            return
        self._end()
        if not self._outcome:
            if self._cancelled:
                self.aborted.emit()
            else:  # it died before it could say how it ended: a kill, a segfault, os._exit
                how = f"was killed by signal {signal}" if signal else f"exited with code {exitcode}"
                self._error(JobError(f"the job's process {how} before returning", traceback="".join(self._output)))
        self.finished.emit()

    def _end(self) -> None:
        self._finished = True
        self._running = False
        self._paused = False
        if self._control is not None:
            self._control.close()

    def _error(self, error: JobError) -> None:
        self.errored.emit(error)
        if not self._ignore_errors and not is_connected(self, self.errored):

            def reraise() -> None:
                raise error

            call_later(reraise)  # on its own, not in the middle of the batch the error came in


def _job_error(value: tuple[Any, ...]) -> JobError:
    type_name, message, text, pickled, *_module = value
    original = None
    if pickled is not None:
        with contextlib.suppress(Exception):  # its class may not load here: its name and text still do
            original = pickle.loads(pickled)
    return JobError(message, type_name=type_name, traceback=text, original=original)


def connect_and_start(job: ProcessJob[Any, Any, Any], connect: Any, start: bool) -> None:
    """Connect ``connect``'s slots (checked first: nothing is connected if one is bad), then start."""
    pairs = check_connect(connect, SIGNALS)
    if start:
        check_thread()
    for name, slot in pairs:
        getattr(job, name).connect(slot)
    if start:
        job.start()
