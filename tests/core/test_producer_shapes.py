"""Every producer shape runs or is refused loudly, and a stop reaches it wherever it waits."""

from __future__ import annotations

import pytest

from pulse_supervisor.core.supervision.events import LogLine, WorkerExited
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, items_of, poll_until, reached, spec

WAITS = [
    "queue.get", "Event.wait", "Thread.join", "socket.accept", "socket.readline", "asyncio.run",
    "Future.result", "multiprocessing.Queue.get", "Popen.wait",
]  # fmt: skip


def exits_of(events, name):
    return [(e.exitcode, e.signal) for e in events if isinstance(e, WorkerExited) and e.worker == name]


def lines_of(events, name):
    return [e.line for e in events if isinstance(e, LogLine) and e.worker == name]


def stop_after_first_item(make_supervisor, target, **kwargs):
    # A long stop_timeout: a stop that did not reach the producer would show as a SIGKILL much later.
    sup = make_supervisor(config(spec("w", target, kwargs=kwargs, stop_timeout=30.0)))
    sup.start("w")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "w")), timeout=30.0)
    sup.stop("w")
    events += poll_until(sup, reached("w", State.STOPPED), timeout=60.0)
    return sup, events


@pytest.mark.parametrize("wait", WAITS + ["time.sleep"])
def test_a_stop_interrupts_a_generator_wherever_it_waits(make_supervisor, wait):
    _, events = stop_after_first_item(make_supervisor, "tests.workers:blocked_generator", wait=wait)
    assert exits_of(events, "w") == [(0, None)]
    assert "cleanup done" in lines_of(events, "w")


@pytest.mark.parametrize("wait", WAITS)
def test_a_stop_interrupts_a_ctx_function_blocked_in_a_wait(make_supervisor, wait):
    _, events = stop_after_first_item(make_supervisor, "tests.workers:blocked_ctx", wait=wait)
    assert exits_of(events, "w") == [(0, None)]
    assert "cleanup done" in lines_of(events, "w")


@pytest.mark.parametrize("target", ["tests.workers:async_ticks", "tests.workers:async_ctx"])
def test_async_producers_run_and_a_stop_cancels_them_with_cleanup_and_nothing_lost(make_supervisor, target):
    sup, events = stop_after_first_item(make_supervisor, target)
    assert exits_of(events, "w") == [(0, None)]
    assert "cleanup done" in lines_of(events, "w")
    rec = sup.record("w")
    assert rec.received == rec.sent > 0 and rec.lost == 0
    assert [item for _, item in items_of(events, "w")] == list(range(rec.received))


def test_a_function_returning_an_iterator_is_iterated(make_supervisor):
    sup = make_supervisor(config(spec("it", "tests.workers:returns_iterator", kwargs={"count": 5})))
    sup.start("it")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "it")))
    assert [item for _, item in items_of(events, "it")] == [0, 1, 2, 3, 4]
    assert exits_of(events, "it") == [(0, None)]


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("tests.workers:returns_none", "returned None without sending anything"),
        ("tests.workers:returns_number", "returned 42 (int), not an iterable"),
    ],
)
def test_a_target_that_produces_nothing_is_an_error_not_a_silent_exit_0(make_supervisor, target, words):
    sup = make_supervisor(config(spec("bad", target)))
    sup.start("bad")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "bad")))
    assert exits_of(events, "bad") == [(1, None)]
    assert any(words in line for line in lines_of(events, "bad"))


def test_sys_exit_with_a_message_shows_the_message(make_supervisor):
    sup = make_supervisor(config(spec("bye", "tests.workers:exits_with_message")))
    sup.start("bye")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "bye")))
    assert exits_of(events, "bye") == [(1, None)]
    assert "sys.exit: the feed's credentials expired" in lines_of(events, "bye")


def test_item_text_is_bounded_and_never_raises():
    from pulse_supervisor.core.wire.item_text import item_text

    class BrokenRepr:
        def __repr__(self) -> str:
            raise ValueError("broken")

    assert item_text(BrokenRepr()).startswith("<BrokenRepr")
    assert len(item_text(list(range(1_000_000)))) <= 200
    assert len(item_text("x" * 10_000_000, 50)) == 50
    assert item_text("a\nb") == "a b"
