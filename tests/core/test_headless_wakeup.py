"""A stop signal wakes headless's poll even when Python cannot run its handler yet."""

from __future__ import annotations

import os
import signal
import threading

from pulse_supervisor.headless.stream import _StopRequest


class _Waker:
    def __init__(self) -> None:
        self.woken = threading.Event()

    def wake(self) -> None:
        self.woken.set()


def test_a_stop_signal_wakes_the_poll_through_the_wakeup_fd():
    waker = _Waker()
    before = signal.getsignal(signal.SIGTERM)
    stop = _StopRequest(waker)  # type: ignore[arg-type]
    stop.install()
    try:
        stop.polling = False  # the handler itself wakes nothing: only the wake-up fd's relay can
        os.kill(os.getpid(), signal.SIGTERM)
        assert waker.woken.wait(timeout=10)
        assert stop.count == 1
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGTERM) == before
    assert signal.set_wakeup_fd(-1) == -1  # the previous wake-up fd (none) is back
