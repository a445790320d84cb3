"""What runs inside a worker process (and Pulse's forkserver that forks it): bootstrap, producer shapes, stopping.

May import: ``core.errors``, ``core.spec``, ``core.wire``, ``core.processes``. Never the
supervisor's side (``supervision``, ``backends``, ``config``) nor Qt: a worker loads only what it runs.
Imported by: the backends (to start it), ``config`` (a target check drives a producer's shape).
"""
