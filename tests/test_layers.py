"""Layering rules: the core imports no Qt; packages export a sorted, honest ``__all__``."""

from __future__ import annotations

import subprocess
import sys

import app.core


def test_core_imports_no_qt():
    code = (
        "import sys, app.core, app.core.bootstrap, app.core.producers, app.cli, app.producers\n"
        "qt = ('PyQt5', 'PyQt6', 'PySide6', 'PySide2', 'qtpy', 'pyqtgraph')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in qt]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_core_all_is_sorted_and_importable():
    assert app.core.__all__ == sorted(app.core.__all__)
    assert set(app.core.__all__) == set(app.core._HOME)  # every lazy name is exported, and only those
    for name in app.core.__all__:
        assert hasattr(app.core, name), name


def test_qt_all_is_sorted_and_importable():
    import app.qt

    assert app.qt.__all__ == sorted(app.qt.__all__)
    assert set(app.qt.__all__) == set(app.qt._HOME)
    for name in app.qt.__all__:
        assert getattr(app.qt, name).__module__ == f"app.qt.{app.qt._HOME[name]}", name


def test_start_method_is_explicit_and_forkserver_on_linux():
    from app.core.spec import DEFAULT_START_METHOD, PulseConfig
    from app.core.supervisor import Supervisor

    if sys.platform.startswith("linux"):
        assert DEFAULT_START_METHOD == "forkserver"
    sup = Supervisor(PulseConfig(start_method="spawn"))
    try:
        assert sup._launchers.local._ctx.get_start_method() == "spawn"
    finally:
        sup.close()


def test_the_window_uses_only_the_library_face():
    """app/qt/window reaches workers through QtSupervisor alone: no core supervisor, record or consumer."""
    import ast
    from pathlib import Path

    forbidden_modules = {"app.core.supervisor", "app.core.worker_record", "app.qt.consumer"}
    forbidden_attributes = {"consumer", "record", "runtime"}  # the QtSupervisor's thread, the core's records
    window = Path(app.core.__file__).parents[1] / "qt" / "window"
    found = []
    for path in sorted(window.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in forbidden_modules:
                found.append(f"{path.name}:{node.lineno}: imports {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr in forbidden_attributes:
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
            elif (
                isinstance(node, ast.Attribute) and node.attr == "supervisor" and isinstance(node.value, ast.Attribute)
            ):
                if node.value.attr == "supervisor":
                    found.append(f"{path.name}:{node.lineno}: .supervisor.supervisor (the core under QtSupervisor)")
    assert not found, "\n".join(found)
