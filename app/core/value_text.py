"""How config messages describe a value: its TOML type and a shortened repr."""

from __future__ import annotations

from typing import Any

_TYPE_NAMES = {bool: "boolean", int: "integer", str: "string", list: "array", dict: "table"}


def describe_value(value: Any) -> str:
    """Describe a value by its TOML type and (shortened) repr, for error messages."""
    text = repr(value)
    kind = _TYPE_NAMES.get(type(value), type(value).__name__)  # float, datetime, ... as is
    return f"{kind} {text[:40]}{'...' * (len(text) > 40)}"
