"""``pulse ctl``: control a running Pulse (the window or headless) from a terminal, as supervisorctl does."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from pulse_supervisor.core.control.wire import Answer, ControlError, request, socket_dir
from pulse_supervisor.ctl_tail import tail

EXIT_REFUSED = 1
EXIT_USAGE = 2
VERBS = ("status", "start", "stop", "restart", "kill", "tail", "send", "reload")
_POLL = 0.05  # how often a waiting action looks at the workers' states
_GAVE_UP = ("FATAL", "EXITED")


class Failed(Exception):
    """One line for stderr, and the exit code."""

    def __init__(self, text: str, code: int = EXIT_REFUSED) -> None:
        super().__init__(text)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not a usage block
        raise Failed(f"{message} (see pulse ctl --help)", EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``pulse ctl``; options go before or after the verb."""
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="answer in JSON")
    common.add_argument("--pid", type=int, default=argparse.SUPPRESS, help="the Pulse process to talk to")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE", help="the Pulse running this config")
    p = _Parser(prog="pulse ctl", description="Control a running Pulse.", parents=[common])
    verbs = p.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.required = True
    status = verbs.add_parser("status", parents=[common], help="state, pid and uptime of workers (default: all)")
    status.add_argument("names", nargs="*", metavar="NAME")
    for verb, what in (("start", "start"), ("stop", "stop gracefully"), ("restart", "restart"), ("kill", "SIGKILL")):
        action = verbs.add_parser(verb, parents=[common], help=f"{what} workers (all: every one), and wait")
        action.add_argument("names", nargs="+", metavar="NAME")
        action.add_argument("--no-wait", action="store_true", help="return once asked, not once done")
        action.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")
    tail = verbs.add_parser("tail", parents=[common], help="the worker's output lines")
    tail.add_argument("name", metavar="NAME")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl-C ends)")
    tail.add_argument("-n", "--lines", type=int, default=10, help="how many of the last lines (default 10)")
    send = verbs.add_parser("send", parents=[common], help="send a value (a Python literal or JSON) to a worker")
    send.add_argument("name", metavar="NAME")
    send.add_argument("value", metavar="VALUE")
    verbs.add_parser("reload", parents=[common], help="read the config file again and apply it")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``pulse ctl``; return the exit code (2: usage, 1: refused or no Pulse, 0: done)."""
    try:
        args = build_parser().parse_args(argv)
        # Not set_defaults: it would change the shared actions' SUPPRESS, and a verb's defaults
        # would then overwrite what was given before the verb.
        for option, default in (("json", False), ("pid", None), ("config", None)):
            if not hasattr(args, option):
                setattr(args, option, default)
        return _run(args)
    except Failed as exc:
        print(f"pulse ctl: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    path = find_pulse(args.pid, args.config)
    if args.verb == "status":
        answer = _ask(path, {"verb": "status", "names": args.names})
        _print_status(answer["workers"], args.json)
    elif args.verb in ("start", "stop", "restart", "kill"):
        return _action(path, args)
    elif args.verb == "tail":
        answer = _ask(path, {"verb": "tail", "name": args.name})
        return tail(Path(answer["path"]), args.lines, args.follow, args.json)
    elif args.verb == "send":
        answer = _ask(path, {"verb": "send", "name": args.name, "value": args.value})
        _say(args.json, {"ok": True, "name": args.name}, f"{args.name}: sent")
    elif args.verb == "reload":
        answer = _ask(path, {"verb": "reload"})
        _say(args.json, answer, answer["message"])
    return 0


def find_pulse(pid: int | None, config: str | None) -> Path:
    """Return the control socket of the one running Pulse (or the one ``pid`` or ``config`` names).

    Raises
    ------
    Failed
        None runs (1), or several do and neither option picks one (2: they are listed).
    """
    try:
        directory = socket_dir()
    except (ControlError, OSError) as exc:
        raise Failed(str(exc)) from None
    sockets = sorted(directory.glob("*.sock"))
    if pid is not None:
        sockets = [s for s in sockets if s.stem == str(pid)]
    live = []
    for sock in sockets:
        if not sock.stem.isdigit() or not _alive(int(sock.stem)):
            with contextlib.suppress(OSError):
                sock.unlink()  # left by a Pulse that died without removing it
            continue
        live.append(sock)
    if len(live) == 1 and config is None:
        return live[0]  # the common case: no round trip to ask who it is
    found: list[tuple[Path, Answer]] = []
    for sock in live:
        try:
            info = request(sock, {"verb": "hello"}, timeout=2.0)
        except (OSError, ControlError):
            continue
        if config is None or _same_file(info.get("config"), config):
            found.append((sock, info))
    if len(found) == 1:
        return found[0][0]
    if not found:
        which = f" with pid {pid}" if pid is not None else ""
        which += f" running {config}" if config is not None else ""
        raise Failed(f"no running Pulse{which} found (start one: pulse --headless --config FILE, or the window)")
    lines = [f"  --pid {i['pid']}  {i.get('kind', '?')}  {i.get('config') or 'built-in demo'}" for _, i in found]
    raise Failed("several Pulses are running; pick one with --pid or --config:\n" + "\n".join(lines), EXIT_USAGE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _same_file(theirs: Any, ours: str) -> bool:
    return isinstance(theirs, str) and os.path.realpath(theirs) == os.path.realpath(ours)


def _ask(path: Path, message: Answer) -> Answer:
    try:
        answer = request(path, message)
    except (OSError, ControlError) as exc:
        raise Failed(f"cannot talk to the Pulse at {path}: {exc}") from None
    if not answer.get("ok"):
        raise Failed(str(answer.get("error", "refused")))
    return answer


def _say(as_json: bool, answer: Answer, text: str) -> None:
    print(json.dumps(answer) if as_json else text)


def _print_status(rows: list[Answer], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": True, "workers": rows}))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for row in rows:
        print(f"{row['name']:<{width}}  {row['state']:<8}  {_describe(row)}".rstrip())


def _describe(row: Answer) -> str:
    """Return supervisorctl's description column: ``pid 123, uptime 0:01:02``, or how it ended."""
    parts = []
    if row["pid"] and row["uptime"] is not None:
        parts.append(f"pid {row['pid']}, uptime {_clock(row['uptime'])}")
    elif row["exit"] is not None:
        code, sig = row["exit"]
        parts.append(f"exit code {code}" if sig is None else f"killed by signal {sig}")
    if row["reason"]:
        parts.append(row["reason"])
    if row["restarts"]:
        parts.append(f"{row['restarts']} restart(s)")
    if row["messages_dropped"]:
        parts.append(f"{row['messages_dropped']} message(s) dropped")
    return ", ".join(parts)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    text = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days} day(s), {text}" if days else text


def _action(path: Path, args: argparse.Namespace) -> int:
    """Ask for the action, then wait (unless ``--no-wait``) until each worker has done it or given up."""
    before = {r["name"]: r for r in _ask(path, {"verb": "status", "names": args.names})["workers"]}
    _ask(path, {"verb": args.verb, "names": args.names})
    results: dict[str, tuple[str, bool]] = {}
    pending = dict(before)
    for name, row in before.items():
        early = _already(args.verb, row)
        if early is not None or args.no_wait:
            results[name] = early or ("asked", True)
            pending.pop(name)
    deadline = time.monotonic() + args.timeout
    while pending:
        if time.monotonic() > deadline:
            for name in pending:
                results[name] = (f"ERROR (still {pending[name]['state']} after {args.timeout:g} s)", False)
            break
        time.sleep(_POLL)
        try:
            rows = _ask(path, {"verb": "status", "names": list(pending)})["workers"]
        except Failed:
            if path.exists() or args.verb not in ("stop", "kill"):
                raise
            # A headless Pulse ends once nothing runs nor will: its workers are stopped.
            results.update({name: ("stopped (Pulse has ended: nothing left to run)", True) for name in pending})
            break
        for row in rows:
            done = _done(args.verb, before[row["name"]], row)
            if done is not None:
                results[row["name"]] = done
                pending.pop(row["name"])
            else:
                pending[row["name"]] = row
    ok = all(good for _, good in results.values())
    if args.json:
        rows = [{"name": name, "result": text, "ok": good} for name, (text, good) in results.items()]
        print(json.dumps({"ok": ok, "results": rows}))
    else:
        for name, (text, _) in results.items():
            print(f"{name}: {text}")
    return 0 if ok else EXIT_REFUSED


def _already(verb: str, row: Answer) -> tuple[str, bool] | None:
    """Return the result of an action that has nothing to do, as supervisorctl says it."""
    alive = row["state"] in ("STARTING", "RUNNING", "STOPPING")
    if verb == "start" and row["state"] == "RUNNING":
        return "ERROR (already started)", False
    if verb in ("stop", "kill") and not alive:
        return "ERROR (not running)", False
    return None


def _done(verb: str, before: Answer, row: Answer) -> tuple[str, bool] | None:
    """Return the result once ``row`` shows ``verb`` carried out (or given up on); None: not yet."""
    state = row["state"]
    moved = state != before["state"] or row["pid"] != before["pid"] or row["exit"] != before["exit"]
    if verb in ("stop", "kill"):
        if state not in ("STARTING", "RUNNING", "STOPPING"):
            return ("stopped" if verb == "stop" else "killed"), True
        return None
    if not moved:
        return None
    if state == "RUNNING" and (verb == "start" or row["pid"] != before["pid"]):
        return ("started" if verb == "start" else "restarted"), True
    if state in _GAVE_UP:
        reason = f": {row['reason']}" if row["reason"] else ""
        return f"ERROR ({state}{reason})", False
    return None
