"""Where in a worker's main thread a graceful stop may be raised: the producer's code and known waits."""

from __future__ import annotations

import asyncio
import linecache
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

# The standard library juggles locks in Python (threading's Condition, logging's handlers, the
# import system): a stop raised between an acquire and the `try` that releases it leaves the
# lock held for good. One landing in Event.set deadlocked a worker's final flush (seen in about
# 1 of 8 runs stopping 64 busy workers together), so a stop is raised in such code only where it
# is known to wait, at the call that blocks, inside the `try` that cleans up after it.
_STDLIB_DIR = os.path.dirname(threading.__file__) + os.sep
# asyncio's Handle._run, the frame right below a coroutine the event loop steps as a task (the
# step itself is C).
_LOOP_CALLBACKS = os.path.join(_STDLIB_DIR, "asyncio", "events.py")

# Where a main thread blocked in the standard library waits: (function, source line, a local the
# function has set once it is inside its `try`). queue.get, Event.wait, Future.result and
# Semaphore.acquire wait in Condition.wait; Thread.join in _wait_for_tstate_lock; socket reads,
# asyncio and multiprocessing's connection.wait in a selector; Popen.wait in waitpid;
# multiprocessing's queues and a Manager's proxies in a connection's read.
_WAITS: dict[tuple[str, str], str | None] = {
    ("wait", "waiter.acquire()"): "gotit",
    ("wait", "gotit = waiter.acquire(True, timeout)"): "gotit",
    ("_wait_for_tstate_lock", "if lock.acquire(block, timeout):"): None,
    ("select", "fd_event_list = self._selector.poll(timeout, max_ev)"): None,
    ("select", "fd_event_list = self._selector.poll(timeout)"): None,
    ("select", "r, w, _ = self._select(self._readers, self._writers, [], timeout)"): None,
    ("accept", "fd, addr = self._accept()"): None,
    ("readinto", "return self._sock.recv_into(b)"): None,
    ("_try_wait", "(pid, sts) = os.waitpid(self.pid, wait_flags)"): None,
    ("_recv", "chunk = read(handle, remaining)"): None,
}

# Pulse's own modules on a worker's main thread. A stop is never raised in them; the producer's
# frames are those below the first of them (the driver that called the producer).
own_files: set[str] = {__file__}
drivers: set[str] = set()  # the modules that call the producer: a stop may land right below them

OWN_TASK = "the producer's own task"  # what `task_at` returns for the coroutine our driver runs


def interruptible(files: list[str], *, waiting: bool = False) -> bool:
    """Return whether a stop may be raised where a signal found the main thread.

    ``files`` are the source files of the interrupted frames, innermost first, up to and
    including the first of Pulse's own. Yes in the producer's code (a generator in
    ``time.sleep``, a C extension, a socket's ``recv``...) called straight from a driver, and,
    when ``waiting`` (the innermost frame is a standard library wait at its blocking call), in the
    standard library calls on the way to that wait. Never in frozen code (the import system),
    never in the channel writer, never elsewhere in the standard library.
    """
    if len(files) < 2 or files[-1] not in drivers:
        return False
    inner = files[:-1]
    if any(f.startswith("<frozen") for f in inner):
        return False
    in_stdlib = [_is_stdlib(f) for f in inner]
    return not any(in_stdlib) or (waiting and in_stdlib[0])


def task_at(frame: FrameType, *, waiting: bool = False) -> object:
    """Return the task of an async producer a stop may be cancelled in, where a signal found the main thread.

    `OWN_TASK` in the coroutine our driver runs, the `asyncio.Task` for a coroutine of the
    producer the event loop steps, None elsewhere: a stop may land in the producer's code (and,
    when ``waiting``, in the standard library calls on the way to that wait), never in the event
    loop's own code nor in a plain callback it runs.
    """
    frames = _frames_until_own(frame)
    files = [f.f_code.co_filename for f in frames]
    if any(f.startswith("<frozen") for f in files):
        return None
    i = 0
    while waiting and i < len(files) and _is_stdlib(files[i]):
        i += 1  # the wait, and the standard library calls on the way to it
    j = i
    while j < len(files) and not _is_stdlib(files[j]) and files[j] not in own_files:
        j += 1  # the producer's code
    if j == i or j == len(files):
        return None
    if files[j] in drivers:
        return OWN_TASK
    if files[j] != _LOOP_CALLBACKS:
        return None
    handle = frames[j].f_locals.get("self")  # a Handle: its callback is a task's step or wakeup
    task = getattr(getattr(handle, "_callback", None), "__self__", None)
    return task if isinstance(task, asyncio.Task) else None


def blocked_in_a_wait(frame: FrameType | None) -> bool:
    """Return whether ``frame`` is a standard library wait at the call that blocks (see ``_WAITS``)."""
    if frame is None or not _is_stdlib(frame.f_code.co_filename):
        return False
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    key = (frame.f_code.co_name, line)
    if key not in _WAITS:
        return False
    needed = _WAITS[key]
    return needed is None or needed in frame.f_locals


def files_until_own(frame: FrameType | None) -> list[str]:
    """Return the source files of ``frame`` and its callers, up to and including Pulse's first."""
    return [f.f_code.co_filename for f in _frames_until_own(frame)]


def _frames_until_own(frame: FrameType | None) -> list[FrameType]:
    frames = []
    while frame is not None:
        frames.append(frame)
        if frame.f_code.co_filename in own_files:
            break
        frame = frame.f_back
    return frames


def _is_stdlib(path: str) -> bool:
    return path.startswith(_STDLIB_DIR) and f"{os.sep}site-packages{os.sep}" not in path
