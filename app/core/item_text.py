"""Text from workers made safe: bounded, never-raising item text, and valid Unicode for their lines."""

from __future__ import annotations

import reprlib
from typing import Any

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxtuple = _repr.maxlist = _repr.maxarray = _repr.maxdict = _repr.maxset = _repr.maxfrozenset = 12
_repr.maxdeque = 12
_repr.maxstring = _repr.maxlong = _repr.maxother = 200


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
