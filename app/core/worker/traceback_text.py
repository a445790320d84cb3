"""Tracebacks as Python prints them, formatted at a bounded cost however deep the stack that raised them."""

from __future__ import annotations

import traceback
import types
from collections.abc import Callable, Iterator

# Frames kept of a deeper traceback: the outermost (how the producer got there) and the
# innermost (where it failed), the middle left out with a note. Repeated lines are folded as
# Python's printer does. Every frame kept costs a source line and its positions; a recursion
# 10**6 deep took ~20 s to extract whole, the walk alone takes ~0.1 s.
OUTER_FRAMES = 50
INNER_FRAMES = 100


def format_exception(exc: BaseException, hide: Callable[[str], bool] = lambda filename: False) -> str:
    """Return the text Python prints for ``exc`` and its chained exceptions, without frames of files ``hide`` names.

    A traceback deeper than ``OUTER_FRAMES + INNER_FRAMES`` shows its outermost and innermost
    frames and a line in place of the others, so the cost is bounded whatever the depth.
    """
    chain = list(_chain(exc))
    saved = [(e, e.__traceback__) for e in chain]
    notes: dict[int, str] = {}
    try:
        for e, tb in saved:  # shortened in place for the formatting only, restored after
            short, notes[id(e)] = _shortened(tb)
            e.__traceback__ = short
        te = traceback.TracebackException.from_exception(exc)
    finally:
        for e, tb in saved:
            e.__traceback__ = tb
    _fit_stacks(te, exc, notes, hide)
    return "".join(te.format())


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield ``exc`` and every exception it chains (causes, contexts, a group's members), once each."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        e = pending.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        pending.extend(x for x in (e.__cause__, e.__context__) if x is not None)
        if isinstance(e, BaseExceptionGroup):
            pending.extend(e.exceptions)


def _shortened(tb: types.TracebackType | None) -> tuple[types.TracebackType | None, str]:
    """Return ``tb`` without the middle of a deep stack, and a note on what was left out ("": nothing)."""
    depth, entry = 0, tb
    while entry is not None:
        depth += 1
        entry = entry.tb_next
    left_out = depth - OUTER_FRAMES - INNER_FRAMES
    if tb is None or left_out <= 0:
        return tb, ""
    outer, entry = [], tb
    for _ in range(OUTER_FRAMES):
        assert entry is not None
        outer.append(entry)
        entry = entry.tb_next
    codes = set()
    for _ in range(left_out):
        assert entry is not None
        codes.add(entry.tb_frame.f_code)
        entry = entry.tb_next
    # New entries for the outermost frames, the last linked to the first of the innermost.
    for kept in reversed(outer):
        entry = types.TracebackType(entry, kept.tb_frame, kept.tb_lasti, kept.tb_lineno)
    what = f"calls of {next(iter(codes)).co_qualname}" if len(codes) == 1 else "frames"
    return entry, f"  [... {left_out} more {what} not shown ...]\n"


def _fit_stacks(
    te: traceback.TracebackException, exc: BaseException, notes: dict[int, str], hide: Callable[[str], bool]
) -> None:
    """Give each formatted exception of the chain its stack without hidden frames, a note at its gap."""
    pending: list[tuple[traceback.TracebackException, BaseException]] = [(te, exc)]
    done: set[int] = set()
    while pending:
        t, e = pending.pop()
        if id(t) in done:
            continue
        done.add(id(t))
        note = notes.get(id(e), "")
        frames = list(t.stack)
        outer, inner = (frames[:OUTER_FRAMES], frames[OUTER_FRAMES:]) if note else (frames, [])
        t.stack = _Stack([f for f in outer if not hide(f.filename)], note, [f for f in inner if not hide(f.filename)])
        # TracebackException made these from the same exceptions (see its __init__).
        if t.__cause__ is not None and e.__cause__ is not None:
            pending.append((t.__cause__, e.__cause__))
        if t.__context__ is not None and e.__context__ is not None:
            pending.append((t.__context__, e.__context__))
        if t.exceptions and isinstance(e, BaseExceptionGroup):
            pending.extend(zip(t.exceptions, e.exceptions, strict=False))


class _Gap(traceback.FrameSummary):
    """Where the frames left out were: a line of its own in the formatted stack."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        super().__init__("<frames left out>", None, "", lookup_line=False, line="")
        self.text = text


class _Stack(traceback.StackSummary):
    """A stack whose middle may be a `_Gap`."""

    def __init__(self, outer: list[traceback.FrameSummary], note: str, inner: list[traceback.FrameSummary]) -> None:
        super().__init__([*outer, _Gap(note), *inner] if note else outer)

    def format_frame_summary(self, frame_summary: traceback.FrameSummary) -> str:
        """Return the lines for one frame, or the note for the gap."""
        if isinstance(frame_summary, _Gap):
            return frame_summary.text
        return super().format_frame_summary(frame_summary)
