"""The same scenarios on every backend: local processes and Ray workers behave alike to the supervisor."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pulse_supervisor.core.supervision.events import LogLine, StackDump, StateChanged, WorkerExited
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, items_of, poll_until, reached, spec, states_of, wait_ended

ROOT = Path(__file__).resolve().parents[2]


def exits_of(events, name):
    return [(e.exitcode, e.signal) for e in events if isinstance(e, WorkerExited) and e.worker == name]


def test_a_stop_is_lossless_and_counts_are_exact(make_supervisor, backend):
    sup = make_supervisor(config(spec("c", "pulse_supervisor.producers:counter"), backend=backend))
    sup.start("c")
    events = poll_until(sup, lambda evs: reached("c", State.RUNNING)(evs) and len(items_of(evs, "c")) >= 20_000, 60.0)
    sup.stop("c")
    events += poll_until(sup, reached("c", State.STOPPED), timeout=30.0)
    items = items_of(events, "c")
    assert [item for _, item in items] == list(range(len(items)))  # every one, in order
    rec = sup.record("c")
    assert rec.received == rec.sent == len(items) and rec.lost == 0
    assert exits_of(events, "c") == [(0, None)]
    assert states_of(events, "c") == [State.STARTING, State.RUNNING, State.STOPPING, State.STOPPED]


def test_kill_ends_the_worker_and_everything_it_started(make_supervisor, backend):
    sup = make_supervisor(config(spec("fam", "tests.workers:family"), backend=backend))
    sup.start("fam")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "fam")), timeout=60.0)
    ((_, pids),) = items_of(events, "fam")
    sup.kill("fam")
    events += poll_until(sup, reached("fam", State.STOPPED), timeout=30.0)
    assert exits_of(events, "fam") == [(None, signal.SIGKILL)]
    assert wait_ended(pids, timeout=10.0) == []


def test_fast_failures_back_off_then_give_up(make_supervisor, backend):
    flaky = spec("x", "tests.workers:exit_with", restart="on-failure", kwargs={"code": 3}, start_secs=5.0,
                 start_retries=2, backoff_initial=0.05, backoff_max=0.05)  # fmt: skip
    sup = make_supervisor(config(flaky, backend=backend))
    sup.start("x")
    events = poll_until(sup, reached("x", State.FATAL), timeout=60.0)
    assert exits_of(events, "x") == [(3, None)] * 3
    assert State.RUNNING not in states_of(events, "x")  # each run failed within start_secs
    assert states_of(events, "x").count(State.BACKOFF) == 2


def test_a_remote_run_counts_start_secs_from_its_real_start_on_its_node():
    """Making an agent can take seconds: counted from the launch, a crash at import would look RUNNING."""
    from pulse_supervisor.core.supervision.supervisor import Supervisor

    sup = Supervisor(config(spec("w", "pulse_supervisor.producers:clock", start_secs=1.0)), clock=lambda: 0.0)
    try:
        rec = sup.record("w")
        rec.runtime = dataclasses.replace(rec.runtime, state=State.STARTING, deadline=101.0, started_at=100.0)
        rec.run = types.SimpleNamespace(node="far", started=None, pid=0)  # launched at 100, not started yet
        assert sup._start_pending(rec, now=101.5)  # held: looked at again shortly
        assert rec.runtime.deadline == pytest.approx(101.55)
        rec.run.started = 101.2  # it really started on its node
        assert sup._start_pending(rec, now=101.6)
        assert (rec.runtime.deadline, rec.runtime.started_at) == (pytest.approx(102.2), 101.2)
        assert not sup._start_pending(rec, now=102.2)  # start_secs after its real start: RUNNING now
        rec.run = types.SimpleNamespace(node="", started=None, pid=5)  # a local run is never held
        assert not sup._start_pending(rec, now=101.5)
    finally:
        rec.run = None
        sup.close()


def test_output_logs_and_a_crash_traceback_arrive(make_supervisor, backend):
    sup = make_supervisor(config(spec("c", "pulse_supervisor.producers:crashy",
                                 kwargs={"after": 0.3, "message": "boom"}),
                                 backend=backend))  # fmt: skip
    sup.start("c")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "c")), timeout=60.0)
    sup2 = make_supervisor(config(spec("t", "pulse_supervisor.producers:chatty", kwargs={"interval": 0.05, "count": 5}),
                                  backend=backend))  # fmt: skip
    sup2.start("t")
    talk = poll_until(sup2, lambda evs: bool(exits_of(evs, "t")), timeout=60.0)
    lines = [(e.stream, e.line) for e in talk if isinstance(e, LogLine)]
    assert ("stdout", "stdout line 4") in lines
    assert any(stream == "stderr" and "stderr warning 4" in line for stream, line in lines)
    assert any("logging line 4" in line for _, line in lines)
    tracebacks = [e.line for e in events if isinstance(e, LogLine) and e.traceback]
    assert any("RuntimeError: boom after" in tb for tb in tracebacks)
    assert exits_of(events, "c") == [(1, None)]


def test_a_stack_dump_shows_where_the_producer_is(make_supervisor, backend):
    sup = make_supervisor(config(spec("s", "pulse_supervisor.producers:stubborn"), backend=backend))
    sup.start("s")
    poll_until(sup, lambda evs: bool(items_of(evs, "s")), timeout=60.0)
    sup.request_stack("s")
    events = poll_until(sup, lambda evs: any(isinstance(e, StackDump) for e in evs), timeout=30.0)
    (dump,) = [e for e in events if isinstance(e, StackDump)]
    assert "stubborn" in dump.text
    sup.kill("s")  # it ignores SIGTERM


def test_a_restart_starts_a_new_run_and_killing_one_worker_leaves_the_other(make_supervisor, backend):
    clocks = [spec(name, "pulse_supervisor.producers:clock", kwargs={"interval": 0.02}) for name in "ab"]
    sup = make_supervisor(config(*clocks, backend=backend))
    sup.start("a")
    sup.start("b")
    poll_until(sup, lambda evs: bool(items_of(evs, "a")) and bool(items_of(evs, "b")), timeout=60.0)
    first = sup.record("a").pid
    sup.restart("a")
    events = poll_until(sup, lambda evs: reached("a", State.RUNNING)(evs) and bool(items_of(evs, "a")), timeout=60.0)
    assert sup.record("a").pid not in (None, 0, first)
    assert [s for s in states_of(events, "a")][:2] == [State.STOPPING, State.STOPPED]
    sup.kill("a")
    events = poll_until(sup, reached("a", State.STOPPED), timeout=30.0)
    after = poll_until(sup, lambda evs: len(items_of(evs, "b")) >= 10, timeout=30.0)
    assert not [e for e in events + after if isinstance(e, StateChanged) and e.worker == "b"]  # b never noticed


ORPHAN_SCRIPT = """
import sys, time
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import config, spec
from pulse_supervisor.core.spec import PulseConfig
sup = Supervisor(PulseConfig((spec("fam", "tests.workers:family", kwargs={"path": sys.argv[1]}),),
                             backend="ray", ray_address=sys.argv[2]))
sup.start("fam")
while True:
    sup.poll(1.0)
"""


def test_a_sigkilled_supervisor_leaves_nothing_running_on_the_cluster(ray_head, tmp_path):
    from tests.test_orphans import read_pids

    fifo = tmp_path / "pids.fifo"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    pulse = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, str(fifo), ray_head], cwd=ROOT, env=env)
    try:
        pids = read_pids(fifo, 6, timeout=60)  # the worker and its five children
        pulse.send_signal(signal.SIGKILL)
        pulse.wait(timeout=10)
        assert wait_ended(pids, timeout=10.0) == []
    finally:
        pulse.kill()
        pulse.wait(timeout=10)


@pytest.mark.parametrize(
    "field", ["num_cpus = 1", "resources = { gpu = 1 }", 'runtime_env = { env_vars = { A = "1" } }']
)
def test_ray_only_fields_on_a_local_worker_are_a_config_error(field):
    from pulse_supervisor.core.config.toml_file import parse_config
    from pulse_supervisor.core.errors import ConfigError

    text = f'[[worker]]\nname = "w"\ntarget = "pulse_supervisor.producers:clock"\n{field}\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cluster.toml")
    key = field.split(" ")[0]
    assert str(caught.value).splitlines() == [
        f'cluster.toml:4: worker "w".{key}: applies to Ray workers only (backend = "ray")'
    ]


def test_a_run_says_where_it_is_and_a_remote_one_brings_its_process_facts(make_supervisor, backend):
    import socket

    sup = make_supervisor(
        config(spec("c", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05}), backend=backend)
    )
    sup.start("c")
    events = poll_until(sup, reached("c", State.RUNNING), timeout=60.0)
    (running,) = [e for e in events if isinstance(e, StateChanged) and e.state is State.RUNNING]
    assert running.node == ("" if backend == "local" else socket.gethostname())
    assert running.pid == sup.record("c").pid > 0
    if backend == "local":
        assert sup.remote_facts("c") is None  # read here, by pid
        return
    poll_until(sup, lambda _: (sup.remote_facts("c") or {}).get("cpu_percent") is not None, timeout=30.0)
    facts = sup.remote_facts("c")
    assert facts["rss"] > 1_000_000 and facts["threads"] >= 1 and 0 <= facts["cpu_percent"] < 200


def test_a_dead_agent_is_a_crash_and_the_restart_gets_a_new_one(make_supervisor, ray_head):
    import psutil

    sup = make_supervisor(config(spec("c", "pulse_supervisor.producers:clock", restart="on-failure",
                                 kwargs={"interval": 0.05},
                                      backoff_initial=0.1), backend="ray"))  # fmt: skip
    sup.start("c")
    poll_until(sup, lambda evs: reached("c", State.RUNNING)(evs) and bool(items_of(evs, "c")), timeout=60.0)
    first = sup.record("c").pid
    agent = psutil.Process(first).parent().parent()  # worker <- the agent's forkserver <- the agent
    assert agent.cmdline()[0].startswith("ray::Agent")
    agent.kill()
    events = poll_until(sup, lambda evs: reached("c", State.RUNNING)(evs) and bool(items_of(evs, "c")), timeout=60.0)
    assert exits_of(events, "c") == [(None, signal.SIGKILL)]
    notes = [e.line for e in events if isinstance(e, LogLine) and e.stream == "stderr"]
    assert any("the worker's Ray agent failed" in line for line in notes), notes
    assert states_of(events, "c")[:3] == [State.EXITED, State.BACKOFF, State.STARTING]
    assert sup.record("c").pid != first
    assert wait_ended([first], timeout=10.0) == []


def test_an_unreachable_cluster_is_a_config_error_naming_the_address(tmp_path):
    import socket

    from pulse_supervisor.core.config.toml_file import load_config
    from pulse_supervisor.core.errors import ConfigError

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    path = tmp_path / "cluster.toml"
    path.write_text(f'[pulse]\nbackend = "ray"\nray_address = "127.0.0.1:{port}"\n\n'
                    '[[worker]]\nname = "w"\ntarget = "pulse_supervisor.producers:clock"\n')  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (line,) = str(caught.value).splitlines()
    assert line.startswith(f"{path}:3: pulse.ray_address: cannot reach a Ray cluster at 127.0.0.1:{port}: ")
    assert "refused" in line


UNREACHABLE_SCRIPT = """
import dataclasses, sys
from pulse_supervisor.core.supervision.events import LogLine
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import config, poll_until, reached, spec
cfg = config(spec("w", "pulse_supervisor.producers:clock", restart="on-failure", start_retries=1, backoff_initial=0.05))
sup = Supervisor(dataclasses.replace(cfg, backend="ray", ray_address=sys.argv[1]))
try:
    sup.start("w")
    events = poll_until(sup, reached("w", State.FATAL), timeout=60.0)
    for e in events:
        if isinstance(e, LogLine) and e.stream == "stderr":
            print(e.line)
finally:
    sup.close()
"""


def test_a_cluster_that_goes_away_is_a_clear_message_on_each_run(tmp_path):
    """In a process of its own: Ray connects a process once, and this one has the module's head."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PULSE_LOG_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", UNREACHABLE_SCRIPT, f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    notes = done.stdout.splitlines()
    assert len(notes) == 2  # the first run and its one retry, each told why
    assert all(n.startswith(f"pulse: cannot reach a Ray cluster at 127.0.0.1:{port}: ") for n in notes), notes


def test_a_remote_run_is_inspected_on_its_node(make_supervisor, ray_head):
    import socket

    sup = make_supervisor(config(spec("c", "tests.workers:with_child"), backend="ray"))  # yields 20 a second
    sup.start("c")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "c")), timeout=60.0)
    child = items_of(events, "c")[0][1]
    first = sup.inspect_remote("c")  # asks for the details, which come with the next facts
    assert first.node == socket.gethostname() and first.pid == sup.record("c").pid
    poll_until(sup, lambda _: "with_child" in sup.inspect_remote("c").cmdline, timeout=30.0)
    info = sup.inspect_remote("c")
    assert info.alive and info.agent and info.rss > 0 and child in [c.pid for c in info.children]
    assert "tests.workers:with_child" in info.cmdline  # its process title, read on its node


def test_the_cluster_example_is_valid_and_ray_client_addresses_are_accepted():
    import socket

    from pulse_supervisor.core.config.toml_file import load_config, parse_config
    from pulse_supervisor.core.errors import ConfigError

    cfg = load_config(ROOT / "examples" / "cluster.toml")
    assert [cfg.backend_of(w) for w in cfg.workers] == ["ray", "ray", "ray", "local"]
    assert cfg.workers[1].num_cpus == 0.5 and cfg.workers[2].runtime_env == {"env_vars": {"FEED": "demo"}}
    assert (
        parse_config('[pulse]\nbackend = "ray"\nray_address = "ray://head:10001"\n').ray_address == "ray://head:10001"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config('[pulse]\nray_address = "ray://head"\n', "c.toml")
    assert str(caught.value) == ('c.toml:2: pulse.ray_address: expected "local", "auto", "host:port" or '
                                 '"ray://host:port", got string \'ray://head\'')  # fmt: skip
    with socket.socket() as closed:  # a client server's port nothing listens on: named as given
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    text = f'[pulse]\nbackend = "ray"\nray_address = "ray://127.0.0.1:{port}"\n'
    text += '[[worker]]\nname = "w"\ntarget = "pulse_supervisor.producers:clock"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml")
    reason = f"c.toml:3: pulse.ray_address: cannot reach a Ray cluster at ray://127.0.0.1:{port}: "
    assert str(caught.value).startswith(reason)


def test_an_agent_the_cluster_cannot_place_is_noted_and_a_kill_still_ends_the_run(make_supervisor, ray_head,
                                                                                   monkeypatch):  # fmt: skip
    from pulse_supervisor.core.backends.ray import launcher as ray_launcher

    monkeypatch.setattr(ray_launcher, "PLACEMENT_NOTE_AFTER", 1.0)
    sup = make_supervisor(
        config(spec("w", "pulse_supervisor.producers:clock", resources={"no-such-node": 1}), backend="ray")
    )
    sup.start("w")
    events = poll_until(sup, lambda evs: any(isinstance(e, LogLine) for e in evs), timeout=30.0)
    (note,) = [e.line for e in events if isinstance(e, LogLine)][:1]
    assert note == "pulse: waiting 1 s for the cluster to place this worker's agent (num_cpus=0.0, no-such-node=1)"
    sup.kill("w")
    events = poll_until(sup, reached("w", State.STOPPED), timeout=30.0)
    assert exits_of(events, "w") == [(None, signal.SIGKILL)]


OWN_HEAD_SCRIPT = """
import psutil
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import items_of, poll_until, spec
cfg = parse_config('[pulse]\\nbackend = "ray"\\n[[worker]]\\nname = "c"\\n'
    'target = "pulse_supervisor.producers:clock"\\n'
                   'kwargs = { interval = 0.05 }\\n')
sup = Supervisor(cfg)
try:
    sup.start("c")
    poll_until(sup, lambda evs: bool(items_of(evs, "c")), timeout=60.0)
    # The head outlives the run whose thread started it (Ray ties its processes to that thread):
    # once that run is over, another worker still gets an agent, which the head's GCS must make.
    sup.stop("c")
    poll_until(sup, lambda evs: sup.all_stopped(), timeout=30.0)
    sup.add_spec(spec("d", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05}))
    sup.start("d")
    poll_until(sup, lambda evs: bool(items_of(evs, "d")), timeout=30.0)
    # The head, its agent, the run; not Ray's dashboard and runtime-env agents, which may be
    # started again by a raylet that is going, and end by themselves within a minute.
    def named(p):
        try:
            return p.name()
        except psutil.Error:
            return ""
    print(*[p.pid for p in psutil.Process().children(recursive=True)
            if named(p) not in ("ray::DashboardAgent", "ray::RuntimeEnvAgent")])
finally:
    sup.close()
"""


def test_a_head_of_pulses_own_leaves_nothing_running(tmp_path):
    """ray_address = "local" (the default): the head Pulse starts lives as long as Pulse, and its
    agents and their runs end with it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # as a user's would be
    env.update(PYTHONPATH=str(ROOT), PULSE_LOG_DIR=str(tmp_path), HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", OWN_HEAD_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) >= 5  # gcs_server, raylet, agents of Ray's own, Pulse's agent, the worker...
    assert wait_ended(pids, timeout=10.0) == []
    assert not (tmp_path / ".ray").exists()  # no token file: the head's token lived in its environment


VERSIONED = """import time

VERSION = {version!r}


def feed():
    while True:
        yield VERSION
        time.sleep(0.05)
"""


def test_local_working_dir_and_py_modules_ship_the_target_and_only_an_edit_ships_anew(make_supervisor, ray_head,
                                                                                    tmp_path):  # fmt: skip
    """The targets exist only in tmp_path: the agents import them from what Pulse uploaded."""
    from pulse_supervisor.core.config.toml_file import load_config

    (tmp_path / "wd").mkdir()
    (tmp_path / "wd" / "pulse_wd_feed.py").write_text(VERSIONED.format(version="wd 1"))
    (tmp_path / "mods" / "pulse_mod_feed").mkdir(parents=True)
    (tmp_path / "mods" / "pulse_mod_feed" / "__init__.py").write_text(VERSIONED.format(version="mod 1"))
    path = tmp_path / "cluster.toml"
    path.write_text('[pulse]\nbackend = "ray"\n\n'
                    '[[worker]]\nname = "wd"\ntarget = "pulse_wd_feed:feed"\nruntime_env = { working_dir = "wd" }\n\n'
                    '[[worker]]\nname = "mod"\ntarget = "pulse_mod_feed:feed"\n'
                    'runtime_env = { py_modules = ["mods/pulse_mod_feed"] }\n')  # fmt: skip
    sup = make_supervisor(load_config(path))  # relative to the config's directory, not the tests' own
    sup.start("wd")
    sup.start("mod")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "wd")) and bool(items_of(evs, "mod")), timeout=60.0)
    assert {item for _, item in items_of(events, "wd")} == {"wd 1"}
    assert {item for _, item in items_of(events, "mod")} == {"mod 1"}
    agents = {name: sup.inspect_remote(name).agent for name in ("wd", "mod")}
    (tmp_path / "wd" / "pulse_wd_feed.py").write_text(VERSIONED.format(version="wd 2"))
    sup.restart("wd")
    sup.restart("mod")
    poll_until(sup, lambda evs: "wd 2" in {item for _, item in items_of(evs, "wd")}
               and reached("mod", State.RUNNING)(evs), timeout=60.0)  # fmt: skip
    assert sup.inspect_remote("wd").agent != agents["wd"]  # a new package: a new agent
    assert sup.inspect_remote("mod").agent == agents["mod"]  # the same content: its agent kept


def test_a_local_path_that_cannot_ship_fails_the_run_with_a_note(make_supervisor, ray_head, tmp_path, monkeypatch):
    """Gone since the config was read, or larger than the cluster takes (its limit lowered here: 512 MiB is slow)."""
    from ray._private.runtime_env import packaging

    monkeypatch.setattr(packaging, "GCS_STORAGE_MAX_SIZE", 4096)
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "data.bin").write_bytes(os.urandom(8192))  # random: it does not zip smaller
    gone, big = str(tmp_path / "gone"), str(tmp_path / "big")
    sup = make_supervisor(config(spec("gone", "pulse_supervisor.producers:clock", runtime_env={"working_dir": gone}),
                                 spec("big", "pulse_supervisor.producers:clock", runtime_env={"py_modules": [big]}),
                                 backend="ray"))  # fmt: skip
    sup.start("gone")
    sup.start("big")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "gone")) and bool(exits_of(evs, "big")), timeout=60.0)
    notes = {e.worker: e.line for e in events if isinstance(e, LogLine)}
    assert notes["gone"].startswith(f"pulse: cannot ship runtime_env.working_dir to the cluster: directory {gone} ")
    assert notes["big"].startswith(f"pulse: cannot ship runtime_env.py_modules to the cluster: Failed to upload "
                                   f"module {big} to the Ray cluster: Package size ")  # fmt: skip
    assert "exceeds the maximum size of" in notes["big"]
    assert exits_of(events, "gone") == exits_of(events, "big") == [(None, signal.SIGKILL)]
