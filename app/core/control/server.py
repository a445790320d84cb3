"""`pulse ctl`'s server: a thread serving the control socket, never blocked by a client, handing each request on."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulse_supervisor.core.control import wire
from pulse_supervisor.core.control.wire import HEAD, MAX_FRAME, Answer, ControlError, encode, peer_allowed, socket_path

REQUEST_TIMEOUT = 5.0  # a client has this long to send its whole request
ANSWER_TIMEOUT = wire.ANSWER_TIMEOUT  # Pulse has this long to answer (a window busy for longer is answered for)
MAX_CLIENTS = 32  # connections served at once; more are closed at once
# Called in the server's thread with a request and the function that answers it (once, any thread).
Handler = Callable[[dict[str, Any], Callable[[Answer], None]], None]


class _Client:
    """One connection: its request being read, then its answer being written; one request each."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbuf = bytearray()
        self.out = bytearray()
        self.deadline = time.monotonic() + REQUEST_TIMEOUT
        self.waiting = False  # the request went to the handler; its answer has not come


class ControlServer:
    """Serves a control socket in a thread of its own; each request goes to ``handler``, which answers it.

    The thread reads requests and writes answers, never blocking on a client: a frame over
    `MAX_FRAME`, bytes that are not JSON, or a client silent for `REQUEST_TIMEOUT` get an
    error and are closed; peers of another uid are closed unanswered. ``handler`` is called in
    the server's thread and must hand the request on (a queue, a queued signal), not carry it
    out there. ``{"verb": "hello"}`` is answered here, with ``info`` (or what ``info()`` returns
    then, in this thread) and the pid.

    Attributes
    ----------
    path : Path
        The socket (mode 0600), removed by `close`.
    """

    def __init__(
        self, handler: Handler, info: Answer | Callable[[], Answer], path: str | os.PathLike[str] | None = None
    ) -> None:
        self._handler = handler
        self._info = info if callable(info) else lambda: info  # asked at each hello: a window opens other files
        self.path = Path(path) if path is not None else socket_path()
        self._answers: deque[tuple[_Client, Answer]] = deque()
        self._wake_r, self._wake_w = os.pipe()
        self._wake_lock = threading.Lock()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # a socket left by a dead process that had our pid
            self._sock.bind(os.fspath(self.path))  # OSError for a path over 107 bytes, too
            os.chmod(self.path, 0o600)
            self._sock.listen(64)
            self._sock.setblocking(False)
        except OSError:
            self._sock.close()
            os.close(self._wake_r)
            os.close(self._wake_w)
            raise
        self._closing = False
        self._clients: dict[int, _Client] = {}
        self._thread = threading.Thread(target=self._serve, name="pulse-control-socket", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving, close every connection and remove the socket (again: a no-op)."""
        if self._closing:
            return
        self._closing = True
        self._wake()
        self._thread.join(timeout=5.0)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with self._wake_lock:  # an answer coming late must not write to a descriptor reused since
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_w = -1

    def _wake(self) -> None:
        with self._wake_lock, contextlib.suppress(OSError):  # full: a wake-up is pending anyway
            if self._wake_w >= 0:
                os.write(self._wake_w, b"w")

    def _answer(self, client: _Client, answer: Answer) -> None:
        """Queue ``answer`` for ``client`` (any thread); the server's thread writes it."""
        self._answers.append((client, answer))
        self._wake()

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._closing:
                timeout = self._next_timeout()
                for key, mask in sel.select(timeout):
                    if key.fileobj is self._sock:
                        self._accept(sel)
                    elif key.fileobj == self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 4096)
                    else:
                        client = key.data
                        if mask & selectors.EVENT_READ:
                            self._read(sel, client)
                        if mask & selectors.EVENT_WRITE and client.sock.fileno() >= 0:
                            self._write(sel, client)
                self._take_answers(sel)
                self._expire(sel)
        finally:
            for client in list(self._clients.values()):
                self._drop(sel, client)
            sel.close()
            self._sock.close()

    def _next_timeout(self) -> float | None:
        if not self._clients:
            return None
        soonest = min(c.deadline for c in self._clients.values())
        return max(0.0, soonest - time.monotonic())

    def _accept(self, sel: selectors.BaseSelector) -> None:
        try:
            sock, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError:  # out of descriptors: this client waits for a later turn
            return
        if len(self._clients) >= MAX_CLIENTS or not peer_allowed(sock):
            sock.close()
            return
        sock.setblocking(False)
        client = _Client(sock)
        self._clients[sock.fileno()] = client
        sel.register(sock, selectors.EVENT_READ, client)

    def _read(self, sel: selectors.BaseSelector, client: _Client) -> None:
        try:
            chunk = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(sel, client)  # gone (if its request was handed on, its answer is dropped)
            return
        if client.waiting or client.out:
            return  # one request a connection: what follows it is ignored
        client.inbuf += chunk
        if len(client.inbuf) < HEAD.size:
            return
        (size,) = HEAD.unpack_from(client.inbuf)
        if size > MAX_FRAME:
            self._reply(sel, client, _error(f"request of {size} bytes refused: over the limit of {MAX_FRAME}"))
            return
        if len(client.inbuf) < HEAD.size + size:
            return
        try:
            message = json.loads(bytes(client.inbuf[HEAD.size : HEAD.size + size]))
        except (ValueError, RecursionError):
            self._reply(sel, client, _error("malformed request: not JSON"))
            return
        client.inbuf.clear()
        if not isinstance(message, dict) or not isinstance(message.get("verb"), str):
            self._reply(sel, client, _error('malformed request: not an object with a "verb"'))
        elif message["verb"] == "hello":
            self._reply(sel, client, {"ok": True, **self._info(), "pid": os.getpid()})
        else:
            client.waiting = True
            client.deadline = time.monotonic() + ANSWER_TIMEOUT
            try:
                self._handler(message, lambda answer: self._answer(client, answer))
            except Exception as exc:  # the handler only hands on; a failure there is this request's
                client.waiting = False
                self._reply(sel, client, _error(f"internal error: {type(exc).__name__}: {exc}"))

    def _take_answers(self, sel: selectors.BaseSelector) -> None:
        while self._answers:
            client, answer = self._answers.popleft()
            if self._clients.get(client.sock.fileno()) is client and client.waiting:
                client.waiting = False
                self._reply(sel, client, answer)

    def _reply(self, sel: selectors.BaseSelector, client: _Client, answer: Answer) -> None:
        try:
            client.out += encode(answer)
        except (ControlError, TypeError, ValueError) as exc:
            client.out += encode(_error(f"the answer could not be sent: {exc}"))
        client.deadline = time.monotonic() + REQUEST_TIMEOUT  # a reader that does not read is dropped
        sel.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)
        self._write(sel, client)

    def _write(self, sel: selectors.BaseSelector, client: _Client) -> None:
        if not client.out:
            return
        try:
            sent = client.sock.send(client.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(sel, client)
            return
        del client.out[:sent]
        if not client.out:
            self._drop(sel, client)  # answered: one request a connection

    def _expire(self, sel: selectors.BaseSelector) -> None:
        now = time.monotonic()
        for client in list(self._clients.values()):
            if now < client.deadline:
                continue
            if client.waiting:
                client.waiting = False
                self._reply(sel, client, _error(f"Pulse did not answer within {ANSWER_TIMEOUT:g} s"))
            else:
                self._drop(sel, client)  # silent, or not reading its answer

    def _drop(self, sel: selectors.BaseSelector, client: _Client) -> None:
        fd = client.sock.fileno()
        if self._clients.get(fd) is client:
            del self._clients[fd]
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(client.sock)
        client.sock.close()


def _error(text: str) -> Answer:
    return {"ok": False, "error": text}
