"""What a producer that takes a ``ctx`` argument gets: its name, the stop flag, emit, sleep and its messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.worker.inbox import NO_DEFAULT, Inbox
from pulse_supervisor.core.worker.stopping import StopFlag

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pulse_supervisor.core.wire.channel import ChannelWriter


class WorkerContext:
    """What a producer that takes a ``ctx`` argument gets.

    Attributes
    ----------
    name : str
        The worker's name.
    stopping : StopFlag
        True once a graceful stop was asked; finish the current item and return.
    inbox : Inbox
        The messages Pulse sent (`receive`, `messages`, `areceive` read them).
    """

    def __init__(self, name: str, writer: ChannelWriter) -> None:
        self.name = name
        self.stopping = StopFlag()
        self.inbox = Inbox(self.stopping)
        self._writer = writer

    def receive(self, timeout: float | None = None, default: Any = NO_DEFAULT) -> Any:
        """Return the next message sent to this worker, waiting up to ``timeout`` seconds (None: for ever).

        ``receive(1.0, default=None)`` returns ``None`` when nothing came in time; without a
        default that raises TimeoutError. A graceful stop asked while it waits is raised here,
        as from ``time.sleep``.
        """
        return self.inbox.receive(timeout, default)

    def messages(self) -> Iterator[Any]:
        """Yield each message as it comes, until a graceful stop is asked: ``for msg in ctx.messages():``."""
        return self.inbox.messages()

    async def areceive(self) -> Any:
        """Return the next message, for an ``async def`` producer (``await ctx.areceive()``)."""
        return await self.inbox.areceive()

    def emit(self, item: Any) -> None:
        """Send one item to the GUI (batched; any picklable object)."""
        self._writer.emit(item)

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early on a stop; return True if the full time passed."""
        stopped = self.stopping.wait(seconds) and self.stopping.is_set()  # is_set: it has seen the stop
        return not stopped
