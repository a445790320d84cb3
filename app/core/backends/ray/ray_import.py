"""Ray itself, imported on first use (an extra), and the error for a cluster that does not answer."""

from __future__ import annotations

from typing import Any


def ray_module() -> Any:
    """Import Ray (an extra: ``pip install 'pulse-supervisor[ray]'``)."""
    import ray

    return ray


class ClusterUnreachable(ConnectionError):
    """No Ray cluster answers at the configured address."""
