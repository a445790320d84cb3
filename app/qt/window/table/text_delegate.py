"""Paints the worker table's text cells from the model's text cache: one Python call a cell, not seven."""

from __future__ import annotations

from qtpy.QtCore import QModelIndex, Qt
from qtpy.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel

_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class CachedTextDelegate(QStyledItemDelegate):
    """A QStyledItemDelegate whose style option comes straight from `WorkerTableModel`'s texts.

    The stock initStyleOption asks the model seven roles a cell (font, alignment, foreground,
    check state, decoration, display, background), each a call into Python's data(): about a
    third of a repaint of the 24 cells that change each second. The model answers only display
    and alignment for these columns (the state column has its own delegate), so this sets just
    those, as the stock one would; everything else is the view's default.
    """

    def __init__(self, model: WorkerTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: N802
        if index.model() is not self._model:  # another model: ask it as Qt would
            super().initStyleOption(option, index)
            return
        column = index.column()
        option.index = index
        option.text = self._model.text_at(index.row(), column)
        option.features |= _HAS_DISPLAY
        if column in self._model.NUMERIC:
            option.displayAlignment = _RIGHT
        option.styleObject = None  # type: ignore[assignment]  # as the stock one: no style animations in cells
