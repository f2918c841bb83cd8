"""Compiled condition entries: one operator applied to one context key.

Semantics (AWS IAM "Condition operators" and "multiple context keys or values"):

* Several values for one key are ORed; a negated operator (``StringNotEquals``,
  ``NotIpAddress``, ``ArnNotLike``...) holds when the value matches *none* of them.
* Key absent: the condition is false, except that negated operators are true,
  ``...IfExists`` is true, ``ForAllValues:`` is true and ``ForAnyValue:`` is false.
  An empty list counts as absent.
* ``ForAnyValue:`` holds if some request value passes, ``ForAllValues:`` if every one does;
  without a qualifier a multi-valued key behaves like ``ForAnyValue:`` for positive
  operators and like "no value matches" for negated ones.
* A request value that cannot be read as the operator's type (``"abc"`` for a Numeric
  operator) does not satisfy the positive comparison, so negated operators hold for it.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from bastion.policy.document import Condition
from bastion.policy.glob import Glob, Wild
from bastion.policy.operators import Family, Operator, Qualifier, Test, parse_operator
from bastion.policy.patternset import PatternSet
from bastion.policy.request import Request
from bastion.policy.values import (
    IpNetwork,
    address_key,
    bool_of,
    bytes_of,
    context_values,
    date_of,
    network_range,
    number_of,
    parse_binary,
    parse_bool,
    parse_date,
    parse_network,
    parse_number,
    text_of,
)
from bastion.policy.variables import Lookup, Pattern

# A matcher answers: does this one request value satisfy the positive comparison against
# any of the policy values?
Matcher = Callable[[object, Lookup], bool]

_MISSING = object()

_ORDER: dict[Test, Callable[[Any, Any], bool]] = {
    Test.EQUALS: op.eq,
    Test.LESS: op.lt,
    Test.LESS_EQUAL: op.le,
    Test.GREATER: op.gt,
    Test.GREATER_EQUAL: op.ge,
}


def _literal(pattern: Pattern) -> str:
    text = pattern.literal()
    return "" if text is None else text


def _string_matcher(test: Test, patterns: Sequence[Pattern]) -> Matcher:
    values = PatternSet(patterns, fold=test is Test.EQUALS_IGNORE_CASE)

    def match(value: object, lookup: Lookup) -> bool:
        text = text_of(value)
        return text is not None and values.match(text, lookup)

    return match


def _ordered_matcher(test: Test, bounds: Sequence[Any], reader: Callable[[object], Any]) -> Matcher:
    compare = _ORDER[test]

    def match(value: object, lookup: Lookup) -> bool:
        reading = reader(value)
        if reading is None:
            return False
        return any(compare(reading, bound) for bound in bounds)

    return match


def _set_matcher(accepted: frozenset[Any], reader: Callable[[object], Any]) -> Matcher:
    def match(value: object, lookup: Lookup) -> bool:
        reading = reader(value)
        return reading is not None and reading in accepted

    return match


def _ip_matcher(networks: Sequence[IpNetwork]) -> Matcher:
    ranges = tuple(network_range(network) for network in networks)

    def match(value: object, lookup: Lookup) -> bool:
        key = address_key(value)
        if key is None:
            return False
        version, number = key
        for range_version, first, last in ranges:
            if version == range_version and first <= number <= last:
                return True
        return False

    return match


_ArnGlobs = tuple[Glob, ...]


def _arn_components(parts: Sequence[str | Wild]) -> _ArnGlobs | None:
    """Split a resolved ARN pattern at its first five colons into six component globs."""
    components: list[list[str | Wild]] = [[]]
    for part in parts:
        if isinstance(part, str):
            pieces = part.split(":", 6 - len(components)) if len(components) < 6 else [part]
            components[-1].append(pieces[0])
            for piece in pieces[1:]:
                components.append([piece])
        else:
            components[-1].append(part)
    if len(components) != 6:
        return None
    return tuple(Glob(component) for component in components)


def _arn_matches(globs: _ArnGlobs, components: Sequence[str]) -> bool:
    return all(glob.match(component) for glob, component in zip(globs, components, strict=True))


def _arn_matcher(patterns: Sequence[Pattern]) -> Matcher:
    static: list[_ArnGlobs] = []
    dynamic: list[Pattern] = []
    for pattern in patterns:
        if pattern.has_variables:
            dynamic.append(pattern)
        else:
            globs = _arn_components(pattern.resolve(lambda key: None) or ())
            if globs is not None:
                static.append(globs)

    def match(value: object, lookup: Lookup) -> bool:
        text = text_of(value)
        if text is None:
            return False
        components = text.split(":", 5)
        if len(components) != 6:
            return False
        for globs in static:
            if _arn_matches(globs, components):
                return True
        for pattern in dynamic:
            parts = pattern.resolve(lookup)
            resolved = None if parts is None else _arn_components(parts)
            if resolved is not None and _arn_matches(resolved, components):
                return True
        return False

    return match


def _matcher(operator: Operator, patterns: Sequence[Pattern]) -> Matcher:
    family = operator.family
    texts = [_literal(pattern) for pattern in patterns]
    if family is Family.STRING:
        return _string_matcher(operator.test, patterns)
    if family is Family.ARN:
        return _arn_matcher(patterns)
    if family is Family.NUMERIC:
        numbers: list[Decimal] = [n for n in map(parse_number, texts) if n is not None]
        return _ordered_matcher(operator.test, numbers, number_of)
    if family is Family.DATE:
        moments = [m for m in map(parse_date, texts) if m is not None]
        return _ordered_matcher(operator.test, moments, date_of)
    if family is Family.BOOL:
        return _set_matcher(frozenset(b for b in map(parse_bool, texts) if b is not None), bool_of)
    if family is Family.BINARY:
        return _set_matcher(frozenset(b for b in map(parse_binary, texts) if b is not None), bytes_of)
    if family is Family.IP:
        return _ip_matcher([n for n in map(parse_network, texts) if n is not None])
    raise ValueError(f"no matcher for {family}")  # pragma: no cover - Null is handled by the caller


class CompiledCondition:
    """One condition entry, ready to test against requests."""

    __slots__ = ("_absent", "_match", "_null_accepts", "_operator", "key")

    def __init__(self, condition: Condition) -> None:
        operator = parse_operator(condition.operator)
        if operator is None:  # pragma: no cover - the parser rejects unknown operators
            raise ValueError(f"unknown operator {condition.operator}")
        self._operator = operator
        self.key = condition.key.lower()
        self._null_accepts: frozenset[bool] = frozenset()
        self._match: Matcher | None = None
        if operator.family is Family.NULL:
            # "Null": true means the key must be absent, false that it must be present.
            self._null_accepts = frozenset(
                b for b in (parse_bool(_literal(v)) for v in condition.values) if b is not None
            )
        else:
            self._match = _matcher(operator, condition.values)
        if operator.if_exists or operator.qualifier is Qualifier.FOR_ALL_VALUES:
            self._absent = True
        elif operator.qualifier is Qualifier.FOR_ANY_VALUE:
            self._absent = False
        else:
            self._absent = operator.negated

    def holds(self, request: Request) -> bool:
        raw = request.get(self.key, _MISSING)
        values = () if raw is _MISSING or raw is None else context_values(raw)
        if self._match is None:
            return (not values) in self._null_accepts
        if not values:
            return self._absent
        match = self._match
        lookup = request.variable
        operator = self._operator
        if len(values) == 1:
            # With one value every qualifier reduces to "matches, or for negated operators
            # does not match".
            return match(values[0], lookup) is not operator.negated
        if operator.qualifier is Qualifier.FOR_ALL_VALUES:
            if operator.negated:
                return not any(match(value, lookup) for value in values)
            return all(match(value, lookup) for value in values)
        if operator.qualifier is Qualifier.FOR_ANY_VALUE and operator.negated:
            return not all(match(value, lookup) for value in values)
        hit = any(match(value, lookup) for value in values)
        return not hit if operator.negated else hit


def compile_conditions(conditions: Sequence[Condition]) -> tuple[CompiledCondition, ...]:
    return tuple(CompiledCondition(condition) for condition in conditions)
