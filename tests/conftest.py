"""Test setup: headless Qt, and a session-end check that no worker process survives."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile

# Before anything imports Qt: the suite runs without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Everything a session writes goes under a directory of its own, removed at the end: worker
# log files (subprocesses started by tests inherit PULSE_LOG_DIR too) and pytest's tmp_path
# base. pytest's shared default base (/tmp/pytest-of-<user>) lets two suites run at once on one
# machine remove each other's directories mid-run (seen: 13 tests erroring in FileNotFoundError).
_SESSION_DIR = tempfile.mkdtemp(prefix="pulse-test-")
_LOG_DIR = os.path.join(_SESSION_DIR, "logs")
os.mkdir(_LOG_DIR)
os.environ["PULSE_LOG_DIR"] = _LOG_DIR
# `pulse ctl`'s sockets (every headless Pulse and window a test starts serves one): not where a
# user's `pulse ctl` on this machine would find them.
os.environ["XDG_RUNTIME_DIR"] = os.path.join(_SESSION_DIR, "run")
os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
# Hypothesis keeps its example database and caches here, not in the checkout.
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(_SESSION_DIR, "hypothesis")
# Qt's settings (the window's last config, recent files) too: a test never reads or writes the user's.
os.environ["XDG_CONFIG_HOME"] = os.path.join(_SESSION_DIR, "config")
# The tests' Ray heads take their token from here (this process and its children share it),
# instead of writing one to ~/.ray as Ray 2.60 does for a new head.
os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)

import multiprocessing.forkserver  # noqa: E402 - after the environment is set
import multiprocessing.resource_tracker  # noqa: E402 - after the environment is set

import psutil  # noqa: E402 - after the environment is set
import pytest  # noqa: E402 - after the environment is set


def _helper_pids() -> set[int]:
    """Return multiprocessing's own long-lived helpers (forkserver, resource tracker)."""
    pids = set()
    from pulse_supervisor.core.worker.pulse_forkserver import server_pid

    fs_pid = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    rt_pid = getattr(multiprocessing.resource_tracker._resource_tracker, "_pid", None)
    for pid in (fs_pid, rt_pid, server_pid()):
        if pid:
            pids.add(pid)
    return pids


def leftover_processes() -> list[psutil.Process]:
    """Return live descendants of this process other than multiprocessing's helpers."""
    helpers = _helper_pids()
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.pid in helpers or child.status() == psutil.STATUS_ZOMBIE:
                continue
            alive.append(child)
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give the session a tmp_path base of its own, unless one was given (``--basetemp``)."""
    if config.option.basetemp is None:
        config.option.basetemp = os.path.join(_SESSION_DIR, "pytest")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any worker process outlived the tests (then clean it up)."""
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
    survivors = leftover_processes()
    if survivors:
        gone, alive = psutil.wait_procs(survivors, timeout=3.0)
        if alive:
            for p in alive:
                p.kill()
            names = ", ".join(f"{p.pid}" for p in alive)
            print(f"\nERROR: {len(alive)} child process(es) survived the test session: {names}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def make_supervisor():
    """Build supervisors; on teardown stop them, close them and check each worker pid is gone."""
    from pulse_supervisor.core.supervision.supervisor import Supervisor
    from tests.helpers import run_until_stopped

    made: list[Supervisor] = []
    pids: set[int] = set()

    def make(cfg, **options):
        sup = Supervisor(cfg, **options)
        made.append(sup)
        original = sup._spawn

        def spawn_and_record(rec):
            original(rec)
            if rec.pid:  # a remote run's is known only once started: see reap_and_record
                pids.add(rec.pid)

        original_reap = sup._reap

        def reap_and_record(rec):
            if rec.pid:
                pids.add(rec.pid)
            original_reap(rec)

        sup._spawn = spawn_and_record  # type: ignore[method-assign]
        sup._reap = reap_and_record  # type: ignore[method-assign]
        return sup

    yield make
    try:
        for sup in made:
            run_until_stopped(sup, timeout=10.0)
    finally:
        for sup in made:
            sup.close()
    still = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not still, f"worker processes survived: {still}"


def _uses_ray_head(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    on_ray = callspec is not None and callspec.params.get("backend") == "ray"
    return on_ray or "ray_head" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after any reordering plugin (pytest-randomly)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the tests on Ray last, together: one head serves them all, and the rest run without one."""
    on_ray = [item for item in items if _uses_ray_head(item)]
    if on_ray:
        items[:] = [item for item in items if not _uses_ray_head(item)] + on_ray


@pytest.fixture(scope="session")
def ray_head():
    """A Ray head of the suite's own (never one that happens to run here); its address.

    Started by the first test on Ray, which run last (`pytest_collection_modifyitems`): an idle
    head is a dozen processes using CPU and ~700 MB, and Ray's threads in this process cost the
    CPU-bound tests their bound, so the rest of the suite never runs beside it. One head, not
    one a module: each start and shutdown took ~8 s.

    Ray is a test dependency (the README's test command installs the extra): not skipped.
    """
    import signal

    import ray

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 1024 * 1024,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        from pulse_supervisor.core.backends.ray.head import shutdown_own_head

        shutdown_own_head()  # its dashboard and runtime-env agents would outlive the suite by a minute
        for sig, handler in handlers.items():  # ray.init's SIGTERM handler exits the process
            signal.signal(sig, handler)


@pytest.fixture(params=["local", "ray"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run the test on each backend: local processes, and Ray workers on the session's head."""
    if request.param == "ray":
        request.getfixturevalue("ray_head")
    return str(request.param)
