"""OutputReader: lines from a worker's stdout or stderr, bounded, however the bytes arrive."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from pulse_supervisor.core.supervision.output_pipe import CUT_NOTE, MAX_LINE_BYTES, OutputReader


@pytest.fixture
def pipe():
    r, w = multiprocessing.Pipe(duplex=False)
    reader = OutputReader(r)
    yield reader, w.fileno(), w
    reader.close()
    if not w.closed:
        w.close()


def test_lines_end_at_newline_crlf_split_across_reads_and_lone_cr(pipe):
    reader, fd, _ = pipe
    os.write(fd, b"one\ntwo\r")
    assert reader.read() == (["one", "two"], False)
    os.write(fd, b"\nthree\rfour")  # the \n completes two's \r\n: no empty line
    assert reader.read() == (["three"], False)
    os.write(fd, b"\n")
    assert reader.read() == (["four"], False)


def test_a_last_line_without_newline_comes_at_end_of_file(pipe):
    reader, fd, w = pipe
    os.write(fd, b"partial")
    assert reader.read() == ([], False)
    w.close()
    assert reader.read() == (["partial"], True)


def test_a_line_longer_than_the_cap_is_cut_once_and_memory_stays_bounded(pipe):
    reader, fd, w = pipe
    lines: list[str] = []
    for _ in range(8):  # 512 KiB of one line, in reads
        os.write(fd, b"y" * 65536)
        lines += reader.read(drain=True)[0]
        assert len(reader._partial) <= MAX_LINE_BYTES
    os.write(fd, b"\nnext\n")
    lines += reader.read(drain=True)[0]
    assert lines == ["y" * MAX_LINE_BYTES + CUT_NOTE, "next"]


def test_invalid_utf8_is_escaped(pipe):
    reader, fd, _ = pipe
    os.write(fd, b"caf\xe9\n")
    assert reader.read() == (["caf\\xe9"], False)
