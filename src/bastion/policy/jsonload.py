"""Strict JSON loading for policy text.

Stricter than :func:`json.loads` where a policy needs it: duplicate keys are refused (AWS:
"Individual elements must not contain multiple instances of the same key"; two parsers
picking different duplicates is also how policy bypasses happen), ``NaN``/``Infinity`` are
refused, numbers are kept as their written text (so ``10`` renders back as ``10`` and a
4,000-digit integer costs nothing), and unpaired surrogates are refused. Failures are
returned as findings; nothing raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bastion.policy.findings import FindingSink, quote


@dataclass(frozen=True)
class JsonNumber:
    """A JSON number, as written."""

    text: str


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _ConstantError(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise _ConstantError(name)


def _has_lone_surrogate(value: Any) -> bool:
    # Iterative on purpose: json.loads accepts nesting deep enough to exhaust Python recursion.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


MISSING = object()


def load(text: str, sink: FindingSink) -> Any:
    """Parse ``text``; on failure add a finding and return :data:`MISSING`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        sink.add("INVALID_STRING")
        return MISSING
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=JsonNumber,
            parse_float=JsonNumber,
            parse_constant=_constant,
        )
    except _DuplicateKeyError as exc:
        sink.add("DUPLICATE_KEY", key=quote(exc.key))
        return MISSING
    except _ConstantError as exc:
        sink.add("INVALID_JSON", detail=f"{exc} is not a JSON value")
        return MISSING
    except json.JSONDecodeError as exc:
        sink.add("INVALID_JSON", detail=f"{exc.msg} at line {exc.lineno} column {exc.colno}")
        return MISSING
    except RecursionError:
        sink.add("INVALID_JSON", detail="nested too deeply")
        return MISSING
    if "\\u" in text and _has_lone_surrogate(value):
        sink.add("INVALID_STRING")
        return MISSING
    return value
