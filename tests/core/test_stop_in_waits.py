"""A Stop ends every wait in every producer shape at once: exit 0, its finally run, nothing logged as an error."""

from __future__ import annotations

import time

import pytest

from pulse_supervisor.core.supervision.events import LogLine, WorkerExited
from tests.helpers import config, items_of, poll_until, spec
from tests.stop_waits import ASYNC_WAITS, WAITS

SHAPES = {
    "generator": "tests.stop_waits:generator",
    "ctx function": "tests.stop_waits:ctx_function",
    "async generator": "tests.stop_waits:async_generator",
    "async def f(ctx)": "tests.stop_waits:async_ctx",
}
CASES = [(shape, wait) for shape in SHAPES for wait in WAITS]
CASES += [(shape, wait) for shape in ("async generator", "async def f(ctx)") for wait in ASYNC_WAITS]
STOP_TIMEOUT = 10.0
# The issue's target is 100 ms (a bench figure); here, on cores shared with other suites, "at
# once" means well inside the stop_timeout, where a stop that missed the wait would be a SIGKILL.
AT_ONCE = 2.0


def exits_of(events, name):
    return [(e.exitcode, e.signal) for e in events if isinstance(e, WorkerExited) and e.worker == name]


def errors_of(events, name):
    return [e.line for e in events if isinstance(e, LogLine) and e.worker == name and e.level == "ERROR"]


def stop_and_time(make_supervisor, target, **kwargs):
    """Start ``target``, stop it once its first item arrived; return the events and seconds from stop to exit."""
    sup = make_supervisor(config(spec("w", target, kwargs=kwargs, stop_timeout=STOP_TIMEOUT)))
    sup.start("w")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "w")), timeout=30.0)
    asked = time.monotonic()
    sup.stop("w")
    events += poll_until(sup, lambda evs: bool(exits_of(evs, "w")), timeout=STOP_TIMEOUT + 20.0)
    return events, time.monotonic() - asked


def test_a_sigterm_caught_by_another_thread_still_ends_the_main_threads_wait(make_supervisor):
    # The kernel may hand a process's SIGTERM to any of its threads; Python then notes it without
    # waking the main thread (the worker sat in its wait until the SIGKILL, under load only).
    sup = make_supervisor(config(spec("w", "tests.stop_waits:sigterm_caught_off_the_main_thread")))
    sup.start("w")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "w")), timeout=30.0)
    assert exits_of(events, "w") == [(0, None)]
    assert "cleanup done" in [e.line for e in events if isinstance(e, LogLine)]
    assert not errors_of(events, "w")


@pytest.mark.parametrize(("shape", "wait"), CASES)
def test_a_stop_ends_the_wait_at_once_and_the_producers_finally_runs(make_supervisor, shape, wait):
    events, took = stop_and_time(make_supervisor, SHAPES[shape], wait=wait)
    assert exits_of(events, "w") == [(0, None)]
    assert "cleanup done" in [e.line for e in events if isinstance(e, LogLine)]
    assert not errors_of(events, "w")
    assert took < AT_ONCE, f"{shape} in {wait}: {took:.2f} s from stop to exit"
