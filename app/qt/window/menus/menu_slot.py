"""A typed slot for ``QMenu.addAction(text, slot)`` from a command that returns a value."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVarTuple

Ts = TypeVarTuple("Ts")


def menu_slot(command: Callable[[*Ts], object], *args: *Ts) -> Callable[[], None]:
    """Return a slot that calls ``command(*args)`` and drops its result.

    Qt ignores what a slot returns, but the stubs want ``addAction``'s slot to return None, and
    commands such as ConfigFiles.save_as return whether they did anything, for their other callers.
    The slot takes no arguments, as the commands it wraps: ``addAction`` connects it to
    ``triggered()``, which passes none on every binding.
    """

    def slot() -> None:
        command(*args)

    return slot
