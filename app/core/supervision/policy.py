"""The supervision policy as a pure function: ``(state, event, now) -> (state, commands)``."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from pulse_supervisor.core.spec import RestartPolicy, WorkerSpec


class State(enum.Enum):
    """Lifecycle states, after supervisord."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    EXITED = "EXITED"
    FATAL = "FATAL"

    @property
    def is_alive(self) -> bool:
        """Return whether a process exists in this state."""
        return self in (State.STARTING, State.RUNNING, State.STOPPING)


# --- events fed to the policy -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartAsked:
    """The user (or autostart) asked for the worker to run."""


@dataclass(frozen=True, slots=True)
class StopAsked:
    """The user asked for a graceful stop."""


@dataclass(frozen=True, slots=True)
class KillAsked:
    """The user asked for SIGKILL now."""


@dataclass(frozen=True, slots=True)
class RestartAsked:
    """The user asked for stop-then-start."""


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """The worker crossed one of its limits (``max_rss``, ``max_cpu_percent``): restart it gracefully.

    Stop then start, as a Restart, but not the user's: no crash, and the crash history stays.
    """

    reason: str  # e.g. "RSS 530 MiB over max_rss 512 MiB"


@dataclass(frozen=True, slots=True)
class Exited:
    """The process ended; ``signal`` is set when a signal killed it."""

    exitcode: int | None
    signal: int | None = None


@dataclass(frozen=True, slots=True)
class TimerFired:
    """The deadline armed earlier has passed."""


Event = StartAsked | StopAsked | KillAsked | RestartAsked | LimitExceeded | Exited | TimerFired

# --- commands the shell carries out -------------------------------------------------------


class Command(enum.Enum):
    """Side effects the supervisor performs on the real process."""

    SPAWN = "spawn"
    TERMINATE = "terminate"  # SIGTERM to the worker (it ends its children once its producer has)
    KILL = "kill"  # SIGKILL to the process group


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything the policy remembers about one worker between events.

    Attributes
    ----------
    state : State
        Current state.
    deadline : float | None
        When `TimerFired` is due (STARTING -> RUNNING, BACKOFF -> STARTING, STOPPING -> KILL).
    started_at : float | None
        When the current process was spawned.
    fast_failures : int
        Exits while STARTING since the last user start or stable uptime.
    consecutive_failures : int
        Unexpected exits in a row; sets the backoff delay.
    crash_times : tuple[float, ...]
        Unexpected exits within the flap window.
    restart_after_stop : bool
        A Restart is in progress: start again once the stop completes.
    killed : bool
        SIGKILL was sent as part of this stop.
    fatal_reason : str
        Why the policy gave up, when the state is FATAL (which limit, and how it was reached).
    limit_reason : str
        Which resource limit the worker crossed, from the restart it caused until the next user
        command or unexpected exit.
    """

    state: State = State.STOPPED
    deadline: float | None = None
    started_at: float | None = None
    fast_failures: int = 0
    consecutive_failures: int = 0
    crash_times: tuple[float, ...] = field(default_factory=tuple)
    restart_after_stop: bool = False
    killed: bool = False
    fatal_reason: str = ""
    limit_reason: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one transition: the new runtime, the states passed through, commands."""

    runtime: Runtime
    states: tuple[State, ...] = ()
    commands: tuple[Command, ...] = ()


def backoff_delay(spec: WorkerSpec, failures: int) -> float:
    """Return the delay before restart number ``failures`` (1-based): exponential, capped."""
    delay = spec.backoff_initial * spec.backoff_factor ** max(failures - 1, 0)
    return float(min(delay, spec.backoff_max))


def _spawn(rt: Runtime, spec: WorkerSpec, now: float, *, path: tuple[State, ...] = ()) -> Step:
    new = replace(
        rt,
        state=State.STARTING,
        deadline=now + spec.start_secs,
        started_at=now,
        restart_after_stop=False,
        killed=False,
        fatal_reason="",
    )
    return Step(new, (*path, State.STARTING), (Command.SPAWN,))


def _unexpected_exit(rt: Runtime, spec: WorkerSpec, ev: Exited, now: float) -> Step:
    """A process ended that nobody asked to stop: restart, give up, or just record it."""
    uptime = now - (rt.started_at if rt.started_at is not None else now)
    stable = rt.state is State.RUNNING and uptime >= spec.stable_secs
    fast = rt.state is State.STARTING
    consecutive = 1 if stable else rt.consecutive_failures + 1
    fast_failures = 0 if stable else rt.fast_failures + (1 if fast else 0)
    exited = replace(rt, state=State.EXITED, deadline=None, started_at=None)
    if not spec.restart.wants_restart(ev.exitcode, ev.signal):
        # A clean exit (or policy "never") is the end of the story, not a failure.
        return Step(replace(exited, consecutive_failures=0, fast_failures=0), (State.EXITED,))
    crashes = tuple(t for t in rt.crash_times if now - t < spec.flap_window) + (now,)
    crash_free_restart = spec.restart is RestartPolicy.ALWAYS and ev.exitcode == 0 and ev.signal is None
    if not crash_free_restart and (fast_failures > spec.start_retries or len(crashes) >= spec.flap_limit):
        reason = (
            f"{fast_failures} exits before start_secs ({spec.start_secs:g} s) in a row (start_retries = "
            f"{spec.start_retries})"
            if fast_failures > spec.start_retries
            else f"{len(crashes)} unexpected exits within {spec.flap_window:g} s (flap_limit = {spec.flap_limit})"
        )
        fatal = replace(
            exited, state=State.FATAL, crash_times=crashes, fast_failures=fast_failures, fatal_reason=reason
        )
        return Step(fatal, (State.EXITED, State.FATAL))
    delay = backoff_delay(spec, consecutive)
    backoff = replace(
        exited,
        state=State.BACKOFF,
        deadline=now + delay,
        consecutive_failures=consecutive,
        fast_failures=fast_failures,
        crash_times=crashes if not crash_free_restart else rt.crash_times,
    )
    return Step(backoff, (State.EXITED, State.BACKOFF))


def transition(rt: Runtime, spec: WorkerSpec, event: Event, now: float) -> Step:
    """Apply ``event`` at time ``now`` to a worker in runtime ``rt``.

    Parameters
    ----------
    rt : Runtime
        The worker's current runtime.
    spec : WorkerSpec
        Its spec (policy, timeouts, backoff).
    event : Event
        What happened.
    now : float
        The monotonic time of the event; the only clock the policy sees.

    Returns
    -------
    Step
        The new runtime, every state passed through (for events), and commands to perform.
        An event that means nothing in the current state returns ``Step(rt)`` unchanged.
    """
    s = rt.state
    if isinstance(event, (StartAsked, StopAsked, KillAsked, RestartAsked)) and rt.limit_reason:
        rt = replace(rt, limit_reason="")  # the user's command: the limit's story is over
    if isinstance(event, StartAsked):
        if s in (State.STOPPED, State.EXITED, State.FATAL, State.BACKOFF):
            # A user start forgives past failures: supervisord's FATAL needs exactly this.
            fresh = replace(rt, fast_failures=0, consecutive_failures=0, crash_times=())
            return _spawn(fresh, spec, now)
        if s is State.STOPPING:
            return Step(replace(rt, restart_after_stop=True))
        return Step(rt)
    if isinstance(event, RestartAsked):
        if s.is_alive:
            step = transition(rt, spec, StopAsked(), now)
            return replace(step, runtime=replace(step.runtime, restart_after_stop=True))
        return transition(rt, spec, StartAsked(), now)
    if isinstance(event, LimitExceeded):
        if s in (State.STARTING, State.RUNNING):
            new = replace(rt, state=State.STOPPING, deadline=now + spec.stop_timeout, restart_after_stop=True)
            return Step(replace(new, limit_reason=event.reason), (State.STOPPING,), (Command.TERMINATE,))
        return Step(rt)
    if isinstance(event, StopAsked):
        if s in (State.STARTING, State.RUNNING):
            new = replace(rt, state=State.STOPPING, deadline=now + spec.stop_timeout)
            return Step(new, (State.STOPPING,), (Command.TERMINATE,))
        if s is State.BACKOFF:
            return Step(replace(rt, state=State.STOPPED, deadline=None), (State.STOPPED,))
        if s is State.STOPPING:
            return Step(replace(rt, restart_after_stop=False))
        return Step(rt)
    if isinstance(event, KillAsked):
        if s in (State.STARTING, State.RUNNING):
            new = replace(rt, state=State.STOPPING, deadline=None, killed=True)
            return Step(new, (State.STOPPING,), (Command.KILL,))
        if s is State.STOPPING:
            return Step(replace(rt, deadline=None, killed=True, restart_after_stop=False), (), (Command.KILL,))
        if s is State.BACKOFF:
            return Step(replace(rt, state=State.STOPPED, deadline=None), (State.STOPPED,))
        return Step(rt)
    if isinstance(event, TimerFired):
        if rt.deadline is None or now < rt.deadline:
            return Step(rt)
        if s is State.STARTING:
            return Step(replace(rt, state=State.RUNNING, deadline=None, fast_failures=0), (State.RUNNING,))
        if s is State.BACKOFF:
            return _spawn(rt, spec, now)
        if s is State.STOPPING:
            # The worker ignored SIGTERM for stop_timeout: escalate.
            return Step(replace(rt, deadline=None, killed=True), (), (Command.KILL,))
        return Step(replace(rt, deadline=None))
    if isinstance(event, Exited):
        if s is State.STOPPING:
            # A stop the user asked for never counts as a crash.
            stopped = replace(rt, state=State.STOPPED, deadline=None, started_at=None)
            if rt.restart_after_stop and rt.limit_reason:  # not the user's restart: nothing forgiven
                return _spawn(stopped, spec, now, path=(State.STOPPED,))
            if rt.restart_after_stop:
                # The pending start (Restart, or Start during a stop) is a user start: forgive too.
                fresh = replace(stopped, fast_failures=0, consecutive_failures=0, crash_times=())
                return _spawn(fresh, spec, now, path=(State.STOPPED,))
            return Step(stopped, (State.STOPPED,))
        if s in (State.STARTING, State.RUNNING):
            return _unexpected_exit(replace(rt, limit_reason=""), spec, event, now)
        return Step(rt)
    raise TypeError(f"unknown event {event!r}")  # pragma: no cover - exhaustive above
