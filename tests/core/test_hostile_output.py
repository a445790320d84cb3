"""What a worker prints or logs can never end supervision: bad text, log files that fail."""

from __future__ import annotations

import collections
import os
import re
import stat

import pytest

from pulse_supervisor.core.supervision.events import ItemBatch, LogLine
from pulse_supervisor.core.supervision.logfiles import LogFiles, file_name
from pulse_supervisor.core.supervision.pickled_items import load_batch
from pulse_supervisor.core.wire.item_forms import StandIn
from pulse_supervisor.core.wire.item_text import valid_text
from tests.helpers import config, items_of, poll_until, spec


def logs_of(events, name, stream=None):
    return [e for e in events if isinstance(e, LogLine) and e.worker == name and stream in (None, e.stream)]


def test_lone_surrogates_become_escapes():
    assert valid_text(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert valid_text("x\ud800y") == "x\\ud800y"
    assert valid_text("plain café") == "plain café"


def test_a_worker_logging_a_non_utf8_file_name_leaves_supervision_running(make_supervisor, tmp_path):
    sup = make_supervisor(
        config(
            spec("odd", "tests.workers:surrogate_talker"),
            spec("calm", "pulse_supervisor.producers:counter", kwargs={"rate": 50}),
        )
    )
    sup.log_files = LogFiles(tmp_path)  # written as the supervisor writes them, in a place we can read
    sup.start("odd")
    sup.start("calm")
    events = poll_until(
        sup,
        lambda evs: (
            any("printed caf\\xe9.txt" == e.line for e in logs_of(evs, "odd")) and len(logs_of(evs, "odd")) >= 2
        ),
    )
    assert any(e.line.endswith("file caf\\xe9.txt") for e in logs_of(events, "odd", "logging"))
    before = (len(items_of(events, "odd")), len(items_of(events, "calm")))
    more = poll_until(sup, lambda evs: len(items_of(evs, "odd")) > 3 and len(items_of(evs, "calm")) > 3)
    assert before and items_of(more, "odd") and items_of(more, "calm")
    text = (tmp_path / "odd.log").read_text(encoding="utf-8")  # strict UTF-8: valid all through
    assert "file caf\\xe9.txt" in text
    sup.log_files.close()


def test_a_log_file_on_a_full_disk_is_a_notice_and_the_worker_goes_on(make_supervisor, tmp_path):
    os.symlink("/dev/full", tmp_path / file_name("chatty"))
    sup = make_supervisor(config(spec("chatty", "pulse_supervisor.producers:chatty", kwargs={"interval": 0.01})))
    sup.log_files = LogFiles(tmp_path)
    sup.start("chatty")
    events = poll_until(sup, lambda evs: any(e.stream == "pulse" for e in logs_of(evs, "chatty")))
    (notice,) = [e for e in logs_of(events, "chatty") if e.stream == "pulse"]
    assert notice.level == "WARNING" and "cannot be written" in notice.line and "No space left" in notice.line
    n = len(items_of(events, "chatty"))
    more = poll_until(sup, lambda evs: len(items_of(evs, "chatty")) > 5)
    assert items_of(more, "chatty")[0][0] >= n  # still flowing, in order
    assert not [e for e in logs_of(more, "chatty") if e.stream == "pulse"]  # said once
    sup.log_files.close()


def test_a_log_directory_that_cannot_be_made_is_a_notice(make_supervisor, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    sup = make_supervisor(config(spec("count", "pulse_supervisor.producers:counter", kwargs={"count": 3})))
    sup.log_files = LogFiles(blocker / "logs")
    sup.start("count")
    events = poll_until(sup, lambda evs: len(items_of(evs, "count")) == 3)
    (notice,) = [e for e in logs_of(events, "count") if e.stream == "pulse"]
    assert "cannot be opened" in notice.line and str(blocker / "logs") in notice.line


def test_log_files_are_user_only_and_one_per_name(tmp_path):
    logs = tmp_path / "logs"
    files = LogFiles(logs)
    for name in ("feed/1", "feed 1", "feed_1"):
        files.write(name, 0.0, "stdout", "INFO", name)
    files.close()
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    paths = sorted(logs.iterdir())
    assert len(paths) == 3 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths)
    for name in ("feed/1", "feed 1", "feed_1"):
        assert [p for p in paths if p.read_text().endswith(f" {name}\n")] == [files.path(name)]


def test_a_second_writer_of_the_same_log_gets_a_file_of_its_own(tmp_path):
    first, second = LogFiles(tmp_path), LogFiles(tmp_path)
    first.write("w", 0.0, "stdout", "INFO", "from the first")
    second.write("w", 0.0, "stdout", "INFO", "from the second")
    first.close()
    second.close()
    assert "from the second" not in (tmp_path / "w.log").read_text()
    assert second.path("w") == tmp_path / f"w.{os.getpid()}.log"
    assert "from the second" in second.path("w").read_text()


def test_the_workers_own_logging_set_up_works_as_outside_pulse(make_supervisor, tmp_path):
    path = tmp_path / "feed.log"
    sup = make_supervisor(config(spec("w", "tests.workers:configures_logging", kwargs={"path": str(path)})))
    sup.start("w")
    poll_until(sup, lambda evs: any(type(e).__name__ == "WorkerExited" for e in evs))
    assert path.read_text() == "DEBUG debug line for the file\n"


def test_items_from_a_thread_that_outlives_its_ctx_function_are_delivered(make_supervisor):
    sup = make_supervisor(config(spec("t", "tests.workers:emits_from_a_thread", kwargs={"count": 50})))
    sup.start("t")
    events = poll_until(sup, lambda evs: any(type(e).__name__ == "WorkerExited" for e in evs))
    assert [item for _, item in items_of(events, "t")] == list(range(50))
    assert sup.record("t").lost == 0


def test_an_item_that_does_not_unpickle_here_arrives_as_its_stand_in(make_supervisor):
    sup = make_supervisor(config(spec("mixed", "tests.workers:some_items_do_not_load", kwargs={"count": 1000})))
    sup.start("mixed")
    events = poll_until(sup, lambda evs: any(type(e).__name__ == "WorkerExited" for e in evs))
    got = items_of(events, "mixed")
    assert [seq for seq, _ in got] == list(range(1000))
    odd = {seq: item.type_name for seq, item in got if type(item) is StandIn}
    assert odd == {
        100: "pulse_worker_only_module.Secret",
        500: "tests.workers.LoadsBadly",
        999: "tests.workers.LoadsBadly",
    }
    assert all(seq == item for seq, item in got if seq not in odd)
    rec = sup.record("mixed")
    assert (rec.received, rec.lost, rec.sent) == (1000, 0, 1000)


def test_an_item_the_app_cannot_load_loses_only_itself(make_supervisor):
    sup = make_supervisor(
        config(spec("mixed", "tests.workers:some_items_do_not_load", kwargs={"count": 1000})), objects=True
    )
    sup.start("mixed")
    polled = poll_until(sup, lambda evs: any(type(e).__name__ == "WorkerExited" for e in evs))
    # What QtSupervisor's item loader does with each batch that holds Pickled items:
    events = [e for ev in polled for e in (load_batch(ev) if isinstance(ev, ItemBatch) and ev.stand_ins else [ev])]
    got = items_of(events, "mixed")
    assert [seq for seq, _ in got] == [n for n in range(1000) if n not in (100, 500, 999)]
    assert all(seq == item for seq, item in got)
    assert sum(e.lost_before for e in events if isinstance(e, ItemBatch)) == 3
    # One note per batch that held such items: one batch on a quiet machine, up to three when the
    # worker was preempted mid-stream and its writer sent what it had (seen under load).
    lines = [e.line for e in logs_of(events, "mixed") if e.stream == "pulse"]
    assert lines and all("could not be loaded in this process" in line for line in lines)
    kinds = collections.Counter()
    for line in lines:
        n = int(re.match(r"(\d+) item", line).group(1))
        kinds.update({re.search(r"dropped \(([^)]+)\)", line).group(1): n})
    assert sum(kinds.values()) == 3
    assert set(", ".join(kinds).split(", ")) == {"tests.workers.LoadsBadly", "pulse_worker_only_module.Secret"}


def exited(evs):
    return any(type(e).__name__ == "WorkerExited" for e in evs)


@pytest.mark.parametrize(("then", "signal_name"), [("exit", None), ("segfault", "SIGSEGV"), ("abort", "SIGABRT")])
def test_what_a_worker_wrote_just_before_dying_arrives(make_supervisor, then, signal_name):
    sup = make_supervisor(config(spec("w", "tests.workers:last_words", kwargs={"then": then})))
    sup.start("w")
    events = poll_until(sup, exited)
    assert "last words before the end" in [e.line for e in logs_of(events, "w", "stdout")]
    if signal_name:
        (report,) = [e for e in logs_of(events, "w", "stderr") if e.traceback]
        assert report.line.startswith(
            f"Fatal Python error: {'Segmentation fault' if then == 'segfault' else 'Aborted'}"
        )
        assert "last_words" in report.line  # faulthandler's Python stack names the producer


def test_carriage_return_progress_shows_each_redraw(make_supervisor):
    sup = make_supervisor(config(spec("p", "tests.workers:progress_bar")))
    sup.start("p")
    events = poll_until(sup, exited)
    assert [e.line for e in logs_of(events, "p", "stderr")] == ["working 10%", "working 20%", "working 30%", "done"]


def test_a_20_mb_line_is_cut_with_a_note_and_the_next_line_is_whole(make_supervisor):
    from pulse_supervisor.core.supervision.output_pipe import CUT_NOTE, MAX_LINE_BYTES

    sup = make_supervisor(config(spec("long", "tests.workers:long_line", kwargs={"megabytes": 20})))
    sup.start("long")
    events = poll_until(sup, exited, timeout=30.0)
    lines = [e.line for e in logs_of(events, "long", "stdout")]
    assert lines == ["x" * MAX_LINE_BYTES + CUT_NOTE, "after the long line"]


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_the_text_of_a_huge_bytes_item_is_made_from_its_head_only(kind):
    from pulse_supervisor.core.wire.item_text import item_text

    huge = kind(50 * 1024 * 1024)
    text = item_text(huge)
    assert len(text) <= 200 and text.endswith("… (52,428,800 bytes)" + (")" if kind is bytearray else ""))
    assert item_text(kind(b"abc")) == repr(kind(b"abc"))
    assert item_text([kind(b"ab"), 1]) == repr([kind(b"ab"), 1])
