"""FrameReader: Connection-framed messages cut out of a non-blocking pipe, many per read."""

from __future__ import annotations

import multiprocessing
import os
import pickle

import pytest

from pulse_supervisor.core.wire.channel import FrameReader


@pytest.fixture
def pipe():
    r, w = multiprocessing.Pipe(duplex=False)
    yield r, w
    for conn in (r, w):
        if not conn.closed:
            conn.close()


def test_reads_every_message_sent_in_one_call_and_never_blocks(pipe):
    r, w = pipe
    frames = FrameReader(r)
    assert frames.read() == ([], False)  # empty pipe: no wait
    sent = [pickle.dumps(("items", i, list(range(i)), 0)) for i in range(50)]
    for data in sent:
        w.send_bytes(data)
    got, eof = frames.read()
    assert got == sent and not eof
    assert frames.total_read == sum(len(d) + 4 for d in sent)


def test_a_frame_bigger_than_a_read_arrives_whole_over_several_reads(pipe):
    r, w = pipe
    frames = FrameReader(r, read_size=1000)
    big = os.urandom(10_000)
    w.send_bytes(big)
    w.send_bytes(b"after")
    got = []
    while len(got) < 2:
        chunk, eof = frames.read()
        assert not eof
        got += chunk
    assert got == [big, b"after"]


def test_the_long_header_form_is_understood(pipe):
    r, w = pipe
    frames = FrameReader(r)
    payload = b"x" * 300
    # Connection writes -1 and an 8-byte length for messages over 2 GiB; build one by hand.
    os.write(w.fileno(), (-1).to_bytes(4, "big", signed=True) + len(payload).to_bytes(8, "big") + payload)
    assert frames.read() == ([payload], False)


def test_end_of_file_drops_a_torn_message_and_says_so(pipe):
    r, w = pipe
    frames = FrameReader(r)
    w.send_bytes(b"whole")
    os.write(w.fileno(), (100).to_bytes(4, "big") + b"only part of it")  # a writer killed mid-message
    w.close()
    assert frames.read(drain=True) == ([b"whole"], True)


def test_bytes_that_are_not_a_frame_raise(pipe):
    r, w = pipe
    frames = FrameReader(r)
    os.write(w.fileno(), (-7).to_bytes(4, "big", signed=True) + b"junk")
    with pytest.raises(ValueError, match="not a frame"):
        frames.read()
