"""``pulse ctl tail``: the last lines of a worker's log file, then (``-f``) each new one, across rotations."""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

FOLLOW_INTERVAL = 0.1  # how often a followed file is looked at (a log file is written a poll at a time)


def tail(path: Path, lines: int, follow: bool, as_json: bool) -> int:
    """Print the last ``lines`` lines of the worker's log file, then (``follow``) each new one."""

    def show(line: str) -> None:
        print(json.dumps({"line": line}) if as_json else line, flush=follow)

    try:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - reopened on rotation
    except FileNotFoundError:
        if not follow:
            return 0  # nothing written yet
        f = None
    try:
        if f is not None:
            for line in _last_lines(f, lines):
                show(line)
        while follow:
            f = _follow_once(path, f, show)
            time.sleep(FOLLOW_INTERVAL)
    except KeyboardInterrupt:
        pass
    finally:
        if f is not None:
            f.close()
    return 0


def _last_lines(f: Any, count: int) -> list[str]:
    return [line.rstrip("\n") for line in deque(f, maxlen=max(0, count))]


def _follow_once(path: Path, f: Any, show: Any) -> Any:
    """Print what was added to the file; reopen it when it was rotated (a new file under the name)."""
    if f is not None:
        while True:
            where = f.tell()
            line = f.readline()
            if not line.endswith("\n"):
                f.seek(where)  # none, or half a line still being written: the rest comes later
                break
            show(line.rstrip("\n"))
    try:
        current = path.stat()
    except FileNotFoundError:
        return f
    if f is None or os.fstat(f.fileno()).st_ino != current.st_ino:
        if f is not None:
            f.close()
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    return f
