"""The plot's legend: a list beside the plot (it hides no data), one checkable entry per series shown."""

from __future__ import annotations

from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

LEGEND_WIDTH = 170  # as wide as it gets; a narrow window squeezes it to LEGEND_MIN_WIDTH
LEGEND_MIN_WIDTH = 100


class PlotLegend(QListWidget):
    """Lists the series on the plot with their colours; unchecking an entry hides its line.

    Signals
    -------
    hidden_changed()
        The user checked or unchecked an entry; ``hidden`` says which series are hidden.
    """

    hidden_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plot_legend")
        self.setMinimumWidth(LEGEND_MIN_WIDTH)
        self.setMaximumWidth(LEGEND_WIDTH)
        self.setIconSize(QSize(14, 4))
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setToolTip("Series on the plot: click one to hide or show its line")
        self.hidden: set[str] = set()  # series the user unchecked; kept when they leave and come back
        self._entries: list[tuple[str, str]] = []
        self.itemChanged.connect(self._on_item_changed)
        self.itemClicked.connect(self._on_item_clicked)

    def set_entries(self, entries: list[tuple[str, str]]) -> None:
        """Show ``entries`` ((name, ``#rrggbb`` colour) pairs) in order; nothing done if unchanged."""
        if entries == self._entries:
            return  # rebuilding the list on every frame would cost a relayout each time
        self._entries = list(entries)
        self.blockSignals(True)
        try:
            self.clear()
            for name, colour in entries:
                item = QListWidgetItem(_swatch(colour), name, self)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a click anywhere on the entry toggles (below)
                item.setCheckState(Qt.CheckState.Unchecked if name in self.hidden else Qt.CheckState.Checked)
                item.setToolTip(f"{name}: click to hide or show its line")
        finally:
            self.blockSignals(False)

    def names(self) -> list[str]:
        """Return the names listed, in order."""
        return [name for name, _ in self._entries]

    def set_hidden(self, name: str, hidden: bool) -> None:
        """Check or uncheck the entry of ``name``, as a click does."""
        for row in range(self.count()):
            item = self.item(row)
            assert item is not None  # row < count()
            if item.text() == name:
                item.setCheckState(Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)
                return
        raise KeyError(name)

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if item.checkState() == Qt.CheckState.Checked:
            self.hidden.discard(item.text())
        else:
            self.hidden.add(item.text())
        self.hidden_changed.emit()


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 4)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
