"""WorkerWatch: a gathering wait blocks on exits and the wake pipe only, then reads every channel."""

from __future__ import annotations

import multiprocessing
import pickle

from pulse_supervisor.core.supervision.events import ItemBatch
from pulse_supervisor.core.supervision.worker_record import WorkerRecord
from pulse_supervisor.core.supervision.worker_watch import WorkerWatch
from pulse_supervisor.core.wire.channel import FrameReader
from tests.helpers import spec


def record_with_channel(name):
    rec = WorkerRecord(spec(name, "pulse_supervisor.producers:clock"))
    reader, writer = multiprocessing.Pipe(duplex=False)
    rec.reader, rec.frames = reader, FrameReader(reader)
    return rec, writer


def test_gathering_ignores_channel_data_until_the_wait_ends_then_reads_all():
    wake_r, wake_w = multiprocessing.Pipe(duplex=False)
    watch = WorkerWatch(wake_r)
    a, wa = record_with_channel("a")
    b, wb = record_with_channel("b")
    for w, seq in ((wa, 0), (wb, 0), (wa, 1)):
        w.send_bytes(pickle.dumps(("items", seq, [seq], 0)))
    events: list = []
    assert watch.wait([a, b], 0.05, events, gather=True) == []  # timed out: data did not end it
    got = sorted((e.worker, e.first_seq, e.items) for e in events if isinstance(e, ItemBatch))
    assert got == [("a", 0, [0, 1]), ("b", 0, [0])]  # one read's consecutive messages: one batch
    assert watch.busiest_bytes([a, b]) > watch.busiest_bytes([a, b]) == 0  # since the last call
    wa.send_bytes(pickle.dumps(("items", 2, [2], 0)))
    events = []
    watch.wait([a, b], None, events)  # not gathering: the data itself ends the wait
    assert [e.first_seq for e in events] == [2]
    wake_w.send_bytes(b"w")
    assert watch.wait([a, b], None, [], gather=True) == []  # the wake pipe ends a gathering wait
    for conn in (wa, wb, wake_w, wake_r, a.reader, b.reader):
        conn.close()
