"""Pulse's Qt-free core: specs, config, channels, child bootstrap, policy, supervisor, inspection."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.config import describe_worker, load_config, parse_config
    from app.core.config_dump import dump_config
    from app.core.errors import (
        ConfigError,
        ConfigProblem,
        JobError,
        PulseError,
        SupervisorClosedError,
        TargetError,
        UnknownWorkerError,
    )
    from app.core.events import (
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
    from app.core.inspection import Inspector, ProcessInfo
    from app.core.policy import State
    from app.core.spec import PulseConfig, RestartPolicy, WorkerSpec
    from app.core.supervisor import Supervisor
    from app.core.worker_record import WorkerRecord
    from app.core.worker_status import WorkerStatus, WorkerStatuses

# Lazy: every worker process imports app.core.bootstrap, and with it this package; importing
# the supervisor, config and psutil there too would cost a spawned worker ~150 ms for nothing.
_HOME = {
    **dict.fromkeys(("describe_worker", "load_config", "parse_config"), "config"),
    "dump_config": "config_dump",
    **dict.fromkeys(
        (
            "ConfigError",
            "ConfigProblem",
            "JobError",
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
        "events",
    ),
    **dict.fromkeys(("Inspector", "ProcessInfo"), "inspection"),
    "State": "policy",
    **dict.fromkeys(("PulseConfig", "RestartPolicy", "WorkerSpec"), "spec"),
    "Supervisor": "supervisor",
    "WorkerRecord": "worker_record",
    **dict.fromkeys(("WorkerStatus", "WorkerStatuses"), "worker_status"),
}

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "CountersReset",
    "DescriptorsLow",
    "Event",
    "Inspector",
    "ItemBatch",
    "JobError",
    "LinesSkipped",
    "LogLine",
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
    return getattr(importlib.import_module(f"app.core.{module}"), name)
