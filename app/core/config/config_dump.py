"""Write a `PulseConfig` as TOML that `parse_config` reads back to an equal config."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from typing import Any

from pulse_supervisor.core.config.config_locator import BARE_KEY
from pulse_supervisor.core.config.fleet_values import size_text
from pulse_supervisor.core.config.spec_checks import SPEC_FIELDS
from pulse_supervisor.core.spec import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_RAY_ADDRESS,
    DEFAULT_START_METHOD,
    PulseConfig,
    WorkerSpec,
)

_DEFAULT = WorkerSpec(name="", target="")
# TOML basic strings forbid raw control characters, so every one is escaped, not just \n.
_ESCAPES = {c: f"\\u{c:04x}" for c in [*range(0x20), 0x7F]}
_ESCAPES.update({ord(c): "\\" + e for c, e in zip('"\\\b\t\n\f\r', '"\\btnfr', strict=True)})


def _toml_str(s: str) -> str:
    return '"' + s.translate(_ESCAPES) + '"'


def _toml_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys must be strings, got {key!r}")
    return key if BARE_KEY.fullmatch(key) else _toml_str(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} as TOML")


def dump_config(config: PulseConfig) -> str:
    """Write ``config`` as TOML that `parse_config` reads back to an equal config.

    Only ``name``, ``target`` and fields that differ from the defaults are written, so the
    output stays as short as a hand-written file. ``source`` is not written, and tuples in
    kwargs come back as lists.

    Raises
    ------
    TypeError
        A kwargs value has no TOML form (e.g. ``None`` or an object).
    """
    blocks: list[str] = []
    pulse = [
        f"{key} = {_toml_str(value)}"
        for key, value, default in [
            ("start_method", config.start_method, DEFAULT_START_METHOD),
            ("backend", config.backend, "local"),
            ("ray_address", config.ray_address, DEFAULT_RAY_ADDRESS),
        ]
        if value != default
    ]
    if config.check_timeout != DEFAULT_CHECK_TIMEOUT:
        pulse.append(f"check_timeout = {_toml_value(config.check_timeout)}")
    if pulse:
        blocks.append("\n".join(["[pulse]", *pulse]) + "\n")
    for spec in _entries(config.workers):
        lines = ["[[worker]]", f"name = {_toml_str(spec.name)}", f"target = {_toml_str(spec.target)}"]
        for name in SPEC_FIELDS:
            value = getattr(spec, name)
            if name == "max_rss" and value:
                lines.append(f"max_rss = {_toml_str(size_text(value))}")
            elif name not in ("name", "target", "instance") and value != getattr(_DEFAULT, name):
                lines.append(f"{name} = {_toml_value(value.value if name == 'restart' else value)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _entries(workers: tuple[WorkerSpec, ...]) -> list[WorkerSpec]:
    """Return the config entries ``workers`` come from: one with ``instances = N`` for a whole set of
    instances, each worker on its own (``{instance}`` replaced) where some of its set are gone or changed."""
    groups: dict[str, list[WorkerSpec]] = {}
    for spec in workers:
        if spec.instance is not None:
            groups.setdefault(spec.group, []).append(spec)
    entries: list[WorkerSpec] = []
    for spec in workers:
        members = groups.get(spec.group) if spec.instance is not None else None
        if members is None:
            entries.append(spec)
            continue
        entry = replace(spec, name=spec.group, instance=None)
        whole = [m.instance for m in members] == list(range(spec.instances or 0)) and all(
            replace(m, name=entry.name, instance=None) == entry for m in members
        )
        if whole and spec.instance == 0:
            entries.append(entry)
        elif not whole:
            entries.append(replace(spec.resolved(), instances=None, instance=None))
    return entries
