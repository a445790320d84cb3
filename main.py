"""Pulse: start, watch, stop, kill and inspect Python worker processes (``python main.py --help``)."""

# Nothing else at the top level: worker processes re-import this file, and must not load Qt.
if __name__ == "__main__":
    import sys

    from pulse_supervisor.cli import main

    sys.exit(main())
