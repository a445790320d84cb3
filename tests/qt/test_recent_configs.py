"""The last config reopens on start, File > Open recent, dialogs start where the user was, Save keeps what runs."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt

from pulse_supervisor import cli
from pulse_supervisor.core.config.toml_file import load_config
from pulse_supervisor.core.supervision.events import ItemBatch
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.menus.recent_configs import MAX_RECENT, RecentConfigs, settings_for_app
from tests.helpers import config, spec
from tests.qt.qt_helpers import menu_titled

CONFIG = '[[worker]]\nname = "{name}"\ntarget = "pulse_supervisor.producers:counter"\nkwargs = {{ rate = 10.0 }}\n'


def write(tmp_path, name="w", filename="pulse.toml"):
    path = tmp_path / filename
    path.write_text(CONFIG.format(name=name))
    return str(path)


@pytest.fixture
def started(monkeypatch):
    """Run `cli.main` up to the window: the config it would open the window on."""
    seen = {}
    monkeypatch.setattr("pulse_supervisor.display_check.display_problem", lambda: None)

    def run_window(cfg, notice=None):
        seen.update(config=cfg, notice=notice)
        return 0

    monkeypatch.setattr("pulse_supervisor.qt.window.application.run_window", run_window)
    app_settings = settings_for_app()
    app_settings.clear()
    yield seen
    app_settings.clear()


def test_the_window_reopens_the_last_config_and_the_demo_when_there_is_none(started, tmp_path, capsys):
    assert cli.main([]) == 0 and started.pop("config").source is None  # nothing yet: the demo
    path = write(tmp_path)
    RecentConfigs(settings_for_app()).add(path)
    cli.main([])
    assert started.pop("config").source == path
    cli.main(["--demo"])
    assert started.pop("config").source is None
    assert cli.main(["--config", path, "--demo"]) == cli.EXIT_CONFIG_ERROR


def test_a_last_config_that_no_longer_loads_opens_the_demo_and_says_why_in_the_window(started, tmp_path, capsys):
    path = write(tmp_path)
    RecentConfigs(settings_for_app()).add(path)
    (tmp_path / "pulse.toml").write_text("[[worker]]\nname = 3\n")
    cli.main([])
    assert started.pop("config").source is None
    notice = started.pop("notice")
    first = "The last config could not be reopened, so the built-in demo is open: "
    assert notice.startswith(f"{first}{path}:1: worker[1].target: missing required key 'target' (and 1 more problem")
    assert f"{path}:2: worker[1].name: expected a string" in notice
    assert notice in capsys.readouterr().err  # and on stderr, as before
    (tmp_path / "pulse.toml").unlink()  # deleted: the same, where it used to say nothing at all
    cli.main([])
    assert started.pop("config").source is None
    assert started.pop("notice") == f"{first}{path}: file: cannot read {path}: No such file or directory"
    assert cli.main(["--check"]) == cli.EXIT_CONFIG_ERROR  # --check checks it too: the same default
    assert "1 problem in the config" in capsys.readouterr().err


def test_the_start_notice_shows_in_the_status_bar_and_the_log_and_open_recent_keeps_the_file(
    qtbot, make_window, tmp_path
):
    from pulse_supervisor.qt.window.application import show_start_notice

    gone = str(tmp_path / "gone.toml")
    w = make_window(config(spec("w", "pulse_supervisor.producers:clock")))
    w.config_files.recent.add(gone)  # as the last session left it; deleted since
    notice = f"The last config could not be reopened, so the built-in demo is open: {gone}: file: cannot read"
    show_start_notice(w, notice + "\n  more")
    w.supervisor.consumer.events_received.emit([ItemBatch("w", 0, ["tick"], 0, 0)])  # items do not cover it
    assert w.statusBar().currentMessage() == notice
    assert w.log_dock.model.entries()[-1].message == notice + "\n  more"
    menu = w.config_files.recent_menu
    w.config_files.recent.fill_menu(menu, w.config_files.apply_file)
    assert [a.text() for a in menu.actions() if a.data() == gone] == [f"&1  {gone}  (not found)"]


def test_check_without_config_checks_what_the_window_would_open(started, tmp_path, capsys):
    assert cli.main(["--check"]) == 0
    assert capsys.readouterr().out.startswith("built-in demo: OK, 8 workers, ")
    path = write(tmp_path)
    RecentConfigs(settings_for_app()).add(path)
    assert cli.main(["--check"]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK, 1 worker, ")
    assert "else the built-in demo" in cli.build_parser().format_help()


def test_recent_configs_keep_the_newest_first_and_gone_files_too(settings, tmp_path):
    recent = RecentConfigs(settings)
    paths = [write(tmp_path, filename=f"c{i}.toml") for i in range(MAX_RECENT + 2)]
    for path in paths:
        recent.add(path)
    recent.add(paths[3])
    assert recent.paths()[:2] == [paths[3], paths[-1]] and len(recent.paths()) == MAX_RECENT
    (tmp_path / "c9.toml").unlink()
    assert paths[-1] in recent.paths()  # gone, still listed: the menu says so
    assert recent.last_config() == paths[3] and recent.last_folder() == str(tmp_path)


def test_open_recent_lists_and_opens_the_files_used(qtbot, make_window, tmp_path):
    w = make_window(config(spec("w", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0})))
    other = write(tmp_path / "", name="other", filename="other.toml")
    w.config_files.apply_file(other)
    qtbot.waitUntil(lambda: "other" in w.model.names(), timeout=30_000)
    menu = w.config_files.recent_menu
    w.config_files.recent.fill_menu(menu, w.config_files.apply_file)
    entries = [a for a in menu.actions() if a.data()]
    assert [a.data() for a in entries] == [other]
    first = write(tmp_path, name="first", filename="first.toml")
    w.config_files.recent.add(first)
    w.config_files.recent.fill_menu(menu, w.config_files.apply_file)
    [a for a in menu.actions() if a.data() == other][0].trigger()
    qtbot.waitUntil(lambda: w.config_files.recent.paths()[0] == other, timeout=30_000)


def test_open_asks_before_it_stops_running_workers_and_can_be_told_not_to(qtbot, make_window, settings, tmp_path):
    w = make_window(
        config(
            spec("w", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}),
            spec("idle", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}),
        )
    )
    w.select("w")
    w.worker_actions.start.trigger()
    qtbot.waitUntil(lambda: w.model.row("w").state is State.RUNNING, timeout=10_000)
    other = write(tmp_path, name="other", filename="other.toml")
    asked, status = [], []

    def cancel(text):
        asked.append(text)
        status.append(w.statusBar().currentMessage())
        return False, True  # Cancel, with "Don't ask again" checked

    w.config_files.ask_open_path = lambda: other
    w.config_files.ask_stop_workers = cancel
    w.config_files.open_action.trigger()
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == f"Not opened: {other}", timeout=30_000)
    assert asked == ["Open other.toml?\n\nStops w: other.toml does not have it."]  # idle is not running
    assert status == [f"Checked {other}: opening it asks first"]
    assert w.supervisor.names() == ["w", "idle"] and w.model.row("w").state is State.RUNNING
    assert settings.value("ask_before_open_stops_workers", True, type=bool)  # a Cancel is not remembered
    w.config_files.ask_stop_workers = lambda text: asked.append(text) or (True, True)  # Yes, don't ask again
    w.config_files.open_action.trigger()
    qtbot.waitUntil(lambda: w.supervisor.names() == ["other"], timeout=30_000)
    assert len(asked) == 2 and not settings.value("ask_before_open_stops_workers", True, type=bool)
    # The table has its row once the supervisor's WorkersChanged arrives, a poll after names() changed.
    qtbot.waitUntil(lambda: (row := w.model.get("other")) is not None and row.state is State.RUNNING, timeout=10_000)
    w.config_files.open_path(write(tmp_path, name="third", filename="third.toml"))
    qtbot.waitUntil(lambda: w.supervisor.names() == ["third"], timeout=30_000)
    assert len(asked) == 2  # told not to ask again


def test_open_asks_nothing_when_nothing_runs_or_what_runs_stays(qtbot, make_window, tmp_path):
    w = make_window(config(spec("w", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}, autostart=False)))
    asked, applied = [], []
    w.config_files.ask_stop_workers = lambda text: asked.append(text) or (False, False)
    apply_config = w.supervisor.apply_config
    w.supervisor.apply_config = lambda cfg: applied.append(cfg) or apply_config(cfg)
    same = write(tmp_path, name="w", filename="same.toml")
    w.config_files.open_path(same)  # nothing runs
    qtbot.waitUntil(lambda: w.model.row("w").state is State.RUNNING, timeout=30_000)  # same.toml starts it
    w.config_files.open_path(same)  # w runs, and same.toml keeps it as it is
    qtbot.waitUntil(lambda: len(applied) == 2, timeout=30_000)
    assert asked == []


def test_save_as_writes_which_workers_run(qtbot, make_window, tmp_path):
    w = make_window(
        config(
            spec("kept", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}, autostart=True),
            spec("stopped", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}, autostart=True),
            spec("started", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}, autostart=False),
        ),
        autostart=True,
    )
    qtbot.waitUntil(lambda: w.model.row("stopped").state is State.RUNNING, timeout=10_000)
    w.select("stopped")
    w.worker_actions.stop.trigger()
    w.select("started")
    w.worker_actions.start.trigger()
    qtbot.waitUntil(
        lambda: w.model.row("stopped").state is State.STOPPED and w.model.row("started").state is State.RUNNING,
        timeout=10_000,
    )
    target = tmp_path / "saved.toml"
    w.config_files.ask_save_path = lambda: str(target)
    assert w.config_files.save_as()
    saved = {s.name: s.autostart for s in load_config(target).workers}
    assert saved == {"kept": True, "stopped": False, "started": True}


def test_reloading_the_file_just_saved_restarts_nothing(qtbot, make_window, tmp_path):
    w = make_window(
        config(
            spec("kept", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}, autostart=True),
            spec("started", "pulse_supervisor.producers:counter", kwargs={"rate": 10.0}, autostart=False),
        ),
        autostart=True,
    )
    w.select("started")
    w.worker_actions.start.trigger()
    qtbot.waitUntil(lambda: all(w.model.row(n).state is State.RUNNING for n in ("kept", "started")), timeout=10_000)
    target = tmp_path / "saved.toml"
    w.config_files.ask_save_path = lambda: str(target)
    assert w.config_files.save_as()
    assert load_config(target).workers[1].autostart  # saved as it runs now
    pids = {n: w.model.row(n).pid for n in ("kept", "started")}
    states = []
    w.supervisor.state_changed.connect(lambda name, state: states.append((name, state)))
    core = w.supervisor.supervisor
    assert w.config_files.reload()
    qtbot.waitUntil(lambda: core.spec("started").autostart, timeout=30_000)  # the reload was taken in
    assert {n: w.model.row(n).pid for n in pids} == pids and not states


def test_saving_keeps_the_configs_backend(make_pool):
    from dataclasses import replace

    pool = make_pool(
        replace(config(spec("w", "pulse_supervisor.producers:counter")), backend="ray", ray_address="auto"),
        autostart=False,
    )
    saved = pool.config()
    assert (saved.backend, saved.ray_address) == ("ray", "auto")


def test_reset_layout_brings_squashed_and_hidden_docks_back(qtbot, make_window):
    from pulse_supervisor.qt.window.docks import MIN_DOCK_HEIGHT

    w = make_window(config(spec("w", "pulse_supervisor.producers:counter")))
    w.resize(1200, 800)
    w.plot_dock.hide()
    w.log_dock.setFloating(True)
    w.resizeDocks([w.log_dock], [10], Qt.Orientation.Vertical)
    assert w.log_dock.minimumHeight() >= MIN_DOCK_HEIGHT  # never squashed below this
    w.table.setColumnWidth(4, 3)
    w.reset_layout()
    qtbot.waitUntil(lambda: w.plot_dock.isVisible() and not w.log_dock.isFloating(), timeout=5000)
    assert w.dockWidgetArea(w.log_dock) == w.dockWidgetArea(w.plot_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert w.log_dock.height() >= MIN_DOCK_HEIGHT and w.table.columnWidth(4) > 3
    view_menu = menu_titled(w, "&View")
    assert "&Reset layout" in [a.text() for a in view_menu.actions()]
