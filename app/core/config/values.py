"""How a config value and an unknown key are named in a problem's reason."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

_TYPE_NAMES = {bool: "boolean", int: "integer", str: "string", list: "array", dict: "table"}


def describe_value(value: Any) -> str:
    """Describe a value by its TOML type and (shortened) repr, for error messages."""
    text = repr(value)
    kind = _TYPE_NAMES.get(type(value), type(value).__name__)  # float, datetime, ... as is
    return f"{kind} {text[:40]}{'...' * (len(text) > 40)}"


def unknown_key(key: str, known: Sequence[str]) -> str:
    """Say that ``key`` is unknown, suggesting the closest of ``known``."""
    close = difflib.get_close_matches(key, known, n=1)
    return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
