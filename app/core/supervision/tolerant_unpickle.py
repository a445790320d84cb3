"""Loading what a worker sent, in Pulse's process: no worker module imported, and any failure contained.

Only the classes `item_forms.allowed_global` names are looked up (the worker's `item_pickler`
sends everything else as stand-ins), so loading a message never imports a worker's module and
never runs its code. Whatever loading still raises, ``SystemExit`` included, fails one message;
a batch some of whose items fail loses only those (the tolerant, pure-Python path).
"""

from __future__ import annotations

import collections
import importlib
import io
import pickle
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from pulse_supervisor.core.supervision.events import LogLine, kept_runs
from pulse_supervisor.core.wire.channel import ITEMS
from pulse_supervisor.core.wire.item_forms import Pickled, StandIn, allowed_global


class NotAllowedHere(pickle.UnpicklingError):
    """A message names a class that Pulse's process does not load."""


def _find_allowed(module: str, name: str) -> Any:
    """Return ``module.name`` if it may be loaded here (see `item_forms.allowed_global`)."""
    if not allowed_global(module, name):
        raise NotAllowedHere(f"{module}.{name} is not loaded in Pulse's process")
    obj: Any = importlib.import_module(module)  # the standard library's or numpy's, never a worker's
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


class _AllowedUnpickler(pickle.Unpickler):
    """The C unpickler, looking up only the allowed classes; notes whether it made stand-ins."""

    stand_ins = False

    def find_class(self, module: str, name: str) -> Any:
        found = _find_allowed(module, name)
        if found is StandIn or found is Pickled:
            self.stand_ins = True
        return found


# A big read from a frame that is a view (`channel.BIG_FRAME`) is copied this much at a time:
# between two steps another thread (the GUI's) can take the GIL, which one copy of 100 MB held
# for 40-60 ms.
COPY_STEP = 1 << 20


class _ViewReader:
    """A file over a memoryview for the unpickler: what it reads big (a `bytes` item's contents)
    it reads into the object it makes (``readinto``), and that copy is made in steps."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, n: int | None = -1) -> bytes:
        start = self._pos
        end = len(self._view) if n is None or n < 0 else min(len(self._view), start + n)
        self._pos = end
        return bytes(self._view[start:end])

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        start = self._pos
        n = min(len(target), len(self._view) - start)
        for i in range(0, n, COPY_STEP):
            j = min(n, i + COPY_STEP)
            target[i:j] = self._view[start + i : start + j]
        self._pos = start + n
        return n

    def readline(self) -> bytes:
        rest = self._view[self._pos :]
        for i in range(0, len(rest), 4096):  # protocol 0's text opcodes: never Pulse's own wire
            found = bytes(rest[i : i + 4096]).find(b"\n")
            if found >= 0:
                return self.read(i + found + 1)
        return self.read()


def load_message(data: bytes | memoryview) -> tuple[Any, bool]:
    """Return the message in ``data`` and whether it holds stand-ins (`StandIn` or `Pickled`).

    A memoryview (a big frame) is read without a copy of it first (`io.BytesIO` makes one).

    Raises
    ------
    BaseException
        Whatever loading raised (a torn message, a class not allowed here, a deep recursion).
    """
    unpickler = _AllowedUnpickler(io.BytesIO(data) if isinstance(data, bytes) else _ViewReader(data))
    return unpickler.load(), unpickler.stand_ins


class Unloadable:
    """Stands for an object that pickled in the worker but does not unpickle in Pulse's process.

    Attributes
    ----------
    what : str
        The type (``module.Name``) or callable that failed.
    why : str
        The error.
    """

    what = "?"
    why = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Unloadable:  # noqa: D102 - any constructor call
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<unloadable {self.what}: {self.why}>"


def _placeholder(what: str, why: str) -> type[Unloadable]:
    return type("Unloadable", (Unloadable,), {"what": what, "why": why})


def _failed(what: Any, exc: BaseException) -> Unloadable:
    name = getattr(what, "__qualname__", None) or type(what).__qualname__
    module = getattr(what, "__module__", None)
    return _placeholder(f"{module}.{name}" if module else name, f"{type(exc).__name__}: {exc}")()


class _TolerantUnpickler(pickle._Unpickler):
    """The pure-Python unpickler, with a placeholder wherever a class or a reduce fails to load."""

    # pickle._Unpickler's internals, which typeshed does not declare: load() sets both.
    stack: list[Any]
    append: Callable[[Any], None]
    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = pickle._Unpickler.dispatch.copy()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _find_allowed(module, name)
        except BaseException as exc:  # noqa: B036 - SystemExit from a constructor is one item's failure
            return _placeholder(f"{module}.{name}", f"{type(exc).__name__}: {exc}")

    def load_reduce(self) -> None:
        stack = self.stack
        args = stack.pop()
        func = stack[-1]
        try:
            stack[-1] = func(*args)
        except BaseException as exc:  # noqa: B036
            stack[-1] = _failed(func, exc)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        try:
            obj = cls.__new__(cls, *args)
        except BaseException as exc:  # noqa: B036
            obj = _failed(cls, exc)
        self.append(obj)

    def load_build(self) -> None:
        inst = self.stack[-2]  # under its state, which load_build pops first
        try:
            super().load_build()  # type: ignore[misc]  # pickle._Unpickler's, not in typeshed
        except BaseException as exc:  # noqa: B036
            self.stack[-1] = _failed(type(inst), exc)

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.BUILD[0]] = load_build


def loads_tolerant(data: bytes | memoryview) -> Any:
    """Unpickle ``data`` (slowly, in pure Python), with `Unloadable` placeholders where loading fails."""
    return _TolerantUnpickler(io.BytesIO(data)).load()


def find_unloadable(item: Any, depth: int = 3) -> Unloadable | None:
    """Return a placeholder inside ``item`` (itself, or a few levels into its containers), if any."""
    if isinstance(item, Unloadable):
        return item
    if depth <= 0:
        return None
    if isinstance(item, dict):
        children: Any = list(item.keys()) + list(item.values())
    elif isinstance(item, (list, tuple, set, frozenset)):
        children = item
    else:
        children = getattr(item, "__dict__", {}).values() if hasattr(item, "__dict__") else ()
    for child in list(children)[:1000]:
        found = find_unloadable(child, depth - 1)
        if found is not None:
            return found
    return None


def salvage_batch(worker: str, msg: tuple[Any, ...]) -> Iterator[tuple[Any, ...] | LogLine]:
    """Yield the loadable runs of an item batch as batches of their own; name and count the rest.

    The items that did not load leave gaps in the sequence numbers: lost, counted exactly.
    """
    _, first_seq, items, sent_ns = msg
    bad = [(i, found) for i, item in enumerate(items) if (found := find_unloadable(item)) is not None]
    if not bad:
        yield msg
        return
    kinds = collections.Counter(found.what for _, found in bad)
    said = ", ".join(f"{n} of type {what}" for what, n in kinds.most_common())
    line = f"{len(bad)} item(s) could not be unpickled in Pulse and were dropped ({said}): {bad[0][1].why}"
    yield LogLine(worker, "pulse", "ERROR", line, time.time())
    for start, stop, _ in kept_runs(len(items), [i for i, _ in bad]):  # the dropped: gaps in the seqs
        yield (ITEMS, first_seq + start, items[start:stop], sent_ns)
