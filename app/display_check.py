"""Before Qt starts: can it open a window here? If not, say what is missing and how to get it.

Without this, a machine that lacks a library Qt's xcb plugin needs ends in Qt's own abort
("Could not load the Qt platform plugin "xcb" ... Reinstalling the application may fix this
problem"), which names neither the library nor the package. PyQt5's wheels bring Qt, not the
system's X11 client libraries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pulse_supervisor.core.config import install_hint

# soname -> (Debian/Ubuntu package, Fedora package); commands name packages in this order.
PACKAGES = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libGL.so.1": ("libgl1", "mesa-libGL"),
    "libEGL.so.1": ("libegl1", "mesa-libEGL"),
}
# What a minimal system most often lacks: the README's install lines are `install_commands` of these.
COMMONLY_MISSING = ("libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-xinerama.so.0", "libxkbcommon-x11.so.0")


def install_commands(libraries: list[str] | tuple[str, ...]) -> tuple[str, str] | None:
    """Return the (Debian/Ubuntu, Fedora) commands that install ``libraries``; None if none is known.

    One source for the first-run message and the README, so the two cannot drift apart.
    """
    known = [lib for lib in PACKAGES if lib in libraries]  # PACKAGES order, whatever order they came in
    if not known:
        return None
    debian, fedora = (list(dict.fromkeys(PACKAGES[lib][i] for lib in known)) for i in (0, 1))
    return f"sudo apt-get install -y {' '.join(debian)}", f"sudo dnf install -y {' '.join(fedora)}"


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Return why the window cannot open here, with what to do; None when it can (or Qt must tell)."""
    env = dict(os.environ) if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, ...: Qt's own business
    if not env.get("DISPLAY") and not platform:
        if env.get("WAYLAND_DISPLAY"):
            return None
        return "Pulse cannot open its window: there is no display (DISPLAY is not set).\n" + headless_hint()
    missing = missing_xcb_libraries()
    if not missing:
        return None
    lines = [
        "Pulse cannot open its window: Qt's X11 (xcb) plugin needs libraries this system lacks:",
        f"  {', '.join(missing)}",
    ]
    commands = install_commands(missing)
    if commands is not None:
        debian, fedora = commands
        lines += ["Install them (Debian/Ubuntu):", f"  {debian}", "or (Fedora):", f"  {fedora}"]
    return "\n".join(lines) + "\n" + headless_hint()


def headless_hint() -> str:
    """Return how to run Pulse without a display, with the interpreter running it now.

    A bare ``python`` may be one without Pulse's dependencies (outside its venv: a psutil
    ImportError); the one that got this far has them.
    """
    script = install_hint.CHECKOUT / "main.py"
    command = f"{install_hint.python()} {install_hint.shown_path(str(script))}" if script.is_file() else "pulse"
    return f"Pulse also runs without a display: {command} --headless --config your.toml"


def missing_xcb_libraries() -> list[str]:
    """Return the shared libraries Qt's xcb plugin links to that the loader cannot find."""
    try:
        import PyQt5
    except ImportError:
        return []
    qt = Path(PyQt5.__file__).parent / "Qt5"
    ldd = shutil.which("ldd")
    if ldd is None:
        return []  # not glibc: let Qt say what it says
    missing: list[str] = []
    for lib in (qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt5XcbQpa.so.5"):
        if not lib.exists():
            continue
        try:
            out = subprocess.run([ldd, str(lib)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        for line in out.splitlines():
            name, _, where = line.strip().partition(" => ")
            if where.strip() == "not found" and name not in missing:
                missing.append(name)
    return missing
