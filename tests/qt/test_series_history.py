"""The plot's history by time: min/max buckets per window, bounded memory, breaks at new runs."""

from __future__ import annotations

import numpy as np
import pytest

from pulse_supervisor.qt.window.plot.series import fit_y_range, numeric_columns
from pulse_supervisor.qt.window.plot.series_history import ALL_CAPACITY, BUCKETS_PER_WINDOW, BucketLevel, SeriesHistory


def test_points_in_one_bucket_keep_their_min_and_max():
    level = BucketLevel(1.0, 4)
    level.extend(np.array([0.1, 0.5, 1.2, 3.3]), np.array([1.0, 5.0, 2.0, 3.0]))
    assert list(level.idx) == [0, 1, 3]
    assert list(level.lo) == [1.0, 2.0, 3.0] and list(level.hi) == [5.0, 2.0, 3.0]
    x, y = level.polyline(None)
    assert list(x) == [0.5, 0.5, 1.5, 3.5] and list(y) == [1.0, 5.0, 2.0, 3.0]  # min then max
    level.extend(np.array([3.9]), np.array([-1.0]))  # same bucket as the newest: merged
    assert list(level.idx) == [0, 1, 3] and level.lo[-1] == -1.0 and level.hi[-1] == 3.0


def test_a_fixed_level_keeps_by_time_not_by_count():
    level = BucketLevel(1.0, 4)
    level.extend(np.array([0.5, 1.5]), np.array([0.0, 1.0]))
    level.extend(np.array([10.5]), np.array([2.0]))  # 10 s later: the old buckets are out of range
    assert list(level.idx) == [10]
    level.extend(np.arange(11.5, 30.5), np.arange(19.0))
    assert list(level.idx) == [26, 27, 28, 29] and len(level) == level.capacity


def test_nan_is_a_gap_and_does_not_hide_numbers():
    level = BucketLevel(1.0, 8)
    level.extend(np.array([0.2, 0.4, 1.5, 2.5]), np.array([np.nan, 2.0, np.nan, 3.0]))
    assert list(level.lo[[0, 2]]) == [2.0, 3.0] and np.isnan(level.lo[1])
    assert level.y_bounds(None) == (2.0, 3.0)


def test_a_new_run_breaks_the_line():
    level = BucketLevel(1.0, 8)
    level.extend(np.array([0.5, 1.5]), np.array([1.0, 2.0]))
    level.extend(np.array([5.5, 6.5]), np.array([7.0, 8.0]), new_run=True)
    x, y = level.polyline(None)
    assert list(x) == [0.5, 1.5, 5.5, 5.5, 6.5]
    np.testing.assert_array_equal(y, [1.0, 2.0, np.nan, 7.0, 8.0])
    level.extend(np.array([6.7]), np.array([9.0]), new_run=True)  # a run starting in the newest bucket
    assert list(level.idx) == [0, 1, 5, 6] and list(level.brk) == [False, False, True, True]


def test_the_all_level_coarsens_and_never_forgets_the_start():
    level = BucketLevel(1.0, 8, adaptive=True)
    for i in range(1000):
        level.extend(np.array([i + 0.5]), np.array([float(i)]))
        assert len(level) <= level.capacity
    assert level.width_s == 128.0
    assert level.oldest_x() == 0.0 and level.y_bounds(None) == (0.0, 999.0)


def test_a_crash_loop_does_not_blow_up_the_all_level():
    level = BucketLevel(1.0, 8, adaptive=True)
    for i in range(200):  # one item per run, a run a second: every bucket starts a run
        level.extend(np.array([i + 0.5]), np.array([float(i)]), new_run=True)
        assert len(level) <= level.capacity
    assert level.width_s <= 64.0  # coarsened as the span needs, not once per run


def test_series_history_windows_show_what_they_say():
    history = SeriesHistory()
    rate, seconds = 2000, 120
    for second in range(seconds):  # 2 000 points a second for two minutes
        x = second + np.arange(1, rate + 1) / rate
        history.extend(x, np.sin(x))
    now = float(seconds)
    for window in (10.0, 60.0):
        level = history.level(window)
        x, _ = level.polyline(now - window)
        assert x[0] == pytest.approx(now - window, abs=window / BUCKETS_PER_WINDOW)
        assert x[-1] == pytest.approx(now, abs=window / BUCKETS_PER_WINDOW)
        assert len(x) <= 2 * (BUCKETS_PER_WINDOW + 1)
    everything = history.level(None)
    assert everything.oldest_x() == 0.0 and len(everything) <= ALL_CAPACITY
    assert history.total == rate * seconds
    lo, hi = history.level(10.0).y_bounds(now - 10.0)
    assert lo == pytest.approx(-1.0, abs=1e-3) and hi == pytest.approx(1.0, abs=1e-3)  # every peak kept


def test_series_history_turns_inf_into_gaps():
    history = SeriesHistory()
    history.extend(np.array([1.0, 2.0, 3.0]), np.array([1.0, np.inf, -np.inf]))
    x, y = history.level(10.0).polyline(None)
    assert y[0] == 1.0 and np.isnan(y[1:]).all()


def test_bad_levels_are_refused():
    with pytest.raises(ValueError):
        BucketLevel(0.0, 10)
    with pytest.raises(ValueError):
        BucketLevel(1.0, 1)


def test_fit_y_range_moves_only_when_the_data_leaves_or_shrinks():
    assert fit_y_range([(4.0, 10.0)], None) == pytest.approx((3.4, 10.6))
    assert fit_y_range([(4.0, 10.0)], (0.0, 11.0)) == (0.0, 11.0)  # inside, and spans over half: kept
    assert fit_y_range([(4.0, 10.0)], (0.0, 30.0)) == pytest.approx((3.4, 10.6))  # under half: refit
    assert fit_y_range([(0.0, 5.0), (4.0, 10.0)], (3.4, 10.6)) == pytest.approx((-1.0, 11.0))  # left it
    assert fit_y_range([(3.0, 3.0)], None) == pytest.approx((1.5, 4.5))  # a flat line gets a range
    assert fit_y_range([], (0.0, 1.0)) == (0.0, 1.0)


def test_numeric_columns_fast_paths_and_key_filter():
    [(key, indices, ys)] = numeric_columns([1, 2, 3.5])
    assert key is None and indices is None and ys.dtype == np.float64
    cols = numeric_columns([{"a": 1, "b": "s"}, {"a": 2, "b": "t"}])
    assert [(k, i, list(y)) for k, i, y in cols] == [("a", None, [1.0, 2.0])]
    assert numeric_columns(["1.5"]) == []
    asked = []
    wide = [{f"k{i}": i for i in range(1000)}] * 3
    cols = numeric_columns(wide, lambda k: asked.append(k) or k in ("k1", "k7"))
    assert [k for k, _, _ in cols] == ["k1", "k7"] and len(asked) == 1000
    mixed = [{"a": 1, "b": 2}, {"b": 3}, "junk"]
    assert [k for k, _, _ in numeric_columns(mixed, lambda k: k == "b")] == ["b"]


@pytest.mark.parametrize("seed", range(5))
def test_points_one_at_a_time_make_the_buckets_a_batch_makes(seed):
    rng = np.random.default_rng(seed)
    xs = np.cumsum(rng.choice([0.0, 0.3, 1.0, 2.5, 40.0], size=400, p=[0.2, 0.3, 0.3, 0.18, 0.02]))
    ys = np.where(rng.random(400) < 0.1, np.nan, rng.normal(size=400))
    runs = rng.random(400) < 0.05
    one_by_one, reference = BucketLevel(1.0, 16), []
    for x, y, run in zip(xs, ys, runs, strict=True):
        one_by_one.extend(np.array([x]), np.array([y]), new_run=bool(run))
        reference.append((x, y, run))
    # The same points from scratch: buckets of the newest 16 s, min/max ignoring NaN, breaks kept.
    newest = int(xs[-1] // 1.0)
    expected: dict[int, list] = {}
    for k, (x, y, run) in enumerate(reference):
        i = int(x // 1.0)
        lo, hi, brk = expected.get(i, [np.nan, np.nan, False])
        expected[i] = [np.fmin(lo, y), np.fmax(hi, y), brk or (run and k > 0)]
    kept = sorted(i for i in expected if i > newest - 16)
    assert list(one_by_one.idx) == kept
    np.testing.assert_array_equal(one_by_one.lo, [expected[i][0] for i in kept])
    np.testing.assert_array_equal(one_by_one.hi, [expected[i][1] for i in kept])
    assert list(one_by_one.brk) == [expected[i][2] for i in kept]
