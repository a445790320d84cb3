"""Finds the line of each key in a TOML text, since tomllib keeps no positions."""

from __future__ import annotations

import re
import tomllib
from typing import Any

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class TomlLocator:
    """Map TOML key paths such as ``("worker", 2, "target")`` to 1-based line numbers.

    tomllib keeps no positions, so this re-scans the text. It only needs to be right for
    documents tomllib accepted, which keeps it small: string contents, comments and the
    inside of multi-line arrays are skipped, headers and ``key =`` lines are recorded.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[Any, ...], int] = {}
        self._arrays: dict[tuple[Any, ...], int] = {}  # array-of-tables path -> count so far
        prefix: tuple[Any, ...] = ()
        in_ml: str | None = None  # the delimiter of the multi-line string we are inside
        depth = 0  # open brackets carried over from earlier lines (multi-line arrays)
        for lineno, line in enumerate(text.split("\n"), start=1):
            if in_ml is None and depth == 0:
                prefix = self._statement(line.strip(), lineno, prefix)
            in_ml, depth = self._advance(line, in_ml, depth)

    def line(self, *path: Any) -> int | None:
        """Return the line of ``path`` or of its nearest recorded ancestor."""
        for n in range(len(path), 0, -1):
            if path[:n] in self._lines:
                return self._lines[path[:n]]
        return None

    def _statement(self, s: str, lineno: int, prefix: tuple[Any, ...]) -> tuple[Any, ...]:
        if s.startswith("["):
            is_array = s.startswith("[[")
            parts = _key_parts(s, 2 if is_array else 1)
            path: tuple[Any, ...] = ()
            for i, part in enumerate(parts):
                path += (part,)
                if is_array and i == len(parts) - 1:
                    self._arrays[path] = self._arrays.get(path, 0) + 1
                    self._lines.setdefault(path, lineno)
                if path in self._arrays:  # a sub-table belongs to the latest element
                    path += (self._arrays[path],)
                self._lines.setdefault(path, lineno)
            return path
        if s and not s.startswith("#"):
            parts = _key_parts(s, 0)
            for n in range(1, len(parts) + 1):
                self._lines.setdefault(prefix + tuple(parts[:n]), lineno)
        return prefix

    @staticmethod
    def _advance(line: str, in_ml: str | None, depth: int) -> tuple[str | None, int]:
        """Carry string and bracket state past ``line``."""
        i = 0
        while i < len(line):
            if in_ml is not None:
                j = i
                while j < len(line) and not line.startswith(in_ml, j):
                    j += 2 if in_ml == '"""' and line[j] == "\\" else 1  # skip escaped char
                if j >= len(line):
                    break
                i = j + 3
                while line[i : i + 1] == in_ml[0]:  # up to two quotes may end the content
                    i += 1
                in_ml = None
                continue
            c = line[i]
            if c == "#":
                break
            if line.startswith(('"""', "'''"), i):
                in_ml, i = line[i : i + 3], i + 3
                continue
            if c in "\"'":
                i = _string_end(line, i)
                continue
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth = max(0, depth - 1)
            i += 1
        return in_ml, depth


def _string_end(s: str, i: int) -> int:
    """Return the index after the one-line string starting at ``s[i]``."""
    j = i + 1
    while j < len(s) and s[j] != s[i]:
        j += 2 if s[i] == '"' and s[j] == "\\" else 1  # only basic strings have escapes
    return j + 1


def _key_parts(s: str, i: int) -> list[str]:
    """Parse the (possibly dotted, possibly quoted) key starting at ``s[i]``."""
    parts: list[str] = []
    while True:
        while s[i : i + 1] in (" ", "\t"):
            i += 1
        if s[i : i + 1] in ('"', "'"):
            end = _string_end(s, i)
            try:  # let tomllib decode the escapes rather than re-implement them
                parts.append(tomllib.loads(f"k = {s[i:end]}")["k"])
            except tomllib.TOMLDecodeError:
                return parts
            i = end
        else:
            m = BARE_KEY.match(s, i)
            if not m:
                return parts
            parts.append(m.group())
            i = m.end()
        while s[i : i + 1] in (" ", "\t"):
            i += 1
        if s[i : i + 1] != ".":
            return parts
        i += 1
