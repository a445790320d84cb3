"""Read and validate Pulse's TOML config, reporting every problem with its line (`config_dump` writes it)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import multiprocessing
import os
import re
import stat
import tomllib
from typing import Any

from pulse_supervisor.core.config import ray_address as ray_address_check
from pulse_supervisor.core.config import runtime_env as runtime_env_rules
from pulse_supervisor.core.config.config_locator import TomlLocator
from pulse_supervisor.core.config.fleet_values import entry_workers, limit_texts, setup_texts
from pulse_supervisor.core.config.install_hint import pip_install
from pulse_supervisor.core.config.spec_checks import (
    LOCAL_CWD_ONLY,
    check_limit,
    field_problem,
    probe_argv,
    probe_setup,
    spec_from_fields,
)
from pulse_supervisor.core.config.target_probe import probe_targets
from pulse_supervisor.core.config.values import describe_value, unknown_key
from pulse_supervisor.core.errors import ConfigError, ConfigProblem
from pulse_supervisor.core.spec import (
    BACKENDS,
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_RAY_ADDRESS,
    DEFAULT_START_METHOD,
    START_METHODS,
    PulseConfig,
    WorkerSpec,
)

_TOP_KEYS = ("pulse", "worker")
_PULSE_KEYS = ("start_method", "backend", "ray_address", "check_timeout")
_RAY_ONLY = ("num_cpus", "resources", "runtime_env")  # worker keys that mean nothing to a local run
_RAY_ADDRESS = re.compile(r"(?:auto|local|(?:ray://)?[\w.-]+:\d{1,5})")
_DECODE_POS = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


class _Checker:
    """Validate the parts of one document, collecting problems instead of raising."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.where = TomlLocator(text)
        self.problems: list[ConfigProblem] = []
        self._failed: set[str] = set()
        self.here = os.getcwd() if path == "<input>" else os.path.dirname(os.path.abspath(path))  # for relative paths

    def fail(self, loc: tuple[Any, ...], fld: str, reason: str) -> None:
        self.problems.append(ConfigProblem(self.path, self.where.line(*loc), fld, reason))
        self._failed.add(fld)

    def failed(self, fld: str) -> bool:
        """Return whether the field ``fld`` has a problem already."""
        return fld in self._failed

    def pulse(self, table: Any) -> tuple[str, str, str, float]:
        """Return the [pulse] table's (start_method, backend, ray_address, check_timeout)."""
        defaults = (DEFAULT_START_METHOD, "local", DEFAULT_RAY_ADDRESS, DEFAULT_CHECK_TIMEOUT)
        if not isinstance(table, dict):
            self.fail(("pulse",), "pulse", f"expected a table, got {describe_value(table)}")
            return defaults
        for key in table:
            if key not in _PULSE_KEYS:
                self.fail(("pulse", key), f"pulse.{key}", unknown_key(key, _PULSE_KEYS))
        method = table.get("start_method", DEFAULT_START_METHOD)
        loc, fld = ("pulse", "start_method"), "pulse.start_method"
        if method not in START_METHODS:  # non-strings fail here too
            self.fail(loc, fld, f"expected one of {', '.join(START_METHODS)}, got {describe_value(method)}")
        elif method not in multiprocessing.get_all_start_methods():
            # Caught here rather than as a crash when the first worker starts.
            self.fail(loc, fld, f"start method {method!r} is not available on this platform")
        backend = table.get("backend", "local")
        if backend not in BACKENDS:
            self.fail(("pulse", "backend"), "pulse.backend", f"expected one of {', '.join(BACKENDS)}, got "
                      f"{describe_value(backend)}")  # fmt: skip
        address = table.get("ray_address", DEFAULT_RAY_ADDRESS)
        if not isinstance(address, str) or not _RAY_ADDRESS.fullmatch(address):
            self.fail(("pulse", "ray_address"), "pulse.ray_address", 'expected "local", "auto", "host:port" or '
                      f'"ray://host:port", got {describe_value(address)}')  # fmt: skip
        limit = table.get("check_timeout", DEFAULT_CHECK_TIMEOUT)
        reason = field_problem("check_timeout", limit)  # the rule of the worker key of that name
        if reason is not None:
            self.fail(("pulse", "check_timeout"), "pulse.check_timeout", reason)
            limit = DEFAULT_CHECK_TIMEOUT
        return str(method), str(backend), str(address), float(limit)

    def backends(self, tables: list[Any], default: str, labels: dict[int, str], address: str | None) -> None:
        """Check what each worker's backend asks: Ray installed for Ray workers, Ray keys only on them,
        and (given an ``address``) a cluster there."""
        rays = inherited = 0
        no_ray = f"Ray workers need Ray, which is not installed: {pip_install('ray')}"
        for n, table in enumerate(tables, start=1):
            if not isinstance(table, dict) or self.failed(f"{labels[n]}.backend"):
                continue
            backend = table.get("backend") or default
            rays += backend == "ray"
            if backend == "ray" and importlib.util.find_spec("ray") is None:
                if table.get("backend"):  # the worker's own key says so
                    self.fail(("worker", n, "backend"), f"{labels[n]}.backend", no_ray)
                else:
                    inherited += 1  # [pulse] says so: one problem there, not one per worker
            for key in _RAY_ONLY:
                if backend == "local" and key in table and not self.failed(f"{labels[n]}.{key}"):
                    self.fail(("worker", n, key), f"{labels[n]}.{key}", 'applies to Ray workers only (backend = "ray")')
            if backend == "ray" and "cwd" in table and not self.failed(f"{labels[n]}.cwd"):
                self.fail(("worker", n, "cwd"), f"{labels[n]}.cwd", LOCAL_CWD_ONLY)
        if inherited:
            self.fail(("pulse", "backend"), "pulse.backend", no_ray)
        reason = (
            ray_address_check.unreachable(address)
            if rays and address and not self.failed("pulse.ray_address")
            else None
        )
        if reason:
            self.fail(("pulse", "ray_address"), "pulse.ray_address", reason)

    def worker(self, n: int, table: Any, base: str) -> WorkerSpec | None:
        if not isinstance(table, dict):
            self.fail(("worker", n), base, f"expected a table, got {describe_value(table)}")
            return None
        before = len(self.problems)
        fail = lambda key, reason: self.fail(("worker", n, key), f"{base}.{key}", reason)  # noqa: E731
        spec = spec_from_fields(table, fail, self.here)
        for key in ("name", "target"):
            if key not in table:
                self.fail(("worker", n), f"{base}.{key}", f"missing required key {key!r}")
        return spec if len(self.problems) == before else None

    def runtime_env(self, n: int, table: Any, base: str) -> dict[str, Any] | None:
        """Return the worker's runtime_env, its local paths made absolute from the config's directory and checked."""
        env = table.get("runtime_env") if isinstance(table, dict) else None
        if not isinstance(env, dict):
            return None
        return runtime_env_rules.check_and_resolve(
            env,
            self.here,
            lambda key, why: self.fail(("worker", n, "runtime_env", key), f"{base}.runtime_env.{key}", why),
        )


def worker_label(n: int, name: str | None) -> str:
    """Return how a config message names the ``n``-th [[worker]] table: by its name when it has one."""
    return f"worker[{n}]" if name is None else f"worker {json.dumps(name, ensure_ascii=False)}"


def _syntax_problem(msg: str, text: str, path: str) -> ConfigProblem:
    """Turn tomllib's "<what> (at line N, column M)" message into a problem on line N."""
    m = _DECODE_POS.search(msg)
    if m is None:  # a message format we do not know: keep it whole
        return ConfigProblem(path, None, "syntax", f"invalid TOML: {msg}")
    if m.group(1) is None:  # "at end of document": the last non-blank line is the culprit
        line, column = text.rstrip().count("\n") + 1, ""
    else:
        line, column = int(m.group(1)), f" (column {m.group(2)})"
    return ConfigProblem(path, line, "syntax", f"invalid TOML: {msg[: m.start()]}{column}")


def parse_config(text: str, path: str = "<input>", *, check_targets: bool = True) -> PulseConfig:
    """Parse and validate config text.

    Parameters
    ----------
    text : str
        The TOML document.
    path : str
        Where it came from, for messages; also stored as ``source`` unless ``"<input>"``.
    check_targets : bool
        Import each target to check it exists; when False only its shape is checked.

    Returns
    -------
    PulseConfig

    Raises
    ------
    ConfigError
        With every problem found, not just the first.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_problem(str(exc), text, path)]) from None
    check = _Checker(text, path)
    for key in doc:
        if key not in _TOP_KEYS:
            check.fail((key,), key, unknown_key(key, _TOP_KEYS) + " at top level")
    start_method, backend, ray_address, check_timeout = (
        check.pulse(doc["pulse"])
        if "pulse" in doc
        else (DEFAULT_START_METHOD, "local", DEFAULT_RAY_ADDRESS, DEFAULT_CHECK_TIMEOUT)
    )
    tables = doc.get("worker", [])
    if not isinstance(tables, list):
        check.fail(("worker",), "worker", f"expected [[worker]] tables, got {describe_value(tables)}")
        tables = []
    workers: list[WorkerSpec] = []
    # (table number, target, kwargs, its paths, its argv, its env and cwd, its time limit)
    to_probe: list[tuple[int, str, dict[str, Any], list[str], list[str], Any, float]] = []
    first_seen: dict[str, int] = {}
    made: dict[str, int] = {}  # every worker's name (an entry's instances too) -> its table
    labels: dict[int, str] = {}  # how messages name each [[worker]] table
    for n, table in enumerate(tables, start=1):
        raw_name = table.get("name") if isinstance(table, dict) else None
        usable = isinstance(raw_name, str) and field_problem("name", raw_name) is None  # not empty, no control
        name = raw_name if usable else None  # None: messages name the table by its number
        labels[n] = base = worker_label(n, name if name not in first_seen else None)
        spec = check.worker(n, table, base)
        env = check.runtime_env(n, table, base)
        if spec is not None and env is not None:
            spec = dataclasses.replace(spec, runtime_env=env)
        if name is not None and name in first_seen:
            first = first_seen[name]
            check.fail(
                ("worker", n, "name"),
                f"{base}.name",
                f"duplicate worker name {name!r} (first used by worker[{first}], "
                f"line {check.where.line('worker', first, 'name')})",
            )
        elif name is not None:
            first_seen[name] = n
        specs, clash = entry_workers(spec, n, made)
        if clash is not None and not check.failed(f"{base}.name"):
            first = made[clash]
            check.fail(("worker", n, "name"), f"{base}.name", f"its worker {clash!r} clashes with worker[{first}]'s "
                       f"(line {check.where.line('worker', first, 'name')})")  # fmt: skip
        workers.extend(specs)
        if check_targets and not check.failed(f"{base}.target") and isinstance(table, dict):
            if isinstance(table.get("target"), str):  # every table's, even where other fields are bad
                paths = runtime_env_rules.probe_paths(env or {})  # a Ray worker's target may live only there
                limit = check_limit(table, check_timeout)
                kwargs, setup = probe_setup(table, check.here)
                to_probe.append((n, table["target"], kwargs, paths, probe_argv(table), setup, limit))
    check.backends(tables, backend, labels, ray_address if check_targets else None)
    if to_probe:  # imported in a subprocess: user code never runs in Pulse's own process
        problems = probe_targets(
            [(target, kwargs) for _, target, kwargs, *_ in to_probe],
            [limit for *_, limit in to_probe],
            paths=[paths for *_, paths, _, _, _ in to_probe],
            argv=[argv for *_, argv, _, _ in to_probe],
            setups=[setup for *_, setup, _ in to_probe],
        )
        for (n, *_), problem in zip(to_probe, problems, strict=True):
            if problem is not None:
                loc = ("worker", n, *problem.field.split(".", 1))
                check.fail(loc, f"{labels[n]}.{problem.field}", problem.reason)
    if check.problems:
        # Stable sort: file order for the reader, problems without a line last.
        check.problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(check.problems)
    source = None if path == "<input>" else path
    return PulseConfig(tuple(workers), start_method, backend, ray_address, source=source, check_timeout=check_timeout)


def load_config(path: str | os.PathLike[str], *, check_targets: bool = True) -> PulseConfig:
    """Read and validate the config file at ``path``; see `parse_config`.

    Raises
    ------
    ConfigError
        The file cannot be read, or its content is invalid.
    """
    name = os.fspath(path)
    try:  # utf-8-sig: tolerate the BOM some Windows editors write
        _refuse_special(name, os.stat(name).st_mode)  # before open(): opening a FIFO waits for a writer
        # O_NONBLOCK: a file made a FIFO since the stat() still opens at once (and is refused).
        with os.fdopen(os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)), "rb") as fh:
            _refuse_special(name, os.fstat(fh.fileno()).st_mode)
            data = fh.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise _NotAConfig(f"{name} is larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB: not a Pulse config")
        text = data.decode("utf-8-sig")
    except _NotAConfig as exc:
        raise ConfigError([ConfigProblem(name, None, "file", str(exc))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([ConfigProblem(name, None, "file", f"cannot read {name}: {reason}")]) from None
    return parse_config(text, name, check_targets=check_targets)


MAX_CONFIG_BYTES = 4 * 1024 * 1024


class _NotAConfig(Exception):
    pass


_SPECIAL_FILES = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def _refuse_special(name: str, mode: int) -> None:
    """Raise `_NotAConfig` unless ``mode`` is a regular file's: a FIFO or /dev/zero would be read for ever."""
    if not stat.S_ISREG(mode):
        what = next((f"{kind}, " for test, kind in _SPECIAL_FILES if test(mode)), "")
        raise _NotAConfig(f"{name} is {what}not a regular file")


def describe_worker(spec: WorkerSpec) -> str:
    """Return a one-line summary of ``spec``, as printed by ``main.py --check``."""
    spec = spec.resolved()
    kwargs = f"  kwargs={spec.kwargs!r}" if spec.kwargs else ""
    argv = f"  argv={list(spec.argv)!r}" if spec.argv else ""
    autostart = "yes" if spec.autostart else "no"
    policy = f"restart={spec.restart.value} autostart={autostart}{''.join(f' {t}' for t in limit_texts(spec))}"
    return f"{spec.name}  {spec.target}{kwargs}{argv}{setup_texts(spec)}  {policy}"
