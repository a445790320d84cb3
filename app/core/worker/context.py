"""What a producer that takes a ``ctx`` argument gets: its name, the stop flag, emit and sleep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.worker.stopping import StopFlag

if TYPE_CHECKING:
    from pulse_supervisor.core.wire.channel import ChannelWriter


class WorkerContext:
    """What a producer that takes a ``ctx`` argument gets.

    Attributes
    ----------
    name : str
        The worker's name.
    stopping : StopFlag
        True once a graceful stop was asked; finish the current item and return.
    """

    def __init__(self, name: str, writer: ChannelWriter) -> None:
        self.name = name
        self.stopping = StopFlag()
        self._writer = writer

    def emit(self, item: Any) -> None:
        """Send one item to the GUI (batched; any picklable object)."""
        self._writer.emit(item)

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early on a stop; return True if the full time passed."""
        stopped = self.stopping.wait(seconds) and self.stopping.is_set()  # is_set: it has seen the stop
        return not stopped
