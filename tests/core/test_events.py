"""merge_batches: a worker's consecutive gap-free batches become one, order per worker kept."""

from __future__ import annotations

from pulse_supervisor.core.supervision.events import ItemBatch, LogLine, merge_batches


def batch(worker, first, items, lost=0):
    return ItemBatch(worker, first, list(items), sent_ns=first, received_ns=first + 1, lost_before=lost)


def test_consecutive_batches_of_a_worker_merge():
    a1, a2, a3 = batch("a", 0, [0, 1]), batch("a", 2, [2]), batch("a", 3, [3, 4])
    (merged,) = merge_batches([a1, a2, a3])
    assert (merged.first_seq, merged.items, merged.sent_ns) == (0, [0, 1, 2, 3, 4], 3)
    assert a1.items == [0, 1]  # the original batch's list is not modified


def test_other_workers_interleave_but_each_keeps_its_order():
    out = merge_batches([batch("a", 0, [0]), batch("b", 0, ["x"]), batch("a", 1, [1]), batch("b", 1, ["y"])])
    assert [(e.worker, e.items) for e in out] == [("a", [0, 1]), ("b", ["x", "y"])]


def test_a_gap_or_another_event_of_the_worker_ends_the_run():
    log = LogLine("a", "stdout", "INFO", "hello", 0.0)
    out = merge_batches([batch("a", 0, [0]), log, batch("a", 1, [1]), batch("a", 5, [5], lost=3)])
    assert [type(e).__name__ for e in out] == ["ItemBatch", "LogLine", "ItemBatch", "ItemBatch"]
    assert out[3].lost_before == 3 and out[3].first_seq == 5


def test_kept_runs_name_each_run_and_what_was_dropped_before_it():
    from pulse_supervisor.core.supervision.events import kept_runs

    assert kept_runs(5, []) == [(0, 5, 0)]
    assert kept_runs(5, [1, 2]) == [(0, 1, 0), (3, 5, 2)]
    assert kept_runs(5, [2, 4]) == [(0, 2, 0), (3, 4, 1), (5, 5, 1)]  # a loss at the end: said now
    assert kept_runs(5, [0, 1, 2, 3, 4]) == [(5, 5, 5)]
