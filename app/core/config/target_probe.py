"""Checking worker targets in short-lived subprocesses: user code never runs in Pulse's own process.

Importing a target runs its module: an import-time ``print`` would corrupt the headless JSON
stream, an ``argparse`` or ``sys.exit`` at import would end ``--check`` or the window, a slow
import would freeze the window, and a module changed on disk would stay stale in Pulse (a Reload
that rejects a function just added). So targets are imported, and their shape and keyword
arguments checked, in a fresh interpreter with the same ``sys.path`` (`probe_process`), each
import under a time limit of its own: the worker's ``check_timeout``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pulse_supervisor.core.config.probe_process import Unanswered, run_steps, serve
from pulse_supervisor.core.spec import DEFAULT_CHECK_TIMEOUT


@dataclass(frozen=True, slots=True)
class TargetProblem:
    """Why a worker could not run a target: ``field`` is ``"target"``, ``"kwargs"`` or ``"kwargs.<name>"``."""

    field: str
    reason: str

    def __str__(self) -> str:
        return self.reason


def probe_targets(
    targets: Sequence[tuple[str, dict[str, Any]]],
    timeout: float | Sequence[float] = DEFAULT_CHECK_TIMEOUT,
    paths: Sequence[Sequence[str]] = (),
    argv: Sequence[Sequence[str]] = (),
    setups: Sequence[tuple[dict[str, str] | None, str]] = (),
) -> list[TargetProblem | None]:
    """Return, for each ``(target, kwargs)``, why a worker could not run it, or None if it can.

    Parameters
    ----------
    targets : sequence of (str, dict)
        Checked in order, in a subprocess.
    timeout : float or sequence of float
        Seconds each target's check may take (one for all, or one per target). A target that
        overruns it is reported as such, and the targets after it are checked in a fresh process.
    paths : sequence of sequence of str
        One list per target, first on ``sys.path`` for it alone (a Ray worker's ``working_dir``).
    argv : sequence of sequence of str
        One list per target: its worker's ``argv``. Each target is imported with ``sys.argv``
        set to ``[target, *argv]``, as its worker will be; targets whose argv differ are checked
        in processes of their own, since a module is imported once per process.
    setups : sequence of (dict or None, str)
        One per target: the whole environment its worker will have (None: Pulse's) and its
        working directory ("": Pulse's). The import runs with both, as the worker's will;
        targets whose setups differ are checked in processes of their own too.
    """
    if not targets:
        return []
    limits = [float(timeout)] * len(targets) if isinstance(timeout, (int, float)) else [float(t) for t in timeout]
    extra = [list(p) for p in paths] or [[]] * len(targets)
    setup = list(setups) or [(None, "")] * len(targets)
    groups: dict[Any, list[int]] = {}  # (argv, env, cwd) -> the targets checked with them
    for i, args in enumerate([tuple(a) for a in argv] or [()] * len(targets)):
        env, cwd = setup[i]
        groups.setdefault((args, None if env is None else tuple(sorted(env.items())), cwd), []).append(i)
    answers: list[Any] = [None] * len(targets)
    for (args, _, _), indices in groups.items():
        steps = [(targets[i][0], dict(targets[i][1]), extra[i], list(args), *setup[i]) for i in indices]
        got = run_steps("pulse_supervisor.core.config.target_probe:main", steps, [limits[i] for i in indices])
        for i, answer in zip(indices, got, strict=True):
            answers[i] = answer
    return [_problem(answer, limit) for answer, limit in zip(answers, limits, strict=True)]


def _problem(answer: Any, limit: float) -> TargetProblem | None:
    if not isinstance(answer, Unanswered):
        return None if answer is None else TargetProblem(str(answer[0]), str(answer[1]))
    if answer.kind == "overran":
        reason = (
            f"importing it did not finish within {limit:g} s, its check_timeout (a slow or hanging import? "
            "a larger check_timeout, for this worker or in [pulse], allows more)"
        )
    elif answer.kind == "ended":
        reason = f"the check process {answer.detail} while importing it (an os._exit or a crash at import?)"
    else:
        reason = f"not checked: the check process {answer.detail}"
    return TargetProblem("target", reason)


def list_producers(modules: Sequence[str], timeout: float = DEFAULT_CHECK_TIMEOUT) -> list[str]:
    """Return the ``module:callable`` producers the ``modules`` define (generators, async, ``ctx`` functions).

    Imported in a subprocess like the checks, each under ``timeout`` seconds; a module that fails
    to import or overruns simply offers nothing.
    """
    if not modules:
        return []
    answers = run_steps("pulse_supervisor.core.config.target_probe:list_main", list(modules), [timeout] * len(modules))
    return [name for found in answers if isinstance(found, list) for name in found if isinstance(name, str)]


def list_main() -> None:
    """The lister process: answer, for each module of the request, its list of ``module:callable``."""
    serve(_producers_or_none)


def _producers_or_none(module_name: str) -> list[str]:
    try:
        return producers_in(module_name)
    except BaseException:  # a module that cannot import offers no names
        return []


def producers_in(module_name: str) -> list[str]:
    """Return ``module:name`` for the public functions ``module_name`` defines that look like producers."""
    from pulse_supervisor.core.worker.producer_shapes import shape_of, takes_ctx

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


def main() -> None:
    """The probe process: answer, for each ``(target, kwargs, paths, argv)`` of the request, its problem or None."""
    for module in (
        "pulse_supervisor.core.errors",
        "pulse_supervisor.core.worker.producer_shapes",
        "pulse_supervisor.core.spec",
    ):
        importlib.import_module(module)  # Pulse's own imports before the first target's time starts
    serve(_check)


def _check(
    step: tuple[str, dict[str, Any], list[str], list[str], dict[str, str] | None, str],
) -> tuple[str, str] | None:
    target, kwargs, paths, argv, env, cwd = step
    sys.path[:0] = paths
    sys.argv = [target, *argv]  # what its worker's sys.argv will be (bootstrap.run)
    said = _Tail()
    environ, here, path = dict(os.environ), os.getcwd(), list(sys.path)
    try:
        if env is not None:  # as `worker_env.apply_env` sets them in the worker, before its import
            os.environ.clear()
            os.environ.update(env)
        if cwd:
            sys.path[:] = [os.path.abspath(p) for p in sys.path]
            os.chdir(cwd)
        with contextlib.redirect_stderr(said):  # an argparse error at import says why there
            return problem_of(target, kwargs, said.last_line)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt from an import: a reason too
        return "target", f"checking it raised {type(exc).__name__}: {exc}"
    finally:
        if cwd:
            sys.path[:] = path
            os.chdir(here)
        del sys.path[: len(paths)]
        if env is not None:
            os.environ.clear()
            os.environ.update(environ)
        _forget_modules_in(paths)


class _Tail(io.TextIOBase):
    """A text stream that keeps only the last few hundred characters written to it."""

    def __init__(self) -> None:
        self._text = ""

    def write(self, s: str) -> int:  # noqa: D102 - io.TextIOBase's
        self._text = (self._text + s)[-400:]
        return len(s)

    def last_line(self) -> str:
        """Return the last line written that is not blank, without its end."""
        lines = [line for line in self._text.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


def _forget_modules_in(paths: list[str]) -> None:
    """Drop the modules imported from ``paths``: another worker's directory may hold its own of those names."""
    roots = tuple(os.path.join(p, "") for p in paths)
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if roots and isinstance(where, str) and where.startswith(roots):
            del sys.modules[name]


def problem_of(target: str, kwargs: dict[str, Any], printed: Callable[[], str] = lambda: "") -> tuple[str, str] | None:
    """Return ``(field, reason)`` if a worker could not run ``target`` with ``kwargs``, else None.

    ``printed`` returns the last line the import wrote to stderr: a ``sys.exit`` at import
    (an argparse error) is told with it.
    """
    from pulse_supervisor.core.errors import TargetError
    from pulse_supervisor.core.spec import resolve_target
    from pulse_supervisor.core.worker.producer_shapes import NotAProducer, shape_of, takes_ctx

    try:
        fn = resolve_target(target)
        shape_of(fn)
    except (TargetError, NotAProducer) as exc:
        return "target", str(exc)
    except BaseException as exc:
        said = printed() if isinstance(exc, SystemExit) else ""
        return "target", f"importing it raised {type(exc).__name__}: {exc}" + (f" ({said})" if said else "")
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
