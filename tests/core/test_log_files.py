"""Log files: a bounded number open at once, and a file Pulse had no descriptor for is written again later."""

from __future__ import annotations

import errno
import os

from pulse_supervisor.core.supervision import logfiles
from pulse_supervisor.core.supervision.logfiles import LogFiles


def test_at_most_max_open_files_are_open_and_a_closed_one_is_appended_to(tmp_path):
    files = LogFiles(tmp_path, max_open=2)
    for round_ in range(3):
        for name in ("a", "b", "c", "d"):
            files.write(name, 0.0, "stdout", "INFO", f"{name} {round_}")
            files.flush()
            assert files.open_count <= 2
    files.close()
    for name in ("a", "b", "c", "d"):
        lines = (tmp_path / f"{name}.log").read_text().splitlines()
        assert [line.split()[-2:] for line in lines] == [[name, "0"], [name, "1"], [name, "2"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.log", "b.log", "c.log", "d.log"]


def test_a_file_closed_to_make_room_reopens_where_it_was(tmp_path):
    holder = LogFiles(tmp_path)
    holder.write("w", 0.0, "stdout", "INFO", "the first Pulse")  # holds w.log locked
    second = LogFiles(tmp_path, max_open=1)
    second.write("w", 0.0, "stdout", "INFO", "one")  # w.<pid>.log: w.log is the first one's
    second.write("x", 0.0, "stdout", "INFO", "room")  # closes w's file
    holder.close()  # w.log is free now, but the second one's lines go on in its own file
    second.write("w", 0.0, "stdout", "INFO", "two")
    second.close()
    own = tmp_path / f"w.{os.getpid()}.log"
    assert [line.split()[-1] for line in own.read_text().splitlines()] == ["one", "two"]
    assert "the first Pulse" in (tmp_path / "w.log").read_text()


def test_a_file_not_opened_for_want_of_descriptors_is_written_again_later(tmp_path, monkeypatch):
    real = LogFiles._open_locked
    out = [True]

    def open_locked(self, worker):
        if out[0]:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        return real(self, worker)

    monkeypatch.setattr(LogFiles, "_open_locked", open_locked)
    monkeypatch.setattr(logfiles, "RETRY_S", 3600.0)  # no retry until the test says so
    files = LogFiles(tmp_path)
    files.write("w", 0.0, "stdout", "INFO", "lost 1")
    files.write("w", 0.0, "stdout", "INFO", "lost 2")
    (notice,) = files.take_notices()
    assert notice.level == "WARNING" and "Too many open files" in notice.line and "tried again" in notice.line
    out[0] = False
    files.write("w", 0.0, "stdout", "INFO", "lost 3")  # not yet time to try again
    monkeypatch.setattr(logfiles, "RETRY_S", 0.0)
    files._retry_at["w"] = 0.0
    files.write("w", 0.0, "stdout", "INFO", "kept")
    files.close()
    (back,) = files.take_notices()
    assert back.level == "INFO" and "3 entries before this one are not in it" in back.line
    lines = (tmp_path / "w.log").read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("3 entries missing here: Pulse was out of descriptors") and lines[1].endswith("kept")


def test_out_of_descriptors_a_log_file_takes_the_place_of_another(tmp_path, monkeypatch):
    real = LogFiles._open_locked
    files = LogFiles(tmp_path)
    files.write("a", 0.0, "stdout", "INFO", "a line")
    failures = [1]

    def open_locked(self, worker):
        if failures[0]:
            failures[0] -= 1
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        return real(self, worker)

    monkeypatch.setattr(LogFiles, "_open_locked", open_locked)
    files.write("b", 0.0, "stdout", "INFO", "b line")
    assert files.open_count == 1 and not files.take_notices()  # a's file closed for b's
    files.close()
    assert (tmp_path / "a.log").read_text().endswith("a line\n")
    assert (tmp_path / "b.log").read_text().endswith("b line\n")


def test_a_file_given_up_for_another_reason_stays_given_up(tmp_path):
    os.symlink("/dev/full", tmp_path / "w.log")
    files = LogFiles(tmp_path)
    files.write("w", 0.0, "stdout", "INFO", "x")
    files.flush()
    (notice,) = files.take_notices()
    assert "no longer kept on disk" in notice.line
    files.write("w", 0.0, "stdout", "INFO", "y")
    files.flush()
    assert not files.take_notices() and files.open_count == 0
    files.close()
