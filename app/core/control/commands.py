"""`pulse ctl`'s verbs carried out on a running Pulse: in its supervisor's thread (headless) or the GUI thread."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from pulse_supervisor.core.errors import ConfigError, MessageError, PulseError
from pulse_supervisor.core.wire.messages import encode_message, parse_value

if TYPE_CHECKING:
    from pulse_supervisor.core.control.wire import Answer
    from pulse_supervisor.core.supervision.supervisor import Supervisor
    from pulse_supervisor.core.supervision.worker_record import WorkerRecord

ACTIONS = ("start", "stop", "restart", "kill")
VERBS = ("status", *ACTIONS, "tail", "send", "reload")


class Refused(PulseError):
    """A command Pulse will not carry out (an unknown worker, a message that cannot go); said in one line."""


class Controlled(Protocol):
    """What the verbs act on: a headless supervisor, or a window's `QtSupervisor` (see `execute`)."""

    def names(self) -> list[str]:
        """Return the workers' names in order."""

    def row(self, name: str) -> Answer:
        """Return ``name``'s status as `status_row` makes it."""

    def act(self, verb: str, name: str) -> None:
        """Ask for ``verb`` (one of `ACTIONS`) on ``name``."""

    def deliver(self, name: str, data: bytes) -> str | None:
        """Queue a pickled message for ``name``; return why it cannot go, or None."""

    def reload(self) -> str:
        """Reload the config file; return what happened (raise `Refused` or `ConfigError`)."""

    def log_path(self, name: str) -> str:
        """Return the file ``name``'s output lines are written to."""


def execute(target: Controlled, message: dict[str, Any]) -> Answer:
    """Carry out one request on ``target``; return its answer (``{"ok": false, "error": ...}`` when refused).

    Requests: ``{"verb": "status", "names": [...]}`` (none: every worker); ``start``, ``stop``,
    ``restart``, ``kill`` with ``names`` (``["all"]``: every worker); ``tail`` and ``send``
    with ``name`` (and ``value``, the text of a Python literal or JSON); ``reload``. Every
    name is checked before anything is done: one unknown name and nothing happens.
    """
    try:
        return {"ok": True, **_carry_out(target, message)}
    except Refused as exc:
        return {"ok": False, "error": str(exc)}
    except ConfigError as exc:
        return {"ok": False, "error": "the config was not reloaded: " + "; ".join(str(p) for p in exc.problems)}
    except Exception as exc:  # whatever it is, the supervisor goes on: the client gets the line
        return {"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}"}


def _carry_out(target: Controlled, message: dict[str, Any]) -> Answer:
    verb = message.get("verb")
    if verb == "status":
        names = _names(target, message, every_if_none=True)
        return {"workers": [target.row(name) for name in names]}
    if verb in ACTIONS:
        names = _names(target, message)
        for name in names:
            target.act(verb, name)
        return {"names": names}
    if verb == "tail":
        name = _one_name(target, message)
        return {"name": name, "path": target.log_path(name)}
    if verb == "send":
        name = _one_name(target, message)
        value = message.get("value")
        if not isinstance(value, str):
            raise Refused('send needs a "value": the text of a Python literal or JSON')
        try:
            data = encode_message(parse_value(value))
        except MessageError as exc:
            raise Refused(str(exc)) from None
        refused = target.deliver(name, data)
        if refused is not None:
            raise Refused(f"{name}: message not sent: {refused}")
        return {"name": name}
    if verb == "reload":
        return {"message": target.reload()}
    raise Refused(f"unknown verb {verb!r}: one of {', '.join(VERBS)}")


def _names(target: Controlled, message: dict[str, Any], *, every_if_none: bool = False) -> list[str]:
    names = message.get("names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Refused('"names" must be a list of worker names')
    known = target.names()
    if not names:
        if every_if_none:
            return known
        raise Refused(f'{message.get("verb")} needs worker names, or "all"')
    if "all" in names and "all" not in known:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise Refused(f"no worker named {', '.join(repr(n) for n in unknown)}")
    return list(dict.fromkeys(names))


def _one_name(target: Controlled, message: dict[str, Any]) -> str:
    name = message.get("name")
    if not isinstance(name, str):
        raise Refused(f'{message.get("verb")} needs a worker "name"')
    if name not in target.names():
        raise Refused(f"no worker named {name!r}")
    return name


def status_row(rec: WorkerRecord, now: float) -> Answer:
    """Return one worker's status for `pulse ctl status` from its supervisor record (``now``: the policy's clock)."""
    runtime = rec.runtime
    state = runtime.state
    started = runtime.started_at
    row: Answer = {"name": rec.spec.name, "state": state.value, "pid": rec.pid}
    row["uptime"] = round(now - started, 3) if state.is_alive and started is not None else None
    row["restarts"] = rec.restarts
    row["exit"] = list(rec.last_exit) if rec.last_exit is not None else None
    row["reason"] = runtime.fatal_reason
    row["items"] = rec.received
    row["messages_sent"] = rec.messages_sent
    row["messages_dropped"] = rec.messages_dropped
    return row


class SupervisorControl:
    """The verbs on a `Supervisor`, carried out in its polling thread (`Supervisor.call_soon`): headless Pulse.

    Parameters
    ----------
    supervisor : Supervisor
    reload : callable, optional
        Reads the config file again and applies it, returning what it did; None: refused.
    clock : callable
        The supervisor's monotonic clock (for uptimes).
    """

    def __init__(self, supervisor: Supervisor, reload: Any = None, clock: Any = time.monotonic) -> None:
        self._sup = supervisor
        self._reload = reload
        self._clock = clock

    def handle(self, message: dict[str, Any], answer: Any) -> None:
        """The `ControlServer` handler: carry ``message`` out in the polling thread, then ``answer`` it."""
        self._sup.call_soon(lambda: answer(execute(self, message)))

    def names(self) -> list[str]:
        """Return the workers' names in order."""
        return self._sup.names()

    def row(self, name: str) -> Answer:
        """Return ``name``'s status."""
        return status_row(self._sup.record(name), self._clock())

    def act(self, verb: str, name: str) -> None:
        """Ask for ``verb`` on ``name``."""
        getattr(self._sup, verb)(name)

    def deliver(self, name: str, data: bytes) -> str | None:
        """Queue a pickled message for ``name`` now (this is the polling thread)."""
        return self._sup.deliver(name, data)

    def reload(self) -> str:
        """Reload the config file, or refuse when there is none."""
        if self._reload is None:
            raise Refused("this Pulse has no config file to reload (it runs the built-in demo)")
        return str(self._reload())

    def log_path(self, name: str) -> str:
        """Return the file ``name``'s output lines are written to."""
        return str(self._sup.log_files.path(name))
