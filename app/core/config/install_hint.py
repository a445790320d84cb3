"""Commands to tell a user, spelled for the Python and the install that are running Pulse now."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DIST_NAME = "pulse-supervisor"  # the package registry's name for Pulse (pyproject.toml's)
# A checkout (the README's way in) has its pyproject.toml beside the app package.
CHECKOUT = Path(__file__).resolve().parents[3]  # app/core/config/install_hint.py


def shown_path(path: str, cwd: str | None = None) -> str:
    """Return ``path`` relative to ``cwd`` (default: the current directory) when it lies inside it."""
    cwd = os.getcwd() if cwd is None else cwd
    absolute = os.path.abspath(path)  # not resolved: a venv's python is a symlink to the system's
    inside = os.path.commonpath([absolute, os.path.abspath(cwd)]) == os.path.abspath(cwd)
    if not inside:
        return absolute
    return os.path.relpath(absolute, cwd)


def python() -> str:
    """Return the interpreter running Pulse, as a user would type it here (``.venv/bin/python``).

    A bare ``python`` may be another one, without Pulse's dependencies (it ends in an ImportError).
    """
    shown = shown_path(sys.executable or "python3")
    return shown if os.sep in shown else os.path.join(".", shown)  # a bare name would be looked up in PATH


def pip_install(extra: str) -> str:
    """Return the command that installs Pulse's ``extra`` into the running interpreter.

    From a checkout, the README's own (``pip install -e '.[ray]'``); otherwise the registry's name.
    """
    if (CHECKOUT / "pyproject.toml").is_file():
        here = os.path.abspath(os.getcwd()) == str(CHECKOUT)
        where = "." if here else shown_path(str(CHECKOUT))
        return f"{python()} -m pip install -e '{where}[{extra}]'"
    return f"{python()} -m pip install '{DIST_NAME}[{extra}]'"
