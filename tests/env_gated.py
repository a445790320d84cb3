"""A module that imports only with FLEET_GATE=open in its environment and marker.txt in its directory."""

from __future__ import annotations

import os
from collections.abc import Iterator

if os.environ.get("FLEET_GATE") != "open":
    raise RuntimeError(f"FLEET_GATE must be 'open', got {os.environ.get('FLEET_GATE')!r}")
with open("marker.txt", encoding="utf-8") as _fh:  # relative: the worker's cwd
    MARKER = _fh.read().strip()


def gated() -> Iterator[str]:
    """Yield the marker read at import."""
    yield MARKER
