"""Messages to a worker: a value pickled for its inbox, and a value typed as text (the window, `pulse ctl`)."""

from __future__ import annotations

import ast
import json
import pickle
from typing import Any

from pulse_supervisor.core.errors import MessageError

MAX_MESSAGE_BYTES = 1024 * 1024  # one message to a worker, pickled


def encode_message(value: Any) -> bytes:
    """Return ``value`` pickled for a worker's inbox.

    Raises
    ------
    MessageError
        It does not pickle, or it is over `MAX_MESSAGE_BYTES` pickled.
    """
    try:
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise MessageError(f"the message does not pickle: {type(exc).__name__}: {exc}") from None
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageError(f"the message is {len(data)} bytes pickled, over the limit of {MAX_MESSAGE_BYTES}")
    return data


def parse_value(text: str) -> Any:
    """Return the value ``text`` spells: a Python literal (``{'rate': 2}``, ``(1, 2)``, ``None``) or JSON.

    Nothing is evaluated: `ast.literal_eval`, then `json.loads` (``true``, ``null``).

    Raises
    ------
    MessageError
        It is neither, with the literal parser's complaint.
    """
    stripped = text.strip()
    if not stripped:
        raise MessageError("empty message: type a Python literal or JSON, e.g. 42, 'go', {\"rate\": 2}")
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        literal_error = exc
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        pass
    if isinstance(literal_error, SyntaxError):
        why = f"{literal_error.msg} (column {literal_error.offset})"
    else:  # a name, a call, an operator: nothing is evaluated
        why = "only literals are taken (numbers, strings, lists, dicts, tuples, sets, True, None)"
    hint = " (quote a string: 'go')" if stripped.isidentifier() else ""
    raise MessageError(f"not a Python literal nor JSON: {why}{hint}")
