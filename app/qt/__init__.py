"""Pulse's Qt layer, on any binding through qtpy: the library face here, the window in its modules.

from pulse_supervisor.qt import QtSupervisor, run_in_process
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# qtpy picks the binding (QT_API, else one already imported, else PyQt5) before anything here
# imports pyqtgraph, which would otherwise pick on its own and could load a second binding.
import qtpy.QtCore  # noqa: F401

if TYPE_CHECKING:
    from pulse_supervisor.qt.background import BackgroundCall
    from pulse_supervisor.qt.consumer import Consumer
    from pulse_supervisor.qt.control_bridge import ControlBridge
    from pulse_supervisor.qt.jobs import ProcessJob, process_job, run_in_process
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor

# Lazy, like pulse_supervisor.core: importing the package for one name does not load every module.
_HOME = {
    "BackgroundCall": "background",
    "Consumer": "consumer",
    "ControlBridge": "control_bridge",
    **dict.fromkeys(("ProcessJob", "process_job", "run_in_process"), "jobs"),
    "QtSupervisor": "qt_supervisor",
}

__all__ = ["BackgroundCall", "Consumer", "ControlBridge", "ProcessJob", "QtSupervisor", "process_job", "run_in_process"]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"pulse_supervisor.qt.{module}"), name)
