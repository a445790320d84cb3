"""Checking worker targets in a short-lived subprocess: user code never runs in Pulse's own process.

Importing a target runs its module: an import-time ``print`` would corrupt the headless JSON
stream, an ``argparse`` or ``sys.exit`` at import would end ``--check`` or the window, a slow
import would freeze the window, and a module changed on disk would stay stale in Pulse (a Reload
that rejects a function just added). So targets are imported, and their shape and keyword
arguments checked, in a fresh interpreter with the same ``sys.path``, bounded by a timeout.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

DEFAULT_TIMEOUT = 10.0


def probe_targets(targets: Sequence[tuple[str, dict[str, Any]]], timeout: float = DEFAULT_TIMEOUT) -> list[str | None]:
    """Return, for each ``(target, kwargs)``, why a worker could not run it, or None if it can.

    One subprocess checks them all, in order; a target whose import does not finish within
    ``timeout`` seconds is reported as such, and those after it as not checked.
    """
    if not targets:
        return []
    request = pickle.dumps((list(sys.path), [(t, dict(k)) for t, k in targets]))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "from app.core.target_probe import main; main()"],
            input=request,
            capture_output=True,
            timeout=timeout,
            env=_probe_env(),
        )
        lines = proc.stdout.decode("utf-8", "replace").splitlines()
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        lines = out.decode("utf-8", "replace").splitlines()
    except OSError as exc:
        return [f"cannot check targets: {exc}"] * len(targets)
    results: list[str | None] = []
    for line in lines:
        try:
            results.append(json.loads(line))
        except ValueError:
            break
    if len(results) < len(targets):
        missing = len(targets) - len(results)
        results.append(f"checking it did not finish within {timeout:g} s (a slow or hanging import?)")
        results.extend(["not checked: a target before it did not finish"] * (missing - 1))
    return results[: len(targets)]


def _probe_env() -> dict[str, str]:
    # Pulse's own package must import in the probe however Pulse was started (e.g. from its checkout).
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def main() -> None:
    """The probe process: read the request on stdin, answer one JSON line per target."""
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # what the targets' modules print is theirs, not our answer
    os.dup2(devnull, 2)
    path, targets = pickle.loads(sys.stdin.buffer.read())
    sys.path[:] = path
    for target, kwargs in targets:
        try:
            reason = problem_of(target, kwargs)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt from an import: a reason too
            reason = f"checking it raised {type(exc).__name__}: {exc}"
        answer.write(json.dumps(reason) + "\n")
        answer.flush()


def problem_of(target: str, kwargs: dict[str, Any]) -> str | None:
    """Return why a worker could not run ``target`` with ``kwargs`` (import, shape, arguments), or None."""
    from app.core.errors import TargetError
    from app.core.producer_shapes import NotAProducer, shape_of, takes_ctx
    from app.core.spec import resolve_target

    try:
        fn = resolve_target(target)
        shape_of(fn)
    except (TargetError, NotAProducer) as exc:
        return str(exc)
    except BaseException as exc:
        return f"importing it raised {type(exc).__name__}: {exc}"
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: the worker will tell
    call = dict(kwargs, ctx=None) if takes_ctx(fn) else kwargs
    try:
        signature.bind(**call)
    except TypeError as exc:
        return f"cannot be called with kwargs {sorted(kwargs)}: {exc}"
    return None
