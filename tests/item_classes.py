"""Classes of a worker's own module: Pulse's process must never import it (DESIGN rule 15).

Importing it prints, and ends the importing process unless it is a worker that asked for it
(``PULSE_TEST_ITEM_CLASSES`` set): an import in Pulse would show in the tests as a dead run.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import sys
from typing import Any, NamedTuple

print("tests.item_classes imported", flush=True)
if os.environ.get("PULSE_TEST_ITEM_CLASSES") != "1":
    sys.exit("tests.item_classes was imported outside its worker")


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Pair(NamedTuple):
    a: int
    b: int


class Colour(enum.Enum):
    RED = "red"


class Node:
    """An object with no plain-data form, whose parent link makes a cycle."""

    def __init__(self) -> None:
        self.parent: Any = self

    def __repr__(self) -> str:
        return "<Node>"


class ExitsWhenLoaded:
    """Pickles as a call of sys.exit: loading it anywhere raises SystemExit."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (sys.exit, ("loaded an ExitsWhenLoaded",))


@dataclasses.dataclass
class Holder:
    point: Point
    node: Node
