"""A CPU-heavy job in its own process from a PyQt window: progress bar, Cancel, result.

Run it from the repository: ``.venv/bin/python examples/cpu_job.py``. The window stays
responsive while a core counts primes, Cancel stops the job at once (SIGTERM interrupts a
generator wherever its own code is), and each run is a worker that is removed once it exits.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterator

from qtpy.QtGui import QCloseEvent
from qtpy.QtWidgets import (
    QApplication,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.qt.qt_supervisor import QtSupervisor

STEPS = 100


def count_primes(limit: int) -> Iterator[tuple[str, int]]:
    """Count the primes below ``limit`` by trial division; yield ("progress", percent), then ("primes", n)."""
    if limit < 3:
        raise ValueError(f"no primes below {limit}: choose 3 or more")
    yield ("progress", 0)  # started: the import and start-up are over
    found = 0
    for step in range(STEPS):
        lo, hi = limit * step // STEPS, limit * (step + 1) // STEPS
        found += sum(1 for n in range(max(lo, 2), hi) if all(n % d for d in range(2, math.isqrt(n) + 1)))
        yield ("progress", step + 1)
    yield ("primes", found)


class JobWindow(QMainWindow):
    """One job at a time: Start runs `count_primes` in a new worker, Cancel stops it."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Count primes in a worker process")
        self.jobs = QtSupervisor(parent=self)
        self.jobs.items.connect(self._on_items)
        self.jobs.exited.connect(self._on_exited)
        self.jobs.log_line.connect(self._on_log_line)
        self._numbers = itertools.count(1)
        self._job: str | None = None
        self._answer: int | None = None
        self._limit = 0
        self._error = ""
        self.limit = QSpinBox(minimum=3, maximum=100_000_000, singleStep=1_000_000)  # no primes below 3
        self.limit.setValue(3_000_000)
        self.limit.setGroupSeparatorShown(True)
        self.start_button = QPushButton("Start", clicked=lambda: self.start_job())
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel_job, enabled=False)
        self.progress = QProgressBar(maximum=STEPS)
        self.result = QLabel("—")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        form = QFormLayout()
        form.addRow("Count primes below", self.limit)
        form.addRow(buttons)
        form.addRow("Progress", self.progress)
        form.addRow("Result", self.result)
        central = QWidget()
        central.setLayout(form)
        self.setCentralWidget(central)
        self.resize(480, self.sizeHint().height())

    def start_job(self, limit: int | None = None) -> None:
        self._job, self._answer, self._error = f"job {next(self._numbers)}", None, ""
        # The result names the limit the job started with (the box is disabled while it runs).
        limit = self._limit = self.limit.value() if limit is None else limit
        # restart="never": a job runs once; start_secs=0: it counts as started at once.
        self.jobs.add(self._job, count_primes, kwargs={"limit": limit}, restart="never", start_secs=0)
        self.progress.setValue(0)
        self.result.setText(f"counting below {limit:,}…")
        self.start_button.setEnabled(False)
        self.limit.setEnabled(False)  # the job counts below the limit it started with
        self.cancel_button.setEnabled(True)

    def cancel_job(self) -> None:
        if self._job is not None:
            self.jobs.stop(self._job)

    def _on_items(self, worker: str, items: list[tuple[str, int]]) -> None:
        if worker != self._job:
            return
        for kind, value in items:
            if kind == "progress":
                self.progress.setValue(value)
            else:
                self._answer = value

    def _on_log_line(self, worker: str, level: str, text: str) -> None:
        if worker == self._job and level == "ERROR":
            self._error = text.rstrip().splitlines()[-1]  # a traceback's last line says what went wrong

    def _on_exited(self, worker: str, exitcode: int | None, _signal: int | None) -> None:
        if worker != self._job:
            return
        if self._answer is not None:
            self.result.setText(f"{self._answer:,} primes below {self._limit:,}")
        else:
            self.result.setText("cancelled" if exitcode == 0 else f"failed: {self._error or f'exit code {exitcode}'}")
        self.jobs.remove(worker)  # a finished job needs no row in the supervisor
        self._job = None
        self.start_button.setEnabled(True)
        self.limit.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.jobs.close()
        super().closeEvent(event)


if __name__ == "__main__":  # guarded: the worker process imports this file to find `count_primes`
    app = QApplication(sys.argv)
    window = JobWindow()
    window.show()
    sys.exit(app.exec())
