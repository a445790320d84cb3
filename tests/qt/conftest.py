"""Qt fixtures: a window on a real supervisor, closed (workers stopped, thread joined) after."""

from __future__ import annotations

import psutil
import pytest


@pytest.fixture
def settings(tmp_path):
    """A QSettings in a temporary file, so tests never touch the user's real settings."""
    from qtpy.QtCore import QSettings

    return QSettings(str(tmp_path / "pulse-settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    """Build a MainWindow around a config; at teardown close it the way a user would."""
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor
    from pulse_supervisor.qt.window.main_window import MainWindow

    def shut_down(window: MainWindow) -> None:
        sup = window.supervisor
        if sup.is_running:
            with qtbot.waitSignal(sup.finished, timeout=15_000):
                window.close()
        window.close()
        assert sup.close(timeout=5)  # joins the finished thread
        assert sup.supervisor.all_stopped()

    def make(cfg, autostart: bool = False, config_path: str | None = None) -> MainWindow:
        window = MainWindow(
            QtSupervisor(cfg, autostart=False, objects=False), settings=settings, config_path=config_path
        )
        qtbot.addWidget(window, before_close_func=shut_down)
        window.show()
        if autostart:
            window.supervisor.start_autostart()
        return window

    return make


@pytest.fixture
def check_model(qtmodeltester):
    """Run pytest-qt's model tester on a model a registered widget owns, safely at teardown.

    pytest-qt closes and deletes registered widgets before fixtures are torn down, and the
    tester's own teardown then disconnects from the model: a model owned by such a widget could be
    gone by then ("wrapped C/C++ object ... has been deleted", 1 loaded run in 6). Detached after
    the check, the model lives as long as the tester holds it.
    """

    def check(model):
        qtmodeltester.check(model, force_py=True)
        model.setParent(None)

    return check


@pytest.fixture
def make_pool(qtbot):
    """Build QtSupervisors; at teardown close each and check that no worker process is left."""
    from pulse_supervisor.core.supervision.events import StateChanged
    from pulse_supervisor.qt.qt_supervisor import QtSupervisor

    made: list[QtSupervisor] = []
    pids: set[int] = set()

    def make(*args, **kwargs) -> QtSupervisor:
        pool = QtSupervisor(*args, **kwargs)
        made.append(pool)
        pool.events.connect(lambda events: pids.update(e.pid for e in events if type(e) is StateChanged and e.pid))
        return pool

    yield make
    for pool in made:
        pool.close(timeout=10.0)
    assert not [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
