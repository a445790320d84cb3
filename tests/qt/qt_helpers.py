"""Helpers for the Qt tests that must hold on every binding."""

from __future__ import annotations

from qtpy.QtWidgets import QMenu, QWidget


def menu_titled(window: QWidget, title: str) -> QMenu:
    """Return the window's (sub)menu with this title.

    Found among the window's children, not through ``QAction.menu()``: PySide6 6.8 hands that
    wrapper to Python, so dropping it deletes the menu.
    """
    (menu,) = [m for m in window.findChildren(QMenu) if m.title() == title]
    return menu
