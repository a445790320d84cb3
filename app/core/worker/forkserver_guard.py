"""Imported by the forkserver's preload: a guarded subreaper (see worker_tree), titled, that no bad request ends."""

from __future__ import annotations

import array
import errno
import os
import socket
import sys
from multiprocessing import reduction
from typing import TYPE_CHECKING

from pulse_supervisor.core.processes import helper_stdio, worker_tree

if TYPE_CHECKING:
    from types import FrameType


def _in_forkserver() -> bool:
    """Return whether this import runs inside ``multiprocessing.forkserver.main``'s preload."""
    forkserver = sys.modules.get("multiprocessing.forkserver")
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if (
            forkserver is not None
            and frame.f_code.co_filename == forkserver.__file__
            and frame.f_code.co_name == "main"
        ):
            return True
        frame = frame.f_back
    return False


TITLE = "pulse: forkserver"


def _set_title() -> None:
    # Otherwise ps and htop show "python -B -c from multiprocessing.forkserver import main; ...".
    try:
        import setproctitle
    except ImportError:  # pragma: no cover - a dependency; without it the title stays Python's
        return
    setproctitle.setproctitle(TITLE)


_recvfds = reduction.recvfds
_server_pid = os.getpid()  # the forkserver's, where this is imported in its preload


def recv_request(sock: socket.socket, size: int) -> list[int]:
    """`reduction.recvfds` for the server's loop: a request that is not whole fails alone.

    The loop ends on any error but ``ECONNABORTED``, and every worker it forked dies with it
    (they get SIGKILL when their parent dies). multiprocessing's ``recvfds`` raised on a client
    that hung up before sending (``EOFError``) and on descriptors cut short because the server
    had no room for them (``AssertionError``). Here such a request drops what came of it and
    reads as an aborted connection: the loop goes on, and the client, seeing its status pipe end,
    fails that one start. In any other process (a worker forked from the server) it is
    multiprocessing's own.
    """
    if os.getpid() != _server_pid:
        return _recvfds(sock, size)
    fds = array.array("i")
    msg, ancdata, flags, _addr = sock.recvmsg(1, socket.CMSG_SPACE(fds.itemsize * size))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    if msg and not flags & socket.MSG_CTRUNC and len(fds) >= 2 and len(fds) % 256 == msg[0]:
        return list(fds)
    for fd in fds:
        os.close(fd)
    raise ConnectionAbortedError(errno.ECONNABORTED, "forkserver: an incomplete request was dropped")


# Only there: imported anywhere else (a test, a tool listing modules) this does nothing.
if _in_forkserver():
    _set_title()
    reduction.recvfds = recv_request  # the server's loop looks it up on each request
    worker_tree.guard_forkserver()
    worker_tree.own_session()
    helper_stdio.detach_from_pulse()  # last: own_session may still have a word for Pulse's stderr
