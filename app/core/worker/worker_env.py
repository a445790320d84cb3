"""A worker's environment and working directory, applied in the worker before its import; its setup in words."""

from __future__ import annotations

import os
import sys

from pulse_supervisor.core.spec import KEPT_ON_CLEAR, WorkerSpec, environment


def apply_env(spec: WorkerSpec) -> None:
    """In the worker, first thing: set its environment (Pulse's own variables are set after it)."""
    if spec.env or spec.env_clear:
        wanted = environment(spec.env, spec.env_clear, os.environ)
        for key in [k for k in os.environ if k not in wanted]:
            del os.environ[key]
        os.environ.update(wanted)


def enter_cwd(spec: WorkerSpec) -> None:
    """In the worker, before its target is imported: enter its working directory (raises OSError if gone).

    ``sys.path`` entries relative to the old directory (the script's "" included) are made
    absolute first: the target must import from where Pulse found it.
    """
    if spec.cwd:
        sys.path[:] = [os.path.abspath(p) for p in sys.path]
        os.chdir(spec.cwd)


def mib(amount: int) -> str:
    """Return bytes as "530 MiB", for reasons and the inspector."""
    return f"{amount / 1024**2:,.0f} MiB"


def describe_setup(spec: WorkerSpec) -> dict[str, str]:
    """Return what the inspector and the table's tooltip say of a worker's instance, environment,
    directory and limits: only those it has ("Instance", "Environment", "Directory", "Limits")."""
    spec = spec.resolved()
    out = {}
    if spec.instance is not None:
        out["Instance"] = f"{spec.instance} of {spec.group!r} ({spec.instances} instances)"
    if spec.env or spec.env_clear:
        pairs = ", ".join(f"{k}={v}" for k, v in spec.env.items()) or "nothing more"
        base = f"only {', '.join(KEPT_ON_CLEAR)} of Pulse's" if spec.env_clear else "Pulse's"
        out["Environment"] = f"{pairs} (over {base})"
    if spec.cwd:
        out["Directory"] = spec.cwd
    limits = [f"RSS over {mib(spec.max_rss)}"] if spec.max_rss else []
    if spec.max_cpu_percent:
        limits.append(f"CPU over {spec.max_cpu_percent:g} % for {spec.max_cpu_secs:g} s")
    if limits:
        out["Limits"] = "restarts at " + " or ".join(limits)
    return out
