"""`pulse ctl`'s side of a running Pulse: the control socket's wire, its server thread, and the verbs carried out.

May import: ``core.errors``, ``core.spec``, ``core.wire`` (a message's pickling), ``core.config``
(reload) and ``core.supervision`` (what the verbs act on). Nothing in ``core`` imports it; the
headless stream, the Qt bridge and ``pulse ctl`` (``wire`` alone, which imports nothing of Pulse's) do.
"""
