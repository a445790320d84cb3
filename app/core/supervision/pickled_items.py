"""Real objects for an app that asked for them: `item_forms.Pickled` items loaded where the app runs.

`QtSupervisor` loads them in the GUI thread when their modules are imported already, and in a
thread of their own when loading would import one (`item_loader`); never in the thread that reads
every worker's channel, where one slow import would stall all of them. Loading runs the app's own code, so
anything it raises, ``SystemExit`` included, is that item's failure: dropped, counted as lost,
and named in its worker's log.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pulse_supervisor.core.supervision.events import ItemBatch, LogLine, kept_runs
from pulse_supervisor.core.wire.item_forms import NeedsImport, Pickled

if TYPE_CHECKING:
    from pulse_supervisor.core.supervision.events import Event

_MAX_DEPTH = 50  # stand-ins nested deeper than this stay as they are


class _Failed(Exception):
    def __init__(self, what: Pickled, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.what = what


def load_batch(batch: ItemBatch, *, imports: bool = True) -> list[Event]:
    """Return ``batch`` loaded: one or more batches (failed items as gaps), and a note if any failed.

    Raises
    ------
    NeedsImport
        With ``imports`` False, when an item's module is not imported yet (nothing is lost).
    """
    loaded: list[Any] = []
    failed: list[tuple[int, _Failed]] = []
    for i, item in enumerate(batch.items):
        try:
            loaded.append(_load(item, 0, imports))
        except _Failed as exc:
            failed.append((i, exc))
            loaded.append(None)
    if not failed:
        return [_batch(batch, batch.first_seq, loaded, batch.lost_before)]
    names = sorted({exc.what.type_name for _, exc in failed})
    first = failed[0][1]
    line = (
        f"{len(failed)} item(s) could not be loaded in this process and were dropped "
        f"({', '.join(names)}): {first} (loading {first.what.text})"
    )
    out: list[Event] = [LogLine(batch.worker, "pulse", "ERROR", line, time.time())]
    for n, (start, stop, dropped) in enumerate(kept_runs(len(loaded), [i for i, _ in failed])):
        lost = dropped + (batch.lost_before if n == 0 else 0)
        out.append(_batch(batch, batch.first_seq + start, loaded[start:stop], lost))
    return out


def _batch(batch: ItemBatch, first_seq: int, items: list[Any], lost_before: int) -> ItemBatch:
    return ItemBatch(batch.worker, first_seq, items, batch.sent_ns, batch.received_ns, lost_before)


def _load(item: Any, depth: int, imports: bool) -> Any:
    """Return ``item`` with its `Pickled` parts loaded; raise `_Failed` if one does not load."""
    kind = type(item)
    if kind is Pickled:
        try:
            return item.load(imports=imports)
        except NeedsImport:
            raise
        except BaseException as exc:  # noqa: B036 - the app's code, raising anything: this item's failure
            raise _Failed(item, exc) from None
    if depth >= _MAX_DEPTH:
        return item
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        values = [_load(v, depth + 1, imports) for v in item]
        return item if all(a is b for a, b in zip(values, item, strict=False)) else kind(values)
    if kind is dict:
        pairs = [(_load(k, depth + 1, imports), _load(v, depth + 1, imports)) for k, v in item.items()]
        return dict(pairs)
    return item
