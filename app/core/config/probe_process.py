"""Check processes: user code run in a fresh interpreter, one step at a time, each under a time limit of its own."""

from __future__ import annotations

import json
import os
import pickle
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TextIO

from pulse_supervisor.core.processes import thread_affinity, worker_tree

# A check process's own start (an interpreter, Pulse's modules, the request read) comes before its
# first step and runs no user code: it has a limit of its own, charged to no target.
STARTUP_TIMEOUT = 30.0
# After its last answer a check process ends its tree and exits at once; one that has not by
# then (it cannot have: it exits with os._exit) is killed.
EXIT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Unanswered:
    """Why a step got no answer.

    ``kind`` is "overran" (its limit ran out), "ended" (its process died during it: ``detail``
    says how) or "unstarted" (no check process reached it: ``detail`` says why).
    """

    kind: Literal["overran", "ended", "unstarted"]
    detail: str = ""


def run_steps(entry: str, steps: Sequence[Any], limits: Sequence[float]) -> list[Any]:
    """Return the answer to each of ``steps``, or an `Unanswered`, from check processes running ``entry``.

    ``entry`` is ``"module:function"``, a function that calls `serve`. Step ``i`` may take
    ``limits[i]`` seconds, counted here from when the check process says it begins it. After a
    step that overran or ended its process, the steps left go to a fresh process: one slow
    import costs its own target, never the others. Every process's whole tree is ended before
    this returns, whatever the steps started.
    """
    results: list[Any] = []
    while len(results) < len(steps):
        done = len(results)
        try:
            got = _run_once(entry, steps[done:], limits[done:])
        except OSError as exc:
            got = [Unanswered("unstarted", f"could not be started: {exc}")]
        results += got
        if isinstance(got[-1], Unanswered) and got[-1].kind == "unstarted":  # a new one would fare no better
            results += got[-1:] * (len(steps) - len(results))
    return results


def _run_once(entry: str, steps: Sequence[Any], limits: Sequence[float]) -> list[Any]:
    """Answer a prefix of ``steps`` in one check process: all of them, or up to the first `Unanswered`."""
    module, function = entry.split(":")
    argv = [sys.executable, "-c", f"from {module} import {function}; {function}()"]
    request = pickle.dumps((list(sys.path), list(steps)))
    request = len(request).to_bytes(8, "big") + request  # stdin stays open after it: see _watch_caller
    # A session of its own: its process group is ended with it, even what left the tree.
    with thread_affinity.unpinned():
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_probe_env(),
            start_new_session=True,
        )  # fmt: skip
    with proc:
        talk = _Talk(proc, request)
        answers: list[Any] = []
        try:
            deadline, begun = time.monotonic() + STARTUP_TIMEOUT, False
            while len(answers) < len(steps):
                try:
                    line = talk.line(deadline)
                except TimeoutError:
                    why = f"did not start within {STARTUP_TIMEOUT:g} s"
                    answers.append(Unanswered("overran") if begun else Unanswered("unstarted", why))
                    break
                if line is None:
                    answers.append(Unanswered("ended", talk.how_ended()) if begun else talk.unstarted())
                    break
                try:
                    kind, index, *answer = json.loads(line)
                except (TypeError, ValueError):
                    continue  # not a line of ours
                if index != len(answers):
                    continue  # not the step in hand: nothing the protocol sends
                if kind == "start":
                    deadline, begun = time.monotonic() + limits[index], True
                elif kind == "answer":
                    answers.append(answer[0])
                    if len(answers) < len(limits):  # the short gap before its "start" is the next step's
                        deadline = time.monotonic() + limits[len(answers)]
        finally:
            talk.close(wait=len(answers) == len(steps))
    return answers


class _Talk:
    """One check process's pipes: the request written, its answer lines read, every wait bounded."""

    def __init__(self, proc: subprocess.Popen[bytes], request: bytes) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self._proc = proc
        self._in, self._out, self._err = proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno()
        self._request = request
        self._lines = b""
        self._stderr = b""
        self._ended = False
        self._selector = selectors.DefaultSelector()
        for fd, event in ((self._in, selectors.EVENT_WRITE), (self._out, selectors.EVENT_READ),
                          (self._err, selectors.EVENT_READ)):  # fmt: skip
            os.set_blocking(fd, False)
            self._selector.register(fd, event)
        # Readable once the process has exited, reaped or not; its answer pipe may stay open in a
        # child it forked, so an end of file alone would not tell.
        self._pidfd = os.pidfd_open(proc.pid) if hasattr(os, "pidfd_open") else None
        if self._pidfd is not None:
            self._selector.register(self._pidfd, selectors.EVENT_READ)

    def line(self, deadline: float) -> str | None:
        """Return the next answer line, or None once the process has ended; raise TimeoutError at ``deadline``."""
        while b"\n" not in self._lines:
            if self._ended:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            for key, _ in self._selector.select(left):
                self._on_ready(key.fd)
        line, _, self._lines = self._lines.partition(b"\n")
        return line.decode("utf-8", "replace")

    def _on_ready(self, fd: int) -> None:
        if fd == self._in:
            try:
                self._request = self._request[os.write(fd, self._request[:65536]) :]
            except BlockingIOError:
                return
            except BrokenPipeError:  # it stopped reading: it failed, as its stderr will say
                self._request = b""
            if not self._request:
                self._selector.unregister(fd)  # left open: its end of file is the check process's cue to end
        elif fd == self._pidfd:
            self._read(self._out)
            self._read(self._err)
            self._ended = True
        else:
            self._read(fd)

    def _read(self, fd: int) -> None:
        """Read what ``fd`` holds now; at its end of file stop watching it (an end of answers ends the talk)."""
        while fd in self._selector.get_map():
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            if not data:
                self._selector.unregister(fd)
                # Its exit, when the pidfd tells it, says more: the pipe closes before the process ends.
                self._ended = self._ended or (fd == self._out and self._pidfd is None)
            elif fd == self._out:
                self._lines += data
            else:
                self._stderr = (self._stderr + data)[-4096:]  # its last words are enough

    def unstarted(self) -> Unanswered:
        """Why the process ended before its first step: the last line of its stderr, or its status."""
        said = self._stderr.decode("utf-8", "replace").strip().splitlines()
        return Unanswered("unstarted", f"failed as it started: {said[-1] if said else self.how_ended()}")

    def how_ended(self) -> str:
        """Say how the process ended ("exited with code 3"): read without reaping it."""
        try:
            info = os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            info = None
        if info is None:
            return "closed its answers"
        if info.si_code == os.CLD_EXITED:
            return f"exited with code {info.si_status}"
        try:
            return f"was killed by {signal.Signals(info.si_status).name}"
        except ValueError:
            return f"was killed by signal {info.si_status}"

    def close(self, *, wait: bool) -> None:
        """End the process's whole tree, after up to `EXIT_TIMEOUT` for it to exit by itself if ``wait``.

        Before the process is reaped (`Popen.__exit__` does that), so its pid and process group
        still name it and nothing else.
        """
        pid = self._proc.pid
        if wait:
            worker_tree.wait_ended([pid], EXIT_TIMEOUT)
        worker_tree.kill_tree(pid)
        try:
            os.killpg(pid, signal.SIGKILL)  # what left the tree but not the group
        except (ProcessLookupError, PermissionError):
            pass
        self._selector.close()
        if self._pidfd is not None:
            os.close(self._pidfd)


def _probe_env() -> dict[str, str]:
    # Pulse's own package must import in the probe however Pulse was started (e.g. from its checkout).
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def serve(answer: Callable[[Any], Any]) -> NoReturn:
    """In a check process: answer each step of the request with ``answer(step)``, end the tree, exit.

    Says ``["start", i]`` before step ``i`` and ``["answer", i, answer(step)]`` after it, one JSON
    line each. It exits with ``os._exit`` once the answers are out: a thread an import started
    (non-daemon too) or an ``atexit`` hook of user code would otherwise hold it, and everything
    the imports started (children, ``setsid`` ones too: it is their subreaper) is killed first.
    """
    me = os.getpid()
    worker_tree.become_subreaper()
    code = 1
    try:
        out, steps = _read_request()
        for i, step in enumerate(steps):
            _say(out, ["start", i])
            result = answer(step)
            if os.getpid() != me:  # user code forked, and its child returned here: it must not answer
                os._exit(0)
            _say(out, ["answer", i, result])
        code = 0
    finally:
        worker_tree.kill_tree(me)
        os._exit(code)


def _say(out: TextIO, message: list[Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _read_request() -> tuple[TextIO, list[Any]]:
    """Return the answer stream (stdout as it was) and the steps; adopt the caller's ``sys.path``.

    Descriptors 1 and 2 then go to /dev/null: what user modules print is theirs, not our answer.
    """
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    size = int.from_bytes(sys.stdin.buffer.read(8), "big")
    path, steps = pickle.loads(sys.stdin.buffer.read(size))
    threading.Thread(target=_watch_caller, args=(os.getpid(),), name="pulse-probe-watch", daemon=True).start()
    sys.path[:] = path
    return out, steps


def _watch_caller(me: int) -> None:
    """End the check process and its tree once stdin ends: the caller died (even SIGKILLed) or gave up on it.

    A hanging import would otherwise keep it, and all it started, for ever. A thread runs while
    the import waits (a sleep, a lock, I/O); only an import spinning in C with the GIL held is
    out of its reach.
    """
    sys.stdin.buffer.read()
    worker_tree.kill_tree(me)
    os._exit(1)
