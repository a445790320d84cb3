"""The supervisor shell with real processes: start, items, stop, kill, crash, restart, isolation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from pulse_supervisor.core.supervision.events import CountersReset, LogLine, StackDump, StateChanged, WorkerExited
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.wire.item_forms import StandIn
from tests.helpers import config, items_of, poll_until, reached, spec, states_of, wait_ended

ROOT = Path(__file__).resolve().parents[2]


def exits_of(events, name):
    return [e for e in events if isinstance(e, WorkerExited) and e.worker == name]


def test_items_arrive_in_order_with_sequence_numbers(make_supervisor):
    sup = make_supervisor(config(spec("count", "pulse_supervisor.producers:counter", kwargs={"count": 500})))
    sup.start("count")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "count")))
    got = items_of(events, "count")
    assert got == [(i, i) for i in range(500)]
    assert exits_of(events, "count")[0].exitcode == 0
    rec = sup.record("count")
    assert (rec.received, rec.lost, rec.sent) == (500, 0, 500)
    assert states_of(events, "count")[-1] is State.EXITED  # clean exit, policy "never"


def test_a_worker_shows_in_ps_by_its_name_and_target(make_supervisor):
    sup = make_supervisor(config(spec("feed", "pulse_supervisor.producers:counter", kwargs={"rate": 100.0})))
    sup.start("feed")
    poll_until(sup, lambda evs: bool(items_of(evs, "feed")))  # items come after the title is set
    proc = psutil.Process(sup.record("feed").pid)
    assert " ".join(proc.cmdline()).strip() == "pulse: feed (pulse_supervisor.producers:counter)"
    sup.stop("feed")
    poll_until(sup, reached("feed", State.STOPPED))


HELPER_TITLES = """
import multiprocessing.resource_tracker, psutil
from pulse_supervisor.core.worker.pulse_forkserver import server_pid
from pulse_supervisor.core.supervision.supervisor import Supervisor
from tests.helpers import config, poll_until, reached, spec
sup = Supervisor(config(spec("w", "pulse_supervisor.producers:clock")))
sup.start("w")
poll_until(sup, reached("w", State.RUNNING))
tracker = multiprocessing.resource_tracker._resource_tracker._pid
for pid in (server_pid(), tracker):
    print(" ".join(psutil.Process(pid).cmdline()).strip())
sup.stop("w")
poll_until(sup, reached("w", State.STOPPED))
sup.close()
"""


def test_pulses_own_helpers_show_in_ps_by_their_titles():
    code = "from pulse_supervisor.core.supervision.policy import State\n" + HELPER_TITLES
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["pulse: forkserver", "pulse: resource tracker"]


def test_reset_counters_counts_from_zero(make_supervisor):
    sup = make_supervisor(config(spec("c", "pulse_supervisor.producers:counter", kwargs={"rate": 500.0})))
    sup.start("c")
    before = len(items_of(poll_until(sup, lambda evs: len(items_of(evs, "c")) >= 20), "c"))
    sup.reset_counters("c")
    events = poll_until(sup, lambda evs: any(isinstance(e, CountersReset) for e in evs))
    assert not [e for e in events if isinstance(e, StateChanged)]  # no state line that did not happen
    events += poll_until(sup, lambda evs: len(items_of(evs, "c")) >= 10)
    sup.stop("c")
    events += poll_until(sup, reached("c", State.STOPPED))
    rec = sup.record("c")
    # Sent and received agree, counted from the reset: the first `before` items are not in them.
    assert rec.received == rec.sent and 0 < rec.received <= len(items_of(events, "c"))
    assert before >= 20
    assert rec.lost == 0 and rec.restarts == 0


def test_graceful_stop_loses_no_item_and_exits_zero(make_supervisor):
    sup = make_supervisor(config(spec("flood", "tests.workers:flat_out")))
    sup.start("flood")
    poll_until(sup, lambda evs: len(items_of(evs, "flood")) > 10_000)
    sup.stop("flood")
    events = poll_until(sup, reached("flood", State.STOPPED))
    rec = sup.record("flood")
    (exit_event,) = exits_of(events, "flood")
    assert exit_event.exitcode == 0 and exit_event.signal is None
    assert rec.sent > 0 and rec.received == rec.sent and rec.lost == 0
    assert states_of(events, "flood") == [State.STOPPING, State.STOPPED]


def test_stop_interrupts_a_sleeping_generator_at_once(make_supervisor):
    sup = make_supervisor(config(spec("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 30.0})))
    sup.start("clock")
    poll_until(sup, lambda evs: len(items_of(evs, "clock")) == 1)
    sup.stop("clock")
    # Well under the 30 s sleep and the 3 s stop timeout: SIGTERM ended the sleep.
    events = poll_until(sup, reached("clock", State.STOPPED), timeout=5.0)
    assert exits_of(events, "clock")[0].exitcode == 0


def test_a_stop_asked_with_the_start_ends_the_worker_gracefully(make_supervisor):
    # The SIGTERM would land before the worker's handler exists (forked a moment ago): the
    # supervisor holds it until the worker says its handler is in place.
    sup = make_supervisor(config(spec("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 30.0})))
    sup.start("clock")
    sup.stop("clock")
    events = poll_until(sup, reached("clock", State.STOPPED))
    assert [(e.exitcode, e.signal) for e in exits_of(events, "clock")] == [(0, None)]
    assert states_of(events, "clock") == [State.STARTING, State.STOPPING, State.STOPPED]


def test_a_stop_while_the_target_imports_ends_the_worker_before_it_produces(make_supervisor):
    sup = make_supervisor(config(spec("slow", "tests.slow_import:numbers")))
    sup.start("slow")
    (pid,) = {e.pid for e in poll_until(sup, reached("slow", State.STARTING)) if getattr(e, "pid", None)}
    marker = Path(tempfile.gettempdir()) / f"pulse-slow-import-{pid}"
    try:
        deadline = time.monotonic() + 10
        while not marker.exists():  # the worker is inside its one-second import
            assert time.monotonic() < deadline, "the worker never started importing its target"
            sup.poll(0.01)
        sup.stop("slow")
        events = poll_until(sup, reached("slow", State.STOPPED))
    finally:
        marker.unlink(missing_ok=True)
    (exit_event,) = exits_of(events, "slow")
    assert (exit_event.exitcode, exit_event.signal) == (0, None)  # not killed by the SIGTERM
    assert items_of(events, "slow") == []  # the producer never ran


def test_ctx_producer_stops_cooperatively_and_its_goodbye_is_logged(make_supervisor):
    sup = make_supervisor(config(spec("tick", "pulse_supervisor.producers:ticker", kwargs={"interval": 30.0})))
    sup.start("tick")
    poll_until(sup, lambda evs: len(items_of(evs, "tick")) == 1)
    sup.stop("tick")
    events = poll_until(sup, reached("tick", State.STOPPED), timeout=5.0)
    lines = [e.line for e in events if isinstance(e, LogLine)]
    assert "ticker stopping after 1 ticks" in lines
    assert exits_of(events, "tick")[0].exitcode == 0


def test_kill_is_sigkill_and_reported_as_stopped(make_supervisor):
    sup = make_supervisor(
        config(spec("clock", "pulse_supervisor.producers:clock", restart="always", kwargs={"interval": 0.05}))
    )
    sup.start("clock")
    poll_until(sup, reached("clock", State.RUNNING))
    pid = sup.record("clock").pid
    sup.kill("clock")
    events = poll_until(sup, reached("clock", State.STOPPED))
    (exit_event,) = exits_of(events, "clock")
    assert exit_event.pid == pid and exit_event.signal == signal.SIGKILL
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert State.BACKOFF not in states_of(events, "clock")  # a kill the user asked for is no crash


def test_stubborn_worker_is_killed_after_stop_timeout(make_supervisor):
    sup = make_supervisor(config(spec("stubborn", "pulse_supervisor.producers:stubborn", stop_timeout=0.3)))
    sup.start("stubborn")
    poll_until(sup, lambda evs: len(items_of(evs, "stubborn")) >= 2)
    sup.stop("stubborn")
    events = poll_until(sup, reached("stubborn", State.STOPPED), timeout=5.0)
    assert exits_of(events, "stubborn")[0].signal == signal.SIGKILL
    # Not an outside kill: the log says whose it is, before the exit.
    (said,) = [e for e in events if isinstance(e, LogLine) and e.stream == "pulse" and "stop_timeout" in e.line]
    assert (said.line, said.level) == ("did not stop within stop_timeout (0.3 s): killed", "WARNING")
    assert events.index(said) < events.index(exits_of(events, "stubborn")[0])


def test_kill_works_while_stopping(make_supervisor):
    sup = make_supervisor(config(spec("stubborn", "pulse_supervisor.producers:stubborn", stop_timeout=60.0)))
    sup.start("stubborn")
    poll_until(sup, lambda evs: len(items_of(evs, "stubborn")) >= 2)
    sup.stop("stubborn")
    poll_until(sup, reached("stubborn", State.STOPPING))
    sup.kill("stubborn")
    events = poll_until(sup, reached("stubborn", State.STOPPED), timeout=5.0)
    assert exits_of(events, "stubborn")[0].signal == signal.SIGKILL
    assert not [e for e in events if isinstance(e, LogLine) and "stop_timeout" in e.line]  # the user's kill


def test_crash_sends_traceback_and_restarts_on_failure(make_supervisor):
    sup = make_supervisor(
        config(
            spec(
                "crashy",
                "pulse_supervisor.producers:crashy",
                restart="on-failure",
                kwargs={"after": 0.0},
                backoff_initial=0.05,
                start_secs=30.0,
            )  # however slow the start, the crash comes while STARTING
        )  # fmt: skip
    )
    sup.start("crashy")
    events = poll_until(sup, lambda evs: len(exits_of(evs, "crashy")) >= 2)
    tracebacks = [e.line for e in events if isinstance(e, LogLine) and e.traceback]
    assert tracebacks and "RuntimeError: simulated failure after 0 items" in tracebacks[0]
    assert "Traceback (most recent call last)" in tracebacks[0]
    assert exits_of(events, "crashy")[0].exitcode == 1
    assert states_of(events, "crashy")[:4] == [State.STARTING, State.EXITED, State.BACKOFF, State.STARTING]


def test_fast_failures_end_in_fatal(make_supervisor):
    sup = make_supervisor(
        config(
            spec("crashy", "pulse_supervisor.producers:crashy", restart="always", kwargs={"after": 0.0},
                 start_retries=2, backoff_initial=0.01, start_secs=5.0)
        )
    )  # fmt: skip
    sup.start("crashy")
    events = poll_until(sup, reached("crashy", State.FATAL))
    assert len(exits_of(events, "crashy")) == 3  # the first run plus two retries
    assert sup.record("crashy").run is None
    [fatal] = [e for e in events if isinstance(e, StateChanged) and e.state is State.FATAL]
    assert fatal.reason == "3 exits before start_secs (5 s) in a row (start_retries = 2)"
    said = [e.line for e in events if isinstance(e, LogLine) and e.stream == "pulse" and "FATAL" in e.line]
    assert said == [f"FATAL: gave up restarting: {fatal.reason}; Start tries again"]


def test_exit_code_of_systemexit_is_kept(make_supervisor):
    sup = make_supervisor(config(spec("exit", "tests.workers:exit_with", kwargs={"code": 3})))
    sup.start("exit")
    events = poll_until(sup, reached("exit", State.EXITED))
    assert exits_of(events, "exit")[0].exitcode == 3
    assert sup.record("exit").last_exit == (3, None)


def test_restart_is_stop_then_start(make_supervisor):
    sup = make_supervisor(config(spec("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05})))
    sup.start("clock")
    poll_until(sup, lambda evs: reached("clock", State.RUNNING)(evs) and bool(items_of(evs, "clock")))
    old_pid = sup.record("clock").pid
    sup.restart("clock")
    events = poll_until(sup, reached("clock", State.RUNNING))
    assert states_of(events, "clock") == [State.STOPPING, State.STOPPED, State.STARTING, State.RUNNING]
    assert sup.record("clock").pid != old_pid
    assert exits_of(events, "clock")[0].exitcode == 0


def test_an_item_that_does_not_pickle_arrives_as_its_stand_in(make_supervisor):
    sup = make_supervisor(config(spec("mixed", "tests.workers:unpicklable_every", kwargs={"n": 3, "count": 9})))
    sup.start("mixed")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "mixed")))
    got = [item for _, item in items_of(events, "mixed")]
    assert [item for item in got if type(item) is int] == [0, 1, 3, 4, 6, 7]
    stand_ins = [item for item in got if type(item) is StandIn]
    assert len(stand_ins) == 3 and all(s.text.startswith("<function unpicklable_every.") for s in stand_ins)
    assert (sup.record("mixed").received, sup.record("mixed").lost) == (9, 0)


def test_an_item_that_does_not_pickle_is_reported_and_the_worker_goes_on_when_objects_are_asked_for(make_supervisor):
    cfg = config(spec("mixed", "tests.workers:unpicklable_every", kwargs={"n": 3, "count": 9}))
    sup = make_supervisor(cfg, objects=True)
    sup.start("mixed")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "mixed")))
    assert [item for _, item in items_of(events, "mixed")] == [0, 1, 3, 4, 6, 7]
    errors = [e.line for e in events if isinstance(e, LogLine) and "cannot be pickled" in e.line]
    assert len(errors) == 3 and "function" in errors[0]
    assert exits_of(events, "mixed")[0].exitcode == 0
    assert sup.record("mixed").lost == 0


def test_stop_reaches_the_workers_own_children(make_supervisor):
    sup = make_supervisor(config(spec("parent", "tests.workers:with_child")))
    sup.start("parent")
    events = poll_until(sup, lambda evs: len(items_of(evs, "parent")) >= 1)
    grandchild = psutil.Process(items_of(events, "parent")[0][1])
    assert grandchild.is_running()
    sup.stop("parent")
    poll_until(sup, reached("parent", State.STOPPED))
    assert not wait_ended([grandchild], timeout=5.0), "the SIGTERM missed the grandchild"


def test_killing_one_worker_mid_write_never_disturbs_another(make_supervisor):
    sup = make_supervisor(
        config(spec("a", "tests.workers:flat_out", restart="never"), spec("b", "tests.workers:flat_out"))
    )
    sup.start("a")
    sup.start("b")
    for _ in range(20):
        poll_until(sup, lambda evs: len(items_of(evs, "a")) > 2000)  # A is mid-flood
        sup.kill("a")
        poll_until(sup, reached("a", State.STOPPED))
        before = sup.record("b").received
        poll_until(sup, lambda evs, before=before: sup.record("b").received > before + 1000, timeout=5.0)
        sup.start("a")
    b = sup.record("b")
    assert b.lost == 0 and b.received > 20_000


def test_stack_dump_shows_a_tight_loop(make_supervisor):
    sup = make_supervisor(config(spec("spin", "tests.workers:tight_loop", stop_timeout=0.5)))
    sup.start("spin")
    poll_until(sup, lambda evs: len(items_of(evs, "spin")) == 1)
    # Right after its first item the worker may still be inside the send; ask until it spins.
    for _ in range(50):
        sup.request_stack("spin")
        events = poll_until(sup, lambda evs: any(isinstance(e, StackDump) for e in evs))
        (dump,) = [e for e in events if isinstance(e, StackDump)]
        if "spin_step" in dump.text:
            break
    assert "spin_step" in dump.text and "tight_loop" in dump.text
    assert "Thread MainThread" in dump.text


def test_workers_are_reaped_no_zombies(make_supervisor):
    sup = make_supervisor(config(spec("count", "pulse_supervisor.producers:counter", kwargs={"count": 3})))
    sup.start("count")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "count")))
    pid = exits_of(events, "count")[0].pid
    assert not psutil.pid_exists(pid), "the exited worker was not reaped"


def test_unknown_worker_is_a_clear_error(make_supervisor):
    from pulse_supervisor.core.errors import UnknownWorkerError

    sup = make_supervisor(config())
    with pytest.raises(UnknownWorkerError, match="no worker named 'nope'"):
        sup.start("nope")


def test_start_method_is_explicit(make_supervisor):
    sup = make_supervisor(
        config(spec("count", "pulse_supervisor.producers:counter", kwargs={"count": 1}), start_method="spawn")
    )
    assert sup.start_method == "spawn"
    sup.start("count")
    events = poll_until(sup, lambda evs: bool(exits_of(evs, "count")))
    assert items_of(events, "count") == [(0, 0)]
    assert os.getpid() != exits_of(events, "count")[0].pid


def test_worker_output_goes_to_its_log_file_as_it_happens(tmp_path):
    from pulse_supervisor.core.supervision.supervisor import Supervisor
    from tests.helpers import run_until_stopped

    sup = Supervisor(
        config(spec("chatty", "pulse_supervisor.producers:chatty", kwargs={"interval": 30.0})), log_dir=tmp_path
    )
    try:
        sup.start("chatty")
        # The print arrives while the worker is still running (line buffered, not held to exit).
        poll_until(sup, lambda evs: any(isinstance(e, LogLine) and e.line == "stdout line 0" for e in evs))
        assert sup.record("chatty").run is not None
        path = tmp_path / "chatty.log"
        assert sup.record("chatty").log_path == str(path)
        text = path.read_text()
        assert "stdout line 0" in text and "state STARTING" in text
        run_until_stopped(sup)
        assert "state STOPPED" in path.read_text()
    finally:
        sup.close()


def test_log_files_rotate_at_their_size_cap(tmp_path):
    from pulse_supervisor.core.supervision.logfiles import LogFiles

    files = LogFiles(tmp_path, max_bytes=1000, backups=2)
    for i in range(200):
        files.write("w", 0.0, "stdout", "INFO", f"line {i:04d} " + "x" * 40)
        files.flush()
    files.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["w.log", "w.log.1", "w.log.2"]
    assert all(p.stat().st_size <= 1100 for p in tmp_path.iterdir())
    assert "line 0199" in (tmp_path / "w.log").read_text()


def test_a_removed_workers_log_file_is_closed(tmp_path):
    from pulse_supervisor.core.supervision.supervisor import Supervisor

    def open_logs() -> list[str]:
        return [f.path for f in psutil.Process().open_files() if f.path.startswith(str(tmp_path))]

    sup = Supervisor(
        config(spec("gone", "pulse_supervisor.producers:counter", kwargs={"rate": 50.0})), log_dir=tmp_path
    )
    try:
        sup.start("gone")
        poll_until(sup, lambda evs: bool(items_of(evs, "gone")))
        assert open_logs() == [str(tmp_path / "gone.log")]
        sup.remove("gone")
        poll_until(sup, lambda evs: "gone" not in sup.names())
        assert open_logs() == []  # not held until Pulse quits
        assert "state STOPPED" in (tmp_path / "gone.log").read_text()
    finally:
        sup.close()


def test_death_is_an_event_seen_from_the_sentinel(make_supervisor):
    # RUNNING and quiet: no timer is armed, so only the sentinel can wake a poll with no timeout.
    sup = make_supervisor(
        config(spec("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 60.0}, start_secs=0.05))
    )
    sup.start("clock")
    poll_until(sup, reached("clock", State.RUNNING))
    assert sup.record("clock").runtime.deadline is None
    pid = sup.record("clock").pid
    os.kill(pid, signal.SIGKILL)  # from outside: the supervisor was not told
    events: list = []
    while not exits_of(events, "clock"):
        events.extend(sup.poll(None))  # blocks; pytest-timeout ends a hang
    assert exits_of(events, "clock")[0].signal == signal.SIGKILL
    assert not psutil.pid_exists(pid)  # reaped at once: no zombie


def test_exit_is_seen_even_when_a_grandchild_holds_the_channel_open(make_supervisor):
    sup = make_supervisor(config(spec("forker", "tests.workers:fork_and_exit")))
    sup.start("forker")
    events: list = []
    try:
        events = poll_until(sup, lambda evs: bool(exits_of(evs, "forker")), timeout=10.0)
    finally:
        leftovers = wait_ended([pid for _, pid in items_of(events, "forker")], timeout=10.0)
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)
    assert exits_of(events, "forker")[0].exitcode == 0
    assert len(items_of(events, "forker")) == 1
    assert not leftovers  # the worker ended its grandchild on its way out


def test_a_gathering_poll_waits_out_its_timeout_and_brings_every_message(make_supervisor):
    sup = make_supervisor(config(spec("tick", "pulse_supervisor.producers:counter", kwargs={"rate": 200.0})))
    sup.start("tick")
    # Past start_secs, so no policy timer cuts the wait short.
    first = poll_until(sup, lambda evs: reached("tick", State.RUNNING)(evs) and len(items_of(evs, "tick")) > 0)
    assert sup.busiest_bytes() > 0  # bytes read since the supervisor started
    t0 = time.monotonic()
    gathered = sup.poll(0.3, gather=True)  # messages arrive all along, but do not end the wait
    assert time.monotonic() - t0 >= 0.29
    seqs = [seq for seq, _ in items_of(first + gathered, "tick")]
    assert len(seqs) > len(items_of(first, "tick")) and seqs == list(range(len(seqs)))
    assert 0 < sup.busiest_bytes() < 16 * 1024  # what that poll read: a slow channel


def test_a_gathering_poll_still_returns_at_once_on_an_exit(make_supervisor):
    sup = make_supervisor(config(spec("five", "pulse_supervisor.producers:counter", kwargs={"count": 5})))
    sup.start("five")
    t0 = time.monotonic()
    events = []
    while not exits_of(events, "five"):
        events += sup.poll(30.0, gather=True)
    assert time.monotonic() - t0 < 20.0  # the sentinel ended the wait, not the timeout
    assert items_of(events, "five") == [(i, i) for i in range(5)]


@pytest.mark.skipif(not hasattr(os, "nice"), reason="niceness is a POSIX notion")
def test_workers_run_at_their_spec_niceness(make_supervisor):
    base = os.nice(0)
    sup = make_supervisor(
        config(
            spec("nicer", "pulse_supervisor.producers:clock", nice=5), spec("same", "pulse_supervisor.producers:clock")
        )
    )
    sup.start("nicer")
    sup.start("same")
    poll_until(sup, lambda evs: len(items_of(evs, "nicer")) > 0 and len(items_of(evs, "same")) > 0)
    assert psutil.Process(sup.record("nicer").pid).nice() == min(19, base + 5)
    assert psutil.Process(sup.record("same").pid).nice() == base


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="scheduling policies are a Linux notion")
def test_workers_run_under_their_spec_sched_policy(make_supervisor):
    sup = make_supervisor(
        config(
            spec("idle", "pulse_supervisor.producers:clock", sched="idle"),
            spec("batch", "pulse_supervisor.producers:clock", sched="batch"),
            spec("normal", "pulse_supervisor.producers:clock"),
        )
    )
    for name in ("idle", "batch", "normal"):
        sup.start(name)
    # Each worker has applied its policy once it said HELLO. Not its first item: a SCHED_IDLE
    # worker on cores kept busy runs only in the gaps, and its import and first tick may take long.
    poll_until(sup, lambda evs: all(sup.record(n).ready for n in ("idle", "batch", "normal")), timeout=60.0)
    assert os.sched_getscheduler(sup.record("idle").pid) == os.SCHED_IDLE
    assert os.sched_getscheduler(sup.record("batch").pid) == os.SCHED_BATCH
    assert os.sched_getscheduler(sup.record("normal").pid) == os.SCHED_OTHER


def test_start_all_on_a_fleet_is_spread_over_polls_and_reports_as_it_goes(make_supervisor, monkeypatch):

    from pulse_supervisor.core.supervision import policy_shell

    monkeypatch.setattr(policy_shell, "COMMANDS_PER_POLL", 4)
    names = [f"w{i}" for i in range(20)]
    sup = make_supervisor(config(*[spec(n, "pulse_supervisor.producers:counter", kwargs={"rate": 10}) for n in names]))
    sup.start_autostart()
    first = sup.poll(0.0)
    assert len([e for e in first if isinstance(e, StateChanged) and e.state is State.STARTING]) == 4
    assert sup.commands_pending()
    events = poll_until(sup, lambda evs: all(reached(n, State.RUNNING)(evs) for n in names), timeout=30.0)
    assert not sup.commands_pending()
    assert all(states_of(first + events, n)[:2] == [State.STARTING, State.RUNNING] for n in names)


def test_a_start_that_fails_before_a_process_runs_is_that_workers_failure(make_supervisor):
    import threading

    from pulse_supervisor.core.supervision.events import StartFailed

    sup = make_supervisor(config(
        spec("bad", "pulse_supervisor.producers:counter", restart="on-failure", kwargs={"lock": threading.Lock()},
             start_retries=1, backoff_initial=0.01, backoff_max=0.01),
        spec("good", "pulse_supervisor.producers:counter", kwargs={"rate": 50.0}),
    ))  # fmt: skip
    sup.start("good")
    sup.start("bad")
    events = poll_until(sup, reached("bad", State.FATAL), timeout=30.0)
    failed = [e for e in events if isinstance(e, StartFailed)]
    assert [e.worker for e in failed] == ["bad", "bad"] and "cannot pickle" in failed[0].reason
    assert states_of(events, "bad") == [State.EXITED, State.BACKOFF, State.EXITED, State.FATAL]
    (fatal,) = [e for e in events if isinstance(e, StateChanged) and e.state is State.FATAL]
    assert fatal.reason.endswith(f"; the last start failed: {failed[-1].reason}")
    events += poll_until(sup, lambda evs: len(items_of(events + evs, "good")) >= 5, timeout=30.0)
    assert sup.record("good").runtime.state is not State.FATAL and not states_of(events, "good").count(State.EXITED)
