"""Window commands that ask first or touch several parts: remove, clear the log, reset counters.

Each takes the parts it touches and an ``ask(title, text) -> bool`` (the window's `confirm`,
which tests replace), not the window itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qtpy.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor
    from pulse_supervisor.qt.window.log.log_dock import LogDock
    from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel

Ask = Callable[[str, str], bool]  # (title, text) -> whether the user said yes


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask ``text`` in a box over ``parent``; return whether the user said yes."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
    answer = QMessageBox.question(parent, title, text, buttons, QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


def remove_selected(names: Sequence[str], model: WorkerTableModel, supervisor: QtSupervisor, ask: Ask) -> bool:
    """Stop and remove the workers ``names`` once the user confirms; return whether they were removed."""
    if not names:
        return False
    alive = [n for n in names if model.row(n).state.is_alive]
    which = names[0] if len(names) == 1 else f"{len(names)} workers ({', '.join(names)})"
    text = f"Remove {which}?"
    if alive:
        verb = "is" if len(alive) == 1 else "are"
        text += f"\n\n{', '.join(alive)} {verb} running and will be stopped first."
    text += "\nLog files on disk are kept."
    if not ask("Remove workers", text):
        return False
    for name in names:
        supervisor.remove(name)
    return True


def clear_log(log_dock: LogDock, ask: Ask) -> bool:
    """Empty the log dock once the user confirms (an empty log asks nothing); return whether it was cleared.

    Every line goes, the ones the filters hide too: the question counts them all, and says so.
    """
    total, shown = log_dock.total_count(), log_dock.visible_count()
    lines = f"{total:,} line{'' if total == 1 else 's'}"
    question = f"Clear the {lines} of the log?"
    if shown < total:
        question = f"Clear all {lines} of the log?\nThe filters show {shown:,}; the other {total - shown:,} go too."
    if total and not ask("Clear log", f"{question}\nLog files on disk are kept."):
        return False
    log_dock.clear()
    return True


def reset_counters(names: Sequence[str], model: WorkerTableModel, supervisor: QtSupervisor) -> None:
    """Count the workers' restarts and items from zero, in the supervisor and the table."""
    for name in names:
        supervisor.reset_counters(name)  # first: the row repaints from the status
        model.reset_counters(name)
