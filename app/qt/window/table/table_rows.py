"""The worker table's rows: a row per worker, an entry's instances after a row of their group's, and lookups by name."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QAbstractTableModel, QModelIndex

from pulse_supervisor.qt.window.table.worker_group import GroupRow, arrange
from pulse_supervisor.qt.window.table.worker_row import COLUMNS, WorkerRow


class TableRows(QAbstractTableModel):
    """The rows `WorkerTableModel` shows, and how they follow its workers' order and its groups' opening.

    ``_workers`` is every worker's row, in order (config order, or sorted); ``_rows`` the rows
    shown: a `GroupRow` where its entry's first instance is, the instances after it while it is
    expanded (at first when it has at most `worker_group.EXPANDED_UP_TO`). `names` are the rows'
    names (a group's is its entry's), `worker_names` every worker's, shown or not.
    """

    def __init__(self, workers: list[WorkerRow], parent: Any = None) -> None:
        super().__init__(parent)
        self._workers = workers  # every worker, in row order
        self._by_name: dict[str, WorkerRow] = {}
        self._expanded: dict[str, bool] = {}  # per group, kept across reloads
        self._groups: dict[str, GroupRow] = {}
        self._rows: list[WorkerRow | GroupRow] = []  # the rows shown
        self._texts: list[list[str]] = []  # what the view shows, row by row
        self._index: dict[str, int] = {}  # a shown worker's row
        self._group_index: dict[str, int] = {}  # a group's row
        self._stale: set[int] = set()  # rows whose live columns are re-texted when read
        self._rows_moved()

    def row(self, name: str) -> WorkerRow:
        """Return the row of worker ``name`` (shown or in a collapsed group)."""
        return self._by_name[name]

    def get(self, name: str) -> WorkerRow | None:
        """Return the row of worker ``name``, or None if it has none."""
        return self._by_name.get(name)

    def rows(self) -> list[WorkerRow]:
        """Return every worker's row (shown or in a collapsed group), in row order."""
        return list(self._workers)

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

    def toggle_group(self, row: int) -> bool:
        """Open or close the group in ``row``; return False (doing nothing) if it is a worker's row."""
        group = self.group_at(row)
        if group is not None:
            self.set_expanded(group, not self._groups[group].expanded)
        return group is not None

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

    def _group_row(self, name: str) -> int | None:
        """Return the row of worker ``name``'s group, if it has one."""
        row = self._by_name.get(name)
        return None if row is None else self._group_index.get(row.status.spec.group)

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
        return [row.text(col) for col in range(len(COLUMNS))]


def row_key(row: WorkerRow | GroupRow) -> str:
    """Return what names ``row`` across a re-sort: its worker's name, or its group's marked as one."""
    return f"\0{row.name}" if type(row) is GroupRow else row.name
