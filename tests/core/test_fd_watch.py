"""FdWatch: a persistent set of pipes and sentinels to block on."""

from __future__ import annotations

import multiprocessing
import os

from pulse_supervisor.core.supervision.fd_watch import FdWatch


def test_reports_the_tokens_of_ready_pipes_only():
    r1, w1 = multiprocessing.Pipe(duplex=False)
    r2, w2 = multiprocessing.Pipe(duplex=False)
    watch = FdWatch()
    watch.set({r1: "one", r2: "two"})
    assert watch.wait(0) == []
    w2.send_bytes(b"x")
    assert watch.wait(None) == ["two"]  # blocks, but something is ready
    for c in (r1, w1, r2, w2):
        c.close()


def test_a_new_pipe_on_a_reused_descriptor_replaces_the_old_one():
    old_r, old_w = multiprocessing.Pipe(duplex=False)
    watch = FdWatch()
    watch.set({old_r: old_r})
    fd = old_r.fileno()
    watch.set({})  # as the supervisor does: unwatch, then close
    old_r.close()
    old_w.close()
    new_r, new_w = multiprocessing.Pipe(duplex=False)
    if new_r.fileno() != fd:  # make the kernel hand out the same number again
        os.dup2(new_r.fileno(), fd)
        new_r.close()
        new_r = multiprocessing.connection.Connection(fd, writable=False)
    watch.set({new_r: new_r})
    assert len(watch) == 1
    new_w.send_bytes(b"x")
    assert watch.wait(1.0) == [new_r]
    new_r.close()
    new_w.close()


def test_a_process_sentinel_reports_its_exit():
    ctx = multiprocessing.get_context("forkserver")
    proc = ctx.Process(target=os.getpid)
    proc.start()
    watch = FdWatch()
    watch.set({proc.sentinel: proc})
    assert watch.wait(10.0) == [proc]
    proc.join()
    watch.set({})
    proc.close()


def test_a_timeout_of_years_is_no_overflow():
    r, w = multiprocessing.Pipe(duplex=False)
    watch = FdWatch()
    watch.set({r: "r"})
    w.send_bytes(b"x")
    assert watch.wait(1e12) == ["r"]  # poll() takes at most 2**31 - 1 ms: cut, not an OverflowError
    for c in (r, w):
        c.close()
