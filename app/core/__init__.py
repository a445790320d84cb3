"""Pulse's Qt-free core: specs, config, channels, child bootstrap, policy, supervisor, inspection."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulse_supervisor.core.config.config_dump import dump_config
    from pulse_supervisor.core.config.toml_file import describe_worker, load_config, parse_config
    from pulse_supervisor.core.errors import (
        ConfigError,
        ConfigProblem,
        JobCallError,
        JobError,
        MessageError,
        NoEventLoopError,
        PulseError,
        SupervisorClosedError,
        TargetError,
        UnknownWorkerError,
    )
    from pulse_supervisor.core.processes.inspection import Inspector, ProcessInfo
    from pulse_supervisor.core.spec import PulseConfig, RestartPolicy, WorkerSpec
    from pulse_supervisor.core.supervision.events import (
        CountersReset,
        DescriptorsLow,
        Event,
        ItemBatch,
        LinesSkipped,
        LogLine,
        StackDump,
        StartFailed,
        StateChanged,
        WorkerExited,
        WorkersChanged,
    )
    from pulse_supervisor.core.supervision.policy import State
    from pulse_supervisor.core.supervision.supervisor import Supervisor
    from pulse_supervisor.core.supervision.worker_record import WorkerRecord
    from pulse_supervisor.core.supervision.worker_status import WorkerStatus, WorkerStatuses

# Lazy: every worker process imports pulse_supervisor.core.worker.bootstrap, and with it this package; importing
# the supervisor, config and psutil there too would cost a spawned worker ~150 ms for nothing.
_HOME = {
    **dict.fromkeys(("describe_worker", "load_config", "parse_config"), "config.toml_file"),
    "dump_config": "config.config_dump",
    **dict.fromkeys(
        (
            "ConfigError",
            "ConfigProblem",
            "JobCallError",
            "JobError",
            "MessageError",
            "NoEventLoopError",
            "PulseError",
            "SupervisorClosedError",
            "TargetError",
            "UnknownWorkerError",
        ),
        "errors",
    ),
    **dict.fromkeys(
        (
            "CountersReset",
            "DescriptorsLow",
            "Event",
            "ItemBatch",
            "LinesSkipped",
            "LogLine",
            "StackDump",
            "StartFailed",
            "StateChanged",
            "WorkerExited",
            "WorkersChanged",
        ),
        "supervision.events",
    ),
    **dict.fromkeys(("Inspector", "ProcessInfo"), "processes.inspection"),
    "State": "supervision.policy",
    **dict.fromkeys(("PulseConfig", "RestartPolicy", "WorkerSpec"), "spec"),
    "Supervisor": "supervision.supervisor",
    "WorkerRecord": "supervision.worker_record",
    **dict.fromkeys(("WorkerStatus", "WorkerStatuses"), "supervision.worker_status"),
}

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "CountersReset",
    "DescriptorsLow",
    "Event",
    "Inspector",
    "ItemBatch",
    "JobCallError",
    "JobError",
    "LinesSkipped",
    "LogLine",
    "MessageError",
    "NoEventLoopError",
    "ProcessInfo",
    "PulseConfig",
    "PulseError",
    "RestartPolicy",
    "StackDump",
    "StartFailed",
    "State",
    "StateChanged",
    "Supervisor",
    "SupervisorClosedError",
    "TargetError",
    "UnknownWorkerError",
    "WorkerExited",
    "WorkerRecord",
    "WorkerSpec",
    "WorkerStatus",
    "WorkerStatuses",
    "WorkersChanged",
    "describe_worker",
    "dump_config",
    "load_config",
    "parse_config",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"pulse_supervisor.core.{module}"), name)
