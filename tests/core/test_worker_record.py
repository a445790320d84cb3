"""WorkerRecord.read: one read's messages become events, consecutive item messages one batch."""

from __future__ import annotations

import multiprocessing
import pickle

import pytest

from pulse_supervisor.core.supervision.events import ItemBatch, LogLine, StackDump
from pulse_supervisor.core.supervision.worker_record import WorkerRecord
from pulse_supervisor.core.wire import channel
from pulse_supervisor.core.wire.channel import FrameReader
from tests.helpers import spec


@pytest.fixture
def record():
    rec = WorkerRecord(spec("w", "pulse_supervisor.producers:clock"))
    reader, writer = multiprocessing.Pipe(duplex=False)
    rec.reader, rec.frames = reader, FrameReader(reader)
    yield rec, writer
    writer.close()
    rec.close_channel()


def items(first, values, sent_ns=0):
    return pickle.dumps((channel.ITEMS, first, list(values), sent_ns))


def log(line):
    return pickle.dumps((channel.LOG, "stdout", "INFO", line, 1.5, False))


def read(record, *messages):
    """Send ``messages`` down the channel, then return the events of one read of it."""
    rec, writer = record
    for m in messages:
        writer.send_bytes(m)
    events: list = []
    rec.read(events)
    return events


def summary(events):
    return [
        ("items", e.first_seq, e.items, e.lost_before, e.sent_ns) if isinstance(e, ItemBatch) else (type(e).__name__,)
        for e in events
    ]


def test_consecutive_item_messages_of_one_read_become_one_batch(record):
    events = read(record, items(0, [0, 1], 10), items(2, [2], 20), items(3, [3, 4], 30))
    assert summary(events) == [("items", 0, [0, 1, 2, 3, 4], 0, 30)]  # the newest message's send time
    rec = record[0]
    assert (rec.received, rec.next_seq, rec.lost) == (5, 5, 0)


def test_a_sequence_gap_starts_a_new_batch_that_says_how_many_were_lost(record):
    events = read(record, items(0, [0, 1]), items(5, [5]), items(6, [6]))
    assert summary(events) == [("items", 0, [0, 1], 0, 0), ("items", 5, [5, 6], 3, 0)]
    assert (record[0].received, record[0].lost, record[0].next_seq) == (4, 3, 7)


def test_other_messages_keep_their_place_between_batches(record):
    stack = pickle.dumps((channel.STACK, "Thread 1: ..."))
    events = read(record, items(0, [0]), log("hello"), items(1, [1]), items(2, [2]), stack, items(3, [3]))
    assert summary(events) == [
        ("items", 0, [0], 0, 0),
        ("LogLine",),
        ("items", 1, [1, 2], 0, 0),
        ("StackDump",),
        ("items", 3, [3], 0, 0),
    ]
    assert events[1] == LogLine("w", "stdout", "INFO", "hello", 1.5, False)
    assert events[3] == StackDump("w", "Thread 1: ...")


def test_an_undecodable_message_is_reported_in_place_and_the_rest_still_read(record):
    events = read(record, items(0, [0]), b"\x80\x05not a pickle", items(1, [1]))
    assert summary(events) == [("items", 0, [0], 0, 0), ("LogLine",), ("items", 1, [1], 0, 0)]
    assert events[1].level == "ERROR" and "undecodable message dropped" in events[1].line
    assert record[0].received == 2


def test_bye_counts_what_the_worker_sent_and_what_never_came(record):
    events = read(record, items(0, [0, 1]), pickle.dumps((channel.BYE, 4)))
    # The loss at the end is an event too (an empty batch after a gap), as a loss mid-run is.
    assert summary(events)[0] == ("items", 0, [0, 1], 0, 0)
    assert summary(events)[1][:4] == ("items", 2, [], 2)
    assert (record[0].sent, record[0].lost) == (4, 2)
