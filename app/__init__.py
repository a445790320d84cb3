"""Pulse: supervise Python worker processes and show their live data in a Qt window.

The public face, as the package's ``__all__``::

    from pulse_supervisor import QtSupervisor, run_in_process   # the library, for your Qt app
    from pulse_supervisor import Supervisor, load_config        # the same without Qt

Names load when first used: a worker process, which imports this package for its bootstrap,
loads neither Qt nor the supervisor.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from pulse_supervisor.core import __all__ as _core_names  # a lazy face: loads nothing more

if _TYPE_CHECKING:
    from pulse_supervisor.core import *  # noqa: F403
    from pulse_supervisor.qt import BackgroundCall, ProcessJob, QtSupervisor, process_job, run_in_process  # noqa: F401

__version__ = "0.1.0"

# The library face apart from the window: QtSupervisor and the jobs (Qt), and the core below them.
_QT = ("BackgroundCall", "ProcessJob", "QtSupervisor", "process_job", "run_in_process")
_CORE = tuple(_core_names)  # the core's own face: specs, config, Supervisor, events, errors

__all__ = sorted([*_QT, *_CORE, "__version__"], key=str.casefold)


def __getattr__(name: str) -> _Any:
    home = "qt" if name in _QT else "core" if name in _CORE else None
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
