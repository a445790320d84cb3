"""The app's own objects for `QtSupervisor`: loaded at once, or in a thread when loading imports a module."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from qtpy.QtCore import QObject, Signal

from pulse_supervisor.core.processes import thread_affinity
from pulse_supervisor.core.supervision.events import ItemBatch
from pulse_supervisor.core.supervision.pickled_items import load_batch
from pulse_supervisor.core.wire.item_forms import NeedsImport

if TYPE_CHECKING:
    from pulse_supervisor.core.supervision.events import Event


class ItemLoader(QObject):
    """Loads `item_forms.Pickled` items before `QtSupervisor` delivers their batches (GUI thread).

    A batch whose classes' modules the app has imported already is loaded in the GUI thread, at
    once. One whose loading would import a module is loaded in a thread of its own, so that a
    slow import (or one that never ends) stalls neither the window nor any other worker: that
    worker's later events wait behind it, in order, and everything else is delivered meanwhile.

    Parameters
    ----------
    deliver : callable
        Called with each list of events ready to be delivered, in order per worker.
    """

    _loaded = Signal(str, object)  # emitted by a loading thread with the worker and its loaded events

    def __init__(self, deliver: Callable[[list[Event]], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._deliver = deliver
        self._waiting: dict[str, tuple[ItemBatch, list[Event]]] = {}  # worker -> (batch loading, events after it)
        self._loaded.connect(self._on_loaded)

    def take(self, events: list[Event]) -> None:
        """Deliver ``events``, loaded, except a worker's events behind a batch still loading."""
        ready: list[Event] = []
        for ev in events:
            worker = getattr(ev, "worker", None)
            waiting = self._waiting.get(worker) if worker is not None else None
            if waiting is not None:
                waiting[1].append(ev)
            elif type(ev) is ItemBatch and ev.stand_ins:
                try:
                    ready.extend(load_batch(ev, imports=False))
                except NeedsImport:
                    self._waiting[ev.worker] = (ev, [])
                    thread = threading.Thread(target=self._load, args=(ev,), name="pulse-item-loader", daemon=True)
                    with thread_affinity.unpinned():  # an import's CPU is not the GUI thread's (share_cpu)
                        thread.start()
            else:
                ready.append(ev)
        if ready:
            self._deliver(ready)

    def flush(self) -> None:
        """Deliver what waits without waiting for the loads (closing): their items count as lost."""
        waiting, self._waiting = self._waiting, {}
        for batch, after in waiting.values():
            gap = batch.lost_before + len(batch.items)
            lost = ItemBatch(
                batch.worker, batch.first_seq + len(batch.items), [], batch.sent_ns, batch.received_ns, gap
            )
            self._deliver([lost, *after])

    def _load(self, batch: ItemBatch) -> None:
        loaded = load_batch(batch)  # contains whatever loading raises
        try:
            self._loaded.emit(batch.worker, loaded)
        except RuntimeError:  # the supervisor was closed and deleted while this loaded
            pass

    def _on_loaded(self, worker: str, loaded: list[Event]) -> None:
        waiting = self._waiting.pop(worker, None)
        if waiting is None:  # flushed meanwhile (closed)
            return
        self._deliver(loaded)
        self.take(waiting[1])
