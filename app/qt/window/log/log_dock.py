"""The log dock: worker output and Pulse's notes in a capped, filtered table that follows the newest line."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from qtpy.QtCore import QModelIndex, QSignalBlocker, Qt, QTimer, Signal
from qtpy.QtGui import QFontDatabase
from qtpy.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pulse_supervisor.core.supervision.events import ItemBatch, WorkersChanged
from pulse_supervisor.qt.window.log.log_bar import ALL_WORKERS, LogBar
from pulse_supervisor.qt.window.log.log_model import (
    DEFAULT_MAX_LINES,
    FILTER_LEVELS,
    LogEntry,
    LogFilter,
    LogTableModel,
    format_clock,
    format_entry,
)
from pulse_supervisor.qt.window.log.log_view import configure_log_view

# While lines keep coming the table repaints at most this often (the first line after a pause at
# once). A repaint asks the model for each visible cell's text, colour, font and more: about a
# thousand calls from Qt into Python, each taking the GIL from a consumer thread that a flood
# keeps busy. A print flood repainted it with every batch, 30-60 times a second: the GUI
# thread's stalls (p99) 32-58 ms with the log shown, 14-17 ms with it hidden (probe runs).
MIN_REPAINT_GAP_S = 0.1

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from pulse_supervisor.core.supervision.events import Event


class LogDock(QDockWidget):
    """The log a user keeps open: filter by worker, level and text; save; clear.

    Appends are batched into the model (one remove and one insert per call). The view follows
    the newest line until the user scrolls up, and again once they scroll back to the bottom.

    Parameters
    ----------
    max_lines : int
        How many entries to keep; the oldest are dropped, and counted in `dropped_label`.
    parent : QWidget, optional
        The Qt parent, normally the main window.

    Attributes
    ----------
    model : LogTableModel
        The entries; rows are the ones passing the filters.
    view : QTableView
        The table; `detail` below it shows the selected entry in full.
    worker_combo, level_combo, search_edit : QComboBox, QComboBox, QLineEdit
        The filters: one worker or all, a minimum level, a case-insensitive substring.
    save_button, clear_button, dropped_label : QPushButton, QPushButton, QLabel
        Save…, Clear, and "N lines dropped" (hidden while nothing was dropped).

    Signals
    -------
    saved(str)
        Save… wrote the file (or could not): what to tell the user.
    """

    saved = Signal(str)

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES, parent: QWidget | None = None) -> None:
        super().__init__("Log", parent)
        self.setObjectName("log_dock")  # QMainWindow.saveState/restoreState find it by this name
        self.model = LogTableModel(max_lines, self)
        self._follow = True
        self._adjusting = False  # set while we move rows or the scrollbar, not the user
        self._detail_entry: LogEntry | None = None  # what the detail pane shows
        self._painted_at = 0.0  # time.monotonic() of the last append the table repainted for
        self._repaint = QTimer(self)  # ends a pause in the table's repaints (see MIN_REPAINT_GAP_S)
        self._repaint.setSingleShot(True)
        self._repaint.timeout.connect(self._on_repaint_due)

        bar = LogBar()
        self.worker_combo, self.level_combo, self.search_edit = bar.worker, bar.level, bar.search
        self.dropped_label, self.save_button, self.clear_button = bar.dropped, bar.save, bar.clear

        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setFont(fixed)
        configure_log_view(self.view)
        self.detail = QPlainTextEdit()  # the selected entry in full, tracebacks included
        self.detail.setReadOnly(True)
        self.detail.setFont(fixed)
        self.detail.setPlaceholderText("Select a line to see it in full.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        # Room for a traceback's last lines (where the error is) at the default size.
        self.detail.setMinimumHeight(4 * self.detail.fontMetrics().lineSpacing())
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.splitter = splitter

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar.layout)
        layout.addWidget(splitter, 1)
        self.setWidget(body)

        self.worker_combo.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.level_combo.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.search_edit.textChanged.connect(lambda _t: self._apply_filter())
        self.save_button.clicked.connect(self._on_save_clicked)
        self.clear_button.clicked.connect(self.clear)
        scrollbar, selection = self.view.verticalScrollBar(), self.view.selectionModel()
        assert scrollbar is not None and selection is not None  # both exist once the model is set
        self._scrollbar = scrollbar
        scrollbar.valueChanged.connect(self._on_scrolled)
        scrollbar.rangeChanged.connect(self._on_scroll_range_changed)
        selection.currentRowChanged.connect(self._on_current_row_changed)

    # --- our API --------------------------------------------------------------------------

    def append_events(self, events: list[Event]) -> None:
        """Show the log lines, state changes and exits in a batch from the consumer.

        A `WorkersChanged` in the batch updates the worker filter, as `set_workers` would.
        """
        if all(type(ev) is ItemBatch for ev in events):
            return  # the common case, items only: nothing to log, no view to touch
        for ev in events:
            if isinstance(ev, WorkersChanged):
                self.set_workers(list(ev.names))
        self._append(lambda: self.model.append_events(events))

    def append_line(self, worker: str, level: str, text: str, when: float | None = None) -> None:
        """Show one of Pulse's own messages (stream ``"pulse"``); ``when`` defaults to now."""
        entry = LogEntry(time.time() if when is None else when, worker, level, "pulse", text)
        self._append(lambda: self.model.append_entries([entry]))

    def set_workers(self, names: list[str]) -> None:
        """Offer "All workers" plus ``names`` in the worker filter, keeping the choice if it remains."""
        combo = self.worker_combo
        if [combo.itemData(i) for i in range(1, combo.count())] == names:
            return
        chosen = combo.currentData()
        with QSignalBlocker(combo):
            combo.clear()
            combo.addItem(ALL_WORKERS, None)
            for name in names:
                combo.addItem(name, name)
            combo.setCurrentIndex(max(0, combo.findData(chosen)) if chosen is not None else 0)
        self._apply_filter()

    def clear(self) -> None:
        """Empty the log and reset the dropped count."""
        self.model.clear()
        self._detail_entry = None
        self.detail.clear()
        self._update_dropped()
        self.auto_scroll = True

    def save_to(self, path: str | os.PathLike[str]) -> int:
        """Write the entries the filters show as ``time  worker  level  stream  message`` lines.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (UTF-8, replaced if it exists).

        Returns
        -------
        int
            How many entries were written.

        Raises
        ------
        OSError
            If the file cannot be written.
        """
        entries = self.model.shown_entries()  # what the user sees is what they save
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(format_entry(e) + "\n" for e in entries)
        return len(entries)

    @classmethod
    def ask_save_path(cls, parent: QWidget | None) -> str | None:
        """Ask the user where to save the log; None if they cancel. Tests monkeypatch this."""
        path, _ = QFileDialog.getSaveFileName(parent, "Save log", "pulse-log.txt", "Text files (*.txt *.log);;All (*)")
        return path or None

    @property
    def auto_scroll(self) -> bool:
        """Whether the view follows the newest line (False while the user has scrolled up)."""
        return self._follow

    @auto_scroll.setter
    def auto_scroll(self, follow: bool) -> None:
        self._follow = follow
        if follow:
            self.view.scrollToBottom()

    def visible_count(self) -> int:
        """Return how many entries pass the filters."""
        return self.model.rowCount()

    def total_count(self) -> int:
        """Return how many entries are kept, filtered or not."""
        return self.model.total_count()

    # --- slots and helpers ----------------------------------------------------------------

    def _append(self, append: Callable[[], int]) -> None:
        scrollbar = self._scrollbar
        top = scrollbar.value()
        self._adjusting = True
        try:
            gone = append()
            if not self._follow and gone:
                scrollbar.setValue(max(0, top - gone))  # the rows in sight stay in sight
        finally:
            self._adjusting = False
        if self._follow:
            self.view.scrollToBottom()
        self._update_dropped()
        self._pace_repaints()

    def _pace_repaints(self) -> None:
        """Let the table repaint for this append, or pause its repaints until the gap is over."""
        now = time.monotonic()
        if now - self._painted_at >= MIN_REPAINT_GAP_S:
            self._painted_at = now
        elif not self._repaint.isActive():
            self.view.viewport().setUpdatesEnabled(False)
            self._repaint.start(max(1, round((self._painted_at + MIN_REPAINT_GAP_S - now) * 1000)))

    def _on_repaint_due(self) -> None:
        self._painted_at = time.monotonic()
        self.view.viewport().setUpdatesEnabled(True)  # and repaints it

    def _apply_filter(self) -> None:
        level = self.level_combo.currentText() or FILTER_LEVELS[0]
        log_filter = LogFilter(self.worker_combo.currentData(), level, self.search_edit.text())
        self._adjusting = True
        try:
            self.model.set_filter(log_filter)
        finally:
            self._adjusting = False
        # The detail pane shows the selected entry: still shown, it stays selected; hidden, it goes.
        row = None if self._detail_entry is None else self.model.row_of(self._detail_entry)
        if row is None:
            self._detail_entry = None
            self.detail.clear()
        else:
            self.view.selectRow(row)
        if self._follow:
            self.view.scrollToBottom()

    def _update_dropped(self) -> None:
        dropped = self.model.dropped
        self.dropped_label.setText(f"{dropped:,} line{'' if dropped == 1 else 's'} dropped")
        self.dropped_label.setVisible(dropped > 0)

    def _on_scrolled(self, value: int) -> None:
        if not self._adjusting:
            self._follow = value >= self._scrollbar.maximum()

    def _on_scroll_range_changed(self, minimum: int, maximum: int) -> None:
        # With nothing to scroll the user cannot scroll back down, so an empty range resumes following.
        if self._follow or maximum <= minimum:
            self._follow = True
            self._scrollbar.setValue(maximum)

    def _on_save_clicked(self) -> None:
        path = type(self).ask_save_path(self)
        if not path:
            return
        try:
            count = self.save_to(path)
        except OSError as exc:
            self.append_line("pulse", "ERROR", f"could not save the log to {path}: {exc}")
            self.saved.emit(f"Could not save the log to {path}: {exc.strerror or exc}")
            return
        filtered = " (those the filters show)" if count < self.model.total_count() else ""
        self.saved.emit(f"Saved {count:,} log line{'' if count == 1 else 's'}{filtered} to {path}")

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return  # a filter change or clear: `_apply_filter` and `clear` decide what the pane shows
        e = self._detail_entry = self.model.entry_at(current.row())
        mark = "  traceback" if e.traceback else ""
        self.detail.setPlainText(f"{format_clock(e.time)}  {e.worker}  {e.level}  {e.stream}{mark}\n{e.message}")
