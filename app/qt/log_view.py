"""The log view: worker output, logging and tracebacks, capped so it never grows without bound."""

from __future__ import annotations

import html
import time

from PyQt5.QtGui import QFontDatabase
from PyQt5.QtWidgets import QPlainTextEdit, QWidget

from app.core.events import Event, LogLine, StateChanged, WorkerExited
from app.core.inspection import describe_exit

MAX_LINES = 10_000
LEVEL_COLOURS = {"ERROR": "#d9534f", "CRITICAL": "#d9534f", "WARNING": "#c77c02", "INFO": "#333333", "DEBUG": "#888"}


class LogView(QPlainTextEdit):
    """Read-only log; the oldest lines drop off past ``MAX_LINES``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

    def append_events(self, events: list[Event]) -> None:
        """Append the log lines, exits and state changes in ``events``."""
        for ev in events:
            if isinstance(ev, LogLine):
                self.append_line(ev.worker, ev.level, ev.line, ev.time)
            elif isinstance(ev, WorkerExited):
                self.append_line(ev.worker, "INFO", f"process {ev.pid} ended: {describe_exit(ev.exitcode, ev.signal)}")
            elif isinstance(ev, StateChanged):
                self.append_line(ev.worker, "DEBUG", f"→ {ev.state.value}" + (f" (pid {ev.pid})" if ev.pid else ""))

    def append_line(self, worker: str, level: str, line: str, when: float | None = None) -> None:
        """Append one (possibly multi-line) entry."""
        stamp = time.strftime("%H:%M:%S", time.localtime(when if when is not None else time.time()))
        colour = LEVEL_COLOURS.get(level, "#333333")
        text = html.escape(line).replace("\n", "<br>").replace(" ", "&nbsp;")
        self.appendHtml(f'<span style="color:{colour}">{stamp} [{html.escape(worker)}] {level}: {text}</span>')
