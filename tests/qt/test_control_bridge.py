"""`pulse ctl` against a QtSupervisor in this process (pytest-qt): commands carried out in the GUI thread."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.control_bridge import ControlBridge
from tests.helpers import config, spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    return tmp_path


def ctl(qtbot, *args):
    """Run `python main.py ctl ARGS` while the GUI thread goes on serving; return (code, stdout, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "main.py", "ctl", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30_000)
    out, err = proc.communicate()
    assert "Traceback" not in err
    return proc.returncode, out, err


@pytest.fixture
def served(qtbot, make_pool, runtime):
    cfg_path = runtime / "pulse.toml"
    cfg_path.write_text('[[worker]]\nname = "echo"\ntarget = "tests.message_workers:echo_ctx"\n')
    pool = make_pool(config(spec("echo", "tests.message_workers:echo_ctx")))
    bridge = ControlBridge(pool, config_path=lambda: str(cfg_path), kind="window")
    qtbot.waitUntil(lambda: pool.state("echo") is State.RUNNING, timeout=20_000)
    yield pool, bridge, cfg_path
    bridge.close()
    assert not bridge.server.path.exists()


def test_status_and_send_are_served_from_the_gui_thread(qtbot, served):
    pool, _, _ = served
    code, out, _ = ctl(qtbot, "status", "--json")
    assert code == 0
    (row,) = json.loads(out)["workers"]
    assert (row["name"], row["state"], row["pid"]) == ("echo", "RUNNING", pool.status("echo").pid)
    got = []
    pool.items.connect(lambda name, items: got.extend(i for i in items if isinstance(i, tuple)))
    assert ctl(qtbot, "send", "echo", "[1, 'two']") == (0, "echo: sent\n", "")
    qtbot.waitUntil(lambda: got == [("got", [1, "two"])], timeout=20_000)


def test_actions_wait_until_done_and_unknown_names_are_refused(qtbot, served):
    pool, _, _ = served
    assert ctl(qtbot, "stop", "echo") == (0, "echo: stopped\n", "")
    qtbot.waitUntil(lambda: pool.state("echo") is State.STOPPED, timeout=20_000)
    code, _, err = ctl(qtbot, "send", "echo", "1")
    assert (code, err) == (1, "pulse ctl: echo: message not sent: it is not running\n")
    assert ctl(qtbot, "start", "echo") == (0, "echo: started\n", "")
    code, _, err = ctl(qtbot, "restart", "nobody")
    assert (code, err) == (1, "pulse ctl: no worker named 'nobody'\n")


def test_reload_reads_the_file_off_the_gui_thread_and_applies_it(qtbot, served):
    pool, _, cfg_path = served
    more = '\n[[worker]]\nname = "more"\ntarget = "pulse_supervisor.producers:clock"\n'
    cfg_path.write_text(cfg_path.read_text() + more)
    code, out, _ = ctl(qtbot, "reload")
    assert (code, out) == (0, f"reloaded {cfg_path}: 2 worker(s)\n")
    assert pool.names() == ["echo", "more"]
    cfg_path.write_text('[[worker]]\nname = "x"\n')
    code, _, err = ctl(qtbot, "reload")
    assert code == 1 and err.startswith("pulse ctl: the config was not reloaded: ")
    assert pool.names() == ["echo", "more"]


def test_hello_names_the_window_and_its_config(qtbot, served):
    from pulse_supervisor.core.control.wire import request

    _, bridge, cfg_path = served
    answer = request(bridge.server.path, {"verb": "hello"})  # answered by the socket's thread alone
    assert answer["kind"] == "window" and answer["config"] == str(cfg_path)
