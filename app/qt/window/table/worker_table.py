"""The worker table's view: sorting by the model, row selection, state badges, column widths."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtGui import QFont
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from pulse_supervisor.qt.window.table.state_delegate import StateBadgeDelegate
from pulse_supervisor.qt.window.table.text_delegate import CachedTextDelegate
from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel

# Widths in ems for typical contents, so live numbers don't get elided as they grow.
_COLUMN_EMS = (8, 8, 5, 6, 7, 6, 4, 6, 5, 8, 8)


def make_worker_table(model: WorkerTableModel) -> QTableView:
    """Return a table view of ``model``: whole-row extended selection, config order until sorted."""
    table = QTableView()
    table.setObjectName("worker_table")
    table.setModel(model)  # the model sorts itself: no proxy in every repaint
    table.setSortingEnabled(True)
    table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # config order until the user sorts
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setItemDelegate(CachedTextDelegate(model, table))
    table.setItemDelegateForColumn(1, StateBadgeDelegate(table))
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    font = table.font()
    font.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)
    table.setFont(font)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    set_default_column_widths(table)
    table.setColumnHidden(model.NODE, not model.any_remote)
    model.remote_seen.connect(lambda: table.setColumnHidden(model.NODE, False))
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    return table


def set_default_column_widths(table: QTableView) -> None:
    """Give each column its width for typical contents (a first launch's, or View > Reset layout's)."""
    em = table.fontMetrics().horizontalAdvance("M")
    for column, ems in enumerate(_COLUMN_EMS):
        table.setColumnWidth(column, ems * em)


def visible_rows(table: QTableView) -> range:
    """Return the rows ``table`` shows now (all of them while it has no size yet)."""
    count = table.model().rowCount()
    first = table.rowAt(0)
    if first < 0 or not table.isVisible():
        return range(count)
    last = table.rowAt(table.viewport().height() - 1)
    return range(first, (last if last >= 0 else count - 1) + 1)
