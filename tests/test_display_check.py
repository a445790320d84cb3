"""Before Qt: a missing display or X11 library is a clear message with the fix, not Qt's abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pulse_supervisor import display_check
from pulse_supervisor.display_check import display_problem

ROOT = Path(__file__).resolve().parents[1]


def test_offscreen_and_wayland_are_left_to_qt():
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


def test_missing_xcb_libraries_are_named_with_the_packages_to_install(monkeypatch):
    monkeypatch.setattr(display_check, "missing_xcb_libraries", lambda: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    text = display_problem({"DISPLAY": ":0"})
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1" in text
    assert "sudo dnf install -y xcb-util-wm xcb-util-keysyms" in text  # the README's order
    assert "--headless" in text
    monkeypatch.setattr(display_check, "missing_xcb_libraries", lambda: [])
    assert display_problem({"DISPLAY": ":0"}) is None


def test_no_display_at_all_exits_3_saying_so_before_qt_starts():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert "there is no display" in proc.stderr and "--headless" in proc.stderr
    # The interpreter that ran it (a bare `python` may lack Pulse's dependencies), as typed from here.
    inside = os.path.abspath(sys.executable).startswith(str(ROOT) + os.sep)
    python = os.path.relpath(sys.executable, ROOT) if inside else os.path.abspath(sys.executable)
    assert f"without a display: {python} main.py --headless --config your.toml" in proc.stderr
    assert "Reinstalling the application" not in proc.stderr  # Qt's own abort never came
