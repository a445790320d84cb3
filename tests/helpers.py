"""Test helpers shared by core and Qt tests: building specs, polling a supervisor, waiting for pids to end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from pulse_supervisor.core.processes.worker_tree import wait_ended
from pulse_supervisor.core.spec import PulseConfig, RestartPolicy, WorkerSpec
from pulse_supervisor.core.supervision.events import Event, ItemBatch, StateChanged
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.supervisor import Supervisor

__all__ = ["config", "items_of", "poll_until", "reached", "run_until_stopped", "spec", "states_of", "wait_ended"]


def spec(name: str, target: str, restart: str = "never", **fields: Any) -> WorkerSpec:
    """Return a spec with short timeouts suited to tests."""
    kwargs = fields.pop("kwargs", {})
    fields.setdefault("start_secs", 0.2)
    fields.setdefault("stop_timeout", 3.0)
    return WorkerSpec(name=name, target=target, kwargs=kwargs, restart=RestartPolicy(restart), **fields)


def config(*specs: WorkerSpec, start_method: str = "forkserver", backend: str = "local") -> PulseConfig:
    """Return a config of ``specs``, running on ``backend`` (a Ray one: the session's head, see conftest)."""
    return PulseConfig(workers=tuple(specs), start_method=start_method, backend=backend)


def poll_until(sup: Supervisor, predicate: Callable[[list[Event]], bool], timeout: float = 10.0) -> list[Event]:
    """Poll ``sup`` (blocking on its events, not sleeping) until ``predicate(events so far)``.

    Raises AssertionError with the events seen when ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    while not predicate(events):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"condition not met in {timeout}s; events: {events[-20:]}")
        events.extend(sup.poll(left))
    return events


def reached(name: str, state: State) -> Callable[[list[Event]], bool]:
    """Return a predicate: worker ``name`` has entered ``state``."""
    return lambda evs: any(isinstance(e, StateChanged) and e.worker == name and e.state is state for e in evs)


def items_of(events: list[Event], name: str) -> list[tuple[int, Any]]:
    """Return ``(seq, item)`` for every item of ``name`` in ``events``."""
    out = []
    for e in events:
        if isinstance(e, ItemBatch) and e.worker == name:
            out.extend((e.first_seq + i, item) for i, item in enumerate(e.items))
    return out


def states_of(events: list[Event], name: str) -> list[State]:
    """Return the states ``name`` passed through, in order."""
    return [e.state for e in events if isinstance(e, StateChanged) and e.worker == name]


def run_until_stopped(sup: Supervisor, names: Iterable[str] | None = None, timeout: float = 30.0) -> list[Event]:
    """Stop ``names`` (default all) and poll until they have no process; return the events."""
    for name in names if names is not None else sup.names():
        sup.stop(name)
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    while not sup.all_stopped() and time.monotonic() < deadline:
        events.extend(sup.poll(deadline - time.monotonic()))
    return events
