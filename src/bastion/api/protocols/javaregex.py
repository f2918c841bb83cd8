"""AWS model patterns are Java regular expressions; this compiles them for Python's ``re``.

What differs and is handled:

* ``\\p{..}`` / ``\\P{..}`` (Unicode general categories such as ``L``, ``Lu``, ``Z``; the ASCII POSIX
  classes ``Upper``, ``Digit``, ``Graph``, ``Cntrl``...) become explicit character ranges, built once
  from ``unicodedata``.
* ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII-only in Java, so patterns compile with ``re.ASCII``.
* ``\\z`` (end of input), ``\\Z`` (end before a final newline), ``\\Q..\\E`` quoting, ``\\x{h..h}`` code
  points and ``(?<name>..)`` groups are rewritten to their Python spelling.

Anything else Python cannot express the same way (class unions and intersections ``[a[b]]``,
``[a&&b]``, ``\\R``, ``\\G``, Unicode blocks/scripts ...) makes the pattern untranslatable: the caller then
skips the check (and it is logged once) rather than reject input AWS would accept.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
import warnings
from functools import cache, lru_cache

log = logging.getLogger(__name__)

Ranges = tuple[tuple[int, int], ...]


class UntranslatablePattern(ValueError):
    pass


_POSIX: dict[str, Ranges] = {
    "Lower": ((0x61, 0x7A),),
    "Upper": ((0x41, 0x5A),),
    "ASCII": ((0x00, 0x7F),),
    "Alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "Digit": ((0x30, 0x39),),
    "Alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "Punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "Graph": ((0x21, 0x7E),),
    "Print": ((0x20, 0x7E),),
    "Blank": ((0x09, 0x09), (0x20, 0x20)),
    "Cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "XDigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
    "Space": ((0x09, 0x0D), (0x20, 0x20)),
}
# Java's \h: horizontal whitespace.
_HORIZONTAL_SPACE: Ranges = (
    (0x09, 0x09), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x180E, 0x180E),
    (0x2000, 0x200A), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
)  # fmt: skip


@lru_cache(maxsize=1)
def _category_ranges() -> dict[str, Ranges]:
    """Two-letter general category -> code point ranges (one pass over all code points, done lazily)."""
    collected: dict[str, list[tuple[int, int]]] = {}
    current: str | None = None
    start = 0
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))
        if cat != current:
            if current is not None:
                collected.setdefault(current, []).append((start, cp - 1))
            current, start = cat, cp
    if current is not None:
        collected.setdefault(current, []).append((start, sys.maxunicode))
    return {cat: tuple(ranges) for cat, ranges in collected.items()}


def _merge(ranges: list[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _complement(ranges: Ranges) -> Ranges:
    result: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in ranges:
        if lo > nxt:
            result.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= sys.maxunicode:
        result.append((nxt, sys.maxunicode))
    return tuple(result)


def _property_ranges(name: str) -> Ranges:
    if name in _POSIX:
        return _POSIX[name]
    if name.startswith("Is") and len(name) in (3, 4):
        name = name[2:]
    if name.startswith("general_category="):
        name = name.split("=", 1)[1]
    categories = _category_ranges()
    if len(name) == 1 and name.isupper():
        found = [r for cat, ranges in categories.items() if cat.startswith(name) for r in ranges]
        if found:
            return _merge(found)
    if len(name) == 2 and name in categories:
        return categories[name]
    if name == "Cn":
        return ()
    raise UntranslatablePattern(f"unsupported property \\p{{{name}}}")


def _class_body(ranges: Ranges) -> str:
    return "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)


def _char(cp: int) -> str:
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def translate(pattern: str) -> str:
    """Python ``re`` source equivalent to a Java pattern (compile it with ``re.ASCII``)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    depth = 0  # inside a character class when > 0
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise UntranslatablePattern("trailing backslash")
            nxt = pattern[i + 1]
            if nxt in "pP":
                name, i = _read_property_name(pattern, i + 2)
                ranges = _property_ranges(name)
                if nxt == "P":
                    ranges = _complement(ranges)
                body = _class_body(ranges) if ranges else ""
                if depth:
                    out.append(body)
                else:
                    out.append(f"[{body}]" if body else "(?!)")
                continue
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append("".join(_char(ord(c)) for c in literal) if depth else re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            if nxt == "x" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise UntranslatablePattern("unterminated \\x{")
                out.append(_char(int(pattern[i + 3 : end], 16)))
                i = end + 1
                continue
            if nxt == "h":
                body = _class_body(_HORIZONTAL_SPACE)
                out.append(body if depth else f"[{body}]")
                i += 2
                continue
            if nxt == "z" and not depth:
                out.append(r"\Z")
                i += 2
                continue
            if nxt == "Z" and not depth:
                out.append(r"(?=\n?\Z)")
                i += 2
                continue
            if nxt == "e":
                out.append(r"\x1b")
                i += 2
                continue
            if nxt in "RXGKkHVv" or nxt == "c":
                raise UntranslatablePattern(f"unsupported escape \\{nxt}")
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if depth:
            if ch == "[":
                raise UntranslatablePattern("character class union")
            if ch == "&" and pattern.startswith("&&", i):
                raise UntranslatablePattern("character class intersection")
            if ch == "]":
                depth -= 1
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            depth += 1
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ']' is a literal in both dialects
                out.append(r"\]")
                i += 1
            continue
        if ch == "(" and pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    if depth:
        raise UntranslatablePattern("unterminated character class")
    return "".join(out)


def _read_property_name(pattern: str, i: int) -> tuple[str, int]:
    if i < len(pattern) and pattern[i] == "{":
        end = pattern.find("}", i)
        if end < 0:
            raise UntranslatablePattern("unterminated \\p{")
        return pattern[i + 1 : end], end + 1
    if i < len(pattern):
        return pattern[i], i + 1
    raise UntranslatablePattern("dangling \\p")


@cache
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """The compiled pattern, or ``None`` (logged once) when it cannot be translated faithfully."""
    try:
        source = translate(pattern)
        with warnings.catch_warnings():
            # "Possible nested set" and similar mean Python would read the pattern differently.
            warnings.simplefilter("error")
            return re.compile(source, re.ASCII)
    except (UntranslatablePattern, re.error, FutureWarning, DeprecationWarning, ValueError) as exc:
        log.warning("skipping model pattern %r: %s", pattern, exc)
        return None


def full_match(pattern: str, value: str) -> bool | None:
    """Whether the whole value matches (AWS applies model patterns to the whole value); ``None``: unknown."""
    compiled = compile_pattern(pattern)
    if compiled is None:
        return None
    return compiled.fullmatch(value) is not None
