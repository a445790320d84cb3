"""How the log's table view behaves: whole rows, fixed row heights, columns sized for their contents."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableView

# Initial widths of Time, Worker, Level and Stream, as sample text; Message takes the rest.
COLUMN_SAMPLES = ("00:00:00.000", "a-worker-name", "CRITICAL", "logging")


def configure_log_view(view: QTableView) -> None:
    """Set ``view`` up for the log: one selected row, no editing, uniform rows, no wrapping."""
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    # Scrolling by rows lets a paused view keep its place when rows leave the top.
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setShowGrid(False)
    metrics = view.fontMetrics()
    rows, columns = view.verticalHeader(), view.horizontalHeader()
    assert rows is not None and columns is not None  # a QTableView always has both
    rows.setVisible(False)
    # Fixed, uniform row heights: the view never measures rows, however many there are.
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setMinimumSectionSize(metrics.height() + 4)
    rows.setDefaultSectionSize(metrics.height() + 4)
    columns.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    columns.setStretchLastSection(True)
    columns.setHighlightSections(False)
    for col, sample in enumerate(COLUMN_SAMPLES):
        view.setColumnWidth(col, metrics.horizontalAdvance(sample) + 16)
