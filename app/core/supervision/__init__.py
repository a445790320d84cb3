"""The supervisor's side: records, the pure policy, the watch on channels and sentinels, events, log files.

May import: every other room of ``core``. Nothing in ``core`` imports it but the package's lazy face.
Never Qt.
"""
