"""Pulse's exception tree: every error the core raises derives from ``PulseError``.

::

    PulseError
    ├── ConfigError          a config file (or an added worker) is invalid; holds every problem
    ├── UnknownWorkerError   an action named a worker the supervisor does not know
    ├── TargetError          a ``module:callable`` target cannot be imported
    ├── SupervisorClosedError  a command reached a supervisor that was closed
    ├── MessageError         a message to a worker cannot be sent (does not pickle, too big)
    ├── NoEventLoopError     a QtSupervisor made with no QApplication, or outside its thread
    └── JobError             a job (``run_in_process``) raised, or ended without its result
"""

from __future__ import annotations

from dataclasses import dataclass


class PulseError(Exception):
    """Root of every error Pulse raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a config: where it is and why.

    Attributes
    ----------
    path : str
        The file, or ``"<input>"`` for text that came from no file.
    line : int | None
        1-based line number, when the problem has one.
    field : str
        Dotted field name, e.g. ``"worker[2].target"``.
    reason : str
        What is wrong, in words a user can act on.
    """

    path: str
    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.field}: {self.reason}"


class ConfigError(PulseError):
    """A config is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownWorkerError(PulseError, KeyError):
    """An action named a worker that is not configured."""

    def __str__(self) -> str:
        return f"no worker named {self.args[0]!r}"


class SupervisorClosedError(PulseError, RuntimeError):
    """A command reached a supervisor after `close` or `shutdown` (or after its thread ended)."""


class MessageError(PulseError, ValueError):
    """A message to a worker cannot be sent: it does not pickle, or it is over `MAX_MESSAGE_BYTES` pickled."""


class TargetError(PulseError):
    """A ``module:callable`` target is malformed or cannot be imported."""


class JobError(PulseError):
    """A job run with ``run_in_process`` raised, or its process ended without a result.

    Attributes
    ----------
    type_name : str
        The exception's type in the job (e.g. ``"ValueError"``); empty if it raised none.
    traceback : str
        The job's traceback as text, or the end of its output for a job that died.
    original : BaseException | None
        The exception itself, when it could cross the process boundary (pickled), else None.
    """

    def __init__(
        self, message: str, *, type_name: str = "", traceback: str = "", original: BaseException | None = None
    ) -> None:
        super().__init__(f"{type_name}: {message}" if type_name else message)
        self.type_name = type_name
        self.traceback = traceback
        self.original = original


class NoEventLoopError(PulseError, RuntimeError):
    """A `QtSupervisor` was made with no QApplication, or outside the application's thread.

    Its signals are delivered by the application's event loop: there, none ever would be.
    """
