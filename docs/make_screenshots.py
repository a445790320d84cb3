"""Regenerate the README's screenshots: run under a real X server, e.g. ``xvfb-run``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(OUT.parent))  # `examples` too, for this process and its worker processes


def main() -> int:
    """Open the demo, drive it a little, and save PNGs of the window, inspector, log and a menu."""
    from PyQt5.QtCore import QSettings, Qt, QTimer
    from PyQt5.QtWidgets import QApplication, QMenu, QToolTip

    from pulse_supervisor.cli import demo_config
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor
    from pulse_supervisor.qt.window.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    supervisor = QtSupervisor(demo_config(), autostart=False, objects=False)  # as application.run_window
    window = MainWindow(supervisor, settings=settings)
    window.show()
    supervisor.start_autostart()
    actions = window.worker_actions

    def step1() -> None:
        window.select("chatty", "crashy")
        actions.start.trigger()
        window.select("sine")
        actions.stop.trigger()  # started again 2 s later: the plot breaks its line there
        QTimer.singleShot(2000, actions.start.trigger)

    def step2() -> None:
        window.select("sine", "sensors")

    def step3() -> None:
        window.grab().save(str(OUT / "main-window.png"))
        window.select("clock")
        dialog = window.inspect_selected()
        assert dialog is not None
        dialog.stack_button.click()
        QTimer.singleShot(1500, lambda: (dialog.refresh(), dialog.grab().save(str(OUT / "inspector.png"))))

    def step4() -> None:
        log = window.log_dock
        log.worker_combo.setCurrentText("crashy")
        log.level_combo.setCurrentText("WARNING")
        rows = log.view.model().rowCount()
        if rows:
            log.view.selectRow(rows - 1)
        log.grab().save(str(OUT / "log-filtered.png"))
        for other in app.topLevelWidgets():  # the inspector, which would cover the menu
            if other is not window and other.isVisible():
                other.close()
        open_refresh_menu(window)
        QTimer.singleShot(1000, step5)

    def step5() -> None:
        # Menus are windows of their own: grab the screen where they are, not the main window.
        screen = QApplication.primaryScreen()
        screen.grabWindow(0, window.x(), window.y(), 760, 260).save(str(OUT / "table-refresh-menu.png"))
        popup = QApplication.activePopupWidget()
        if popup is not None:
            popup.close()
        for menu in window.menuBar().findChildren(QMenu):
            menu.hide()
        window.menuBar().setActiveAction(None)
        # crashy fails 3 s into each run: by ~30 s it has flapped 5 times within 60 s and is FATAL.
        QTimer.singleShot(20_000, step6)

    def step6() -> None:
        window.select("crashy")
        row = window.model.names().index("crashy")
        rect = window.table.visualRect(window.model.index(row, 0))
        where = window.table.viewport().mapToGlobal(rect.center())
        QToolTip.showText(where, window.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole), window.table)
        QTimer.singleShot(800, step7)

    def step7() -> None:
        screen = QApplication.primaryScreen()
        screen.grabWindow(0, window.x(), window.y() + 60, 900, 360).save(str(OUT / "fatal-tooltip.png"))
        window.close()

    QTimer.singleShot(500, step1)
    QTimer.singleShot(6000, step2)
    QTimer.singleShot(9000, step3)
    QTimer.singleShot(12000, step4)
    app.exec()
    supervisor.close()  # the window shut it down as it closed; this joins its thread
    shoot_first_run()
    shoot_examples(app)
    return 0


def shoot_first_run() -> None:
    """Save what the README's first command prints on a Debian lacking libxcb-icccm4, as a terminal shows it."""
    from PyQt5.QtGui import QFontDatabase
    from PyQt5.QtWidgets import QPlainTextEdit

    from pulse_supervisor import display_check
    from pulse_supervisor.cli import EXIT_NO_DISPLAY

    display_check.missing_xcb_libraries = lambda: ["libxcb-icccm.so.4"]  # what that system lacks
    text = display_check.display_problem({"DISPLAY": ":0"})
    terminal = QPlainTextEdit(f"$ .venv/bin/python main.py\n{text}\n(exit status {EXIT_NO_DISPLAY})\n")
    terminal.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    terminal.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    terminal.setStyleSheet("QPlainTextEdit { background: white; color: black; border: 1px solid #888; }")
    metrics = terminal.fontMetrics()
    lines = terminal.toPlainText().splitlines()
    terminal.resize(
        max(map(metrics.horizontalAdvance, lines)) + 4 * metrics.averageCharWidth(),
        (len(lines) + 2) * metrics.lineSpacing(),
    )
    terminal.show()
    terminal.grab().save(str(OUT / "first-run-no-xcb.png"))
    terminal.close()


def shoot_examples(app: object) -> None:
    """Run the two example programs for a moment and save each window."""
    from PyQt5.QtCore import QTimer

    from examples.cpu_job import JobWindow
    from examples.tutorial_window import MyWindow

    tutorial, job = MyWindow(), JobWindow()
    for window, x in ((tutorial, 40), (job, 400)):
        window.move(x, 40)
        window.show()
    job.start_button.click()

    def shoot() -> None:
        tutorial.grab().save(str(OUT / "example-tutorial.png"))
        job.grab().save(str(OUT / "example-cpu-job.png"))
        tutorial.close()
        job.close()
        app.quit()  # type: ignore[attr-defined]

    QTimer.singleShot(3000, shoot)
    app.exec()  # type: ignore[attr-defined]


def open_refresh_menu(window: object) -> None:
    """Open View > Table refresh as a user would: the menu bar's View menu, then the submenu."""
    from PyQt5.QtCore import QPoint

    (view,) = [a for a in window.menuBar().actions() if a.text() == "&View"]  # type: ignore[attr-defined]
    window.menuBar().setActiveAction(view)  # type: ignore[attr-defined]
    menu = view.menu()
    (refresh,) = [a for a in menu.actions() if a.menu() is not None]
    menu.setActiveAction(refresh)
    refresh.menu().popup(menu.mapToGlobal(QPoint(menu.width(), menu.actionGeometry(refresh).top())))


if __name__ == "__main__":
    sys.exit(main())
