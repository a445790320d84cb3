"""Which backend starts each worker's runs: local processes, or a Ray cluster made on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulse_supervisor.core.backends.local.local_run import LocalLauncher

if TYPE_CHECKING:
    from pulse_supervisor.core.backends.ray.launcher import RayLauncher
    from pulse_supervisor.core.backends.run import Launcher
    from pulse_supervisor.core.spec import PulseConfig, WorkerSpec


class Launchers:
    """The supervisor's launchers: local always, Ray (and so the cluster) only once a Ray worker starts."""

    def __init__(self, config: PulseConfig, *, objects: bool = False) -> None:
        self.local = LocalLauncher(config.start_method, objects=objects)
        self._config = config
        self._objects = objects
        self._ray: RayLauncher | None = None

    def configure(self, config: PulseConfig) -> None:
        """Take a reloaded config's default backend (a Ray connection made already is kept)."""
        self._config = config

    def for_spec(self, spec: WorkerSpec) -> Launcher:
        """Return the launcher of the backend ``spec`` runs on."""
        if self._config.backend_of(spec) != "ray":
            return self.local
        if self._ray is None:
            from pulse_supervisor.core.backends.ray.launcher import (
                RayLauncher,  # Ray is an extra: imported when first used
            )

            self._ray = RayLauncher(self._config.ray_address, self._config.start_method, objects=self._objects)
        return self._ray

    def close(self) -> None:
        """End the Ray agents, if any were made."""
        if self._ray is not None:
            self._ray.close()
