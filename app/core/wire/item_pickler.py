"""The worker's side of the boundary: items pickled so that they load in Pulse without a worker's module.

Plain data (numbers, text, bytes, the builtin containers, datetimes, decimals, numpy arrays of
numbers, ...) is pickled as it is, by the C pickler. Any other object is replaced, where the
pickler meets it, by a `StandIn` (its class, its bounded repr, its plain data), or, when Pulse
was asked for real objects, by a `Pickled` holding its own pickle (see `item_forms`).
"""

from __future__ import annotations

import dataclasses
import enum
import io
import pickle
import sys
import types
from typing import Any

from pulse_supervisor.core.wire.item_forms import Pickled, StandIn, allowed_global
from pulse_supervisor.core.wire.item_text import item_text

PROTOCOL = pickle.HIGHEST_PROTOCOL
_SAFE, _UNSAFE, _GLOBAL, _ARRAY = range(4)
# Exact types -> how to pickle them; filled as types are met (the atoms never reach the override).
_kinds: dict[type, int] = {dict: _SAFE, list: _SAFE, tuple: _SAFE, set: _SAFE, frozenset: _SAFE}
_GLOBAL_TYPES = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType)


def _kind(t: type) -> int:
    kind = _kinds.get(t)
    if kind is None:
        if issubclass(t, type) or t in _GLOBAL_TYPES:
            kind = _GLOBAL  # a class or function itself: pickled by name
        elif t.__module__ == "numpy" and t.__name__ == "ndarray":
            kind = _ARRAY
        elif t.__module__ == "numpy" and _is_numpy_scalar(t):
            kind = _SAFE
        else:
            kind = _SAFE if allowed_global(t.__module__, t.__qualname__) else _UNSAFE
        _kinds[t] = kind
    return kind


def _is_numpy_scalar(t: type) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and issubclass(t, np.generic) and t is not np.object_


def type_name(t: type) -> str:
    """Return ``module.QualifiedName`` of a class (just the name for builtins)."""
    module = getattr(t, "__module__", None)
    name = str(getattr(t, "__qualname__", None) or getattr(t, "__name__", "?"))
    return name if module in (None, "builtins") else f"{module}.{name}"


def plain_data(obj: Any) -> Any:
    """Return the plain-data form of ``obj`` (its fields, its value, its numbers), or None if it has none."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):  # a namedtuple
        return dict(zip(getattr(type(obj), "_fields"), obj, strict=False))  # noqa: B009 - not on tuple's type
    if isinstance(obj, enum.Enum):
        return obj.value
    for base in (dict, list, tuple, set, frozenset):  # a subclass of a builtin container: as that
        if isinstance(obj, base):
            return base(obj)
    tolist = getattr(obj, "tolist", None)  # numpy object arrays and the rest of numpy
    if tolist is not None and type(obj).__module__.startswith("numpy"):
        return tolist()
    return None


class ItemPickler(pickle.Pickler):
    """Pickles a message so that it loads with `item_forms.allowed_global` alone.

    Parameters
    ----------
    file : binary file
        Where the pickle goes.
    objects : bool
        Send other classes' objects as `Pickled` (real objects, for an app that imports its
        own modules) rather than `StandIn` (data, for the window and headless).
    """

    def __init__(self, file: io.BytesIO, *, objects: bool = False) -> None:
        super().__init__(file, PROTOCOL)
        self._objects = objects

    def reducer_override(self, obj: Any) -> Any:
        """Pickle plain data as usual; replace anything else (called for every non-atom object)."""
        kind = _kinds.get(type(obj))
        if kind is None:
            kind = _kind(type(obj))
        if kind == _SAFE:
            return NotImplemented
        if kind == _GLOBAL:
            module = getattr(obj, "__module__", None) or "builtins"
            if allowed_global(module, getattr(obj, "__qualname__", "")):
                return NotImplemented
        elif kind == _ARRAY and not obj.dtype.hasobject:
            return NotImplemented
        if self._objects:
            return Pickled, (type_name(type(obj)), item_text(obj), pickle.dumps(obj, PROTOCOL))
        if kind == _GLOBAL:  # a class or function of a worker's module: its name, nothing to load
            return StandIn, (type_name(obj), item_text(obj))
        # The data as the stand-in's state, pickled after the stand-in is memoized: an object
        # whose fields lead back to it (a parent link) is a cycle of stand-ins, not a recursion.
        return StandIn, (type_name(type(obj)), item_text(obj)), plain_data(obj)


def dumps(message: Any, *, objects: bool = False) -> bytes:
    """Return the pickle of ``message`` with every item in a form Pulse's process loads (see `ItemPickler`)."""
    buf = io.BytesIO()
    ItemPickler(buf, objects=objects).dump(message)
    return buf.getvalue()
