"""The worker table model: a row per worker (an entry's instances under a row of its own), repainted in bulk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from qtpy.QtGui import QBrush, QColor

from app.core.events import CountersReset, DescriptorsLow, Event, ItemBatch, StateChanged, WorkersChanged
from app.core.inspection import format_bytes, format_count, format_duration
from app.core.item_text import item_text
from app.core.policy import State
from app.core.worker_status import WorkerStatuses, changes_status
from app.qt.window.worker_group import GroupRow, arrange
from app.qt.window.worker_row import WorkerRow

STATE_COLOURS = {
    State.STOPPED: "#9e9e9e",
    State.STARTING: "#f0ad4e",
    State.RUNNING: "#3c9d3c",
    State.BACKOFF: "#e08a1e",
    State.STOPPING: "#5b8bd0",
    State.EXITED: "#7a7a7a",
    State.FATAL: "#d9534f",
}
LAST_ITEM_CHARS = 80
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


class WorkerTableModel(QAbstractTableModel):
    """A row per worker of ``statuses``; `apply_events` repaints the rows a batch of events changed.

    The statuses are folded by their owner (the `QtSupervisor`, before it signals the batch);
    the model reads them, and keeps only what the table alone shows (uptime, rate, last item).
    The instances of a config entry with ``instances = N`` follow a `GroupRow` of the entry's
    (their summed counts), shown only while it is expanded (at first when N <= 4): `names` are
    the rows' names (a group's is its entry's), `worker_names` every worker's, hidden or not.
    """

    COLUMNS = (
        "Name", "State", "PID", "Uptime", "Items", "Rate/s", "Lost", "Restarts", "CPU %", "RSS", "Node", "Last item"
    )  # fmt: skip
    NODE = 10  # shown once a worker runs elsewhere (`remote_seen`): on one machine it says nothing
    remote_seen = Signal()  # the first worker on another node (a Ray worker) has been seen
    SORT_ROLE = Qt.ItemDataRole.UserRole  # raw values, so numbers sort as numbers
    NUMERIC = frozenset(range(2, 10))
    # The columns that change with no event of their own: the clock's, and the counts and last
    # item that item batches leave to the clock. The rest change only with a state change, which
    # re-texts the whole row; the tick skips them (idle window: 96 -> 56 texts a tick).
    LIVE = tuple(map(COLUMNS.index, ("Uptime", "Items", "Rate/s", "Lost", "CPU %", "RSS", "Last item")))

    def __init__(self, statuses: WorkerStatuses, parent: Any = None) -> None:
        super().__init__(parent)
        self.statuses = statuses
        self._workers: list[WorkerRow] = [WorkerRow(s) for s in statuses]  # every worker, in row order
        self._by_name: dict[str, WorkerRow] = {}
        self._expanded: dict[str, bool] = {}  # per group, kept across reloads
        self._groups: dict[str, GroupRow] = {}
        self._rows: list[WorkerRow | GroupRow] = []  # the rows shown
        self._texts: list[list[str]] = []  # what the view shows, row by row
        self._index: dict[str, int] = {}  # a shown worker's row
        self._group_index: dict[str, int] = {}  # a group's row
        self._rows_moved()
        self._config_order = {r.name: i for i, r in enumerate(self._workers)}
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self.any_remote = False  # a worker has run on another node (a Ray worker)
        # The rows a view shows now (set by the window): the clock re-texts only those; the rest
        # are marked stale and re-texted when first read (scrolled into view). 1 000 workers: a
        # tick re-texting every row stalled the GUI thread ~100 ms a second.
        self.visible_rows: Callable[[], range] | None = None
        self._stale: set[int] = set()

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
            return self._sort_key(row, col)
        return row.tooltip()

    # --- our API --------------------------------------------------------------------------

    def row(self, name: str) -> WorkerRow:
        """Return the row of worker ``name`` (shown or in a collapsed group)."""
        return self._by_name[name]

    def get(self, name: str) -> WorkerRow | None:
        """Return the row of worker ``name``, or None if it has none."""
        return self._by_name.get(name)

    def rows(self) -> list[WorkerRow]:
        """Return every worker's row (shown or in a collapsed group), in row order."""
        return list(self._workers)

    def text_at(self, row: int, column: int) -> str:
        """Return the text shown at ``row``, ``column`` (as data() gives for DisplayRole)."""
        if row in self._stale:
            self._freshen(row)
        return self._texts[row][column]

    def name_at(self, row: int) -> str:
        """Return the name shown in ``row``: a worker's, or a group's entry's."""
        return self._rows[row].name

    def names(self) -> list[str]:
        """Return the name of every row shown, in row order (a group's row: its entry's name)."""
        return [r.name for r in self._rows]

    def names_at(self, row: int) -> list[str]:
        """Return the workers ``row`` stands for: its worker, or every instance of its group."""
        shown = self._rows[row]
        return shown.names() if type(shown) is GroupRow else [shown.name]

    def worker_names(self) -> list[str]:
        """Return every worker's name in row order, those in collapsed groups too."""
        names: list[str] = []
        for r in self._rows:
            if type(r) is GroupRow:
                names += r.names()
            elif type(r) is WorkerRow and r.status.spec.instance is None:
                names.append(r.name)
        return names

    def row_of(self, name: str) -> int:
        """Return the row of worker ``name``, opening its group first if it is collapsed (or of group ``name``)."""
        if name not in self._by_name and name in self._group_index:
            return self._group_index[name]
        if name not in self._index:
            self.set_expanded(self._by_name[name].status.spec.group, True)
        return self._index[name]

    def group_at(self, row: int) -> str | None:
        """Return the entry name of the group in ``row``, or None if it is a worker's row."""
        shown = self._rows[row]
        return shown.name if type(shown) is GroupRow else None

    def is_expanded(self, group: str) -> bool:
        """Return whether ``group``'s instances are shown under its row."""
        return self._groups[group].expanded

    def set_expanded(self, group: str, expanded: bool) -> None:
        """Show (or hide) the rows of ``group``'s instances under its row."""
        g = self._groups[group]
        self._expanded[group] = expanded
        if g.expanded == expanded:
            return
        at, n = self._group_index[group], len(g.members)
        if expanded:
            self.beginInsertRows(QModelIndex(), at + 1, at + n)
        else:
            self.beginRemoveRows(QModelIndex(), at + 1, at + n)
        self._rows_moved()
        if expanded:
            self.endInsertRows()
        else:
            self.endRemoveRows()
        self.dataChanged.emit(self.createIndex(at, 0), self.createIndex(at, 0))  # its arrow

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

    def _group_row(self, name: str) -> int | None:
        """Return the row of worker ``name``'s group, if it has one."""
        row = self._by_name.get(name)
        return None if row is None else self._group_index.get(row.status.spec.group)

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
            texts[c] = self._display(row, c)

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
                text = self._display(row, c)
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
        keys = [_key(self._rows[i.row()]) for i in persistent]
        if column < 0:
            self._workers.sort(key=lambda r: self._config_order.get(r.name, len(self._config_order)))
        else:  # a group's row goes where its first instance sorts
            self._workers.sort(key=lambda r: self._sort_key(r, column), reverse=order == Qt.SortOrder.DescendingOrder)
        self._rows_moved()
        at = {_key(r): i for i, r in enumerate(self._rows)}
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

    def _rows_moved(self) -> None:
        """Rebuild the rows shown from the order of ``_workers`` (a group's row where its first
        instance is, its instances after it while expanded), the name -> row lookups and the texts."""
        self._by_name = {w.name: w for w in self._workers}
        self._rows, self._groups = arrange(self._workers, self._expanded)
        self._index = {r.name: i for i, r in enumerate(self._rows) if type(r) is WorkerRow}
        self._group_index = {r.name: i for i, r in enumerate(self._rows) if type(r) is GroupRow}
        self._texts = [self._row_texts(r) for r in self._rows]
        self._stale = set()

    def _row_texts(self, row: WorkerRow | GroupRow) -> list[str]:
        return [self._display(row, col) for col in range(len(self.COLUMNS))]

    def _display(self, row: WorkerRow | GroupRow, col: int) -> str:
        if type(row) is GroupRow:
            return row.text(col)
        assert type(row) is WorkerRow
        if col == 0:
            return row.name
        if col == 1:
            return row.state.value
        if col == 2:
            return "" if row.pid is None else str(row.pid)
        if col == 3:
            return "" if row.started is None else format_duration(time.monotonic() - row.started)
        if col == 4:
            return format_count(row.received)
        if col == 5:  # no process, no rate: empty, as uptime, CPU and RSS are
            return "" if row.pid is None else format_count(row.rate) if row.rate >= 10 else f"{row.rate:.1f}"
        if col == 6:
            return format_count(row.status.lost)
        if col == 7:
            return str(row.status.restarts)
        if col == 8:
            return "" if row.cpu is None else f"{row.cpu:.1f}"
        if col == 9:
            return format_bytes(row.rss) if row.rss is not None else ""
        if col == self.NODE:
            return row.status.node or ("local" if row.pid is not None else "")
        if not row.has_item:
            return ""
        if row.last_item_text is None:
            row.last_item_text = elide(row.last_item)
        return row.last_item_text

    def _sort_key(self, row: WorkerRow | GroupRow, col: int) -> Any:
        if type(row) is GroupRow:
            return row.text(col)
        assert type(row) is WorkerRow
        if col == 0:
            return row.name.lower()
        if col == 1:
            return list(State).index(row.state)
        if col >= self.NODE:  # node, last item
            return self._display(row, col)
        if col == 3:
            return -1.0 if row.started is None else time.monotonic() - row.started
        st = row.status
        value = (None, None, st.pid, None, st.received, row.rate, st.lost, st.restarts, row.cpu, row.rss)[col]
        return -1 if value is None else value


def _key(row: WorkerRow | GroupRow) -> str:
    """Return what names ``row`` across a re-sort: its worker's name, or its group's marked as one."""
    return f"\0{row.name}" if type(row) is GroupRow else row.name


def elide(item: Any, limit: int = LAST_ITEM_CHARS) -> str:
    """Return a bounded one-line text of ``item`` (see `item_text`: never raises, whatever the item)."""
    return item_text(item, limit)
