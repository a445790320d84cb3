"""Figure 13: how fast ``pulse ctl status`` answers for a fleet of a headless Pulse (target: 100 workers < 100 ms).

``python bench/ctl.py [--workers 100] [--reps 20]``

Pulse is the whole command a user types, ``python main.py ctl status`` (a new interpreter,
finding the socket, one request, the supervisor's thread building 100 rows, printing them),
timed from spawn to exit, against a headless Pulse of this checkout running ``--workers``
counters at 1 item/s. The same with ``--json``, and the round trip alone (`control.wire.request`
from this process). The floor is the least any Python command pays: ``python -c pass``, run
in the same trials, alternated. Medians (and min-max) over ``--reps``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pulse_supervisor.core.control.wire import request  # noqa: E402


def _config(path: Path, workers: int) -> None:
    entries = [
        f'[[worker]]\nname = "w{i}"\ntarget = "pulse_supervisor.producers:counter"\n'
        "kwargs = { rate = 1.0 }\nstart_secs = 0.5\n"
        for i in range(workers)
    ]
    path.write_text("\n".join(entries))


def _wait_running(proc: subprocess.Popen[bytes], workers: int, done: threading.Event) -> None:
    running: set[str] = set()
    assert proc.stdout is not None
    for line in proc.stdout:  # read to the end, so the pipe never fills
        record = json.loads(line)
        if record["type"] == "state" and record["state"] == "RUNNING":
            running.add(record["worker"])
            if len(running) == workers:
                done.set()


def _timed(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr.decode()}")
    return elapsed * 1000


def _row(name: str, who: str, xs: list[float], target: str = "") -> str:
    med = statistics.median(xs)
    met = "" if not target else ("yes" if med < float(target.split()[1]) else "no")
    return f"| {name} | {who} | {med:.1f} [{min(xs):.1f}-{max(xs):.1f}] | {target} | {met} |"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=100)
    p.add_argument("--reps", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="pulse-bench-ctl-") as tmp:
        runtime = Path(tmp) / "run"
        runtime.mkdir(mode=0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_LOG_DIR=str(Path(tmp) / "logs"))
        config = Path(tmp) / "fleet.toml"
        _config(config, args.workers)
        proc = subprocess.Popen(
            [sys.executable, "main.py", "--headless", "--config", str(config)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        running = threading.Event()
        reader = threading.Thread(target=_wait_running, args=(proc, args.workers, running), daemon=True)
        reader.start()
        try:
            if not running.wait(timeout=120 + args.workers * 0.2):
                raise SystemExit(f"not every one of {args.workers} workers reached RUNNING")
            sock = runtime / "pulse" / f"{proc.pid}.sock"
            ctl = [sys.executable, "main.py", "ctl", "status"]
            times: dict[str, list[float]] = {"text": [], "json": [], "trip": [], "floor": []}
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
            for _ in range(args.reps):  # alternated, so a busy moment costs each the same
                times["text"].append(_timed(ctl, env))
                times["json"].append(_timed([*ctl, "--json"], env))
                t0 = time.perf_counter()
                answer = request(sock, {"verb": "status", "names": []})
                times["trip"].append((time.perf_counter() - t0) * 1000)
                assert len(answer["workers"]) == args.workers
                times["floor"].append(_timed([sys.executable, "-c", "pass"], env))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            reader.join(timeout=10)
    n = args.workers
    print(f"`pulse ctl status` of {n} workers, headless Pulse; ms, median [min-max] of {args.reps}")
    print()
    print("| Figure | Who | ms | Target | Met |")
    print("|---|---|---|---|---|")
    print(_row(f"ctl status, {n} workers", "Pulse", times["text"], "< 100"))
    print(_row(f"ctl status --json, {n} workers", "Pulse", times["json"], "< 100"))
    print(_row(f"round trip alone, {n} rows", "Pulse", times["trip"]))
    print(_row("python -c pass", "floor", times["floor"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
