"""The consumer thread: blocks when idle, caps its emissions, relays events in order."""

from __future__ import annotations

import datetime
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from qtpy.QtCore import QObject, Signal

from pulse_supervisor.core.supervision.events import ItemBatch
from pulse_supervisor.core.supervision.supervisor import Supervisor
from pulse_supervisor.qt.consumer import Consumer
from tests.helpers import config, spec


@pytest.fixture
def consumer(qtbot):
    made: list[tuple[Consumer, Supervisor]] = []

    def make(cfg) -> Consumer:
        sup = Supervisor(cfg)
        c = Consumer(sup)
        made.append((c, sup))
        return c

    yield make
    for c, sup in made:
        if c.isRunning():
            with qtbot.waitSignal(c.finished, timeout=15_000):
                c.request_shutdown()
        assert c.wait(5000)
        sup.close()


def collect_items(consumer: Consumer) -> list:
    items: list = []
    consumer.events_received.connect(
        lambda evs: items.extend(it for e in evs if isinstance(e, ItemBatch) for it in e.items)
    )
    return items


class ItemCounter(QObject):
    """Counts items and signals when ``target`` is reached: waiting on it polls nothing."""

    reached = Signal()  # emitted once the count reaches target

    def __init__(self, consumer: Consumer) -> None:
        super().__init__()
        self.count = 0
        self.target = 0
        self.until: Callable[[Any], bool] | None = None  # or: reached at the first item this accepts
        consumer.events_received.connect(self._on_events_received)

    def _on_events_received(self, events: list) -> None:
        before = self.count
        items = [item for e in events if isinstance(e, ItemBatch) for item in e.items]
        self.count += len(items)
        if before < self.target <= self.count:
            self.reached.emit()
        if self.until is not None and any(self.until(item) for item in items):
            self.until = None
            self.reached.emit()

    def wait_for(self, qtbot, n: int, timeout: int = 10_000) -> None:
        self.target = n
        if self.count < n:
            with qtbot.waitSignal(self.reached, timeout=timeout):
                pass


def test_idle_consumer_uses_almost_no_cpu(qtbot, consumer):
    c = consumer(config(spec("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 0.25})))
    counter = ItemCounter(c)
    c.start()
    c._supervisor.start("clock")
    counter.wait_for(qtbot, 1)
    # The test process's garbage collector, hundreds of tests in, is not the consumer's cost.
    gc.collect()
    gc.disable()
    try:
        cpu0, wall0, now = time.process_time(), time.monotonic(), datetime.datetime.now()
        # Real activity until an item made 1.5 s from now arrives, waited for on a signal: the main
        # thread sleeps in Qt's event loop, as a GUI does. Counting items instead ended early on a
        # loaded machine, where items queued before the start arrived inside the window (0.9 s).
        after = now + datetime.timedelta(seconds=1.5)
        with qtbot.waitSignal(counter.reached, timeout=10_000):
            counter.until = lambda item: datetime.datetime.fromisoformat(item) >= after
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    finally:
        gc.enable()
    # The tutorial's `while True: if not q.empty()` consumer burns ~100 % here.
    assert cpu / wall < 0.05, f"GUI process used {cpu / wall:.1%} of a core while idle"


def test_emissions_are_capped_under_a_flood(qtbot, consumer):
    c = consumer(config(spec("flood", "tests.workers:flat_out")))
    received = [0]
    c.events_received.connect(
        lambda evs: received.__setitem__(0, received[0] + sum(len(e.items) for e in evs if isinstance(e, ItemBatch)))
    )
    c.start()
    c._supervisor.start("flood")
    qtbot.waitUntil(lambda: received[0] > 0, timeout=10_000)
    e0, t0 = c.emissions, time.monotonic()
    qtbot.waitUntil(lambda: time.monotonic() - t0 >= 1.0 and received[0] > 100_000, timeout=20_000)
    rate = (c.emissions - e0) / (time.monotonic() - t0)
    assert rate <= 1.05 / c.min_gap, f"{rate:.0f} emissions/s: the event loop is being flooded"
    assert 1 / c.min_gap < 70  # about one a frame, whatever the item rate
    assert received[0] > 100_000  # and the items still all arrive, batched


def test_request_stop_ends_the_thread_promptly(qtbot, consumer):
    c = consumer(config())
    c.start()
    with qtbot.waitSignal(c.finished, timeout=2000):
        c.request_stop()


def test_shutdown_stops_workers_then_finishes(qtbot, consumer):
    c = consumer(config(spec("clock", "pulse_supervisor.producers:clock", kwargs={"interval": 0.05})))
    items = collect_items(c)
    c.start()
    c._supervisor.start("clock")
    qtbot.waitUntil(lambda: len(items) >= 2, timeout=10_000)
    with qtbot.waitSignal(c.finished, timeout=10_000):
        c.request_shutdown()
    assert c._supervisor.all_stopped()


class ScriptedSupervisor:
    """Stands in for the supervisor: each poll advances a fake clock and returns scripted events."""

    def __init__(self, clock: list[float], script: list[tuple[float, list]]) -> None:
        self.clock, self.script = clock, script
        self.polls: list[tuple[float | None, bool]] = []
        self.consumer: Consumer | None = None

    def poll(self, timeout: float | None = None, *, gather: bool = False) -> list:
        self.polls.append((timeout, gather))
        if not self.script:
            self.consumer.request_stop()
            return []
        at, events = self.script.pop(0)
        self.clock[0] = at
        return events

    def busiest_bytes(self) -> int:
        return 100  # a slow channel: gathering is fine

    def all_stopped(self) -> bool:
        return True

    def wake(self) -> None:
        pass


def test_a_state_change_goes_out_at_once_without_delaying_the_next_items(monkeypatch):
    from pulse_supervisor.core.supervision.events import StateChanged
    from pulse_supervisor.core.supervision.policy import State

    clock = [100.0]
    monkeypatch.setattr("pulse_supervisor.qt.consumer.time.monotonic", lambda: clock[0])
    item = lambda seq: ItemBatch("w", seq, [seq], 0, 0)  # noqa: E731
    sup = ScriptedSupervisor(
        clock,
        [
            (100.000, [item(0)]),  # leading edge: out at once
            (100.005, [StateChanged("w", State.RUNNING, 1, 0.0)]),  # urgent: out at once
            (100.020, [item(1)]),  # 20 ms after the last items went: out at once too
            (100.025, [item(2)]),  # 5 ms later: held for the frame...
            (100.037, []),  # ...which ends 16.7 ms after item 1 went
        ],
    )
    c = Consumer(sup, writer_delay=0.0)  # type: ignore[arg-type]  # frames of a full 16.7 ms
    sup.consumer = c
    emitted: list[tuple[float, list]] = []
    c.events_received.connect(lambda evs: emitted.append((clock[0], evs)))
    c.run()  # synchronously, in this thread
    assert [(at, [getattr(e, "first_seq", "state") for e in evs]) for at, evs in emitted] == [
        (100.000, [0]),
        (100.005, ["state"]),
        (100.020, [1]),
        (100.037, [2]),
    ]
    # While holding item 2 the consumer let the channels gather, until its frame ends (100.0367).
    timeout, gather = sup.polls[4]
    assert gather and timeout == pytest.approx(0.0367 - 0.025, abs=1e-4)


def test_workers_that_send_together_go_out_together_once_their_burst_was_seen(monkeypatch):
    """The first burst goes out as two emissions (its first item at once); the next ones as one."""
    clock = [100.0]
    monkeypatch.setattr("pulse_supervisor.qt.consumer.time.monotonic", lambda: clock[0])

    def item(worker: str, at: float) -> ItemBatch:
        return ItemBatch(worker, 0, [worker], int(at * 1e9), int(at * 1e9))

    rest = lambda second: [item("b", second + 0.001), item("c", second + 0.003)]  # noqa: E731  # 1-3 ms later
    script = [
        (100.0002, [item("a", 100.0)]),  # a quiet spell ends: leading edge
        (100.0040, rest(100.0)),  # held for the frame...
        (100.0169, []),  # ...which ends here
    ]
    for second in (101.0, 102.0):
        script += [(second + 0.0002, [item("a", second)]), (second + 0.00475, rest(second))]
    script.append((102.1, []))
    sup = ScriptedSupervisor(clock, script)
    c = Consumer(sup, writer_delay=0.0)  # type: ignore[arg-type]
    sup.consumer = c
    emitted: list[tuple[float, list[str]]] = []
    c.events_received.connect(lambda evs: emitted.append((clock[0], [e.worker for e in evs])))
    c.run()  # synchronously, in this thread
    assert emitted == [
        (100.0002, ["a"]),  # nothing seen yet: out at once...
        (100.0169, ["b", "c"]),  # ...and the rest a frame later
        (101.00475, ["a", "b", "c"]),  # then each burst in one emission
        (102.00475, ["a", "b", "c"]),
    ]
    # Holding a burst's first item: a gathering wait until its rest is due (a spread of 3 ms,
    # a quarter more, and 1 ms: 4.75 ms after it was sent), not a frame.
    hold_polls = [sup.polls[4], sup.polls[6]]
    for at, (timeout, gather) in zip((101.0, 102.0), hold_polls, strict=True):
        assert gather and timeout == pytest.approx(at + 0.00475 - (at + 0.0002), abs=1e-6)


def test_a_lone_stream_is_never_held_for_company(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("pulse_supervisor.qt.consumer.time.monotonic", lambda: clock[0])
    script = [(100.0 + 0.02 * i, [ItemBatch("w", i, [i], int((100.0 + 0.02 * i) * 1e9), 0)]) for i in range(20)]
    expected = [at for at, _ in script]
    script.append((100.5, []))
    sup = ScriptedSupervisor(clock, script)
    c = Consumer(sup, writer_delay=0.0)  # type: ignore[arg-type]
    sup.consumer = c
    emitted: list[float] = []
    c.events_received.connect(lambda evs: emitted.append(clock[0]))
    c.run()
    assert emitted == expected  # 50/s: every item goes out as it arrives


def test_the_writer_and_the_consumer_together_hold_an_item_at_most_one_frame():
    from pulse_supervisor.core.wire.channel import DEFAULT_MAX_DELAY
    from pulse_supervisor.qt.consumer import DEFAULT_MAX_EMITS_PER_SECOND

    c = Consumer(ScriptedSupervisor([0.0], []))  # type: ignore[arg-type]
    assert c.min_gap + DEFAULT_MAX_DELAY == pytest.approx(1.0 / DEFAULT_MAX_EMITS_PER_SECOND)


def run_with_the_gui_thread_blocked(qtbot, sup: ScriptedSupervisor) -> list[list]:
    """Run a consumer on ``sup``'s script in its thread while this (the GUI) thread takes nothing,
    then deliver what it emitted: the first batch, and everything held for the GUI after it."""
    c = Consumer(sup, writer_delay=0.0)  # type: ignore[arg-type]
    sup.consumer = c
    emitted: list[list] = []
    c.events_received.connect(emitted.append)
    c.start()
    assert c.wait(10_000)  # blocked right here: no batch is taken until the thread has ended
    qtbot.waitUntil(lambda: len(emitted) == 2, timeout=5000)
    c.release_collector()
    return emitted


def test_a_gui_thread_that_has_not_taken_a_batch_gets_the_next_ones_merged_not_queued(qtbot, monkeypatch):
    """Backpressure: while the GUI thread is busy, batches wait in the consumer, merged, not in Qt's queue."""
    clock = [100.0]
    monkeypatch.setattr("pulse_supervisor.qt.consumer.time.monotonic", lambda: clock[0])
    # A frame of items every 20 ms: each would go out on its own to a GUI thread keeping up.
    script = [(100.0 + 0.02 * i, [ItemBatch("w", i, [i], 0, 0)]) for i in range(50)]
    first, rest = run_with_the_gui_thread_blocked(qtbot, ScriptedSupervisor(clock, script))
    assert [e.items for e in first] == [[0]]
    assert [e.items for e in rest] == [list(range(1, 50))]  # every other item, in order, in one batch


def test_a_gui_thread_far_behind_leaves_the_channels_unread_so_the_writers_wait(qtbot, monkeypatch):
    """Held items are bounded: past MAX_HELD_ITEMS busy channels are left unread until the GUI takes a batch."""
    from pulse_supervisor.qt.consumer import MAX_HELD_ITEMS

    class BusySupervisor(ScriptedSupervisor):
        def busiest_bytes(self) -> int:
            return 10**6  # a flood: normally read as it arrives, never left to gather

    clock = [100.0]
    monkeypatch.setattr("pulse_supervisor.qt.consumer.time.monotonic", lambda: clock[0])
    size = MAX_HELD_ITEMS // 4
    script = [(100.0 + 0.02 * i, [ItemBatch("w", i * size, [0] * size, 0, 0)]) for i in range(8)]
    sup = BusySupervisor(clock, script)
    emitted = run_with_the_gui_thread_blocked(qtbot, sup)
    gathers = [gather for _timeout, gather in sup.polls[1:]]  # after the first batch went out, unacked
    # Reading on while under the bound (a flood is never left to fill its pipe), not past it.
    assert gathers[:4] == [False, False, False, False] and all(gathers[4:]), gathers
    assert sum(len(e.items) for batch in emitted for e in batch) == 8 * size  # nothing lost


def test_a_start_storm_reaches_the_gui_thread_in_emissions_of_bounded_size(qtbot, make_pool, monkeypatch):
    import pulse_supervisor.qt.consumer as consumer

    monkeypatch.setattr(consumer, "MAX_EVENTS_PER_EMIT", 5)
    names = [f"w{i}" for i in range(30)]
    pool = make_pool(config(*[spec(n, "pulse_supervisor.producers:counter", kwargs={"rate": 50}) for n in names]))
    sizes: list[int] = []
    seen: dict[str, list[object]] = {n: [] for n in names}
    pool.events.connect(lambda events: sizes.append(len(events)))
    pool.state_changed.connect(lambda name, state: seen[name].append(state.value))
    qtbot.waitUntil(lambda: all(s[-1:] == ["RUNNING"] for s in seen.values()), timeout=30_000)
    assert sizes and max(sizes) <= 5
    assert all(s == ["STARTING", "RUNNING"] for s in seen.values())  # every state, in order


def test_a_print_flood_does_not_hold_back_its_workers_state_changes(qtbot, make_pool, monkeypatch):
    import pulse_supervisor.qt.consumer as consumer

    monkeypatch.setattr(consumer, "MAX_EVENTS_PER_EMIT", 2)  # log lines never count against it
    pool = make_pool(config(spec("prints", "tests.workers:prints_flat_out")))
    lines: list[int] = []  # 1 a line shown, N a note of N lines not shown
    count = lambda text: 1 if text.startswith("line ") else int(text.split()[0].replace(",", ""))  # noqa: E731
    pool.log_line.connect(lambda name, level, text: lines.append(count(text)))
    with qtbot.waitSignal(pool.state_changed, check_params_cb=lambda n, s: s.value == "RUNNING", timeout=30_000):
        pass
    assert sum(lines) > 1000  # it was flooding all along


def log_file_lines(path: str) -> list[int]:
    """Return the numbers of the ``line N`` entries in a worker's log file and its rotations."""
    import glob
    import re

    numbers = []
    for name in glob.glob(glob.escape(path) + "*"):
        with open(name, encoding="utf-8") as f:
            numbers += [int(m.group(1)) for m in re.finditer(r" stdout +line (\d+)$", f.read(), re.MULTILINE)]
    return sorted(numbers)


def test_a_print_flood_reaches_the_gui_thinned_with_exact_notes_and_whole_in_its_log_file(
    qtbot, make_pool, monkeypatch, tmp_path
):
    import pulse_supervisor.qt.consumer as consumer
    from pulse_supervisor.core.supervision.events import LinesSkipped, LogLine

    monkeypatch.setattr(consumer, "LINES_PER_EMIT", 16)  # thinned however slowly this machine prints
    n = 50_000  # 2.7 MB of log file: within its rotations (1 MB and 3 backups)
    pool = make_pool(config(spec("prints", "tests.workers:prints_then_ends", kwargs={"lines": n})), log_dir=tmp_path)
    shown: list[int] = []
    skipped: list[int] = []

    def on_events(events: list) -> None:
        shown.extend(int(e.line.split()[1]) for e in events if type(e) is LogLine and e.stream == "stdout")
        skipped.extend(e.count for e in events if type(e) is LinesSkipped and e.in_file)

    pool.events.connect(on_events)
    notes: list[str] = []
    pool.log_line.connect(lambda name, level, text: notes.append(text) if "not shown" in text else None)
    with qtbot.waitSignal(pool.exited, timeout=60_000):
        pass
    assert skipped, "the flood was never thinned"
    assert len(shown) + sum(skipped) == n  # every line shown or counted, exactly
    assert shown == sorted(shown) and shown[-1] == n - 1  # in order, and the newest always shown
    assert notes == [f"{c:,} line{'' if c == 1 else 's'} not shown; all are in the log file" for c in skipped]
    assert log_file_lines(pool.log_path("prints")) == list(range(n))  # the file has every line


def test_after_an_emission_the_consumer_reads_on_only_once_the_gui_thread_has_collected(qtbot, monkeypatch):
    """A collection goes through every young object, this thread's too: it must run while the
    consumer holds a frame's events, not while it holds a poll's worth of a flood's lines."""
    import pulse_supervisor.qt.consumer as consumer

    monkeypatch.setattr(consumer, "COLLECT_WAIT_S", 30.0)  # behaviour, not timing: it waits for the collection
    clock = [100.0]
    monkeypatch.setattr("pulse_supervisor.qt.consumer.time.monotonic", lambda: clock[0])
    collections: list[str] = []
    record = lambda phase, info: collections.append(threading.current_thread().name) if phase == "start" else None  # noqa: E731

    class AllocatingSupervisor(ScriptedSupervisor):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            self.seen: list[int] = []  # collections so far, at each poll
            self.kept: list[list] = []

        def poll(self, timeout: float | None = None, *, gather: bool = False) -> list:
            self.seen.append(len(collections))
            self.kept.append([[] for _ in range(2 * gc.get_threshold()[0])])  # a poll's objects, alive: one is due
            return super().poll(timeout, gather=gather)

    script = [(100.0 + 0.1 * i, [ItemBatch("w", i, [i], 0, 0)]) for i in range(5)]
    sup = AllocatingSupervisor(clock, script)
    c = Consumer(sup, writer_delay=0.0)  # type: ignore[arg-type]
    sup.consumer = c
    received: list[list] = []
    c.events_received.connect(received.append)
    gc.callbacks.append(record)
    try:
        c.start()
        qtbot.waitUntil(lambda: c.isFinished(), timeout=30_000)
    finally:
        gc.callbacks.remove(record)
        c.wait()
        c.release_collector()
    assert len(received) == 5
    assert sup.seen == [0, 1, 2, 3, 4, 5]  # each poll after an emission came after the GUI thread's collection
    assert set(collections) == {threading.main_thread().name}


def test_big_items_arrive_whole_through_the_window_side(qtbot, make_pool):
    """Read as views and loaded in steps (channel.BIG_FRAME): the bytes must still be exactly the worker's."""
    pool = make_pool(config(spec("big", "tests.workers:big_items", kwargs={"megabytes": 64, "count": 2})))
    got: list[bytes] = []
    pool.items.connect(lambda name, items: got.extend(items))
    qtbot.waitUntil(lambda: got[-1:] == [b"done"], timeout=60_000)
    expected = bytes(range(256)) * (64 * 4096)
    assert len(got) == 3 and got[0] == got[1] == expected
