"""Pulse through Ray Client (``ray://``): runs polled from their agents, in Pulse processes of their own.

The test process is already a driver of the module's head, and a process holds one Ray
connection: each Pulse here is a subprocess, connected through one client server per module.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.core.test_headless import LineReader
from tests.helpers import wait_ended

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_client(ray_head, tmp_path_factory):
    """A Ray Client server on the module's head (proxy mode, as `ray start --head` runs one); its address."""
    import ray

    node = ray._private.worker._global_node
    ray.get(ray.remote(lambda: None).remote())  # a worker of the head's ready: the first session failed without
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("client-server") / "server.log"
    with open(log, "wb") as out:  # the test's token comes with the environment: the head asks for it
        server = subprocess.Popen([sys.executable, "-m", "ray.util.client.server", "--address", ray_head,
                                   "--host", "127.0.0.1", "--port", str(port), "--node-id", node.node_id,
                                   "--runtime-env-agent-address", node.runtime_env_agent_address],
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60.0
        while True:  # until it listens (or fails): a refused connection comes back at once
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5.0).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                with pytest.raises(subprocess.TimeoutExpired):
                    server.wait(timeout=0.05)  # it must not have exited
        yield f"ray://127.0.0.1:{port}"
    finally:
        # Its specific servers (one per session, the sessions' drivers) are its children.
        try:
            tree = [server, *psutil.Process(server.pid).children(recursive=True)]
        except psutil.NoSuchProcess:  # it failed: its exit is the test's error
            tree = [server]
        for proc in tree:
            proc.kill()
        server.wait(timeout=10)
        assert wait_ended([p.pid for p in tree], timeout=10.0) == []


CLIENT_SCRIPT = """
import json, sys, time
from pulse_supervisor.core.supervision.events import ItemBatch, LogLine, StateChanged, WorkerExited
from pulse_supervisor.core.spec import PulseConfig
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import spec
# The nodes import tests.workers from the package Pulse ships (a client's agents do not run in
# this checkout; a driver's would, Ray adding its directory to their path).
tests_package = {"py_modules": [sys.argv[2]]}
sup = Supervisor(PulseConfig((spec("c", "pulse_supervisor.producers:counter"),
                              spec("fam", "tests.workers:family", runtime_env=tests_package)),
                             backend="ray", ray_address=sys.argv[1]))
out = {"next": 0, "in_order": True, "states": [], "nodes": [], "exits": {}, "family": [], "notes": []}

def until(done, timeout):  # counting as events come: a flood's items are not gone over again
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, out["notes"]
        for e in sup.poll(max(0.0, deadline - time.monotonic())):
            if isinstance(e, ItemBatch) and e.worker == "c":
                out["in_order"] &= list(e.items) == list(range(out["next"], out["next"] + len(e.items)))
                out["next"] += len(e.items)
            elif isinstance(e, ItemBatch) and not out["family"]:
                out["family"] = [sup.record("fam").pid, *e.items[0]]
            elif isinstance(e, StateChanged):
                out["states"] += [e.state.value] if e.worker == "c" else []
                out["nodes"] += [e.node] if e.state.value == "RUNNING" else []
            elif isinstance(e, WorkerExited):
                out["exits"][e.worker] = [e.exitcode, e.signal]
            elif isinstance(e, LogLine):
                out["notes"].append(e.line)

try:
    sup.start("c")
    sup.start("fam")
    # Both RUNNING (a worker's first item can come before its RUNNING, start_secs after its start).
    until(lambda: len(out["nodes"]) == 2 and out["next"] >= 20_000 and out["family"], 100.0)
    sup.stop("c")
    sup.kill("fam")
    until(lambda: len(out["exits"]) == 2 and out["states"][-1] == "STOPPED", 30.0)
    rec = sup.record("c")
    print(json.dumps(dict(out, received=rec.received, sent=rec.sent, lost=rec.lost)))
finally:
    sup.close()
"""


# A client server's first session can fail ~30 s in (a Ray fault; Pulse tries again, see ray_launcher._init).
SLOW_FIRST_SESSION = pytest.mark.timeout(150)


@SLOW_FIRST_SESSION
def test_through_ray_client_a_stop_is_lossless_and_a_kill_ends_the_whole_tree(ray_client, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PULSE_LOG_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, ray_client, str(ROOT / "tests")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["in_order"] and out["received"] == out["sent"] == out["next"] >= 20_000 and out["lost"] == 0
    assert out["states"] == ["STARTING", "RUNNING", "STOPPING", "STOPPED"]
    assert out["exits"] == {"c": [0, None], "fam": [None, signal.SIGKILL]}
    assert out["nodes"] == [socket.gethostname()] * 2
    assert wait_ended(out["family"], timeout=10.0) == []


FAMILY = """\
[pulse]
backend = "ray"
ray_address = "{address}"

[[worker]]
name = "fam"
target = "tests.workers:family"
start_secs = 0.2
runtime_env = {{ py_modules = ["{tests}"] }}  # shipped: a client's agents do not run in this checkout
"""


@SLOW_FIRST_SESSION
def test_a_sigkilled_pulse_leaves_nothing_running_through_ray_client(ray_client, tmp_path):
    """The client server keeps a session a while for a reconnect (Pulse asks 5 s); then its agents and runs end."""
    cfg = tmp_path / "client.toml"
    cfg.write_text(FAMILY.format(address=ray_client, tests=ROOT / "tests"))
    env = dict(os.environ, PULSE_LOG_DIR=str(tmp_path))
    pulse = subprocess.Popen([sys.executable, "main.py", "--headless", "--config", str(cfg)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE)  # fmt: skip
    try:
        reader, deadline = LineReader(pulse.stdout), time.monotonic() + 100.0
        running = children = None
        while running is None or children is None:
            line = reader.next_line(deadline)
            assert line is not None, "the headless process ended early"
            record = json.loads(line)
            if record["type"] == "state" and record["state"] == "RUNNING":
                running = record
            elif record["type"] == "item":
                children = record["data"]
        assert running["node"] == socket.gethostname()
        agent = psutil.Process(running["pid"]).parent().parent()  # worker <- the agent's forkserver <- the agent
        assert agent.cmdline()[0].startswith("ray::Agent")
        pulse.send_signal(signal.SIGKILL)
        pulse.wait(timeout=10)
        assert wait_ended([running["pid"], *children, agent.pid], timeout=30.0) == []
    finally:
        pulse.kill()
        pulse.wait(timeout=10)
        pulse.stdout.close()
