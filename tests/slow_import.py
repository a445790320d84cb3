"""A producer module that takes a second to import, saying when it starts: a stop can land meanwhile.

Only worker processes import it (tests must not): it touches ``pulse-slow-import-<pid>`` in the
temp directory, then sleeps a second.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

(Path(tempfile.gettempdir()) / f"pulse-slow-import-{os.getpid()}").touch()
time.sleep(1.0)


def numbers() -> Iterator[int]:
    """Yield 0, 1, 2, ... as fast as possible."""
    yield from itertools.count()
