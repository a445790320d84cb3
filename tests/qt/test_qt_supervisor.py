"""QtSupervisor, the library face: real worker processes, reported as Qt signals in the GUI thread."""

from __future__ import annotations

import dataclasses
import signal
import threading

import psutil
import pytest
from qtpy.QtWidgets import QApplication

from pulse_supervisor.core.config.target_probe import target_of
from pulse_supervisor.core.errors import ConfigError, SupervisorClosedError, UnknownWorkerError
from pulse_supervisor.core.supervision.events import ItemBatch
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.binding import is_connected
from pulse_supervisor.qt.qt_supervisor import QtSupervisor
from tests import workers
from tests.helpers import config, spec


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _states(pool: QtSupervisor, name: str) -> list[State]:
    seen: list[State] = []
    pool.state_changed.connect(lambda worker, state: seen.append(state) if worker == name else None)
    return seen


def test_newest_item_and_every_item_arrive_in_the_gui_thread(qtbot, make_pool):
    pool = make_pool()
    got: list[int] = []
    newest: list[tuple[str, object, bool]] = []
    pool.items.connect(lambda name, items: got.extend(items))
    pool.newest.connect(
        lambda name, item: newest.append((name, item, threading.current_thread() is threading.main_thread()))
    )
    pool.add("count", "pulse_supervisor.producers:counter", kwargs={"count": 500})
    qtbot.waitUntil(lambda: len(got) == 500, timeout=10_000)
    assert got == list(range(500))  # in order, none lost or doubled
    assert newest[-1] == ("count", 499, True)
    assert all(in_gui for _, _, in_gui in newest)


def test_add_takes_a_module_level_function(qtbot, make_pool):
    pool = make_pool()
    with qtbot.waitSignal(pool.newest, timeout=10_000) as blocker:
        spec_ = pool.add("flat", workers.flat_out, kwargs={"value": 2.5})
    assert spec_.target == "tests.workers:flat_out"
    assert blocker.args[0] == "flat" and blocker.args[1][1] == 2.5


def test_stop_kill_restart_and_states(qtbot, make_pool):
    pool = make_pool()
    seen = _states(pool, "tick")
    exits: list[tuple] = []
    pool.exited.connect(lambda *args: exits.append(args))
    with qtbot.waitSignal(pool.items, timeout=10_000):  # producing: its stop handler is in place
        pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, start_secs=0.1)
    qtbot.waitUntil(lambda: pool.state("tick") is State.RUNNING, timeout=10_000)
    pool.stop("tick")
    qtbot.waitUntil(lambda: pool.state("tick") is State.STOPPED, timeout=10_000)
    assert exits[-1] == ("tick", 0, None)  # graceful: exit code 0
    pool.start("tick")
    qtbot.waitUntil(lambda: pool.state("tick") is State.RUNNING, timeout=10_000)
    pool.kill("tick")
    qtbot.waitUntil(lambda: pool.state("tick") is State.STOPPED, timeout=10_000)
    assert exits[-1] == ("tick", None, signal.SIGKILL)  # a kill asked for is not a crash: no restart
    pool.restart("tick")
    qtbot.waitUntil(lambda: pool.state("tick") is State.RUNNING, timeout=10_000)
    assert seen[:4] == [State.STARTING, State.RUNNING, State.STOPPING, State.STOPPED]
    assert seen.count(State.RUNNING) == 3


def test_log_lines_and_a_crash_traceback(qtbot, make_pool):
    pool = make_pool()
    lines: list[tuple[str, str, str]] = []
    pool.log_line.connect(lambda *args: lines.append(args))
    pool.add("crash", "pulse_supervisor.producers:crashy", kwargs={"after": 0.0, "message": "boom"}, restart="never")
    qtbot.waitUntil(lambda: any("RuntimeError: boom" in line for _, _, line in lines), timeout=10_000)
    traceback = next(entry for entry in lines if "RuntimeError: boom" in entry[2])
    assert traceback[0] == "crash" and traceback[1] == "ERROR"
    assert "Traceback (most recent call last)" in traceback[2]


def test_bad_add_names_every_problem_and_adds_nothing(make_pool):
    pool = make_pool(config(spec("a", "pulse_supervisor.producers:counter")), autostart=False)
    with pytest.raises(ConfigError) as err:
        pool.add("b", "app.nowhere:gone", stop_timeout=0, restart="sometimes", colour="red")
    fields = sorted(p.field for p in err.value.problems)
    assert fields == ["colour", "restart", "stop_timeout", "target"]
    assert "QtSupervisor.add('b'): stop_timeout: must be > 0, got 0" in str(err.value)
    with pytest.raises(ConfigError, match="a worker named 'a' already exists"):
        pool.add("a", "pulse_supervisor.producers:counter")
    with pytest.raises(ConfigError, match="not a module-level function"):
        pool.add("c", lambda: iter(()))
    assert pool.names() == ["a"]
    with pytest.raises(UnknownWorkerError):
        pool.start("b")


def test_add_takes_argv_and_checks_the_target_with_it(make_pool):
    pool = make_pool(config(), autostart=False)
    with pytest.raises(ConfigError, match=r"add\('q'\): target: importing it raised SystemExit: 2 \(.*--symbol\)"):
        pool.add("q", "tests.argv_script:quotes")  # parses sys.argv at import: --symbol is required
    with pytest.raises(ConfigError, match=r"add\('q'\): argv: argv\[0\]: expected a string, got integer 1"):
        pool.add("q", "tests.argv_script:quotes", argv=[1])
    spec_ = pool.add("q", "tests.argv_script:quotes", argv=["--symbol", "X"], autostart=False)
    assert spec_.argv == ("--symbol", "X") and pool.names() == ["q"]


def test_add_checks_the_target_within_the_config_s_limit_and_refuses_control_characters(
    make_pool, tmp_path, monkeypatch
):
    (tmp_path / "hangs_on_add.py").write_text("import threading\nthreading.Event().wait()\ndef feed():\n    yield 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # the check's process gets our sys.path
    pool = make_pool(dataclasses.replace(config(), check_timeout=0.5), autostart=False)
    with pytest.raises(ConfigError, match=r"add\('h'\): target: importing it did not finish within 0.5 s"):
        pool.add("h", "hangs_on_add:feed")
    with pytest.raises(ConfigError, match="within 1.5 s"):  # the worker's own limit first
        pool.add("h", "hangs_on_add:feed", check_timeout=1.5)
    with pytest.raises(ConfigError, match=r"name: worker name must not contain a control character: character 2"):
        pool.add("a\nb", "pulse_supervisor.producers:counter")
    assert pool.names() == [] and pool.config().check_timeout == 0.5


def test_target_of_names_module_level_functions_only():
    assert target_of(workers.exit_with) == ("tests.workers:exit_with", None)

    def local():
        yield 1

    target, reason = target_of(local)
    assert target == "" and "not a module-level function" in reason


def test_shutdown_returns_at_once_then_finished_follows(qtbot, make_pool):
    pool = make_pool()
    pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, start_secs=0.1)
    qtbot.waitUntil(lambda: pool.state("tick") is State.RUNNING, timeout=10_000)
    pid = pool.supervisor.record("tick").pid
    with qtbot.waitSignal(pool.finished, timeout=10_000):
        pool.shutdown()
        assert pool.closed
    assert not _alive(pid)
    assert not pool.consumer.isRunning()
    with pytest.raises(SupervisorClosedError, match="closed"):
        pool.start("tick")


def test_close_blocks_until_stopped_and_kills_a_worker_that_ignores_sigterm(qtbot, make_pool):
    pool = make_pool()
    pool.add("stubborn", "pulse_supervisor.producers:stubborn", stop_timeout=0.3, start_secs=0.1)
    qtbot.waitUntil(lambda: pool.state("stubborn") is State.RUNNING, timeout=10_000)
    pid = pool.supervisor.record("stubborn").pid
    finished: list[bool] = []
    pool.finished.connect(lambda: finished.append(True))
    assert pool.close(timeout=30) is True  # SIGTERM ignored, SIGKILL after 0.3 s, long before 30 s
    assert finished == [True]
    assert not _alive(pid)
    assert pool.close() is True  # again: nothing left to do, finished not repeated
    assert finished == [True]


def test_quitting_the_application_closes_it(qtbot, make_pool):
    pool = make_pool()
    pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, start_secs=0.1)
    qtbot.waitUntil(lambda: pool.state("tick") is State.RUNNING, timeout=10_000)
    pid = pool.supervisor.record("tick").pid
    QApplication.instance().aboutToQuit.emit()  # what QApplication.quit() emits before the loop ends
    assert pool.closed and not pool.consumer.isRunning()
    assert not _alive(pid)


def test_the_tutorial_example_shows_the_newest_timestamp(qtbot):
    from examples.tutorial_window import MyWindow

    window = MyWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("20"), timeout=10_000)
    pid = window.workers.supervisor.record("producer").pid
    window.close()
    assert window.workers.closed and not window.workers.consumer.isRunning()
    assert not _alive(pid)


def test_a_config_s_workers_start_unless_autostart_is_off(qtbot, make_pool):
    cfg = config(
        spec("on", "pulse_supervisor.producers:counter", kwargs={"rate": 50}),
        spec("off", "pulse_supervisor.producers:counter"),
    )
    cfg = config(cfg.workers[0], dataclasses.replace(cfg.workers[1], autostart=False))
    pool = make_pool(cfg)
    qtbot.waitUntil(lambda: pool.state("on") is State.RUNNING, timeout=10_000)
    assert pool.names() == ["on", "off"] and pool.state("off") is State.STOPPED
    held = make_pool(cfg, autostart=False)
    with qtbot.waitSignal(held.state_changed, timeout=10_000):
        held.start("off")  # nothing else starts it: the first state change is this one's
    assert held.state("off") is State.STARTING and held.state("on") is State.STOPPED


@pytest.fixture
def job_window(qtbot):
    from examples.cpu_job import JobWindow

    def close(w: JobWindow) -> None:
        if w.job is not None:
            with qtbot.waitSignal(w.job.finished, timeout=30_000):
                w.cancel_job()

    window = JobWindow()
    qtbot.addWidget(window, before_close_func=close)
    window.show()
    return window


def _run(qtbot, window, limit: int) -> str:
    window.limit.setValue(limit)
    window.start_button.click()
    assert not window.limit.isEnabled()  # the job counts below the limit it started with
    window.limit.setValue(limit + 1000)
    qtbot.waitUntil(lambda: window.start_button.isEnabled(), timeout=20_000)  # the job has exited
    assert window.limit.isEnabled()
    return window.result.text()


def test_the_cpu_job_example_counts_and_reports_a_failure(qtbot, job_window):
    assert _run(qtbot, job_window, 20_000) == "2,262 primes below 20,000"
    assert job_window.progress.value() == job_window.progress.maximum()
    job_window.limit.setValue(1)
    assert job_window.limit.value() == 3  # the box refuses limits with no primes below them
    job_window.start_job(limit=1)  # the worker refuses them too, and the window says why
    qtbot.waitUntil(lambda: job_window.start_button.isEnabled(), timeout=20_000)
    assert job_window.result.text() == "failed: ValueError: no primes below 1: choose 3 or more"
    assert job_window.job is None


def test_the_cpu_job_example_cancels_a_job_mid_computation(qtbot, job_window):
    job_window.limit.setValue(job_window.limit.maximum())  # its first step alone takes many seconds
    job_window.start_button.click()
    with qtbot.waitSignal(job_window.job.yielded, timeout=10_000):  # 0 percent: counting now
        pass
    job_window.cancel_button.click()
    qtbot.waitUntil(lambda: job_window.start_button.isEnabled(), timeout=10_000)
    assert job_window.result.text() == "cancelled" and job_window.progress.value() == 0  # mid first step


def test_inspect_and_the_live_stack(qtbot, make_pool):
    pool = make_pool()
    pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, start_secs=0.1, autostart=False)
    assert pool.inspect("tick").alive is False  # added, not started: no process
    with pytest.raises(UnknownWorkerError):
        pool.inspect("tock")
    with qtbot.waitSignal(pool.items, timeout=10_000):  # producing: past its start-up imports
        pool.start("tick")
    info = pool.inspect("tick")
    assert info.alive and info.pid == pool.supervisor.record("tick").pid and info.rss > 0
    with qtbot.waitSignal(pool.stack, timeout=10_000) as blocker:
        pool.request_stack("tick")
    worker, text = blocker.args
    assert worker == "tick" and "in counter" in text and text.startswith("Thread MainThread")


def test_a_name_is_free_again_once_its_worker_is_gone(qtbot, make_pool):
    pool = make_pool()
    # Its first item, not RUNNING (0.1 s after the start, which a loaded machine may reach
    # before the generator runs), says it ignores SIGTERM from here on.
    with qtbot.waitSignal(pool.items, timeout=10_000):
        pool.add("w", "pulse_supervisor.producers:stubborn", start_secs=0.1, stop_timeout=60)
    pool.remove("w")
    with pytest.raises(UnknownWorkerError):
        pool.state("w")
    with pytest.raises(ConfigError, match="'w' is still being removed"):
        pool.add("w", "pulse_supervisor.producers:counter")  # its process is still stopping
    assert pool.names() == []
    pool.kill("w")  # no need to wait out its stop timeout
    qtbot.waitUntil(lambda: "w" not in pool.supervisor.names(), timeout=10_000)
    pool.add("w", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, start_secs=0.1)
    qtbot.waitUntil(lambda: pool.state("w") is State.RUNNING, timeout=10_000)


def test_apply_config_reloads_like_the_window(qtbot, make_pool):
    keep = spec("keep", "pulse_supervisor.producers:counter", kwargs={"rate": 50}, start_secs=0.1)
    change = spec("change", "pulse_supervisor.producers:counter", kwargs={"rate": 50}, start_secs=0.1)
    drop = spec("drop", "pulse_supervisor.producers:counter", kwargs={"rate": 50}, start_secs=0.1)
    pool = make_pool(config(keep, change, drop))
    qtbot.waitUntil(lambda: all(pool.state(n) is State.RUNNING for n in pool.names()), timeout=30_000)
    kept_pid, dropped_pid = (pool.supervisor.record(n).pid for n in ("keep", "drop"))
    changed = _states(pool, "change")
    added = spec("added", "pulse_supervisor.producers:counter", kwargs={"rate": 50}, start_secs=0.1)
    pool.apply_config(config(keep, dataclasses.replace(change, kwargs={"rate": 60}), added))
    assert pool.names() == ["keep", "change", "added"]  # at once
    qtbot.waitUntil(lambda: pool.state("added") is State.RUNNING and not _alive(dropped_pid), timeout=30_000)
    qtbot.waitUntil(lambda: changed[-2:] == [State.STARTING, State.RUNNING], timeout=30_000)
    assert changed[0] is State.STOPPING  # the changed worker restarted
    assert pool.supervisor.record("keep").pid == kept_pid and pool.state("keep") is State.RUNNING


def test_a_signal_connected_later_is_served_from_the_next_batch(qtbot, make_pool):
    """Signals nobody listens to are not emitted, asked per batch: a late slot still gets items."""
    pool = make_pool()  # make_pool listens to `events` only
    with qtbot.waitSignal(pool.events, timeout=10_000, check_params_cb=lambda e: any(type(x) is ItemBatch for x in e)):
        pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 50}, start_secs=0.1)
    assert not is_connected(pool, pool.newest)
    with qtbot.waitSignal(pool.newest, timeout=10_000) as blocker:
        pass
    worker, item = blocker.args
    assert worker == "tick" and isinstance(item, int)


def test_each_worker_s_output_is_also_written_under_log_dir(qtbot, make_pool, tmp_path):
    pool = make_pool(log_dir=tmp_path / "logs")
    with qtbot.waitSignal(pool.log_line, timeout=10_000, check_params_cb=lambda w, _lvl, text: "log me" in text):
        pool.add(
            "crashy", "pulse_supervisor.producers:crashy", kwargs={"after": 0.0, "message": "log me"}, restart="never"
        )
    (log_file,) = (tmp_path / "logs").glob("crashy*.log")
    qtbot.waitUntil(lambda: "log me" in log_file.read_text(), timeout=10_000)


def test_close_folds_the_final_events_before_it_returns(qtbot, make_pool):
    pool = make_pool()
    pool.add("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 100}, start_secs=0.1)
    qtbot.waitUntil(lambda: pool.state("tick") is State.RUNNING, timeout=10_000)
    seen: list[State] = []
    pool.state_changed.connect(lambda name, state: seen.append(state))
    assert pool.close(timeout=30) is True
    # No event loop ran since: what close saw happen is folded and signalled already.
    assert pool.state("tick") is State.STOPPED
    assert pool.status("tick").pid is None
    assert seen[-1] is State.STOPPED


def test_add_with_kwargs_that_cannot_be_sent_names_each_and_adds_nothing(make_pool):
    pool = make_pool()
    with pytest.raises(ConfigError) as caught:
        pool.add(
            "w",
            "pulse_supervisor.producers:counter",
            kwargs={"lock": threading.Lock(), "rate": 1.0, "app": QApplication.instance()},
        )
    fields = [p.field for p in caught.value.problems]
    assert fields[:2] == ["kwargs.lock", "kwargs.app"]  # then what the target's signature says of them
    assert "_thread.lock" in str(caught.value) and "worker's process" in str(caught.value)
    assert pool.names() == []


def test_made_outside_the_gui_thread_it_says_so(qtbot):
    from pulse_supervisor.core.errors import NoEventLoopError

    raised: list[BaseException] = []

    def make() -> None:
        try:
            QtSupervisor()
        except BaseException as exc:  # noqa: BLE001 - the thread hands whatever it got to the test
            raised.append(exc)

    thread = threading.Thread(target=make)
    thread.start()
    thread.join(timeout=30)
    assert len(raised) == 1 and isinstance(raised[0], NoEventLoopError), raised
    assert "GUI thread" in str(raised[0])


def test_made_with_no_application_it_says_so():
    import subprocess
    import sys

    code = (
        "from pulse_supervisor.qt import QtSupervisor\n"
        "from pulse_supervisor.core.errors import NoEventLoopError\n"
        "try:\n"
        "    QtSupervisor()\n"
        "except NoEventLoopError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "needs a QApplication" in out
