"""Qt-free pieces of the plot: the numeric columns of a batch, and the y range that fits them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def numeric_columns(
    items: Sequence[Any], keep_key: Callable[[str], bool] | None = None
) -> list[tuple[str | None, IndexArray | None, FloatArray]]:
    """Split a batch into plottable columns.

    Parameters
    ----------
    items : Sequence
        A batch's items, or a tail of them.
    keep_key : callable, optional
        For dict items: called with each key (as ``str``) the batch has; keys it refuses are not
        converted at all (a dict of a thousand keys costs only the keys kept).

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
        return _dict_columns(items, keep_key or _any_key)
    return []


def _any_key(key: str) -> bool:
    return True


def _dict_columns(
    items: Sequence[Any], keep_key: Callable[[str], bool]
) -> list[tuple[str | None, IndexArray | None, FloatArray]]:
    first = items[0]
    all_keys = list(first)
    columns: list[tuple[str | None, IndexArray | None, FloatArray]] = []
    # Fast path: every item a dict with the first one's keys, so columns come out of C-level maps.
    if all_keys and set(map(type, items)) == {dict} and set(map(len, items)) == {len(all_keys)}:
        keys = [key for key in all_keys if keep_key(str(key))]
        if not keys:
            return columns
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
    kept: dict[Any, bool] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict):
            for key, value in item.items():
                keep = kept.get(key)
                if keep is None:
                    keep = kept[key] = keep_key(str(key))
                if not keep:
                    continue
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


def fit_y_range(
    bounds: Sequence[tuple[float, float]], current: tuple[float, float] | None
) -> tuple[float, float] | None:
    """Return the y range for data spanning ``bounds`` (min, max pairs), moving it only when needed.

    The range changes when the data leaves ``current``, or spans less than half of it; the new
    range has 10 % of the span as padding on each side. Keeping the range still between those
    moments keeps the y axis (and its labels) from being laid out again every frame. Returns
    ``current`` when there are no bounds.
    """
    if not bounds:
        return current
    lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    if current is not None and current[0] <= lo and hi <= current[1] and hi - lo >= 0.5 * (current[1] - current[0]):
        return current
    pad = 0.1 * (hi - lo) or 0.5 * max(1.0, abs(hi))  # a flat line gets a range around it
    return lo - pad, hi + pad
