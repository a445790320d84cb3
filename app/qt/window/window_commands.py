"""Window commands that ask first or touch several parts: remove, clear the log, reset counters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from app.qt.window.main_window import MainWindow


def confirm(window: MainWindow, title: str, text: str) -> bool:
    """Ask ``text``; return whether the user said yes (tests replace ``window.confirm``)."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
    answer = QMessageBox.question(window, title, text, buttons, QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


def remove_selected(window: MainWindow) -> bool:
    """Stop and remove the selected workers once the user confirms; return whether they were removed."""
    names = window.selected_names()
    if not names:
        return False
    alive = [n for n in names if window.model.row(n).state.is_alive]
    which = names[0] if len(names) == 1 else f"{len(names)} workers ({', '.join(names)})"
    text = f"Remove {which}?"
    if alive:
        verb = "is" if len(alive) == 1 else "are"
        text += f"\n\n{', '.join(alive)} {verb} running and will be stopped first."
    text += "\nLog files on disk are kept."
    if not window.confirm("Remove workers", text):
        return False
    for name in names:
        window.supervisor.remove(name)
    return True


def clear_log(window: MainWindow) -> bool:
    """Empty the log dock once the user confirms (an empty log asks nothing); return whether it was cleared.

    Every line goes, the ones the filters hide too: the question counts them all, and says so.
    """
    total, shown = window.log_dock.total_count(), window.log_dock.visible_count()
    lines = f"{total:,} line{'' if total == 1 else 's'}"
    question = f"Clear the {lines} of the log?"
    if shown < total:
        question = f"Clear all {lines} of the log?\nThe filters show {shown:,}; the other {total - shown:,} go too."
    if total and not window.confirm("Clear log", f"{question}\nLog files on disk are kept."):
        return False
    window.log_dock.clear()
    return True


def reset_selected_counters(window: MainWindow) -> None:
    """Count the selected workers' restarts and items from zero, in the supervisor and the table."""
    for name in window.selected_names():
        window.supervisor.reset_counters(name)  # first: the row repaints from the status
        window.model.reset_counters(name)
