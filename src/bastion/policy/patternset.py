"""Sets of patterns that may contain policy variables, compiled for matching.

Patterns without variables go into a :class:`GlobSet` once. Patterns with variables keep a
shape fixed at compile time (substituted values are literal, so the wildcards never move):
an exact template is compared after joining, a ``...*`` template with ``startswith``, and
only the rest builds a :class:`Glob` per request. A pattern whose variable has no value
(and no default) matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bastion.policy.glob import Glob, GlobSet, Wild
from bastion.policy.variables import Lookup, Pattern, text_resolver


def _exact(pattern: Pattern, fold: bool) -> Callable[[str, Lookup], bool]:
    resolve = text_resolver(pattern.parts)

    def match(text: str, lookup: Lookup) -> bool:
        value = resolve(lookup)
        if value is None:
            return False
        return (value.lower() if fold else value) == text

    return match


def _prefix(head: Pattern, fold: bool) -> Callable[[str, Lookup], bool]:
    resolve = text_resolver(head.parts)

    def match(text: str, lookup: Lookup) -> bool:
        value = resolve(lookup)
        if value is None:
            return False
        return text.startswith(value.lower() if fold else value)

    return match


def _general(pattern: Pattern, fold: bool) -> Callable[[str, Lookup], bool]:
    def match(text: str, lookup: Lookup) -> bool:
        parts = pattern.resolve(lookup)
        if parts is None:
            return False
        if fold:
            parts = tuple(part.lower() if isinstance(part, str) else part for part in parts)
        return Glob(parts).match(text)

    return match


def compile_template(pattern: Pattern, fold: bool = False) -> Callable[[str, Lookup], bool]:
    """A matcher for one pattern with variables (``fold``: compare lower-cased)."""
    wild = [index for index, token in enumerate(pattern.parts) if isinstance(token, Wild)]
    if not wild:
        return _exact(pattern, fold)
    if wild == [len(pattern.parts) - 1] and pattern.parts[-1] is Wild.STAR:
        return _prefix(Pattern(pattern.parts[:-1]), fold)
    return _general(pattern, fold)


def static_glob(pattern: Pattern, fold: bool = False) -> Glob:
    parts = pattern.resolve(lambda key: None)
    if parts is None:  # pragma: no cover - callers only pass patterns without variables
        raise ValueError("pattern has variables")
    if fold:
        parts = tuple(part.lower() if isinstance(part, str) else part for part in parts)
    return Glob(parts)


class PatternSet:
    """Matches text against any of several patterns (Resource lists, StringLike values)."""

    __slots__ = ("_fold", "_static", "_templates")

    def __init__(self, patterns: Iterable[Pattern], fold: bool = False) -> None:
        static: list[Glob] = []
        templates: list[Callable[[str, Lookup], bool]] = []
        for pattern in patterns:
            if pattern.has_variables:
                templates.append(compile_template(pattern, fold))
            else:
                static.append(static_glob(pattern, fold))
        self._static = GlobSet(static)
        self._templates = tuple(templates)
        self._fold = fold

    @property
    def matches_all(self) -> bool:
        return self._static.matches_all

    def match(self, text: str, lookup: Lookup) -> bool:
        if self._fold:
            text = text.lower()
        if self._static.match(text):
            return True
        for template in self._templates:  # noqa: SIM110 - a plain loop is cheaper than any()/all() on the hot path
            if template(text, lookup):
                return True
        return False
