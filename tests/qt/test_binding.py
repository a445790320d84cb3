"""Pulse's Qt layer follows the binding its host app chose (PyQt5, PyQt6 or PySide6)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import qtpy

from pulse_supervisor.qt.binding import API_NAME, binding_version, is_deleted

BINDINGS = ("PyQt5", "PyQt6", "PySide6", "PySide2")


def test_an_app_s_binding_imported_first_is_the_one_pulse_uses():
    """No QT_API: an app that imported its binding gets Pulse on it, and no second binding loads."""
    code = (
        f"import sys, {API_NAME}.QtWidgets\n"
        "from pulse_supervisor.qt.qt_supervisor import QtSupervisor\n"
        "import pulse_supervisor.qt.window.main_window, pyqtgraph, qtpy\n"
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


@pytest.mark.skipif(importlib.util.find_spec("PySide6") is None, reason="PySide6 is not installed in this venv")
def test_the_pyside6_example_shows_the_newest_item():
    """Run in a process of its own: this one may have loaded another binding already."""
    code = (
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from examples.pyside6_window import Window\n"
        "app = QApplication([])\n"
        "window = Window()\n"
        "window.show()\n"
        "window.workers.newest.connect(lambda *_: app.quit())\n"
        "QTimer.singleShot(60_000, app.quit)  # a bound on a broken run, not a wait\n"
        "app.exec()\n"
        "print(window.text())\n"
        "window.close()\n"
        "print(window.workers.closed)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QT_API", "PYQTGRAPH_QT_LIB")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text, closed = out.stdout.splitlines()[-2:]
    assert text.startswith("clock: 20") and closed == "True"
