"""IAM wildcard matching: ``*`` matches any run of characters (including none and ``/``),
``?`` matches exactly one character, and every other character is literal.

MQTT's ``+`` and ``#`` are ordinary characters here, as AWS IoT documents for policy
resources. No regular expression is ever built from policy text: a pattern is split at its
``*`` wildcards into chunks, the first chunk is anchored at the start, the last at the end,
and each middle chunk is found at its leftmost position with ``str.find``. Leftmost
placement is always safe because a ``*`` can absorb whatever a later placement would have
skipped, so there is no backtracking and no exponential case; the worst case is
O(len(pattern) * len(text)) inside ``str.find``.

A pattern is a sequence of parts: ``str`` (literal text, even if it contains ``*`` or ``?``,
which is how ``${*}`` and substituted variable values stay literal) and :class:`Wild`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence


class Wild(enum.Enum):
    """A wildcard inside a pattern."""

    STAR = "*"
    ONE = "?"


Part = str | Wild

# A chunk is the text between two stars: (length, ((offset, literal), ...)); the gaps
# between the literal pieces are single-character wildcards.
_Chunk = tuple[int, tuple[tuple[int, str], ...]]


def parse_wildcards(text: str) -> tuple[Part, ...]:
    """Split raw policy text into literal runs and wildcards."""
    parts: list[Part] = []
    start = 0
    for index, char in enumerate(text):
        if char == "*" or char == "?":
            if index > start:
                parts.append(text[start:index])
            parts.append(Wild.STAR if char == "*" else Wild.ONE)
            start = index + 1
    if start < len(text):
        parts.append(text[start:])
    return normalize(parts)


def normalize(parts: Iterable[Part]) -> tuple[Part, ...]:
    """Merge adjacent literal runs, drop empty ones and collapse runs of stars.

    ``a**b`` and ``a*b`` match the same strings, so they get the same normal form; this
    keeps equality of parsed documents semantic rather than textual.
    """
    out: list[Part] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + part
                continue
        elif part is Wild.STAR and out and out[-1] is Wild.STAR:
            continue
        out.append(part)
    return tuple(out)


def _chunk(parts: Sequence[Part]) -> _Chunk:
    pieces: list[tuple[int, str]] = []
    offset = 0
    for part in parts:
        if isinstance(part, str):
            pieces.append((offset, part))
            offset += len(part)
        else:
            offset += 1
    return offset, tuple(pieces)


def _at(chunk: _Chunk, text: str, position: int) -> bool:
    for offset, literal in chunk[1]:  # noqa: SIM110 - a plain loop is cheaper than any()/all() on the hot path
        if not text.startswith(literal, position + offset):
            return False
    return True


def _find(chunk: _Chunk, text: str, start: int, end: int) -> int:
    """Leftmost position >= start where ``chunk`` matches and ends at or before ``end``."""
    length, pieces = chunk
    last = end - length
    if last < start:
        return -1
    if not pieces:
        return start
    first_offset, first = pieces[0]
    stop = last + first_offset + len(first)
    found = text.find(first, start + first_offset, stop)
    while found >= 0:
        position = found - first_offset
        if _at(chunk, text, position):
            return position
        found = text.find(first, found + 1, stop)
    return -1


class Glob:
    """A compiled wildcard pattern.

    ``exact`` is set when the pattern has no wildcard, ``prefix`` when its only wildcard is
    one trailing ``*``, and ``matches_all`` when it is nothing but stars: callers use these to
    file patterns into sets and prefix tuples and skip the general matcher.
    """

    __slots__ = ("_head", "_middle", "_min_length", "_starred", "_tail", "exact", "matches_all", "prefix")

    def __init__(self, parts: Sequence[Part]) -> None:
        parts = normalize(parts)
        chunks: list[list[Part]] = [[]]
        for part in parts:
            if part is Wild.STAR:
                chunks.append([])
            else:
                chunks[-1].append(part)
        self._starred = len(chunks) > 1
        compiled = [_chunk(chunk) for chunk in chunks]
        self._head = compiled[0]
        self._tail = compiled[-1] if self._starred else (0, ())
        self._middle = tuple(compiled[1:-1])
        self._min_length = sum(chunk[0] for chunk in compiled)
        literals = [part for part in parts if isinstance(part, str)]
        self.exact: str | None = "".join(literals) if len(literals) == len(parts) else None
        self.matches_all = parts == (Wild.STAR,)
        self.prefix: str | None = None
        if literals and parts[-1] is Wild.STAR and len(literals) == len(parts) - 1:
            self.prefix = literals[0]

    @classmethod
    def from_text(cls, text: str) -> Glob:
        """Compile raw text in which every ``*`` and ``?`` is a wildcard."""
        return cls(parse_wildcards(text))

    def match(self, text: str) -> bool:
        """Whether the whole of ``text`` matches the pattern."""
        length = len(text)
        if length < self._min_length:
            return False
        head = self._head
        if not self._starred:
            return length == head[0] and _at(head, text, 0)
        if not _at(head, text, 0):
            return False
        end = length - self._tail[0]
        if not _at(self._tail, text, end):
            return False
        position = head[0]
        for chunk in self._middle:
            found = _find(chunk, text, position, end)
            if found < 0:
                return False
            position = found + chunk[0]
        return True


def glob_match(pattern: str, text: str) -> bool:
    """Match ``text`` against raw pattern text (convenience for tests and one-off checks)."""
    return Glob.from_text(pattern).match(text)


class GlobSet:
    """Many patterns matched as one: exact strings in a set, ``literal*`` patterns as one
    ``str.startswith`` over a tuple, and only the rest through :meth:`Glob.match`."""

    __slots__ = ("exact", "globs", "matches_all", "prefixes")

    def __init__(self, globs: Iterable[Glob]) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        general: list[Glob] = []
        self.matches_all = False
        for glob in globs:
            if glob.matches_all:
                self.matches_all = True
            elif glob.exact is not None:
                exact.add(glob.exact)
            elif glob.prefix is not None:
                prefixes.append(glob.prefix)
            else:
                general.append(glob)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)
        self.globs = tuple(general)

    def __bool__(self) -> bool:
        return self.matches_all or bool(self.exact or self.prefixes or self.globs)

    def match(self, text: str) -> bool:
        if self.matches_all or text in self.exact or text.startswith(self.prefixes):
            return True
        for glob in self.globs:  # noqa: SIM110 - a plain loop is cheaper than any()/all() on the hot path
            if glob.match(text):
                return True
        return False
