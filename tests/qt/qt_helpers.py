"""Helpers for the Qt tests that must hold on every binding."""

from __future__ import annotations

from qtpy.QtWidgets import QMenu, QWidget

from pulse_supervisor.core.spec import WorkerSpec
from pulse_supervisor.core.supervision.events import Event
from pulse_supervisor.core.supervision.worker_status import WorkerStatuses
from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel


def menu_titled(window: QWidget, title: str) -> QMenu:
    """Return the window's (sub)menu with this title.

    Found among the window's children, not through ``QAction.menu()``: PySide6 6.8 hands that
    wrapper to Python, so dropping it deletes the menu.
    """
    (menu,) = [m for m in window.findChildren(QMenu) if m.title() == title]
    return menu


def model_on(*names: str) -> WorkerTableModel:
    """Return a worker table model on fresh statuses of ``names`` (as a QtSupervisor would hold them)."""
    return WorkerTableModel(WorkerStatuses(WorkerSpec(n, "pulse_supervisor.producers:clock") for n in names))


def feed(model: WorkerTableModel, events: list[Event]) -> None:
    """Hand ``model`` a batch of events as a QtSupervisor does: folded into the statuses first."""
    model.statuses.fold(events)
    model.apply_events(events)
