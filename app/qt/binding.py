"""Which Qt binding qtpy loaded (PyQt5 by default; PyQt6 or PySide6 too), and what differs between them."""

from __future__ import annotations

from typing import Any

import qtpy

API_NAME: str = qtpy.API_NAME  # "PyQt5", "PyQt6", "PySide6" or "PySide2"
IS_PYSIDE: bool = bool(qtpy.PYSIDE2 or qtpy.PYSIDE6)


def binding_version() -> str:
    """Return the binding and its version, e.g. ``"PyQt5 5.15.11"``."""
    return f"{API_NAME} {qtpy.PYSIDE_VERSION if IS_PYSIDE else qtpy.PYQT_VERSION}"


def is_deleted(obj: Any) -> bool:
    """Whether ``obj``'s C++ object is gone (closed with WA_DeleteOnClose, its parent deleted, ...)."""
    if IS_PYSIDE:
        from qtpy import shiboken

        # qtpy.shiboken is empty to mypy, which takes qtpy's PyQt5 branches (qtpy mypy-args).
        return not shiboken.isValid(obj)  # type: ignore[attr-defined]
    from qtpy import sip

    return bool(sip.isdeleted(obj))


def is_connected(obj: Any, signal: Any) -> bool:
    """Whether any slot is connected to ``signal``, a bound signal of ``obj`` (asked in ``obj``'s thread)."""
    if IS_PYSIDE:  # PyQt has no QMetaMethod.fromSignal; PySide's receivers() wants a signature
        from qtpy.QtCore import QMetaMethod

        # PyQt5-stubs have no fromSignal (PySide only): mypy checks this branch against PyQt5.
        return bool(obj.isSignalConnected(QMetaMethod.fromSignal(signal)))  # type: ignore[attr-defined]
    return bool(obj.receivers(signal) > 0)
