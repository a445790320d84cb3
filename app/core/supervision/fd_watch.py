"""A set of pipes and process sentinels to block on, kept between waits instead of rebuilt."""

from __future__ import annotations

import select
from collections.abc import Mapping
from multiprocessing.connection import wait as _mp_wait
from typing import Any

_HAVE_POLL = hasattr(select, "poll")  # not on Windows: there, sentinels are handles
_HAVE_EPOLL = hasattr(select, "epoll")  # Linux


_MAX_WAIT_S = 86_400.0


class FdWatch:
    """Blocks until any watched object is readable; returns the tokens of the ready ones.

    ``multiprocessing.connection.wait`` builds a selector and registers every object on each
    call: ~40 µs for 17 objects, ~330 µs for 129, paid on every wake-up of the consumer. Here
    the watched set lives in one epoll object (``poll`` where there is none) and only its changes
    are applied. With epoll a wake-up costs the same whatever the number of workers: the kernel
    hands back the ready descriptors only, where ``poll`` scans every one of them on each call
    (400 workers: 1 600 descriptors, most of the supervisor's CPU).

    epoll watches an open file, not a number: a descriptor closed while still registered stays
    registered as long as another copy of it lives (a forked child's), and would report events
    under a number now used by another pipe. So a descriptor is unregistered with `forget`
    before it is closed; and should an unknown number ever report, the epoll object is rebuilt.

    Used by one thread (the supervisor's polling thread).
    """

    def __init__(self) -> None:
        self._poll: Any = _new_poller()
        self._watched: dict[Any, tuple[Any, Any]] = {}  # fd (or object) -> (object, token)

    def set(self, wanted: Mapping[Any, Any]) -> None:
        """Watch exactly ``wanted``: ``{waitable: token}``, a waitable being a connection or an fd.

        Each token must be an object that lives as long as its waitable (the connection itself,
        the process a sentinel belongs to): a waitable whose token is a new object replaces the
        old one, even when a new pipe reuses a closed one's number. Waitables must be open
        when this is called; one closed before the next call that no longer lists it must be
        `forget`-ten first.
        """
        current = {_key(obj, token): (obj, token) for obj, token in wanted.items()}
        for key, (_obj, token) in list(self._watched.items()):
            kept = current.get(key)
            if kept is None or kept[1] is not token:
                self.forget(key)
        for key, entry in current.items():
            if key not in self._watched:
                self._watched[key] = entry
                if self._poll is not None:
                    self._poll.register(key, select.POLLIN)

    def forget(self, fd: Any) -> None:
        """Stop watching ``fd`` (a number; call before closing it); a no-op if it is not watched."""
        if self._watched.pop(fd, None) is not None and self._poll is not None:
            try:
                self._poll.unregister(fd)
            except (OSError, KeyError, ValueError):  # closed already (or the epoll itself), or never there
                pass

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
        if _HAVE_EPOLL:
            events = self._poll.poll(-1 if timeout is None else max(0.0, timeout))
        else:
            events = self._poll.poll(None if timeout is None else max(0.0, timeout * 1000.0))
        watched = self._watched
        tokens = []
        for fd, _mask in events:
            entry = watched.get(fd)
            if entry is None:  # a stale registration: a closed descriptor whose copy lives elsewhere
                self._rebuild()
                continue
            tokens.append(entry[1])
        return tokens

    def close(self) -> None:
        """Release the epoll descriptor (the watch is not used again)."""
        if _HAVE_EPOLL and self._poll is not None:
            self._poll.close()
        self._watched.clear()

    def _rebuild(self) -> None:
        if _HAVE_EPOLL:
            self._poll.close()
        self._poll = _new_poller()
        for key in self._watched:
            self._poll.register(key, select.POLLIN)

    def __len__(self) -> int:
        return len(self._watched)


def _new_poller() -> Any:
    if _HAVE_EPOLL:
        return select.epoll()
    return select.poll() if _HAVE_POLL else None


def _key(obj: Any, token: Any) -> Any:
    if not _HAVE_POLL:
        return id(token)
    return obj if isinstance(obj, int) else obj.fileno()
