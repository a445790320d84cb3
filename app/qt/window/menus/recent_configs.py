"""Recently used config files and the last folder a file dialog was in, kept in QSettings."""

from __future__ import annotations

import os
from collections.abc import Callable

from qtpy.QtCore import QSettings
from qtpy.QtWidgets import QMenu

from pulse_supervisor.qt.window.menus.menu_slot import menu_slot

MAX_RECENT = 8
_RECENT_KEY = "recent_configs"
_FOLDER_KEY = "last_folder"
_LAST_KEY = "last_config"


def settings_for_app() -> QSettings:
    """Return the settings the window uses (organization and application "Pulse"), before any QApplication."""
    return QSettings("Pulse", "Pulse")


class RecentConfigs:
    """The config files opened or saved lately, newest first, and where the dialogs should start.

    Parameters
    ----------
    settings : QSettings
        Where the list lives (the window's settings; a temporary file in tests).
    """

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        """Return the recent config files, newest first (gone ones too: the menu marks them)."""
        value = self.settings.value(_RECENT_KEY, [])
        listed = [value] if isinstance(value, str) else list(value or [])
        return [p for p in listed if isinstance(p, str)][:MAX_RECENT]

    def add(self, path: str) -> None:
        """Put ``path`` first in the list; it also becomes the last config and its folder the last folder."""
        path = os.path.abspath(path)
        self.settings.setValue(_RECENT_KEY, [path] + [p for p in self.paths() if p != path][: MAX_RECENT - 1])
        self.settings.setValue(_LAST_KEY, path)
        self.set_last_folder(os.path.dirname(path))

    def clear(self) -> None:
        """Forget the list (the last folder stays)."""
        self.settings.remove(_RECENT_KEY)

    def last_config(self) -> str | None:
        """Return the config file the window had last, if any (it may be gone since)."""
        path = self.settings.value(_LAST_KEY)
        return path if isinstance(path, str) and path else None

    def last_folder(self) -> str:
        """Return the folder a file dialog should start in: the last one used, else the current one."""
        folder = self.settings.value(_FOLDER_KEY)
        return folder if isinstance(folder, str) and os.path.isdir(folder) else os.getcwd()

    def set_last_folder(self, folder: str) -> None:
        """Remember ``folder`` for the next file dialog."""
        self.settings.setValue(_FOLDER_KEY, folder)

    def fill_menu(self, menu: QMenu, open_path: Callable[[str], object]) -> None:
        """Fill ``menu``: one entry per recent file (mnemonics 1..8), then Clear list (run as it is about to show)."""
        menu.clear()
        paths = self.paths()
        for i, path in enumerate(paths, start=1):
            gone = "" if os.path.exists(path) else "  (not found)"  # still listed: the user knows it
            action = menu.addAction(f"&{i}  {path}{gone}", menu_slot(open_path, path))
            action.setData(path)
        if not paths:
            menu.addAction("No recent configs").setEnabled(False)
        menu.addSeparator()
        menu.addAction("&Clear list", self.clear).setEnabled(bool(paths))
