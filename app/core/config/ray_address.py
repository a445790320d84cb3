"""Whether a Ray cluster answers at an address, asked in seconds (``ray.init`` retries for minutes)."""

from __future__ import annotations

import os
import socket
import tempfile

CONNECT_TIMEOUT = 3.0  # seconds: a cluster on the network answers far sooner
_CURRENT_CLUSTER = os.path.join(tempfile.gettempdir(), "ray", "ray_current_cluster")  # where `ray start` notes it


def resolve(address: str) -> str | None:
    """Return the host:port ``address`` means ("auto": the cluster `ray start` noted here), or None for "local".

    A Ray Client address (``ray://host:port``) means its client server's host:port.
    """
    if address == "local":
        return None
    if address == "auto":
        found = os.environ.get("RAY_ADDRESS", "")
        if not found:
            try:
                with open(_CURRENT_CLUSTER) as f:
                    found = f.read().strip()
            except OSError:
                found = ""
        return found
    return address.removeprefix("ray://")


def unreachable(address: str, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """Return why no Ray cluster can be reached at ``address``, or None when one answers (or it is "local").

    Only whether something accepts connections there: ``ray.init`` on an address where nothing
    answers retries for minutes before failing, with the window's workers left STARTING.
    """
    target = resolve(address)
    if target is None:
        return None
    if not target:
        return (
            "no running Ray cluster found (`ray start --head` starts one; "
            'ray_address = "local" starts one of Pulse\'s own)'
        )
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return f"cannot reach a Ray cluster at {target!r}: expected host:port"
    shown = address if address.startswith("ray://") else target  # the Ray Client server's, as given
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot reach a Ray cluster at {shown}: {exc.strerror or exc}"
