"""superqt's tests/test_threadworker.py (0.9), ported to ProcessJob: the same checks, for processes.

Names mapped: ``thread_worker`` -> ``process_job``; ``create_worker(f, *a, _start_thread=...)`` ->
``run_in_process(f, *a, _start=...)``; ``start_thread=`` -> ``start=``; ``worker.quit()`` ->
``job.cancel()``; ``worker.work()`` -> ``job.run_here()``; ``FunctionWorker``/``GeneratorWorker`` ->
``ProcessJob``. An exception arrives in ``errored`` as a `JobError` whose ``original`` is the job's
exception; a warning in ``warned`` as ``(message, category, filename, lineno)``. The job functions
live in tests/port_jobs.py (a job's process imports them). Left out: ``test_as_generator_function``
and ``test_worker_base_attribute``, which test superqt internals. ``qtbot.wait(600)`` became a wait
for ``finished``.
"""

from __future__ import annotations

import time
from functools import partial
from operator import eq

import pytest

from pulse_supervisor.qt.jobs import ProcessJob, process_job, run_in_process
from tests import port_jobs

pytestmark = pytest.mark.usefixtures("no_jobs_left")
equals_1 = partial(eq, 1)
equals_3 = partial(eq, 3)
WAIT = 30_000


def test_thread_worker(qtbot):
    wrkr = port_jobs.returns_one()
    assert isinstance(wrkr, ProcessJob)

    signals = [wrkr.returned, wrkr.finished]
    checks = [equals_1, lambda: True]
    with qtbot.waitSignals(signals, check_params_cbs=checks, order="strict", timeout=WAIT):
        wrkr.start()


def test_thread_generator_worker(qtbot):
    wrkr = port_jobs.yields_one_one_returns_three()
    assert isinstance(wrkr, ProcessJob)

    signals = [wrkr.yielded, wrkr.yielded, wrkr.returned, wrkr.finished]
    checks = [equals_1, equals_1, equals_3, lambda: True]
    with qtbot.waitSignals(signals, check_params_cbs=checks, order="strict", timeout=WAIT):
        wrkr.start()


def test_thread_raises2(qtbot):
    handle_val = [0]

    def handle_raise(e):
        handle_val[0] = 1
        assert isinstance(e.original, ValueError)
        assert str(e.original) == "whoops"

    func = process_job(connect={"errored": handle_raise}, start=False)(port_jobs.yields_then_raises)
    wrkr = func()
    assert isinstance(wrkr, ProcessJob)

    signals = [wrkr.yielded, wrkr.yielded, wrkr.errored, wrkr.finished]
    checks = [equals_1, equals_1, None, None]
    with qtbot.waitSignals(signals, check_params_cbs=checks, timeout=WAIT):
        wrkr.start()
    assert handle_val[0] == 1


def test_thread_warns(qtbot):
    def check_warning(w):
        return str(w[0]) == "hey!"

    func = process_job(connect={"warned": check_warning}, start=False)(port_jobs.yields_and_warns)
    wrkr = func()
    assert isinstance(wrkr, ProcessJob)

    signals = [wrkr.yielded, wrkr.warned, wrkr.yielded, wrkr.returned]
    checks = [equals_1, check_warning, equals_3, equals_1]
    with qtbot.waitSignals(signals, check_params_cbs=checks, timeout=WAIT):
        wrkr.start()


def test_multiple_connections(qtbot):
    test1_val = [0]
    test2_val = [0]

    def test1(v):
        test1_val[0] = 1
        assert v == 1

    def test2(v):
        test2_val[0] = 1
        assert v == 1

    thread_func = process_job(connect={"returned": [test1, test2]}, start=False)(port_jobs.returns_one_plain)
    worker = thread_func()
    assert isinstance(worker, ProcessJob)
    with qtbot.waitSignal(worker.finished, timeout=WAIT):
        worker.start()

    assert test1_val[0] == 1
    assert test2_val[0] == 1

    # they must all be functions
    with pytest.raises(TypeError):
        process_job(connect={"returned": ["test1", test2]})(port_jobs.returns_one_plain)()

    # they must all be functions
    with pytest.raises(TypeError):
        process_job(connect=test1)(port_jobs.returns_one_plain)()


def test_create_worker(qapp):
    worker = run_in_process(port_jobs.add_xy, 1, 2, _start=False)
    assert isinstance(worker, ProcessJob)

    # superqt: a worker class that is no WorkerBase is a TypeError. A job has no worker class:
    # what it runs is the function, and one that is not callable is the TypeError.
    with pytest.raises(TypeError):
        _ = run_in_process(object(), 1, 2)  # type: ignore[call-overload]


def test_thread_worker_in_main_thread(qapp):
    thread_func = process_job(port_jobs.identity, start=False)  # superqt's default: not started
    worker = thread_func(2)
    # NOTE: as superqt's work(), run_here() runs the job in this thread, not in a process.
    assert worker.run_here() == 2


def test_thread_generator_worker_in_main_thread(qapp):
    worker = process_job(port_jobs.counts_and_takes, start=False)()
    counter = 0

    def handle_pause():
        time.sleep(0.1)
        assert worker.is_paused
        worker.toggle_pause()

    def test_yield(v):
        nonlocal counter
        counter += 1
        if v == 2:
            assert not worker.is_paused
            worker.pause()
            assert not worker.is_paused
        if v == 3:
            worker.send(7)
        if v == 9:
            worker.cancel()

    def handle_abort():
        assert counter == 5  # because we skipped a few by sending in 7

    worker.paused.connect(handle_pause)
    assert isinstance(worker, ProcessJob)
    worker.yielded.connect(test_yield)
    worker.aborted.connect(handle_abort)
    assert worker.run_here() is None  # because we aborted it
    assert not worker.is_paused
    assert counter == 5

    worker2 = process_job(port_jobs.counts_and_takes, start=False)()
    assert worker2.run_here() == 3


def test_abort_does_not_return(qtbot):
    abort_counter = 0
    yielded: list[int] = []

    def count_abort():
        nonlocal abort_counter
        abort_counter += 1

    return_counter = 0

    def returned_handler(value):
        nonlocal return_counter
        return_counter += 1

    threaded_function = process_job(
        port_jobs.long_running,
        connect={"returned": returned_handler, "aborted": count_abort, "yielded": yielded.append},
    )
    worker = threaded_function()
    worker.cancel()
    with qtbot.waitSignal(worker.finished, timeout=WAIT):
        pass
    assert len(yielded) < 4  # superqt's loop_counter, counted here
    assert abort_counter == 1
    assert return_counter == 0


def test_nested_threads_start(qtbot, tmp_path):
    first, second = tmp_path / "mock1", tmp_path / "mock2"
    worker = run_in_process(port_jobs.starts_a_nested_process, str(first), str(second))
    with qtbot.waitSignal(worker.finished, timeout=WAIT):
        pass
    assert first.exists() and second.exists()  # each called once: each file written by its own process
    assert first.read_text() != second.read_text()
