"""The descriptor budget: Pulse raises its soft limit on open files to the hard one; workers get the old one back."""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass

if sys.platform != "win32":
    import resource

_log = logging.getLogger("pulse")
# With no hard limit (macOS), the most a soft limit may be: macOS refuses more than OPEN_MAX.
_UNLIMITED_TRIES = (1 << 20, 10240)


@dataclass(frozen=True, slots=True)
class FileLimit:
    """This process's limit on open descriptors: the soft one it started with, and now."""

    found: int  # the soft limit at start: the one workers get back
    soft: int
    hard: int  # resource.RLIM_INFINITY: none


_raised: list[FileLimit] = []  # once per process, whichever supervisor comes first
_lock = threading.Lock()


def raise_file_limit() -> FileLimit | None:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit, once; log and return the figures.

    Every worker costs the supervising process 4 descriptors (its channel, its output pipes and
    its exit's pipe; `fd_budget`), and a soft limit of 1024, the usual default, runs out long
    before memory or CPU do. Servers raise it at start for the same reason (supervisord's
    ``minfds``). The figures go to the ``pulse`` logger at INFO; a limit that could not be
    raised, at WARNING.

    Returns
    -------
    FileLimit or None
        The limits, the same on every call; None where the OS has none (Windows).
    """
    if sys.platform == "win32":
        return None
    with _lock:
        if _raised:
            return _raised[0]
        found, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        soft, problem = found, None
        for wanted in _UNLIMITED_TRIES if hard == resource.RLIM_INFINITY else (hard,):
            if wanted <= found:
                break
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            except (ValueError, OSError) as exc:
                problem = exc
                continue
            soft, problem = wanted, None
            break
        if problem is not None:
            _log.warning("open files: soft limit %d; raising it to the hard limit failed: %s", soft, problem)
        elif soft != found:
            _log.info("open files: soft limit raised from %d to %d (hard limit %s)", found, soft, _text(hard))
        else:
            _log.info("open files: soft limit %d (hard limit %s)", soft, _text(hard))
        _raised.append(FileLimit(found, soft, hard))
        return _raised[0]


def found_soft_limit() -> int | None:
    """Return the soft limit this process had before `raise_file_limit` raised it (None: not raised)."""
    return _raised[0].found if _raised and _raised[0].soft != _raised[0].found else None


def restore_soft_limit(found: int | None) -> None:
    """In a worker: lower the soft limit back to ``found``, the one Pulse started with.

    A raised soft limit is Pulse's own need. A worker's code, and the programs it runs, get the
    limit they would have had without Pulse: C code using ``select()`` breaks on descriptors
    above 1023, which is why systems keep the soft limit at 1024. A worker that needs more
    raises it itself, as any program does.
    """
    if found is None or sys.platform == "win32":
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or found < soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (found, hard))


def _text(limit: int) -> str:
    return "none" if limit == resource.RLIM_INFINITY else str(limit)
