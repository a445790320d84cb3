"""A script grown into a module: it parses ``sys.argv`` as it is imported (a worker target for the argv tests).

Pulse's own options (``--headless``, ``--config``) are not its: given them, it exits 2 as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

_parser = argparse.ArgumentParser()
_parser.add_argument("--symbol", required=True)
_parser.add_argument("--count", type=int, default=2)
ARGS = _parser.parse_args()


def quotes() -> Iterator[dict[str, Any]]:
    """Yield ``--count`` items naming ``--symbol``, each with the ``sys.argv`` the worker saw."""
    for n in range(ARGS.count):
        yield {"symbol": ARGS.symbol, "n": n, "argv": list(sys.argv)}
