"""Qt-free bookkeeping of the plot: which series exist, their points, which show, and what to say."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pulse_supervisor.core.supervision.events import Event, ItemBatch, StateChanged, WorkersChanged
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.wire.item_forms import StandIn, plain
from pulse_supervisor.qt.window.plot.series import numeric_columns
from pulse_supervisor.qt.window.plot.series_history import SeriesHistory

# A batch's items are spread back to the previous batch, but no further than this: after a quiet
# spell (a restart, a slow worker) the items were made just before sending, not over the whole gap.
MAX_SPREAD_S = 1.0
# With nothing selected, at most this many series show (each line costs paint time every frame,
# and 64 workers' worth would stall the GUI thread); with workers selected, at most this many.
MAX_AUTO_SERIES = 8
MAX_SELECTED_SERIES = 24
# A worker's dict items make at most this many series (the first keys with numbers); a dict of a
# thousand keys would otherwise make a thousand lines and freeze the plot.
MAX_KEYS_PER_WORKER = 16
_REFUSED_KEYS_KEPT = 10_000  # distinct refused keys remembered per worker, for the note's count

# Colours by a hash of the series' name, so a series has the same colour in every run and launch,
# whatever came first. tab10, then ten more picked one by one as far (CIEDE2000) from all before
# as a line on white allows (lightness 30-68, chroma 30-80): no two closer than tab10's own
# closest pair (red and brown, 16.2). More than MAX_KEYS_PER_WORKER + 1, so a worker's own lines,
# which skip each other's colours (see `colour_of`), never share one.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#4b4b00", "#007869", "#960069", "#2d3ca5", "#a57800", "#f08787",
    "#87a5e1", "#00690f", "#69b496", "#e10f69",
)  # fmt: skip
# The hash's start value: any gives stable colours; this one gives the built-in demo's first
# five lines tab10's blue, orange, green, red and pink, and its other workers' lines colours of their own.
_HASH_START = 5346
_TRAILING_NUMBER = re.compile(r"(.*?)(\d{1,9})")


def colour_of(name: str, taken: Iterable[str] = ()) -> str:
    """Return the stable ``#rrggbb`` colour of series ``name``, avoiding ``taken`` while any is free.

    Only a series' siblings (its worker's other lines, in the order its dict keys came) are passed
    as ``taken``: other workers' series never move a colour, so it follows the name. Names that
    end in a number take consecutive colours (``c1``, ``c2``, ... or ``ch0`` to ``ch15``), so up to
    20 numbered workers never share one either.
    """
    taken = set(taken)
    numbered = _TRAILING_NUMBER.fullmatch(name)
    stem, number = (numbered[1], int(numbered[2])) if numbered else (name, 0)
    first = (zlib.crc32(stem.encode("utf-8", "replace"), _HASH_START) + number) % len(PALETTE)
    for step in range(len(PALETTE)):
        colour = PALETTE[(first + step) % len(PALETTE)]
        if colour not in taken:
            return colour
    return PALETTE[first]


@dataclass(slots=True)
class Series:
    """One line: a worker's numbers, or one key of its dict items."""

    worker: str
    history: SeriesHistory
    colour: str
    curve: Any = None  # the dock's pg.PlotDataItem, made when first shown
    changed: bool = True  # points the line does not have yet


@dataclass(slots=True)
class _WorkerNotes:
    keys: list[str] = field(default_factory=list)  # dict keys kept as series, in order
    refused: set[str] = field(default_factory=set)  # dict keys over MAX_KEYS_PER_WORKER
    other_kind: str | None = None  # type of the newest items that do not plot
    items: int = 0


class PlotSeries:
    """Every series the plot has, fed by the consumer's events.

    x is seconds on ``time.monotonic()``'s clock: each batch's items spread evenly back towards
    the previous batch (at most ``MAX_SPREAD_S``) up to the time it was received.
    """

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self.workers: frozenset[str] | None = None  # configured workers; None until told
        self._notes: dict[str, _WorkerNotes] = {}
        self._removed: list[Series] = []
        self._live: set[str] = set()  # workers with a process: first for the few places unselected

    def apply_events(self, events: Iterable[Event]) -> set[str]:
        """Take one emit's events in order; return the workers whose series got points, or whose
        empty plot says something else now (their first items, or items of another kind)."""
        # One conversion per worker per run of batches, not per batch: many workers send many
        # small batches. A new run or a worker set change flushes what is pending first.
        grouped: dict[str, tuple[list[object], int]] = {}
        changed: set[str] = set()

        def flush(worker: str | None = None) -> None:
            for name in [worker] if worker is not None else list(grouped):
                if name in grouped:
                    items, received_ns = grouped.pop(name)
                    if self._append_batch(name, items, received_ns):
                        changed.add(name)

        for ev in events:
            if type(ev) is ItemBatch:
                if ev.items:
                    items, _ = grouped.get(ev.worker, ([], 0))
                    items.extend(map(_plottable, ev.items) if ev.stand_ins else ev.items)
                    grouped[ev.worker] = (items, ev.received_ns)
            elif type(ev) is StateChanged:
                if ev.state.is_alive:
                    self._live.add(ev.worker)
                else:
                    self._live.discard(ev.worker)
                if ev.state is State.STARTING:
                    flush(ev.worker)
                    self._break_lines(ev.worker)
            elif type(ev) is WorkersChanged:
                flush()
                self._set_workers(ev.names)
        flush()
        return changed

    def _append_batch(self, worker: str, items: list[object], received_ns: int) -> bool:
        notes = self._notes.setdefault(worker, _WorkerNotes())
        first = not notes.items
        notes.items += len(items)
        columns = numeric_columns(items, lambda key: key in notes.keys or len(notes.keys) < MAX_KEYS_PER_WORKER)
        if not columns:
            last = items[-1]
            kind, notes.other_kind = notes.other_kind, last.type_name if type(last) is StandIn else type(last).__name__
            return first or kind != notes.other_kind  # the empty plot's message changed: it must show
        n = len(items)
        t = received_ns * 1e-9
        appended = False
        for key, indices, ys in columns:
            if key is not None and key not in notes.keys:
                if len(notes.keys) >= MAX_KEYS_PER_WORKER:
                    if len(notes.refused) < _REFUSED_KEYS_KEPT:
                        notes.refused.add(key)
                    continue
                notes.keys.append(key)
            name = worker if key is None else f"{worker}.{key}"
            series = self.series.get(name) or self._add(name, worker)
            history = series.history
            prev = t if history.last_x is None else history.last_x  # a first batch lands at t
            end = max(t, prev)
            start = max(prev, end - MAX_SPREAD_S)
            # Item i of n sits at start + (i + 1)/n of the way, so the last one lands on `end`.
            pos = np.arange(1, n + 1) if indices is None else indices + 1
            history.extend(np.multiply(pos, (end - start) / n, dtype=np.float64) + start, ys)
            series.changed = appended = True
        return appended

    def _add(self, name: str, worker: str) -> Series:
        taken = [s.colour for s in self.series.values() if s.worker == worker]
        series = self.series[name] = Series(worker, SeriesHistory(), colour_of(name, taken))
        return series

    def _break_lines(self, worker: str) -> None:
        for series in self.series.values():
            if series.worker == worker:
                series.history.break_line()

    def _set_workers(self, names: Iterable[str]) -> None:
        self.workers = frozenset(names)
        for name in [n for n, s in self.series.items() if s.worker not in self.workers]:
            self._removed.append(self.series.pop(name))
        for worker in [w for w in self._notes if w not in self.workers]:
            del self._notes[worker]
        self._live &= self.workers

    def take_removed(self) -> list[Series]:
        """Return the series dropped with their workers since the last call (their lines must go)."""
        removed, self._removed = self._removed, []
        return removed

    def choose_shown(self, selected: frozenset[str], window_start: float | None) -> tuple[list[str], int]:
        """Return the series to show, and how many more could show but do not fit.

        With ``selected`` workers: their series, up to MAX_SELECTED_SERIES. With none: the series
        of configured workers that have points after ``window_start`` (None: any), up to
        MAX_AUTO_SERIES, those of workers with a process first, each in order of first appearance.
        """
        if selected:
            candidates = [n for n, s in self.series.items() if s.worker in selected]
            limit = MAX_SELECTED_SERIES
        else:
            candidates = [n for n, s in self.series.items() if _has_points_after(s, window_start)]
            candidates.sort(key=lambda n: self.series[n].worker not in self._live)  # stable: order kept
            limit = MAX_AUTO_SERIES
        return candidates[:limit], max(0, len(candidates) - limit)

    def notes(self, workers: Iterable[str]) -> list[str]:
        """Return what to tell about ``workers``' dict keys that are not plotted."""
        found = []
        for worker in workers:
            notes = self._notes.get(worker)
            if notes is not None and notes.refused:
                more = f"{len(notes.refused):,}" + ("+" if len(notes.refused) >= _REFUSED_KEYS_KEPT else "")
                found.append(f"{worker}: the first {len(notes.keys)} keys are plotted, {more} more are not")
        return found

    def empty_message(self, selected: frozenset[str], window_s: float | None) -> str:
        """Return why the plot shows no line: what the selected workers (or all) sent instead."""
        if not selected:
            if not any(n.items for n in self._notes.values()):
                return "No items yet. The plot shows items that are numbers, or dicts of numbers."
            return f"No numeric items{_during(window_s)}. The plot shows numbers, or dicts of numbers."
        lines = []
        for worker in sorted(selected):
            notes = self._notes.get(worker)
            if notes is None or not notes.items:
                lines.append(f"No items from {worker} yet.")
            elif any(s.worker == worker for s in self.series.values()):
                lines.append(f"No numeric items from {worker}{_during(window_s)}.")
            else:
                lines.append(f"No numeric items from {worker}: its items are {notes.other_kind}.")
        return "\n".join(lines) + "\nThe plot shows items that are numbers, or dicts of numbers."


def _plottable(item: object) -> object:
    """An object of a worker's class plots by its plain data (a dataclass's fields), if it has any."""
    if type(item) is StandIn and item.data is None:
        return item  # nothing to plot; kept, so the empty plot can name its class
    return plain(item)


def _during(window_s: float | None) -> str:
    return "" if window_s is None else f" in the last {window_s:g} s"


def _has_points_after(series: Series, start: float | None) -> bool:
    last = series.history.last_x
    return last is not None and len(series.history.level(None)) > 0 and (start is None or last >= start)
