"""What a Stop does beyond waits: a ctx function's own code, what cannot be interrupted, the worker's children."""

from __future__ import annotations

import threading
import time

import psutil

from pulse_supervisor.core.supervision.events import LogLine, WorkerExited
from tests.helpers import config, items_of, poll_until, spec


def exits_of(events, name="w"):
    return [(e.exitcode, e.signal) for e in events if isinstance(e, WorkerExited) and e.worker == name]


def lines_of(events, name="w"):
    return [e.line for e in events if isinstance(e, LogLine) and e.worker == name]


def errors_of(events, name="w"):
    return [e.line for e in events if isinstance(e, LogLine) and e.worker == name and e.level == "ERROR"]


def computing(pid, seconds, timeout=30.0):
    """Wait until process ``pid`` has used ``seconds`` more CPU time (it is in its computation)."""
    proc = psutil.Process(pid)
    start, deadline, pause = sum(proc.cpu_times()[:2]), time.monotonic() + timeout, threading.Event()
    while sum(proc.cpu_times()[:2]) - start < seconds:
        assert time.monotonic() < deadline, f"{pid} did not compute for {seconds} s in {timeout} s"
        pause.wait(0.02)


def stopped(make_supervisor, target, stop_timeout, computes=0.0, **kwargs):
    """Start ``target``, stop it after its first item (its pid; once it has computed for ``computes``
    seconds more if given); return the events and the seconds from stop to exit."""
    sup = make_supervisor(config(spec("w", target, kwargs=kwargs, stop_timeout=stop_timeout)))
    sup.start("w")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "w")), timeout=30.0)
    if computes:
        computing(items_of(events, "w")[0][1], computes)
    asked = time.monotonic()
    sup.stop("w")
    events += poll_until(sup, lambda evs: bool(exits_of(evs)), timeout=stop_timeout + 30.0)
    return events, time.monotonic() - asked


def test_a_ctx_function_busy_in_its_own_code_sees_ctx_stopping_and_finishes_its_round(make_supervisor):
    # A stop is raised in a ctx function only where it blocks: computing, it is left to end its loop.
    events, took = stopped(make_supervisor, "tests.stop_waits:busy_between_checks", stop_timeout=10.0, computes=0.1)
    assert exits_of(events) == [(0, None)]
    assert not [line for line in lines_of(events) if "interrupted" in line]
    assert [line for line in lines_of(events) if line.startswith("finished round")]
    assert took < 5.0  # one round is 0.3 s; the grace (half the stop_timeout) was not needed


def test_a_ctx_function_that_ignores_the_stop_gets_it_after_half_its_stop_timeout(make_supervisor):
    events, took = stopped(make_supervisor, "tests.stop_waits:ignores_the_stop", stop_timeout=6.0, computes=0.1)
    assert exits_of(events) == [(0, None)]  # not SIGKILLed: the stop was raised in its own code
    assert "cleanup done" in lines_of(events)
    assert not errors_of(events)
    assert 2.9 < took < 6.0  # after the grace (3 s), before the SIGKILL


def test_a_long_c_call_cannot_be_interrupted_and_is_killed_after_the_stop_timeout(make_supervisor):
    # sum(range(...)) checks no signal: Python cannot interrupt it, and says so in the README.
    events, took = stopped(make_supervisor, "tests.stop_waits:long_c_call", stop_timeout=1.0, computes=0.2)
    assert exits_of(events) == [(None, 9)]
    assert "cleanup done" not in lines_of(events)
    assert took >= 1.0


def test_the_workers_children_outlive_the_producers_cleanup(make_supervisor):
    # A stop signals the worker alone; its children get theirs once the producer has ended, so a
    # producer's finally can still use them (a Manager's server, a Pool, a child it talks to).
    events, _ = stopped(make_supervisor, "tests.stop_waits:talks_to_its_child_when_stopped", stop_timeout=10.0)
    assert exits_of(events) == [(0, None)]
    assert "the child said goodbye" in lines_of(events)
    assert not errors_of(events)


def test_a_ctx_function_using_a_manager_between_rounds_stops_cleanly(make_supervisor):
    # Its Manager's server is a child: SIGTERMed with the worker, it died under the producer,
    # whose next call raised EOFError or BrokenPipeError (an ERROR, exit 1) instead of a clean stop.
    # (Found waiting for the manager's answer, it gets StopRequested there, also a clean stop.)
    events, _ = stopped(make_supervisor, "tests.stop_waits:uses_a_manager_between_rounds", 10.0, computes=0.1)
    assert exits_of(events) == [(0, None)]
    assert not errors_of(events)
