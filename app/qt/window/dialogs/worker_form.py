"""The Add worker form checked as a config file would be: a one-worker TOML document, read back (Qt-free)."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from pulse_supervisor.core.config.config_dump import dump_config
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.spec import PulseConfig, RestartPolicy, WorkerSpec
from pulse_supervisor.qt.window.dialogs.kwargs_text import null_path, parse_kwargs


@dataclass(frozen=True)
class WorkerForm:
    """What the form holds, as typed."""

    name: str
    target: str
    kwargs_text: str
    autostart: bool
    restart: RestartPolicy
    stop_timeout: float


# Where each field of the generated one-worker document reports; anything else is a form error.
def form_field(field: str) -> str:
    """Return the dialog field a config problem's field (``worker "w".kwargs.foo``) is about."""
    for key in ("kwargs", "target", "name"):
        if field == key or field.endswith(f".{key}") or f".{key}." in field or field.startswith(f"{key}."):
            return key
    return "form"


def check_form(
    form: WorkerForm, existing: Container[str], check_timeout: float, import_target: bool
) -> tuple[dict[str, str], WorkerSpec | None]:
    """Return each form field's first error (``name``, ``target``, ``kwargs`` or ``form``) and the spec read back.

    ``import_target``: the target is imported (in a subprocess) and the kwargs fitted to its signature.
    """
    errors: dict[str, str] = {}
    name, target = form.name, form.target
    if name in existing:
        errors["name"] = f"a worker named {name!r} already exists"
    elif name.strip() and name != name.strip():
        errors["name"] = "name must not begin or end with spaces"
    kwargs, reason = parse_kwargs(form.kwargs_text)
    if reason is not None:
        errors["kwargs"] = reason
    draft = WorkerSpec(
        name=name,
        target=target,
        kwargs=kwargs,
        autostart=form.autostart,
        restart=form.restart,
        stop_timeout=form.stop_timeout,
    )
    try:
        text = dump_config(PulseConfig(workers=(draft,), check_timeout=check_timeout))
    except TypeError as exc:  # only kwargs can hold a value TOML has no form for
        null = null_path(kwargs, "kwargs")
        errors["kwargs"] = f"{null} is null, which TOML cannot represent" if null else str(exc)
        text = dump_config(PulseConfig((WorkerSpec(name=name, target=target),), check_timeout=check_timeout))
    spec: WorkerSpec | None = None
    try:
        spec = parse_config(text, check_targets=import_target).workers[0]
    except ConfigError as exc:
        for problem in exc.problems:
            errors.setdefault(form_field(problem.field), problem.reason)
    return errors, spec
