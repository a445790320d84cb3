"""The built-in producers' own logic (they run in workers elsewhere in the suite)."""

from __future__ import annotations

import pytest

from pulse_supervisor.core.worker import producers


@pytest.mark.parametrize(
    ("now", "interval", "expected"),
    [
        (100.25, 1.0, 0.75),  # part-way through a second: to the next whole second
        (100.0, 1.0, 1.0),  # on the grid (just ticked): a whole interval, never 0
        (100.999, 1.0, 0.001),
        (7.1, 0.5, 0.4),  # finer grids too
        (1_764_553_508.9, 60.0, 51.1),  # a 1-minute clock at a real epoch time
    ],
)
def test_until_next_tick_lands_on_the_interval_grid(now: float, interval: float, expected: float) -> None:
    wait = producers.until_next_tick(now, interval)
    assert wait == pytest.approx(expected, abs=1e-6)
    steps = (now + wait) / interval
    assert steps == pytest.approx(round(steps), abs=1e-6)  # on a multiple of the interval


def test_two_clocks_started_apart_tick_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clocks share the wall clock's grid whatever their start time, so their items coincide."""
    wall = [0.0]

    def fake_sleep(seconds: float) -> None:
        wall[0] += seconds

    monkeypatch.setattr(producers.time, "time", lambda: wall[0])
    monkeypatch.setattr(producers.time, "sleep", fake_sleep)
    ticks = []
    for start in (10.137, 10.862):
        wall[0] = start
        clock = producers.clock(0.5)
        seen = []
        for _ in range(4):
            next(clock)
            seen.append(round(wall[0], 6))
        ticks.append(seen[1:])  # the first item comes at start; the rest on the grid
    assert ticks[0] == [10.5, 11.0, 11.5]
    assert ticks[1] == [11.0, 11.5, 12.0]


@pytest.mark.parametrize("interval", [0, -1.0])
def test_clock_refuses_a_non_positive_interval(interval: float) -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        next(producers.clock(interval))
