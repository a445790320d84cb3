"""WorkerStatuses: what the events say about each worker, folded where they arrive."""

from __future__ import annotations

import multiprocessing
import pickle

from pulse_supervisor.core.supervision.events import CountersReset, ItemBatch, LogLine, StateChanged, WorkerExited
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.supervision.worker_record import WorkerRecord
from pulse_supervisor.core.supervision.worker_status import WorkerStatuses
from pulse_supervisor.core.wire import channel
from pulse_supervisor.core.wire.channel import FrameReader
from tests.helpers import spec


def test_events_fold_into_state_exit_counts_and_traceback():
    statuses = WorkerStatuses(
        [spec("a", "pulse_supervisor.producers:clock"), spec("b", "pulse_supervisor.producers:clock")]
    )
    statuses.fold(
        [
            StateChanged("a", State.RUNNING, 42, 0.0, restarts=1),
            ItemBatch("a", 0, [1, 2, 3], 0, 0),
            ItemBatch("a", 5, [6], 0, 0, lost_before=2),
            LogLine("a", "stderr", "ERROR", "Traceback ...\nValueError: x", 0.0, traceback=True),
            WorkerExited("a", 42, 1, None, 0.0),
            StateChanged("a", State.FATAL, None, 0.0, restarts=1, reason="3 exits"),
            ItemBatch("gone", 0, [1], 0, 0),  # a worker removed meanwhile: ignored
        ]
    )
    a, b = statuses["a"], statuses["b"]
    assert (a.state, a.pid, a.restarts, a.fatal_reason) == (State.FATAL, None, 1, "3 exits")
    assert (a.received, a.lost, a.sent, a.last_exit) == (4, 2, 6, (1, None))
    assert a.last_traceback.endswith("ValueError: x")
    assert (b.state, b.received, b.last_exit) == (State.STOPPED, 0, None)
    a.reset_counters()
    assert (a.received, a.lost, a.restarts, a.state) == (0, 0, 0, State.FATAL)


def test_names_follow_adds_removes_and_a_new_config_keeping_what_stays():
    statuses = WorkerStatuses([spec("a", "pulse_supervisor.producers:clock")])
    statuses.fold([StateChanged("a", State.RUNNING, 7, 0.0), ItemBatch("a", 0, [1], 0, 0)])
    statuses.add(spec("b", "pulse_supervisor.producers:clock"))
    assert statuses.names() == ["a", "b"]
    changed = spec("a", "pulse_supervisor.producers:clock", kwargs={"interval": 0.5})
    statuses.replace_specs([spec("c", "pulse_supervisor.producers:clock"), changed])
    assert statuses.names() == ["c", "a"] and "b" not in statuses
    assert statuses["a"].spec is changed and (statuses["a"].state, statuses["a"].received) == (State.RUNNING, 1)
    statuses.remove("a")
    assert statuses.get("a") is None and len(statuses) == 1


def test_the_counts_folded_from_a_records_events_match_the_record_even_for_a_loss_at_the_end():
    rec = WorkerRecord(spec("w", "pulse_supervisor.producers:clock"))
    reader, writer = multiprocessing.Pipe(duplex=False)
    rec.reader, rec.frames = reader, FrameReader(reader)
    try:
        for message in (
            (channel.ITEMS, 0, [0, 1], 0),
            (channel.ITEMS, 4, [4], 0),  # 2 and 3 never came
            (channel.BYE, 8),  # nor did 5..7, the run's last ones
        ):
            writer.send_bytes(pickle.dumps(message))
        events: list = []
        rec.read(events, drain=True)
    finally:
        writer.close()
        rec.close_channel()
    statuses = WorkerStatuses([rec.spec])
    statuses.fold(events)
    status = statuses["w"]
    assert (status.received, status.lost, status.sent) == (rec.received, rec.lost, rec.sent) == (3, 5, 8)


def test_a_counters_reset_counts_only_what_comes_after_it():
    statuses = WorkerStatuses([spec("a", "pulse_supervisor.producers:clock")])
    statuses.fold([StateChanged("a", State.RUNNING, 42, 0.0, restarts=2), ItemBatch("a", 0, [1, 2, 3], 0, 0)])
    statuses.fold([ItemBatch("a", 4, [5], 0, 0, lost_before=1), CountersReset("a", 0.0), ItemBatch("a", 5, [6], 0, 0)])
    a = statuses["a"]
    assert (a.received, a.lost, a.restarts, a.state) == (1, 0, 0, State.RUNNING)
