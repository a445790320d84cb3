"""The Qt layer: consumer thread, models, widgets, window and dialogs (thin), on any binding via qtpy."""

# qtpy picks the binding (QT_API, else one already imported, else PyQt5) before anything here
# imports pyqtgraph, which would otherwise pick on its own and could load a second binding.
import qtpy.QtCore  # noqa: F401
