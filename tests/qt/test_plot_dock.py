"""The plot dock: series, time before now, breaks at new runs, live series, legend, zoom, messages."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

from pulse_supervisor.core.supervision.events import ItemBatch, LogLine, StateChanged, WorkersChanged
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.plot.plot_dock import (
    MAX_REDRAW_INTERVAL_MS,
    PLOT_SHARE,
    REDRAW_INTERVAL_MS,
    SLIDE_MS,
    PlotDock,
)
from pulse_supervisor.qt.window.plot.plot_series import (
    MAX_AUTO_SERIES,
    MAX_KEYS_PER_WORKER,
    MAX_SPREAD_S,
    PALETTE,
    colour_of,
)

SECOND = 1_000_000_000
T0 = 1000 * SECOND  # the fixed clock's start


@pytest.fixture
def dock(qtbot):
    dock = PlotDock()
    dock.now_ns = lambda: dock.clock_ns
    dock.clock_ns = T0
    dock.resize(700, 350)
    qtbot.addWidget(dock)
    return dock


def batch(worker: str, items: list, at_s: float, first_seq: int = 0) -> ItemBatch:
    """A batch received ``at_s`` seconds after T0."""
    received = T0 + int(at_s * SECOND)
    return ItemBatch(worker, first_seq, items, sent_ns=received, received_ns=received)


def starting(worker: str) -> StateChanged:
    return StateChanged(worker, State.STARTING, 1234, 0.0)


def at(dock: PlotDock, seconds: float) -> None:
    """Move the dock's clock to ``seconds`` after T0."""
    dock.clock_ns = T0 + int(seconds * SECOND)


def points(dock: PlotDock, name: str, window: float | None = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """The (x since T0, y) of every kept bucket of ``name`` (one point per bucket for single values)."""
    x, y = dock.data.series[name].history.level(window).polyline(None, shift_s=T0 / SECOND)
    return x, y


def drawn(dock: PlotDock, name: str) -> tuple[np.ndarray, np.ndarray]:
    """What the line of ``name`` shows: x in seconds before the last redraw, y."""
    return dock.shown_data(name)


def test_dock_identity_and_a_fixed_axis_from_the_start(dock):
    assert dock.windowTitle() == "Plot"
    assert dock.objectName() == "plot_dock"
    assert dock.plot_item.getAxis("bottom").labelText == "seconds before now"
    dock.redraw()
    (x0, x1), _ = dock.view_box.viewRange()
    assert (x0, x1) == pytest.approx((-10.0, 0.0))
    assert "No items yet" in dock.empty_label.text()


def test_numbers_make_one_series_per_worker_spread_over_time(dock):
    dock.append_events([batch("sine", [1, 2.5], at_s=1.0), batch("count", [7], at_s=1.0)])
    dock.append_events([batch("sine", [3.0, 4.0, 5.0, 6.0], at_s=1.4)])
    assert dock.series_names() == ["sine", "count"]
    x, y = points(dock, "sine")
    # Buckets of 10 ms: the first batch lands at its receive time, the next spreads back to it.
    np.testing.assert_array_equal(y, [1, 2.5, 3, 4, 5, 6])
    np.testing.assert_allclose(x, [1.005, 1.005, 1.105, 1.205, 1.305, 1.405])
    at(dock, 2.0)
    dock.redraw()
    x, y = drawn(dock, "sine")
    np.testing.assert_array_equal(y, [1, 2.5, 3, 4, 5, 6])
    np.testing.assert_allclose(x, [-0.995, -0.995, -0.895, -0.795, -0.695, -0.595])  # seconds before now


def test_spread_is_capped_after_a_quiet_spell(dock):
    dock.append_events([batch("w", [0.0], at_s=1.0)])
    dock.append_events([batch("w", [1.0, 2.0], at_s=31.0)])
    x, _ = points(dock, "w", window=None)  # 50 ms buckets
    np.testing.assert_allclose(x, [1.025, 31.0 - MAX_SPREAD_S / 2 + 0.025, 31.025])


def test_dicts_make_one_series_per_key(dock):
    items = [{"temp": 21.0, "humidity": 45}, {"temp": 21.5, "humidity": 46}]
    dock.append_events([batch("sensors", items, at_s=1.0)])
    assert dock.series_names() == ["sensors.temp", "sensors.humidity"]
    assert list(points(dock, "sensors.humidity")[1]) == [45, 46]


def test_dicts_with_differing_keys_and_non_numbers(dock):
    items = [{"a": 1, "label": "x"}, {"b": 2.0}, "junk", {"a": 3, "flag": True}, {"a": None}]
    dock.append_events([batch("w", items, at_s=5.0)])
    assert dock.series_names() == ["w.a", "w.b"]
    assert list(points(dock, "w.a")[1]) == [1, 3] and list(points(dock, "w.b")[1]) == [2.0]


@pytest.mark.parametrize(
    ("items", "kind"),
    [(["2024-01-01 12:00:00"], "str"), ([(0, 1.0)], "tuple"), ([True], "bool"), ([None], "NoneType"),
     ([[1, 2]], "list"), ([{"s": "text"}], "dict"), ([{}], "dict")],
    ids=["str", "tuple", "bool", "none", "list", "dict-of-str", "empty-dict"],
)  # fmt: skip
def test_non_numeric_items_are_not_plotted_and_the_plot_says_why(dock, items, kind):
    dock.append_events([batch("w", items, at_s=1.0)])
    assert dock.series_names() == []
    assert not dock.redraw_timer.isActive()
    dock.set_selected(["w"])
    assert dock.empty_label.isVisibleTo(dock)
    assert f"No numeric items from w: its items are {kind}." in dock.empty_label.text()


def test_other_events_are_ignored(dock):
    dock.append_events([LogLine("w", "stdout", "INFO", "42", 0.0), batch("w", [], at_s=1.0)])
    assert dock.series_names() == []


def test_mixed_batch_keeps_the_numbers_in_their_slots(dock):
    dock.append_events([batch("w", [0.0], at_s=1.0)])
    dock.append_events([batch("w", [1, "x", True, 2**2000, np.float32(4.0), None, 6.5, 7], at_s=1.8)])
    x, y = points(dock, "w")
    np.testing.assert_array_equal(y, [0.0, 1.0, 4.0, 6.5, 7.0])
    np.testing.assert_allclose(x, [1.005, 1.105, 1.505, 1.705, 1.805])  # items 1, 5, 7, 8 of 8 over 0.8 s


def test_a_new_run_breaks_the_line(dock):
    dock.append_events([batch("w", [1.0, 2.0], at_s=1.0)])
    # Stopped at 1 s, started again at 9 s: one emit may carry the end of a run and the next.
    dock.append_events([batch("w", [3.0], at_s=1.5), starting("w"), batch("w", [4.0, 5.0], at_s=9.0)])
    at(dock, 9.0)
    dock.redraw()
    _, y = drawn(dock, "w")
    np.testing.assert_array_equal(y, [1.0, 2.0, 3.0, np.nan, 4.0, 5.0])
    assert dock.curve("w").opts["connect"] == "finite"


def test_each_window_shows_the_time_it_says(dock):
    for second in range(120):  # 2 000 items a second for two minutes
        dock.append_events([batch("fast", list(np.arange(2000.0) + 2000 * second), at_s=second + 1.0)])
    at(dock, 120.0)
    for window, label in ((10.0, "Last 10 s"), (60.0, "Last 60 s"), (None, "All")):
        dock.set_window(window)
        dock.redraw()
        assert dock.window_combo.currentText() == label
        x, _ = drawn(dock, "fast")
        span = 120.0 if window is None else window
        assert x[0] == pytest.approx(-span, abs=0.1 * span) and x[-1] == pytest.approx(0.0, abs=0.1)
        assert len(x) <= 2 * 2000 + 10  # bounded: min/max per bucket, whatever the rate
        (x0, x1), _ = dock.view_box.viewRange()
        assert x1 == 0.0 and x0 == pytest.approx(-span, abs=0.1 * span)


def test_only_live_workers_show_and_removed_ones_leave_no_ghost(dock):
    dock.append_events([WorkersChanged(("a", "b")), batch("a", [1.0], at_s=1.0), batch("b", [2.0], at_s=1.0)])
    dock.redraw()
    assert dock.shown_names() == ["a", "b"] and dock.legend.names() == ["a", "b"]
    old_curve = dock.curve("a")
    dock.append_events([WorkersChanged(("b", "c")), batch("c", [3.0], at_s=2.0)])
    dock.redraw()
    assert dock.series_names() == ["b", "c"] and dock.shown_names() == ["b", "c"]
    assert old_curve not in dock.plot_item.listDataItems()


def test_many_series_show_a_few_and_say_so(dock):
    names = [f"w{i:02}" for i in range(MAX_AUTO_SERIES + 3)]
    dock.append_events([WorkersChanged(tuple(names))] + [batch(n, [1.0], at_s=1.0) for n in names])
    dock.redraw()
    assert dock.shown_names() == names[:MAX_AUTO_SERIES]
    assert dock.note_label.isVisibleTo(dock)
    assert f"{MAX_AUTO_SERIES} of {len(names)} series shown: select workers" in dock.note_label.text()
    dock.set_selected(names[-2:])
    assert dock.shown_names() == names[-2:] and not dock.note_label.isVisibleTo(dock)


def test_series_with_nothing_in_the_window_give_way_to_live_ones(dock):
    names = [f"w{i:02}" for i in range(MAX_AUTO_SERIES)]
    dock.append_events([batch(n, [1.0], at_s=1.0) for n in names])
    dock.append_events([batch("late", [5.0], at_s=30.0)])
    at(dock, 31.0)
    dock.redraw()
    assert dock.shown_names() == ["late"]  # the first eight stopped 30 s ago; the 10 s window is late's


def test_with_nothing_selected_live_workers_take_the_places_first(dock):
    names = [f"w{i:02}" for i in range(MAX_AUTO_SERIES + 1)]
    dock.append_events([WorkersChanged(tuple(names))] + [batch(n, [1.0], at_s=1.0) for n in names])
    dock.append_events([StateChanged(n, State.RUNNING, 100 + i, 0.0) for i, n in enumerate(names[1:])])
    dock.append_events([StateChanged(names[0], State.FATAL, None, 0.0)])  # crashed after its items
    dock.redraw()
    assert dock.shown_names() == names[1:]  # every RUNNING one, in order; the FATAL one left out
    assert f"{MAX_AUTO_SERIES} of {len(names)} series shown" in dock.note_label.text()


def test_the_empty_message_follows_the_items_as_they_arrive(dock, qtbot):
    dock.show()
    qtbot.waitExposed(dock)
    dock.set_selected(["flood"])
    assert dock.empty_label.text().startswith("No items from flood yet.")
    dock.append_events([starting("flood"), batch("flood", [(0, 1.0)] * 1000, at_s=1.0)])  # Start pressed
    qtbot.waitUntil(
        lambda: "No numeric items from flood: its items are tuple." in dock.empty_label.text(), timeout=5000
    )
    count = dock.redraw_count
    dock.append_events([batch("flood", [(0, 1.0)] * 1000, at_s=1.1)])  # the same message: no redraw for it
    assert not dock.redraw_timer.isActive() and dock.redraw_count == count
    dock.append_events([batch("flood", ["text"], at_s=1.2)])
    qtbot.waitUntil(lambda: "its items are str." in dock.empty_label.text(), timeout=5000)


def test_a_dict_with_many_keys_makes_a_bounded_number_of_series_and_says_so(dock):
    wide = [{f"k{i}": float(i) for i in range(1000)} for _ in range(5)]
    dock.append_events([batch("wide", wide, at_s=1.0)])
    assert dock.series_names() == [f"wide.k{i}" for i in range(MAX_KEYS_PER_WORKER)]
    dock.set_selected(["wide"])
    assert f"wide: the first {MAX_KEYS_PER_WORKER} keys are plotted, 984 more are not" in dock.note_label.text()
    dock.append_events([batch("wide", wide, at_s=2.0)])
    assert len(dock.series_names()) == MAX_KEYS_PER_WORKER


def test_the_legend_sits_beside_the_plot_and_hides_a_line_on_click(dock, qtbot):
    dock.show()
    qtbot.waitExposed(dock)
    dock.append_events([batch("a", [1.0], at_s=1.0), batch("b", [2.0], at_s=1.0)])
    dock.redraw()
    legend, plot = dock.legend.geometry(), dock.plot_widget.geometry()
    assert not legend.intersects(plot)
    item = dock.legend.item(1)
    assert item.text() == "b" and item.checkState() == Qt.CheckState.Checked
    rect = dock.legend.visualItemRect(item)
    qtbot.mouseClick(dock.legend.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.left() + 10, rect.center().y()))
    qtbot.waitUntil(lambda: not dock.curve("b").isVisible(), timeout=5000)  # its checkbox
    assert dock.curve("a").isVisible() and dock.legend.hidden == {"b"}
    qtbot.mouseClick(dock.legend.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: dock.curve("b").isVisible(), timeout=5000)  # its name
    qtbot.mouseClick(dock.legend.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not dock.curve("b").isVisible(), timeout=5000)
    dock.legend.set_hidden("b", False)
    assert dock.curve("b").isVisible()
    dock.legend.set_hidden("a", True)
    dock.legend.set_hidden("b", True)
    assert "Every line is hidden" in dock.empty_label.text()


def test_zooming_pauses_and_resume_returns_to_the_window(dock, qtbot):
    dock.show()
    qtbot.waitExposed(dock)
    dock.append_events([batch("w", [1.0, 5.0], at_s=1.0)])
    at(dock, 2.0)
    dock.redraw()
    assert dock.pause_button.text() == "Pause"
    dock.view_box.scaleBy((0.5, 0.5))  # what the wheel does...
    dock.view_box.sigRangeChangedManually.emit(dock.view_box.state["mouseEnabled"])  # ...and says
    assert dock.paused and dock.pause_button.text() == "Resume"
    zoomed = dock.view_box.viewRange()
    dock.append_events([batch("w", [9.0], at_s=2.0)])
    assert dock.view_box.viewRange() == zoomed and not dock.redraw_timer.isActive()
    dock.pause_button.click()
    assert dock.pause_button.text() == "Pause"
    (x0, x1), (y0, y1) = dock.view_box.viewRange()
    assert (x0, x1) == pytest.approx((-10.0, 0.0)) and y0 < 1.0 and y1 > 9.0


def test_pause_keeps_data_but_freezes_lines(dock):
    dock.append_events([batch("w", [1.0, 2.0], at_s=1.0)])
    dock.redraw()
    dock.pause_button.click()
    assert dock.paused and dock.pause_button.text() == "Resume"
    dock.append_events([batch("w", [3.0], at_s=2.0)])
    assert not dock.redraw_timer.isActive()
    dock.redraw()  # even a direct call leaves the lines alone
    assert list(drawn(dock, "w")[1]) == [1.0, 2.0]
    count = dock.redraw_count
    dock.pause_button.click()
    assert dock.redraw_count == count + 1 and list(drawn(dock, "w")[1]) == [1.0, 2.0, 3.0]


def test_colours_are_stable_per_name_and_distinct(dock, qtbot):
    dock.append_events([batch("b", [1.0], at_s=1.0), batch("a", [{"x": 1, "y": 2}], at_s=1.0)])
    colours = {n: dock.colour(n) for n in dock.series_names()}
    assert len(set(colours.values())) == 3 and set(colours.values()) <= set(PALETTE)
    assert colours["b"] == colour_of("b")  # the same in every launch
    other = PlotDock()
    qtbot.addWidget(other)
    other.append_events([batch("a", [{"y": 2, "x": 1}], at_s=1.0), batch("b", [1.0], at_s=1.0)])
    assert {n: other.colour(n) for n in other.series_names()} == colours  # whatever the order
    dock.append_events([starting("b"), batch("b", [2.0], at_s=5.0)])
    assert dock.colour("b") == colours["b"]  # and across runs
    assert dock.curve("a.y").opts["pen"].color().name() == colours["a.y"]


def test_colours_follow_the_name_whatever_arrives_first(qtbot):
    # Two workers whose names hash to one colour: each keeps its own, in either order of arrival.
    first = next(n for n in (f"x{i}" for i in range(100)) if colour_of(n) == colour_of("sine"))
    colours = []
    for order in (["sine", first], [first, "sine"]):
        dock = PlotDock()
        qtbot.addWidget(dock)
        dock.append_events([batch(n, [1.0], at_s=1.0) for n in order])
        colours.append({n: dock.colour(n) for n in order})
    assert colours[0] == colours[1] == {"sine": colour_of("sine"), first: colour_of(first)}


def test_numbered_workers_take_consecutive_colours():
    colours = [colour_of(f"c{i}") for i in range(1, len(PALETTE) + 1)]
    assert len(set(colours)) == len(PALETTE)  # c1 to c20: every colour once, whatever else runs
    assert PALETTE.index(colours[1]) == (PALETTE.index(colours[0]) + 1) % len(PALETTE)


def test_the_16_lines_of_one_worker_never_share_a_colour(dock):
    others = [f"w{i}" for i in range(12)]
    dock.append_events([batch(n, [1.0], at_s=1.0) for n in others])  # colours taken by other workers
    keys = [f"k{i}" for i in range(MAX_KEYS_PER_WORKER)] + ["temp", "humidity", "wind"]
    dock.append_events([batch("wide", [{k: 1.0 for k in keys}], at_s=1.0)])
    mine = [dock.colour(n) for n in dock.series_names() if n.startswith("wide.")]
    assert len(mine) == MAX_KEYS_PER_WORKER == len(set(mine))
    sensors = [{"temp": 1.0, "humidity": 2.0, "wind": 3.0}]
    dock.append_events([batch("sensors", sensors, at_s=1.0)])  # the demo's: temp and wind hash alike
    assert len({dock.colour(f"sensors.{k}") for k in sensors[0]}) == 3


def _lab(colour: str) -> tuple[float, float, float]:
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.maximum(xyz / [0.95047, 1.0, 1.08883], 0.008856))
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _ciede2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """The CIEDE2000 colour difference (Sharma, Wu and Dalal's formulation)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    c1, c2 = np.hypot(a1 * (1 + g), b1), np.hypot(a2 * (1 + g), b2)
    h1, h2 = (np.degrees(np.arctan2(b, a * (1 + g))) % 360 for a, b in ((a1, b1), (a2, b2)))
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    dl, dc, dhh = l2 - l1, c2 - c1, 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    l_mean, c_mean2 = (l1 + l2) / 2, (c1 + c2) / 2
    h_mean = h1 + h2 if c1 * c2 == 0 else (h1 + h2) / 2 + (180 if abs(h1 - h2) > 180 else 0)
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))  # fmt: skip
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * c_mean2, 1 + 0.015 * c_mean2 * t
    rt = (
        -np.sin(np.radians(60 * np.exp(-((((h_mean % 360) - 275) / 25) ** 2))))
        * 2
        * np.sqrt(c_mean2**7 / (c_mean2**7 + 25**7))
    )
    return float(np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh)))


def test_the_palette_is_distinct_on_white():
    assert _ciede2000(_lab("#d62728"), _lab("#8c564b")) == pytest.approx(16.2, abs=0.05)  # tab10's closest
    labs = [_lab(c) for c in PALETTE]
    closest = min(_ciede2000(a, b) for i, a in enumerate(labs) for b in labs[i + 1 :])
    assert len(PALETTE) > MAX_KEYS_PER_WORKER and closest >= 16.2
    assert all(30 <= lab[0] <= 75 for lab in labs)  # none too light to see on white, none black
    assert [colour_of(n) for n in ("sine", "sensors.temp", "sensors.humidity")] == [PALETTE[0], PALETTE[1], PALETTE[3]]


def test_clear_empties_every_line(dock):
    dock.append_events([batch("w", [1.0, 2.0], at_s=1.0)])
    dock.redraw()
    dock.clear_button.click()
    assert len(drawn(dock, "w")[1]) == 0
    dock.append_events([batch("w", [3.0], at_s=2.0)])
    dock.redraw()
    assert list(drawn(dock, "w")[1]) == [3.0]


def test_redraws_ride_the_timer_then_slide_until_the_data_is_out_of_view(dock, qtbot):
    dock.show()
    qtbot.waitExposed(dock)
    for i in range(50):
        dock.append_events([batch("w", [float(i)], at_s=1.0 + i / 100)])
    assert dock.redraw_count == 0 and dock.redraw_timer.isActive()  # nothing drawn inside append_events
    qtbot.waitUntil(lambda: dock.redraw_count >= 1, timeout=5000)
    assert dock.redraw_count == 1 and not dock.redraw_timer.isActive()
    assert dock.slide_timer.isActive() and dock.slide_timer.interval() == SLIDE_MS[10.0]
    at(dock, 30.0)  # the data is now 29 s old: out of the 10 s window
    with qtbot.waitSignal(dock.slide_timer.timeout, timeout=5000):
        pass
    assert not dock.slide_timer.isActive() and not dock.redraw_timer.isActive()  # idle: no wake-ups
    assert "No numeric items in the last 10 s." in dock.empty_label.text()


def test_a_hidden_plot_does_not_draw_and_catches_up_when_shown(dock, qtbot):
    dock.append_events([batch("w", [1.0], at_s=1.0)])
    assert not dock.redraw_timer.isActive() and dock.redraw_count == 0  # never shown: nothing to draw
    dock.show()
    qtbot.waitExposed(dock)
    qtbot.waitUntil(lambda: dock.redraw_count == 1, timeout=5000)
    dock.hide()
    dock.append_events([batch("w", [2.0], at_s=2.0)])
    assert not dock.redraw_timer.isActive()
    dock.show()
    qtbot.waitUntil(lambda: dock.redraw_count == 2, timeout=5000)
    assert list(drawn(dock, "w")[1]) == [1.0, 2.0]


def test_paints_without_warnings(dock, qtbot):
    dock.show()
    qtbot.waitExposed(dock)
    items = [np.nan, 1.0, float("inf"), -2.0] * 50 + list(np.linspace(0, 1, 300))
    dock.append_events([batch("w", items, at_s=1.0), batch("d", [{"k": 1.0}], at_s=1.0)])
    dock.append_events([batch("nan", [np.nan, np.nan], at_s=2.0), starting("w"), batch("w", [3.0], at_s=2.0)])
    for window in (10.0, 60.0, None):
        dock.set_window(window)
        assert not dock.grab().isNull()
    dock.set_selected(["nan"])
    assert not dock.grab().isNull()
    dock.clear()
    assert not dock.grab().isNull()


def test_slow_frames_slow_the_redraws_down_within_bounds(dock, qtbot):
    widget = dock.plot_widget
    dock._redraw_s, widget.paint_s = 0.0005, 0.0005
    assert dock.redraw_interval_ms() == REDRAW_INTERVAL_MS  # cheap frames: full frame rate
    dock._redraw_s, widget.paint_s = 0.004, 0.006
    assert dock.redraw_interval_ms() == PLOT_SHARE * 10  # 10 ms frames: the plot keeps to its share
    widget.paint_s = 1.0
    assert dock.redraw_interval_ms() == MAX_REDRAW_INTERVAL_MS
    dock.show()
    qtbot.waitExposed(dock)
    dock.append_events([batch("w", [1.0], at_s=1.0)])
    assert dock.redraw_timer.interval() == MAX_REDRAW_INTERVAL_MS  # the next redraw waits that long
    dock.redraw_timer.stop()


def test_time_passing_moves_the_lines_not_their_data_or_the_axis(dock):
    dock.append_events([batch("a", [1.0], at_s=1.0), batch("b", [2.0], at_s=1.0)])
    at(dock, 2.0)
    dock.redraw()
    b_data = dock.curve("b").xData
    ticks = dock.plot_item.getAxis("bottom").tickValues(-10.0, 0.0, 400)
    dock.append_events([batch("a", [3.0], at_s=3.0)])
    at(dock, 5.0)
    dock.redraw()
    assert dock.curve("b").xData is b_data  # b got no new points: its line was not rebuilt
    assert list(drawn(dock, "b")[0]) == pytest.approx([-3.995])  # yet it shows where it belongs now
    assert list(drawn(dock, "a")[0]) == pytest.approx([-3.995, -1.995])
    assert dock.view_box.viewRange()[0] == [-10.0, 0.0]
    assert dock.plot_item.getAxis("bottom").tickValues(-10.0, 0.0, 400) == ticks
