"""Qt-free plot history kept by time: min/max per time bucket, one level per window, breaks at new runs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# A window is drawn from about this many buckets: finer than the pixels of a typical plot, so a
# min/max pair per bucket shows every peak, and bounded whatever the rate.
BUCKETS_PER_WINDOW = 1000
# "All" starts with buckets this wide and doubles them (merging pairs) whenever it holds more than
# ALL_CAPACITY: memory stays bounded however long Pulse runs, the oldest data stays.
ALL_START_WIDTH_S = 0.05
ALL_CAPACITY = 2 * BUCKETS_PER_WINDOW


class BucketLevel:
    """Min and max of the points in each ``width_s``-wide time bucket, oldest first.

    A fixed level keeps the newest ``capacity`` buckets (at least ``capacity * width_s`` seconds);
    an adaptive one (``adaptive=True``) keeps everything and doubles its width when full. A bucket
    flagged ``brk`` starts a new run: the line is not drawn from the bucket before it.

    Parameters
    ----------
    width_s : float
        Bucket width in seconds (the starting width when adaptive).
    capacity : int
        How many buckets are kept.
    adaptive : bool
        Merge pairs of buckets when full instead of dropping the oldest.
    """

    def __init__(self, width_s: float, capacity: int, *, adaptive: bool = False) -> None:
        if width_s <= 0 or capacity < 2:
            raise ValueError(f"need width_s > 0 and capacity >= 2, not {width_s}, {capacity}")
        self.width_s = width_s
        self.capacity = capacity
        self.adaptive = adaptive
        # Twice the capacity: appends write at the end and the kept tail moves to the front when
        # it is reached, one copy per `capacity` buckets (as a ring, but contiguous for views).
        self._idx = np.empty(2 * capacity, dtype=np.int64)
        self._lo = np.empty(2 * capacity, dtype=np.float64)
        self._hi = np.empty(2 * capacity, dtype=np.float64)
        self._brk = np.zeros(2 * capacity, dtype=np.bool_)
        self._start = self._end = 0

    def __len__(self) -> int:
        """Return how many buckets are kept."""
        return self._end - self._start

    @property
    def idx(self) -> IntArray:
        """Return the kept buckets' indices (bucket ``i`` covers ``[i, i + 1) * width_s``); a view."""
        return self._idx[self._start : self._end]

    @property
    def lo(self) -> FloatArray:
        """Return each kept bucket's minimum (NaN: the bucket held only NaN); a view."""
        return self._lo[self._start : self._end]

    @property
    def hi(self) -> FloatArray:
        """Return each kept bucket's maximum; a view."""
        return self._hi[self._start : self._end]

    @property
    def brk(self) -> BoolArray:
        """Return whether each kept bucket starts a new run; a view."""
        return self._brk[self._start : self._end]

    def extend(self, x: FloatArray, y: FloatArray, *, new_run: bool = False) -> None:
        """Add points (x non-decreasing and not before the newest bucket); ``new_run`` breaks the line."""
        if not len(x):
            return
        if len(x) == 1 and len(self) and self._end < len(self._idx):
            # The common slow feed: one point. Scalar work, not a dozen numpy calls per level.
            i, v, last = int(x[0] // self.width_s), float(y[0]), self._end - 1
            if i == self._idx[last]:
                if v == v:  # not NaN: NaN never lowers or raises a bucket (as fmin/fmax)
                    lo, hi = self._lo[last], self._hi[last]
                    self._lo[last] = v if lo != lo or v < lo else lo
                    self._hi[last] = v if hi != hi or v > hi else hi
                self._brk[last] |= new_run
                return
            if i > self._idx[last] and (self.adaptive or i - self._idx[self._start] < self.capacity):
                if not self.adaptive or len(self) < self.capacity:
                    self._idx[self._end], self._lo[self._end], self._hi[self._end] = i, v, v
                    self._brk[self._end] = new_run
                    self._end += 1
                    return
        idx = np.floor(x / self.width_s).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        uidx = idx[starts]
        # fmin/fmax skip NaN, so one NaN does not hide a bucket's numbers (all NaN stays NaN).
        lo = np.fmin.reduceat(y, starts)
        hi = np.fmax.reduceat(y, starts)
        brk = np.zeros(len(uidx), dtype=np.bool_)
        brk[0] = new_run and len(self) > 0
        if len(self) and uidx[0] == self._idx[self._end - 1]:
            # Same bucket as the newest: merge. A run starting inside it breaks the line before
            # it (under a bucket's width from the truth), and bucket indices stay unique.
            last = self._end - 1
            self._lo[last] = np.fmin(self._lo[last], lo[0])
            self._hi[last] = np.fmax(self._hi[last], hi[0])
            self._brk[last] |= brk[0]
            uidx, lo, hi, brk = uidx[1:], lo[1:], hi[1:], brk[1:]
        self._append(uidx, lo, hi, brk)

    def _append(self, idx: IntArray, lo: FloatArray, hi: FloatArray, brk: BoolArray) -> None:
        n = len(idx)
        if not n:
            return
        if self.adaptive:
            while len(self) + n > self.capacity:
                idx, lo, hi, brk = self._coarsen(idx, lo, hi, brk)
                n = len(idx)
        if n >= self.capacity:  # only a fixed level gets here: the batch alone fills it
            idx, lo, hi, brk = idx[-self.capacity :], lo[-self.capacity :], hi[-self.capacity :], brk[-self.capacity :]
            n = self.capacity
            self._start = self._end = 0
        if self._end + n > len(self._idx):
            keep = min(len(self), self.capacity - n)
            for arr in (self._idx, self._lo, self._hi, self._brk):
                arr[:keep] = arr[self._end - keep : self._end]  # numpy copies through a temporary
            self._start, self._end = 0, keep
        end = self._end + n
        self._idx[self._end : end], self._lo[self._end : end] = idx, lo
        self._hi[self._end : end], self._brk[self._end : end] = hi, brk
        self._end = end
        self._start = max(self._start, end - self.capacity)
        if not self.adaptive and len(self):
            # Keep by time too: buckets older than `capacity` widths from the newest go.
            newest = self._idx[end - 1]
            self._start += int(np.searchsorted(self.idx, newest - self.capacity + 1))

    def _coarsen(
        self, idx: IntArray, lo: FloatArray, hi: FloatArray, brk: BoolArray
    ) -> tuple[IntArray, FloatArray, FloatArray, BoolArray]:
        """Double the width: merge the kept buckets pairwise, and the pending ones likewise."""
        self.width_s *= 2
        kept = _merge(self.idx // 2, self.lo, self.hi, self.brk)
        self._start, self._end = 0, len(kept[0])
        for arr, values in zip((self._idx, self._lo, self._hi, self._brk), kept, strict=True):
            arr[: self._end] = values
        pending = _merge(idx // 2, lo, hi, brk)
        if self._end and len(pending[0]) and pending[0][0] == self._idx[self._end - 1]:
            last = self._end - 1
            self._lo[last] = np.fmin(self._lo[last], pending[1][0])
            self._hi[last] = np.fmax(self._hi[last], pending[2][0])
            self._brk[last] |= pending[3][0]
            pending = tuple(a[1:] for a in pending)  # type: ignore[assignment]
        return pending

    def clear(self) -> None:
        """Drop every bucket (an adaptive level keeps its current width)."""
        self._start = self._end = 0

    def oldest_x(self) -> float | None:
        """Return the start of the oldest bucket in seconds, or None when empty."""
        return None if not len(self) else float(self._idx[self._start]) * self.width_s

    def since(self, start_s: float | None) -> slice:
        """Return the slice of kept buckets that end after ``start_s`` (None: all of them)."""
        if start_s is None:
            return slice(0, len(self))
        return slice(int(np.searchsorted(self.idx, np.floor(start_s / self.width_s))), len(self))

    def y_bounds(self, start_s: float | None) -> tuple[float, float] | None:
        """Return the (min, max) of the finite values in buckets after ``start_s``, or None."""
        part = self.since(start_s)
        lo, hi = self.lo[part], self.hi[part]
        lo, hi = lo[np.isfinite(lo)], hi[np.isfinite(hi)]
        if not len(lo) or not len(hi):
            return None
        return float(lo.min()), float(hi.max())

    def polyline(self, start_s: float | None, shift_s: float = 0.0) -> tuple[FloatArray, FloatArray]:
        """Return the line to draw for buckets after ``start_s``: x - ``shift_s``, and y.

        Each bucket is two points at its centre, its min then its max (one point when they are
        equal); a NaN point before each bucket that starts a run breaks the line there (drawn
        with pyqtgraph's ``connect="finite"``).
        """
        part = self.since(start_s)
        idx, lo, hi, brk = self.idx[part], self.lo[part], self.hi[part], self.brk[part]
        x = (idx + 0.5) * self.width_s - shift_s
        sizes = np.where(lo == hi, 1, 2)
        starts = np.cumsum(sizes) - sizes  # where each bucket's first point sits
        xs = np.repeat(x, sizes)
        ys = np.empty(len(xs), dtype=np.float64)
        ys[starts] = lo
        two = sizes == 2
        ys[starts[two] + 1] = hi[two]
        at = starts[brk]
        at = at[at > 0]
        if len(at):
            xs = np.insert(xs, at, xs[at])  # x stays ordered; the NaN y is the break
            ys = np.insert(ys, at, np.nan)
        return xs, ys


def _merge(
    idx: IntArray, lo: FloatArray, hi: FloatArray, brk: BoolArray
) -> tuple[IntArray, FloatArray, FloatArray, BoolArray]:
    """Combine neighbouring buckets that now share an index.

    A run that starts inside a merged bucket breaks the line before that bucket instead: at this
    width the difference is under a pixel, and merging must shrink the level even when every
    bucket starts a run (a worker that crashes each second).
    """
    if not len(idx):
        return idx, lo, hi, brk
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    merged_brk = np.logical_or.reduceat(brk, starts)
    return idx[starts], np.fmin.reduceat(lo, starts), np.fmax.reduceat(hi, starts), merged_brk


# The windows the plot offers, and the level each reads: (label, seconds or None for all).
WINDOWS: tuple[tuple[str, float | None], ...] = (("Last 10 s", 10.0), ("Last 60 s", 60.0), ("All", None))


class SeriesHistory:
    """One series' points at three resolutions: the last 10 s, the last 60 s, and all of it.

    Every level keeps min/max per bucket of about 1/1000 of its window, so each window shows
    every peak of what it says it shows, in bounded memory, whatever the rate.

    Attributes
    ----------
    last_x : float or None
        The x (seconds) of the newest point appended, kept across ``clear()``.
    total : int
        Points appended since creation or the last ``clear()``.
    """

    def __init__(self) -> None:
        self.levels: dict[float | None, BucketLevel] = {
            seconds: (
                BucketLevel(seconds / BUCKETS_PER_WINDOW, BUCKETS_PER_WINDOW + BUCKETS_PER_WINDOW // 10)
                if seconds is not None
                else BucketLevel(ALL_START_WIDTH_S, ALL_CAPACITY, adaptive=True)
            )
            for _, seconds in WINDOWS
        }
        self.last_x: float | None = None
        self.total = 0
        self._break_next = False

    def break_line(self) -> None:
        """Start a new run: the next points are not joined to the ones before."""
        self._break_next = True

    def extend(self, x: FloatArray, y: FloatArray) -> None:
        """Append points (x non-decreasing, not before ``last_x``); non-finite y become gaps."""
        if not len(x):
            return
        y = np.where(np.isfinite(y), y, np.nan)  # inf can't be drawn; a NaN gap says "not a number here"
        for level in self.levels.values():
            level.extend(x, y, new_run=self._break_next)
        self._break_next = False
        self.last_x = float(x[-1])
        self.total += len(x)

    def level(self, window_s: float | None) -> BucketLevel:
        """Return the level a window of ``window_s`` seconds (None: all) is drawn from."""
        return self.levels[window_s]

    def clear(self) -> None:
        """Drop every point (``last_x`` stays, so the next batch is timed from it)."""
        for level in self.levels.values():
            level.clear()
        self.total = 0
