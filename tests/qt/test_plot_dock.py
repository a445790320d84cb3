"""The plot dock: numeric series, bounded buffers, timer-driven redraws, selection, pause, colours."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.events import ItemBatch, LogLine
from app.qt.plot_dock import MAX_SPREAD_S, PALETTE, PlotDock
from app.qt.series import SeriesBuffer, fit_y_range, numeric_columns

SECOND = 1_000_000_000


@pytest.fixture
def dock(qtbot):
    dock = PlotDock(max_points=100)
    qtbot.addWidget(dock)
    return dock


def batch(dock: PlotDock, worker: str, items: list, at_s: float, first_seq: int = 0) -> ItemBatch:
    """A batch received ``at_s`` seconds after the dock was created."""
    received = dock.origin_ns + int(at_s * SECOND)
    return ItemBatch(worker, first_seq, items, sent_ns=received, received_ns=received)


def curve_data(dock: PlotDock, name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = dock.curve(name).getOriginalDataset()
    return (np.array([]) if x is None else x), (np.array([]) if y is None else y)


def test_dock_identity(dock):
    assert dock.windowTitle() == "Plot"
    assert dock.objectName() == "plot_dock"
    assert dock.plot_item.getAxis("bottom").labelText == "time (s)"


def test_numbers_make_one_series_per_worker_spread_over_time(dock):
    dock.append_events([batch(dock, "sine", [1, 2.5], at_s=1.0), batch(dock, "count", [7], at_s=1.0)])
    dock.append_events([batch(dock, "sine", [3.0, 4.0, 5.0, 6.0], at_s=1.4)])
    assert dock.series_names() == ["sine", "count"]
    buf = dock.buffer("sine")
    np.testing.assert_array_equal(buf.y, [1, 2.5, 3, 4, 5, 6])
    # The first batch lands at its receive time; the next spreads evenly back to it.
    np.testing.assert_allclose(buf.x, [1.0, 1.0, 1.1, 1.2, 1.3, 1.4])
    np.testing.assert_array_equal(dock.buffer("count").y, [7])
    dock.redraw()
    x, y = curve_data(dock, "sine")
    np.testing.assert_array_equal(y, buf.y)
    np.testing.assert_allclose(x, buf.x)


def test_spread_is_capped_after_a_quiet_spell(dock):
    dock.append_events([batch(dock, "w", [0.0], at_s=1.0)])
    dock.append_events([batch(dock, "w", [1.0, 2.0], at_s=31.0)])
    np.testing.assert_allclose(dock.buffer("w").x, [1.0, 31.0 - MAX_SPREAD_S / 2, 31.0])


def test_dicts_make_one_series_per_key(dock):
    items = [{"temp": 21.0, "humidity": 45}, {"temp": 21.5, "humidity": 46}]
    dock.append_events([batch(dock, "sensors", items, at_s=1.0)])
    assert dock.series_names() == ["sensors.temp", "sensors.humidity"]
    np.testing.assert_array_equal(dock.buffer("sensors.temp").y, [21.0, 21.5])
    np.testing.assert_array_equal(dock.buffer("sensors.humidity").y, [45, 46])


def test_dicts_with_differing_keys_and_non_numbers(dock):
    items = [{"a": 1, "label": "x"}, {"b": 2.0}, "junk", {"a": 3, "flag": True}, {"a": None}]
    dock.append_events([batch(dock, "w", items, at_s=5.0)])
    assert dock.series_names() == ["w.a", "w.b"]
    np.testing.assert_array_equal(dock.buffer("w.a").y, [1, 3])
    np.testing.assert_array_equal(dock.buffer("w.b").y, [2.0])


@pytest.mark.parametrize(
    "items",
    [["2024-01-01 12:00:00"], [(0, 1.0, 2.0)], [True, False], [None], [[1, 2]], [{"s": "text"}], [{}]],
    ids=["str", "tuple", "bool", "none", "list", "dict-of-str", "empty-dict"],
)
def test_non_numeric_items_are_ignored(dock, items):
    dock.append_events([batch(dock, "w", items, at_s=1.0)])
    assert dock.series_names() == []
    assert not dock.redraw_timer.isActive()


def test_other_events_are_ignored(dock):
    dock.append_events([LogLine("w", "stdout", "INFO", "42", 0.0), batch(dock, "w", [], at_s=1.0)])
    assert dock.series_names() == []


def test_mixed_batch_keeps_the_numbers_in_their_slots(dock):
    dock.append_events([batch(dock, "w", [0.0], at_s=1.0)])
    dock.append_events([batch(dock, "w", [1, "x", True, 2**2000, np.float32(4.0), None, 6.5, 7], at_s=1.8)])
    buf = dock.buffer("w")
    np.testing.assert_array_equal(buf.y, [0.0, 1.0, 4.0, 6.5, 7.0])
    # Items 1, 5, 7 and 8 of 8, spread over 0.8 s.
    np.testing.assert_allclose(buf.x, [1.0, 1.1, 1.5, 1.7, 1.8])


def test_buffers_stay_bounded_and_keep_the_newest(qtbot):
    dock = PlotDock()  # the default max_points
    qtbot.addWidget(dock)
    capacity = None
    for i in range(100):
        items = list(range(i * 10_000, (i + 1) * 10_000))
        dock.append_events([batch(dock, "flood", items, at_s=i * 0.01 + 1.0)])
        buf = dock.buffer("flood")
        capacity = capacity or buf.capacity
        assert buf.capacity == capacity
        assert len(buf.x) == len(buf.y) == dock.max_points
    np.testing.assert_array_equal(buf.y, np.arange(1_000_000 - dock.max_points, 1_000_000))
    assert np.all(np.diff(buf.x) > 0)
    dock.redraw()
    x, y = curve_data(dock, "flood")
    assert len(x) == len(y) == dock.max_points


def test_many_small_batches_wrap_the_buffer(dock):
    for i in range(37):
        dock.append_events([batch(dock, "w", list(range(i * 7, i * 7 + 7)), at_s=1.0 + i)])
    buf = dock.buffer("w")
    assert len(buf) == dock.max_points == 100
    np.testing.assert_array_equal(buf.y, np.arange(37 * 7 - 100, 37 * 7))
    assert buf.total == 37 * 7


def test_series_buffer_unit():
    buf = SeriesBuffer(4)
    buf.extend(np.array([1.0, 2.0]), np.array([10.0, 20.0]))
    buf.extend(np.array([3.0, 4.0, 5.0]), np.array([30.0, 40.0, 50.0]))
    np.testing.assert_array_equal(buf.y, [20, 30, 40, 50])
    buf.extend(np.arange(6.0, 16.0), np.arange(60.0, 160.0, 10.0))
    np.testing.assert_array_equal(buf.x, [12, 13, 14, 15])
    assert buf.capacity == 8 and buf.total == 15
    buf.clear()
    assert len(buf) == 0 and buf.total == 0
    with pytest.raises(ValueError):
        SeriesBuffer(0)


def test_numeric_columns_fast_paths():
    [(key, indices, ys)] = numeric_columns([1, 2, 3.5])
    assert key is None and indices is None and ys.dtype == np.float64
    cols = numeric_columns([{"a": 1, "b": "s"}, {"a": 2, "b": "t"}])
    assert [(k, i, list(y)) for k, i, y in cols] == [("a", None, [1.0, 2.0])]
    assert numeric_columns(["1.5"]) == []


def test_redraws_ride_the_timer_not_each_append(dock, qtbot):
    for i in range(50):
        dock.append_events([batch(dock, "w", [float(i)], at_s=1.0 + i / 100)])
    assert dock.redraw_count == 0  # nothing drawn inside append_events
    assert dock.redraw_timer.isActive()
    qtbot.waitUntil(lambda: dock.redraw_count >= 1, timeout=2000)
    assert dock.redraw_count == 1
    assert not dock.redraw_timer.isActive()  # idle: no further redraws, no wake-ups
    x, y = curve_data(dock, "w")
    np.testing.assert_array_equal(y, np.arange(50.0))


def test_selection_hides_and_shows_curves(dock):
    dock.append_events(
        [batch(dock, "a", [1.0], at_s=1.0), batch(dock, "b", [{"k": 2.0, "m": 3.0}], at_s=1.0)],
    )
    dock.redraw()
    assert all(dock.curve(n).isVisible() for n in dock.series_names())
    dock.set_selected(["b"])
    assert not dock.curve("a").isVisible()
    assert dock.curve("b.k").isVisible() and dock.curve("b.m").isVisible()
    assert [label.text for _, label in dock.legend.items] == ["b.k", "b.m"]
    # Hidden series still buffer, and catch up once shown again.
    dock.append_events([batch(dock, "a", [5.0], at_s=2.0), batch(dock, "c", [9.0], at_s=2.0)])
    assert not dock.curve("c").isVisible()
    dock.redraw()
    assert list(curve_data(dock, "a")[1]) == [1.0]
    dock.set_selected([])
    assert all(dock.curve(n).isVisible() for n in dock.series_names())
    assert len(dock.legend.items) == 4
    dock.redraw()
    assert list(curve_data(dock, "a")[1]) == [1.0, 5.0]


def test_pause_buffers_but_freezes_curves(dock, qtbot):
    dock.append_events([batch(dock, "w", [1.0, 2.0], at_s=1.0)])
    dock.redraw()
    dock.pause_button.click()
    assert dock.paused
    for i in range(20):
        dock.append_events([batch(dock, "w", [float(i)] * 10, at_s=2.0 + i)])
    assert not dock.redraw_timer.isActive()
    dock.redraw()  # even a direct call leaves the curves alone
    assert list(curve_data(dock, "w")[1]) == [1.0, 2.0]
    assert dock.buffer("w").total == 202 and len(dock.buffer("w")) == 100
    count = dock.redraw_count
    dock.pause_button.click()
    assert not dock.paused
    assert dock.redraw_count == count + 1
    np.testing.assert_array_equal(curve_data(dock, "w")[1], dock.buffer("w").y)


def test_colours_follow_first_appearance_and_stay(dock):
    dock.append_events([batch(dock, "b", [1.0], at_s=1.0), batch(dock, "a", [{"x": 1, "y": 2}], at_s=1.0)])
    assert [dock.colour(n) for n in ("b", "a.x", "a.y")] == list(PALETTE[:3])
    dock.set_selected(["a"])
    dock.clear_button.click()
    dock.set_selected([])
    dock.append_events([batch(dock, "c", [1.0], at_s=2.0), batch(dock, "b", [2.0], at_s=2.0)])
    assert [dock.colour(n) for n in ("b", "a.x", "a.y", "c")] == list(PALETTE[:4])
    assert dock.curve("a.y").opts["pen"].color().name() == PALETTE[2]


def test_clear_empties_buffers_and_curves(dock):
    dock.append_events([batch(dock, "w", [1.0, 2.0], at_s=1.0)])
    dock.redraw()
    dock.clear_button.click()
    assert len(dock.buffer("w")) == 0
    assert len(curve_data(dock, "w")[1]) == 0
    dock.append_events([batch(dock, "w", [3.0], at_s=2.0)])
    dock.redraw()
    assert list(curve_data(dock, "w")[1]) == [3.0]


def test_window_follows_the_newest_point(dock):
    for at_s in (80.0, 85.0, 95.0, 100.0):
        dock.append_events([batch(dock, "w", [at_s], at_s=at_s)])
    dock.redraw()
    (x0, x1), _ = dock.plot_item.getViewBox().viewRange()
    assert (x0, x1) == pytest.approx((90.0, 100.0))
    shown_x, _ = dock.curve("w").getData()  # clipped to the view, the newest point included
    assert list(shown_x) == [85.0, 95.0, 100.0]
    dock.set_window(60.0)
    (x0, x1), _ = dock.plot_item.getViewBox().viewRange()
    assert (x0, x1) == pytest.approx((40.0, 100.0))
    dock.set_window(None)
    assert dock.plot_item.getViewBox().autoRangeEnabled()[0]


def test_paints_without_warnings(dock, qtbot):
    dock.show()
    qtbot.waitExposed(dock)
    items = [np.nan, 1.0, float("inf"), -2.0] * 50 + list(np.linspace(0, 1, 300))
    dock.append_events([batch(dock, "w", items, at_s=1.0), batch(dock, "d", [{"k": 1.0}], at_s=1.0)])
    dock.append_events([batch(dock, "nan", [np.nan, np.nan], at_s=2.0), batch(dock, "w", [3.0], at_s=2.0)])
    dock.redraw()
    assert not dock.grab().isNull()  # renders the plot, legend and axes now
    dock.set_window(None)
    assert not dock.grab().isNull()
    dock.set_selected(["nan"])
    dock.redraw()
    assert not dock.grab().isNull()
    dock.clear()
    dock.redraw()
    assert not dock.grab().isNull()


def test_fit_y_range_moves_only_when_the_data_leaves_or_shrinks():
    buf = SeriesBuffer(100)
    buf.extend(np.arange(10.0), np.array([0.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 10.0]))
    assert fit_y_range([buf], 5.0, None) == pytest.approx((3.4, 10.6))  # points 5..9 only: 4..10, padded
    assert fit_y_range([buf], 5.0, (0.0, 11.0)) == (0.0, 11.0)  # inside, and spans over half: kept
    assert fit_y_range([buf], 5.0, (0.0, 30.0)) == pytest.approx((3.4, 10.6))  # spans under half: refit
    assert fit_y_range([buf], 0.0, (3.4, 10.6)) == pytest.approx((-1.0, 11.0))  # 0.0 left it: refit
    flat = SeriesBuffer(10)
    flat.extend(np.array([1.0, 2.0]), np.array([np.nan, 3.0]))
    assert fit_y_range([flat], 0.0, None) == pytest.approx((1.5, 4.5))  # a flat line, nan skipped
    assert fit_y_range([flat], 5.0, (0.0, 1.0)) == (0.0, 1.0)  # nothing in view: unchanged


def test_slow_frames_slow_the_redraws_down_within_bounds(dock):
    from app.qt.plot_dock import MAX_REDRAW_INTERVAL_MS, PLOT_SHARE, REDRAW_INTERVAL_MS

    widget = dock.plot_widget
    dock._redraw_s, widget.paint_s = 0.0005, 0.0005
    assert dock.redraw_interval_ms() == REDRAW_INTERVAL_MS  # cheap frames: full frame rate
    dock._redraw_s, widget.paint_s = 0.004, 0.006
    assert dock.redraw_interval_ms() == PLOT_SHARE * 10  # 10 ms frames: the plot keeps to its share
    widget.paint_s = 1.0
    assert dock.redraw_interval_ms() == MAX_REDRAW_INTERVAL_MS
    dock.append_events([batch(dock, "w", [1.0], at_s=1.0)])
    assert dock.redraw_timer.interval() == MAX_REDRAW_INTERVAL_MS  # the next redraw waits that long
    dock.redraw_timer.stop()
