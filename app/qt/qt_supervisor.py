"""QtSupervisor: supervised worker processes for any PyQt app, reported as Qt signals."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QCoreApplication, QEvent, QObject, QThread

from pulse_supervisor.core.config.spec_checks import spec_from_call
from pulse_supervisor.core.errors import (
    ConfigError,
    ConfigProblem,
    NoEventLoopError,
)
from pulse_supervisor.core.processes.inspection import Inspector, ProcessInfo
from pulse_supervisor.core.spec import PulseConfig, expand_instances, instance_names
from pulse_supervisor.core.supervision.supervisor import Supervisor
from pulse_supervisor.core.supervision.worker_status import WorkerStatuses
from pulse_supervisor.qt.consumer import Consumer, stop_and_join
from pulse_supervisor.qt.item_loader import ItemLoader
from pulse_supervisor.qt.supervisor_view import SupervisorView

if TYPE_CHECKING:
    from pulse_supervisor.core.spec import WorkerSpec
    from pulse_supervisor.core.supervision.events import Event


class QtSupervisor(SupervisorView):
    """Run Python callables in their own processes; get their items and states as Qt signals.

    The library face of Pulse for your own window: the `Supervisor` (processes, channels,
    restart policy) plus the `Consumer` QThread that blocks on every channel and delivers
    coalesced batches to the GUI thread. Every signal is emitted in the GUI thread. Like the
    `Supervisor`, the first one raises your process's soft limit on open files to the hard
    limit (each worker costs 4 descriptors); the workers start with the limit you had. A start
    that would leave too few free is refused (`start_failed`), and running workers go on.

    Parameters
    ----------
    config : PulseConfig, optional
        Workers to supervise from the start (e.g. from `load_config`); more with `add`.
    autostart : bool
        Start the config's workers whose spec says ``autostart`` (default True).
    log_dir : str or PathLike, optional
        Where each worker's output is also written, a rotated file per worker (default:
        ``$PULSE_LOG_DIR``, else ``~/.local/share/pulse/logs``).
    objects : bool
        Deliver items of your own classes as the objects themselves (default True): they are
        loaded in the GUI thread as they are delivered, importing their module there if your
        app has not yet (never in the thread that serves every worker). False: as
        `item_forms.StandIn` (class name, repr, plain data), and this process imports nothing of
        the workers' (the window does that). An item that fails to load is dropped, counted as
        lost, and named in its worker's log.
    share_cpu : bool
        Keep the thread serving the workers and your GUI thread on one CPU while this runs (default
        False; the window does, on Linux): floods then stall the GUI 15-18 ms, not 69-92 ms. Threads
        and processes your GUI thread starts meanwhile inherit it; ``PULSE_SHARE_CPU=0`` turns it off.
    parent : QObject, optional
        Usually your window.

    Signals, and the statuses they fold into: see `SupervisorView`.

    Closing: call `shutdown` (returns at once; `finished` follows) or `close` (blocks until the
    workers have stopped, at most their ``stop_timeout``), e.g. in your window's ``closeEvent``
    (and do, before deleting its parent: its thread must end first). If you call neither,
    `close` runs when the application quits. Workers die with your process in any case, even on
    SIGKILL.
    """

    def __init__(
        self,
        config: PulseConfig | None = None,
        *,
        autostart: bool = True,
        log_dir: str | os.PathLike[str] | None = None,
        objects: bool = True,
        share_cpu: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        _check_gui_thread()  # before any process starts
        config = config if config is not None else PulseConfig()
        self._loader = ItemLoader(self._dispatch, self) if objects else None
        self.supervisor = Supervisor(config, log_dir=log_dir, objects=objects)
        # Every worker as its events told it, in the GUI thread: the one place the GUI side reads
        # states and counts (the supervisor's records belong to the consumer thread).
        self._statuses = WorkerStatuses(config.workers)
        # The [pulse] table as loaded (check_timeout for `add`; backend and ray_address for `config`).
        self._pulse = replace(config, workers=(), source=None)
        self._closed = False
        self._finished = False
        self._inspector = Inspector()
        # Connect first, then start: nothing emitted before the slots exist is lost.
        self.consumer = Consumer(self.supervisor, share_cpu=share_cpu)
        self.consumer.events_received.connect(self._on_events)
        self.consumer.errored.connect(self.errored)
        self.consumer.finished.connect(self._on_consumer_finished)
        self.consumer.start()
        app = QCoreApplication.instance()
        self._app = app
        if app is not None:
            app.aboutToQuit.connect(self.close)
        if autostart:
            self.start_autostart()

    # --- workers ------------------------------------------------------------------------------

    def add(
        self, name: str, target: str | Callable[..., Any], *, kwargs: dict[str, Any] | None = None, **options: Any
    ) -> WorkerSpec:
        """Add a worker running ``target`` with ``kwargs``; return its spec.

        ``target`` is ``"module:callable"`` or a module-level function (a generator, or a
        function taking ``ctx``; see the producer contract). ``options`` are `WorkerSpec` fields,
        as in a config file: ``autostart`` (default True: it starts now), ``restart``,
        ``stop_timeout``, ``nice``, ``sched``, ``argv`` (the worker's ``sys.argv[1:]``), ``env``,
        ``cwd``, ``max_rss``, ``instances`` (N workers ``NAME:0`` ...; the entry's spec is returned), ...
        The target is imported in a subprocess, with the worker's ``sys.argv``, to check it,
        for up to ``check_timeout`` seconds (the config's by default).

        Raises
        ------
        ConfigError
            Naming every bad field (or a name already in use); nothing is added.
        """
        where = f"QtSupervisor.add({name!r})"
        taken = next((n for n in instance_names(name, options.get("instances")) if n in self._statuses), None)
        if taken is not None:  # before importing the target to check it, which takes a while
            raise ConfigError([ConfigProblem(where, None, "name", f"a worker named {taken!r} already exists")])
        self._check_open()
        spec = spec_from_call(where, name, target, kwargs, options, self._pulse.check_timeout)
        for each in expand_instances(spec):  # ``instances = N``: NAME:0 ... NAME:N-1
            self.add_spec(each)
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
        if spec.name in self._statuses:
            raise ConfigError([ConfigProblem(where, None, "name", f"a worker named {spec.name!r} already exists")])
        self._check_open()
        try:
            self.supervisor.add_spec(spec)
        except ConfigError:  # removed a moment ago, and its process not gone yet
            raise ConfigError([ConfigProblem(where, None, "name", f"{spec.name!r} is still being removed")]) from None
        self._statuses.add(spec)

    def remove(self, name: str) -> None:
        """Stop ``name`` if it runs, then forget it."""
        self._check_open()
        self.supervisor.remove(name)
        self._statuses.remove(name)

    def apply_config(self, config: PulseConfig) -> None:
        """Reload: unchanged workers keep running, changed ones restart, removed ones stop, new ones start.

        A worker whose spec changed only in `spec.SUPERVISION_FIELDS` (``autostart``, its policy) keeps
        running with the new spec.

        ``config`` is already valid (`load_config` raises `ConfigError` for a bad file, and then
        nothing changes); its start method is ignored (the supervisor keeps its own).
        """
        self._check_open()
        self.supervisor.apply_config(config)
        self._statuses.replace_specs(config.workers)
        self._pulse = replace(config, workers=(), source=None)

    def start_autostart(self) -> None:
        """Start every worker whose spec says ``autostart`` (the constructor does, unless told not to)."""
        self._check_open()
        self.supervisor.start_autostart()

    def start(self, name: str) -> None:
        """Start ``name`` (also from FATAL, BACKOFF or EXITED)."""
        self._check_open()
        self.supervisor.start(name)

    def stop(self, name: str) -> None:
        """Stop ``name`` gracefully: SIGTERM (every item it made is delivered), SIGKILL after its timeout."""
        self._check_open()
        self.supervisor.stop(name)

    def stop_all(self) -> None:
        """Stop every worker gracefully (they stay configured: `start` or `start_autostart` again)."""
        self._check_open()
        self.supervisor.stop_all()

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
        self.status(name).reset_counters()

    def request_stack(self, name: str) -> None:
        """Ask ``name`` for its live Python stack; `stack` answers."""
        self._check_open()
        self.supervisor.request_stack(name)

    def inspect(self, name: str) -> ProcessInfo:
        """Return a psutil snapshot of ``name``'s process (CPU % since the last call), never raising.

        A remote worker's is read on its node (never waiting for it: the last reading, at most a
        second old, with its full details from the second call on).
        """
        status = self.status(name)
        remote = self.supervisor.inspect_remote(name) if status.node else None
        return remote if remote is not None else self._inspector.inspect(status.pid)

    def remote_facts(self, name: str) -> dict[str, Any] | None:
        """Return CPU %, RSS, threads and children of ``name``'s remote run, as last read on its node.

        None for a local run (read it by pid) or none. Never blocks: the agent streams them once a second.
        """
        return self.supervisor.remote_facts(name)

    def config(self) -> PulseConfig:
        """Return the workers as they stand now, in order, as a config (e.g. to save with `dump_config`)."""
        # With the [pulse] table it was given (its backend too: saved, then reloaded, nothing moves).
        workers = tuple(s.spec for s in self._statuses)
        return replace(self._pulse, workers=workers, start_method=self.supervisor.start_method)

    def log_path(self, name: str) -> str:
        """Return the file ``name``'s output is written to."""
        self.status(name)
        return str(self.supervisor.log_files.path(name))

    # --- closing -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether `shutdown` or `close` was called: no more commands are taken."""
        return self._closed

    @property
    def is_running(self) -> bool:
        """Whether the thread still runs: False once every worker is gone after a shutdown or an error."""
        return bool(self.consumer.isRunning())

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
        graceful = stop_and_join(self.consumer, self.supervisor, timeout)
        # The thread's last batches wait in the event queue (queued to the consumer's `_deliver`):
        # folded now, so `state` and `status` say STOPPED when this returns, signalled before it does.
        QCoreApplication.sendPostedEvents(self.consumer, QEvent.Type.MetaCall)
        if self._loader is not None:
            self._loader.flush()  # a load still importing: its worker's final events now, not never
        self._emit_finished()
        return graceful

    # --- internals -------------------------------------------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        if self._loader is not None:
            self._loader.take(events)  # the app's own classes loaded first; it calls _dispatch
        else:
            self._dispatch(events)

    def _on_consumer_finished(self) -> None:
        self._closed = True  # the thread ended (shut down, or an internal error): nothing runs commands now
        self.supervisor.close()  # kill what is left (after an error), reap, close the pipes
        if self._loader is not None:
            self._loader.flush()
        self._emit_finished()

    def _emit_finished(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._app is not None:
            self._app.aboutToQuit.disconnect(self.close)
        self.finished.emit()


def _check_gui_thread() -> None:
    """Raise unless a QApplication exists and this is its thread: signals would never be delivered."""
    app = QCoreApplication.instance()
    if app is None:
        raise NoEventLoopError(
            "QtSupervisor needs a QApplication (or QCoreApplication) created first: "
            "its signals are delivered by the application's event loop"
        )
    if QThread.currentThread() is not app.thread():
        raise NoEventLoopError(
            "QtSupervisor must be created in the GUI thread (the QApplication's): in another thread "
            "its signals would wait for an event loop that never runs; use `Supervisor` there instead"
        )
