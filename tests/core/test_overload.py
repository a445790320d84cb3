"""OverloadWatch: advice once, after repeated stalls while the workers use most of the CPUs."""

from __future__ import annotations

from pulse_supervisor.core.supervision.overload import STALL_S, STALLS, WINDOW_S, OverloadWatch

BUSY = 180.0  # % of one CPU: 1.8 of 2 CPUs
LATE = 1.3


def test_repeated_stalls_while_the_workers_are_busy_bring_advice_once():
    watch = OverloadWatch(cpus=2)
    answers = [watch.tick(float(t), LATE, BUSY) for t in range(STALLS + 2)]
    assert answers[: STALLS - 1] == [None] * (STALLS - 1)
    advice = answers[STALLS - 1]
    assert advice is not None and "froze for up to 1.3 s" in advice and "1.8 of 2 CPUs" in advice
    assert "PULSE_WORKERS_NICE=10" in advice
    assert answers[STALLS:] == [None, None] and watch.warned


def test_stalls_with_idle_workers_are_not_the_workers_fault():
    watch = OverloadWatch(cpus=2)
    assert all(watch.tick(float(t), LATE, 90.0) is None for t in range(10))  # under half of 2 CPUs
    assert not watch.warned


def test_busy_workers_with_a_punctual_window_bring_nothing():
    watch = OverloadWatch(cpus=2)
    assert all(watch.tick(float(t), STALL_S / 2, BUSY) is None for t in range(10))


def test_stalls_spread_wider_than_the_window_do_not_add_up():
    watch = OverloadWatch(cpus=2)
    gap = WINDOW_S / (STALLS - 1) + 1  # never STALLS of them within WINDOW_S
    assert all(watch.tick(i * gap, LATE, BUSY) is None for i in range(10))


def test_the_advice_names_the_worst_stall_it_counted():
    watch = OverloadWatch(cpus=2)
    lates = [0.6, 2.4, 0.7]
    advice = [watch.tick(float(t), late, BUSY) for t, late in enumerate(lates)][-1]
    assert advice is not None and "froze for up to 2.4 s" in advice
