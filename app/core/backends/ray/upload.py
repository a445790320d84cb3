"""A Ray worker's local ``working_dir`` and ``py_modules`` shipped to the cluster (checked by `config.runtime_env`)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from pulse_supervisor.core.config.runtime_env import LOCAL_FIELDS, as_list, is_uri


class UploadFailed(Exception):
    """A runtime_env's local path could not be shipped to the cluster; the message says which and why."""


def upload(runtime_env: dict[str, Any]) -> dict[str, Any]:
    """Return ``runtime_env`` with its local paths uploaded to the connected cluster, as gcs:// URIs (blocks).

    Ray names a package by a hash of its content and uploads only what the cluster does not
    hold: each start hashes the paths again, so an edited target ships on the next start (and
    gets a new URI, so a new agent), while an unchanged one costs a walk of its files.

    Raises
    ------
    UploadFailed
        A path is missing or unreadable, or its package is larger than the cluster takes.
    """
    local = [f for f in LOCAL_FIELDS if any(not is_uri(p) for p in as_list(runtime_env.get(f)) if isinstance(p, str))]
    if not local:
        return runtime_env  # nothing to hash: no Ray internals touched
    from ray._private.ray_constants import RAY_RUNTIME_ENV_IGNORE_GITIGNORE
    from ray._private.runtime_env.py_modules import upload_py_modules_if_needed
    from ray._private.runtime_env.working_dir import upload_working_dir_if_needed

    # As ray.init does: .gitignore files are honoured unless the environment says otherwise.
    include_gitignore = os.environ.get(RAY_RUNTIME_ENV_IGNORE_GITIGNORE, "0") != "1"
    steps = {"py_modules": upload_py_modules_if_needed, "working_dir": upload_working_dir_if_needed}
    env = dict(runtime_env)
    with tempfile.TemporaryDirectory(prefix="pulse-ray-upload-") as scratch:  # where Ray zips before uploading
        for field in local:
            try:
                env = steps[field](dict(env), include_gitignore=include_gitignore, scratch_dir=scratch)
            except Exception as exc:  # Ray's own errors say what failed: missing, too big, unreadable
                # Its RuntimeEnvSetupError's str() opens with a line of its own saying only that it failed.
                cause = getattr(exc, "error_message", None) or str(exc).strip() or type(exc).__name__
                raise UploadFailed(f"cannot ship runtime_env.{field} to the cluster: {cause}") from exc
    env.pop("excludes", None)  # used by the upload; as after ray.init, not part of the environment
    return env
