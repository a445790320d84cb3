"""Checking worker targets in a short-lived subprocess: user code never runs in Pulse's own process.

Importing a target runs its module: an import-time ``print`` would corrupt the headless JSON
stream, an ``argparse`` or ``sys.exit`` at import would end ``--check`` or the window, a slow
import would freeze the window, and a module changed on disk would stay stale in Pulse (a Reload
that rejects a function just added). So targets are imported, and their shape and keyword
arguments checked, in a fresh interpreter with the same ``sys.path``, bounded by a timeout.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class TargetProblem:
    """Why a worker could not run a target: ``field`` is ``"target"``, ``"kwargs"`` or ``"kwargs.<name>"``."""

    field: str
    reason: str

    def __str__(self) -> str:
        return self.reason


def probe_targets(
    targets: Sequence[tuple[str, dict[str, Any]]],
    timeout: float = DEFAULT_TIMEOUT,
    paths: Sequence[Sequence[str]] = (),
) -> list[TargetProblem | None]:
    """Return, for each ``(target, kwargs)``, why a worker could not run it, or None if it can.

    One subprocess checks them all, in order; a target whose import does not finish within
    ``timeout`` seconds is reported as such, and those after it as not checked. ``paths``, one
    list per target, go first on ``sys.path`` for it alone (a Ray worker's ``working_dir``).
    """
    if not targets:
        return []
    extra = [list(p) for p in paths] or [[]] * len(targets)
    try:
        proc = _run_probe("main", [(t, dict(k), p) for (t, k), p in zip(targets, extra, strict=True)], timeout)
        lines = proc.stdout.decode("utf-8", "replace").splitlines()
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        lines = out.decode("utf-8", "replace").splitlines()
    except OSError as exc:
        return [TargetProblem("target", f"cannot check targets: {exc}")] * len(targets)
    results: list[TargetProblem | None] = []
    for line in lines:
        try:
            answer = json.loads(line)
        except ValueError:
            break
        results.append(None if answer is None else TargetProblem(str(answer[0]), str(answer[1])))
    if len(results) < len(targets):
        missing = len(targets) - len(results)
        results.append(
            TargetProblem("target", f"checking it did not finish within {timeout:g} s (a slow or hanging import?)")
        )
        results.extend([TargetProblem("target", "not checked: a target before it did not finish")] * (missing - 1))
    return results[: len(targets)]


def list_producers(modules: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Return the ``module:callable`` producers the ``modules`` define (generators, async, ``ctx`` functions).

    Imported in a subprocess like the checks; a module that fails to import or hangs past
    ``timeout`` seconds simply offers nothing.
    """
    if not modules:
        return []
    try:
        proc = _run_probe("list_main", list(modules), timeout)
        found = json.loads(proc.stdout.decode("utf-8", "replace") or "[]")
    except (subprocess.TimeoutExpired, OSError, ValueError):
        return []
    return [name for name in found if isinstance(name, str)]


def list_main() -> None:
    """The lister process: read the modules on stdin, answer one JSON list of ``module:callable``."""
    answer, modules = _probe_request()
    found: list[str] = []
    for module_name in modules:
        try:
            found += producers_in(module_name)
        except BaseException:  # noqa: S112 - a module that cannot import offers no names
            continue
    answer.write(json.dumps(found))
    answer.flush()


def producers_in(module_name: str) -> list[str]:
    """Return ``module:name`` for the public functions ``module_name`` defines that look like producers."""
    import importlib

    from app.core.producer_shapes import shape_of, takes_ctx

    module = importlib.import_module(module_name)
    public = getattr(module, "__all__", None)
    names = []
    for name, obj in vars(module).items():
        if not inspect.isfunction(obj):
            continue
        if public is not None and name not in public:
            continue  # the module says what it offers
        if public is None and (name.startswith("_") or obj.__module__ != module.__name__):
            continue  # private, or imported from elsewhere
        if shape_of(obj) != "function" or takes_ctx(obj):  # a plain function is likely a helper
            names.append(f"{module_name}:{name}")
    return names


def _run_probe(entry: str, request: Any, timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run this module's ``entry()`` in a fresh interpreter with our ``sys.path`` and ``request`` on stdin."""
    return subprocess.run(
        [sys.executable, "-c", f"from app.core.target_probe import {entry}; {entry}()"],
        input=pickle.dumps((list(sys.path), request)),
        capture_output=True,
        timeout=timeout,
        env=_probe_env(),
    )


def _probe_request() -> tuple[TextIO, Any]:
    """In a probe process: return the answer stream (stdout as it was) and the request; adopt the caller's path.

    Descriptors 1 and 2 then go to /dev/null: what user modules print is theirs, not our answer.
    """
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    path, request = pickle.loads(sys.stdin.buffer.read())
    sys.path[:] = path
    return answer, request


def _probe_env() -> dict[str, str]:
    # Pulse's own package must import in the probe however Pulse was started (e.g. from its checkout).
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def main() -> None:
    """The probe process: read the request on stdin, answer one JSON line per target."""
    answer, targets = _probe_request()
    for target, kwargs, paths in targets:
        sys.path[:0] = paths
        try:
            problem = problem_of(target, kwargs)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt from an import: a reason too
            problem = ("target", f"checking it raised {type(exc).__name__}: {exc}")
        finally:
            del sys.path[: len(paths)]
            _forget_modules_in(paths)
        answer.write(json.dumps(problem) + "\n")
        answer.flush()


def _forget_modules_in(paths: list[str]) -> None:
    """Drop the modules imported from ``paths``: another worker's directory may hold its own of those names."""
    roots = tuple(os.path.join(p, "") for p in paths)
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if roots and isinstance(where, str) and where.startswith(roots):
            del sys.modules[name]


def problem_of(target: str, kwargs: dict[str, Any]) -> tuple[str, str] | None:
    """Return ``(field, reason)`` if a worker could not run ``target`` with ``kwargs``, else None."""
    from app.core.errors import TargetError
    from app.core.producer_shapes import NotAProducer, shape_of, takes_ctx
    from app.core.spec import resolve_target

    try:
        fn = resolve_target(target)
        shape_of(fn)
    except (TargetError, NotAProducer) as exc:
        return "target", str(exc)
    except BaseException as exc:
        return "target", f"importing it raised {type(exc).__name__}: {exc}"
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: the worker will tell
    return kwargs_problem(getattr(fn, "__name__", target), signature, kwargs, takes_ctx(fn))


def kwargs_problem(
    name: str, signature: inspect.Signature, kwargs: dict[str, Any], ctx: bool
) -> tuple[str, str] | None:
    """Return ``(field, reason)`` when ``kwargs`` do not fit ``signature``: the first bad one, named."""
    P = inspect.Parameter
    params = signature.parameters
    by_keyword = [p.name for p in params.values() if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)]
    takes = [n for n in by_keyword if not (ctx and n == "ctx")]
    if not any(p.kind is P.VAR_KEYWORD for p in params.values()):
        for key in kwargs:
            if key not in takes:
                offer = f"it takes {', '.join(takes)}" if takes else "it takes none"
                return f"kwargs.{key}", f"{name}() takes no argument {key!r} ({offer})"
    for p in params.values():
        given = p.name in kwargs or (ctx and p.name == "ctx")
        if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY) and p.default is P.empty and not given:
            return "kwargs", f"{name}() needs argument {p.name!r}"
    try:
        signature.bind(**(dict(kwargs, ctx=None) if ctx else kwargs))
    except TypeError as exc:  # what the checks above do not cover (a positional-only parameter)
        return "kwargs", f"{name}() cannot be called with kwargs {sorted(kwargs)}: {exc}"
    return None


def target_of(fn: Callable[..., Any]) -> tuple[str, str | None]:
    """Return ``fn``'s ``"module:name"`` target, and why a worker process could not import it, if so."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname:  # lambdas and functions defined in functions
        return "", f"{fn!r} is not a module-level function: a worker process must be able to import it"
    main = sys.modules.get("__main__")
    if module == "__main__" and not getattr(main, "__file__", None):
        return "", f"{qualname} is defined in an interactive session: put it in a module or a script file"
    return f"{module}:{qualname}", None
