"""Pulse's Qt layer follows the binding its host app chose (PyQt5, PyQt6 or PySide6)."""

from __future__ import annotations

import os
import subprocess
import sys

import qtpy

from app.qt.binding import API_NAME, binding_version, is_deleted

BINDINGS = ("PyQt5", "PyQt6", "PySide6", "PySide2")


def test_an_app_s_binding_imported_first_is_the_one_pulse_uses():
    """No QT_API: an app that imported its binding gets Pulse on it, and no second binding loads."""
    code = (
        f"import sys, {API_NAME}.QtWidgets\n"
        "from app.qt.qt_supervisor import QtSupervisor\n"
        "import app.qt.main_window, pyqtgraph, qtpy\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({BINDINGS!r}))\n"
        "print(qtpy.API_NAME, loaded)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QT_API", "PYQTGRAPH_QT_LIB")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [API_NAME, f"['{API_NAME}']"]


def test_the_binding_is_named_with_its_version_and_deletion_is_seen(qtbot):
    from qtpy.QtCore import QObject

    assert API_NAME == qtpy.API_NAME and binding_version().startswith(f"{API_NAME} ")
    parent = QObject()
    child = QObject(parent)
    assert not is_deleted(child)
    with qtbot.waitSignal(parent.destroyed, timeout=5000):
        parent.deleteLater()
    assert is_deleted(child)
