"""Tracebacks are formatted as Python prints them, at a bounded cost however deep the stack."""

from __future__ import annotations

import sys
import time
import traceback

import pytest

from pulse_supervisor.core.supervision.events import LogLine, WorkerExited
from pulse_supervisor.core.worker.traceback_text import INNER_FRAMES, OUTER_FRAMES, format_exception
from tests.helpers import config, poll_until, spec


def _recurse(n: int) -> int:
    return _recurse(n + 1) + 1


def _deep_error(depth: int) -> RecursionError:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth)
    try:
        _recurse(0)
    except RecursionError as exc:
        return exc
    finally:
        sys.setrecursionlimit(old)
    raise AssertionError("no RecursionError")


def _fail(kind: str) -> None:
    raise ValueError(kind)


def test_a_shallow_traceback_reads_exactly_as_pythons():
    try:
        try:
            _fail("first")
        except ValueError as exc:
            raise KeyError("second") from exc
    except KeyError as exc:
        assert format_exception(exc) == "".join(traceback.format_exception(exc))


def test_a_deep_recursion_is_formatted_fast_with_its_ends_and_a_note_for_the_middle():
    exc = _deep_error(100_000)
    started = time.perf_counter()
    text = format_exception(exc)
    took = time.perf_counter() - started
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "RecursionError: maximum recursion depth exceeded"
    (note,) = [line for line in lines if "not shown" in line]
    left_out = int(note.split()[1])
    assert 99_000 < left_out + OUTER_FRAMES + INNER_FRAMES <= 100_000
    assert note == f"  [... {left_out} more calls of _recurse not shown ...]"
    assert text.count("[Previous line repeated") == 2  # both ends folded, as Python folds them
    assert "in _deep_error" in text  # where it started: the outermost frames are kept
    assert len(lines) < 40
    assert took < 2.0  # whole, the same took ~1.3 s here; 10**6 frames ~20 s


def test_the_exception_keeps_its_own_traceback():
    exc = _deep_error(20_000)
    tb = exc.__traceback__
    format_exception(exc)
    assert exc.__traceback__ is tb  # shortened for the formatting only


def test_chained_exceptions_are_each_bounded():
    try:
        try:
            raise _deep_error(20_000)
        except RecursionError as deep:
            raise ValueError("while handling the deep one") from deep
    except ValueError as exc:
        text = format_exception(exc)
    assert text.count("more calls of _recurse not shown") == 1  # the cause's stack
    assert "The above exception was the direct cause" in text
    assert text.rstrip().endswith("ValueError: while handling the deep one")


def test_an_exception_group_is_formatted_with_its_members():
    group = ExceptionGroup("two failures", [ValueError("one"), _deep_error(20_000)])
    with pytest.raises(ExceptionGroup) as info:
        raise group
    text = format_exception(info.value)
    assert "ExceptionGroup: two failures (2 sub-exceptions)" in text
    assert "ValueError: one" in text and "more calls of _recurse not shown" in text


def test_hidden_files_leave_the_stack():
    try:
        _fail("x")
    except ValueError as exc:
        text = format_exception(exc, hide=lambda filename: filename == __file__)
    assert __file__ not in text and text.rstrip().endswith("ValueError: x")


def exits_of(events):
    return [(e.exitcode, e.signal) for e in events if isinstance(e, WorkerExited)]


def test_a_deep_recursions_traceback_arrives_folded_and_fast(make_supervisor):
    sup = make_supervisor(config(spec("deep", "tests.workers:deep_recursion", kwargs={"depth": 200_000})))
    sup.start("deep")
    events = poll_until(sup, lambda evs: bool(exits_of(evs)), timeout=60.0)
    assert exits_of(events) == [(1, None)]
    lines = [e for e in events if isinstance(e, LogLine)]
    (ended,) = [e for e in lines if e.line == "the recursion ended"]
    (error,) = [e for e in lines if e.traceback]
    assert error.line.splitlines()[-1] == "RecursionError: maximum recursion depth exceeded"
    assert "more calls of _recurse not shown" in error.line and "[Previous line repeated" in error.line
    assert len(error.line.splitlines()) < 100
    # From the error to its traceback sent, in the worker's clock: formatting 200 000 frames whole
    # took ~2.5 s here (10**6: ~20 s); bounded, ~0.02 s.
    assert error.time - ended.time < 2.0
