"""`pulse ctl` for a Qt app: the control socket served in its own thread, each command carried out in the GUI thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QObject, Signal

from pulse_supervisor.core.config.toml_file import load_config
from pulse_supervisor.core.control.commands import Refused, execute, status_row
from pulse_supervisor.core.control.server import ControlServer
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.qt.background import BackgroundCall

if TYPE_CHECKING:
    from pulse_supervisor.core.control.wire import Answer
    from pulse_supervisor.core.spec import PulseConfig
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor

Reply = Callable[["Answer"], None]


class ControlBridge(QObject):
    """Serves ``pulse ctl`` for a `QtSupervisor`: ``ControlBridge(supervisor)``, and `close` it before the supervisor.

    The socket's thread never touches the supervisor: it emits `requested`, queued to the GUI
    thread, where the verb is carried out and answered; ``reload`` loads the file off the GUI
    thread (its targets are imported to check them), then applies it here.

    Parameters
    ----------
    supervisor : QtSupervisor
    config_path : callable, optional
        Returns the config file ``reload`` reads (None: refused); default: none.
    on_reloaded : callable, optional
        Applies a reloaded config (path, config); default: `QtSupervisor.apply_config`.
    kind : str
        What ``pulse ctl`` lists this Pulse as ("window", "app").

    Signals
    -------
    requested(object, object)
        Emitted in the socket's thread with a request and the function that answers it.
    """

    requested = Signal(object, object)

    def __init__(
        self,
        supervisor: QtSupervisor,
        *,
        config_path: Callable[[], str | None] = lambda: None,
        on_reloaded: Callable[[str, PulseConfig], None] | None = None,
        kind: str = "app",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sup = supervisor
        self._config_path = config_path
        self._on_reloaded = on_reloaded
        self.requested.connect(self._on_requested)  # this object lives in the GUI thread: queued
        # The file it has when asked (a str read from the socket's thread): File > Open changes it.
        self.server = ControlServer(self.requested.emit, lambda: {"kind": kind, "config": config_path()})

    def close(self) -> None:
        """Stop serving and remove the socket."""
        self.server.close()

    def _on_requested(self, message: dict[str, Any], reply: Reply) -> None:
        if message.get("verb") == "reload":
            self._reload(reply)
        elif self._sup.closed:
            reply({"ok": False, "error": "this Pulse is shutting down"})
        else:
            reply(execute(self, message))

    def _reload(self, reply: Reply) -> None:
        path = self._config_path()
        if path is None:
            reply({"ok": False, "error": "this Pulse has no config file to reload (it runs the built-in demo)"})
            return

        def loaded(config: PulseConfig | None, error: BaseException | None) -> None:
            if isinstance(error, ConfigError):
                problems = "; ".join(str(p) for p in error.problems)
                reply({"ok": False, "error": f"the config was not reloaded: {problems}"})
            elif error is not None or config is None:
                reply({"ok": False, "error": f"the config was not reloaded: {type(error).__name__}: {error}"})
            elif self._sup.closed:
                reply({"ok": False, "error": "this Pulse is shutting down"})
            else:
                (self._on_reloaded or (lambda _, c: self._sup.apply_config(c)))(path, config)
                reply({"ok": True, "message": f"reloaded {path}: {len(config.workers)} worker(s)"})

        BackgroundCall(lambda: load_config(path), loaded, self)

    # --- the verbs, in the GUI thread (see control_commands.Controlled) -----------------------

    def names(self) -> list[str]:
        """Return the workers' names in order."""
        return self._sup.names()

    def row(self, name: str) -> Answer:
        """Return ``name``'s status: its supervisor record's, or its last events' while it is being added."""
        try:
            # The record belongs to the consumer thread: read here, never changed.
            return status_row(self._sup.supervisor.record(name), time.monotonic())  # its clock
        except KeyError:
            status = self._sup.status(name)
            return {"name": name, "state": status.state.value, "pid": status.pid, "uptime": None,
                    "restarts": status.restarts, "exit": None, "reason": status.fatal_reason,
                    "items": status.received, "messages_sent": 0, "messages_dropped": 0}  # fmt: skip

    def act(self, verb: str, name: str) -> None:
        """Ask for ``verb`` on ``name``."""
        getattr(self._sup, verb)(name)

    def deliver(self, name: str, data: bytes) -> str | None:
        """Queue a pickled message for ``name``, refused at once when it is not running."""
        if not self._sup.state(name).is_alive:
            return "it is not running"
        self._sup.supervisor.send_pickled(name, data)
        return None

    def reload(self) -> str:
        """Not reached: ``reload`` is answered once its file has loaded (see `_reload`)."""
        raise Refused("reload is carried out apart")

    def log_path(self, name: str) -> str:
        """Return the file ``name``'s output lines are written to."""
        return self._sup.log_path(name)
