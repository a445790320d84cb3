"""Command line: ``--check`` a config, run ``--headless``, or open the window (Qt imported late)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pulse_supervisor.core.config.spec_checks import MAX_SECONDS
from pulse_supervisor.core.config.toml_file import describe_worker, load_config, parse_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.processes.inspection import format_plural

if TYPE_CHECKING:
    from pulse_supervisor.core.spec import PulseConfig

EXIT_CONFIG_ERROR = 2
EXIT_NO_DISPLAY = 3


def demo_config() -> PulseConfig:
    """Return the built-in demo config (``app/demo.toml``)."""
    text = (Path(__file__).parent / "demo.toml").read_text(encoding="utf-8")
    # No source: the demo is not a file the window could reload or overwrite.
    return replace(parse_config(text, "<built-in demo>"), source=None)


def last_window_config() -> str | None:
    """Return the config file the window had when it last closed, if any, even if gone since (QSettings)."""
    try:
        from pulse_supervisor.qt.window.menus.recent_configs import RecentConfigs, settings_for_app
    except ImportError:  # Qt missing: the window will say so
        return None
    return RecentConfigs(settings_for_app()).last_config()


def _config_failed(exc: ConfigError) -> int:
    print(f"{format_plural(len(exc.problems), 'problem')} in the config; nothing was started:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_CONFIG_ERROR


def fallback_notice(path: str, exc: ConfigError) -> str:
    """Return why the window opens the demo instead of the last config: a line, then every problem."""
    problems = [str(p) for p in exc.problems] or [path]
    more = f" (and {format_plural(len(problems) - 1, 'more problem')}: see the log)" if len(problems) > 1 else ""
    first = f"The last config could not be reopened, so the built-in demo is open: {problems[0]}{more}"
    return "\n".join([first, *(f"  {problem}" for problem in problems)]) if more else first


def _duration(text: str) -> float:
    """An argparse type: a finite number of seconds, from 0 to 24.8 days."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= MAX_SECONDS:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_SECONDS} seconds (24.8 days), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``main.py``."""
    p = argparse.ArgumentParser(prog="pulse", description="Supervise Python worker processes and watch their data.")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="TOML config file (default: the one the window had last, else the built-in demo; --headless: the demo)",
    )
    p.add_argument("--demo", action="store_true", help="the built-in demo, even if the window had a config last time")
    p.add_argument("--check", action="store_true", help="validate the config and exit (0 valid, 2 invalid)")
    p.add_argument("--headless", action="store_true", help="no window: JSON lines on stdout")
    p.add_argument("--duration", type=_duration, metavar="SECONDS", help="with --headless: stop after this long")
    p.add_argument("--start-method", choices=("forkserver", "spawn", "fork"), help="override the config's start method")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run Pulse; return the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ctl"]:  # `pulse ctl ...`: talk to a running Pulse
        from pulse_supervisor.ctl import main as ctl_main

        return ctl_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.config and args.demo:
        print("--config and --demo exclude each other", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    window = not (args.check or args.headless)
    path = args.config or (None if args.demo or args.headless else last_window_config())
    notice = None
    try:
        config = load_config(path) if path else demo_config()
    except ConfigError as exc:
        if args.config or not window:
            return _config_failed(exc)
        # The config reopened from last time: open the demo instead, and say why, in the window too
        # (started from a launcher, nobody reads stderr).
        assert path is not None
        notice = fallback_notice(path, exc)
        print(notice, file=sys.stderr)
        config = demo_config()
    if args.start_method:
        config = replace(config, start_method=args.start_method)
    if args.check:
        workers = format_plural(len(config.workers), "worker")
        print(f"{config.source or 'built-in demo'}: OK, {workers}, {config.start_method}")
        for spec in config.workers:
            print(f"  {describe_worker(spec)}")
        return 0
    if args.headless:
        from pulse_supervisor.headless.stream import run_headless

        return run_headless(config, duration=args.duration)
    from pulse_supervisor.display_check import display_problem

    no_display = display_problem()
    if no_display is not None:  # before Qt, whose own abort names neither the library nor the package
        print(no_display, file=sys.stderr)
        return EXIT_NO_DISPLAY
    from pulse_supervisor.qt.window.application import run_window

    return run_window(config, notice)
