"""Whether the items that end a quiet spell come from several workers at once, and how long to wait for the rest."""

from __future__ import annotations

from collections.abc import Sequence

from pulse_supervisor.core.supervision.events import ItemBatch

# The most the first item of a burst waits for the rest: half a frame, never visible.
MAX_HOLD_S = 0.008
# Added to the last burst's spread: the same workers rarely send in exactly the same order and time.
HOLD_MARGIN_S = 0.001
# Items sent this long after a burst's first one belong to the next burst (one frame).
WINDOW_S = 1 / 60


class BurstWatch:
    """Learns from each burst of items how long the next one's first item should wait for the rest.

    Workers that tick on the same clock (sensors sampled on the second, the bench's 8 clocks)
    send within a few ms of each other. Sent on at once, the first item of such a burst goes to
    the GUI alone and the rest a frame later: two GUI wake-ups and two repaints where one does
    (8 clocks: the GUI process's CPU 0.35 -> 0.29 % of a core). So the burst that follows a
    quiet spell is remembered (how many workers sent in it, and over how long, by their send
    times), and the next one's first item is held that long, with a margin, up to `MAX_HOLD_S`.
    A burst of one worker holds nothing: a lone stream keeps its latency, whatever its rate.

    Used by the consumer thread only; times are seconds on the monotonic clock (a batch's
    ``sent_ns`` is on it too, a remote node's already moved onto ours).

    Attributes
    ----------
    open_until : float
        Items received before this time may still belong to the current burst (`follow` them).
    """

    def __init__(self, *, max_hold: float = MAX_HOLD_S, window: float = WINDOW_S) -> None:
        self._max_hold = max_hold
        self._window = window
        self._start = 0.0  # send time of the current burst's first item
        self._end = 0.0  # send time of its last item so far
        self._workers: set[str] = set()
        self.open_until = 0.0

    def lead(self, batches: Sequence[ItemBatch], now: float) -> float:
        """Items ended a quiet spell: start a burst with them; return how long (from ``now``) to hold them."""
        count, spread = len(self._workers), self._end - self._start
        self._start = self._end = min(b.sent_ns for b in batches) / 1e9
        self._workers = set()
        self.open_until = now + self._window
        self.follow(batches)
        if count < 2:
            return 0.0
        hold = min(spread * 1.25 + HOLD_MARGIN_S, self._max_hold)
        return max(0.0, self._start + hold - now)

    def follow(self, batches: Sequence[ItemBatch]) -> None:
        """Items arrived after the burst began: those sent within a frame of its start are part of it."""
        for batch in batches:
            sent = batch.sent_ns / 1e9
            if sent - self._start <= self._window:
                self._workers.add(batch.worker)
                self._end = max(self._end, sent)
