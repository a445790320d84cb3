"""The window's QActions: icons from the Qt style, shortcuts, and when each one makes sense."""

from __future__ import annotations

from collections.abc import Iterable

from qtpy.QtCore import QObject
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import QAction, QStyle, QWidget

from pulse_supervisor.core.supervision.policy import State

# Which action makes sense in which state; an action is enabled when it makes sense for at
# least one selected worker, and applies to those only.
CAN_START = frozenset({State.STOPPED, State.EXITED, State.FATAL, State.BACKOFF})
CAN_STOP = frozenset({State.STARTING, State.RUNNING, State.BACKOFF})
CAN_KILL = frozenset({State.STARTING, State.RUNNING, State.STOPPING})
CAN_RESTART = frozenset(State) - {State.STOPPING}
ANY = frozenset(State)

_SP = QStyle.StandardPixmap
# name: (text, icon, shortcut, tooltip, states where it applies or None for "always")
_SPECS: dict[str, tuple[str, QStyle.StandardPixmap, str, str, frozenset[State] | None]] = {
    "start": ("&Start", _SP.SP_MediaPlay, "Ctrl+Return", "Start the selected workers", CAN_START),
    "stop": ("S&top", _SP.SP_MediaStop, "Ctrl+.", "Stop gracefully (SIGTERM, then SIGKILL after the stop timeout)",
             CAN_STOP),
    "kill": ("&Kill", _SP.SP_DialogCancelButton, "Ctrl+K", "SIGKILL the selected workers now", CAN_KILL),
    "restart": ("&Restart", _SP.SP_BrowserReload, "Ctrl+R", "Stop, then start again", CAN_RESTART),
    "inspect": ("&Inspect…", _SP.SP_FileDialogInfoView, "Ctrl+I", "Process details, counters and stack", ANY),
    "reset": ("Reset c&ounters", _SP.SP_DialogDiscardButton, "Ctrl+Shift+0",
              "Count restarts, items and lost items from zero", ANY),
    "start_all": ("Start &all", _SP.SP_MediaSeekForward, "Ctrl+Shift+Return", "Start every stopped worker", None),
    "stop_all": ("Sto&p all", _SP.SP_MediaPause, "Ctrl+Shift+.", "Stop every worker gracefully", None),
    "add": ("&Add worker…", _SP.SP_FileDialogNewFolder, "Ctrl+N", "Add a worker", None),
    "remove": ("Re&move", _SP.SP_TrashIcon, "Delete", "Stop and remove the selected workers", ANY),
    "clear_log": ("&Clear log", _SP.SP_DialogResetButton, "Ctrl+L", "Clear the log", None),
}  # fmt: skip


class WorkerActions(QObject):
    """Creates one QAction per worker command; `update_for` enables them from the selection.

    Each action is also an attribute named as in ``_SPECS`` (``actions["start"]`` is ``start``).
    """

    # Set in __init__, one per _SPECS entry (a test checks the two lists agree).
    start: QAction
    stop: QAction
    kill: QAction
    restart: QAction
    inspect: QAction
    reset: QAction
    start_all: QAction
    stop_all: QAction
    add: QAction
    remove: QAction
    clear_log: QAction

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        style = parent.style()
        self.actions: dict[str, QAction] = {}
        for name, (text, icon, shortcut, tip, _states) in _SPECS.items():
            action = QAction(style.standardIcon(icon), text, parent)
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
            action.setStatusTip(tip)
            action.setObjectName(f"action_{name}")
            self.actions[name] = action
            setattr(self, name, action)

    def update_for(self, states: Iterable[State]) -> None:
        """Enable each selection action when it makes sense for at least one of ``states``."""
        selected = set(states)
        for name, (_t, _i, _s, _tip, allowed) in _SPECS.items():
            if allowed is not None:
                self.actions[name].setEnabled(bool(selected & allowed))

    @staticmethod
    def applies(name: str, state: State) -> bool:
        """Return whether action ``name`` makes sense for a worker in ``state``."""
        allowed = _SPECS[name][4]
        return allowed is None or state in allowed

    def selection_actions(self) -> list[QAction]:
        """Return the actions that act on the selected workers, in menu order."""
        return [self.actions[n] for n in ("start", "stop", "kill", "restart", "inspect", "reset", "remove")]
