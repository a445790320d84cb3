"""Config: TOML files read and checked with their lines, specs built in code, targets checked in subprocesses.

May import: ``core.errors``, ``core.spec``, ``core.processes``, and ``core.worker`` (only inside a
check's own subprocess, which drives the target as a worker would). Never ``supervision``,
``backends`` (Ray's address is asked for lazily, when a config chooses Ray) or Qt.
"""
