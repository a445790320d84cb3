"""Pulse: start, watch, stop, kill and inspect Python worker processes (``python main.py --help``)."""

# Nothing else at the top level: worker processes re-import this file, and must not load Qt.
if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["ctl"]:  # `pulse ctl`: talks to a running Pulse; none of the rest is loaded
        from pulse_supervisor.ctl import main as ctl_main

        sys.exit(ctl_main(sys.argv[2:]))

    from pulse_supervisor.cli import main

    sys.exit(main())
