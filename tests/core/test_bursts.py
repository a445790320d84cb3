"""BurstWatch: how long the first item after a quiet spell waits for the rest of its burst."""

from __future__ import annotations

import pytest

from pulse_supervisor.core.supervision.bursts import HOLD_MARGIN_S, MAX_HOLD_S, WINDOW_S, BurstWatch
from pulse_supervisor.core.supervision.events import ItemBatch


def sent(worker: str, at: float) -> ItemBatch:
    """One item from ``worker``, sent at ``at`` seconds on the monotonic clock."""
    return ItemBatch(worker, 0, ["x"], int(at * 1e9), int(at * 1e9))


def test_a_lone_stream_is_never_held():
    watch = BurstWatch()
    for second in range(5):
        assert watch.lead([sent("only", 100.0 + second)], now=100.0 + second) == 0.0


def test_after_a_burst_of_several_workers_the_next_first_item_waits_for_the_rest():
    watch = BurstWatch()
    assert watch.lead([sent("a", 100.000)], now=100.0002) == 0.0  # nothing seen before: out at once
    watch.follow([sent("b", 100.001), sent("c", 100.003)])  # the rest of it, 3 ms from its first
    # A second later the same workers: the first is held for the last burst's spread and a margin,
    # counted from when it was sent.
    hold = watch.lead([sent("b", 101.000)], now=101.0005)
    assert hold == pytest.approx(0.003 * 1.25 + HOLD_MARGIN_S - 0.0005, abs=1e-6)


def test_the_hold_never_passes_half_a_frame():
    watch = BurstWatch()
    watch.lead([sent("a", 100.000)], now=100.000)
    watch.follow([sent("b", 100.015)])  # within the frame: part of the burst, 15 ms wide
    assert watch.lead([sent("a", 101.0)], now=101.0) == pytest.approx(MAX_HOLD_S)
    assert MAX_HOLD_S <= 0.5 / 60


def test_items_sent_a_frame_after_the_first_are_not_part_of_its_burst():
    watch = BurstWatch()
    watch.lead([sent("a", 100.000)], now=100.000)
    watch.follow([sent("b", 100.000 + WINDOW_S + 0.001)])  # another worker, but the next frame's
    assert watch.lead([sent("a", 101.0)], now=101.0) == 0.0


def test_one_worker_sending_twice_is_not_a_burst():
    watch = BurstWatch()
    watch.lead([sent("a", 100.000)], now=100.000)
    watch.follow([sent("a", 100.004)])
    assert watch.lead([sent("a", 101.0)], now=101.0) == 0.0


def test_a_first_item_read_late_is_not_held_past_its_time():
    watch = BurstWatch()
    watch.lead([sent("a", 100.000)], now=100.000)
    watch.follow([sent("b", 100.002)])
    assert watch.lead([sent("a", 101.000)], now=101.050) == 0.0  # the consumer came late: no more waiting
