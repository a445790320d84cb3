"""Messages to a worker with real processes: ctx.receive, a generator's yield, async, a deaf worker's bounded inbox."""

from __future__ import annotations

import pytest

from pulse_supervisor.core.errors import MessageError, UnknownWorkerError
from pulse_supervisor.core.supervision.events import LogLine
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.wire.messages import MAX_MESSAGE_BYTES, parse_value
from pulse_supervisor.core.worker.inbox import INBOX_MESSAGES
from tests.helpers import config, items_of, poll_until, reached, spec


def _got(events, name):
    return [item[1] for _, item in items_of(events, name) if isinstance(item, tuple) and item[0] == "got"]


def _ready(sup, name, first="ready"):
    sup.start(name)
    poll_until(sup, lambda evs: any(item == first for _, item in items_of(evs, name)))


@pytest.mark.parametrize(
    "target",
    ["tests.message_workers:echo_ctx", "tests.message_workers:echo_async"],
)
def test_a_ctx_worker_receives_every_message_in_order(make_supervisor, target):
    sup = make_supervisor(config(spec("echo", target)))
    _ready(sup, "echo")
    values = [1, "two", {"three": (3,)}, None, [4.5]]
    for value in values:
        sup.send("echo", value)
    events = poll_until(sup, lambda evs: len(_got(evs, "echo")) >= len(values))
    assert _got(events, "echo") == values
    assert sup.record("echo").messages_sent == len(values)
    sup.stop("echo")
    poll_until(sup, reached("echo", State.STOPPED))


@pytest.mark.parametrize(
    "target",
    ["tests.message_workers:echo_generator", "tests.message_workers:echo_async_generator"],
)
def test_a_generator_gets_each_message_as_the_value_of_a_yield(make_supervisor, target):
    sup = make_supervisor(config(spec("gen", target)))
    _ready(sup, "gen", first="tick")
    for value in ("a", "b", "c"):
        sup.send("gen", value)
    events = poll_until(sup, lambda evs: len(_got(evs, "gen")) >= 3)
    assert _got(events, "gen") == ["a", "b", "c"]
    sup.stop("gen")
    poll_until(sup, reached("gen", State.STOPPED))


def test_receive_times_out_with_a_default_or_an_error(make_supervisor):
    sup = make_supervisor(config(spec("t", "tests.message_workers:receive_timeout")))
    sup.start("t")
    events = poll_until(sup, lambda evs: any(i[0] == "timeout" for _, i in items_of(evs, "t")))
    got = dict(item for _, item in items_of(events, "t"))
    assert got["default"] == "nothing"
    assert got["timeout"] == "no message within 0.05 s"
    sup.send("t", "late")
    events = poll_until(sup, lambda evs: bool(_got(evs, "t")))
    assert _got(events, "t") == ["late"]


def test_a_worker_that_never_reads_drops_the_overflow_and_says_how_many(make_supervisor):
    sup = make_supervisor(config(spec("deaf", "tests.message_workers:deaf")))
    _ready(sup, "deaf")
    extra = 25
    for i in range(INBOX_MESSAGES + extra):
        sup.send("deaf", i)
    events = poll_until(sup, lambda evs: any("inbox full" in e.line for e in evs if isinstance(e, LogLine)))
    warning = next(e for e in events if isinstance(e, LogLine) and "inbox full" in e.line)
    assert warning.level == "WARNING" and warning.stream == "pulse"
    sup.stop("deaf")  # the final count comes with its end
    poll_until(sup, reached("deaf", State.STOPPED))
    rec = sup.record("deaf")
    assert rec.messages_dropped == extra
    assert rec.messages_sent == INBOX_MESSAGES + extra


def test_a_message_to_a_worker_not_running_is_logged_not_delivered(make_supervisor):
    sup = make_supervisor(config(spec("idle", "tests.message_workers:echo_ctx")))
    sup.send("idle", 1)
    events = poll_until(sup, lambda evs: any(isinstance(e, LogLine) for e in evs))
    lines = [e.line for e in events if isinstance(e, LogLine)]
    assert lines == ["message not delivered: it is not running"]


def test_send_refuses_unknown_workers_unpicklable_and_oversized_values(make_supervisor):
    sup = make_supervisor(config(spec("w", "tests.message_workers:echo_ctx")))
    with pytest.raises(UnknownWorkerError):
        sup.send("nobody", 1)
    with pytest.raises(MessageError, match="does not pickle"):
        sup.send("w", lambda: None)
    with pytest.raises(MessageError, match="over the limit"):
        sup.send("w", b"x" * (MAX_MESSAGE_BYTES + 1))


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("'go'", "go"), ('{"rate": 2}', {"rate": 2}), ("(1, 2)", (1, 2)), ("true", True), ("null", None)],
)
def test_typed_values_are_python_literals_or_json(text, value):
    assert parse_value(text) == value


@pytest.mark.parametrize("text", ["", "go", "__import__('os')", "{1: "])
def test_typed_values_that_are_neither_are_refused_with_a_reason(text):
    with pytest.raises(MessageError):
        parse_value(text)


def test_a_stalled_worker_never_stalls_the_supervisor_and_the_excess_is_refused(make_supervisor):
    import os
    import signal
    import time

    sup = make_supervisor(config(spec("stuck", "tests.message_workers:deaf")))
    _ready(sup, "stuck")
    pid = sup.record("stuck").pid
    os.kill(pid, signal.SIGSTOP)  # reads nothing now: its socket buffer, then our outbox, fill up
    try:
        big = b"x" * (900 * 1024)
        for _ in range(12):  # ~10.5 MiB: more than the socket holds plus the 4 MiB outbox
            sup.send("stuck", big)
        t0 = time.monotonic()
        events = poll_until(
            sup, lambda evs: any("message not delivered" in e.line for e in evs if isinstance(e, LogLine))
        )
        assert time.monotonic() - t0 < 10  # every poll returned: nothing waited for the worker
        line = next(e.line for e in events if isinstance(e, LogLine) and "message not delivered" in e.line)
        assert "has not read its channel for a while" in line
    finally:
        os.kill(pid, signal.SIGCONT)
    sup.stop("stuck")
    poll_until(sup, reached("stuck", State.STOPPED))
    assert 0 < sup.record("stuck").messages_sent < 12


def test_messages_reach_a_worker_on_every_backend(make_supervisor, backend):
    sup = make_supervisor(config(spec("echo", "tests.message_workers:echo_ctx"), backend=backend))
    sup.start("echo")
    poll_until(sup, lambda evs: any(item == "ready" for _, item in items_of(evs, "echo")), timeout=60.0)
    sup.send("echo", {"on": backend})
    events = poll_until(sup, lambda evs: bool(_got(evs, "echo")), timeout=30.0)
    assert _got(events, "echo") == [{"on": backend}]
    sup.stop("echo")
    poll_until(sup, reached("echo", State.STOPPED), timeout=30.0)
