"""Pulse's Qt-free core: specs, config, channels, child bootstrap, policy, supervisor, inspection."""

from app.core.config import describe_worker, dump_config, load_config, parse_config
from app.core.errors import ConfigError, ConfigProblem, PulseError, TargetError, UnknownWorkerError
from app.core.events import Event, ItemBatch, LogLine, StackDump, StateChanged, WorkerExited, WorkersChanged
from app.core.inspection import Inspector, ProcessInfo
from app.core.policy import State
from app.core.spec import PulseConfig, RestartPolicy, WorkerSpec
from app.core.supervisor import Supervisor, WorkerRecord

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "Event",
    "Inspector",
    "ItemBatch",
    "LogLine",
    "ProcessInfo",
    "PulseConfig",
    "PulseError",
    "RestartPolicy",
    "StackDump",
    "State",
    "StateChanged",
    "Supervisor",
    "TargetError",
    "UnknownWorkerError",
    "WorkerExited",
    "WorkerRecord",
    "WorkerSpec",
    "WorkersChanged",
    "describe_worker",
    "dump_config",
    "load_config",
    "parse_config",
]
