"""`pulse ctl` against a headless Pulse in a subprocess: every verb, --json, the errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[[worker]]
name = "echo"
target = "tests.message_workers:echo_ctx"

[[worker]]
name = "clock"
target = "pulse_supervisor.producers:clock"
kwargs = { interval = 0.1 }
"""


def _wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def pulse(tmp_path):
    """A headless Pulse of CONFIG with its own runtime dir; yields (process, env, config path, output path)."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_LOG_DIR=str(tmp_path / "logs"))
    config = tmp_path / "pulse.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out.jsonl"
    with open(out, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, "main.py", "--headless", "--config", str(config)], cwd=ROOT, env=env, stdout=f
        )
    sock = runtime / "pulse" / f"{proc.pid}.sock"
    try:
        _wait_for(sock.exists, what="the control socket")
        yield proc, env, config, out
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)
    assert not sock.exists()  # removed on the way out


def ctl(env, *args, check_code=None):
    done = subprocess.run(
        [sys.executable, "main.py", "ctl", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in done.stderr
    if check_code is not None:
        assert done.returncode == check_code, (done.stdout, done.stderr)
    return done


def _running(env, *names):
    def check():
        rows = json.loads(ctl(env, "status", "--json", check_code=0).stdout)["workers"]
        return all(r["state"] == "RUNNING" for r in rows if not names or r["name"] in names)

    _wait_for(check, what="RUNNING")


def test_status_lists_every_worker_as_text_and_json(pulse):
    proc, env, _, _ = pulse
    _running(env)
    text = ctl(env, "status", check_code=0).stdout.splitlines()
    assert [line.split()[:2] for line in text] == [["echo", "RUNNING"], ["clock", "RUNNING"]]
    assert "pid " in text[0] and "uptime 0:00:" in text[0]
    rows = json.loads(ctl(env, "status", "clock", "--json", check_code=0).stdout)["workers"]
    assert [r["name"] for r in rows] == ["clock"] and rows[0]["pid"] > 0


def test_stop_start_restart_kill_wait_until_done(pulse):
    _, env, _, _ = pulse
    _running(env)
    assert ctl(env, "stop", "clock", check_code=0).stdout == "clock: stopped\n"
    assert ctl(env, "stop", "clock", check_code=1).stdout == "clock: ERROR (not running)\n"
    assert ctl(env, "start", "clock", check_code=0).stdout == "clock: started\n"
    before = json.loads(ctl(env, "status", "clock", "--json").stdout)["workers"][0]["pid"]
    out = json.loads(ctl(env, "restart", "clock", "--json", check_code=0).stdout)
    assert out == {"ok": True, "results": [{"name": "clock", "result": "restarted", "ok": True}]}
    after = json.loads(ctl(env, "status", "clock", "--json").stdout)["workers"][0]["pid"]
    assert after != before
    assert ctl(env, "kill", "clock", check_code=0).stdout == "clock: killed\n"


def test_send_reaches_the_worker_and_tail_shows_its_lines(pulse):
    _, env, _, out = pulse
    _running(env, "echo")
    assert ctl(env, "send", "echo", "{'rate': (1, 2)}", check_code=0).stdout == "echo: sent\n"
    assert json.loads(ctl(env, "send", "echo", '{"x": null}', "--json", check_code=0).stdout)["ok"] is True

    def echoed():
        lines = [json.loads(line) for line in out.read_text().splitlines() if '"got"' in line]
        return [rec["data"][1] for rec in lines if rec["worker"] == "echo"]

    assert _wait_for(lambda: len(echoed()) == 2 and echoed()) == [{"rate": [1, 2]}, {"x": None}]
    tail = _wait_for(lambda: (t := ctl(env, "tail", "-n", "2", "echo", check_code=0).stdout.splitlines())[-1:]
                     and "None" in t[-1] and t, what="the printed lines")  # fmt: skip
    assert tail[0].endswith("stdout   got {'rate': (1, 2)}") and tail[1].endswith("stdout   got {'x': None}")


def test_tail_follow_prints_new_lines_as_they_come(pulse):
    _, env, _, _ = pulse
    _running(env, "clock")
    proc = subprocess.Popen(
        [sys.executable, "main.py", "ctl", "tail", "-f", "-n", "0", "clock"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ctl(env, "restart", "clock", check_code=0)  # writes state lines to its log
        line = proc.stdout.readline()
        assert "state" in line or "process" in line
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_reload_applies_the_changed_file_and_a_bad_file_changes_nothing(pulse):
    _, env, config, _ = pulse
    _running(env)
    config.write_text(CONFIG + '\n[[worker]]\nname = "more"\ntarget = "pulse_supervisor.producers:clock"\n')
    assert ctl(env, "reload", check_code=0).stdout.startswith(f"reloaded {config}: 3 worker(s)")
    _running(env, "more")
    config.write_text('[[worker]]\nname = "broken"\n')
    done = ctl(env, "reload", check_code=1)
    assert done.stderr.startswith("pulse ctl: the config was not reloaded: ") and "target" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    names = [r["name"] for r in json.loads(ctl(env, "status", "--json").stdout)["workers"]]
    assert names == ["echo", "clock", "more"]


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (("frob",), 2, "pulse ctl: argument VERB: invalid choice: 'frob'"),
        (("start",), 2, "pulse ctl: the following arguments are required: NAME"),
        (("status", "nobody"), 1, "pulse ctl: no worker named 'nobody'"),
        (("stop", "clock", "nobody"), 1, "pulse ctl: no worker named 'nobody'"),
        (("send", "echo", "not a literal"), 1, "pulse ctl: not a Python literal nor JSON"),
        (("send", "nobody", "1"), 1, "pulse ctl: no worker named 'nobody'"),
        (("status", "--pid", "1"), 1, "pulse ctl: no running Pulse with pid 1 found"),
    ],
)
def test_mistakes_get_one_line_and_an_exit_code(pulse, args, code, error):
    _, env, _, _ = pulse
    done = ctl(env, *args, check_code=code)
    assert done.stderr.startswith(error)
    assert len(done.stderr.splitlines()) == 1


def test_with_no_pulse_running_it_says_so(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    done = ctl(env, "status", check_code=1)
    assert done.stderr.startswith("pulse ctl: no running Pulse found")


def test_several_pulses_are_listed_and_picked_by_pid_or_config(pulse, tmp_path):
    proc, env, config, _ = pulse
    other_config = tmp_path / "other.toml"
    other_config.write_text('[[worker]]\nname = "solo"\ntarget = "pulse_supervisor.producers:clock"\n')
    with open(tmp_path / "other.jsonl", "w") as f:
        other = subprocess.Popen(
            [sys.executable, "main.py", "--headless", "--config", str(other_config)], cwd=ROOT, env=env, stdout=f
        )
    try:
        sock = Path(env["XDG_RUNTIME_DIR"]) / "pulse" / f"{other.pid}.sock"
        _wait_for(sock.exists, what="the second control socket")
        done = ctl(env, "status", check_code=2)
        assert done.stderr.startswith("pulse ctl: several Pulses are running; pick one with --pid or --config:")
        assert f"--pid {proc.pid}" in done.stderr and f"--pid {other.pid}" in done.stderr
        by_pid = json.loads(ctl(env, "status", "--json", "--pid", str(other.pid), check_code=0).stdout)
        assert [r["name"] for r in by_pid["workers"]] == ["solo"]
        by_config = json.loads(ctl(env, "--config", str(config), "status", "--json", check_code=0).stdout)
        assert [r["name"] for r in by_config["workers"]] == ["echo", "clock"]
    finally:
        other.terminate()
        other.wait(timeout=30)


def test_stopping_every_worker_ends_a_headless_pulse_and_ctl_says_they_stopped(pulse):
    proc, env, _, _ = pulse
    _running(env)
    done = ctl(env, "stop", "all", check_code=0)
    assert sorted(done.stdout.splitlines())[0].startswith("clock: stopped")
    assert proc.wait(timeout=30) == 0


def test_hostile_clients_do_not_disturb_a_running_pulse(pulse):
    import socket
    import struct

    proc, env, _, _ = pulse
    _running(env)
    path = str(Path(env["XDG_RUNTIME_DIR"]) / "pulse" / f"{proc.pid}.sock")
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(path)
    try:
        for payload in (b"\x00\x00\x00\x05garbage!", struct.pack(">I", 100 * 1024 * 1024) + b"x" * 4096):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(path)
                s.sendall(payload)
                assert b'"ok":false' in s.recv(4096)
        assert ctl(env, "status", check_code=0).stdout.count("RUNNING") == 2  # served meanwhile
    finally:
        silent.close()
    assert proc.poll() is None


def test_the_pulse_command_dispatches_ctl(tmp_path, monkeypatch, capsys):
    from pulse_supervisor.cli import main

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert main(["ctl", "status"]) == 1
    assert capsys.readouterr().err.startswith("pulse ctl: no running Pulse found")


def test_the_window_serves_ctl_and_reload_applies_its_config_file(tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), QT_QPA_PLATFORM="offscreen")
    config = tmp_path / "pulse.toml"
    config.write_text(CONFIG)
    gui = subprocess.Popen([sys.executable, "main.py", "--config", str(config)], cwd=ROOT, env=env)
    sock = runtime / "pulse" / f"{gui.pid}.sock"
    try:
        _wait_for(sock.exists, timeout=60, what="the window's control socket")
        _running(env)
        config.write_text(CONFIG + '\n[[worker]]\nname = "more"\ntarget = "pulse_supervisor.producers:clock"\n')
        assert ctl(env, "reload", check_code=0).stdout == f"reloaded {config}: 3 worker(s)\n"
        _running(env, "more")
        assert ctl(env, "send", "echo", "'hi'", check_code=0).stdout == "echo: sent\n"
        gui.terminate()
        assert gui.wait(timeout=30) == 0
        assert not sock.exists()
    finally:
        gui.kill()
        gui.wait(timeout=10)
