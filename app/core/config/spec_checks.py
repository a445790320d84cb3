"""The rules a worker's fields follow, shared by config files and specs built in code."""

from __future__ import annotations

import dataclasses
import math
import os
import unicodedata
from collections.abc import Callable, Mapping
from multiprocessing.reduction import ForkingPickler
from typing import Any

from pulse_supervisor.core.config import runtime_env as runtime_env_rules
from pulse_supervisor.core.config.fleet_values import cwd_problem, env_problem, parse_bytes
from pulse_supervisor.core.config.target_probe import probe_targets, target_of
from pulse_supervisor.core.config.values import describe_value, unknown_key
from pulse_supervisor.core.errors import ConfigError, ConfigProblem, TargetError
from pulse_supervisor.core.spec import (
    BACKENDS,
    DEFAULT_CHECK_TIMEOUT,
    MAX_NICE,
    SCHED_POLICIES,
    RestartPolicy,
    WorkerSpec,
    environment,
    split_target,
    with_instance,
)

# Numeric worker keys: (kind, lower bound, bound inclusive).
_NUMBERS: dict[str, tuple[type, int, bool]] = {
    "start_secs": (float, 0, True),
    "start_retries": (int, 0, True),
    "stop_timeout": (float, 0, False),
    "backoff_initial": (float, 0, False),
    "backoff_factor": (float, 1, True),
    "backoff_max": (float, 0, False),
    "stable_secs": (float, 0, True),
    "flap_limit": (int, 1, True),
    "flap_window": (float, 0, False),
    "nice": (int, 0, True),
    "num_cpus": (float, 0, True),
    "check_timeout": (float, 0, False),
    "instances": (int, 1, True),
    "max_cpu_percent": (float, 0, True),
    "max_cpu_secs": (float, 0, False),
}
LOCAL_CWD_ONLY = (
    "applies to local workers only: a Ray worker runs in its runtime_env's working_dir on its node "
    "(set runtime_env.working_dir instead)"
)
MAX_INSTANCES = 1000  # past a thousand workers from one entry, a typo is likelier than a fleet
# The longest wait the OS timers under poll() take is 2**31 - 1 ms: longer durations are refused
# (they would end supervision with an OverflowError the first time they are armed).
MAX_SECONDS = 2_147_483
_DURATIONS = {
    "start_secs",
    "stop_timeout",
    "backoff_initial",
    "backoff_max",
    "stable_secs",
    "flap_window",
    "check_timeout",
    "max_cpu_secs",
}
# A name is a process title (setproctitle refuses NUL and lone surrogates: every start would
# crash), a log line and a table cell: control characters have no place in it.
_NOT_IN_NAMES = {"Cc": "a control character", "Cs": "a lone surrogate"}
SPEC_FIELDS = [f.name for f in dataclasses.fields(WorkerSpec)]


def spec_from_fields(
    fields: Mapping[str, Any], fail: Callable[[str, str], None], here: str | None = None
) -> WorkerSpec | None:
    """Check every field of ``fields``, calling ``fail(key, reason)`` for each bad one.

    Returns the spec when every field is good and ``name`` and ``target`` are there (their
    absence is the caller's to report: a file says where the table is), else None. A relative
    ``cwd`` is taken from ``here`` (the config's directory; the current one by default).
    """
    values: dict[str, Any] = {}
    good = True
    for key, value in fields.items():
        if isinstance(value, RestartPolicy):  # code may pass the enum; a file gives its value
            value = value.value
        if key not in SPEC_FIELDS:
            reason: str | None = unknown_key(key, SPEC_FIELDS)
        elif key == "cwd":
            value, reason = cwd_problem(value, here if here is not None else os.getcwd())
        elif key == "max_rss":
            value, reason = parse_bytes(value)
        else:
            reason = field_problem(key, value)
        if key == "max_cpu_secs" and reason is None and not fields.get("max_cpu_percent"):
            reason = "applies with max_cpu_percent (the CPU % the worker may exceed for max_cpu_secs)"
        if reason is not None:
            fail(key, reason)
            good = False
        elif key == "restart":
            values[key] = RestartPolicy(value)
        elif key == "resources":
            values[key] = {name: float(amount) for name, amount in value.items()}
        elif key == "argv":
            values[key] = tuple(value)  # a file gives a list; the spec is immutable
        elif key == "env":
            values[key] = dict(value)
        else:  # float() so that an int in a float field reads back as what it means
            values[key] = float(value) if _NUMBERS.get(key, (None,))[0] is float else value
    return WorkerSpec(**values) if good and "name" in values and "target" in values else None


def check_limit(fields: Mapping[str, Any], default: float) -> float:
    """Return the seconds the target check of the worker ``fields`` describe may take: its own
    ``check_timeout`` if good, else ``default`` (a bad one is reported as a field problem)."""
    limit = fields.get("check_timeout")
    return default if limit is None or field_problem("check_timeout", limit) else float(limit)


def probe_argv(fields: Mapping[str, Any]) -> list[str]:
    """Return the argv the target check of the worker ``fields`` describe imports with: none if it is bad."""
    argv = fields.get("argv", ())
    return [] if argv_problem(argv) else list(argv)


def probe_setup(fields: Mapping[str, Any], here: str) -> tuple[dict[str, Any], tuple[dict[str, str] | None, str]]:
    """Return the kwargs, environment and directory the target check of the worker ``fields`` describe
    runs with: its worker's (its first instance's, for an entry with ``instances``); Pulse's where bad."""
    kwargs, env, clear = fields.get("kwargs", {}), fields.get("env", {}), fields.get("env_clear", False)
    kwargs = kwargs if isinstance(kwargs, dict) else {}
    env, clear = ({}, False) if env_problem(env) or not isinstance(clear, bool) else (env, clear)
    if "instances" in fields:
        kwargs, env = with_instance(kwargs, "0"), with_instance(env, "0")
    cwd, problem = cwd_problem(fields["cwd"], here) if "cwd" in fields else ("", None)
    return kwargs, (environment(env, clear, os.environ) if env or clear else None, "" if problem else cwd)


def check_spec_fields(
    where: str, fields: Mapping[str, Any], check_timeout: float = DEFAULT_CHECK_TIMEOUT
) -> WorkerSpec:
    """Return the spec ``fields`` describe, or raise `ConfigError` naming every bad field.

    For specs built in code (no file, no line): ``where`` names the call in each message.
    A Ray worker's local ``working_dir`` and ``py_modules`` are taken from the current directory.
    The target's check may take the spec's ``check_timeout`` seconds, else ``check_timeout``.
    """

    problems: list[ConfigProblem] = []
    spec = spec_from_fields(fields, lambda key, reason: problems.append(ConfigProblem(where, None, key, reason)))
    env = fields.get("runtime_env")
    if isinstance(env, dict):
        env = runtime_env_rules.check_and_resolve(env, os.getcwd(), lambda key, reason: problems.append(
            ConfigProblem(where, None, f"runtime_env.{key}", reason)))  # fmt: skip
        spec = spec and dataclasses.replace(spec, runtime_env=env)
    if spec is not None and spec.cwd and (spec.backend or "local") == "ray":
        problems.append(ConfigProblem(where, None, "cwd", LOCAL_CWD_ONLY))
    target = fields.get("target")
    if isinstance(target, str) and not any(p.field == "target" for p in problems):
        paths = [runtime_env_rules.probe_paths(env if isinstance(env, dict) else {})]
        limit = check_limit(fields, check_timeout)
        kwargs, setup = probe_setup(fields, os.getcwd())
        (problem,) = probe_targets([(target, kwargs)], limit, paths=paths, argv=[probe_argv(fields)], setups=[setup])
        if problem is not None:
            problems.append(ConfigProblem(where, None, problem.field, problem.reason))
    if problems or spec is None:
        raise ConfigError(problems or [ConfigProblem(where, None, "name", "name and target are required")])
    return spec


def spec_from_call(
    where: str,
    name: str,
    target: str | Callable[..., Any],
    kwargs: dict[str, Any] | None,
    options: Mapping[str, Any],
    check_timeout: float = DEFAULT_CHECK_TIMEOUT,
) -> WorkerSpec:
    """Return the spec of a worker added in code (``QtSupervisor.add``), or raise `ConfigError` naming every
    bad field; ``target`` may be a module-level function, turned into its ``"module:name"``. Its check
    may take ``check_timeout`` seconds unless ``options`` give the worker's own."""
    if not isinstance(target, str):
        target, reason = target_of(target)
        if reason:
            raise ConfigError([ConfigProblem(where, None, "target", reason)])
    fields: dict[str, Any] = {"name": name, "target": target, **options}
    bad = _unsendable(kwargs or {})
    unsendable = [ConfigProblem(where, None, f"kwargs.{key}", why) for key, why in bad.items()]
    if kwargs is not None:  # the check sends them to its subprocess: a stand-in for each that cannot go
        fields["kwargs"] = {key: None if str(key) in bad else value for key, value in kwargs.items()}
    try:
        spec = check_spec_fields(where, fields, check_timeout)
    except ConfigError as exc:
        raise ConfigError([*unsendable, *exc.problems]) from None
    if unsendable:
        raise ConfigError(unsendable)
    return spec


def _unsendable(kwargs: Mapping[str, Any]) -> dict[str, str]:
    """The keyword arguments that cannot be pickled to a worker's process (a lock, a socket, a QObject), and why."""
    found = {}
    for key, value in kwargs.items():
        try:
            ForkingPickler.dumps(value)
        except Exception as exc:  # pickling runs the value's own code: anything may come out
            found[str(key)] = f"cannot be sent to the worker's process ({type(value).__name__}): {exc}"
    return found


def field_problem(key: str, value: Any) -> str | None:
    """Return what is wrong with ``value`` for the spec field ``key``, or None."""
    if key in ("name", "target") and not isinstance(value, str):
        return f"expected a string, got {describe_value(value)}"
    if key == "name" and not value.strip():
        return "worker name must not be empty"
    if key == "name":
        return _name_problem(value)
    if key == "target":
        try:
            split_target(value)  # its import is checked apart, in a subprocess: see target_probe
        except TargetError as exc:
            return str(exc)
    if key == "kwargs" and not isinstance(value, dict):
        return f"expected a table of keyword arguments, got {describe_value(value)}"
    if key == "argv":
        return argv_problem(value)
    if key == "env":
        return env_problem(value)
    if key == "instance":
        return "set by Pulse on each worker of an entry with instances = N: not a key of its own"
    if key == "cwd":
        return cwd_problem(value, os.getcwd())[1]
    if key == "max_rss":
        return parse_bytes(value)[1]
    if key in ("autostart", "env_clear") and not isinstance(value, bool):
        return f"expected true or false, got {describe_value(value)}"
    if key == "backend" and value not in BACKENDS:
        return f"expected one of {', '.join(BACKENDS)}, got {describe_value(value)}"
    if key == "resources":
        return _resources_problem(value)
    if key == "runtime_env" and not isinstance(value, dict):
        return (
            f"expected a table (Ray's runtime_env: working_dir, py_modules, env_vars, ...), got {describe_value(value)}"
        )
    if key == "sched" and value not in SCHED_POLICIES:
        return f"expected one of {', '.join(SCHED_POLICIES)}, got {describe_value(value)}"
    if key == "restart" and value not in [p.value for p in RestartPolicy]:
        return f"expected one of {', '.join(p.value for p in RestartPolicy)}, got {describe_value(value)}"
    if key in _NUMBERS:
        kind, low, inclusive = _NUMBERS[key]
        # bool is an int subclass, but `stop_timeout = true` is surely a mistake.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected {'an integer' if kind is int else 'a number'}, got {describe_value(value)}"
        if kind is int and isinstance(value, float):
            return f"expected an integer, got {describe_value(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite number, got {value}"
        if kind is float and abs(value) > 1e300:  # a huge int would overflow float()
            return "number is too large"
        if value < low or (value == low and not inclusive):
            return f"must be {'>=' if inclusive else '>'} {low}, got {value}"
        if key == "nice" and value > MAX_NICE:
            return f"must be <= {MAX_NICE}, got {value}"
        if key == "instances" and value > MAX_INSTANCES:
            return f"must be <= {MAX_INSTANCES}, got {value}"
        if key in _DURATIONS and value > MAX_SECONDS:
            return f"must be at most {MAX_SECONDS} seconds (24.8 days), got {value}"
    return None


def argv_problem(value: Any) -> str | None:
    """Return what is wrong with ``value`` as a worker's ``argv`` (a list of strings), or None."""
    if not isinstance(value, (list, tuple)):
        return f"expected an array of strings (the worker's sys.argv[1:]), got {describe_value(value)}"
    for i, arg in enumerate(value):
        if not isinstance(arg, str):
            return f"argv[{i}]: expected a string, got {describe_value(arg)}"
        if "\0" in arg:
            return f"argv[{i}]: a command-line argument cannot contain NUL"
        if any(unicodedata.category(char) == "Cs" for char in arg):  # no TOML (nor UTF-8) form: never saved
            return f"argv[{i}]: must not contain a lone surrogate"
    return None


def _resources_problem(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected a table of resource names and amounts, got {describe_value(value)}"
    for name, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
            return f"resource {name!r}: expected a number, got {describe_value(amount)}"
        if amount < 0:
            return f"resource {name!r}: must be >= 0, got {amount}"
    return None


def _name_problem(name: str) -> str | None:
    for i, char in enumerate(name):
        what = _NOT_IN_NAMES.get(unicodedata.category(char))
        if what is not None:
            return f"worker name must not contain {what}: character {i + 1} is {ascii(char)}"
    return None
