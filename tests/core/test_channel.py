"""The worker-side batching writer: batches by count and time, leading edge, exact sequence numbers."""

from __future__ import annotations

import pickle
import threading

import pytest

from pulse_supervisor.core.wire import channel
from pulse_supervisor.core.wire.channel import ChannelWriter
from pulse_supervisor.core.wire.item_forms import StandIn


class FakeConnection:
    """Records every message sent; `wait_for(n)` blocks until n messages have arrived."""

    def __init__(self) -> None:
        self.messages: list[tuple] = []
        self._cond = threading.Condition()

    def send_bytes(self, data: bytes) -> None:
        with self._cond:
            self.messages.append(channel.decode(data))
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 5.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.messages) >= n, timeout), self.messages

    def items(self) -> list:
        out = []
        for msg in self.messages:
            if msg[0] == channel.ITEMS:
                assert msg[1] == len(out), "sequence numbers must continue exactly"
                out.extend(msg[2])
        return out


@pytest.fixture
def conn_and_writer():
    conn = FakeConnection()
    writer = ChannelWriter(conn, max_batch=1000, max_delay=0.002)
    yield conn, writer
    writer.close()


def test_a_tight_producer_costs_one_send_per_batch(conn_and_writer):
    conn, writer = conn_and_writer
    for i in range(10_000):
        writer.emit(i)
    writer.flush()
    assert conn.items() == list(range(10_000))
    sends = [m for m in conn.messages if m[0] == channel.ITEMS]
    assert len(sends) <= 12  # ~10 full batches (+ the leading-edge first item and a tail)
    assert max(len(m[2]) for m in sends) == 1000


def test_an_item_after_a_quiet_spell_leaves_at_once(conn_and_writer):
    conn, writer = conn_and_writer
    writer.emit("first")
    # Sent synchronously inside emit: no batching delay when the stream is quiet.
    assert conn.items() == ["first"]


def test_a_burst_that_then_goes_quiet_is_flushed_by_time(conn_and_writer):
    conn, writer = conn_and_writer
    writer.emit(1)
    writer.emit(2)
    writer.emit(3)  # 2 and 3 wait for company; the flusher sends them after max_delay
    conn.wait_for(2)
    assert conn.items() == [1, 2, 3]


def test_an_object_that_does_not_pickle_arrives_as_its_stand_in(conn_and_writer):
    conn, writer = conn_and_writer
    writer.emit(1)
    writer.emit(lock := threading.Lock())
    writer.flush()
    one, stand_in = conn.items()
    assert one == 1 and type(stand_in) is StandIn
    assert (stand_in.type_name, stand_in.text, stand_in.data) == ("_thread.lock", repr(lock), None)
    assert writer.sent == 2


def test_unpicklable_items_are_reported_and_skipped_when_objects_are_asked_for():
    conn = FakeConnection()
    writer = ChannelWriter(conn, objects=True)
    writer.emit(1)
    writer.emit(lambda: None)
    writer.emit(3)
    writer.flush()
    assert conn.items() == [1, 3]
    logs = [m for m in conn.messages if m[0] == channel.LOG]
    assert len(logs) == 1 and "function" in logs[0][3] and logs[0][2] == "ERROR"
    assert writer.sent == 2


def test_control_messages_come_after_the_items_queued_before_them(conn_and_writer):
    conn, writer = conn_and_writer
    writer.emit("a")
    writer.emit("b")
    writer.send((channel.LOG, "stdout", "INFO", "line", 0.0, False))
    kinds = [m[0] for m in conn.messages]
    assert kinds[-1] == channel.LOG and conn.items() == ["a", "b"]


def test_close_flushes_and_says_how_many_were_sent():
    conn = FakeConnection()
    writer = ChannelWriter(conn)
    for i in range(1500):
        writer.emit(i)
    writer.close()
    assert conn.messages[-1] == (channel.BYE, 1500)
    assert conn.items() == list(range(1500))


def test_decode_rejects_foreign_messages():
    with pytest.raises(ValueError, match="not a Pulse message"):
        channel.decode(pickle.dumps("hello"))


def test_a_big_frame_is_a_view_of_the_buffer_and_loads_whole_while_the_frames_after_it_stay_intact():
    """A 100 MB item was copied three times in one go each, holding the GIL the GUI thread waits for."""
    import multiprocessing

    from pulse_supervisor.core.supervision.tolerant_unpickle import load_message

    r, w = multiprocessing.Pipe(duplex=False)
    big = bytes(range(256)) * (3 * channel.BIG_FRAME // 256)  # three frames' worth of the threshold
    messages = [("items", 0, [1], 0), ("items", 1, [big], 0), ("items", 2, [2, 3], 0)]
    writer = threading.Thread(target=lambda: [w.send_bytes(pickle.dumps(m, 5)) for m in messages])
    writer.start()
    reader = channel.FrameReader(r)
    frames: list = []
    while len(frames) < 3:
        got, eof = reader.read()
        frames += got
        assert not eof
    writer.join()
    w.close()
    r.close()
    assert [type(f) for f in frames] == [bytes, memoryview, bytes]
    assert [load_message(f) for f in frames] == [(m, False) for m in messages]


def test_a_view_is_read_as_the_unpickler_asks_in_every_protocol():
    from pulse_supervisor.core.supervision.tolerant_unpickle import load_message

    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        # Before protocol 3, bytes pickle through a function Pulse's process does not load.
        big = b"x" * (2 * channel.BIG_FRAME) if protocol >= 3 else "x" * (2 * channel.BIG_FRAME)
        message = ("items", 7, [big, "text\nwith a newline", 1.5], 0)  # protocol 0 reads lines
        data = pickle.dumps(message, protocol)
        assert load_message(memoryview(bytearray(data))) == (message, False), protocol
