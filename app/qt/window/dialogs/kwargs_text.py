"""Keyword arguments as a user types them: a JSON object, an inline TOML table or TOML key/values."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

_TOML_POS = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_INLINE_PREFIX = "kwargs = "


def parse_kwargs(text: str) -> tuple[dict[str, Any], str | None]:
    """Read keyword arguments written as a JSON object, an inline TOML table or TOML key/values.

    Parameters
    ----------
    text : str
        What the user typed; blank means no keyword arguments.

    Returns
    -------
    tuple[dict, str | None]
        The arguments and ``None``, or ``{}`` and the reason the text cannot be read.
    """
    stripped = text.strip()
    if not stripped:
        return {}, None
    if not stripped.startswith("{"):  # key = value lines: a TOML document of its own
        try:
            return tomllib.loads(text), None
        except tomllib.TOMLDecodeError as exc:
            return {}, _toml_reason(str(exc), text)
    try:  # starts with "{", so it is an object or an error
        return json.loads(text), None
    except json.JSONDecodeError as json_exc:
        try:  # not JSON: perhaps an inline table, `{ interval = 0.5 }`
            return tomllib.loads(_INLINE_PREFIX + stripped)["kwargs"], None
        except tomllib.TOMLDecodeError as toml_exc:
            if re.search(r'"\s*:', stripped) or "=" not in stripped:  # report the one meant
                return {}, f"invalid JSON: {json_exc.msg} (line {json_exc.lineno}, column {json_exc.colno})"
            skipped = text[: len(text) - len(text.lstrip())].count("\n")
            return {}, _toml_reason(str(toml_exc), stripped, len(_INLINE_PREFIX), skipped)


def _toml_reason(message: str, text: str, shift: int = 0, skipped: int = 0) -> str:
    """Put the line of tomllib's "(at line N, column M)" first, in the user's numbering.

    ``text`` was parsed with ``shift`` characters of prefix on its first line and ``skipped`` blank
    lines cut from its start.
    """
    m = _TOML_POS.search(message)
    if m is None:  # a message format we do not know: keep it whole
        return f"invalid TOML: {message}"
    if m.group(1) is None:  # "at end of document": the last non-blank line is the culprit
        last = text.rstrip().count("\n") + 1 + skipped
        return f"line {last}: invalid TOML: {message[: m.start()]}"
    line, column = int(m.group(1)), int(m.group(2))
    column = max(1, column - shift) if line == 1 else column
    return f"line {line + skipped}: invalid TOML: {message[: m.start()]} (column {column})"


def null_path(value: Any, path: str) -> str | None:
    """Return the dotted path of the first ``None`` in ``value``, which TOML cannot write."""
    if value is None:
        return path
    if isinstance(value, dict):
        children = [(f"{path}.{key}", item) for key, item in value.items()]
    elif isinstance(value, list):
        children = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    else:
        children = []
    for child_path, item in children:
        if (found := null_path(item, child_path)) is not None:
            return found
    return None
