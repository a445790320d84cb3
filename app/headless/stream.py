"""Headless mode: run the supervisor with no window and write every event as a JSON line."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, TextIO

from pulse_supervisor.core.config.toml_file import load_config
from pulse_supervisor.core.control.commands import SupervisorControl
from pulse_supervisor.core.control.server import ControlServer
from pulse_supervisor.core.control.wire import ControlError
from pulse_supervisor.core.spec import PulseConfig
from pulse_supervisor.core.supervision.events import (
    DescriptorsLow,
    Event,
    ItemBatch,
    LogLine,
    StackDump,
    StartFailed,
    StateChanged,
    WorkerExited,
    WorkersChanged,
)
from pulse_supervisor.core.supervision.supervisor import Supervisor
from pulse_supervisor.core.wire.item_forms import StandIn
from pulse_supervisor.headless.json_items import encode_data
from pulse_supervisor.headless.output import HeadlessOutput

STOP_GRACE = 5.0  # seconds allowed on top of the longest stop_timeout before close() kills
# SIGHUP: the terminal or SSH session went away, which asks for the same graceful end.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode  # Pulse's own records


def _stand_in_fields(item: Any) -> str:
    """Return the ``"class"`` (for an object of a worker's class) and ``"data"`` fields of an item."""
    fields = '"class":' + _encode(item.type_name) + "," if type(item) is StandIn else ""
    return f'{fields}"data":{encode_data(item)}'


def event_lines(event: Event) -> list[str]:
    """Return the JSON lines (each ending in a newline) that describe ``event``.

    Parameters
    ----------
    event : Event
        A supervisor event.

    Returns
    -------
    list of str
        One line per item for an `ItemBatch`, one line for any other event.
    """
    if isinstance(event, ItemBatch):
        prefix = '{"type":"item","worker":' + _encode(event.worker) + ',"seq":'
        first = event.first_seq
        if event.stand_ins:
            return [f"{prefix}{first + i},{_stand_in_fields(item)}}}\n" for i, item in enumerate(event.items)]
        return [f'{prefix}{first + i},"data":{encode_data(item)}}}\n' for i, item in enumerate(event.items)]
    record: dict[str, Any]
    if isinstance(event, StateChanged):
        record = {"type": "state", "worker": event.worker, "state": event.state.value, "pid": event.pid}
        if event.reason:
            record["reason"] = event.reason  # why a FATAL worker was given up, or a limit's restart
        if event.node:
            record["node"] = event.node  # a remote run's node (none: this machine)
    elif isinstance(event, LogLine):
        record = {"type": "log", "worker": event.worker, "stream": event.stream, "level": event.level}
        record["line"] = event.line
        if event.traceback:
            record["traceback"] = True
    elif isinstance(event, WorkerExited):
        record = {"type": "exit", "worker": event.worker, "exitcode": event.exitcode, "signal": event.signal}
    elif isinstance(event, StackDump):
        record = {"type": "stack", "worker": event.worker, "text": event.text}
    elif isinstance(event, WorkersChanged):
        record = {"type": "workers", "names": list(event.names)}
    elif isinstance(event, StartFailed):
        record = {"type": "start_failed", "worker": event.worker, "reason": event.reason}
    elif isinstance(event, DescriptorsLow):
        record = {"type": "descriptors", "low": event.low, "workers": event.workers, "open": event.open}
        record |= {"limit": event.limit, "message": event.message}
    else:  # pragma: no cover - Event is exhaustive above
        record = {"type": "unknown", "repr": repr(event)}
    return [_encode(record) + "\n"]


class _StopRequest:
    """SIGINT, SIGTERM and SIGHUP handlers that set a flag and wake the polling loop.

    `Supervisor.wake` takes a non-reentrant lock, so the handler calls it only while the main
    thread waits inside `Supervisor.poll` (``polling``), never while it might hold that lock.
    A second SIGINT or SIGTERM kills the workers; a SIGHUP only ever asks for the graceful stop.

    Python runs the handler only once the main thread is back in Python code: a signal that
    lands just as it enters the poll's wait left it asleep until the poll's timeout. So the
    signal also writes to a wake-up fd (`signal.set_wakeup_fd`) that a thread of ours waits on
    and turns into `Supervisor.wake`.
    """

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        self.count = 0
        self.polling = False
        self._old: dict[int, Any] = {}
        self._wakeup: tuple[int, int, int] | None = None  # read end, write end, the previous wake-up fd
        self._relay: threading.Thread | None = None

    def install(self) -> None:
        """Install the handlers (only possible from the main thread; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _STOP_SIGNALS:
            self._old[sig] = signal.signal(sig, self._handle)
        r, w = os.pipe()
        os.set_blocking(w, False)
        self._wakeup = (r, w, signal.set_wakeup_fd(w, warn_on_full_buffer=False))
        self._relay = threading.Thread(target=self._relay_signals, args=(r,), name="pulse-signals", daemon=True)
        self._relay.start()

    def restore(self) -> None:
        """Put back the handlers that were there before `install`."""
        for sig, old in self._old.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old.clear()
        if self._wakeup is not None:
            r, w, previous = self._wakeup
            signal.set_wakeup_fd(previous)
            os.close(w)  # the relay reads end of file, and ends
            if self._relay is not None:
                self._relay.join(timeout=5.0)
            os.close(r)
            self._wakeup = self._relay = None

    def _relay_signals(self, r: int) -> None:
        while os.read(r, 64):  # a signal came, whichever thread took it: wake the poll
            self._supervisor.wake()

    def _handle(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGHUP and self.count:
            return  # a hang-up comes twice (the kernel's, then the shell's to its jobs): it never insists
        self.count += 1
        if self.polling:
            self._supervisor.wake()


def _idle(supervisor: Supervisor) -> bool:
    """Return whether nothing runs and nothing ever will (no process, no restart or start pending)."""
    if supervisor.commands_pending():
        return False
    for name in supervisor.names():
        rec = supervisor.record(name)
        if rec.run is not None or rec.runtime.deadline is not None or rec.runtime.state.is_alive:
            return False
    return True


def run_headless(config: PulseConfig, duration: float | None = None, out: TextIO | None = None) -> int:
    """Supervise ``config``'s autostart workers with no window, writing JSON lines to ``out``.

    One object per line, flushed after each poll: ``item`` (one per item, with ``seq`` and
    ``data``), ``state``, ``log``, ``exit`` and ``stack``. The run ends on SIGINT, SIGTERM or
    SIGHUP, after ``duration`` seconds, when the reader of ``out`` goes away (a broken pipe, a
    terminal that hung up), or when no worker runs any more nor will restart. Every worker is then
    stopped gracefully and its final events are written; a second SIGINT or SIGTERM during that
    stop kills the workers at once.

    Parameters
    ----------
    config : PulseConfig
        The workers to supervise; those with ``autostart`` are started.
    duration : float, optional
        Seconds to run before stopping; None runs until a signal (or until idle).
    out : text file, optional
        Where the lines go; default ``sys.stdout`` (looked up at call time).

    Returns
    -------
    int
        The exit code: 0, or 1 when ``out`` could not be written (its reader quitting aside).
    """
    supervisor = Supervisor(config)
    stop = _StopRequest(supervisor)
    output = HeadlessOutput(out if out is not None else sys.stdout, should_stop=lambda: stop.count > 0)
    stop.install()
    control = _serve_control(supervisor, config)
    try:
        supervisor.start_autostart()
        deadline = None if duration is None else time.monotonic() + max(0.0, duration)
        first = True  # the first poll only carries out the starts, so `_idle` is meaningful after it
        while True:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                break
            if first:
                timeout, first = 0.0, False
            stop.polling = True  # before the check: a signal from here on wakes the poll
            if stop.count or output.broken:
                break
            events = supervisor.poll(timeout)
            stop.polling = False
            output.write(lines_of(events))
            if _idle(supervisor):
                break
        stop.polling = False
        _stop_all(supervisor, stop, output)
        output.close(timeout=STOP_GRACE)  # a reader that stalled for good: say so, exit 1
    finally:
        stop.polling = False
        if control is not None:
            control.close()
        try:
            supervisor.close()
        finally:
            stop.restore()
    return 1 if output.failure else 0


def _serve_control(supervisor: Supervisor, config: PulseConfig) -> ControlServer | None:
    """Serve `pulse ctl` on this process's control socket; without one (an unsafe directory), say so and go on."""
    source = config.source

    def reload() -> str:
        assert source is not None
        new = load_config(source)  # raises ConfigError naming every problem: nothing changes
        supervisor.apply_config(new)
        return f"reloaded {source}: {len(new.workers)} worker(s)"

    handler = SupervisorControl(supervisor, reload if source else None)
    try:
        return ControlServer(handler.handle, {"kind": "headless", "config": source})
    except (ControlError, OSError) as exc:
        print(f"pulse ctl cannot reach this Pulse: {exc}", file=sys.stderr)
        return None


def lines_of(events: Iterable[Event]) -> list[str]:
    """Return the JSON lines of ``events``, in order."""
    return [line for event in events for line in event_lines(event)]


def _stop_all(supervisor: Supervisor, stop: _StopRequest, output: HeadlessOutput) -> None:
    """Stop every worker gracefully and write events until none has a process (or time is up)."""
    signals_seen = stop.count
    supervisor.stop_all()
    # The supervisor's specs, not the config's: `pulse ctl reload` may have changed them since.
    longest = max((supervisor.spec(name).stop_timeout for name in supervisor.names()), default=0.0)
    bound = time.monotonic() + longest + STOP_GRACE
    while True:
        if stop.count > signals_seen:  # impatient user: a second signal kills
            signals_seen = stop.count
            for name in supervisor.names():
                if supervisor.record(name).run is not None:
                    supervisor.kill(name)
        left = bound - time.monotonic()
        stop.polling = True
        if stop.count > signals_seen:
            stop.polling = False
            continue
        # At least one poll, so stops of workers without a process (BACKOFF) are reported too.
        events = supervisor.poll(0.0 if supervisor.all_stopped() else max(0.0, left))
        stop.polling = False
        output.write(lines_of(events))
        if (supervisor.all_stopped() and not events) or left <= 0:
            break
