"""Where runs happen, behind the `run.Run` seam: ``local`` processes, or a ``ray`` cluster.

May import: ``core.errors``, ``core.spec``, ``core.wire``, ``core.processes``, ``core.worker`` (a run's
process runs it), ``core.config`` (a Ray runtime env's rules). Never ``supervision`` or Qt.
``backends.ray`` is imported only when a worker's backend is Ray (``launchers`` does it lazily).
"""
