"""Paints a worker's state as a coloured badge in the table."""

from __future__ import annotations

from qtpy.QtCore import QModelIndex, QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem


class StateBadgeDelegate(QStyledItemDelegate):
    """Draws the cell's text in white on a rounded rectangle of its ForegroundRole colour."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        # Selection background first, so a selected row still reads as selected.
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        brush = index.data(Qt.ItemDataRole.ForegroundRole)
        colour = brush.color() if brush is not None else QColor("#777777")
        metrics = option.fontMetrics
        width = metrics.horizontalAdvance(text) + 14
        height = metrics.height() + 4
        rect = QRectF(option.rect.x() + 4, option.rect.center().y() - height / 2 + 1, width, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(QColor("white"))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex):  # type: ignore[no-untyped-def]  # noqa: N802
        size = super().sizeHint(option, index)
        size.setWidth(size.width() + 22)
        return size
