"""Type-checked only: each line marked `error` must be one (tests/test_types.py)."""

from __future__ import annotations

from pulse_supervisor.qt.jobs import run_in_process
from tests.typing.jobs_typed import decorated, deferred, gen


def check() -> None:
    decorated("three")  # error: the decorated function keeps its signature
    deferred()  # error: a missing argument
    run_in_process(gen, 3).send(4)  # error: the generator takes str
