"""The Ray backend's node side: an agent that runs a worker as a local run on its node and streams it back.

Imported in Ray's worker processes only (the `Agent` actor); nothing here imports Ray, so the
class is wrapped with ``ray.remote`` by `ray_launcher`, which is the only module that does.
A run is streamed (`Agent.run`), or through Ray Client, which cannot stream, polled (`Agent.poll`).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any, NoReturn

import psutil

from pulse_supervisor.core.backends.local.local_run import LocalLauncher, LocalRun
from pulse_supervisor.core.backends.ray import driver_watch
from pulse_supervisor.core.backends.ray.polling import PolledRun
from pulse_supervisor.core.processes.inspection import Inspector
from pulse_supervisor.core.wire import channel
from pulse_supervisor.core.worker import pulse_forkserver

if TYPE_CHECKING:
    from pulse_supervisor.core.spec import WorkerSpec

CHANNEL, STDOUT, STDERR = 0, 1, 2  # which stream a chunk of bytes belongs to
BATCH_BYTES = 1 << 20  # a batch yields at this size...
BATCH_WAIT = 0.005  # ...or once its oldest bytes waited this long: one Ray object per ~5 ms
_READ_SIZE = 256 * 1024


def _forget_rays_main() -> None:
    """Make Ray's worker script no main module for multiprocessing to re-run in our forkserver.

    multiprocessing starts its forkserver by importing the parent's ``__main__`` file as
    ``__mp_main__``; here that is Ray's ``default_worker.py``, which imports all of Ray (every
    worker then starts ~60 MB heavier and ~0.7 s later). Pulse's targets are named by module,
    never by ``__main__``, so the forkserver needs no main module at all.
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        with contextlib.suppress(AttributeError):
            del main.__file__


class Agent:
    """One worker's agent on a node, kept across its restarts (the actor class; see `ray_launcher`).

    Parameters
    ----------
    start_method : str
        How it starts each run (as for local runs).
    driver : tuple of (int, float), optional
        Pulse's process, (pid, start time): when the agent runs under it (a head of Pulse's
        own), a run ends the moment Pulse dies (`driver_watch`).
    private_env : tuple of str
        Variables of the agent's environment its runs must not inherit (the head's token: the
        runs are no Ray processes, and Ray here read it as the agent started).
    objects : bool
        Items of other classes as `item_forms.Pickled`, not `StandIn` (as for local runs).
    """

    def __init__(
        self,
        start_method: str,
        driver: tuple[int, float] | None = None,
        private_env: tuple[str, ...] = (),
        objects: bool = False,
    ) -> None:
        _forget_rays_main()
        for name in private_env:  # before any run: the forkserver copies the environment as it starts
            os.environ.pop(name, None)
        self._launcher = LocalLauncher(start_method, objects=objects)
        self._lock = threading.Lock()
        self._run: LocalRun | None = None
        self._run_id = 0
        self._details_until = 0.0  # the run's full inspection rides its facts until then
        self._kill_at_start = 0  # a run id SIGKILLed before its run started: it dies as it starts
        self._polled: PolledRun | None = None  # the run `poll` fetches (Ray Client's)
        # Ray ends an actor whose handles are all gone (a Ray Client session that ended without
        # its driver, Pulse SIGKILLed) with a normal exit, whose multiprocessing hook joins the run:
        # it would wait on the run for ever, and the agent with it. Ended first, it cannot.
        atexit.register(self._end_run)
        if driver is not None:
            driver_watch.end_with(driver, self._orphaned)

    def where(self) -> dict[str, Any]:
        """Return this node's name, the agent's pid, and its clocks (for the driver's offset)."""
        import ray  # here, in the actor: Ray runs it

        return {
            "node": socket.gethostname(),
            "pid": os.getpid(),
            "actor_id": ray.get_runtime_context().get_actor_id() or "",
            "boot_id": boot_id(),
            "time": time.time(),
            "mono_ns": time.monotonic_ns(),
        }

    def run(self, spec: WorkerSpec, run_id: int) -> Iterator[tuple[Any, ...]]:
        """Start a run of ``spec`` here and stream it: ("pid", pid), ("data", [(stream, bytes)...])..., ("exit", code).

        The bytes are the run's channel, stdout and stderr as the pipes carried them; the exit
        comes once everything the run wrote before it ended has been yielded.
        """
        with self._lock:
            run = self._run = self._launcher.launch(spec)
            self._run_id = run_id
            if self._kill_at_start == run_id:
                run.signal(signal.SIGKILL)
        yield ("pid", run.pid)
        pipes = {CHANNEL: run.channel, STDOUT: run.outputs["stdout"], STDERR: run.outputs["stderr"]}
        for conn in pipes.values():
            os.set_blocking(conn.fileno(), False)
        hello = _HelloReader()
        facts = _FactsReader(run.pid)
        open_pipes = dict(pipes)
        ended = False
        last_sent = -BATCH_WAIT  # when the last batch went: a run quiet since then sends at once
        while not ended:
            ready = wait([*open_pipes.values(), run.sentinel], facts.due_in())
            ended = run.sentinel in ready
            if facts.due_in() <= 0 and not ended:
                yield ("facts", facts.read(detailed=time.monotonic() < self._details_until))
            batch: list[tuple[int, bytes]] = []
            size = 0
            # A leading edge, as the worker's own writer has: bytes after a quiet spell go at once (an
            # item at 50/s waited the whole BATCH_WAIT: p50 7.5 ms); a busy run's gather until
            # BATCH_WAIT after the last batch, so it costs one Ray object per few ms.
            deadline = last_sent + BATCH_WAIT
            while True:
                for stream, conn in list(open_pipes.items()):
                    data = _read_all(conn.fileno(), drain=ended)
                    if data is None:  # end of file
                        del open_pipes[stream]
                        continue
                    if data:
                        if stream == CHANNEL:
                            hello.feed(data)
                        batch.append((stream, data))
                        size += len(data)
                left = deadline - time.monotonic()
                if ended or size >= BATCH_BYTES or left <= 0 or not open_pipes:
                    break
                if run.sentinel in wait([*open_pipes.values(), run.sentinel], left):
                    ended = True
            if batch:
                last_sent = time.monotonic()
                yield ("data", batch)
        code = run.join()
        with self._lock:
            self._run = None
        for conn in pipes.values():
            conn.close()
        run.release((hello.mark, pulse_forkserver.server_pid()))
        yield ("exit", code)

    def poll(self, run_id: int, timeout: float, spec: WorkerSpec | None = None) -> list[tuple[Any, ...]]:
        """Return run ``run_id``'s next messages (those of `run`), waiting up to ``timeout`` for one.

        The first poll brings the ``spec`` and starts the run, so no call waits on another: Ray
        runs a threaded actor's calls in any order. [] means nothing came within ``timeout``.
        """
        polled = self._polled
        if spec is not None:
            polled = self._polled = PolledRun(run_id, self.run(spec, run_id))
        if polled is None or polled.run_id != run_id:
            raise LookupError(f"run {run_id} was not started here")
        taken = polled.take(timeout)
        if taken and taken[-1][0] == "exit":
            self._polled = None
        return taken

    def signal(self, run_id: int, sig: int) -> None:
        """Signal run ``run_id`` as `LocalRun.signal` does (a SIGKILL before it started: as it starts)."""
        with self._lock:
            if self._run is not None and self._run_id == run_id:
                self._run.signal(sig)
            elif sig == signal.SIGKILL and run_id > self._run_id:
                self._kill_at_start = run_id

    def _end_run(self) -> None:
        with self._lock:
            if self._run is not None:
                self._run.signal(signal.SIGKILL)

    def _orphaned(self) -> NoReturn:
        """Pulse died: end the run and this agent, whose forkserver then ends what ran under it."""
        self._end_run()
        os._exit(70)  # as an orphaned local worker does (bootstrap)

    def want_details(self) -> None:
        """Send the run's full inspection (files, connections, command line...) with its facts for 5 s."""
        self._details_until = time.monotonic() + 5.0

    def request_stack(self, run_id: int) -> None:
        """Ask run ``run_id`` for its stack (it answers on the channel)."""
        with self._lock:
            if self._run is not None and self._run_id == run_id:
                self._run.request_stack()

    def send_message(self, run_id: int, data: bytes) -> None:
        """Hand run ``run_id`` a pickled message (`Supervisor.send`); a run since ended gets none."""
        with self._lock:
            if self._run is not None and self._run_id == run_id:
                self._run.send_message(data)


def boot_id() -> str:
    """Return this machine's boot id: two nodes that share it share their clocks too."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


class _FactsReader:
    """The run's process facts, read on its node once a second (the window's CPU and RSS columns)."""

    PERIOD = 1.0

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._inspector = Inspector()
        self._proc: psutil.Process | None = None  # made at the first read: the run may be gone by then
        self._next = time.monotonic() + self.PERIOD
        self._last: tuple[float, float] | None = None  # (when, cpu seconds)

    def due_in(self) -> float:
        return max(0.0, self._next - time.monotonic())

    def read(self, *, detailed: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        self._next = now + self.PERIOD
        try:
            proc = self._proc = self._proc or psutil.Process(self._pid)
            with proc.oneshot():
                times = proc.cpu_times()
                cpu = times.user + times.system
                facts: dict[str, Any] = {"rss": proc.memory_info().rss, "threads": proc.num_threads()}
            facts["children"] = len(proc.children(recursive=True))
        except psutil.Error:
            return {}
        last, self._last = self._last, (now, cpu)
        facts["cpu_percent"] = None if last is None else 100.0 * (cpu - last[1]) / max(now - last[0], 1e-6)
        if detailed:
            facts["info"] = dataclasses.asdict(self._inspector.inspect(self._pid))
        return facts


def _read_all(fd: int, *, drain: bool) -> bytes | None:
    """Return what the pipe holds now (b"": nothing yet), None at end of file.

    With ``drain`` (the run ended) up to 64 reads: a grandchild still writing must not keep us here.
    """
    chunks: list[bytes] = []
    for _ in range(64 if drain else 4):
        try:
            chunk = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            break
        except OSError:
            return None if not chunks else b"".join(chunks)
        if not chunk:
            return None if not chunks else b"".join(chunks)
        chunks.append(chunk)
    return b"".join(chunks)


class _HelloReader:
    """Picks the run's mark out of its first message (HELLO), for the sweep of what it leaves."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.mark: str | None = None
        self._done = False

    def feed(self, data: bytes) -> None:
        if self._done:
            return
        self._buf += data
        if len(self._buf) < 4:
            return
        size = int.from_bytes(self._buf[:4], "big", signed=True)
        if size < 0 or len(self._buf) < 4 + size:
            self._done = size < 0
            return
        self._done = True
        with contextlib.suppress(Exception):
            msg = channel.decode(bytes(self._buf[4 : 4 + size]))
            if msg[0] == channel.HELLO:
                self.mark = msg[1]
        self._buf = bytearray()
