"""The log dock's bar: worker and level filters, the search field, Save… and Clear, sized to stay usable."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton

from pulse_supervisor.qt.window.log.log_model import FILTER_LEVELS

ALL_WORKERS = "All workers"
SEARCH_MIN_CHARS = 10  # a narrow window squeezes the search to this, never to a sliver
WORKER_MIN_CHARS = 6  # a longer worker name elides in the combo (its list shows it whole)


class LogBar:
    """Builds the bar above the log (as `PlotControls` does the plot's).

    Attributes
    ----------
    layout : QHBoxLayout
        What the dock puts above its table.
    worker, level : QComboBox
        One worker or all (each item's data its name, None for all); the minimum level.
    search : QLineEdit
        A case-insensitive substring; never narrower than `SEARCH_MIN_CHARS` characters.
    dropped : QLabel
        "N lines dropped", hidden while nothing was.
    save, clear : QPushButton
        Save… and Clear.
    """

    def __init__(self) -> None:
        self.worker = QComboBox()
        self.worker.addItem(ALL_WORKERS, None)
        self.level = QComboBox()
        self.level.addItems(FILTER_LEVELS)
        # Sized to its longest item by default: a long worker name would crowd out the search.
        self.worker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.worker.setMinimumContentsLength(WORKER_MIN_CHARS)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(self.search.fontMetrics().averageCharWidth() * SEARCH_MIN_CHARS)
        self.dropped = QLabel()
        self.dropped.setVisible(False)
        self.save = fitting_button("Save…")
        self.clear = fitting_button("Clear")
        self.layout = QHBoxLayout()
        self.layout.addWidget(self.worker)
        self.layout.addWidget(self.level)
        self.layout.addWidget(self.search, 1)
        for widget in (self.dropped, self.save, self.clear):
            self.layout.addWidget(widget)


def fitting_button(text: str, *longer: str) -> QPushButton:
    """Return a button that a narrow window may squeeze to its text (the longest of ``text`` and
    ``longer``, which it may show later), below the style's usual minimum of 80 pixels."""
    button = QPushButton(text)
    metrics = button.fontMetrics()
    button.setMinimumWidth(max(metrics.horizontalAdvance(t) for t in (text, *longer)) + 2 * metrics.averageCharWidth())
    return button
