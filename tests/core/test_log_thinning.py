"""Thinning a flood of log lines: each worker's newest lines, one exact note for the rest, nothing else moved."""

from __future__ import annotations

from pulse_supervisor.core.supervision.events import ItemBatch, LinesSkipped, LogLine, StateChanged
from pulse_supervisor.core.supervision.log_thinning import MIN_KEPT, count_lines, thin_lines
from pulse_supervisor.core.supervision.policy import State


def lines(worker: str, n: int, start: int = 0) -> list[LogLine]:
    return [LogLine(worker, "stdout", "INFO", f"line {i}", 1000.0 + i) for i in range(start, start + n)]


def always(_worker: str) -> bool:
    return True


def texts(events) -> list[str]:
    return [
        e.line if type(e) is LogLine else f"skipped {e.count}" for e in events if type(e) in (LogLine, LinesSkipped)
    ]


def test_under_the_budget_nothing_changes():
    events = [*lines("a", 10), ItemBatch("a", 0, [1], 0, 0), *lines("b", 10)]
    assert thin_lines(events, 20, always) is events


def test_a_flood_keeps_its_newest_lines_and_one_note_with_the_exact_count_in_place_of_the_rest():
    state = StateChanged("a", State.RUNNING, 1, 0.0)
    batch = ItemBatch("a", 0, [1, 2], 0, 0)
    events = [*lines("a", 50), state, *lines("a", 50, 50), batch]
    out = thin_lines(events, 20, always)
    note = next(e for e in out if type(e) is LinesSkipped)
    assert (note.worker, note.count, note.in_file) == ("a", 80, True)
    assert note.time == 1000.0 + 79  # the last line left out
    assert note.message == "80 lines not shown; all are in the log file"
    assert texts(out) == ["skipped 80"] + [f"line {i}" for i in range(80, 100)]
    assert out.index(state) < out.index(note) < out.index(batch)  # every other event keeps its place
    assert [e for e in out if type(e) is not LogLine and type(e) is not LinesSkipped] == [state, batch]


def test_workers_share_the_budget_and_the_quiet_ones_keep_every_line():
    events = [*lines("loud", 1000), *lines("quiet", 5), *lines("other", 1000)]
    out = thin_lines(events, 105, always)
    kept = {w: sum(1 for e in out if type(e) is LogLine and e.worker == w) for w in ("loud", "quiet", "other")}
    assert kept == {"loud": 50, "quiet": 5, "other": 50}
    skipped = {e.worker: e.count for e in out if type(e) is LinesSkipped}
    assert skipped == {"loud": 950, "other": 950}  # exact: kept + skipped is what each printed
    assert count_lines(out) == 105


def test_many_workers_each_keep_a_few_lines_rather_than_a_note_for_a_handful():
    events = [line for i in range(100) for line in lines(f"w{i}", MIN_KEPT + 1)]
    assert thin_lines(events, 50, always) == events  # a note in place of one line saves nothing
    events = [line for i in range(100) for line in lines(f"w{i}", 3 * MIN_KEPT)]
    out = thin_lines(events, 50, always)
    assert all(e.count == 2 * MIN_KEPT for e in out if type(e) is LinesSkipped)
    assert count_lines(out) == 100 * MIN_KEPT


def test_tracebacks_and_pulses_own_notes_are_never_left_out():
    tb = LogLine("a", "stderr", "ERROR", "Traceback ...", 999.0, True)
    own = LogLine("a", "pulse", "ERROR", "channel corrupted, closed", 999.5)
    out = thin_lines([tb, own, *lines("a", 100)], 10, always)
    assert out[:2] == [tb, own]
    assert texts(out[2:]) == ["skipped 90"] + [f"line {i}" for i in range(90, 100)]


def test_thinning_again_leaves_one_note_a_worker_with_the_sum():
    once = thin_lines(lines("a", 100), 10, always)
    again = thin_lines([*once, *lines("a", 100, 100)], 10, always)
    notes = [e for e in again if type(e) is LinesSkipped]
    assert [(n.worker, n.count) for n in notes] == [("a", 190)]
    assert texts(again) == ["skipped 190"] + [f"line {i}" for i in range(190, 200)]


def test_lines_whose_log_file_was_given_up_are_said_to_be_kept_nowhere():
    out = thin_lines(lines("a", 100), 10, lambda worker: worker != "a")
    note = next(e for e in out if type(e) is LinesSkipped)
    assert not note.in_file
    assert note.message == "90 lines not shown; its log file is not being written, so they are not kept anywhere"
