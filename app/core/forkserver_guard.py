"""Imported by the forkserver's preload: makes the forkserver a guarded subreaper (see worker_tree), titled."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from app.core import helper_stdio, worker_tree

if TYPE_CHECKING:
    from types import FrameType


def _in_forkserver() -> bool:
    """Return whether this import runs inside ``multiprocessing.forkserver.main``'s preload."""
    forkserver = sys.modules.get("multiprocessing.forkserver")
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if (
            forkserver is not None
            and frame.f_code.co_filename == forkserver.__file__
            and frame.f_code.co_name == "main"
        ):
            return True
        frame = frame.f_back
    return False


TITLE = "pulse: forkserver"


def _set_title() -> None:
    # Otherwise ps and htop show "python -B -c from multiprocessing.forkserver import main; ...".
    try:
        import setproctitle
    except ImportError:  # pragma: no cover - a dependency; without it the title stays Python's
        return
    setproctitle.setproctitle(TITLE)


# Only there: imported anywhere else (a test, a tool listing modules) this does nothing.
if _in_forkserver():
    _set_title()
    worker_tree.guard_forkserver()
    worker_tree.own_session()
    helper_stdio.detach_from_pulse()  # last: own_session may still have a word for Pulse's stderr
