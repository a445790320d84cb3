"""Type-checked only (mypy --strict, tests/test_types.py): what jobs' types say an app gets."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, assert_type

from pulse_supervisor.qt.jobs import ProcessJob, process_job, run_in_process


def gen(n: int) -> Generator[int, str, bool]:
    got = yield n
    return got == "ok"


def plain(a: int, b: str = "") -> float:
    return a / 2


@process_job
def decorated(limit: int) -> Generator[int, None, str]:
    yield limit
    return "done"


@process_job(start=False, ignore_errors=True)
def deferred(x: int) -> int:
    return x


def check() -> None:
    job = run_in_process(gen, 3)
    assert_type(job, ProcessJob[int, str, bool])
    job.send("ok")
    assert_type(run_in_process(plain, 1), ProcessJob[None, None, float])
    assert_type(decorated(3), ProcessJob[int, None, str])
    assert_type(deferred(2), ProcessJob[None, None, int])
    assert_type(run_in_process("module:name"), ProcessJob[Any, Any, Any])
