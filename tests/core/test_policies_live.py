"""Restart policies and config reloads, proven on real processes."""

from __future__ import annotations

import dataclasses

import pytest

from pulse_supervisor.core.errors import ConfigError, UnknownWorkerError
from pulse_supervisor.core.spec import RestartPolicy
from pulse_supervisor.core.supervision.events import StateChanged, WorkerExited, WorkersChanged
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, items_of, poll_until, reached, spec, states_of


def exits(events, name):
    return [e for e in events if isinstance(e, WorkerExited) and e.worker == name]


def test_policy_never_leaves_a_crash_exited(make_supervisor):
    # start_secs far beyond the crash: it always comes while STARTING, however slow the machine.
    sup = make_supervisor(
        config(spec("c", "pulse_supervisor.producers:crashy", restart="never", kwargs={"after": 0.0}, start_secs=30))
    )
    sup.start("c")
    events = poll_until(sup, reached("c", State.EXITED))
    assert states_of(events, "c") == [State.STARTING, State.EXITED]
    assert sup.record("c").run is None and sup.record("c").runtime.deadline is None


def test_policy_on_failure_does_not_restart_a_clean_exit(make_supervisor):
    sup = make_supervisor(
        config(
            spec("n", "pulse_supervisor.producers:counter", restart="on-failure", kwargs={"count": 3}, start_secs=0.0)
        )
    )
    sup.start("n")
    events = poll_until(sup, reached("n", State.EXITED))
    assert State.BACKOFF not in states_of(events, "n")
    assert exits(events, "n")[0].exitcode == 0


def test_policy_always_restarts_a_clean_exit(make_supervisor):
    sup = make_supervisor(
        config(
            spec("n", "pulse_supervisor.producers:counter", restart="always", kwargs={"count": 3}, backoff_initial=0.05)
        )
    )
    sup.start("n")
    events = poll_until(sup, lambda evs: len(exits(evs, "n")) >= 3)
    assert [s for s in states_of(events, "n") if s is State.BACKOFF]
    assert sup.record("n").restarts >= 2
    # Each run numbers its items from 0 again; nothing is counted as lost.
    assert [item for _, item in items_of(events, "n")][:6] == [0, 1, 2, 0, 1, 2]
    assert sup.record("n").lost == 0


def test_flapping_after_running_goes_fatal(make_supervisor):
    # Each run reaches RUNNING (start_secs 0.05) and then crashes: not a fast failure, but a
    # restart storm all the same. flap_limit catches it.
    sup = make_supervisor(
        config(
            spec("flappy", "pulse_supervisor.producers:crashy", restart="on-failure", kwargs={"after": 0.3},
                 start_secs=0.05, start_retries=100, backoff_initial=0.01, flap_limit=3, flap_window=60.0)
        )
    )  # fmt: skip
    sup.start("flappy")
    events = poll_until(sup, reached("flappy", State.FATAL), timeout=15.0)
    seen = states_of(events, "flappy")
    assert seen.count(State.RUNNING) == 3 and len(exits(events, "flappy")) == 3
    sup.start("flappy")  # the user may try again: FATAL is not forever
    poll_until(sup, reached("flappy", State.RUNNING))


def test_backoff_grows_between_restarts(make_supervisor):
    sup = make_supervisor(
        config(spec("c", "pulse_supervisor.producers:crashy", restart="always", kwargs={"after": 0.0},
                    start_retries=10, backoff_initial=0.05, backoff_factor=2.0, backoff_max=0.2))
    )  # fmt: skip
    sup.start("c")
    events = poll_until(sup, lambda evs: len(exits(evs, "c")) >= 4, timeout=15.0)
    starts = [e.time for e in events if getattr(e, "state", None) is State.STARTING]
    backoffs = [e.time for e in events if getattr(e, "state", None) is State.BACKOFF]
    gaps = [s - b for b, s in zip(backoffs, starts[1:], strict=False)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09 and gaps[2] >= 0.18


def test_reload_keeps_unchanged_restarts_changed_stops_removed_starts_added(make_supervisor):
    keep = spec("keep", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05})
    change = spec("change", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05})
    drop = spec("drop", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05})
    sup = make_supervisor(config(keep, change, drop))
    for name in ("keep", "change", "drop"):
        sup.start(name)
    # Producing, not just RUNNING: past start-up, where a stop may still meet SIGTERM's default action.
    names = ("keep", "change", "drop")
    poll_until(sup, lambda evs: all(reached(n, State.RUNNING)(evs) and items_of(evs, n) for n in names))
    pids = {n: sup.record(n).pid for n in ("keep", "change")}
    changed = spec("change", "pulse_supervisor.producers:clock", kwargs={"interval": 0.1})
    added = spec("added", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0})
    sup.apply_config(config(keep, changed, added))
    events = poll_until(
        sup,
        lambda evs: reached("change", State.RUNNING)(evs) and reached("added", State.RUNNING)(evs)
        and "drop" not in sup.names(),
    )  # fmt: skip
    assert sup.record("keep").pid == pids["keep"] and "keep" not in {e.worker for e in exits(events, "keep")}
    assert sup.record("change").pid != pids["change"] and sup.spec("change").kwargs == {"interval": 0.1}
    assert states_of(events, "drop")[-1] is State.STOPPED and exits(events, "drop")[0].exitcode == 0
    assert sup.names() == ["keep", "change", "added"]
    announced = next(i for i, e in enumerate(events) if isinstance(e, WorkersChanged) and "added" in e.names)
    first_state = next(i for i, e in enumerate(events) if isinstance(e, StateChanged) and e.worker == "added")
    assert announced < first_state  # a window has the new worker's row before its STARTING comes


def test_reload_gives_a_running_worker_a_spec_changed_only_in_how_it_is_supervised_without_a_restart(make_supervisor):
    running = spec("w", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05}, autostart=False)
    sup = make_supervisor(config(running))
    sup.start("w")
    poll_until(sup, lambda evs: reached("w", State.RUNNING)(evs) and bool(items_of(evs, "w")))
    pid = sup.record("w").pid
    # As Save writes a worker the user started (autostart = true), with its check and policy retuned.
    saved = dataclasses.replace(
        running, autostart=True, check_timeout=30.0, stop_timeout=7.0, restart=RestartPolicy.ALWAYS
    )
    sup.apply_config(config(saved))
    events = poll_until(sup, lambda evs: any(isinstance(e, WorkersChanged) for e in evs))
    events += sup.poll(0)
    assert not [e for e in events if isinstance(e, StateChanged | WorkerExited)]
    assert sup.record("w").pid == pid and sup.record("w").runtime.state is State.RUNNING
    assert sup.spec("w") == saved and sup.record("w").pending_spec is None
    sup.apply_config(config(dataclasses.replace(saved, nice=3)))  # what the process runs with: a restart
    poll_until(sup, lambda evs: bool(exits(evs, "w")) and reached("w", State.RUNNING)(evs))
    assert sup.record("w").pid != pid and sup.spec("w").nice == 3


def test_add_and_remove_worker(make_supervisor):
    sup = make_supervisor(config())
    sup.add_spec(spec("new", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05}))
    poll_until(sup, lambda evs: reached("new", State.RUNNING)(evs) and bool(items_of(evs, "new")))
    sup.remove("new")
    events = poll_until(sup, lambda evs: "new" not in sup.names())
    assert exits(events, "new")[0].exitcode == 0
    assert sup.all_stopped()


def test_commands_may_name_a_worker_as_soon_as_it_is_added(make_supervisor):
    sup = make_supervisor(config())
    sup.add_spec(spec("new", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, autostart=False))
    with pytest.raises(ConfigError, match="already exists"):  # not yet taken in by poll: still a duplicate
        sup.add_spec(spec("new", "pulse_supervisor.producers:counter"))
    sup.start("new")  # before any poll: queued behind the add, so it applies to the new worker
    poll_until(sup, reached("new", State.RUNNING))
    sup.stop("new")
    poll_until(sup, reached("new", State.STOPPED))
    with pytest.raises(UnknownWorkerError):
        sup.start("never-added")
