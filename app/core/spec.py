"""Worker specs: the immutable description of what to run and how to supervise it."""

from __future__ import annotations

import enum
import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pulse_supervisor.core.errors import TargetError

DEFAULT_START_SECS = 1.0
DEFAULT_START_RETRIES = 3
DEFAULT_STOP_TIMEOUT = 5.0
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_FACTOR = 1.5
DEFAULT_BACKOFF_MAX = 15.0
DEFAULT_STABLE_SECS = 10.0
DEFAULT_FLAP_LIMIT = 5
DEFAULT_FLAP_WINDOW = 60.0
# Seconds a config check (and Add worker) gives each target's import, in a process of its own.
DEFAULT_CHECK_TIMEOUT = 10.0
DEFAULT_NICE = 0  # a worker runs at Pulse's own CPU priority unless its spec says nicer
# Linux scheduling policies a worker may ask for (chrt(1)): "normal" is the OS default; "batch"
# never preempts a running task when it wakes; "idle" runs only on CPU nobody else wants.
SCHED_POLICIES = ("normal", "batch", "idle")
MAX_NICE = 19
# forkserver is safe to use from a process that already runs Qt threads; spawn elsewhere.
DEFAULT_START_METHOD = "forkserver" if sys.platform.startswith("linux") else "spawn"
START_METHODS = ("forkserver", "spawn", "fork")
# Where workers run: processes on this machine, or on a Ray cluster (the `ray` extra).
BACKENDS = ("local", "ray")
# Where a Ray backend finds its cluster: "local" starts a head of Pulse's own (never joining one
# that happens to run: Ray's "auto" does); "auto" or "host:port" join one, "ray://host:port" through
# Ray Client (its runs are polled: it cannot stream from the agents).
DEFAULT_RAY_ADDRESS = "local"
# Seconds a worker's CPU must stay over its max_cpu_percent before it is restarted.
DEFAULT_MAX_CPU_SECS = 30.0
# What an `env_clear` worker keeps of Pulse's environment: enough to find programs, home and locale.
KEPT_ON_CLEAR = ("PATH", "HOME", "LANG")
INSTANCE_FIELD = "{instance}"  # replaced by the instance's number in its kwargs' and env's strings


class RestartPolicy(enum.Enum):
    """When a worker that exited on its own is started again."""

    NEVER = "never"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"

    def wants_restart(self, exitcode: int | None, signal: int | None) -> bool:
        """Return whether an unexpected exit with this status should be restarted."""
        if self is RestartPolicy.ALWAYS:
            return True
        if self is RestartPolicy.ON_FAILURE:
            return signal is not None or exitcode != 0
        return False


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What to run and how to supervise it; equal specs mean "no change" on reload.

    Attributes
    ----------
    name : str
        Unique name of the worker.
    target : str
        ``"package.module:callable"``; a generator function or a function taking ``ctx``.
    kwargs : dict
        Keyword arguments for the target (must be picklable).
    argv : tuple of str
        The worker's command-line arguments: its ``sys.argv`` is ``[target, *argv]``, set before
        the target's module is imported (a script grown into a module may parse it at import),
        never Pulse's own. The target check imports the module with the same ``sys.argv``.
    autostart : bool
        Start when the config is loaded.
    restart : RestartPolicy
        What to do when the worker exits without being asked to.
    start_secs : float
        How long a new process must stay up to count as started (STARTING -> RUNNING).
    start_retries : int
        Fast failures (exits while STARTING) tolerated before FATAL.
    stop_timeout : float
        Seconds from SIGTERM to SIGKILL.
    backoff_initial, backoff_factor, backoff_max : float
        Delay before restart: initial, multiplied by factor per consecutive failure, capped.
    stable_secs : float
        Uptime after which the backoff and the fast-failure count reset.
    flap_limit, flap_window : int, float
        ``flap_limit`` unexpected exits within ``flap_window`` seconds mean FATAL, even after
        RUNNING: a worker that keeps crashing a few seconds in does not restart for ever.
    nice : int
        Added to Pulse's own niceness for the worker and its children (0 to 19). The workers
        share a scheduling group of their own (`worker_tree.own_session`), so this orders the
        worker among the workers: a busy machine slows it before the others.
    sched : str
        The worker's Linux scheduling policy, one of `SCHED_POLICIES` (ignored elsewhere).
        "idle" runs the worker only on CPU no other worker wants: for bulk work beside live
        feeds. The window's share against all the workers is the group's (PULSE_WORKERS_NICE).
    backend : str
        One of `BACKENDS`, or "" for the config's ``backend`` (itself "local" by default).
    check_timeout : float or None
        Seconds the check of this worker's target (its import, in a subprocess, when a config is
        loaded or the worker added) may take; None for the config's ``check_timeout``.
    num_cpus, resources, runtime_env : float, dict, dict
        Ray workers only: what the worker's agent asks of the cluster (Ray's actor options of
        those names; 0 CPUs by default, as a local worker reserves none), and the environment
        its node gives it (e.g. ``working_dir`` or ``py_modules``, so the target's code is there).
    env : dict of str to str
        Variables set in the worker's environment (over Pulse's, or over `KEPT_ON_CLEAR` alone
        with ``env_clear``), before its target is imported. A Ray worker's go to its
        ``runtime_env``'s ``env_vars``.
    env_clear : bool
        Start the worker from an empty environment (plus `KEPT_ON_CLEAR`) instead of Pulse's.
    cwd : str
        The worker's working directory ("" for Pulse's), absolute (``~`` expanded when checked).
        Local workers only: a Ray node need not have the directory.
    instances, instance : int or None
        A config entry with ``instances = N`` makes N workers ``NAME:0`` ... ``NAME:N-1``, each
        with ``instances`` N and its own ``instance``; `INSTANCE_FIELD` in their kwargs' and env's
        strings is replaced by it as the worker starts (`resolved`). None for a lone worker.
    max_rss : int
        Bytes of resident memory past which the worker is restarted gracefully (0: no limit).
    max_cpu_percent, max_cpu_secs : float
        CPU % (of one core) the worker may exceed for at most ``max_cpu_secs`` seconds in a row
        before it is restarted gracefully (0: no limit). Limits are checked once a second on
        local workers; a limit restart is no crash (it never leads to FATAL).
    """

    name: str
    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    autostart: bool = True
    restart: RestartPolicy = RestartPolicy.ON_FAILURE
    start_secs: float = DEFAULT_START_SECS
    start_retries: int = DEFAULT_START_RETRIES
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    backoff_initial: float = DEFAULT_BACKOFF_INITIAL
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR
    backoff_max: float = DEFAULT_BACKOFF_MAX
    stable_secs: float = DEFAULT_STABLE_SECS
    flap_limit: int = DEFAULT_FLAP_LIMIT
    flap_window: float = DEFAULT_FLAP_WINDOW
    nice: int = DEFAULT_NICE
    sched: str = "normal"
    backend: str = ""
    check_timeout: float | None = None
    num_cpus: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)
    runtime_env: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    env_clear: bool = False
    cwd: str = ""
    instances: int | None = None
    instance: int | None = None
    max_rss: int = 0
    max_cpu_percent: float = 0.0
    max_cpu_secs: float = DEFAULT_MAX_CPU_SECS

    @property
    def group(self) -> str:
        """Return the name of the config entry an instance comes from ("" for a lone worker)."""
        return self.name.rpartition(":")[0] if self.instance is not None else ""

    def resolved(self) -> WorkerSpec:
        """Return this spec as its process runs it: `INSTANCE_FIELD` replaced in kwargs and env."""
        if self.instance is None:
            return self
        number = str(self.instance)
        env = {k: v.replace(INSTANCE_FIELD, number) for k, v in self.env.items()}
        return replace(self, kwargs=with_instance(self.kwargs, number), env=env)

    def __hash__(self) -> int:  # kwargs is a dict; identity by name is enough for sets
        return hash(self.name)


def with_instance(value: Any, number: str) -> Any:
    """Return ``value`` with `INSTANCE_FIELD` replaced by ``number`` in every string, down lists and tables."""
    if isinstance(value, str):
        return value.replace(INSTANCE_FIELD, number)
    if isinstance(value, dict):
        return {k: with_instance(v, number) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(with_instance(v, number) for v in value)
    return value


def environment(env: Mapping[str, str], clear: bool, base: Mapping[str, str]) -> dict[str, str]:
    """Return the environment a worker with ``env`` (and ``env_clear``) gets over ``base``, Pulse's."""
    start = {k: base[k] for k in KEPT_ON_CLEAR if k in base} if clear else dict(base)
    return {**start, **env}


def instance_names(name: str, instances: Any) -> list[str]:
    """Return the names of the workers an entry ``name`` with ``instances`` makes (itself, unless a count)."""
    count = instances if isinstance(instances, int) and not isinstance(instances, bool) else 0
    return [f"{name}:{i}" for i in range(count)] if 0 < count <= 100_000 else [name]


def expand_instances(spec: WorkerSpec) -> list[WorkerSpec]:
    """Return the workers a config entry makes: itself, or its ``instances`` as ``NAME:0`` ... (see `WorkerSpec`)."""
    if spec.instances is None or spec.instance is not None:
        return [spec]
    return [replace(spec, name=f"{spec.name}:{i}", instance=i) for i in range(spec.instances)]


# Fields no worker process reads: when it starts (autostart), how its target is checked
# (check_timeout), and how it is supervised (the restart policy and its timings, which the policy
# reads afresh at each event; its limits; its entry's number of instances). A reload that changes
# only these gives a running worker its new spec in place instead of restarting it.
SUPERVISION_FIELDS = (
    "autostart", "check_timeout", "restart", "start_secs", "start_retries", "stop_timeout",
    "backoff_initial", "backoff_factor", "backoff_max", "stable_secs", "flap_limit", "flap_window",
    "instances", "max_rss", "max_cpu_percent", "max_cpu_secs",
)  # fmt: skip


def runs_the_same(a: WorkerSpec, b: WorkerSpec) -> bool:
    """Return whether a process started from ``a`` runs as one from ``b`` would (`SUPERVISION_FIELDS` aside)."""
    return replace(a, **{f: getattr(b, f) for f in SUPERVISION_FIELDS}) == b


@dataclass(frozen=True, slots=True)
class PulseConfig:
    """A whole config: the workers in file order, the start method, their default backend and check limit."""

    workers: tuple[WorkerSpec, ...] = ()
    start_method: str = DEFAULT_START_METHOD
    backend: str = "local"  # for workers whose spec says ""
    ray_address: str = DEFAULT_RAY_ADDRESS
    source: str | None = None  # the file it came from, if any
    check_timeout: float = DEFAULT_CHECK_TIMEOUT  # for workers whose spec says None

    def names(self) -> list[str]:
        """Return the worker names in order."""
        return [w.name for w in self.workers]

    def backend_of(self, spec: WorkerSpec) -> str:
        """Return where ``spec`` runs: its own backend, or this config's."""
        return spec.backend or self.backend


def split_target(target: str) -> tuple[str, str]:
    """Split ``"module:callable"``; raise `TargetError` when it is not of that shape."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr or " " in target:
        raise TargetError(f"target {target!r} must look like 'package.module:callable'")
    return module, attr


def resolve_target(target: str) -> Callable[..., Any]:
    """Import and return the callable named by ``target``.

    Raises
    ------
    TargetError
        The target is malformed, its module cannot be imported, or the name is not callable.
    """
    module_name, attr = split_target(target)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's module's fault
        raise TargetError(f"cannot import module {module_name!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise TargetError(f"{target!r} is not callable")
    return obj  # type: ignore[no-any-return]
