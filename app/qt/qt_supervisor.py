"""QtSupervisor: supervised worker processes for any PyQt app, reported as Qt signals."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QCoreApplication, QMetaMethod, QObject, Signal

from app.core.errors import ConfigError, ConfigProblem, SupervisorClosedError, UnknownWorkerError
from app.core.events import ItemBatch, LogLine, StackDump, StateChanged, WorkerExited
from app.core.inspection import Inspector, ProcessInfo
from app.core.policy import State
from app.core.spec import PulseConfig
from app.core.spec_checks import check_spec_fields
from app.core.supervisor import Supervisor
from app.qt.binding import IS_PYSIDE
from app.qt.consumer import Consumer

if TYPE_CHECKING:
    from app.core.events import Event
    from app.core.spec import WorkerSpec

# Time for the consumer to finish once every worker is gone, on top of the longest stop_timeout.
_CLOSE_MARGIN_S = 2.0


class QtSupervisor(QObject):
    """Run Python callables in their own processes; get their items and states as Qt signals.

    The library face of Pulse for your own window: the `Supervisor` (processes, channels,
    restart policy) plus the `Consumer` QThread that blocks on every channel and delivers
    coalesced batches to the GUI thread. Every signal is emitted in the GUI thread.

    Parameters
    ----------
    config : PulseConfig, optional
        Workers to supervise from the start (e.g. from `load_config`); more with `add`.
    autostart : bool
        Start the config's workers whose spec says ``autostart`` (default True).
    log_dir : str or PathLike, optional
        Where each worker's output is also written, a rotated file per worker (default:
        ``$PULSE_LOG_DIR``, else ``~/.local/share/pulse/logs``).
    parent : QObject, optional
        Usually your window.

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
    log_line(str, str, str)
        A line the worker printed or logged, or a whole traceback: worker, level, text.
    stack(str, str)
        The worker's live Python stack, all threads, in answer to `request_stack`.
    events(list)
        Every event as the core reports it (`ItemBatch`, `StateChanged`, ...), in order.
    errored(object)
        The consumer thread hit an internal error (the exception); it has stopped.
    finished()
        Every worker is stopped and the thread has ended (after `shutdown` or `close`).

    Closing: call `shutdown` (returns at once; `finished` follows) or `close` (blocks until the
    workers have stopped, at most their ``stop_timeout``), e.g. in your window's ``closeEvent``
    (and do, before deleting its parent: its thread must end first). If you call neither,
    `close` runs when the application quits. Workers die with your process in any case, even on
    SIGKILL.
    """

    items = Signal(str, list)
    newest = Signal(str, object)
    state_changed = Signal(str, object)
    exited = Signal(str, object, object)
    log_line = Signal(str, str, str)
    stack = Signal(str, str)
    events = Signal(list)
    errored = Signal(object)
    finished = Signal()

    def __init__(
        self,
        config: PulseConfig | None = None,
        *,
        autostart: bool = True,
        log_dir: str | os.PathLike[str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        config = config if config is not None else PulseConfig()
        self.supervisor = Supervisor(config, log_dir=log_dir)
        # Worker -> state as last signalled, in config/add order; names change here at once (the
        # supervisor's own view lags a poll).
        self._states: dict[str, State] = dict.fromkeys(config.names(), State.STOPPED)
        self._closed = False
        self._finished = False
        self._inspector = Inspector()
        # Connect first, then start: nothing emitted before the slots exist is lost.
        self.consumer = Consumer(self.supervisor)
        self.consumer.events_received.connect(self._on_events)
        self.consumer.errored.connect(self.errored)
        self.consumer.finished.connect(self._on_consumer_finished)
        self.consumer.start()
        app = QCoreApplication.instance()
        self._app = app
        if app is not None:
            app.aboutToQuit.connect(self.close)
        if autostart:
            self.supervisor.start_autostart()

    # --- workers ------------------------------------------------------------------------------

    def add(
        self, name: str, target: str | Callable[..., Any], *, kwargs: dict[str, Any] | None = None, **options: Any
    ) -> WorkerSpec:
        """Add a worker running ``target`` with ``kwargs``; return its spec.

        ``target`` is ``"module:callable"`` or a module-level function (a generator, or a
        function taking ``ctx``; see the producer contract). ``options`` are `WorkerSpec` fields,
        as in a config file: ``autostart`` (default True: it starts now), ``restart``,
        ``stop_timeout``, ``nice``, ``sched``, ... The target is imported here to check it.

        Raises
        ------
        ConfigError
            Naming every bad field (or a name already in use); nothing is added.
        """
        where = f"QtSupervisor.add({name!r})"
        problems: list[ConfigProblem] = []
        if not isinstance(target, str):
            target, reason = target_of(target)
            if reason:
                problems.append(ConfigProblem(where, None, "target", reason))
        if name in self._states:
            problems.append(ConfigProblem(where, None, "name", f"a worker named {name!r} already exists"))
        if problems:
            raise ConfigError(problems)
        self._check_open()
        fields: dict[str, Any] = {"name": name, "target": target, **options}
        if kwargs is not None:
            fields["kwargs"] = kwargs
        spec = check_spec_fields(where, fields)
        self.add_spec(spec)
        return spec

    def add_spec(self, spec: WorkerSpec) -> None:
        """Add a worker from a ready `WorkerSpec` (started now if ``spec.autostart``).

        Unlike `add`, the target is not imported to check it first: a target that cannot run
        shows as the worker's crash (its traceback in `log_line`).

        Raises
        ------
        ConfigError
            When the name is in use (or its worker is still being removed); nothing is added.
        """
        where = f"QtSupervisor.add_spec({spec.name!r})"
        if spec.name in self._states:
            raise ConfigError([ConfigProblem(where, None, "name", f"a worker named {spec.name!r} already exists")])
        self._check_open()
        try:
            self.supervisor.add_spec(spec)
        except ConfigError:  # removed a moment ago, and its process not gone yet
            raise ConfigError([ConfigProblem(where, None, "name", f"{spec.name!r} is still being removed")]) from None
        self._states[spec.name] = State.STOPPED

    def remove(self, name: str) -> None:
        """Stop ``name`` if it runs, then forget it."""
        self._check_open()
        self.supervisor.remove(name)
        del self._states[name]

    def apply_config(self, config: PulseConfig) -> None:
        """Reload: unchanged workers keep running, changed ones restart, removed ones stop, new ones start.

        ``config`` is already valid (`load_config` raises `ConfigError` for a bad file, and then
        nothing changes); its start method is ignored (the supervisor keeps its own).
        """
        self._check_open()
        self.supervisor.apply_config(config)
        self._states = {n: self._states.get(n, State.STOPPED) for n in config.names()}

    def start(self, name: str) -> None:
        """Start ``name`` (also from FATAL, BACKOFF or EXITED)."""
        self._check_open()
        self.supervisor.start(name)

    def stop(self, name: str) -> None:
        """Stop ``name`` gracefully: SIGTERM (every item it made is delivered), SIGKILL after its timeout."""
        self._check_open()
        self.supervisor.stop(name)

    def kill(self, name: str) -> None:
        """SIGKILL ``name`` and its children now."""
        self._check_open()
        self.supervisor.kill(name)

    def restart(self, name: str) -> None:
        """Stop ``name`` if it runs, then start it again."""
        self._check_open()
        self.supervisor.restart(name)

    def reset_counters(self, name: str) -> None:
        """Count ``name``'s restarts and items sent, received and lost from zero again."""
        self._check_open()
        self.supervisor.reset_counters(name)

    def request_stack(self, name: str) -> None:
        """Ask ``name`` for its live Python stack; `stack` answers."""
        self._check_open()
        self.supervisor.request_stack(name)

    def inspect(self, name: str) -> ProcessInfo:
        """Return a psutil snapshot of ``name``'s process (CPU % since the last call), never raising."""
        if name not in self._states:
            raise UnknownWorkerError(name)
        try:
            pid = self.supervisor.record(name).pid
        except KeyError:  # added a moment ago: the supervisor has not taken it in yet
            pid = None
        return self._inspector.inspect(pid)

    def names(self) -> list[str]:
        """Return the workers' names, in the order they were configured or added."""
        return list(self._states)

    def state(self, name: str) -> State:
        """Return the state of ``name`` as last signalled (`state_changed`)."""
        if name not in self._states:
            raise UnknownWorkerError(name)
        return self._states[name]

    # --- closing -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether `shutdown` or `close` was called: no more commands are taken."""
        return self._closed

    def shutdown(self) -> None:
        """Stop every worker gracefully without waiting; `finished` is emitted when all are gone."""
        if self._closed:
            return
        self._closed = True
        self.consumer.request_shutdown()

    def close(self, timeout: float | None = None) -> bool:
        """Stop every worker and end the thread, blocking; return whether all stopped gracefully.

        Waits up to ``timeout`` seconds (default: the longest ``stop_timeout`` plus 2 s); then
        whatever still runs is killed. Safe to call again, and after `shutdown`.
        """
        self._closed = True
        graceful = _stop_and_join(self.consumer, self.supervisor, timeout)
        self._emit_finished()
        return graceful

    # --- internals -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SupervisorClosedError("this QtSupervisor is closed: it takes no more commands")

    def _on_events(self, events: list[Event]) -> None:
        # Only the signals someone listens to are emitted: an app on `events` alone (the window)
        # pays no per-worker emissions (asked per batch: a slot connected later is served).
        if self._listened(self.events):
            self.events.emit(events)
        items, newest = self._listened(self.items), self._listened(self.newest)
        states, exits = self._listened(self.state_changed), self._listened(self.exited)
        lines, stacks = self._listened(self.log_line), self._listened(self.stack)
        for ev in events:
            if type(ev) is ItemBatch:
                if ev.items:
                    if items:
                        self.items.emit(ev.worker, ev.items)
                    if newest:
                        self.newest.emit(ev.worker, ev.items[-1])
            elif type(ev) is StateChanged:
                if ev.worker in self._states:
                    self._states[ev.worker] = ev.state
                if states:
                    self.state_changed.emit(ev.worker, ev.state)
            elif type(ev) is WorkerExited:
                if exits:
                    self.exited.emit(ev.worker, ev.exitcode, ev.signal)
            elif type(ev) is LogLine:
                if lines:
                    self.log_line.emit(ev.worker, ev.level, ev.line)
            elif type(ev) is StackDump and stacks:
                self.stack.emit(ev.worker, ev.text)

    def _listened(self, signal: Any) -> bool:
        if IS_PYSIDE:  # PyQt has no QMetaMethod.fromSignal; PySide's receivers() wants a signature
            return bool(self.isSignalConnected(QMetaMethod.fromSignal(signal)))
        return bool(self.receivers(signal) > 0)

    def _on_consumer_finished(self) -> None:
        self._closed = True  # the thread ended (shut down, or an internal error): nothing runs commands now
        self.supervisor.close()  # kill what is left (after an error), reap, close the pipes
        self._emit_finished()

    def _emit_finished(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._app is not None:
            self._app.aboutToQuit.disconnect(self.close)
        self.finished.emit()


def _stop_and_join(consumer: Consumer, supervisor: Supervisor, timeout: float | None) -> bool:
    """Stop every worker and end ``consumer``, waiting up to ``timeout``; kill whatever is left."""
    graceful = True
    if consumer.isRunning():
        if timeout is None:
            timeout = max((supervisor.spec(n).stop_timeout for n in supervisor.names()), default=0.0) + _CLOSE_MARGIN_S
        consumer.request_shutdown()
        graceful = consumer.wait(max(1, int(timeout * 1000)))
        if not graceful:
            consumer.request_stop()
            consumer.wait()
        consumer.release_collector()
    supervisor.close()
    return graceful


def target_of(fn: Callable[..., Any]) -> tuple[str, str | None]:
    """Return ``fn``'s ``"module:name"`` target, and why a worker process could not import it, if so."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname:  # lambdas and functions defined in functions
        return "", f"{fn!r} is not a module-level function: a worker process must be able to import it"
    main = sys.modules.get("__main__")
    if module == "__main__" and not getattr(main, "__file__", None):
        return "", f"{qualname} is defined in an interactive session: put it in a module or a script file"
    return f"{module}:{qualname}", None
