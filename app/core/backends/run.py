"""One run of a worker as the supervisor sees it, wherever it runs: the seam between Pulse and a backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pulse_supervisor.core.processes.inspection import ProcessInfo
    from pulse_supervisor.core.spec import WorkerSpec

LOCAL_NODE = ""  # the node of a run on this machine


class Run(Protocol):
    """A started run: its liveness, its byte streams, and how to reach it.

    The streams are local pipe ends whatever the backend (a remote one feeds them from its
    node), so the supervisor reads every run the same way: `bootstrap`'s wire format on
    ``channel``, raw bytes on ``outputs``. Every member is used from the supervisor's polling
    thread only.

    Attributes
    ----------
    pid : int
        The worker's process id on its node.
    node : str
        Where it runs: `LOCAL_NODE` for this machine, else the backend's name for the node.
    channel : Connection
        The read end of the worker's channel.
    outputs : dict[str, Connection]
        The read ends of its stdout and stderr.
    sentinel : object
        Something `multiprocessing.connection.wait` takes, ready once the run has ended.
    started : float or None
        ``time.monotonic()`` when the worker's process started; None while a remote backend is
        still getting it started (its ``pid`` is 0 until then).
    clock_offset, mono_offset_ns : float, int
        What to add to its node's ``time.time()`` and ``time.monotonic_ns()`` to get ours (0 here).
    facts : dict or None
        A remote run's process facts as last read on its node (see `Supervisor.remote_facts`);
        None for a local one.
    """

    pid: int
    node: str
    started: float | None
    clock_offset: float
    mono_offset_ns: int
    facts: dict[str, Any] | None
    channel: Connection
    outputs: dict[str, Connection]
    sentinel: Any

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the worker, and unless it is SIGTERM to the processes it started (gone already: nothing).

        A worker ends its children itself once its producer has ended its stop.
        """

    def inspect(self) -> ProcessInfo | None:
        """Return a remote run's process as last read on its node (never blocks); None for a local one."""

    def request_stack(self) -> None:
        """Ask the worker for its Python stack; it answers on the channel (gone already: nothing)."""

    def send_message(self, data: bytes) -> str | None:
        """Queue a pickled message for the worker's inbox; return why it cannot take it, or None."""

    def flush_outbox(self) -> bool:
        """Write what `send_message` could not write at once (never blocks); return whether all is out."""

    def join(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` for the run's end; return its exit code (negative: the signal
        that ended it; None: not ended yet)."""

    def release(self, hello: tuple[str | None, int | None]) -> None:
        """Close what is left of the ended, joined run, and end what it left behind.

        ``hello`` is what the run's HELLO said, (run mark, forkserver pid), or Nones if it never did.
        """


class Launcher(Protocol):
    """Starts runs of workers on one backend."""

    def launch(self, spec: WorkerSpec) -> Run:
        """Start a run of ``spec``; raise (with nothing left open) if it cannot start."""
