"""`pulse ctl`'s wire: where the control sockets are, their frames (length-prefixed JSON), peers' uids, a request."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import struct
from pathlib import Path
from typing import Any

MAX_FRAME = 1024 * 1024  # bytes of JSON in one request or answer
HEAD = struct.Struct(">I")  # a frame's length, before its JSON
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
ANSWER_TIMEOUT = 30.0  # a server answers within this, or answers that it could not (see control.server)

Answer = dict[str, Any]


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
    return HEAD.pack(len(data)) + data


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
        head = _recv_exactly(sock, HEAD.size)
        (size,) = HEAD.unpack(head)
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
