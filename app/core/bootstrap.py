"""The child side of a worker: dies with its parent, captures output, runs the producer."""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import inspect
import os
import select
import signal
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

import psutil

from app.core import child_output, worker_tree
from app.core.channel import HELLO, LOG, STACK, ChannelWriter
from app.core.spec import resolve_target

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from types import FrameType

    from app.core.spec import WorkerSpec

_PR_SET_PDEATHSIG = 1
_OWN_FILES = {__file__, sys.modules[ChannelWriter.__module__].__file__, child_output.__file__}
# The standard library juggles locks in Python (threading's Condition, logging's handlers, the
# import system): a stop raised between an acquire and the `try` that releases it leaves the
# lock held for good. One landing in Event.set deadlocked a worker's final flush (seen in about
# 1 of 8 runs stopping 64 busy workers together), so a stop is never raised in such code.
_STDLIB_DIR = os.path.dirname(threading.__file__) + os.sep


class StopRequested(BaseException):
    """Raised inside a generator producer when a graceful stop arrives (like KeyboardInterrupt)."""


class StopFlag:
    """Set when a graceful stop is asked; true-ish once set. Safe to set from a signal handler.

    ``wait`` sleeps on a pipe, not a lock, because the setter runs inside a signal handler.
    """

    def __init__(self) -> None:
        self._set = False
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)

    def __bool__(self) -> bool:
        return self._set

    def is_set(self) -> bool:
        """Return whether a stop was asked."""
        return self._set

    def set(self) -> None:
        """Ask for a stop (async-signal safe: a flag and one byte on a pipe)."""
        self._set = True
        try:
            os.write(self._w, b"x")
        except BlockingIOError:
            pass

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is asked or ``timeout`` passes; return whether it was asked."""
        if self._set:
            return True
        select.select([self._r], [], [], timeout)
        return self._set


class WorkerContext:
    """What a producer that takes a ``ctx`` argument gets.

    Attributes
    ----------
    name : str
        The worker's name.
    stopping : StopFlag
        True once a graceful stop was asked; finish the current item and return.
    """

    def __init__(self, name: str, writer: ChannelWriter) -> None:
        self.name = name
        self.stopping = StopFlag()
        self._writer = writer

    def emit(self, item: Any) -> None:
        """Send one item to the GUI (batched; any picklable object)."""
        self._writer.emit(item)

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early on a stop; return True if the full time passed."""
        return not self.stopping.wait(seconds)


def _set_sched_policy(name: str) -> None:
    """Switch this process to the Linux scheduling policy ``name`` (children inherit it).

    Lowering one's own policy to batch or idle needs no privilege; where the OS has no such
    policy (macOS, Windows) the worker runs as normal.
    """
    policy = {"batch": getattr(os, "SCHED_BATCH", None), "idle": getattr(os, "SCHED_IDLE", None)}.get(name)
    if policy is not None:
        os.sched_setscheduler(0, policy, os.sched_param(0))


def run(spec: WorkerSpec, out: Connection, control: Connection) -> None:
    """Entry point of every worker process (the ``multiprocessing.Process`` target)."""
    _die_with_parent()
    os.setpgrp()  # its own process group, so a stop reaches the worker's children too
    worker_tree.become_subreaper()  # orphans of its descendants stay under it, to be ended with it
    mark = os.environ[worker_tree.RUN_MARK] = worker_tree.new_mark()
    if spec.nice and hasattr(os, "nice"):
        os.nice(spec.nice)  # relative to Pulse's own; its children inherit it
    _set_sched_policy(spec.sched)  # before any thread starts: Linux applies both per thread
    writer = ChannelWriter(out)
    ctx = WorkerContext(spec.name, writer)
    # As early as there is a flag: from here on a stop only flags, until the target is imported
    # and its kind known; the check after the import ends the worker before its producer runs.
    _install_stop_handler(ctx, interrupt=False)
    # The supervisor holds back a SIGTERM until it reads this; the rest lets it sweep our orphans.
    writer.send((HELLO, mark, os.getppid() if worker_tree.forkserver_guarded else None))
    threading.Thread(target=_watch_control, args=(control, writer), name="pulse-control", daemon=True).start()
    readers = child_output.capture_output(writer)
    child_output.capture_logging(writer)
    faulthandler.enable(file=sys.stderr, all_threads=True)
    exitcode = 0
    try:
        target = resolve_target(spec.target)
        wants_ctx = "ctx" in inspect.signature(target).parameters
        _install_stop_handler(ctx, interrupt=not wants_ctx)
        if ctx.stopping.is_set():  # asked during start-up or the import: end before the producer runs
            raise StopRequested
        kwargs = dict(spec.kwargs, ctx=ctx) if wants_ctx else dict(spec.kwargs)
        result = target(**kwargs)
        if inspect.isgenerator(result):
            _drain(result, writer, ctx)
    except StopRequested:
        pass
    except SystemExit as exc:
        exitcode = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        exitcode = 1
        writer.send((LOG, "stderr", "ERROR", _user_traceback(), time.time(), True))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the rest is flushing; let it finish
    worker_tree.end_descendants(grace=1.0)  # before the output ends: what they print is kept
    child_output.finish_output(readers)
    writer.close()
    out.close()
    sys.exit(exitcode)


def _user_traceback() -> str:
    """Return the current exception's traceback without Pulse's own frames above the producer."""
    exc = sys.exc_info()[1]
    assert exc is not None
    te = traceback.TracebackException.from_exception(exc)
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename not in _OWN_FILES])
    return "".join(te.format()).rstrip("\n")


# The producer generator being drained: a stack dump taken while the main thread sends an item
# (the generator paused at its yield, off the stack) shows where the producer is paused.
_producer: Any = None


def _drain(gen: Any, writer: ChannelWriter, ctx: WorkerContext) -> None:
    """Send each yielded value; stop between items once a stop is asked."""
    global _producer
    _producer = gen
    emit = writer.emit
    stopping = ctx.stopping
    try:
        for item in gen:
            emit(item)
            if stopping._set:
                break
    finally:
        gen.close()


def _install_stop_handler(ctx: WorkerContext, *, interrupt: bool) -> None:
    """SIGTERM sets ``ctx.stopping``; a plain generator is also interrupted where it waits.

    The exception is raised only when the signal lands in the producer's own code, never in
    ours (mid-send), so no message is ever torn.
    """

    busy = ctx._writer.busy

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        ctx.stopping.set()
        # Only in the producer's own code, and nobody mid-write on the pipe (a raise there would tear it).
        if interrupt and not busy() and interruptible(_files_until_own(frame)):
            raise StopRequested

    signal.signal(signal.SIGTERM, on_sigterm)


def interruptible(files: list[str]) -> bool:
    """Return whether a stop may be raised where a signal found the main thread.

    ``files`` are the source files of the interrupted frames, innermost first, up to and
    including the first of Pulse's own. Yes only in the producer's code (a generator waiting in
    ``time.sleep``, a socket read...) called straight from the bootstrap: not in the channel
    writer, and not in the standard library or frozen import code on the way. Otherwise the
    stop is only flagged, and the producer ends at its next item.
    """
    if len(files) < 2 or files[-1] != __file__:
        return False
    return not any(f.startswith("<") or _is_stdlib(f) for f in files[:-1])


def _is_stdlib(path: str) -> bool:
    return path.startswith(_STDLIB_DIR) and f"{os.sep}site-packages{os.sep}" not in path


def _files_until_own(frame: FrameType | None) -> list[str]:
    files = []
    while frame is not None:
        files.append(frame.f_code.co_filename)
        if files[-1] in _OWN_FILES:
            break
        frame = frame.f_back
    return files


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL us when our parent dies (the control pipe watch covers the rest)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watch_control(control: Connection, writer: ChannelWriter) -> None:
    """Serve stack requests; exit at once when the GUI end closes (the GUI died)."""
    while True:
        try:
            request = control.recv_bytes()
        except (EOFError, OSError):
            _orphaned()
        if request == b"stack":
            try:
                writer.send((STACK, format_stacks()))
            except OSError:
                _orphaned()


def _orphaned() -> NoReturn:
    """The GUI is gone: nobody reads our items any more. End our tree with us, at once."""
    with contextlib.suppress(Exception):
        worker_tree.kill_all(psutil.Process().children(recursive=True))
    os._exit(70)


def format_stacks() -> str:
    """Return the Python stack of every thread, main thread first, Pulse's own threads left out."""
    names = {t.ident: t.name for t in threading.enumerate()}
    main = threading.main_thread().ident
    frames = sorted(sys._current_frames().items(), key=lambda kv: kv[0] != main)
    parts, ours = [], 0
    for ident, frame in frames:
        name = names.get(ident, str(ident))
        if name.startswith("pulse-"):
            ours += 1  # our flusher, output pumps and control thread: noise when debugging
            continue
        # The frames above the producer (multiprocessing's start-up, our bootstrap) are noise.
        summary = [f for f in traceback.extract_stack(frame) if not _is_plumbing(f.filename)]
        note = ""
        if not summary and ident == main and _producer is not None and _producer.gi_frame is not None:
            summary, note = _paused_at(_producer), "(paused at its yield while Pulse sends the item)\n"
        stack = "".join(traceback.StackSummary.from_list(summary).format())
        parts.append(f"Thread {name} (most recent call last):\n{stack}{note}")
    parts.append(f"({ours} Pulse helper threads not shown)")
    return "\n".join(parts)


def _paused_at(gen: Any) -> list[traceback.FrameSummary]:
    """Return the frames of a paused generator, down a ``yield from`` chain."""
    frames = []
    while gen is not None and getattr(gen, "gi_frame", None) is not None:
        frames.extend(traceback.extract_stack(gen.gi_frame))
        gen = gen.gi_yieldfrom
    return frames


def _is_plumbing(filename: str) -> bool:
    return filename in _OWN_FILES or filename == "<string>" or f"{os.sep}multiprocessing{os.sep}" in filename
