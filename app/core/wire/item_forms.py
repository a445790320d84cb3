"""What may cross from a worker into Pulse's process: the allowed classes, and the stand-ins for the rest.

Pulse's process never imports a worker's module (DESIGN rule 15). A worker therefore sends its
items in a form that loads with the standard library and numpy alone: plain data as it is, and
any object of another class as a `StandIn` made in the worker (its class name, its bounded
``repr`` and, where it has one, its plain-data form), or, for a library whose app imports its
own modules, as a `Pickled` that the app loads itself, outside the thread that serves every worker.

Imported by both sides of the process boundary; imports nothing of Pulse's.
"""

from __future__ import annotations

import builtins
import io
import pickle
import sys
from typing import Any

# Classes (module -> names) whose instances, and which as globals, load in Pulse's process
# without running anything but the standard library's or numpy's own constructors.
_ALLOWED: dict[str, frozenset[str]] = {
    "collections": frozenset({"OrderedDict", "deque", "Counter"}),
    "datetime": frozenset({"date", "time", "datetime", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "fractions": frozenset({"Fraction"}),
    "uuid": frozenset({"UUID", "SafeUUID"}),
    "pathlib": frozenset({"PurePath", "PurePosixPath", "PureWindowsPath", "Path", "PosixPath", "WindowsPath"}),
    "zoneinfo": frozenset({"ZoneInfo", "ZoneInfo._unpickle"}),
    # numpy's own reconstructors: arrays and scalars (never numpy.save/load, which touch files).
    "numpy": frozenset({"ndarray", "dtype"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    __name__: frozenset({"StandIn", "Pickled"}),
}
# The builtins that are classes (int, dict, ValueError, ...): calling one builds a value; the
# builtin functions (eval, exec, getattr, __import__, open) are never allowed.
_BUILTIN_CLASSES = frozenset(name for name, value in vars(builtins).items() if isinstance(value, type))


def allowed_global(module: str, name: str) -> bool:
    """Return whether ``module.name`` may be looked up while loading an item in Pulse's process."""
    if module == "builtins":
        return name in _BUILTIN_CLASSES
    if module == "numpy.dtypes":
        return name.endswith("DType")  # numpy 2's dtype classes
    names = _ALLOWED.get(module)
    return names is not None and name in names


class StandIn:
    """An object of a class Pulse's process does not load, as the worker described it.

    Its ``repr`` is the worker's (bounded) ``repr`` of the object, so the window, the log and
    headless show what the object itself would have shown.

    Attributes
    ----------
    type_name : str
        The object's class, ``module.QualifiedName``.
    text : str
        Its ``repr`` in the worker, bounded (see `item_text.item_text`).
    data : object or None
        Its plain-data form, where it has one: a dataclass's or namedtuple's fields as a dict,
        an enum's value, an object array's list; None otherwise.
    """

    __slots__ = ("type_name", "text", "data")

    def __init__(self, type_name: str, text: str, data: Any = None) -> None:
        self.type_name = type_name
        self.text = text
        self.data = data

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if type(other) is not StandIn:
            return NotImplemented
        return (self.type_name, self.text, self.data) == (other.type_name, other.text, other.data)

    def __hash__(self) -> int:
        return hash((self.type_name, self.text))

    def __reduce__(self) -> tuple[Any, ...]:
        return (StandIn, (self.type_name, self.text), self.data)

    def __setstate__(self, data: Any) -> None:
        self.data = data


class Pickled:
    """An object of a class Pulse's core does not load, still pickled: for the app to load itself.

    Sent instead of a `StandIn` when the supervisor was asked for real objects (`QtSupervisor`,
    `run_in_process`): the app imports its own modules, so the object can be made there, in
    the GUI thread, never in the thread that reads every worker's channel.

    Attributes
    ----------
    type_name, text : str
        As `StandIn`'s: what to show if the object cannot be loaded.
    payload : bytes
        The object's pickle.
    """

    __slots__ = ("type_name", "text", "payload")

    def __init__(self, type_name: str, text: str, payload: bytes) -> None:
        self.type_name = type_name
        self.text = text
        self.payload = payload

    def __repr__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[Any, ...]:
        return (Pickled, (self.type_name, self.text, self.payload))

    def load(self, *, imports: bool = True) -> Any:
        """Unpickle the object: may raise anything, ``SystemExit`` too.

        With ``imports`` False, a module this process has not imported yet is not imported:
        `NeedsImport` is raised instead (the caller loads it elsewhere, where waiting is harmless).
        """
        if imports:
            return pickle.loads(self.payload)
        return _NoImportUnpickler(io.BytesIO(self.payload)).load()


class NeedsImport(Exception):
    """Loading an object would import a module this process has not imported yet."""


class _NoImportUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module not in sys.modules:
            raise NeedsImport(module)
        return super().find_class(module, name)


def plain(item: Any) -> Any:
    """Return ``item`` with every `StandIn` in it replaced by its plain data (or its text, if none).

    For readers that want data, not objects: headless JSON, the plot. Containers are rebuilt
    only where a stand-in is found.
    """
    kind = type(item)
    if kind is StandIn:
        return plain(item.data) if item.data is not None else item.text
    if kind is dict:
        values = [plain(v) for v in item.values()]
        if any(a is not b for a, b in zip(values, item.values(), strict=True)):
            return dict(zip(item.keys(), values, strict=True))
        return item
    if kind is list or kind is tuple:
        values = [plain(v) for v in item]
        if any(a is not b for a, b in zip(values, item, strict=True)):
            return kind(values)
        return item
    return item
