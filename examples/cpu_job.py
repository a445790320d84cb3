"""A CPU-heavy job in its own process from a Qt window: progress bar, Cancel, result.

Run it from the repository: ``.venv/bin/python examples/cpu_job.py``. The window stays
responsive while a core counts primes; each Start is one ``run_in_process`` call, Cancel stops
the job at once (SIGTERM interrupts a generator wherever its own code is).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Generator

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

from pulse_supervisor.core.errors import JobError
from pulse_supervisor.qt.jobs import ProcessJob, run_in_process

STEPS = 100


def count_primes(limit: int) -> Generator[int, None, int]:
    """Count the primes below ``limit`` by trial division: yield the percent done, return the count."""
    if limit < 3:
        raise ValueError(f"no primes below {limit}: choose 3 or more")
    yield 0  # started: the import and start-up are over
    found = 0
    for step in range(STEPS):
        lo, hi = limit * step // STEPS, limit * (step + 1) // STEPS
        found += sum(1 for n in range(max(lo, 2), hi) if all(n % d for d in range(2, math.isqrt(n) + 1)))
        yield step + 1
    return found


class JobWindow(QMainWindow):
    """One job at a time: Start runs `count_primes` in a new worker, Cancel stops it."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Count primes in a worker process")
        self.job: ProcessJob | None = None
        self.limit = QSpinBox()
        self.limit.setRange(3, 100_000_000)  # no primes below 3
        self.limit.setSingleStep(1_000_000)
        self.limit.setValue(3_000_000)
        self.limit.setGroupSeparatorShown(True)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start_job())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setMaximum(STEPS)
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
        # The result names the limit the job started with (the box is disabled while it runs).
        limit = self.limit.value() if limit is None else limit
        self.job = run_in_process(count_primes, limit)
        self.job.yielded.connect(self.progress.setValue)
        self.job.returned.connect(lambda found: self.result.setText(f"{found:,} primes below {limit:,}"))
        self.job.errored.connect(self._on_errored)
        self.job.aborted.connect(lambda: self.result.setText("cancelled"))
        self.job.finished.connect(self._on_finished)
        self.progress.setValue(0)
        self.result.setText(f"counting below {limit:,}…")
        self.start_button.setEnabled(False)
        self.limit.setEnabled(False)  # the job counts below the limit it started with
        self.cancel_button.setEnabled(True)

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_errored(self, error: JobError) -> None:
        self.result.setText(f"failed: {error}")

    def _on_finished(self) -> None:
        self.job = None
        self.start_button.setEnabled(True)
        self.limit.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.cancel_job()  # the job would end with the app anyway; closing the window ends it now
        super().closeEvent(event)


if __name__ == "__main__":  # guarded: the worker process imports this file to find `count_primes`
    app = QApplication(sys.argv)
    window = JobWindow()
    window.show()
    sys.exit(app.exec())
