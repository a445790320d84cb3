"""Qt-free pieces of the plot: a bounded x/y buffer, the numeric columns of a batch, the y range."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

# Exact types, so bool (an int subclass) never passes as a number.
_PLAIN_NUMBER_TYPES = frozenset({int, float})


def is_number(value: Any) -> bool:
    """Return whether ``value`` plots as a number: a real that is not a bool (numpy scalars too)."""
    # The exact-type test first: isinstance against the Real ABC is several times slower.
    return type(value) in _PLAIN_NUMBER_TYPES or (isinstance(value, Real) and not isinstance(value, bool | np.bool_))


def numeric_values(values: Sequence[Any]) -> tuple[IndexArray | None, FloatArray]:
    """Convert the numbers among ``values`` to float64.

    Parameters
    ----------
    values : Sequence
        One column of a batch: item values, possibly mixed with non-numbers.

    Returns
    -------
    indices : ndarray of intp or None
        Positions of the numbers in ``values``; None when every value is a number.
    ys : ndarray of float64
        The numbers, in order.
    """
    # Fast path: one C-level pass for the types, one for the conversion; no per-item bytecode.
    if set(map(type, values)) <= _PLAIN_NUMBER_TYPES:
        try:
            return None, np.fromiter(values, np.float64, len(values))
        except OverflowError:  # an int beyond float range: fall through and drop it
            pass
    keep: list[int] = []
    found: list[float] = []
    for i, value in enumerate(values):
        number = _as_float(value)
        if number is not None:
            keep.append(i)
            found.append(number)
    ys = np.asarray(found, dtype=np.float64)
    return (None if len(keep) == len(values) else np.asarray(keep, dtype=np.intp)), ys


def numeric_columns(items: Sequence[Any]) -> list[tuple[str | None, IndexArray | None, FloatArray]]:
    """Split a batch into plottable columns.

    Parameters
    ----------
    items : Sequence
        A batch's items, or a tail of them.

    Returns
    -------
    list of (key, indices, ys)
        ``key`` is None for plain numbers and the dict key (as ``str``) for dicts of numbers;
        ``indices`` are the item positions the values came from (None: all of them). Items that
        are neither are left out; an empty list means nothing in the batch plots.
    """
    if not items:
        return []
    first = items[0]
    if is_number(first):
        indices, ys = numeric_values(items)
        return [(None, indices, ys)] if len(ys) else []
    if isinstance(first, dict):
        return _dict_columns(items)
    return []


def _dict_columns(items: Sequence[Any]) -> list[tuple[str | None, IndexArray | None, FloatArray]]:
    first = items[0]
    keys = list(first)
    columns: list[tuple[str | None, IndexArray | None, FloatArray]] = []
    # Fast path: every item a dict with the first one's keys, so columns come out of C-level maps.
    if keys and set(map(type, items)) == {dict} and set(map(len, items)) == {len(keys)}:
        try:
            rows = list(map(itemgetter(*keys), items))
        except KeyError:
            rows = None
        if rows is not None:
            cols = zip(*rows, strict=True) if len(keys) > 1 else [rows]
            for key, col in zip(keys, cols, strict=True):
                indices, ys = numeric_values(col)
                if len(ys):
                    columns.append((str(key), indices, ys))
            return columns
    # Mixed batch: dicts with differing keys, or other items among them.
    found: dict[str, tuple[list[int], list[float]]] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict):
            for key, value in item.items():
                number = _as_float(value)
                if number is not None:
                    idx, vals = found.setdefault(str(key), ([], []))
                    idx.append(i)
                    vals.append(number)
    for key, (idx, vals) in found.items():
        columns.append((key, np.asarray(idx, dtype=np.intp), np.asarray(vals, dtype=np.float64)))
    return columns


def _as_float(value: Any) -> float | None:
    """Return ``value`` as a float if it is a number that fits one, else None."""
    if not is_number(value):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float range
        return None


class SeriesBuffer:
    """The newest ``max_points`` (x, y) points of one series, in preallocated storage.

    Storage is twice ``max_points`` long: appends write after the newest point and, when the end
    is reached, the newest points move back to the front. That costs one copy per ``max_points``
    appended (amortised O(1)) and keeps the points contiguous, so ``x``/``y`` are views, not copies.

    Parameters
    ----------
    max_points : int
        How many points are kept; older ones are dropped.

    Attributes
    ----------
    last_x : float or None
        The x of the newest batch appended, kept across ``clear()`` so time keeps running.
    total : int
        Points appended since creation or the last ``clear()``, including dropped ones.
    """

    def __init__(self, max_points: int) -> None:
        if max_points < 1:
            raise ValueError(f"max_points must be at least 1, not {max_points}")
        self.max_points = max_points
        self._x = np.empty(2 * max_points, dtype=np.float64)
        self._y = np.empty(2 * max_points, dtype=np.float64)
        self._start = 0
        self._end = 0
        self.last_x: float | None = None
        self.total = 0

    def __len__(self) -> int:
        """Return how many points are kept."""
        return self._end - self._start

    @property
    def capacity(self) -> int:
        """Return the length of the preallocated storage (fixed for the buffer's life)."""
        return len(self._y)

    @property
    def x(self) -> FloatArray:
        """Return the kept x values, oldest first (a view: copy before keeping it)."""
        return self._x[self._start : self._end]

    @property
    def y(self) -> FloatArray:
        """Return the kept y values, oldest first (a view: copy before keeping it)."""
        return self._y[self._start : self._end]

    def extend(self, x: FloatArray, y: FloatArray) -> None:
        """Append points (equal-length arrays); only the newest ``max_points`` are kept."""
        n = len(y)
        self.total += n
        cap = self.max_points
        if n >= cap:
            self._x[:cap] = x[n - cap :]
            self._y[:cap] = y[n - cap :]
            self._start, self._end = 0, cap
            return
        if self._end + n > len(self._y):
            keep = min(len(self), cap - n)
            # numpy copies through a temporary when source and destination overlap.
            self._x[:keep] = self._x[self._end - keep : self._end]
            self._y[:keep] = self._y[self._end - keep : self._end]
            self._start, self._end = 0, keep
        self._x[self._end : self._end + n] = x
        self._y[self._end : self._end + n] = y
        self._end += n
        self._start = max(self._start, self._end - cap)

    def clear(self) -> None:
        """Drop every point (``last_x`` stays, so the next batch is timed from it)."""
        self._start = self._end = 0
        self.total = 0


def fit_y_range(
    buffers: Sequence[SeriesBuffer], oldest: float, current: tuple[float, float] | None
) -> tuple[float, float] | None:
    """Return the y range for the points of ``buffers`` at x >= ``oldest``, moving it only when needed.

    The range changes when a point in view leaves ``current``, or when the points span less
    than half of it; the new range has 10 % of the span as padding on each side. Keeping the
    range still between those moments keeps the y axis (and its labels) from being laid out
    again every frame. Returns ``current`` when no finite point is in view.
    """
    lows, highs = [], []
    for buffer in buffers:
        ys = buffer.y[np.searchsorted(buffer.x, oldest) :]  # x only grows, so a binary search finds the window
        ys = ys[np.isfinite(ys)]
        if len(ys):
            lows.append(ys.min())
            highs.append(ys.max())
    if not lows:
        return current
    lo, hi = float(min(lows)), float(max(highs))
    if current is not None and current[0] <= lo and hi <= current[1] and hi - lo >= 0.5 * (current[1] - current[0]):
        return current
    pad = 0.1 * (hi - lo) or 0.5 * max(1.0, abs(hi))  # a flat line gets a range around it
    return lo - pad, hi + pad
