"""env, cwd, instances and limits through QtSupervisor and in the window's inspector and tooltip."""

from __future__ import annotations

from pathlib import Path

import pytest
from qtpy.QtCore import Qt

from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.dialogs.inspect_dialog import InspectDialog
from tests.helpers import config, spec


def test_add_takes_env_cwd_and_instances(qtbot, make_pool, tmp_path: Path):
    pool = make_pool()
    got: dict[str, object] = {}
    pool.newest.connect(lambda name, item: got.__setitem__(name, item))
    entry = pool.add("e", "tests.fleet_workers:env_and_cwd", kwargs={"keys": ["SHARD"], "tag": "t{instance}"},
                     env={"SHARD": "s{instance}"}, cwd=str(tmp_path), instances=2, restart="never")  # fmt: skip
    assert entry.instances == 2 and pool.names() == ["e:0", "e:1"]
    qtbot.waitUntil(lambda: len(got) == 2, timeout=20_000)
    for i in range(2):
        assert got[f"e:{i}"] == {"env": {"SHARD": f"s{i}"}, "cwd": str(tmp_path), "tag": f"t{i}",
                                 "count": got[f"e:{i}"]["count"]}  # type: ignore[index]  # fmt: skip
    with pytest.raises(ConfigError, match="a worker named 'e:0' already exists"):
        pool.add("e", "tests.fleet_workers:idle", instances=3)
    with pytest.raises(ConfigError, match="cwd: .*nowhere does not exist"):
        pool.add("n", "tests.fleet_workers:idle", cwd=str(tmp_path / "nowhere"))
    assert pool.names() == ["e:0", "e:1"]  # nothing half-added


def test_limit_restarted_says_why_and_the_status_keeps_it(qtbot, make_pool):
    pool = make_pool(config(spec("g", "tests.fleet_workers:grow", max_rss=64 << 20)))
    with qtbot.waitSignal(pool.limit_restarted, timeout=60_000) as blocker:
        pool.start("g")
    name, reason = blocker.args
    assert name == "g" and reason.startswith("RSS ") and reason.endswith(" MiB over max_rss 64 MiB")
    qtbot.waitUntil(lambda: pool.status("g").reason == f"restarted: {reason}", timeout=30_000)
    assert pool.status("g").fatal_reason == ""


def test_the_inspector_and_the_tooltip_show_the_setup_and_a_limits_reason(qtbot, make_window, tmp_path: Path):
    grow = spec("g:0", "tests.fleet_workers:grow", env={"A": "{instance}"}, env_clear=True, cwd=str(tmp_path),
                max_rss=64 << 20, max_cpu_percent=300.0, instances=1, instance=0)  # fmt: skip
    window = make_window(config(grow))
    window.select("g:0")
    window.start_button.click()
    qtbot.waitUntil(lambda: window.supervisor.status("g:0").reason.startswith("restarted: RSS"), timeout=60_000)
    window.inspect_button.click()
    dialog = InspectDialog._open["g:0"]
    qtbot.waitUntil(lambda: "restarted: RSS" in dialog.labels["State"].text(), timeout=5000)
    assert dialog.labels["Instance"].text() == "0 of 'g' (1 instances)"
    assert dialog.labels["Environment"].text() == "A=0 (over only PATH, HOME, LANG of Pulse's)"
    assert dialog.labels["Directory"].text() == str(tmp_path)
    assert dialog.labels["Limits"].text() == "restarts at RSS over 64 MiB or CPU over 300 % for 30 s"
    dialog.close()
    row = window.model.names().index("g:0")
    tip = window.model.data(window.model.index(row, 0), Qt.ItemDataRole.ToolTipRole)
    assert "\nrestarted: RSS " in tip and "\nenvironment: A=0 (over only" in tip and f"\ndirectory: {tmp_path}" in tip
    assert window.supervisor.state("g:0") in (State.STARTING, State.RUNNING, State.STOPPING, State.STOPPED)


GROUPS = """[[worker]]
name = "w"
target = "tests.fleet_workers:idle"
kwargs = {{ tag = "w{{instance}}" }}
instances = 2
start_secs = 0.2

[[worker]]
name = "big"
target = "tests.fleet_workers:idle"
instances = {big}
start_secs = 0.2

[[worker]]
name = "p"
target = "tests.fleet_workers:idle"
autostart = false
"""


def _cell(model, name: str, column: str) -> str:
    return model.text_at(model.names().index(name), model.COLUMNS.index(column))


def test_the_table_groups_an_entrys_instances_under_a_row_with_group_actions(qtbot, make_window):
    from pulse_supervisor.core.config.toml_file import parse_config

    window = make_window(parse_config(GROUPS.format(big=5)), autostart=False)
    model = window.model
    assert model.names() == ["w", "w:0", "w:1", "big", "p"]  # 5 instances: collapsed at first
    assert model.worker_names() == ["w:0", "w:1", *(f"big:{i}" for i in range(5)), "p"]
    assert (_cell(model, "w", "Name"), _cell(model, "big", "Name")) == ("▾ w (2)", "▸ big (5)")
    window.select("big")
    assert window.selected_names() == [f"big:{i}" for i in range(5)]
    window.start_button.click()  # the group's Start starts every instance
    qtbot.waitUntil(lambda: _cell(model, "big", "State") == "RUNNING", timeout=30_000)
    assert {model.row(f"big:{i}").state for i in range(5)} == {State.RUNNING}
    assert model.row("w:0").state is State.STOPPED and _cell(model, "w", "State") == "STOPPED"
    tip = model.data(model.index(model.names().index("big"), 0), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("big: 5 instances (5 RUNNING)")
    pids = {n: model.row(n).pid for n in model.worker_names() if n.startswith("big")}
    window.select("big:3")  # opens its group
    assert model.names() == ["w", "w:0", "w:1", "big", *(f"big:{i}" for i in range(5)), "p"]
    assert window.selected_names() == ["big:3"]
    window.table.doubleClicked.emit(model.index(model.names().index("big"), 0))  # closes it again
    assert model.names() == ["w", "w:0", "w:1", "big", "p"]
    window.supervisor.apply_config(parse_config(GROUPS.format(big=3)))  # a reload that drops two instances
    qtbot.waitUntil(lambda: model.worker_names() == ["w:0", "w:1", "big:0", "big:1", "big:2", "p"], timeout=30_000)
    assert {n: model.row(n).pid for n in ("big:0", "big:1", "big:2")} == {
        n: pids[n] for n in ("big:0", "big:1", "big:2")
    }
    assert model.names() == ["w", "w:0", "w:1", "big", "p"]  # still closed: the user closed it
    window.select("big")
    window.stop_button.click()
    qtbot.waitUntil(lambda: _cell(model, "big", "State") == "STOPPED", timeout=30_000)
