"""Text from workers made safe: bounded, never-raising item text, exact digits of any int, valid Unicode lines."""

from __future__ import annotations

import decimal
import reprlib
from typing import Any


class _BoundedRepr(reprlib.Repr):
    """reprlib's bounded repr, bounded for bytes too: reprlib makes their whole repr, then cuts it
    (a 50 MB item: 0.5 s of the GUI thread, for 200 characters)."""

    def repr_bytes(self, x: bytes, level: int) -> str:
        return self._cut_bytes(x[: self.maxother], len(x))

    def repr_bytearray(self, x: bytearray, level: int) -> str:
        return f"bytearray({self._cut_bytes(bytes(x[: self.maxother]), len(x))})"

    def repr_memoryview(self, x: memoryview, level: int) -> str:
        return f"<memoryview of {x.nbytes} bytes>"

    def _cut_bytes(self, head: bytes, size: int) -> str:
        if size <= self.maxother // 4:
            return repr(head)
        return repr(head[: self.maxother // 8]) + f"… ({size:,} bytes)"  # \xNN: 4 characters a byte


_repr = _BoundedRepr()
_repr.maxlevel = 3
_repr.maxtuple = _repr.maxlist = _repr.maxarray = _repr.maxdict = _repr.maxset = _repr.maxfrozenset = 12
_repr.maxdeque = 12
_repr.maxstring = _repr.maxlong = _repr.maxother = 200
# Ints beyond Python's int-to-text limit are converted in about n log n steps up to this size
# (1.26 million digits, a tenth of a second); larger ones go in hex: exact, in linear time.
MAX_DECIMAL_BITS = 1 << 22


def item_text(item: Any, limit: int = 200) -> str:
    """Return a one-line text of ``item`` of at most ``limit`` characters, cut with an ellipsis.

    Strings are shown as they are, anything else by a bounded ``repr`` (containers show their
    first dozen elements, three levels deep), so a huge item costs no more than a small one. A
    ``__repr__`` that raises gives ``<Type: repr raised Error>`` instead of an exception.
    """
    if isinstance(item, str):
        text = item[: limit + 1]
    else:
        try:
            text = _repr.repr(item)
        except Exception as exc:  # reprlib guards instances, not every path (e.g. a broken __len__)
            text = f"<{type(item).__name__}: repr raised {type(exc).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def int_text(n: int) -> str:
    """Return the exact decimal text of ``n``, whatever its size (beyond `MAX_DECIMAL_BITS` bits: hex, ``0x...``).

    Python refuses ``str(n)`` beyond 4300 digits, since its quadratic conversion could take
    minutes. The process-wide limit is left alone: the digits come from the divide-and-conquer
    conversion of CPython 3.12's ``_pylong``, in a decimal context local to this call.
    """
    try:
        return int.__repr__(n)
    except ValueError:
        pass
    if n.bit_length() > MAX_DECIMAL_BITS:
        return hex(n)  # power-of-two bases have no limit
    powers: dict[int, decimal.Decimal] = {}

    def power(w: int) -> decimal.Decimal:  # 2**w, each size computed once
        if w not in powers:
            half = w >> 1
            powers[w] = decimal.Decimal(2) ** w if w <= 128 else power(half) * power(w - half)
        return powers[w]

    def convert(m: int, w: int) -> decimal.Decimal:  # m < 2**w
        if w <= 128:
            return decimal.Decimal(m)
        half = w >> 1
        high = m >> half
        return convert(m - (high << half), half) + convert(high, w - half) * power(half)

    with decimal.localcontext() as ctx:
        ctx.prec, ctx.Emax, ctx.Emin = decimal.MAX_PREC, decimal.MAX_EMAX, decimal.MIN_EMIN
        ctx.traps[decimal.Inexact] = True
        digits = str(convert(abs(n), n.bit_length()))
    return "-" + digits if n < 0 else digits


def valid_text(text: str) -> str:
    """Return ``text`` as valid Unicode: lone surrogates become escapes.

    A worker's text may hold them (a non-UTF-8 file name through ``os.fsdecode``), and they
    break every UTF-8 writer downstream (log files, JSON, the window). The bytes that
    ``surrogateescape`` smuggled in read back as ``\\xe9``; any other lone surrogate as ``\\udc..``.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
