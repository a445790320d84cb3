"""The fleet keys' values: env (a table of strings), cwd (a directory), sizes ("512M"), instances; checked and said."""

from __future__ import annotations

import os
import re
from typing import Any

from pulse_supervisor.core.config.values import describe_value as _kind
from pulse_supervisor.core.spec import WorkerSpec, expand_instances

_BYTES = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
MAX_BYTES = 1 << 50  # a petabyte: past it a limit is a typo, and float() would round it


def env_problem(value: Any) -> str | None:
    """Return what is wrong with ``value`` as a worker's ``env`` (a table of strings), or None."""
    if not isinstance(value, dict):
        return f'expected a table of environment variables, e.g. {{ LOG_LEVEL = "debug" }}, got {_kind(value)}'
    for key, text in value.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            return f"{key!r}: a variable name must be non-empty, without '=' or NUL"
        if not isinstance(text, str):
            return f'{key}: expected a string (quote it: "{text}"), got {_kind(text)}'
        if "\0" in text:
            return f"{key}: a value cannot contain NUL"
        if _surrogate(key) or _surrogate(text):
            return f"{key!r}: must not contain a lone surrogate"
    return None


def cwd_problem(value: Any, here: str) -> tuple[str, str | None]:
    """Return ``value`` as an absolute directory (``~`` expanded, relative to ``here``), and what is wrong, if so."""
    if not isinstance(value, str) or not value:
        return "", f"expected a directory (a non-empty string), got {_kind(value)}"
    if "\0" in value or _surrogate(value):
        return "", "a directory name cannot contain NUL or a lone surrogate"
    path = os.path.normpath(os.path.join(here, os.path.expanduser(value)))
    if not os.path.isdir(path):
        why = "does not exist" if not os.path.exists(path) else "is not a directory"
        return path, f"{path} {why}"
    if not os.access(path, os.X_OK):
        return path, f"{path}: permission denied (cannot enter it)"
    return path, None


def parse_bytes(value: Any) -> tuple[int, str | None]:
    """Return ``value`` (bytes, or "512M", "1.5G", "800K") in bytes, and what is wrong, if so."""
    wrong = f'expected bytes, or a size such as "512M" (K, M, G), got {_kind(value)}'
    if isinstance(value, bool):
        return 0, wrong
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and (m := _BYTES.fullmatch(value)):
        amount = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    else:
        return 0, wrong
    if amount <= 0:
        return 0, f"must be > 0, got {value!r}"
    if amount > MAX_BYTES:
        return 0, f"must be at most 1 PiB, got {value!r}"
    return amount, None


def size_text(amount: int) -> str:
    """Return bytes as a config writes them: "512M" when a whole number of K, M or G, else the number."""
    for unit in ("G", "M", "K"):
        if amount % _UNITS[unit] == 0:
            return f"{amount // _UNITS[unit]}{unit}"
    return str(amount)


def _surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def entry_workers(spec: WorkerSpec | None, n: int, made: dict[str, int]) -> tuple[list[WorkerSpec], str | None]:
    """Return the workers config entry ``n`` makes (none if it is bad), and a name of theirs that
    another entry's worker has (``made``: every name so far -> its entry, these ones added)."""
    specs = expand_instances(spec) if spec is not None else []
    clash = next((m.name for m in specs if made.get(m.name, n) != n), None)
    for each in specs:
        made.setdefault(each.name, n)
    return specs, clash


def setup_texts(spec: WorkerSpec) -> str:
    """Return a worker's env and cwd as ``--check`` prints them ("  env={...}  cwd=/srv"), if it has them."""
    env = f"  env={'(cleared) ' * spec.env_clear}{spec.env!r}" if spec.env or spec.env_clear else ""
    return env + (f"  cwd={spec.cwd}" if spec.cwd else "")


def limit_texts(spec: WorkerSpec) -> list[str]:
    """Return the worker's limits as a config writes them ("max_rss=512M", ...), for summaries."""
    texts = [f"max_rss={size_text(spec.max_rss)}"] if spec.max_rss else []
    if spec.max_cpu_percent:
        texts.append(f"max_cpu_percent={spec.max_cpu_percent:g} for {spec.max_cpu_secs:g} s")
    return texts
