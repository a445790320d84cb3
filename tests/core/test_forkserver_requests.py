"""Pulse's forkserver outlives a request cut short; a worker sees Pulse alive though Pulse keeps no pipe for it."""

from __future__ import annotations

import os
import resource
import socket
import sys
from multiprocessing import reduction

import pytest

from pulse_supervisor.core.supervision.events import StartFailed
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.worker import pulse_forkserver
from tests.helpers import config, items_of, poll_until, reached, spec


def _cut_short(how: str) -> None:
    """Connect to Pulse's forkserver as a launch does, and leave the request unfinished."""
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(pulse_forkserver._server._forkserver_address)  # type: ignore[attr-defined]
        if how == "junk":
            client.send(b"x")  # a byte, no descriptors
        elif how == "too few":
            r, w = os.pipe()
            try:
                reduction.sendfds(client, [r])  # one descriptor where a request has four or more
            finally:
                os.close(r)
                os.close(w)


@pytest.mark.parametrize("how", ["hang up", "junk", "too few"])
def test_a_request_cut_short_leaves_the_forkserver_and_its_workers_running(make_supervisor, how):
    # A launch that ran out of descriptors mid-request hung up like this: the server exited, and
    # every worker it had forked died with it (exit 255), then each restart did the same.
    sup = make_supervisor(config(spec("a", "pulse_supervisor.producers:counter", kwargs={"rate": 20.0}),
                                 spec("b", "pulse_supervisor.producers:counter", kwargs={"rate": 20.0})))  # fmt: skip
    sup.start("a")
    poll_until(sup, reached("a", State.RUNNING), timeout=30.0)
    server, worker = pulse_forkserver.server_pid(), sup.record("a").pid
    _cut_short(how)
    sup.start("b")  # the server took the next request: it is alive, and serving
    events = poll_until(sup, reached("b", State.RUNNING), timeout=30.0)
    events += poll_until(sup, lambda evs: len(items_of(evs, "a")) >= 2, timeout=30.0)
    assert pulse_forkserver.server_pid() == server
    assert os.waitpid(server, os.WNOHANG) == (0, 0)  # not restarted, and running
    assert sup.record("a").pid == worker
    assert sup.record("a").runtime.state is State.RUNNING


def test_a_worker_sees_pulse_alive_through_its_parent_process(make_supervisor):
    # Pulse keeps no copy of the pipe a worker's start came down (a descriptor per worker, read by
    # nothing of Pulse's); multiprocessing.parent_process() in the worker watches Pulse's pidfd.
    sup = make_supervisor(config(spec("p", "tests.workers:parent_watch")))
    sup.start("p")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "p")), timeout=30.0)
    assert items_of(events, "p")[0][1] == [os.getpid(), True]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lowers the forkserver's limit with prlimit")
def test_a_start_the_forkserver_has_no_room_for_fails_alone(make_supervisor):
    # The server out of descriptors: a request's descriptors arrive cut short (MSG_CTRUNC).
    sup = make_supervisor(config(spec("a", "pulse_supervisor.producers:counter", kwargs={"rate": 20.0}),
                                 spec("b", "pulse_supervisor.producers:counter", kwargs={"rate": 20.0})))  # fmt: skip
    sup.start("a")
    poll_until(sup, reached("a", State.RUNNING), timeout=30.0)
    server, worker = pulse_forkserver.server_pid(), sup.record("a").pid
    assert server is not None
    limits = resource.prlimit(server, resource.RLIMIT_NOFILE)
    room = len(os.listdir(f"/proc/{server}/fd")) + 2  # its accept() fits, a request's 7 descriptors do not
    resource.prlimit(server, resource.RLIMIT_NOFILE, (room, limits[1]))
    try:
        sup.start("b")
        events = poll_until(sup, lambda evs: any(isinstance(e, StartFailed) for e in evs), timeout=30.0)
    finally:
        resource.prlimit(server, resource.RLIMIT_NOFILE, limits)
    (failed,) = [e for e in events if isinstance(e, StartFailed)]
    assert failed.worker == "b" and "forkserver did not take this start whole" in failed.reason
    sup.start("b")  # room again: served by the same server
    poll_until(sup, reached("b", State.RUNNING), timeout=30.0)
    assert pulse_forkserver.server_pid() == server and os.waitpid(server, os.WNOHANG) == (0, 0)
    assert sup.record("a").pid == worker and sup.record("a").runtime.state is State.RUNNING
