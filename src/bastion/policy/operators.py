"""The condition operator catalogue and the parsing of operator names.

An operator name is ``[ForAnyValue:|ForAllValues:]<base>[IfExists]``. Names are matched
case-insensitively and keep their written spelling in the document; :attr:`Operator.name`
is the canonical spelling.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache


class Family(enum.Enum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


class Test(enum.Enum):
    """The positive comparison an operator makes; negated operators invert it."""

    EQUALS = "equals"
    EQUALS_IGNORE_CASE = "equals-ignore-case"
    LIKE = "like"
    LESS = "less"
    LESS_EQUAL = "less-equal"
    GREATER = "greater"
    GREATER_EQUAL = "greater-equal"
    IN_RANGE = "in-range"
    IS_ABSENT = "is-absent"


class Qualifier(enum.Enum):
    FOR_ANY_VALUE = "ForAnyValue"
    FOR_ALL_VALUES = "ForAllValues"


@dataclass(frozen=True)
class _Base:
    name: str
    family: Family
    test: Test
    negated: bool = False


def _comparisons(family: Family) -> list[_Base]:
    prefix = family.value
    return [
        _Base(f"{prefix}Equals", family, Test.EQUALS),
        _Base(f"{prefix}NotEquals", family, Test.EQUALS, negated=True),
        _Base(f"{prefix}LessThan", family, Test.LESS),
        _Base(f"{prefix}LessThanEquals", family, Test.LESS_EQUAL),
        _Base(f"{prefix}GreaterThan", family, Test.GREATER),
        _Base(f"{prefix}GreaterThanEquals", family, Test.GREATER_EQUAL),
    ]


_BASE_LIST: list[_Base] = [
    _Base("StringEquals", Family.STRING, Test.EQUALS),
    _Base("StringNotEquals", Family.STRING, Test.EQUALS, negated=True),
    _Base("StringEqualsIgnoreCase", Family.STRING, Test.EQUALS_IGNORE_CASE),
    _Base("StringNotEqualsIgnoreCase", Family.STRING, Test.EQUALS_IGNORE_CASE, negated=True),
    _Base("StringLike", Family.STRING, Test.LIKE),
    _Base("StringNotLike", Family.STRING, Test.LIKE, negated=True),
    *_comparisons(Family.NUMERIC),
    *_comparisons(Family.DATE),
    _Base("Bool", Family.BOOL, Test.EQUALS),
    _Base("BinaryEquals", Family.BINARY, Test.EQUALS),
    _Base("IpAddress", Family.IP, Test.IN_RANGE),
    _Base("NotIpAddress", Family.IP, Test.IN_RANGE, negated=True),
    # AWS documents ArnEquals/ArnLike (and their negations) as behaving identically.
    _Base("ArnEquals", Family.ARN, Test.LIKE),
    _Base("ArnLike", Family.ARN, Test.LIKE),
    _Base("ArnNotEquals", Family.ARN, Test.LIKE, negated=True),
    _Base("ArnNotLike", Family.ARN, Test.LIKE, negated=True),
    _Base("Null", Family.NULL, Test.IS_ABSENT),
]
_BASES = {base.name.lower(): base for base in _BASE_LIST}
BASE_OPERATORS: tuple[str, ...] = tuple(base.name for base in _BASE_LIST)

_IF_EXISTS = "ifexists"


@dataclass(frozen=True)
class Operator:
    """A parsed condition operator."""

    name: str
    base: str
    family: Family
    test: Test
    negated: bool
    qualifier: Qualifier | None
    if_exists: bool

    @property
    def wildcards(self) -> bool:
        """Whether ``*`` and ``?`` in this operator's values are wildcards."""
        return self.test is Test.LIKE

    @property
    def substitutes_variables(self) -> bool:
        """Whether ``${...}`` in values is substituted (string and ARN operators, per AWS)."""
        return self.family is Family.STRING or self.family is Family.ARN


@lru_cache(maxsize=512)
def parse_operator(text: str) -> Operator | None:
    """Parse an operator name, or return ``None`` if it is not one AWS defines."""
    lowered = text.lower()
    qualifier: Qualifier | None = None
    for candidate in Qualifier:
        prefix = candidate.value.lower() + ":"
        if lowered.startswith(prefix):
            qualifier = candidate
            lowered = lowered[len(prefix) :]
            break
    if_exists = False
    base = _BASES.get(lowered)
    if base is None and lowered.endswith(_IF_EXISTS):
        base = _BASES.get(lowered[: -len(_IF_EXISTS)])
        if_exists = True
    if base is None:
        return None
    if base.family is Family.NULL and (if_exists or qualifier is not None):
        # Null already tests existence; AWS defines no NullIfExists or qualified Null.
        return None
    name = (qualifier.value + ":" if qualifier else "") + base.name + ("IfExists" if if_exists else "")
    return Operator(name, base.name, base.family, base.test, base.negated, qualifier, if_exists)
