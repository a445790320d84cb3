"""A set of pipes and process sentinels to block on, kept between waits instead of rebuilt."""

from __future__ import annotations

import select
from collections.abc import Mapping
from multiprocessing.connection import wait as _mp_wait
from typing import Any

_HAVE_POLL = hasattr(select, "poll")  # not on Windows: there, sentinels are handles


_MAX_WAIT_S = 86_400.0


class FdWatch:
    """Blocks until any watched object is readable; returns the tokens of the ready ones.

    ``multiprocessing.connection.wait`` builds a selector and registers every object on each
    call: ~40 µs for 17 objects, ~330 µs for 129, paid on every wake-up of the consumer. Here
    the watched set lives in one ``select.poll`` object and only its changes are applied, so a
    wake-up costs a few microseconds whatever the number of workers. Plain ``poll`` rather than
    epoll: a closed descriptor can never report stale events, even if a forked child still
    holds a copy of it.

    Used by one thread (the supervisor's polling thread).
    """

    def __init__(self) -> None:
        self._poll = select.poll() if _HAVE_POLL else None
        self._watched: dict[Any, tuple[Any, Any]] = {}  # fd (or object) -> (object, token)

    def set(self, wanted: Mapping[Any, Any]) -> None:
        """Watch exactly ``wanted``: ``{waitable: token}``, a waitable being a connection or an fd.

        Each token must be an object that lives as long as its waitable (the connection itself,
        the process a sentinel belongs to): a waitable whose token is a new object replaces the
        old one, even when a new pipe reuses a closed one's number. Waitables must be open
        when this is called, and closed only after the next call that no longer lists them.
        """
        current = {_key(obj, token): (obj, token) for obj, token in wanted.items()}
        for key, (_obj, token) in list(self._watched.items()):
            kept = current.get(key)
            if kept is None or kept[1] is not token:
                del self._watched[key]
                if self._poll is not None:
                    self._poll.unregister(key)
        for key, entry in current.items():
            if key not in self._watched:
                self._watched[key] = entry
                if self._poll is not None:
                    self._poll.register(key, select.POLLIN)

    def wait(self, timeout: float | None) -> list[Any]:
        """Block up to ``timeout`` seconds (None: for ever); return the ready objects' tokens.

        A wait longer than a day is cut to a day (the caller loops): poll() takes at most
        2**31 - 1 ms, and a longer timeout would raise OverflowError.
        """
        if timeout is not None:
            timeout = min(timeout, _MAX_WAIT_S)
        if self._poll is None:
            objects = [obj for obj, _token in self._watched.values()]
            ready = _mp_wait(objects, timeout)
            by_obj = {id(obj): token for obj, token in self._watched.values()}
            return [by_obj[id(obj)] for obj in ready]
        ms = None if timeout is None else max(0.0, timeout * 1000.0)
        watched = self._watched
        return [watched[fd][1] for fd, _mask in self._poll.poll(ms)]

    def __len__(self) -> int:
        return len(self._watched)


def _key(obj: Any, token: Any) -> Any:
    if not _HAVE_POLL:
        return id(token)
    return obj if isinstance(obj, int) else obj.fileno()
