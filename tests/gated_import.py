"""A module whose import, in the tests' own process, waits for a gate file: an import that hangs.

A worker (``PULSE_TEST_GATED_WORKER`` set) imports it at once. In the tests' process it touches
``$PULSE_TEST_GATE.started``, then waits until ``$PULSE_TEST_GATE`` exists (30 s at most).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

if os.environ.get("PULSE_TEST_GATED_WORKER") != "1":
    gate = Path(os.environ["PULSE_TEST_GATE"])
    Path(f"{gate}.started").touch()
    deadline = time.monotonic() + 30.0
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # an import that waits on a file: what a slow import looks like from outside


@dataclasses.dataclass
class Reading:
    value: float
