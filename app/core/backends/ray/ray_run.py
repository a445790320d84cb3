"""The Ray backend's runs: each streamed from its agent into local pipes the supervisor reads.

A run's bytes come back in batches through a streaming call (through Ray Client, which cannot
stream, by long polls) and are written into local pipes by one thread per run, so the supervisor
reads a remote run exactly as it reads a local one. Nothing here blocks `Supervisor.poll`: making
an agent takes seconds, and happens on that thread.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal as signals
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pulse_supervisor.core.backends.ray import agent as ray_agent
from pulse_supervisor.core.backends.ray.polling import POLL_WAIT
from pulse_supervisor.core.backends.ray.ray_import import ClusterUnreachable, ray_module
from pulse_supervisor.core.backends.ray.upload import UploadFailed
from pulse_supervisor.core.processes.inspection import ProcessInfo

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pulse_supervisor.core.spec import WorkerSpec

_run_ids = itertools.count(1)


class AgentSource(Protocol):
    """What a run asks of its launcher (`launcher.RayLauncher`): its agent, made or forgotten."""

    client: bool  # connected through Ray Client: runs are polled

    def agent_for(
        self, spec: WorkerSpec, note: Callable[[str], None], killed: Callable[[], bool]
    ) -> tuple[Any, dict[str, Any]] | None: ...

    def forget(self, name: str, agent: Any) -> None: ...


class RayRun:
    """A run on a Ray node (see `run.Run`); its pump thread feeds the local pipes the supervisor reads."""

    def __init__(self, launcher: AgentSource, spec: WorkerSpec) -> None:
        self.pid = 0  # until the agent has started it
        self.node = "ray"  # until the agent says which node
        self.started: float | None = None  # time.monotonic() at its real start, on its node
        self.clock_offset = 0.0
        self.mono_offset_ns = 0
        self.agent_id = ""  # the agent actor's id, once it is made
        self.facts: dict[str, Any] | None = {}  # from its node, once a second (replaced whole: any thread reads it)
        self._launcher = launcher
        self._spec = spec
        self._run_id = next(_run_ids)
        self.channel, channel_w = multiprocessing.Pipe(duplex=False)
        out_r, out_w = multiprocessing.Pipe(duplex=False)
        err_r, err_w = multiprocessing.Pipe(duplex=False)
        self.outputs: dict[str, Connection] = {"stdout": out_r, "stderr": err_r}
        self.sentinel, self._sentinel_w = multiprocessing.Pipe(duplex=False)
        self._writers = {ray_agent.CHANNEL: channel_w, ray_agent.STDOUT: out_w, ray_agent.STDERR: err_w}
        self._agent: Any = None
        self._killed = False
        self._code: int | None = None
        self._joined = False
        self._pump = threading.Thread(target=self._stream, name=f"pulse-ray:{spec.name}", daemon=True)
        self._pump.start()

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the run as `LocalRun.signal` does on its node (a SIGKILL before it started: none starts)."""
        if sig == signals.SIGKILL:
            self._killed = True
        agent = self._agent
        if agent is not None:
            agent.signal.remote(self._run_id, sig)

    def inspect(self) -> ProcessInfo:
        """Return the run's process as last read on its node (never blocks).

        Its full inspection (files, connections, command line) comes with its facts for a few
        seconds after each call: an inspector that refreshes every second keeps it coming.
        """
        agent, facts = self._agent, self.facts or {}
        if agent is not None:
            agent.want_details.remote()
        if "info" in facts:
            info = dict(facts["info"], children=tuple(facts["info"]["children"]))
            info.update(open_files=tuple(info["open_files"]), connections=tuple(info["connections"]))
            return ProcessInfo(**{**info, "node": self.node, "agent": self.agent_id})
        if not self.pid:
            return ProcessInfo(None, False, error="being started on the cluster", node=self.node)
        return ProcessInfo(self.pid, True, cpu_percent=facts.get("cpu_percent"), rss=facts.get("rss"),
                           num_threads=facts.get("threads"), node=self.node, agent=self.agent_id)  # fmt: skip

    def request_stack(self) -> None:
        """Ask the run for its stack (the answer comes on the channel)."""
        agent = self._agent
        if agent is not None:
            agent.request_stack.remote(self._run_id)

    def send_message(self, data: bytes) -> str | None:
        """Hand the run a pickled message through its agent; say why not when it has none yet."""
        agent = self._agent
        if agent is None:
            return "it is still being started on the cluster"
        agent.send_message.remote(self._run_id, data)
        return None

    def flush_outbox(self) -> bool:
        """True: the agent on the run's node writes the messages (see `LocalRun.flush_outbox`)."""
        return True

    def join(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` for the pump to deliver the run's end; return its exit code."""
        if not self._joined:
            if not self.sentinel.poll(timeout):
                return None
            with contextlib.suppress(EOFError, OSError):
                self._code = int.from_bytes(self.sentinel.recv_bytes(), "big", signed=True)
            self._joined = True
        return self._code

    def release(self, hello: tuple[str | None, int | None]) -> None:
        """Close the sentinel; the agent already ended what the run left on its node."""
        self.sentinel.close()
        self._pump.join(timeout=5.0)

    def _stream(self) -> None:
        code = -signals.SIGKILL
        try:
            code = self._run_remote()
        except Exception as exc:  # the agent died, the cluster went away, or it never started
            if self._agent is not None:
                self._launcher.forget(self._spec.name, self._agent)
            if isinstance(exc, (ClusterUnreachable, UploadFailed)):  # their messages say it all
                self._note(f"pulse: {exc}")
            else:
                self._note(f"pulse: the worker's Ray agent failed: {type(exc).__name__}: {exc}")
        finally:
            for conn in self._writers.values():
                conn.close()  # end of file: everything before it has been written
            with contextlib.suppress(OSError):
                self._sentinel_w.send_bytes(code.to_bytes(4, "big", signed=True))
            self._sentinel_w.close()

    def _run_remote(self) -> int:
        if self._killed:
            return -signals.SIGKILL
        made = self._launcher.agent_for(self._spec, self._note, lambda: self._killed)
        if made is None:
            return -signals.SIGKILL
        agent, where = made
        self.node = str(where["node"])
        self.clock_offset, self.mono_offset_ns = where["clock_offset"], where["mono_offset_ns"]
        self.agent_id = str(where["actor_id"])
        self._agent = agent
        if self._killed:  # asked while the agent was being made: it never starts
            return -signals.SIGKILL
        ray = ray_module()
        if self._launcher.client:
            return self._poll_remote(agent, ray)
        code = -signals.SIGKILL
        for ref in agent.run.remote(self._spec, self._run_id):
            code = self._take(ray.get(ref), code)
        return code

    def _poll_remote(self, agent: Any, ray: Any) -> int:
        # The next poll is asked before this one's bytes are written: its round trip (~10 ms through
        # Ray Client's proxy) overlaps the writing, and the agent holds at most a queue's worth more.
        asked = agent.poll.remote(self._run_id, POLL_WAIT, self._spec)
        code = -signals.SIGKILL
        while True:
            msgs = ray.get(asked)
            ended = bool(msgs) and msgs[-1][0] == "exit"  # the exit comes last, after everything the run wrote
            if not ended:
                asked = agent.poll.remote(self._run_id, POLL_WAIT)
            for msg in msgs:
                code = self._take(msg, code)
            if ended:
                return code

    def _take(self, msg: tuple[Any, ...], code: int) -> int:
        """Carry out one of the agent's messages; return ``code``, or the run's exit code if it is that."""
        if msg[0] == "data":
            for stream, data in msg[1]:
                _write_all(self._writers[stream], data)
        elif msg[0] == "facts":
            self.facts = msg[1]
        elif msg[0] == "pid":
            self.pid = msg[1]
            self.started = time.monotonic()
        elif msg[0] == "exit":
            return int(msg[1])
        return code

    def _note(self, line: str) -> None:
        with contextlib.suppress(OSError):
            _write_all(self._writers[ray_agent.STDERR], (line + "\n").encode())


def _write_all(conn: Connection, data: bytes) -> None:
    """Write raw bytes (already framed) to a pipe; blocks while it is full, which holds the stream back."""
    fd = conn.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
