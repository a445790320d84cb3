"""One CPU for the window's consumer and GUI thread, never for what they start: real threads and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from pulse_supervisor.core.processes import thread_affinity
from pulse_supervisor.core.processes.thread_affinity import PROCESS_CPUS, end_share, share_cpu, unpinned

pytestmark = pytest.mark.skipif(len(PROCESS_CPUS) < 2, reason="needs two CPUs and per-thread affinity (Linux)")

CHILD_CPUS = "import json, os; print(json.dumps(sorted(os.sched_getaffinity(0))))"


@pytest.fixture
def gui_thread():
    """This test's thread plays the GUI thread; its CPUs are given back whatever the test did."""
    before = os.sched_getaffinity(0)
    yield threading.get_native_id()
    os.sched_setaffinity(0, before)
    thread_affinity._shared.clear()


def in_thread(fn):
    """Run ``fn`` in a new thread (a consumer's stand-in) and return what it returned or raise what it raised."""
    out: dict[str, object] = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_sharing_thread_and_the_gui_thread_run_on_one_cpu_until_the_share_ends(gui_thread):
    def consumer():
        cpu = share_cpu(gui_thread)
        during = (os.sched_getaffinity(0), os.sched_getaffinity(gui_thread))
        end_share(gui_thread)
        return cpu, during

    cpu, (mine, gui) = in_thread(consumer)
    assert cpu in PROCESS_CPUS
    assert mine == gui == {cpu}
    assert os.sched_getaffinity(0) == PROCESS_CPUS  # given back


def test_what_a_pinned_thread_starts_inside_unpinned_gets_every_cpu_of_the_process(gui_thread):
    def consumer():
        share_cpu(gui_thread)
        try:
            pinned_child = subprocess.run([sys.executable, "-c", CHILD_CPUS], capture_output=True, text=True).stdout
            with unpinned():
                free_child = subprocess.run([sys.executable, "-c", CHILD_CPUS], capture_output=True, text=True).stdout
                seen: list[set[int]] = []
                thread = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
                thread.start()
                thread.join()
            return pinned_child, free_child, seen[0], os.sched_getaffinity(0)
        finally:
            end_share(gui_thread)

    pinned_child, free_child, thread_cpus, after = in_thread(consumer)
    assert len(json.loads(pinned_child)) == 1  # what `unpinned` is for: a child inherits the pin
    assert json.loads(free_child) == sorted(PROCESS_CPUS)
    assert thread_cpus == PROCESS_CPUS
    assert len(after) == 1  # pinned again once started


def test_the_gui_thread_gets_its_cpus_back_when_the_last_of_two_sharers_ends(gui_thread):
    first_in, second_in = threading.Event(), threading.Event()
    first_out = threading.Event()
    seen: dict[str, object] = {}

    def first():
        seen["first"] = share_cpu(gui_thread)
        first_in.set()
        second_in.wait(30)
        end_share(gui_thread)
        first_out.set()

    def second():
        first_in.wait(30)
        seen["second"] = share_cpu(gui_thread)
        second_in.set()
        first_out.wait(30)
        seen["after first"] = os.sched_getaffinity(gui_thread)
        end_share(gui_thread)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen["first"] == seen["second"] is not None  # the same CPU
    assert seen["after first"] == {seen["first"]}  # still shared by the second
    assert os.sched_getaffinity(0) == PROCESS_CPUS


def test_pulse_share_cpu_0_leaves_both_threads_free(gui_thread, monkeypatch):
    monkeypatch.setenv("PULSE_SHARE_CPU", "0")
    assert in_thread(lambda: (share_cpu(gui_thread), os.sched_getaffinity(0))) == (None, PROCESS_CPUS)
    assert os.sched_getaffinity(0) == PROCESS_CPUS
