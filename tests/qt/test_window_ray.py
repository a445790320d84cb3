"""The window over Ray workers: where each runs, and its CPU and RSS as read on its node."""

from __future__ import annotations

import socket

from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, spec


def cell(window, name: str, column: str) -> str:
    model = window.model
    return model.data(model.index(model.names().index(name), model.COLUMNS.index(column)))


def test_a_ray_worker_shows_its_node_cpu_and_rss(qtbot, make_window, ray_head):
    remote = spec("far", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, backend="ray")
    window = make_window(
        config(remote, spec("near", "pulse_supervisor.producers:counter", kwargs={"rate": 100})), autostart=True
    )
    assert window.table.isColumnHidden(window.model.NODE)  # nothing has run elsewhere yet
    qtbot.waitUntil(lambda: all(window.supervisor.state(n) is State.RUNNING for n in ("far", "near")), timeout=60_000)
    assert not window.table.isColumnHidden(window.model.NODE)
    assert cell(window, "far", "Node") == socket.gethostname() and cell(window, "near", "Node") == "local"
    # CPU % needs two readings on the node, a second apart; RSS comes with the first.
    qtbot.waitUntil(lambda: cell(window, "far", "CPU %") != "" and cell(window, "far", "RSS") != "", timeout=30_000)
    facts = window.supervisor.remote_facts("far")
    assert cell(window, "far", "RSS").endswith("MiB") and facts["rss"] > 1_000_000
    assert window.supervisor.remote_facts("near") is None  # read here, by pid
    window.select("far")
    window.stop_button.click()
    qtbot.waitUntil(lambda: window.supervisor.state("far") is State.STOPPED, timeout=30_000)
    assert window.supervisor.status("far").last_exit == (0, None)
    assert cell(window, "far", "Node") == "" and cell(window, "far", "CPU %") == ""
