"""`pulse ctl`'s transport: length-prefixed JSON on a Unix socket only its own user can reach, and the server thread."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import stat
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_FRAME = 1024 * 1024  # bytes of JSON in one request or answer
REQUEST_TIMEOUT = 5.0  # a client has this long to send its whole request
ANSWER_TIMEOUT = 30.0  # Pulse has this long to answer it (a window busy for longer is answered for)
MAX_CLIENTS = 32  # connections served at once; more are closed at once
_HEAD = struct.Struct(">I")
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

Answer = dict[str, Any]
# Called in the server's thread with a request and the function that answers it (once, any thread).
Handler = Callable[[dict[str, Any], Callable[[Answer], None]], None]


class ControlError(ConnectionError):
    """The control socket's directory is unsafe, or a peer broke the protocol.

    An OSError, not a `PulseError`: this module imports nothing of Pulse's, since ``pulse ctl``
    loads it, and its start-up is most of what a ``pulse ctl status`` costs.
    """


def socket_dir() -> Path:
    """Return the directory of every Pulse's control socket: ``$XDG_RUNTIME_DIR/pulse``, else ``/tmp/pulse-UID``.

    Made mode 0700 if missing. One that exists must be a real directory of ours that nobody
    else can enter: another user could otherwise plant a socket there and take our commands.

    Raises
    ------
    ControlError
        It is a symlink, someone else's, or open to others.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        path = Path(runtime) / "pulse"
    else:
        import tempfile  # only here: a few ms of ``pulse ctl``'s start-up otherwise

        path = Path(tempfile.gettempdir()) / f"pulse-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise ControlError(f"{path} is not a directory: not used for control sockets")
    if info.st_uid != os.getuid():
        raise ControlError(f"{path} belongs to uid {info.st_uid}, not to you: not used for control sockets")
    if info.st_mode & 0o077:
        raise ControlError(f"{path} is open to other users (mode {stat.S_IMODE(info.st_mode):o}): chmod 700 it")
    return path


def socket_path(pid: int | None = None) -> Path:
    """Return the control socket of the Pulse process ``pid`` (default: this one)."""
    return socket_dir() / f"{os.getpid() if pid is None else pid}.sock"


def encode(message: Answer) -> bytes:
    """Return ``message`` as one frame: a 4-byte big-endian length, then JSON.

    Raises
    ------
    ControlError
        The JSON is over `MAX_FRAME` bytes.
    """
    data = json.dumps(message, separators=(",", ":"), default=str).encode("utf-8")
    if len(data) > MAX_FRAME:
        raise ControlError(f"a message of {len(data)} bytes is over the limit of {MAX_FRAME}")
    return _HEAD.pack(len(data)) + data


def peer_uid(sock: socket.socket) -> int | None:
    """Return the uid of the process at the other end of the Unix socket ``sock`` (None: the OS does not say)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:  # not Linux: the 0700 directory alone keeps others out
        return None
    _, uid, _ = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    return int(uid)


def peer_allowed(sock: socket.socket, uid: int | None = None) -> bool:
    """Return whether the peer of ``sock`` runs as ``uid`` (default: ours), when the OS can tell."""
    theirs = peer_uid(sock)
    return theirs is None or theirs == (os.getuid() if uid is None else uid)


def request(path: str | os.PathLike[str], message: Answer, timeout: float = ANSWER_TIMEOUT + 5.0) -> Answer:
    """Send one request to the control socket at ``path``; return its answer (the client's side).

    Raises
    ------
    OSError
        Nobody listens there (ConnectionRefusedError, FileNotFoundError), or it timed out.
    ControlError
        The answer is not a frame of JSON.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(os.fspath(path))
        sock.sendall(encode(message))
        head = _recv_exactly(sock, _HEAD.size)
        (size,) = _HEAD.unpack(head)
        if size > MAX_FRAME:
            raise ControlError(f"an answer of {size} bytes is over the limit of {MAX_FRAME}")
        answer = json.loads(_recv_exactly(sock, size))
    if not isinstance(answer, dict):
        raise ControlError("the answer is not a JSON object")
    return answer


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 65536))
        if not chunk:
            raise ControlError("the connection closed before the whole answer came")
        data += chunk
    return bytes(data)


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
    out there. ``{"verb": "hello"}`` is answered here, with ``info``.

    Attributes
    ----------
    path : Path
        The socket (mode 0600), removed by `close`.
    """

    def __init__(self, handler: Handler, info: Answer, path: str | os.PathLike[str] | None = None) -> None:
        self._handler = handler
        self._info = dict(info, pid=os.getpid())
        self.path = Path(path) if path is not None else socket_path()
        self._answers: deque[tuple[_Client, Answer]] = deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a dead process that had our pid
        self._sock.bind(os.fspath(self.path))
        os.chmod(self.path, 0o600)
        self._sock.listen(64)
        self._sock.setblocking(False)
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
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
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
        if len(client.inbuf) < _HEAD.size:
            return
        (size,) = _HEAD.unpack_from(client.inbuf)
        if size > MAX_FRAME:
            self._reply(sel, client, _error(f"request of {size} bytes refused: over the limit of {MAX_FRAME}"))
            return
        if len(client.inbuf) < _HEAD.size + size:
            return
        try:
            message = json.loads(bytes(client.inbuf[_HEAD.size : _HEAD.size + size]))
        except (ValueError, RecursionError):
            self._reply(sel, client, _error("malformed request: not JSON"))
            return
        client.inbuf.clear()
        if not isinstance(message, dict) or not isinstance(message.get("verb"), str):
            self._reply(sel, client, _error('malformed request: not an object with a "verb"'))
        elif message["verb"] == "hello":
            self._reply(sel, client, {"ok": True, **self._info})
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
