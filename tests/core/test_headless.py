"""Headless mode and ``--check`` through ``main.py`` in real subprocesses, plus the JSON encoding."""

from __future__ import annotations

import array
import fcntl
import io
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import termios
import textwrap
import threading
import time
import types
from pathlib import Path

import psutil
import pytest

from pulse_supervisor.core.spec import PulseConfig, RestartPolicy, WorkerSpec
from pulse_supervisor.core.supervision.events import (
    DescriptorsLow,
    ItemBatch,
    LogLine,
    StartFailed,
    StateChanged,
    WorkerExited,
)
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.headless.json_items import encode_data
from pulse_supervisor.headless.output import HeadlessOutput
from pulse_supervisor.headless.stream import _StopRequest, event_lines, lines_of, run_headless
from tests.helpers import wait_ended

ROOT = Path(__file__).parents[2]
KEYS = {
    "item": {"type", "worker", "seq", "data"},
    "state": {"type", "worker", "state", "pid"},
    "log": {"type", "worker", "stream", "level", "line"},
    "exit": {"type", "worker", "exitcode", "signal"},
    "stack": {"type", "worker", "text"},
}
COUNT_ONLY = """\
    [[worker]]
    name = "count"
    target = "pulse_supervisor.producers:counter"
    kwargs = { count = 50 }
    restart = "never"
    start_secs = 0.2
"""
CLOCK_ONLY = """\
    [[worker]]
    name = "clock"
    target = "pulse_supervisor.producers:clock"
    kwargs = { interval = 0.1 }
    start_secs = 0.2
    stop_timeout = 3
"""
COUNT_AND_CLOCK = COUNT_ONLY + "\n" + CLOCK_ONLY


class LineReader:
    """Read lines from a pipe with a deadline (select, no sleeping, no thread)."""

    def __init__(self, stream: io.BufferedReader) -> None:
        self._fd = stream.fileno()
        self._buf = b""
        self.eof = False

    def next_line(self, deadline: float) -> str | None:
        """Return the next line without its newline, None at EOF; fail when ``deadline`` passes."""
        while b"\n" not in self._buf:
            if self.eof:
                rest, self._buf = self._buf, b""
                return rest.decode() if rest else None
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                raise AssertionError("timed out waiting for a line from the headless process")
            chunk = os.read(self._fd, 65536)
            self.eof = not chunk
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode()

    def rest(self, deadline: float) -> list[str]:
        """Return every remaining line up to EOF."""
        lines = []
        while (line := self.next_line(deadline)) is not None:
            lines.append(line)
        return lines


def write_config(tmp_path: Path, text: str, name: str = "pulse.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def start_main(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as err_file:
        proc = subprocess.Popen([sys.executable, "main.py", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=err_file)
    return proc, err


def parse(lines: list[str]) -> list[dict]:
    """Parse every line as one JSON object with exactly the keys of its type."""
    records = []
    for line in lines:
        record = json.loads(line)
        expected = KEYS[record["type"]] | ({"traceback"} if record.get("traceback") else set())
        assert set(record) == expected, line
        records.append(record)
    return records


def finish(proc: subprocess.Popen[bytes], reader: LineReader, timeout: float = 20.0) -> list[dict]:
    """Read up to EOF, wait for exit 0 and check every worker pid is gone; return the records."""
    records = parse(reader.rest(time.monotonic() + timeout))
    assert proc.wait(timeout=timeout) == 0
    pids = {r["pid"] for r in records if r["type"] == "state" and r["pid"] is not None}
    assert pids and not wait_ended(pids, timeout=10.0)
    return records


def run_headless_main(tmp_path: Path, config_text: str, duration: str = "1.5") -> tuple[list[dict], str]:
    """Run ``main.py --headless`` on ``config_text`` to the end; return its records and stderr."""
    cfg = write_config(tmp_path, config_text)
    proc, err = start_main(tmp_path, "--headless", "--config", str(cfg), "--duration", duration)
    try:
        with proc.stdout:
            records = finish(proc, LineReader(proc.stdout))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return records, err.read_text()


def states(records: list[dict], worker: str) -> list[str]:
    return [r["state"] for r in records if r["type"] == "state" and r["worker"] == worker]


def of(records: list[dict], kind: str, worker: str) -> list[dict]:
    return [r for r in records if r["type"] == kind and r["worker"] == worker]


# --- whole runs through main.py ----------------------------------------------------------


def test_a_run_ends_by_itself_once_its_workers_are_done(tmp_path: Path) -> None:
    records, stderr = run_headless_main(tmp_path, COUNT_ONLY, duration="60")  # an upper bound
    assert "Traceback" not in stderr
    count_items = of(records, "item", "count")
    assert [r["seq"] for r in count_items] == list(range(50))
    assert all(r["data"] == r["seq"] for r in count_items)
    assert states(records, "count") in (["STARTING", "EXITED"], ["STARTING", "RUNNING", "EXITED"])
    assert [(r["exitcode"], r["signal"]) for r in of(records, "exit", "count")] == [(0, None)]
    assert all(isinstance(r["pid"], int) for r in records if r["type"] == "state" and r["state"] == "STARTING")


def test_duration_stops_what_still_runs_gracefully(tmp_path: Path) -> None:
    # However slow the machine, the clock was started, and stopped gracefully at the duration.
    records, stderr = run_headless_main(tmp_path, CLOCK_ONLY, duration="1.5")
    assert "Traceback" not in stderr
    clock_states = states(records, "clock")
    assert clock_states[0] == "STARTING" and clock_states[-2:] == ["STOPPING", "STOPPED"]
    clock_items = of(records, "item", "clock")
    assert all(isinstance(r["data"], str) for r in clock_items)
    assert [r["seq"] for r in clock_items] == list(range(len(clock_items)))
    assert [(r["exitcode"], r["signal"]) for r in of(records, "exit", "clock")] == [(0, None)]
    running = [r for r in records if r["type"] == "state" and r["state"] in ("STARTING", "RUNNING")]
    assert all(isinstance(r["pid"], int) for r in running)
    assert all(r["pid"] is None for r in records if r["type"] == "state" and r["state"] == "STOPPED")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_every_worker_gracefully(tmp_path: Path, sig: int) -> None:
    cfg = write_config(tmp_path, COUNT_AND_CLOCK)
    proc, err = start_main(tmp_path, "--headless", "--config", str(cfg))
    try:
        with proc.stdout:
            reader = LineReader(proc.stdout)
            deadline = time.monotonic() + 20.0
            seen = []
            while not any(r["type"] == "item" and r["worker"] == "clock" for r in seen):
                seen += parse([reader.next_line(deadline) or ""])
            helpers = psutil.Process(proc.pid).children(recursive=True)  # forkserver and workers
            proc.send_signal(sig)
            records = seen + finish(proc, reader)
        assert not wait_ended(helpers, timeout=10.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert states(records, "clock")[-2:] == ["STOPPING", "STOPPED"]
    assert of(records, "exit", "clock")[-1]["exitcode"] == 0
    assert "Traceback" not in err.read_text()


def test_a_terminal_that_hangs_up_stops_every_worker_gracefully(tmp_path: Path) -> None:
    # As a terminal window or an SSH session that closes: Pulse leads a session whose controlling
    # terminal is a pty, writes there, and the pty's other end closes. SIGHUP, then EIO on writes.
    cfg = write_config(tmp_path, CLOCK_ONLY)
    logs = tmp_path / "logs"
    launcher = (
        "import fcntl, os, sys, termios; fcntl.ioctl(1, termios.TIOCSCTTY, 0); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    master, slave = os.openpty()
    with open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", launcher, "main.py", "--headless", "--config", str(cfg)], cwd=ROOT,
            env=dict(os.environ, PULSE_LOG_DIR=str(logs)), stdin=slave, stdout=slave, stderr=err,
            start_new_session=True,
        )  # fmt: skip
    os.close(slave)
    try:
        seen, deadline = b"", time.monotonic() + 20.0
        while b'"type":"item","worker":"clock"' not in seen:  # the clock runs and its items arrive
            assert select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0], seen
            seen += os.read(master, 65536)
        os.close(master)  # the terminal goes away
        master = -1
        assert proc.wait(timeout=30) == 0
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert (tmp_path / "err.txt").read_text() == ""
    log = (logs / "clock.log").read_text()
    assert "state STOPPED" in log and "ended: exit 0" in log  # a graceful stop, not a kill


def test_a_repeated_hang_up_asks_for_one_graceful_stop() -> None:
    # A hang-up comes twice (the kernel's to the terminal's session, the shell's to its jobs):
    # one graceful stop all the same, where a second SIGINT or SIGTERM kills the workers.
    stop = _StopRequest(types.SimpleNamespace(wake=lambda: None))  # no poll waits: wake is never called
    stop._handle(signal.SIGHUP, None)
    stop._handle(signal.SIGHUP, None)
    assert stop.count == 1
    stop._handle(signal.SIGTERM, None)
    assert stop.count == 2


def test_stdout_and_logging_lines(tmp_path: Path) -> None:
    records, _ = run_headless_main(
        tmp_path,
        """\
        [[worker]]
        name = "chatty"
        target = "pulse_supervisor.producers:chatty"
        kwargs = { interval = 0.01, count = 5 }
        restart = "never"
        """,
        duration="60",  # an upper bound: the run ends once chatty is done
    )
    logs = of(records, "log", "chatty")
    assert any(r["stream"] == "stdout" and r["level"] == "INFO" and r["line"] == "stdout line 0" for r in logs)
    assert any(r["stream"] == "logging" and r["level"] == "INFO" and "logging line 0" in r["line"] for r in logs)
    assert any(r["stream"] == "stderr" and r["line"] == "stderr warning 4" for r in logs)
    assert not any(r.get("traceback") for r in logs)


def test_crash_prints_traceback_and_exit_code(tmp_path: Path) -> None:
    records, _ = run_headless_main(
        tmp_path,
        """\
        [[worker]]
        name = "crashy"
        target = "pulse_supervisor.producers:crashy"
        kwargs = { after = 0.2 }
        restart = "never"
        """,
        duration="10",  # ends early: once the only worker has exited nothing is left to do
    )
    (tb,) = [r for r in of(records, "log", "crashy") if r.get("traceback")]
    assert tb["traceback"] is True and tb["level"] == "ERROR"
    assert tb["line"].startswith("Traceback") and "RuntimeError: simulated failure" in tb["line"]
    assert [(r["exitcode"], r["signal"]) for r in of(records, "exit", "crashy")] == [(1, None)]
    assert states(records, "crashy")[-1] == "EXITED"


def test_closed_stdout_stops_gracefully_without_traceback(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[[worker]]\nname = "flood"\ntarget = "pulse_supervisor.producers:flood"\n')
    proc, err = start_main(tmp_path, "--headless", "--config", str(cfg))
    try:
        reader = LineReader(proc.stdout)
        deadline = time.monotonic() + 20.0
        parse([reader.next_line(deadline) or "" for _ in range(3)])  # like `| head -3`
        proc.stdout.close()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert err.read_text() == ""


# --- in process ---------------------------------------------------------------------------


def test_run_headless_writes_to_any_text_file_and_restores_signal_handlers() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    cfg = PulseConfig(
        workers=(
            WorkerSpec(
                "count", "pulse_supervisor.producers:counter", {"count": 5}, restart=RestartPolicy.NEVER, start_secs=0.1
            ),
            WorkerSpec("idle", "pulse_supervisor.producers:counter", autostart=False),
        ),
        start_method="forkserver",
    )
    out = io.StringIO()
    assert run_headless(cfg, duration=10.0, out=out) == 0  # ends once "count" is done
    records = parse(out.getvalue().splitlines())
    assert [r["data"] for r in of(records, "item", "count")] == [0, 1, 2, 3, 4]
    assert states(records, "count") in (["STARTING", "EXITED"], ["STARTING", "RUNNING", "EXITED"])
    assert not states(records, "idle")
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_encode_data_writes_a_large_item_whole() -> None:
    # Each kind's form: tests/core/test_headless_json.py. A million NaNs are a million tagged NaNs
    # (0.2 s), no longer the whole item's repr.
    huge = json.loads(encode_data([math.nan] * 1_000_000))
    assert len(huge) == 1_000_000 and huge[-1] == {"$float": "nan"}
    assert json.loads(encode_data("é\n")) == "é\n" and encode_data("é").isascii()


def test_event_lines_for_each_event_type() -> None:
    batch = ItemBatch("w", 7, [1, object()], 0, 0)
    first, second = (json.loads(line) for line in event_lines(batch))
    assert first == {"type": "item", "worker": "w", "seq": 7, "data": 1}
    assert second["seq"] == 8 and second["data"]["$repr"].startswith("<object object")
    (line,) = event_lines(StateChanged("w", State.RUNNING, 12, 0.0))
    assert json.loads(line) == {"type": "state", "worker": "w", "state": "RUNNING", "pid": 12}
    (line,) = event_lines(StateChanged("w", State.FATAL, None, 0.0, 3, "5 unexpected exits within 60 s"))
    assert json.loads(line)["reason"] == "5 unexpected exits within 60 s"
    (line,) = event_lines(StateChanged("w", State.RUNNING, 12, 0.0, node="node-7"))
    assert json.loads(line)["node"] == "node-7"
    (line,) = event_lines(LogLine("w", "stderr", "ERROR", "Traceback ...", 0.0, True))
    assert json.loads(line)["traceback"] is True
    (line,) = event_lines(WorkerExited("w", 12, None, 9, 0.0))
    assert json.loads(line) == {"type": "exit", "worker": "w", "exitcode": None, "signal": 9}
    (line,) = event_lines(StartFailed("w", "too many open files: 2 workers hold 230 of 256 descriptors", 0.0))
    assert json.loads(line) == {
        "type": "start_failed",
        "worker": "w",
        "reason": "too many open files: 2 workers hold 230 of 256 descriptors",
    }
    low = DescriptorsLow(2, 230, 256, True)
    (line,) = event_lines(low)
    record = {"type": "descriptors", "low": True, "workers": 2, "open": 230, "limit": 256, "message": low.message}
    assert json.loads(line) == record
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in event_lines(batch))


def test_output_on_a_full_disk_stops_the_workers_gracefully_and_exits_1(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, CLOCK_ONLY)
    logs = tmp_path / "logs"
    env = dict(os.environ, PULSE_LOG_DIR=str(logs))
    with open("/dev/full", "wb") as full, open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.run(
            [sys.executable, "main.py", "--headless", "--config", str(cfg)],
            cwd=ROOT, stdout=full, stderr=err, env=env, timeout=60,
        )  # fmt: skip
    stderr = (tmp_path / "err.txt").read_text()
    assert proc.returncode == 1
    assert "output cannot be written" in stderr and "No space left" in stderr and "Traceback" not in stderr
    log = (logs / "clock.log").read_text()  # the supervisor's own record of the worker
    assert "state STOPPED" in log and "ended: exit 0" in log


def test_output_turns_a_broken_pipe_into_a_flag() -> None:
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    output = HeadlessOutput(Broken())
    output.write(lines_of([StateChanged("w", State.RUNNING, 1, 0.0)]))
    assert output.broken
    output.write(lines_of([StateChanged("w", State.STOPPED, None, 0.0)]))  # silently dropped


# --- --check ------------------------------------------------------------------------------


def run_check(tmp_path: Path, text: str) -> tuple[int, str, str, Path]:
    cfg = write_config(tmp_path, text)
    proc = subprocess.run(
        [sys.executable, "main.py", "--check", "--config", str(cfg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout, proc.stderr, cfg


def test_check_good_config(tmp_path: Path) -> None:
    code, out, err, cfg = run_check(tmp_path, COUNT_AND_CLOCK)
    assert code == 0 and err == ""
    head, *workers = out.splitlines()
    assert head.startswith(f"{cfg}: OK, 2 workers")
    assert [w.split()[:2] for w in workers] == [
        ["count", "pulse_supervisor.producers:counter"],
        ["clock", "pulse_supervisor.producers:clock"],
    ]


def test_check_bad_config_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    code, out, err, cfg = run_check(
        tmp_path,
        """\
        [[worker]]
        name = "a"
        target = "no_such_module_for_pulse:thing"

        [[worker]]
        name = "b"
        target = "pulse_supervisor.producers:clock"
        colour = "red"
        """,
    )
    assert code == 2 and out == ""
    assert err.startswith("2 problems in the config; nothing was started:")
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    assert len(problems) == 2
    pattern = re.compile(rf'{re.escape(str(cfg))}:(\d+): (worker "\w+"\.\w+): (.+)')
    found = [pattern.fullmatch(p) for p in problems]
    assert all(found), problems
    (line1, field1, reason1), (line2, field2, reason2) = (m.groups() for m in found)  # type: ignore[union-attr]
    assert (line1, field1) == ("3", 'worker "a".target') and "no_such_module_for_pulse" in reason1
    assert (line2, field2) == ("8", 'worker "b".colour') and "unknown key 'colour'" in reason2


@pytest.mark.parametrize("args", [["--headless", "--duration", "1"], ["--check"]])
def test_unreadable_config_exits_2_and_starts_nothing(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "missing.toml"
    proc = subprocess.run(
        [sys.executable, "main.py", *args, "--config", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert str(missing) in proc.stderr


@pytest.mark.parametrize("duration", ["-1", "nan", "inf", "1e9", "soon"])
def test_a_duration_that_is_no_time_span_is_refused_before_anything_starts(duration: str, capsys) -> None:
    from pulse_supervisor.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--headless", "--duration", duration])
    assert exit_info.value.code == 2
    assert "--duration" in capsys.readouterr().err


def test_every_line_is_whole_on_a_non_blocking_descriptor_with_a_slow_reader() -> None:
    r, w = os.pipe()
    os.set_blocking(w, False)  # someone else's choice: writes then come back partial or EAGAIN
    received = bytearray()

    def slow_reader() -> None:
        with open(r, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1000):
                received.extend(chunk)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    with open(w, "w", closefd=True) as out:
        output = HeadlessOutput(out)
        batch = ItemBatch("w", 0, list(range(20_000)), 0, 0)
        for n in range(10):
            output.write(lines_of([ItemBatch("w", n * 20_000, batch.items, 0, 0)]))
        assert output.close(timeout=60.0)
    reader.join(timeout=60)
    records = parse(received.decode().splitlines())
    assert [r["seq"] for r in records] == list(range(200_000))


def test_a_stalled_reader_cannot_hold_a_sigterm_off(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[[worker]]\nname = "flood"\ntarget = "tests.workers:flat_out"\n')
    logs = tmp_path / "logs"
    env = dict(os.environ, PULSE_LOG_DIR=str(logs))
    with open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "main.py", "--headless", "--config", str(cfg)], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
    try:
        # Never read: wait until the pipe is full, so Pulse's writes are stuck behind the reader.
        fd = proc.stdout.fileno()
        capacity = fcntl.fcntl(fd, 1032)  # F_GETPIPE_SZ
        deadline = time.monotonic() + 30
        while _bytes_waiting(fd) < capacity - 4096:  # less than a page free: the writer waits
            assert time.monotonic() < deadline, "the pipe never filled"
            select.select([], [], [], 0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 1  # one signal was enough
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
    assert "reader stalled" in (tmp_path / "err.txt").read_text()
    log = logs / "flood.log"
    assert "state STOPPED" in log.read_text() and "ended: exit 0" in log.read_text()  # a graceful stop


def _bytes_waiting(fd: int) -> int:
    waiting = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, waiting)
    return waiting[0]
