"""The Ray backend's launcher: the cluster connection and one agent actor per worker, made on first use.

Every worker has one `ray_agent.Agent` actor, kept across its restarts, created with
``max_restarts=0``: Pulse's policy does the restarts, so backoff and FATAL stay honest. Its runs
are `ray_run.RayRun`s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psutil

from pulse_supervisor.core.backends.local import local_run
from pulse_supervisor.core.backends.ray import agent as ray_agent
from pulse_supervisor.core.backends.ray import head as ray_head
from pulse_supervisor.core.backends.ray import upload as ray_upload
from pulse_supervisor.core.backends.ray.ray_import import ClusterUnreachable, ray_module
from pulse_supervisor.core.backends.ray.ray_run import RayRun
from pulse_supervisor.core.config import ray_address

if TYPE_CHECKING:
    from pulse_supervisor.core.spec import WorkerSpec

PLACEMENT_NOTE_AFTER = 10.0  # seconds without a node for an agent before the log says so, and again each time
CLIENT_GRACE_PERIOD = 5  # s a Ray Client session outlives Pulse's connection (a reconnect within it resumes)
_KILL_CHECK = 0.1  # how often a run waiting for its agent's placement looks whether it was killed


class RayLauncher:
    """Starts runs on a Ray cluster, one agent actor per worker.

    Parameters
    ----------
    address : str
        ``ray.init``'s address: "auto" (the cluster `ray start` made here), "host:port",
        "ray://host:port" (Ray Client: runs are polled, not streamed), or "local" (a head of
        Pulse's own, on 127.0.0.1 only, ended with the process: `ray_head`). Ignored when Ray is
        already initialised in this process (a test's head, an app's own ``ray.init``).
    start_method : str
        How the agent starts each run on its node (as for local runs).
    objects : bool
        Items of other classes come as `item_forms.Pickled`, not `StandIn` (as for local runs).
    """

    def __init__(self, address: str = "auto", start_method: str = "forkserver", *, objects: bool = False) -> None:
        self._address = address
        self._start_method = start_method
        self._objects = objects
        self._lock = threading.Lock()
        self._agents: dict[str, tuple[Any, tuple[Any, ...]]] = {}  # name -> (actor, its options)
        self._closed = False
        self._own_head = False  # this launcher started the head (ray_address = "local")
        self._token: str | None = None  # that head's token, when Pulse made it
        # Its agents end their runs the moment this process dies, when they run under it (`driver_watch`).
        self._driver = (os.getpid(), psutil.Process().create_time())
        self._ended = threading.Event()  # set by close: the thread that connected may end
        self.client = False  # connected through Ray Client (set on connecting): runs are polled

    def launch(self, spec: WorkerSpec) -> RayRun:
        """Return a run of ``spec`` that starts on the cluster in the background (never blocks)."""
        return RayRun(self, spec)

    def agent_for(
        self, spec: WorkerSpec, note: Callable[[str], None], killed: Callable[[], bool]
    ) -> tuple[Any, dict[str, Any]] | None:
        """Return ``spec``'s agent (made, or its options changed: a new one) and where it is (blocks).

        ``note`` tells the run's log when the cluster has not placed the agent after a while;
        None if ``killed()`` says the run was killed meanwhile (the unplaced agent is dropped).

        Raises
        ------
        ray_upload.UploadFailed
            The spec's local ``working_dir`` or ``py_modules`` could not be shipped to the cluster.
        """
        ray = self._connect(note)
        # Local paths shipped as content-named URIs: an edited working_dir is a new option, so a new agent.
        runtime_env = ray_upload.upload(spec.runtime_env)
        options = (spec.num_cpus, tuple(sorted(spec.resources.items())), repr(runtime_env))
        with self._lock:
            if self._closed:
                raise RuntimeError("the supervisor is closed")
            agent, made_with = self._agents.get(spec.name, (None, None))
            if agent is not None and made_with != options:
                ray.kill(agent)
                agent = None
            if agent is None:
                actor = ray.remote(ray_agent.Agent).options(
                    max_restarts=0,
                    max_task_retries=0,
                    max_concurrency=4,  # signal, stack and facts are served while run streams
                    num_cpus=spec.num_cpus,
                    resources=dict(spec.resources),
                    runtime_env=_agent_env(runtime_env),
                )
                private = ray_head.TOKEN_VARIABLES if self._token else ()  # the runs are no Ray processes
                agent = actor.remote(self._start_method, self._driver, private, self._objects)
                self._agents[spec.name] = (agent, options)
        asked = agent.where.remote()
        waited = 0.0
        noted = 0.0
        while not ray.wait([asked], timeout=_KILL_CHECK)[0]:
            waited += _KILL_CHECK
            if killed():
                self.forget(spec.name, agent)
                return None
            if waited - noted >= PLACEMENT_NOTE_AFTER:
                noted = waited
                wants = f"num_cpus={spec.num_cpus}" + "".join(f", {k}={v}" for k, v in spec.resources.items())
                note(f"pulse: waiting {waited:.0f} s for the cluster to place this worker's agent ({wants})")
        before, before_ns = time.time(), time.monotonic_ns()
        where: dict[str, Any] = ray.get(agent.where.remote())
        after, after_ns = time.time(), time.monotonic_ns()
        if where["boot_id"] and where["boot_id"] == ray_agent.boot_id():  # this machine: the same clocks
            where["clock_offset"], where["mono_offset_ns"] = 0.0, 0
        else:  # the middle of the call, against the node's reading (off by at most half its round trip)
            where["clock_offset"] = (before + after) / 2 - where["time"]
            where["mono_offset_ns"] = (before_ns + after_ns) // 2 - where["mono_ns"]
        return agent, where

    def forget(self, name: str, agent: Any) -> None:
        """``agent`` failed: the next run of ``name`` gets a new one."""
        with self._lock:
            if self._agents.get(name, (None,))[0] is agent:
                del self._agents[name]
        with contextlib.suppress(Exception):
            ray_module().kill(agent)

    def close(self) -> None:
        """End every agent (their runs die with them)."""
        with self._lock:
            self._closed = True
            agents, self._agents = self._agents, {}
        if agents:
            ray = ray_module()
            for agent, _ in agents.values():
                with contextlib.suppress(Exception):
                    ray.kill(agent)
        if self._own_head:
            ray_head.shutdown_own_head(self._token)
            self._own_head = False
        self._ended.set()

    def _connect(self, note: Callable[[str], None]) -> Any:
        with self._lock:
            own = self._address == "local" and not ("ray" in sys.modules and ray_module().is_initialized())
            if own:
                # A token only the head's processes know, instead of Ray 2.60's default for a new
                # head (a token file written to ~/.ray, and a warning), kept for another try if
                # this one fails (Ray, imported now, read it); and our forkserver started before it
                # is in the environment, so that no local worker inherits it.
                self._token = self._token or ray_head.new_token()
                if self._token and self._start_method == "forkserver":
                    local_run.start_forkserver()
            with ray_head.starting(self._token) if own else contextlib.nullcontext():
                ray = self._connected_ray(note)
            self.client = bool(ray.util.client.ray.is_connected())
        return ray

    def _connected_ray(self, note: Callable[[str], None]) -> Any:
        """Return Ray, imported and connected here unless it was already (blocks)."""
        ray = ray_module()
        if not ray.is_initialized():
            reason = ray_address.unreachable(self._address)
            if reason:
                raise ClusterUnreachable(f"{reason} (ray_address = {self._address!r})")
            # Quiet: Ray's notes (the head started, no SIGTERM handler off the main thread)
            # are not the user's business; its errors still show, and failures reach the log.
            quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
            if self._address.startswith("ray://"):
                _client_settings()
            else:  # a client's server has its own dashboard setting, and refuses this one
                quiet["include_dashboard"] = False
            _on_lasting_thread(lambda: _init(ray, self._address, quiet, note), self._ended)
            self._own_head = self._address == "local"
        return ray


def _on_lasting_thread(fn: Callable[[], None], until: threading.Event) -> None:
    """Run ``fn`` on a thread that then lives until ``until`` is set; raise what it raised (blocks).

    Ray starts a head's processes with PR_SET_PDEATHSIG, which Linux ties to the thread that
    forked them, not to the process: started from a run's thread, the head died with that run
    (seen: raylet and GCS SIGKILLed as the first Ray worker stopped; the next agent never came,
    and Ray ended Pulse a minute later).
    """
    failed: list[BaseException] = []
    done = threading.Event()

    def connect_and_stay() -> None:
        try:
            fn()
        except BaseException as exc:  # the caller's to raise: nothing was started, nothing to keep
            failed.append(exc)
            return
        finally:
            done.set()
        until.wait()

    threading.Thread(target=connect_and_stay, name="pulse-ray-head", daemon=True).start()
    done.wait()
    if failed:
        raise failed[0]


CLIENT_TRIES = 3  # Ray Client sessions a connect tries: a client server's first one can fail (see `_init`)


def _init(ray: Any, address: str, options: dict[str, Any], note: Callable[[str], None]) -> None:
    """``ray.init``; through Ray Client, tried again when the server fails to start the session.

    Ray 2.60's client server starts a process per session, and its first can die at once (seen:
    SIGSEGV, about one first session in two here; the client's call fails ~30 s later with
    "Initialization failure from server"). The next session starts: a run waits, not fails.
    """
    for attempt in range(1, CLIENT_TRIES + 1):
        try:
            ray.init(address=address, **options)
            return
        except ConnectionError as exc:  # the session's start failed (aborted), or its channel broke early
            if not address.startswith("ray://") or attempt == CLIENT_TRIES or ray.is_initialized():
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            note(f"pulse: Ray Client could not start a session ({first}); trying again ({attempt + 1} of "
                 f"{CLIENT_TRIES})")  # fmt: skip


def _client_settings() -> None:
    """Set what Ray Client needs here (each unless the user set it).

    - How long the client server keeps a session Pulse left without a word: Pulse SIGKILLed,
      it keeps the session for a reconnect (30 s by Ray's default), and with it the agents and
      their runs, which nobody reads any more.
    - No pin of an uploaded package (a worker's local working_dir): Ray 2.60's session servers
      do not implement the pin, and a client's call to it is retried for ever (seen: a run held
      in STARTING). The pin only keeps an unused package from being collected before the
      agent that names it is made, milliseconds later.
    """
    os.environ.setdefault("RAY_CLIENT_RECONNECT_GRACE_PERIOD", str(CLIENT_GRACE_PERIOD))
    from ray._private.ray_constants import RAY_RUNTIME_ENV_URI_PIN_EXPIRATION_S_ENV_VAR as PIN_SECONDS

    os.environ.setdefault(PIN_SECONDS, "0")


def _agent_env(runtime_env: dict[str, Any]) -> dict[str, Any]:
    """Return ``runtime_env`` with what the agent itself needs.

    Ray SIGKILLs a worker process's children when it exits (its actor killed, its driver gone):
    here that is the agent's forkserver, which would die before ending the runs under it, and
    their children would live on. Left alone, the forkserver sees the agent gone and ends every
    process under it (`worker_tree.guard_forkserver`), as it does when Pulse itself dies.
    """
    env = dict(runtime_env)
    env["env_vars"] = {**env.get("env_vars", {}), "RAY_kill_child_processes_on_worker_exit": "0"}
    return env
