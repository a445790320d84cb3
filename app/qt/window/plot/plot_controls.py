"""The plot dock's widgets around the plot: Pause, Clear, the window, the legend, and its messages."""

from __future__ import annotations

import pyqtgraph as pg
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from pulse_supervisor.qt.window.log.log_bar import fitting_button
from pulse_supervisor.qt.window.plot.plot_legend import PlotLegend
from pulse_supervisor.qt.window.plot.series_history import WINDOWS

# However narrow the window, the plot keeps room for its axis and a few seconds of line: it is
# never squeezed below its legend (the dock's minimum width grows instead).
PLOT_MIN_WIDTH = 200


class PlotControls:
    """Builds the dock's body: a bar (Pause, Clear, Window), the plot with the legend beside it, a note line.

    Attributes
    ----------
    body : QWidget
        What the dock shows.
    pause, clear : QPushButton
        Pause (checkable; reads "Resume" while checked) and Clear.
    window : QComboBox
        The time window, each item's data its seconds (None: all).
    empty_label : QLabel
        Over the plot, sized with it: why the plot is empty (hidden when it is not).
    note_label : QLabel
        Under the plot: series left out, dict keys not plotted (hidden when there is nothing to say).
    """

    def __init__(self, plot_widget: pg.PlotWidget, legend: PlotLegend) -> None:
        self.empty_label = QLabel(plot_widget)  # clicks pass through to the plot
        self.empty_label.setObjectName("plot_empty_label")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #555; background: transparent;")
        self.empty_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        plot_widget.overlay = self.empty_label
        self.note_label = QLabel()
        self.note_label.setObjectName("plot_note_label")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #555;")
        self.note_label.hide()
        self.pause = fitting_button("Pause", "Resume")
        self.pause.setCheckable(True)
        self.pause.setToolTip("Freeze the lines (data is still kept); zooming pauses too")
        self.clear = fitting_button("Clear")
        self.window = QComboBox()
        for label, seconds in WINDOWS:
            self.window.addItem(label, seconds)
        bar = QHBoxLayout()
        bar.addWidget(self.pause)
        bar.addWidget(self.clear)
        bar.addStretch(1)
        bar.addWidget(QLabel("Window"))
        bar.addWidget(self.window)
        plot_widget.setMinimumWidth(PLOT_MIN_WIDTH)
        row = QHBoxLayout()
        row.addWidget(plot_widget, 1)
        row.addWidget(legend)
        self.body = QWidget()
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addLayout(row, 1)
        layout.addWidget(self.note_label)
