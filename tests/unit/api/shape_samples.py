"""Sample values generated from botocore shapes: the inputs and outputs of the round-trip tests.

``minimal`` fills required members only; ``full`` fills every member down to a depth limit, with strings
chosen to stress encodings (spaces, ``/``, ``&``, ``<``, non-ASCII) wherever the model allows them.
Strings with a model pattern are generated from the pattern itself (a small walker over Python's parsed
regex, retried with a seeded random until the whole string matches), so generated input is valid input.
"""

from __future__ import annotations

import random
import re
import zlib
from datetime import UTC, datetime
from functools import cache
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

from bastion.api.protocols.javaregex import compile_pattern, translate

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
TRICKY = "a b/c&d<é>"  # survives every location except headers
HEADER_SAFE = "a b/c&d<e>"
_ALPHABET = "abcxyzABCXYZ0123456789-_.:/@+= ,é"


class Unsatisfiable(Exception):
    pass


@cache
def string_for(pattern: str | None, low: int, high: int | None, tricky: str) -> str:
    if pattern is None:
        base = tricky
        if len(base) < low:
            base = base + "x" * (low - len(base))
        return base if high is None else base[:high]
    compiled = compile_pattern(pattern)
    if compiled is None:
        raise Unsatisfiable(pattern)
    parsed = _parser.parse(translate(pattern), re.ASCII)
    rng = random.Random(zlib.crc32(pattern.encode()))
    for attempt in range(400):
        want = max(low, 1) + (attempt % 7)
        text = _emit(parsed, rng, want)
        if compiled.fullmatch(text) and len(text) >= low and (high is None or len(text) <= high):
            return text
    raise Unsatisfiable(pattern)


def _emit(items: Any, rng: random.Random, want: int) -> str:
    out: list[str] = []
    for op, arg in items:
        out.append(_emit_one(op, arg, rng, want))
    return "".join(out)


def _emit_one(op: Any, arg: Any, rng: random.Random, want: int) -> str:
    if op is C.LITERAL:
        return chr(arg)
    if op is C.NOT_LITERAL:
        return "b" if chr(arg) == "a" else "a"
    if op is C.ANY:
        return rng.choice("ab1")
    if op is C.IN:
        return _pick_from_class(arg, rng)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        low, high, body = arg
        top = low + max(want, 2) if high is C.MAXREPEAT else high
        count = rng.randint(low, max(low, min(top, low + want + 2)))
        return "".join(_emit(body, rng, 1) for _ in range(count))
    if op is C.SUBPATTERN:
        return _emit(arg[-1], rng, want)
    if op is getattr(C, "ATOMIC_GROUP", None):
        return _emit(arg, rng, want)
    if op is C.BRANCH:
        return _emit(rng.choice(arg[1]), rng, want)
    return ""  # anchors and lookarounds: the final full-match check decides


_CLASS_MEMO: dict[int, tuple[Any, list[str]]] = {}


def _pick_from_class(items: Any, rng: random.Random) -> str:
    memo = _CLASS_MEMO.get(id(items))
    if memo is not None and memo[0] is items:
        candidates = memo[1]
        if candidates:
            return rng.choice(candidates)
    negate = bool(items) and items[0][0] is C.NEGATE
    body = items[1:] if negate else items

    def inside(ch: str) -> bool:
        code = ord(ch)
        for op, arg in body:
            if op is C.LITERAL and code == arg:
                return True
            if op is C.RANGE and arg[0] <= code <= arg[1]:
                return True
            if op is C.CATEGORY and re.fullmatch(_CATEGORY_RE.get(arg, "(?!)"), ch, re.ASCII):
                return True
        return False

    candidates = [ch for ch in _ALPHABET if inside(ch) != negate]
    _CLASS_MEMO[id(items)] = (items, candidates)
    if not candidates:
        for op, arg in body:
            if op is C.RANGE and not negate:
                return chr(rng.randint(arg[0], min(arg[1], arg[0] + 20)))
            if op is C.LITERAL and not negate:
                return chr(arg)
        return "a"
    return rng.choice(candidates)


_CATEGORY_RE = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


class Samples:
    """Builds a params/output dict for a structure shape."""

    def __init__(self, *, full: bool, max_depth: int = 4, output: bool = False) -> None:
        self.full = full
        self.max_depth = max_depth
        self.output = output

    def structure(self, shape: Any, depth: int = 0) -> dict[str, Any]:
        if shape.is_document_type:
            return {"doc": [1, "two", {"three": True}]}
        result: dict[str, Any] = {}
        required = set(shape.required_members)
        names = list(shape.members)
        if getattr(shape, "is_tagged_union", False) and names:
            names = names[:1]
        for name in names:
            if name not in required and not (self.full and depth < self.max_depth):
                continue
            member = shape.members[name]
            if member.serialization.get("eventstream"):
                continue
            if self.output and name == shape.serialization.get("payload") and member.type_name == "blob":
                # botocore's parser hands a raw payload back as text, so keep it UTF-8.
                result[name] = b'{"state":{"reported":{"on":true}}}'
                continue
            value = self.value(member, depth + 1)
            if value is not None:
                result[name] = value
        if not result and names and depth > 0:
            # An empty nested structure is not sent at all; give it one member so it exists on the wire.
            result[names[0]] = self.value(shape.members[names[0]], depth + 1)
        return result

    def value(self, shape: Any, depth: int) -> Any:
        kind = shape.type_name
        location = shape.serialization.get("location")
        meta = shape.metadata
        if shape.serialization.get("jsonvalue"):
            return [{"key": "value"}]
        if location == "statusCode":
            return 200
        if kind == "structure":
            return self.structure(shape, depth)
        if kind == "list":
            count = max(meta.get("min", 1), 1)
            items = [self.value(shape.member, depth + 1) for _ in range(count)]
            return [item for item in items if item is not None]
        if kind == "map":
            if location == "headers":
                return {"meta-one": "v1"}
            count = max(meta.get("min", 1), 1)
            result: dict[str, Any] = {}
            for index in range(count):
                key = self._string(shape.key, HEADER_SAFE) + ("" if index == 0 else str(index))
                item = self.value(shape.value, depth + 1)
                if item is not None:
                    result[key] = item
            return result
        if kind == "string":
            return self._string(shape, HEADER_SAFE if location == "header" else TRICKY)
        if kind in ("integer", "long"):
            low = meta.get("min")
            high = meta.get("max")
            number = 7 if low is None else int(low)
            if low is None and high is not None:
                number = min(number, int(high))
            return number
        if kind in ("float", "double"):
            low = meta.get("min")
            return 1.5 if low is None else float(low) + 0.5
        if kind == "boolean":
            return self.full
        if kind == "timestamp":
            return WHEN
        if kind == "blob":
            low = max(int(meta.get("min", 1)), 1)
            data = b"\x00\xffbin\x01" * (low // 6 + 1)
            return data[: int(meta["max"])] if "max" in meta else data
        return None

    def _string(self, shape: Any, tricky: str) -> str:
        enum = shape.enum if hasattr(shape, "enum") else []
        if enum:
            return str(enum[-1] if self.full else enum[0])
        meta = shape.metadata
        return string_for(meta.get("pattern"), int(meta.get("min", 0)), meta.get("max"), tricky)
