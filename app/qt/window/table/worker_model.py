"""The worker table model: a row per worker (an entry's instances under a row of its own), repainted in bulk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from qtpy.QtCore import QModelIndex, Qt, Signal
from qtpy.QtGui import QBrush, QColor

from pulse_supervisor.core.supervision.events import (
    CountersReset,
    DescriptorsLow,
    Event,
    ItemBatch,
    StateChanged,
    WorkersChanged,
)
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.worker_status import WorkerStatuses, changes_status
from pulse_supervisor.qt.window.table.table_rows import TableRows, row_key
from pulse_supervisor.qt.window.table.worker_row import COLUMNS, NODE, STATE_COLOURS, WorkerRow

# Roles as plain ints: data() runs ~600 times per table repaint, and every PyQt5 scoped-enum
# attribute lookup (Qt.ItemDataRole.DisplayRole) costs a couple of microseconds.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_SORT = int(Qt.ItemDataRole.UserRole)
_ANSWERED = frozenset((_DISPLAY, _FOREGROUND, _TOOLTIP, _ALIGNMENT, _SORT))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_BRUSHES = {state: QBrush(QColor(colour)) for state, colour in STATE_COLOURS.items()}


class WorkerTableModel(TableRows):
    """A row per worker of ``statuses``; `apply_events` repaints the rows a batch of events changed.

    The statuses are folded by their owner (the `QtSupervisor`, before it signals the batch);
    the model reads them, and keeps only what the table alone shows (uptime, rate, last item).
    Its rows, and an entry's instances grouped under a row of their own: `TableRows`.
    """

    COLUMNS = COLUMNS
    NODE = NODE  # shown once a worker runs elsewhere (`remote_seen`): on one machine it says nothing
    remote_seen = Signal()  # the first worker on another node (a Ray worker) has been seen
    SORT_ROLE = Qt.ItemDataRole.UserRole  # raw values, so numbers sort as numbers
    NUMERIC = frozenset(range(2, 10))
    # The columns that change with no event of their own: the clock's, and the counts and last
    # item that item batches leave to the clock. The rest change only with a state change, which
    # re-texts the whole row; the tick skips them (idle window: 96 -> 56 texts a tick).
    LIVE = tuple(map(COLUMNS.index, ("Uptime", "Items", "Rate/s", "Lost", "CPU %", "RSS", "Last item")))

    def __init__(self, statuses: WorkerStatuses, parent: Any = None) -> None:
        super().__init__([WorkerRow(s) for s in statuses], parent)
        self.statuses = statuses
        self._config_order = {r.name: i for i, r in enumerate(self._workers)}
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self.any_remote = False  # a worker has run on another node (a Ray worker)
        # The rows a view shows now (set by the window): the clock re-texts only those; the rest
        # are marked stale and re-texted when first read (scrolled into view). 1 000 workers: a
        # tick re-texting every row stalled the GUI thread ~100 ms a second.
        self.visible_rows: Callable[[], range] | None = None

    # --- Qt model API ---------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = _DISPLAY) -> Any:
        # The view asks ~7 roles of every painted cell, most of them ones we don't answer: the
        # role test comes first, and display text comes from the cache.
        if role not in _ANSWERED:
            return None
        r = index.row()
        if not 0 <= r < len(self._rows):
            return None
        col = index.column()
        if role == _DISPLAY:
            if r in self._stale:
                self._freshen(r)
            return self._texts[r][col]
        if role == _ALIGNMENT:
            return _RIGHT if col in self.NUMERIC else None
        row = self._rows[r]
        if role == _FOREGROUND:
            return _BRUSHES[row.state] if col == 1 else None
        if role == _SORT:
            return row.sort_key(col)
        return row.tooltip()

    # --- our API --------------------------------------------------------------------------

    def text_at(self, row: int, column: int) -> str:
        """Return the text shown at ``row``, ``column`` (as data() gives for DisplayRole)."""
        if row in self._stale:
            self._freshen(row)
        return self._texts[row][column]

    def apply_events(self, events: list[Event]) -> None:
        """Show a batch of events (already folded into the statuses); one ``dataChanged`` per row changed."""
        touched: set[str] = set()  # names: a WorkersChanged later in the batch moves rows
        for ev in events:
            if isinstance(ev, WorkersChanged):
                self._set_names()
                continue
            if isinstance(ev, DescriptorsLow):  # of no one worker: the status bar says it
                continue
            row = self._by_name.get(ev.worker)
            if row is None:
                continue
            if isinstance(ev, ItemBatch):
                if ev.items:  # not a loss found at a run's end (an empty batch): it was sent at no time
                    row.lag_ms = (ev.received_ns - ev.sent_ns) / 1e6
                    row.last_item = ev.items[-1]
                    row.has_item = True
                    row.last_item_text = None  # made on the tick that shows it, once
                continue  # counts and last item repaint on the clock tick: one table repaint a second
            elif isinstance(ev, StateChanged):
                if ev.node and not self.any_remote:
                    self.any_remote = True
                    self.remote_seen.emit()
                if ev.state is State.STARTING:
                    row.started = time.monotonic()
                elif ev.state is State.RUNNING and ev.node:  # its STARTING included making its agent
                    row.started = time.monotonic() - row.status.spec.start_secs
                elif not ev.state.is_alive:
                    # No process: no uptime, CPU or RSS, and no rate (even with the refresh paused).
                    row.started = row.cpu = row.rss = None
                    row.rate = 0.0
            elif isinstance(ev, CountersReset):
                row.reset_counters(time.monotonic())
            elif not changes_status(ev):
                continue
            touched.add(row.name)
        if touched:
            rows = {i for name in touched if (i := self._index.get(name)) is not None}
            rows |= {i for name in touched if (i := self._group_row(name)) is not None}
            self._retext(sorted(rows), whole_rows=True)  # state, pid, tooltip: the rows' every column
            if self._sort[0] == 1:  # sorted by state, which just changed
                self._resort()

    def reset_counters(self, name: str) -> None:
        """Show ``name``'s items, lost items, restarts and rate from zero again."""
        self._by_name[name].reset_counters(time.monotonic())
        self._retext([i for i in (self._index.get(name), self._group_row(name)) if i is not None], whole_rows=True)

    def refresh_clock(self, stats: dict[str, tuple[float | None, int | None]] | None = None) -> None:
        """Update the time-based columns (uptime, rate) and process stats (name -> (cpu, rss)).

        Called by a timer about once a second; one ``dataChanged`` for all rows.
        """
        if not self._workers:
            return
        now = time.monotonic()
        for row in self._workers:
            row.update_rate(now)
            if stats is not None:
                row.cpu, row.rss = stats.get(row.name, (None, None))
        every = range(len(self._rows))
        shown = self.visible_rows() if self.visible_rows is not None else every
        if len(shown) < len(every):
            self._stale = set(every).difference(shown)
        self._retext(shown, whole_rows=False)
        if self._sort[0] >= 2:  # sorted by a live column: keep the order true, once a second
            self._resort()

    def _freshen(self, r: int) -> None:
        """Re-text a stale row's live columns as it is read (no signal: the reader gets the new text)."""
        self._stale.discard(r)
        row, texts = self._rows[r], self._texts[r]
        for c in self.LIVE:
            texts[c] = row.text(c)

    def _retext(self, rows: Iterable[int], *, whole_rows: bool) -> None:
        """Refresh the cached texts of ``rows``; repaint only the cells whose text changed.

        A ``dataChanged`` over more than one cell makes the view repaint all of itself, while
        one per cell repaints that cell's rectangle: at one tick a second with uptime, items
        and last item changing, that is a third of the table's cells, and of its paint cost.
        Without ``whole_rows``, only the `LIVE` columns are looked at.
        """
        # createIndex, not index: the rows are known valid, and index() asks Python's rowCount
        # and columnCount each time (24 cells a tick: ~150 -> ~35 us, hot).
        last = len(self.COLUMNS) - 1
        stale = self._stale
        for r in rows:
            stale.discard(r)
            if whole_rows:  # colour and tooltip changed too: the whole row, in one signal
                self._texts[r] = self._row_texts(self._rows[r])
                self.dataChanged.emit(self.createIndex(r, 0), self.createIndex(r, last))
                continue
            row, old = self._rows[r], self._texts[r]
            for c in self.LIVE:
                text = row.text(c)
                if text != old[c]:
                    old[c] = text
                    index = self.createIndex(r, c)
                    self.dataChanged.emit(index, index)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort rows by ``column`` (raw values, so numbers sort as numbers); -1 restores config order.

        Sorting here rather than in a QSortFilterProxyModel: the proxy doubled the Python calls
        of every repaint (rowCount/columnCount per mapped index), the idle window's main cost.
        """
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        keys = [row_key(self._rows[i.row()]) for i in persistent]
        if column < 0:
            self._workers.sort(key=lambda r: self._config_order.get(r.name, len(self._config_order)))
        else:  # a group's row goes where its first instance sorts
            self._workers.sort(key=lambda r: r.sort_key(column), reverse=order == Qt.SortOrder.DescendingOrder)
        self._rows_moved()
        at = {row_key(r): i for i, r in enumerate(self._rows)}
        moved = [self.index(at[k], i.column()) for k, i in zip(keys, persistent, strict=True)]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _resort(self) -> None:
        """Keep a sort on a live column (items, rate, ...) true as the values change."""
        column, order = self._sort
        if column >= 0:
            self.sort(column, order)

    def _set_names(self) -> None:
        """Follow the statuses' workers and their order (told by a WorkersChanged)."""
        names = self.statuses.names()
        old = {r.name: r for r in self._workers}
        if names == list(self._config_order) and all(old[s.name].status is s for s in self.statuses):
            return
        self.beginResetModel()
        # A worker removed and added again under its name has a new status: a new row too.
        self._workers = [
            r if (r := old.get(s.name)) is not None and r.status is s else WorkerRow(s) for s in self.statuses
        ]
        self._rows_moved()
        self._config_order = {n: i for i, n in enumerate(names)}
        self.endResetModel()
        self._resort()
