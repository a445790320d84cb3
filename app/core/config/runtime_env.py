"""A Ray worker's local ``working_dir`` and ``py_modules`` in a config: checked and made absolute (no Ray imported)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pulse_supervisor.core.config.values import describe_value

# The runtime_env fields that may name local paths. Ray takes those only from ray.init, for the
# whole job; in an actor's options it wants URIs. Pulse uploads them itself, as ray.init does.
LOCAL_FIELDS = ("working_dir", "py_modules")
_MODULE_FILES = (".py", ".whl")  # what a py_modules entry may be besides a directory


def is_uri(path: str) -> bool:
    """Return whether ``path`` is a URI (gcs://, s3://, https://, local://...), which the node fetches itself."""
    return "://" in path


def resolved(runtime_env: dict[str, Any], base: str) -> dict[str, Any]:
    """Return ``runtime_env`` with its local paths made absolute (from ``base``, ``~`` expanded).

    Absolute once read, they mean the same whatever the current directory when the worker starts.
    """

    def absolute(path: Any) -> Any:
        if not isinstance(path, str) or is_uri(path):
            return path
        return os.path.normpath(os.path.join(base, os.path.expanduser(path)))

    env = dict(runtime_env)
    if "working_dir" in env:
        env["working_dir"] = absolute(env["working_dir"])
    if isinstance(env.get("py_modules"), list):
        env["py_modules"] = [absolute(p) for p in env["py_modules"]]
    return env


def problems(runtime_env: dict[str, Any]) -> list[tuple[str, str]]:
    """Return ``(field, reason)`` for each local path of ``runtime_env`` that could not be shipped."""
    found: list[tuple[str, str]] = []
    working_dir = runtime_env.get("working_dir")
    if "working_dir" in runtime_env and not isinstance(working_dir, str):
        found.append(("working_dir", f"expected a directory, a .zip file or a URI, got {describe_value(working_dir)}"))
    elif isinstance(working_dir, str) and not is_uri(working_dir):
        reason = _path_problem(working_dir, (".zip",), "a directory or a .zip file")
        if reason:
            found.append(("working_dir", reason))
    modules = runtime_env.get("py_modules")
    if "py_modules" in runtime_env and not (isinstance(modules, list) and all(isinstance(m, str) for m in modules)):
        found.append(("py_modules", f"expected a list of directories, .py or .whl files, or URIs, got "
                                    f"{describe_value(modules)}"))  # fmt: skip
    elif isinstance(modules, list):
        for module in modules:
            reason = None if is_uri(module) else _path_problem(module, _MODULE_FILES, "a directory, .py or .whl file")
            if reason:
                found.append(("py_modules", reason))
                break
    return found


def _path_problem(path: str, files: tuple[str, ...], wanted: str) -> str | None:
    if not os.path.exists(path):
        return f"no such directory or file: {path}"
    if os.path.isdir(path):
        return None if os.access(path, os.R_OK | os.X_OK) else f"cannot read directory {path}: permission denied"
    if not path.endswith(files):
        return f"expected {wanted}, got {path}"
    return None if os.access(path, os.R_OK) else f"cannot read {path}: permission denied"


def probe_paths(runtime_env: dict[str, Any]) -> list[str]:
    """Return where the local paths of ``runtime_env`` put importable code, for the target check's ``sys.path``.

    A node puts the ``working_dir`` itself on its path, and each ``py_modules`` entry (a package
    directory, a module file) where its name imports; a wheel or zip imports from itself.
    """
    paths: list[str] = []
    working_dir = runtime_env.get("working_dir")
    if isinstance(working_dir, str) and not is_uri(working_dir):
        paths.append(working_dir)
    modules = runtime_env.get("py_modules")
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, str) and not is_uri(module):
            paths.append(module if module.endswith(".whl") else os.path.dirname(module.rstrip(os.sep)))
    return paths


def check_and_resolve(runtime_env: dict[str, Any], base: str, fail: Callable[[str, str], None]) -> dict[str, Any]:
    """Return ``runtime_env`` resolved from ``base``, calling ``fail(field, reason)`` for each bad local path."""
    env = resolved(runtime_env, base)
    for field, reason in problems(env):
        fail(field, reason)
    return env


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
