"""Process inspection with psutil: what a person debugging a worker wants on one screen."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import psutil

if TYPE_CHECKING:
    from psutil._ntuples import pconn

_T = TypeVar("_T")


class ChildProcess(NamedTuple):
    """A process a worker started (or one of theirs): what a person needs to tell which it is."""

    pid: int
    name: str  # "" when it could not be read (gone meanwhile, or not ours)
    cmdline: str


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A snapshot of one process, or of its absence (``alive`` False)."""

    pid: int | None
    alive: bool
    ppid: int | None = None
    status: str = ""
    uptime: float | None = None
    cpu_percent: float | None = None
    rss: int | None = None
    num_threads: int | None = None
    children: tuple[ChildProcess, ...] = ()
    open_files: tuple[str, ...] = ()
    connections: tuple[str, ...] = ()
    cmdline: str = ""
    error: str = ""
    node: str = ""  # where it runs: "" this machine, else its node (the pids are that node's)
    agent: str = ""  # the Ray actor that runs it there ("" for a local run)


@dataclass
class Inspector:
    """Caches ``psutil.Process`` objects so CPU % is measured between two calls, not over a sleep."""

    _procs: dict[int, psutil.Process] = field(default_factory=dict)

    def inspect(self, pid: int | None) -> ProcessInfo:
        """Return what psutil can tell about ``pid`` right now (never raises)."""
        if pid is None:
            return ProcessInfo(pid=None, alive=False)
        proc = self._procs.get(pid)
        try:
            if proc is None or not proc.is_running():
                proc = self._procs[pid] = psutil.Process(pid)
                proc.cpu_percent(None)  # primes the counter; the next call gives a real figure
            with proc.oneshot():
                info = ProcessInfo(
                    pid=pid,
                    alive=True,
                    ppid=proc.ppid(),
                    status=proc.status(),
                    uptime=time.time() - proc.create_time(),
                    cpu_percent=proc.cpu_percent(None),
                    rss=proc.memory_info().rss,
                    num_threads=proc.num_threads(),
                    children=tuple(_child(c) for c in proc.children(recursive=True)),
                    open_files=tuple(f.path for f in _safe(proc.open_files)),
                    connections=tuple(_describe_conn(c) for c in _safe(proc.net_connections)),
                    cmdline=" ".join(_safe(proc.cmdline)).strip(),  # a set process title is padded
                )
            return info
        except psutil.NoSuchProcess:
            self._procs.pop(pid, None)
            return ProcessInfo(pid=pid, alive=False, error="process has exited")
        except psutil.AccessDenied as exc:
            return ProcessInfo(pid=pid, alive=True, error=f"access denied: {exc}")


def _child(proc: psutil.Process) -> ChildProcess:
    try:
        with proc.oneshot():
            return ChildProcess(proc.pid, proc.name(), " ".join(proc.cmdline()).strip())
    except psutil.Error:  # ended since it was listed, or not ours to read
        return ChildProcess(proc.pid, "", "")


def _safe(fn: Callable[[], list[_T]]) -> list[_T]:
    try:
        return fn()
    except (psutil.AccessDenied, psutil.ZombieProcess, OSError):
        return []


def _describe_conn(conn: pconn) -> str:
    local = f"{conn.laddr.ip}:{conn.laddr.port}" if conn.laddr else "-"
    remote = f"{conn.raddr.ip}:{conn.raddr.port}" if conn.raddr else "-"
    return f"{conn.type.name} {local} -> {remote} {conn.status}"


def describe_exit(exitcode: int | None, sig: int | None) -> str:
    """Return ``"exit 0"``, ``"SIGKILL (9)"`` and the like."""
    if sig is not None:
        try:
            return f"{signal.Signals(sig).name} ({sig})"
        except ValueError:
            return f"signal {sig}"
    if exitcode is None:
        return "did not start"
    return f"exit {exitcode}"


def format_bytes(n: int | None) -> str:
    """Return a human size: ``"12.3 MiB"``."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover


def format_count(n: float) -> str:
    """Return a count or rate that fits a narrow column: ``"45,410"``, ``"453 k"``, ``"1.60 M"``, ``"2.15 G"``."""
    if n < 100_000:
        return f"{n:,.0f}"
    for unit, size in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)):
        value = n / size
        if value < 999.5 or unit == "T":
            digits = 0 if value >= 99.95 else 1 if value >= 9.995 else 2  # three significant digits
            return f"{value:,.{digits}f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_plural(n: int, noun: str) -> str:
    """Return ``"1 problem"``, ``"3 problems"``, ``"1,200 workers"`` (nouns that take an s)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_duration(seconds: float | None) -> str:
    """Return ``"1h 02m 03s"``-style uptime."""
    if seconds is None:
        return "-"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{m}m {s:02d}s"
    return f"{seconds:.1f}s"
