"""Tests for pulse_supervisor.core.supervision.policy: the pure supervision state machine, driven with a fake clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest

from pulse_supervisor.core.spec import RestartPolicy, WorkerSpec
from pulse_supervisor.core.supervision.policy import (
    Command,
    Event,
    Exited,
    KillAsked,
    RestartAsked,
    Runtime,
    StartAsked,
    State,
    Step,
    StopAsked,
    TimerFired,
    backoff_delay,
    transition,
)

S = State
SPAWN, TERMINATE, KILL = Command.SPAWN, Command.TERMINATE, Command.KILL
SIGKILL, SIGSEGV = 9, 11

# The spec defaults: start_secs 1, start_retries 3, stop_timeout 5, backoff 1 * 1.5**n capped at 15,
# stable_secs 10, flap_limit 5 within 60 s.
GROWTH = [1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 11.390625, 15.0, 15.0, 15.0]


def make_spec(**overrides: object) -> WorkerSpec:
    return WorkerSpec(name="w", target="json:dumps", **overrides)  # type: ignore[arg-type]


# A spec whose FATAL rules never trigger, to look at backoff alone.
PATIENT = {"start_retries": 1000, "flap_limit": 1000}


class Sim:
    """One worker driven through `transition` by hand; ``now`` is a plain float."""

    def __init__(self, spec: WorkerSpec | None = None, rt: Runtime | None = None) -> None:
        self.spec = spec if spec is not None else make_spec()
        self.rt = rt if rt is not None else Runtime()
        self.now = 0.0
        self.steps: list[Step] = []

    @property
    def state(self) -> State:
        return self.rt.state

    def send(self, event: Event, at: float | None = None) -> Step:
        """Feed ``event`` at time ``at`` (default: the current time; the clock never goes back)."""
        if at is not None:
            assert at >= self.now, "the fake clock must not go backwards"
            self.now = at
        step = transition(self.rt, self.spec, event, self.now)
        self.rt = step.runtime
        self.steps.append(step)
        return step

    def after(self, dt: float, event: Event) -> Step:
        return self.send(event, self.now + dt)

    def fire(self) -> Step:
        """Fire the armed timer exactly at its deadline."""
        assert self.rt.deadline is not None, f"no timer armed in {self.state}"
        return self.send(TimerFired(), self.rt.deadline)

    def run(self, events: Iterable[tuple[float, Event]]) -> list[Step]:
        return [self.send(ev, at) for at, ev in events]

    def states(self) -> list[State]:
        """Every state passed through so far, in order."""
        return [s for step in self.steps for s in step.states]

    def commands(self) -> list[Command]:
        return [c for step in self.steps for c in step.commands]

    # --- common moves ---------------------------------------------------------------

    def start_running(self) -> None:
        """User start, then stay up for start_secs."""
        step = self.send(StartAsked())
        assert step.states == (S.STARTING,) and step.commands == (SPAWN,)
        self.promote()

    def promote(self) -> None:
        """STARTING -> RUNNING at the start deadline."""
        assert self.state is S.STARTING
        step = self.fire()
        assert step.states == (S.RUNNING,) and step.commands == ()
        assert self.rt.deadline is None

    def respawn(self) -> None:
        """BACKOFF -> STARTING when the backoff timer fires."""
        assert self.state is S.BACKOFF
        step = self.fire()
        assert step.states == (S.STARTING,) and step.commands == (SPAWN,)
        assert self.rt.deadline == self.now + self.spec.start_secs
        assert self.rt.started_at == self.now

    def crash(self, after: float, exitcode: int | None = 1, signal: int | None = None) -> Step:
        return self.after(after, Exited(exitcode, signal))

    def backoff(self) -> float:
        """The delay the current BACKOFF waits."""
        assert self.state is S.BACKOFF and self.rt.deadline is not None
        return round(self.rt.deadline - self.now, 9)  # the clock is a float: drop the dust


def runtime_in(state: State, **fields: object) -> Runtime:
    """A runtime in ``state`` with the fields that state normally carries, plus ``fields``."""
    base: dict[str, object] = {}
    if state is S.STARTING:
        base = {"deadline": 101.0, "started_at": 100.0}
    elif state is S.RUNNING:
        base = {"started_at": 100.0}
    elif state is S.STOPPING:
        base = {"deadline": 105.0, "started_at": 100.0}
    elif state is S.BACKOFF:
        base = {"deadline": 101.5, "consecutive_failures": 2}
    base.update(fields)
    return Runtime(state=state, **base)  # type: ignore[arg-type]


DIRTY = {"fast_failures": 2, "consecutive_failures": 3, "crash_times": (90.0, 95.0)}


# --- small pieces ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "alive"),
    [
        (S.STOPPED, False),
        (S.STARTING, True),
        (S.RUNNING, True),
        (S.BACKOFF, False),
        (S.STOPPING, True),
        (S.EXITED, False),
        (S.FATAL, False),
    ],
)
def test_is_alive(state: State, alive: bool) -> None:
    assert state.is_alive is alive


@pytest.mark.parametrize(("n", "expected"), list(enumerate(GROWTH, start=1)))
def test_backoff_delay_grows_and_caps(n: int, expected: float) -> None:
    assert backoff_delay(make_spec(), n) == pytest.approx(expected)


def test_backoff_delay_other_parameters() -> None:
    spec = make_spec(backoff_initial=0.5, backoff_factor=2.0, backoff_max=3.0)
    assert [backoff_delay(spec, n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(spec, 0) == 0.5  # never below the initial delay
    assert isinstance(backoff_delay(make_spec(backoff_initial=1, backoff_max=15), 1), float)


def test_fresh_runtime_is_stopped_and_clean() -> None:
    rt = Runtime()
    assert rt.state is S.STOPPED
    assert rt.deadline is None and rt.started_at is None
    assert (rt.fast_failures, rt.consecutive_failures, rt.crash_times) == (0, 0, ())
    assert not rt.restart_after_stop and not rt.killed


# --- start ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [S.STOPPED, S.EXITED, S.FATAL, S.BACKOFF])
@pytest.mark.parametrize("event", [StartAsked(), RestartAsked()])
def test_start_from_rest_spawns_and_resets_counters(state: State, event: Event) -> None:
    spec = make_spec(start_secs=2.5)
    rt = runtime_in(state, **DIRTY, killed=True)
    step = transition(rt, spec, event, 200.0)
    assert step.states == (S.STARTING,)
    assert step.commands == (SPAWN,)
    new = step.runtime
    assert new.state is S.STARTING
    assert new.deadline == 202.5
    assert new.started_at == 200.0
    assert (new.fast_failures, new.consecutive_failures, new.crash_times) == (0, 0, ())
    assert not new.killed and not new.restart_after_stop


def test_starting_becomes_running_at_the_deadline() -> None:
    sim = Sim(make_spec(start_secs=3.0))
    sim.send(StartAsked(), 10.0)
    assert sim.rt.deadline == 13.0
    step = sim.send(TimerFired(), 13.0)
    assert step.states == (S.RUNNING,) and step.commands == ()
    assert sim.rt.deadline is None
    assert sim.rt.started_at == 10.0  # uptime counts from the spawn


def test_late_timer_still_promotes() -> None:
    sim = Sim()
    sim.send(StartAsked(), 0.0)
    assert sim.send(TimerFired(), 7.0).states == (S.RUNNING,)


@pytest.mark.parametrize("state", [S.STARTING, S.BACKOFF, S.STOPPING])
@pytest.mark.parametrize("early", [0.001, 0.5, 100.0])
def test_timer_before_its_deadline_is_ignored(state: State, early: float) -> None:
    rt = runtime_in(state)
    assert rt.deadline is not None
    step = transition(rt, make_spec(), TimerFired(), rt.deadline - early)
    assert step == Step(rt)


def test_full_lifecycle_states_and_commands() -> None:
    sim = Sim()
    sim.run(
        [
            (0.0, StartAsked()),
            (1.0, TimerFired()),
            (30.0, StopAsked()),
            (30.2, Exited(0)),
        ]
    )
    assert sim.states() == [S.STARTING, S.RUNNING, S.STOPPING, S.STOPPED]
    assert sim.commands() == [SPAWN, TERMINATE]
    assert sim.rt == Runtime()


# --- stop ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [S.STARTING, S.RUNNING])
def test_stop_terminates_with_a_deadline(state: State) -> None:
    rt = runtime_in(state)
    step = transition(rt, make_spec(stop_timeout=4.0), StopAsked(), 150.0)
    assert step.states == (S.STOPPING,)
    assert step.commands == (TERMINATE,)
    assert step.runtime.state is S.STOPPING
    assert step.runtime.deadline == 154.0
    assert not step.runtime.killed and not step.runtime.restart_after_stop


@pytest.mark.parametrize("policy", list(RestartPolicy))
@pytest.mark.parametrize(("exitcode", "signal"), [(0, None), (1, None), (None, 15), (None, SIGKILL), (None, None)])
@pytest.mark.parametrize("from_state", [S.STARTING, S.RUNNING])
def test_user_stop_never_restarts_and_is_not_a_crash(
    policy: RestartPolicy, exitcode: int | None, signal: int | None, from_state: State
) -> None:
    sim = Sim(make_spec(restart=policy, flap_limit=1, start_retries=0), runtime_in(from_state, **DIRTY))
    sim.now = 100.0
    sim.send(StopAsked())
    step = sim.after(0.3, Exited(exitcode, signal))
    assert step.states == (S.STOPPED,)
    assert step.commands == ()
    assert sim.rt.deadline is None and sim.rt.started_at is None
    # Nothing was counted as a failure, and nothing is armed to bring it back.
    assert (sim.rt.fast_failures, sim.rt.consecutive_failures, sim.rt.crash_times) == (2, 3, (90.0, 95.0))
    assert sim.after(1000.0, TimerFired()) == Step(sim.rt)


def test_stop_timeout_escalates_to_kill() -> None:
    sim = Sim(make_spec(stop_timeout=5.0))
    sim.start_running()
    sim.send(StopAsked(), 20.0)
    assert sim.send(TimerFired(), 24.9) == Step(sim.rt)  # not yet
    step = sim.send(TimerFired(), 25.0)
    assert step.states == () and step.commands == (KILL,)
    assert sim.state is S.STOPPING and sim.rt.killed and sim.rt.deadline is None
    assert sim.after(100.0, TimerFired()) == Step(sim.rt)  # no second escalation
    step = sim.after(0.1, Exited(None, SIGKILL))
    assert step.states == (S.STOPPED,) and step.commands == ()
    assert sim.commands() == [SPAWN, TERMINATE, KILL]


def test_stop_in_backoff_cancels_the_restart() -> None:
    sim = Sim()
    sim.start_running()
    sim.crash(2.0)
    assert sim.state is S.BACKOFF
    old_deadline = sim.rt.deadline
    step = sim.after(0.1, StopAsked())
    assert step.states == (S.STOPPED,) and step.commands == ()
    assert sim.rt.deadline is None
    assert old_deadline is not None
    assert sim.send(TimerFired(), old_deadline + 1) == Step(sim.rt)  # the old timer spawns nothing
    assert sim.state is S.STOPPED


def test_stop_while_stopping_keeps_stopping() -> None:
    sim = Sim()
    sim.start_running()
    sim.send(StopAsked(), 5.0)
    before = sim.rt
    step = sim.send(StopAsked(), 6.0)
    assert step.states == () and step.commands == ()
    assert step.runtime == before  # the stop deadline is not pushed back


# --- kill ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [S.STARTING, S.RUNNING])
def test_kill_in_a_live_state(state: State) -> None:
    sim = Sim(rt=runtime_in(state))
    sim.now = 100.0
    step = sim.send(KillAsked())
    assert step.states == (S.STOPPING,) and step.commands == (KILL,)
    assert sim.rt.killed and sim.rt.deadline is None
    step = sim.after(0.05, Exited(None, SIGKILL))
    assert step.states == (S.STOPPED,) and step.commands == ()


def test_kill_while_stopping() -> None:
    sim = Sim()
    sim.start_running()
    sim.send(StopAsked(), 10.0)
    step = sim.send(KillAsked(), 11.0)
    assert step.states == () and step.commands == (KILL,)
    assert sim.state is S.STOPPING and sim.rt.killed and sim.rt.deadline is None
    assert sim.send(TimerFired(), 15.0) == Step(sim.rt)  # the TERM deadline is gone
    step = sim.send(Exited(None, SIGKILL), 15.1)
    assert step.states == (S.STOPPED,) and step.commands == ()
    assert sim.commands() == [SPAWN, TERMINATE, KILL]


def test_kill_while_stopping_for_a_restart_just_stops() -> None:
    sim = Sim()
    sim.start_running()
    sim.send(RestartAsked(), 10.0)
    assert sim.rt.restart_after_stop
    assert sim.send(KillAsked(), 11.0).commands == (KILL,)
    step = sim.send(Exited(None, SIGKILL), 11.1)
    assert step.states == (S.STOPPED,) and step.commands == ()


def test_kill_in_backoff_stops() -> None:
    sim = Sim()
    sim.start_running()
    sim.crash(2.0)
    step = sim.after(0.1, KillAsked())
    assert step.states == (S.STOPPED,) and step.commands == ()
    assert sim.rt.deadline is None


# --- restart -------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [S.STARTING, S.RUNNING])
def test_restart_stops_then_starts(state: State) -> None:
    sim = Sim(make_spec(stop_timeout=5.0, start_secs=2.0), runtime_in(state))
    sim.now = 100.0
    step = sim.send(RestartAsked())
    assert step.states == (S.STOPPING,) and step.commands == (TERMINATE,)
    assert sim.rt.restart_after_stop and sim.rt.deadline == 105.0
    step = sim.send(Exited(0), 101.0)
    assert step.states == (S.STOPPED, S.STARTING)
    assert step.commands == (SPAWN,)
    assert sim.rt.deadline == 103.0 and sim.rt.started_at == 101.0
    assert not sim.rt.restart_after_stop and not sim.rt.killed


def test_restart_survives_escalation_to_kill() -> None:
    sim = Sim()
    sim.start_running()
    sim.send(RestartAsked(), 10.0)
    assert sim.fire().commands == (KILL,)
    step = sim.after(0.1, Exited(None, SIGKILL))
    assert step.states == (S.STOPPED, S.STARTING) and step.commands == (SPAWN,)
    assert not sim.rt.killed


def test_restart_during_stopping() -> None:
    sim = Sim()
    sim.start_running()
    sim.send(StopAsked(), 10.0)
    deadline = sim.rt.deadline
    step = sim.send(RestartAsked(), 11.0)
    assert step.states == () and step.commands == ()  # already on its way down
    assert sim.rt.restart_after_stop and sim.rt.deadline == deadline
    step = sim.send(Exited(0), 12.0)
    assert step.states == (S.STOPPED, S.STARTING) and step.commands == (SPAWN,)


def test_start_during_stopping_starts_after_the_stop() -> None:
    sim = Sim()
    sim.start_running()
    sim.send(StopAsked(), 10.0)
    step = sim.send(StartAsked(), 11.0)
    assert step.states == () and step.commands == ()
    assert sim.rt.restart_after_stop
    step = sim.send(Exited(0), 12.0)
    assert step.states == (S.STOPPED, S.STARTING) and step.commands == (SPAWN,)


def test_stop_during_a_restart_cancels_the_start() -> None:
    sim = Sim()
    sim.start_running()
    sim.send(RestartAsked(), 10.0)
    step = sim.send(StopAsked(), 11.0)
    assert step.states == () and step.commands == ()
    assert not sim.rt.restart_after_stop
    assert sim.send(Exited(0), 12.0).states == (S.STOPPED,)


def test_restart_is_a_user_start_and_forgives_failures() -> None:
    spec = make_spec(start_retries=1, flap_limit=3)
    sim = Sim(spec)
    sim.start_running()
    sim.crash(2.0)  # 1st crash: backoff 1
    sim.respawn()
    sim.crash(0.5)  # fast failure: backoff 1.5
    assert sim.backoff() == 1.5
    sim.respawn()
    assert (sim.rt.fast_failures, sim.rt.consecutive_failures, len(sim.rt.crash_times)) == (1, 2, 2)
    # The user restarts it while it is still starting: stop then a fresh start.
    sim.after(0.1, RestartAsked())
    assert sim.after(0.1, Exited(None, 15)).states == (S.STOPPED, S.STARTING)
    assert (sim.rt.fast_failures, sim.rt.consecutive_failures, sim.rt.crash_times) == (0, 0, ())
    # So the next fast failure is the first again: a short backoff, not FATAL.
    step = sim.crash(0.5)
    assert step.states == (S.EXITED, S.BACKOFF)
    assert sim.backoff() == 1.0


# --- unexpected exits and the restart policy ----------------------------------------------


@pytest.mark.parametrize(
    ("policy", "exitcode", "signal", "restarts"),
    [
        (RestartPolicy.NEVER, 0, None, False),
        (RestartPolicy.NEVER, 1, None, False),
        (RestartPolicy.NEVER, None, SIGSEGV, False),
        (RestartPolicy.ON_FAILURE, 0, None, False),
        (RestartPolicy.ON_FAILURE, 1, None, True),
        (RestartPolicy.ON_FAILURE, 3, None, True),
        (RestartPolicy.ON_FAILURE, None, SIGSEGV, True),
        (RestartPolicy.ON_FAILURE, None, SIGKILL, True),
        (RestartPolicy.ON_FAILURE, None, None, True),  # unknown status: assume the worst
        (RestartPolicy.ALWAYS, 0, None, True),
        (RestartPolicy.ALWAYS, 1, None, True),
        (RestartPolicy.ALWAYS, None, SIGSEGV, True),
    ],
)
@pytest.mark.parametrize("from_state", [S.STARTING, S.RUNNING])
def test_restart_policy(
    policy: RestartPolicy, exitcode: int | None, signal: int | None, restarts: bool, from_state: State
) -> None:
    sim = Sim(make_spec(restart=policy, start_secs=1.0))
    sim.send(StartAsked(), 0.0)
    if from_state is S.RUNNING:
        sim.promote()
    step = sim.send(Exited(exitcode, signal), 2.0 if from_state is S.RUNNING else 0.5)
    assert step.commands == ()
    assert sim.rt.started_at is None
    if restarts:
        assert step.states == (S.EXITED, S.BACKOFF)
        assert sim.backoff() == 1.0
        sim.respawn()
        assert sim.state is S.STARTING
    else:
        assert step.states == (S.EXITED,)
        assert sim.state is S.EXITED and sim.rt.deadline is None
        # EXITED is a resting state: nothing brings it back but the user.
        assert sim.after(100.0, TimerFired()) == Step(sim.rt)
        assert sim.after(1.0, Exited(1)) == Step(sim.rt)
        assert sim.after(1.0, StartAsked()).states == (S.STARTING,)


@pytest.mark.parametrize("policy", [RestartPolicy.NEVER, RestartPolicy.ON_FAILURE])
def test_no_restart_clears_the_failure_streak(policy: RestartPolicy) -> None:
    sim = Sim(make_spec(restart=policy, **PATIENT))
    sim.start_running()
    sim.crash(2.0, exitcode=None, signal=SIGSEGV)  # restarted under on-failure, not under never
    if policy is RestartPolicy.ON_FAILURE:
        sim.respawn()
        sim.promote()
        assert sim.send(Exited(0), sim.now + 1).states == (S.EXITED,)
    assert sim.state is S.EXITED
    assert (sim.rt.fast_failures, sim.rt.consecutive_failures) == (0, 0)


# --- backoff -------------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [False, True], ids=["after-running", "while-starting"])
def test_backoff_grows_then_caps(fast: bool) -> None:
    sim = Sim(make_spec(**PATIENT))
    sim.send(StartAsked(), 0.0)
    delays = []
    for _ in GROWTH:
        if not fast:
            sim.promote()
        step = sim.crash(0.5 if fast else 2.0)
        assert step.states == (S.EXITED, S.BACKOFF) and step.commands == ()
        delays.append(sim.backoff())
        assert sim.after(delays[-1] - 0.01, TimerFired()) == Step(sim.rt)  # not before the delay
        sim.respawn()
    assert delays == pytest.approx(GROWTH)
    assert sim.rt.consecutive_failures == len(GROWTH)


def test_backoff_uses_the_spec() -> None:
    sim = Sim(make_spec(backoff_initial=0.25, backoff_factor=3.0, backoff_max=5.0, **PATIENT))
    sim.send(StartAsked(), 0.0)
    delays = []
    for _ in range(5):
        sim.crash(0.1)
        delays.append(sim.backoff())
        sim.respawn()
    assert delays == pytest.approx([0.25, 0.75, 2.25, 5.0, 5.0])


@pytest.mark.parametrize(
    ("uptime", "resets"),
    [
        (2.0, False),
        (9.0, False),  # RUNNING for 8 s
        (11.0, True),  # RUNNING for exactly stable_secs
        (500.0, True),
    ],
)
def test_backoff_resets_after_stable_uptime(uptime: float, resets: bool) -> None:
    sim = Sim(make_spec(start_secs=1.0, stable_secs=10.0, **PATIENT))
    sim.start_running()
    for _ in range(4):  # four quick crashes: 1, 1.5, 2.25, 3.375
        sim.crash(1.0)
        sim.respawn()
        sim.promote()
    assert sim.rt.consecutive_failures == 4
    sim.crash(uptime - 1.0)  # (uptime counted from the spawn, one start_secs before RUNNING)
    if resets:
        assert sim.backoff() == 1.0
        assert sim.rt.consecutive_failures == 1
    else:
        assert sim.backoff() == pytest.approx(5.0625)
        assert sim.rt.consecutive_failures == 5


def test_stable_uptime_then_growth_starts_over() -> None:
    sim = Sim(make_spec(**PATIENT))
    sim.start_running()
    sim.crash(3.0)
    sim.respawn()
    sim.promote()
    sim.crash(3.0)
    assert sim.backoff() == 1.5
    sim.respawn()
    sim.promote()
    sim.crash(60.0)  # a long healthy run
    assert sim.backoff() == 1.0
    sim.respawn()
    sim.crash(0.2)
    assert sim.backoff() == 1.5


# --- FATAL ---------------------------------------------------------------------------------


def assert_fatal_is_sticky(sim: Sim) -> None:
    assert sim.state is S.FATAL and sim.rt.deadline is None and sim.rt.started_at is None
    frozen = sim.rt
    for event in (TimerFired(), Exited(1), StopAsked(), KillAsked()):
        assert sim.after(1000.0, event) == Step(frozen)


@pytest.mark.parametrize("retries", [0, 1, 3, 5])
@pytest.mark.parametrize(
    ("policy", "exitcode", "signal"),
    [
        (RestartPolicy.ON_FAILURE, 1, None),
        (RestartPolicy.ON_FAILURE, None, SIGSEGV),
        (RestartPolicy.ALWAYS, 2, None),
    ],
)
def test_fast_failures_beyond_start_retries_are_fatal(
    retries: int, policy: RestartPolicy, exitcode: int | None, signal: int | None
) -> None:
    sim = Sim(make_spec(restart=policy, start_retries=retries, flap_limit=1000))
    sim.send(StartAsked(), 0.0)
    for n in range(1, retries + 1):
        step = sim.crash(0.3, exitcode, signal)
        assert step.states == (S.EXITED, S.BACKOFF), n
        assert sim.rt.fast_failures == n
        sim.respawn()
    step = sim.crash(0.3, exitcode, signal)
    assert step.states == (S.EXITED, S.FATAL)
    assert step.commands == ()
    assert sim.rt.fatal_reason == f"{retries + 1} exits before start_secs (1 s) in a row (start_retries = {retries})"
    assert sim.commands() == [SPAWN] * (retries + 1)
    assert_fatal_is_sticky(sim)


def test_default_start_retries_allows_three_retries() -> None:
    sim = Sim(make_spec(flap_limit=1000))
    sim.send(StartAsked(), 0.0)
    for _ in range(3):
        sim.crash(0.1)
        sim.respawn()
    assert sim.crash(0.1).states == (S.EXITED, S.FATAL)
    assert sim.states() == [S.STARTING] + [S.EXITED, S.BACKOFF, S.STARTING] * 3 + [S.EXITED, S.FATAL]


def test_failures_after_running_are_not_fast_failures() -> None:
    sim = Sim(make_spec(start_retries=0, flap_limit=1000, stable_secs=1000))
    sim.start_running()
    for _ in range(10):
        assert sim.crash(2.0).states == (S.EXITED, S.BACKOFF)
        assert sim.rt.fast_failures == 0
        sim.respawn()
        sim.promote()


def test_stable_uptime_forgives_fast_failures() -> None:
    sim = Sim(make_spec(start_retries=2, flap_limit=1000))
    sim.send(StartAsked(), 0.0)
    for _ in range(2):
        sim.crash(0.1)
        sim.respawn()
    sim.promote()
    sim.crash(30.0)  # stable, then crashed
    assert sim.rt.fast_failures == 0
    for _ in range(2):  # start_retries fast failures again are tolerated
        sim.respawn()
        assert sim.crash(0.1).states == (S.EXITED, S.BACKOFF)
    sim.respawn()
    assert sim.crash(0.1).states == (S.EXITED, S.FATAL)


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_flapping_after_running_is_fatal(limit: int) -> None:
    sim = Sim(make_spec(flap_limit=limit, flap_window=60.0, start_retries=0))
    sim.start_running()
    for n in range(1, limit):
        step = sim.crash(3.0)  # past start_secs, well short of stable_secs
        assert step.states == (S.EXITED, S.BACKOFF), n
        assert len(sim.rt.crash_times) == n
        sim.respawn()
        sim.promote()
    step = sim.crash(3.0)
    assert step.states == (S.EXITED, S.FATAL) and step.commands == ()
    assert len(sim.rt.crash_times) == limit
    assert sim.rt.fatal_reason == f"{limit} unexpected exits within 60 s (flap_limit = {limit})"
    assert_fatal_is_sticky(sim)
    sim.send(StartAsked(), sim.now + 1.0)  # the user starts it again: the reason is history
    assert sim.state is S.STARTING and sim.rt.fatal_reason == ""


def test_flapping_counts_stable_crashes_too() -> None:
    # Backoff resets after stable uptime, but crashing every stable_secs still flaps.
    sim = Sim(make_spec(stable_secs=5.0, flap_limit=3, flap_window=60.0, **{"start_retries": 100}))
    sim.start_running()
    for _ in range(2):
        sim.crash(6.0)
        assert sim.backoff() == 1.0
        sim.respawn()
        sim.promote()
    assert sim.crash(6.0).states == (S.EXITED, S.FATAL)


def test_crashes_outside_the_flap_window_are_forgotten() -> None:
    sim = Sim(make_spec(flap_limit=3, flap_window=10.0, stable_secs=1000.0, start_retries=0, backoff_max=1.0))
    sim.start_running()
    for _ in range(20):  # one crash every 7 s: never three within 10 s
        assert sim.crash(6.0).states == (S.EXITED, S.BACKOFF)
        assert len(sim.rt.crash_times) <= 2
        assert all(sim.now - t < 10.0 for t in sim.rt.crash_times)
        sim.respawn()
        sim.promote()


def test_same_pattern_inside_the_window_is_fatal() -> None:
    sim = Sim(make_spec(flap_limit=3, flap_window=20.0, stable_secs=1000.0, start_retries=0, backoff_max=1.0))
    sim.start_running()
    states = [sim.crash(6.0).states[-1]]
    for _ in range(2):
        sim.respawn()
        sim.promote()
        states.append(sim.crash(6.0).states[-1])
    assert states == [S.BACKOFF, S.BACKOFF, S.FATAL]


def test_clean_exits_under_always_do_not_flap() -> None:
    sim = Sim(make_spec(restart=RestartPolicy.ALWAYS, flap_limit=2, flap_window=60.0))
    sim.start_running()
    for _ in range(10):
        assert sim.crash(2.0, exitcode=0).states == (S.EXITED, S.BACKOFF)
        assert sim.rt.crash_times == ()
        sim.respawn()
        sim.promote()
    # A real crash is still one.
    assert sim.crash(2.0, exitcode=1).states == (S.EXITED, S.BACKOFF)
    sim.respawn()
    sim.promote()
    assert sim.crash(2.0, exitcode=1).states == (S.EXITED, S.FATAL)


@pytest.mark.parametrize("event", [StartAsked(), RestartAsked()])
def test_user_start_from_fatal_resets_counters(event: Event) -> None:
    sim = Sim(make_spec(start_retries=1, flap_limit=1000))
    sim.send(StartAsked(), 0.0)
    sim.crash(0.1)
    sim.respawn()
    sim.crash(0.1)
    assert sim.state is S.FATAL
    step = sim.after(30.0, event)
    assert step.states == (S.STARTING,) and step.commands == (SPAWN,)
    assert (sim.rt.fast_failures, sim.rt.consecutive_failures, sim.rt.crash_times) == (0, 0, ())
    # A full new allowance: one retry, starting from the initial backoff.
    assert sim.crash(0.1).states == (S.EXITED, S.BACKOFF)
    assert sim.backoff() == 1.0
    sim.respawn()
    assert sim.crash(0.1).states == (S.EXITED, S.FATAL)


def test_user_start_from_flap_fatal_forgets_crash_times() -> None:
    sim = Sim(make_spec(flap_limit=2, start_retries=100))
    sim.start_running()
    sim.crash(2.0)
    sim.respawn()
    sim.promote()
    sim.crash(2.0)
    assert sim.state is S.FATAL
    sim.after(1.0, StartAsked())
    sim.promote()
    assert sim.crash(2.0).states == (S.EXITED, S.BACKOFF)


def test_start_in_backoff_spawns_now_with_fresh_counters() -> None:
    sim = Sim(make_spec(**PATIENT))
    sim.start_running()
    for _ in range(3):
        sim.crash(2.0)
        sim.respawn()
        sim.promote()
    sim.crash(2.0)
    assert sim.backoff() == pytest.approx(3.375)
    step = sim.after(0.1, StartAsked())
    assert step.states == (S.STARTING,) and step.commands == (SPAWN,)
    assert sim.rt.consecutive_failures == 0
    sim.promote()
    sim.crash(2.0)
    assert sim.backoff() == 1.0


# --- irrelevant events ---------------------------------------------------------------------


IRRELEVANT = [
    (S.STOPPED, StopAsked()),
    (S.STOPPED, KillAsked()),
    (S.STOPPED, Exited(0)),
    (S.STOPPED, TimerFired()),
    (S.EXITED, StopAsked()),
    (S.EXITED, KillAsked()),
    (S.EXITED, Exited(1)),
    (S.EXITED, TimerFired()),
    (S.FATAL, StopAsked()),
    (S.FATAL, KillAsked()),
    (S.FATAL, Exited(None, SIGKILL)),
    (S.FATAL, TimerFired()),
    (S.STARTING, StartAsked()),
    (S.RUNNING, StartAsked()),
    (S.RUNNING, TimerFired()),  # no deadline armed in RUNNING
    (S.BACKOFF, Exited(1)),  # a stale exit: no process in BACKOFF
]


@pytest.mark.parametrize(("state", "event"), IRRELEVANT)
def test_irrelevant_events_leave_the_runtime_unchanged(state: State, event: Event) -> None:
    rt = runtime_in(state, **DIRTY)
    step = transition(rt, make_spec(), event, 1000.0)
    assert step == Step(rt)
    assert step.runtime is rt


@pytest.mark.parametrize("state", list(State))
def test_timer_without_deadline_does_nothing(state: State) -> None:
    rt = runtime_in(state, deadline=None)
    assert transition(rt, make_spec(), TimerFired(), 1e9) == Step(rt)


def test_transition_does_not_mutate_its_input() -> None:
    rt = runtime_in(S.RUNNING, **DIRTY)
    snapshot = replace(rt)
    for event in (StopAsked(), KillAsked(), RestartAsked(), Exited(1), TimerFired(), StartAsked()):
        transition(rt, make_spec(), event, 200.0)
    assert rt == snapshot


def test_unknown_event_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        transition(Runtime(), make_spec(), object(), 0.0)  # type: ignore[arg-type]
