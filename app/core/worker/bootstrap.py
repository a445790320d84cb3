"""The child side of a worker: dies with its parent, captures output, runs the producer."""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import gc
import os
import signal
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

import psutil

from pulse_supervisor.core.processes import fd_limit, worker_tree
from pulse_supervisor.core.spec import resolve_target
from pulse_supervisor.core.wire import channel
from pulse_supervisor.core.wire.channel import HELLO, INBOX, LOG, MESSAGE, STACK, ChannelWriter
from pulse_supervisor.core.worker import (
    child_output,
    context,
    inbox,
    inherited_fds,
    producer_shapes,
    stop_points,
    stopping,
    traceback_text,
    worker_env,
)
from pulse_supervisor.core.worker.context import WorkerContext
from pulse_supervisor.core.worker.inbox import Inbox, InboxReport
from pulse_supervisor.core.worker.stopping import StopFlag, StopRequested

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pulse_supervisor.core.spec import WorkerSpec

__all__ = ["StopFlag", "StopRequested", "WorkerContext", "format_stacks", "run"]

_PR_SET_PDEATHSIG = 1
_OWN_FILES = {__file__, channel.__file__, child_output.__file__}
_OWN_FILES |= {stopping.__file__, stop_points.__file__, producer_shapes.__file__, worker_tree.__file__}
_OWN_FILES |= {traceback_text.__file__, context.__file__, inbox.__file__}
stop_points.own_files |= _OWN_FILES
stop_points.drivers |= {__file__, producer_shapes.__file__}  # they call the producer

_SWITCH_INTERVAL_S = 0.005  # CPython's default


def _set_sched_policy(name: str) -> None:
    """Switch this process to the Linux scheduling policy ``name`` (children inherit it).

    Lowering one's own policy to batch or idle needs no privilege; where the OS has no such
    policy (macOS, Windows) the worker runs as normal.
    """
    policy = {"batch": getattr(os, "SCHED_BATCH", None), "idle": getattr(os, "SCHED_IDLE", None)}.get(name)
    if policy is not None:
        os.sched_setscheduler(0, policy, os.sched_param(0))


def process_title(spec: WorkerSpec) -> str:
    """Return the title ``ps``, ``htop`` and the inspector show for a worker: ``pulse: name (target)``."""
    return f"pulse: {spec.name} ({spec.target})"


def _set_title(spec: WorkerSpec) -> None:
    # Otherwise every worker reads "python -B -c from multiprocessing.forkserver import main; ...".
    try:
        import setproctitle
    except ImportError:  # pragma: no cover - a dependency; without it the title stays Python's
        return
    setproctitle.setproctitle(process_title(spec))


def run(
    spec: WorkerSpec,
    out: Connection,
    stdout: Connection,
    stderr: Connection,
    file_limit: int | None = None,
    objects: bool = False,
) -> None:
    """Entry point of every worker process (the ``multiprocessing.Process`` target).

    ``out`` is the channel, both ways: the worker's messages go up it, Pulse's requests (a
    stack) come down it, and its end of file says Pulse is gone.
    ``file_limit`` is the soft limit on open files Pulse started with, before it raised its own.
    ``objects``: items of classes Pulse's process does not load go as `item_forms.Pickled`
    (for an app that loads them itself) instead of `item_forms.StandIn`.
    """
    inherited_fds.release()  # before anything of ours opens one, and long before the target forks
    # The worker's own command line, not Pulse's (multiprocessing hands every child its parent's
    # sys.argv): a module that parses sys.argv at import must not meet `--headless --config ...`.
    sys.argv = [spec.target, *spec.argv]
    spec = spec.resolved()  # an instance's {instance} replaced in its kwargs and env
    worker_env.apply_env(spec)
    fd_limit.restore_soft_limit(file_limit)
    _die_with_parent()
    gc.enable()  # forked from a GUI whose consumer thread runs, collection would be off (gui_gc)
    sys.setswitchinterval(_SWITCH_INTERVAL_S)  # and the GIL's switch interval the GUI's (gui_gc)
    os.setpgrp()  # its own process group, so a Kill reaches the worker's children too
    worker_tree.become_subreaper()  # orphans of its descendants stay under it, to be ended with it
    mark = os.environ[worker_tree.RUN_MARK] = worker_tree.new_mark()
    if spec.nice and hasattr(os, "nice"):
        os.nice(spec.nice)  # relative to Pulse's own; its children inherit it
    _set_sched_policy(spec.sched)  # before any thread starts: Linux applies both per thread
    writer = ChannelWriter(out, objects=objects)
    ctx = WorkerContext(spec.name, writer)
    # As early as there is a flag: from here on a stop only flags, until the target is imported
    # and its kind known; the check after the import ends the worker before its producer runs.
    mode = stopping.NEVER
    busy = writer.busy
    # A ctx function busy in its own code has half its stop_timeout to see ctx.stopping and
    # return; then the stop is raised in its code, so its `finally` runs before the SIGKILL.
    grace = spec.stop_timeout / 2
    handler = stopping.install_stop_handler(ctx.stopping, lambda: stopping.NEVER if busy() else mode, grace)
    os.register_at_fork(after_in_child=lambda: _forked_from_worker(writer))
    # The supervisor holds back a SIGTERM until it reads this; the rest lets it sweep our orphans.
    writer.send((HELLO, mark, os.getppid() if worker_tree.forkserver_guarded else None))
    _set_title(spec)
    finishing = threading.Event()
    report = InboxReport(ctx.inbox, lambda dropped: writer.send((INBOX, dropped)))
    watch = threading.Thread(
        target=_watch_control, args=(out, writer, finishing, ctx.inbox, report), name="pulse-control", daemon=True
    )
    watch.start()
    child_output.capture_output(stdout, stderr)
    child_output.capture_logging(writer)
    faulthandler.enable(file=sys.stderr, all_threads=True)
    exitcode = 0
    try:
        worker_env.enter_cwd(spec)  # here: a directory gone since the load fails as the worker's error
        target = resolve_target(spec.target)
        kwargs = dict(spec.kwargs, ctx=ctx) if producer_shapes.takes_ctx(target) else dict(spec.kwargs)
        mode = producer_shapes.stop_mode(target)
        if ctx.stopping.is_set():  # asked during start-up or the import: end before the producer runs
            raise StopRequested
        producer_shapes.run_producer(target, kwargs, ctx)
    except StopRequested:
        pass
    except SystemExit as exc:
        exitcode = _exit_code(exc, writer)
    except BaseException as exc:
        handler.producer_done()  # a stop from here on only flags: the traceback goes out whole
        exitcode = 1
        writer.send((LOG, "stderr", "ERROR", _user_traceback(exc), time.time(), True))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the rest is flushing; let it finish
        handler.producer_done()
    worker_tree.end_descendants(grace=1.0)  # before the output ends: what they print is kept
    child_output.finish_output()
    finishing.set()  # the channel closes next: its end is no news of Pulse's death
    with contextlib.suppress(OSError):
        report.maybe(final=True)
    writer.close()
    out.close()
    sys.exit(exitcode)


def _forked_from_worker(writer: ChannelWriter) -> None:
    """In a child forked from the worker (a fork Pool's process): none of the worker's duties.

    Its SIGTERM is the default again (Pool.terminate ends its processes with SIGTERM; our
    handler would only flag a stop nobody checks there), and the channel is the worker's alone.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(ValueError):  # nor the worker's wakeup pipe: a signal here is not the worker's
        signal.set_wakeup_fd(-1)
    writer.in_forked_child()


def _exit_code(exc: SystemExit, writer: ChannelWriter) -> int:
    """Return the exit code of ``sys.exit(code)``; a message (``sys.exit("why")``) is logged, as Python prints it."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    writer.send((LOG, "stderr", "ERROR", f"sys.exit: {exc.code}", time.time(), False))
    return 1


def _user_traceback(exc: BaseException) -> str:
    """Return ``exc``'s traceback without Pulse's own frames above the producer, at a bounded cost."""
    return traceback_text.format_exception(exc, hide=_OWN_FILES.__contains__).rstrip("\n")


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL us when our parent dies (the channel's watch covers the rest)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watch_control(
    conn: Connection, writer: ChannelWriter, finishing: threading.Event, box: Inbox, report: InboxReport
) -> None:
    """Serve stack requests, queue messages; exit at once when Pulse's end of the channel closes (Pulse died).

    Once the worker is ``finishing`` it closes the channel itself: that end of file is no
    news, and the worker's own exit code stands.
    """
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            if finishing.is_set():
                return
            _orphaned()
        if request[:1] == MESSAGE:
            if not box.put(request[1:]):
                try:
                    report.maybe()
                except OSError:
                    if finishing.is_set():
                        return
                    _orphaned()
        elif request == b"stack":
            try:
                writer.send((STACK, format_stacks()))
            except OSError:
                if finishing.is_set():
                    return
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
        paused = producer_shapes.current
        if not summary and ident == main and getattr(paused, "gi_frame", None) is not None:
            summary, note = _paused_at(paused), "(paused at its yield while Pulse sends the item)\n"
        stack = "".join(traceback.StackSummary.from_list(summary).format())
        parts.append(f"Thread {name} (most recent call last):\n{stack}{note}")
    parts.append(f"({ours} Pulse helper threads not shown)")
    return "\n".join(parts)


def _paused_at(gen: Any) -> list[traceback.FrameSummary]:
    """Return the frames of a paused generator, down a ``yield from`` chain."""
    frames: list[traceback.FrameSummary] = []
    while gen is not None and getattr(gen, "gi_frame", None) is not None:
        frames.extend(traceback.extract_stack(gen.gi_frame))
        gen = gen.gi_yieldfrom
    return frames


def _is_plumbing(filename: str) -> bool:
    return filename in _OWN_FILES or filename == "<string>" or f"{os.sep}multiprocessing{os.sep}" in filename
