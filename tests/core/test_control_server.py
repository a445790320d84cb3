"""The control socket under hostile clients (garbage, a 100 MB frame, silence, other uids), and its directory."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
import threading
import time

import pytest

from pulse_supervisor.core.control import server as control_socket
from pulse_supervisor.core.control import wire as control_wire
from pulse_supervisor.core.control.server import ControlServer
from pulse_supervisor.core.control.wire import ControlError, encode, peer_allowed, peer_uid, request, socket_dir


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def server(runtime):
    """A server whose handler answers {"echo": request} from another thread, as the supervisor's does."""
    handled = []

    def handler(message, answer):
        handled.append(message)
        threading.Thread(target=answer, args=({"ok": True, "echo": message},)).start()

    srv = ControlServer(handler, {"kind": "test", "config": None})
    yield srv, handled
    srv.close()
    assert not srv.path.exists()


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _closed_on_us(sock):
    try:
        return sock.recv(10) == b""
    except ConnectionResetError:  # closed with our request unread
        return True


def _connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(path))
    return sock


def _answer(sock):
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (size,) = struct.unpack(">I", head)
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    import json

    return json.loads(data)


def test_the_directory_is_0700_and_the_socket_0600(server, runtime):
    srv, _ = server
    assert stat.S_IMODE(os.stat(runtime / "pulse").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(srv.path).st_mode) == 0o600
    assert srv.path == runtime / "pulse" / f"{os.getpid()}.sock"


def test_a_directory_open_to_others_or_not_a_directory_is_refused(runtime):
    (runtime / "pulse").mkdir(mode=0o755)
    os.chmod(runtime / "pulse", 0o755)
    with pytest.raises(ControlError, match="open to other users"):
        socket_dir()
    os.rmdir(runtime / "pulse")
    os.symlink(runtime, runtime / "pulse")
    with pytest.raises(ControlError, match="not a directory"):
        socket_dir()


def test_a_request_is_handed_on_and_answered(server):
    srv, handled = server
    assert request(srv.path, {"verb": "status", "names": []}) == {"ok": True, "echo": {"verb": "status", "names": []}}
    assert handled == [{"verb": "status", "names": []}]
    hello = request(srv.path, {"verb": "hello"})
    assert hello == {"ok": True, "kind": "test", "config": None, "pid": os.getpid()}


def test_garbage_bytes_get_an_error_and_the_server_goes_on(server):
    srv, handled = server
    with _connect(srv.path) as sock:
        sock.sendall(b"hello there, not a frame\n")
        answer = _answer(sock)
    assert answer["ok"] is False and "over the limit" in answer["error"]
    with _connect(srv.path) as sock:
        sock.sendall(struct.pack(">I", 4) + b"\xff\xfe{[")
        assert _answer(sock) == {"ok": False, "error": "malformed request: not JSON"}
    with _connect(srv.path) as sock:
        sock.sendall(encode({"no": "verb"}))
        assert _answer(sock)["error"] == 'malformed request: not an object with a "verb"'
    assert handled == []
    assert request(srv.path, {"verb": "x"})["ok"] is True


def test_a_100_mb_frame_is_refused_before_it_is_read(server):
    srv, handled = server
    with _connect(srv.path) as sock:
        sock.sendall(struct.pack(">I", 100 * 1024 * 1024) + b"x" * 65536)
        answer = _answer(sock)
        assert answer == {
            "ok": False,
            "error": f"request of {100 * 1024 * 1024} bytes refused: over the limit of 1048576",
        }
    assert handled == []
    assert request(srv.path, {"verb": "x"})["ok"] is True


def test_a_silent_client_is_dropped_and_others_are_served_meanwhile(server, monkeypatch):
    srv, _ = server
    monkeypatch.setattr(control_socket, "REQUEST_TIMEOUT", 0.2)
    silent = _connect(srv.path)
    half = _connect(srv.path)
    half.sendall(struct.pack(">I", 100) + b'{"verb"')
    try:
        assert request(srv.path, {"verb": "x"}, timeout=5)["ok"] is True  # served while they sit there
        assert _closed_on_us(silent)  # closed by the server, unanswered
        assert _closed_on_us(half)
    finally:
        silent.close()
        half.close()


def test_more_clients_than_the_limit_are_turned_away_not_queued(server):
    srv, _ = server
    held = []
    try:
        for i in range(control_socket.MAX_CLIENTS):
            held.append(_connect(srv.path))
            _wait_for(lambda n=i + 1: len(srv._clients) == n)  # accepted, not in the backlog
        request(srv.path, {"verb": "x"}, timeout=2)  # over the limit: closed at once
        raise AssertionError("expected a refusal")
    except (ControlError, OSError):
        pass
    finally:
        for sock in held:
            sock.close()
    # Served again once the server has seen the others go (until then a newcomer is over the limit too).
    _wait_for(lambda: len(srv._clients) < control_socket.MAX_CLIENTS)
    assert request(srv.path, {"verb": "x"})["ok"] is True


def test_a_handler_that_never_answers_is_answered_for(runtime, monkeypatch):
    monkeypatch.setattr(control_socket, "ANSWER_TIMEOUT", 0.2)
    srv = ControlServer(lambda message, answer: None, {"kind": "test"})
    try:
        assert request(srv.path, {"verb": "status"}) == {"ok": False, "error": "Pulse did not answer within 0.2 s"}
    finally:
        srv.close()


def test_peers_of_another_uid_are_not_allowed():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        assert peer_uid(a) == os.getuid()
        assert peer_allowed(a)
        assert not peer_allowed(a, uid=os.getuid() + 1)


def test_the_server_closes_a_peer_of_another_uid_unanswered(server, monkeypatch):
    srv, handled = server
    monkeypatch.setattr(control_wire, "peer_uid", lambda sock: os.getuid() + 1)
    with _connect(srv.path) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # closed before we wrote
            sock.sendall(encode({"verb": "status"}))
        assert _closed_on_us(sock)
    assert handled == []
