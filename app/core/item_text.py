"""Short, bounded, never-raising text for any item a worker sent (a 1 M-element list, a broken __repr__)."""

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
