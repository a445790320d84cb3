"""The classic tutorial program: the baseline every bench figure is measured against.

A faithful copy of section 5 ("멀티프로세싱과 PyQt") of the tutorial quoted in
``../shared/seed-tutorial.txt``: a daemon producer ``multiprocessing.Process`` puts
``str(datetime.now())`` on ONE global ``multiprocessing.Queue``; a ``QThread`` spins on
``q.empty()`` and emits one signal per item; the slot shows it with
``QMainWindow.statusBar().showMessage``. Run it as the original: ``python bench/tutorial_baseline.py``.

Changes, each marked ``# bench:`` below, go only as far as a figure needs:

- ``rate`` items/s (``None``: flat out). The original slept ``time.sleep(1)`` after each put.
- ``tag``: a prefix on the item, so two producers on the one queue can be told apart.
- ``stop``: a shared flag for the producer, and ``running`` on the consumer thread. The
  ORIGINAL HAD NO STOP AT ALL: the producer ran until the daemon process died with the GUI,
  the consumer looped ``while True``. Without one the bench could not end a run.
- The consumer ends on ``EOFError``/``OSError`` from ``q.get()``: a bench that closes the
  queue's writers (kill isolation) makes ``q.empty()`` report the pipe's EOF as "not empty"
  and ``get`` raise, and an exception escaping ``QThread.run`` makes PyQt5 abort the whole
  process (qFatal, SIGABRT). The original never closed its queue.
- ``sent``: a shared counter of puts, so the bench can see items pile up in the producer.
- Qt is imported inside `gui_classes` instead of ``from PyQt5.QtWidgets import *`` at the top,
  so importing this module (for `producer`) loads no Qt; the classes themselves are the original's.
"""

from __future__ import annotations

import datetime
import functools
import multiprocessing as mp
import sys
import time
from multiprocessing import Process, Queue
from typing import Any


def producer(q: Any, rate: float | None = 1.0, tag: str = "", stop: Any = None, sent: Any = None) -> None:
    """Put ``tag + str(datetime.now())`` on ``q`` at ``rate`` items/s (the tutorial's producer)."""
    proc = mp.current_process()
    print(proc.name)

    interval = 1.0 / rate if rate else 0.0  # bench: the original slept 1 s after each put
    next_put = time.monotonic()
    while stop is None or not stop.value:  # bench: the original looped `while True`
        now = datetime.datetime.now()
        data = tag + str(now)  # bench: `tag` ("" gives the original item)
        q.put(data)
        if sent is not None:  # bench: count puts
            sent.value += 1
        if interval:  # bench: paced to `rate` (the original: time.sleep(1))
            next_put += interval
            delay = next_put - time.monotonic()
            if delay > 0:
                time.sleep(delay)


@functools.cache
def gui_classes() -> tuple[type, type]:
    """Return the tutorial's ``(Consumer, MyWindow)`` classes (defined on first call: loads Qt)."""
    from PyQt5.QtCore import QThread, pyqtSignal, pyqtSlot
    from PyQt5.QtWidgets import QMainWindow

    class Consumer(QThread):
        poped = pyqtSignal(str)

        def __init__(self, q: Any) -> None:
            super().__init__()
            self.q = q
            self.running = True  # bench: the original had no way to stop this thread

        def run(self) -> None:
            while self.running:  # bench: `while True` in the original
                if not self.q.empty():
                    try:
                        data = self.q.get()  # the original read the global `q`: the same queue
                    except (EOFError, OSError):  # bench: its writers were closed (see above)
                        return
                    self.poped.emit(data)

    class MyWindow(QMainWindow):
        def __init__(self, q: Any) -> None:
            super().__init__()
            self.setGeometry(200, 200, 300, 200)

            # thread for data consumer
            self.consumer = Consumer(q)
            self.consumer.poped.connect(self.print_data)
            self.consumer.start()

        @pyqtSlot(str)
        def print_data(self, data: str) -> None:
            self.statusBar().showMessage(data)

    return Consumer, MyWindow


# --- bench plumbing around the program (not part of the original) -------------------------


def start_producer(q: Any, name: str = "producer", **kwargs: Any) -> Process:
    """Start a daemon producer on ``q`` the way the tutorial does (default start method)."""
    p = Process(name=name, target=producer, args=(q,), kwargs=kwargs, daemon=True)
    p.start()
    return p


def end_producers(procs: list[Process], stop: Any, grace: float = 0.5) -> None:
    """Set ``stop``, give each producer ``grace`` seconds, then SIGKILL and reap it.

    The grace is short on purpose: a stopped producer's queue feeder thread blocks its exit
    until every buffered item is written, which under a flood is never.
    """
    if stop is not None:
        stop.value = 1
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.kill()
        p.join(5.0)


def stop_consumer(window: Any, timeout: float = 2.0) -> bool:
    """Ask the window's consumer thread to stop; return whether it did within ``timeout``."""
    window.consumer.running = False
    return bool(window.consumer.wait(int(timeout * 1000)))


if __name__ == "__main__":
    from PyQt5.QtWidgets import QApplication

    MyWindow = gui_classes()[1]
    q = Queue()

    # producer process
    p = Process(name="producer", target=producer, args=(q,), daemon=True)
    p.start()

    # Main process
    app = QApplication(sys.argv)
    mywindow = MyWindow(q)
    mywindow.show()
    app.exec_()
