"""The window's config file: open, reload, save, add a worker, About; every dialog behind a seam."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from qtpy import QT_VERSION
from qtpy.QtCore import QObject, QSettings
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import QCheckBox, QFileDialog, QMainWindow, QMenu, QMessageBox, QStyle

from pulse_supervisor import __version__
from pulse_supervisor.core.config.config_dump import dump_config
from pulse_supervisor.core.config.toml_file import load_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.processes.inspection import format_plural
from pulse_supervisor.core.spec import PulseConfig, runs_the_same
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.background import BackgroundCall
from pulse_supervisor.qt.binding import binding_version
from pulse_supervisor.qt.window.menus.menu_slot import menu_slot
from pulse_supervisor.qt.window.menus.recent_configs import RecentConfigs

if TYPE_CHECKING:
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor

CONFIG_FILTER = "Pulse config (*.toml);;All files (*)"
ASK_KEY = "ask_before_open_stops_workers"  # QSettings: False once the user said "Don't ask again"


class ConfigFiles(QObject):
    """Opens, reloads and saves the window's config; every dialog is a method tests replace.

    A controller: it fills the File menu it is given (`populate`) and acts through the window's
    `QtSupervisor`.

    Attributes
    ----------
    path : str | None
        The config file the workers came from; None for the built-in demo.
    """

    def __init__(
        self,
        window: QMainWindow,
        supervisor: QtSupervisor,
        settings: QSettings,
        show_notice: Callable[[str], None],
        path: str | None,
    ) -> None:
        super().__init__(window)
        self._window = window  # the parent of every dialog, and whose title names the file
        self._supervisor = supervisor
        self._settings = settings
        self._show_notice = show_notice
        self.path = path
        self.recent = RecentConfigs(settings)
        if path:
            self.recent.add(path)

    def populate(self, menu: QMenu) -> None:
        """Add the File menu's actions to ``menu``."""
        style = self._window.style()
        sp = QStyle.StandardPixmap
        self.open_action = menu.addAction(
            style.standardIcon(sp.SP_DialogOpenButton), "&Open config…", menu_slot(self.open)
        )
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(lambda: self.recent.fill_menu(self.recent_menu, self.open_path))
        self.recent.fill_menu(self.recent_menu, self.open_path)
        self.reload_action = menu.addAction(
            style.standardIcon(sp.SP_BrowserReload), "Re&load config", menu_slot(self.reload)
        )
        self.reload_action.setShortcut(QKeySequence("F5"))
        self.save_action = menu.addAction(
            style.standardIcon(sp.SP_DialogSaveButton), "&Save config", menu_slot(self.save)
        )
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_as_action = menu.addAction("Save config &as…", menu_slot(self.save_as))
        self.save_as_action.setShortcut(QKeySequence.StandardKey.SaveAs)
        menu.addSeparator()
        self.quit_action = menu.addAction("&Quit", menu_slot(self._window.close))
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self._update()

    # --- dialog seams (tests monkeypatch these) -------------------------------------------

    def ask_open_path(self) -> str | None:
        """Ask which config file to open."""
        start = os.path.dirname(self.path) if self.path else self.recent.last_folder()
        path, _ = QFileDialog.getOpenFileName(self._window, "Open config", start, CONFIG_FILTER)
        return path or None

    def ask_save_path(self) -> str | None:
        """Ask where to save the config."""
        start = self.path or os.path.join(self.recent.last_folder(), "pulse.toml")
        path, _ = QFileDialog.getSaveFileName(self._window, "Save config", start, CONFIG_FILTER)
        return path or None

    def show_error(self, title: str, text: str) -> None:
        """Show an error the user must read."""
        QMessageBox.critical(self._window, title, text)

    def ask_stop_workers(self, text: str) -> tuple[bool, bool]:
        """Ask whether to open a config that stops running workers; return (open it, don't ask again)."""
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        box = QMessageBox(QMessageBox.Icon.Question, "Open config", text, buttons, self._window)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        again = QCheckBox("Don't ask again")
        box.setCheckBox(again)
        box.exec()  # its int result compares unequal to the enum on some bindings: ask the box
        return box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes, again.isChecked()

    # --- commands -------------------------------------------------------------------------

    def open(self) -> bool:
        """Ask for a config file and apply it; return whether it was applied."""
        path = self.ask_open_path()
        return self.open_path(path) if path else False

    def open_path(self, path: str) -> bool:
        """Apply ``path`` as File > Open does: first asking, if it would stop or restart running workers."""
        return self.apply_file(path, ask=True)

    def reload(self) -> bool:
        """Re-read the current config file: unchanged workers keep running."""
        return self.apply_file(self.path) if self.path else False

    def apply_loaded(self, path: str, config: PulseConfig) -> None:
        """Apply ``config``, loaded from ``path`` and valid, as Reload does (``pulse ctl reload``)."""
        self._on_loaded(path, config, None, ask=False)

    def apply_file(self, path: str, *, ask: bool = False) -> bool:
        """Start loading ``path`` off the GUI thread (its targets are imported to check them, which
        may take seconds); once loaded, apply it if valid, else show every problem. Returns True.

        With ``ask``, a valid file that would stop or restart running workers is applied only if
        the user says so (unless they said "Don't ask again").
        """
        self._show_notice(f"Checking {path}…")
        BackgroundCall(lambda: load_config(path), partial(self._on_loaded, path, ask=ask), self)
        return True

    def _on_loaded(self, path: str, config: PulseConfig | None, error: BaseException | None, *, ask: bool) -> None:
        if error is not None or config is None:
            problems = error.problems if isinstance(error, ConfigError) else []
            listed = "\n".join(f"• {p}" for p in problems) or f"• {error}"
            found = format_plural(len(problems) or 1, "problem")
            self._show_notice(f"Not applied: {found} in {path}")  # no longer "Checking…"
            self.show_error("Invalid config", f"{found}; nothing was changed:\n\n{listed}")
            return
        if ask and not self._may_stop_workers(path, config):
            self._show_notice(f"Not opened: {path}")
            return
        self._supervisor.apply_config(config)
        self.path = str(path)
        self.recent.add(self.path)
        self._update()
        self._show_notice(f"Applied {path}: {format_plural(len(config.workers), 'worker')}")

    def _may_stop_workers(self, path: str, config: PulseConfig) -> bool:
        """Return whether ``config`` may be applied: it stops no running worker, or the user agrees."""
        settings = self._settings
        if not settings.value(ASK_KEY, True, type=bool):
            return True
        sup = self._supervisor
        new = {spec.name: spec for spec in config.workers}
        alive = [n for n in sup.names() if sup.state(n).is_alive]
        stopped = [n for n in alive if n not in new]
        restarted = [n for n in alive if n in new and not runs_the_same(sup.spec(n), new[n])]
        if not stopped and not restarted:
            return True
        name = Path(path).name
        lines = [f"Open {name}?", ""]
        if stopped:
            lines.append(f"Stops {', '.join(stopped)}: {name} does not have {'it' if len(stopped) == 1 else 'them'}.")
        if restarted:
            lines.append(f"Restarts {', '.join(restarted)}: {name} changes {'it' if len(restarted) == 1 else 'them'}.")
        kept = [n for n in alive if n not in stopped and n not in restarted]
        if kept:
            lines.append(f"Keeps {', '.join(kept)} running.")
        self._show_notice(f"Checked {path}: opening it asks first")  # no longer "Checking…"
        yes, never_again = self.ask_stop_workers("\n".join(lines))
        if yes and never_again:
            settings.setValue(ASK_KEY, False)
        return yes

    def save(self) -> bool:
        """Write the current workers to the config file (asking where if there is none)."""
        if not self.path:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        """Ask for a path and write the current workers there."""
        path = self.ask_save_path()
        return self._write(path) if path else False

    def current_config(self) -> PulseConfig:
        """Return the workers as the supervisor has them now, starting next time as they run now.

        A worker the user stopped is saved with ``autostart = false`` and one they started with
        ``autostart = true``; one that ended by itself (EXITED, BACKOFF, FATAL) keeps its setting.
        """
        config = self._supervisor.config()
        specs = []
        for spec in config.workers:
            state = self._supervisor.state(spec.name)
            if state is State.STOPPED or state.is_alive:
                spec = replace(spec, autostart=state.is_alive)
            specs.append(spec)
        return replace(config, workers=tuple(specs))

    def add_worker(self) -> bool:
        """Ask for a new worker's spec and add it; return whether one was added."""
        from pulse_supervisor.qt.window.dialogs.add_worker_dialog import AddWorkerDialog

        sup = self._supervisor
        modules = {sup.spec(n).target.partition(":")[0] for n in sup.names()}
        spec = AddWorkerDialog.ask(self._window, sup.names(), modules, sup.config().check_timeout)
        if spec is None:
            return False
        self._supervisor.add_spec(spec)
        return True

    def show_about(self) -> None:
        """Show versions of Pulse and what it runs on."""
        QMessageBox.about(self._window, "About Pulse", about_text())

    def _write(self, path: str) -> bool:
        try:
            Path(path).write_text(dump_config(self.current_config()), encoding="utf-8")
        except (OSError, TypeError) as exc:
            self.show_error("Cannot save config", f"{path}: {exc}")
            return False
        self.path = path
        self.recent.add(path)
        self._update()
        self._show_notice(f"Saved {path}")
        return True

    def _update(self) -> None:
        if hasattr(self, "reload_action"):
            self.reload_action.setEnabled(self.path is not None)
        self._window.setWindowTitle(f"Pulse — {Path(self.path).name}" if self.path else "Pulse — built-in demo")


def about_text() -> str:
    """Return the About box text with every relevant version."""
    import psutil
    import pyqtgraph

    return (
        f"<h3>Pulse {__version__}</h3>"
        "<p>Start, watch, stop, kill, restart and inspect Python worker processes, "
        "and see their live data.</p>"
        f"<p>Python {platform.python_version()} · Qt {QT_VERSION} · {binding_version()} · "
        f"psutil {psutil.__version__} · pyqtgraph {pyqtgraph.__version__}</p>"
    )
