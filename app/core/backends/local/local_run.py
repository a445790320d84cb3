"""The local backend: each run a process on this machine, started by Pulse's forkserver (or spawn/fork)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.backends.run import LOCAL_NODE
from pulse_supervisor.core.processes import fd_limit, helper_stdio, worker_tree
from pulse_supervisor.core.wire.channel import MESSAGE
from pulse_supervisor.core.worker import bootstrap, pulse_forkserver

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from pulse_supervisor.core.spec import WorkerSpec

# Modules every forkserver child needs: importing them once in the server makes starts fast.
# The guard makes the forkserver a subreaper that ends every worker's leftovers (worker_tree).
_PRELOAD = [
    "pulse_supervisor.core.worker.forkserver_guard",
    "pulse_supervisor.core.worker.bootstrap",
    "pulse_supervisor.core.worker.producers",
]
# What may wait to go down one worker's channel while it does not read (its inbox is bounded too).
OUTBOX_BYTES = 4 * 1024 * 1024


def start_forkserver() -> None:
    """Start Pulse's forkserver now, guarded, unless it runs: its workers get the environment it has now."""
    pulse_forkserver.set_preload(_PRELOAD)
    pulse_forkserver.ensure_running()


class LocalRun:
    """A worker process on this machine, in a process group of its own (see `run.Run`).

    Its channel is a socket pair, not a pipe: Pulse's stack requests go down the same descriptor
    the worker's messages come up, and its end of file tells the worker that Pulse died.
    """

    node = LOCAL_NODE
    clock_offset = 0.0
    mono_offset_ns = 0
    facts: dict[str, Any] | None = None  # read here, by pid

    def __init__(self, process: BaseProcess, channel: Connection, outputs: dict[str, Connection]) -> None:
        assert process.pid is not None  # started
        self.process = process
        self.pid: int = process.pid
        self.started: float | None = time.monotonic()
        self.channel = channel  # closed by whoever reads it (`WorkerRecord.close_channel`, the Ray agent)
        self.outputs = outputs
        self.sentinel: Any = process.sentinel
        self._outbox = bytearray()  # frames down the channel the worker has had no room for yet

    def signal(self, sig: int) -> None:
        """Signal the worker: SIGTERM the worker alone, any other signal its process group too.

        The worker's children get their SIGTERM from the worker once its producer has ended
        (`worker_tree.end_descendants`), not with it: a producer's ``finally`` may still need
        them (a ``multiprocessing.Manager``'s server, a Pool), and one that died first would turn
        the stop into the producer's error (an EOFError from a Manager's queue).
        """
        with contextlib.suppress(ProcessLookupError):
            if sig != signal.SIGTERM and os.getpgid(self.pid) == self.pid:
                os.killpg(self.pid, sig)
                return
            os.kill(self.pid, sig)

    def inspect(self) -> None:
        """None: a local process is inspected here, by pid (`inspection.Inspector`)."""
        return None

    def request_stack(self) -> None:
        """Ask down the channel (a thread in the worker reads it and dumps the stack)."""
        self._write(b"stack")

    def send_message(self, data: bytes) -> str | None:
        """Queue a pickled message down the channel for the worker's inbox; say why not, or None."""
        return self._write(MESSAGE + data)

    def flush_outbox(self) -> bool:
        """Write what waits to go down the channel, as far as it takes it now; return whether all is out.

        The channel is non-blocking on this side (`channel.FrameReader`): a worker that stopped
        reading (stalled, SIGSTOPped) must not stall the supervisor, so a frame it has no room
        for waits here, whole frames only ever being appended.
        """
        out = self._outbox
        while out:
            try:
                written = os.write(self.channel.fileno(), out)
            except BlockingIOError:
                return False
            except OSError:  # closed: the run is over, and what waited with it
                out.clear()
                return True
            del out[:written]
        return True

    def _write(self, payload: bytes) -> str | None:
        if len(self._outbox) + len(payload) > OUTBOX_BYTES:
            return "it has not read its channel for a while (stalled?): nothing more is queued for it"
        self._outbox += len(payload).to_bytes(4, "big", signed=True) + payload  # Connection's frame
        self.flush_outbox()
        return None

    def join(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` for the process; return its exit code (None: still running)."""
        self.process.join(timeout)
        return self.process.exitcode

    def release(self, hello: tuple[str | None, int | None]) -> None:
        """Close the process handle, and sweep what the worker left behind."""
        self.process.close()
        worker_tree.forget(self.pid)
        mark, forkserver_pid = hello
        worker_tree.sweep_orphans(self.pid, forkserver_pid, mark)


class LocalLauncher:
    """Starts each run as a process of ``start_method``; forkserver runs come from Pulse's own server."""

    def __init__(self, start_method: str, *, objects: bool = False) -> None:
        self._ctx = multiprocessing.get_context(start_method)
        self._objects = objects  # items of other classes as `item_forms.Pickled`, not stand-ins
        self._tracked = start_method != "fork"  # spawn and forkserver children share our resource tracker
        self._process_class: type[BaseProcess] | None = None  # None: the context's own Process
        if start_method == "forkserver":
            pulse_forkserver.set_preload(_PRELOAD)
            self._process_class = pulse_forkserver.PulseForkServerProcess

    def launch(self, spec: WorkerSpec) -> LocalRun:
        """Start a process running `bootstrap.run` for ``spec``, with its pipes.

        Raises whatever ``Process.start`` raises (e.g. kwargs that do not pickle), with every
        pipe closed again.
        """
        ctx: Any = self._ctx
        here: list[Connection] = []
        child_ends: list[Connection] = []
        try:
            for duplex in (True, False, False):  # the channel; its fds 1 and 2, read here (output_pipe)
                ours, theirs = ctx.Pipe(duplex=duplex)
                here.append(ours)
                child_ends.append(theirs)
        except OSError:
            for conn in (*here, *child_ends):
                conn.close()
            raise
        channel, out_r, err_r = here
        # Not daemonic: a daemonic process may not have children of its own (no Pool in a
        # worker). Pulse's own watches end it with Pulse; `Supervisor.close` reaps it.
        process = (self._process_class or ctx.Process)(
            target=bootstrap.run,
            # The worker gets back the file limit we raised.
            args=(spec, *child_ends, fd_limit.found_soft_limit(), self._objects),
            name=f"pulse:{spec.name}",
            daemon=False,
        )
        with worker_tree.launching() as live:  # a sweep must not take it for an orphan meanwhile
            try:
                if self._tracked:
                    helper_stdio.start_resource_tracker()  # before multiprocessing starts it holding our stdout
                process.start()
            except Exception:
                for conn in (*here, *child_ends):
                    conn.close()
                raise
            assert process.pid is not None  # a start() that returned set it
            live.add(process.pid)
        # The child holds its own copies now; ours would keep the pipes from ever reaching EOF.
        for conn in child_ends:
            conn.close()
        return LocalRun(process, channel, {"stdout": out_r, "stderr": err_r})
