"""The parsed form of a policy document: immutable values that compare by meaning.

These mirror the JSON grammar (Version, Id, Statement, Sid, Effect, Principal, Action,
Resource, Condition) and keep what rendering needs (written spellings of operators and keys,
statement order). Single values and one-element lists parse to the same thing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bastion.policy.variables import Pattern

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
VERSIONS = (VERSION_2012, VERSION_2008)


class PolicyKind(enum.Enum):
    """What a document is for, which decides the elements it must and must not have.

    ``IDENTITY``: attached to a user/role/identity (IAM permission policies, session
    policies, AWS IoT policies): Resource required, Principal forbidden.
    ``TRUST``: a role's trust (assume-role) policy: Principal required, Resource forbidden.
    """

    IDENTITY = "identity"
    TRUST = "trust"


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


PRINCIPAL_TYPES = ("AWS", "Federated", "Service", "CanonicalUser")


@dataclass(frozen=True)
class PrincipalBlock:
    """``"*"`` (``everyone``) or a map of principal type to identifiers, in written order."""

    everyone: bool = False
    entries: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` entry; a statement's conditions are ANDed."""

    operator: str
    key: str
    values: tuple[Pattern, ...]

    def bind(self, values: Mapping[str, str]) -> Condition:
        bound = tuple(value.bind(values) for value in self.values)
        return self if bound == self.values else replace(self, values=bound)


@dataclass(frozen=True)
class Statement:
    effect: Effect
    sid: str | None = None
    actions: tuple[str, ...] = ()
    not_action: bool = False
    # None when the statement has no Resource element at all (trust policies).
    resources: tuple[Pattern, ...] | None = None
    not_resource: bool = False
    principal: PrincipalBlock | None = None
    not_principal: bool = False
    conditions: tuple[Condition, ...] = ()

    def bind(self, values: Mapping[str, str]) -> Statement:
        resources = None if self.resources is None else tuple(r.bind(values) for r in self.resources)
        conditions = tuple(condition.bind(values) for condition in self.conditions)
        return replace(self, resources=resources, conditions=conditions)

    def variable_keys(self) -> frozenset[str]:
        keys: set[str] = set()
        for resource in self.resources or ():
            keys |= resource.variable_keys()
        for condition in self.conditions:
            for value in condition.values:
                keys |= value.variable_keys()
        return frozenset(keys)


@dataclass(frozen=True)
class PolicyDocument:
    version: str | None
    statements: tuple[Statement, ...]
    id: str | None = None

    @property
    def substitutes_variables(self) -> bool:
        """Variables exist only in the 2012-10-17 language; a missing Version means 2008-10-17."""
        return self.version == VERSION_2012

    def bind(self, values: Mapping[str, str]) -> PolicyDocument:
        if not self.substitutes_variables:
            return self
        return replace(self, statements=tuple(s.bind(values) for s in self.statements))

    def variable_keys(self) -> frozenset[str]:
        keys: set[str] = set()
        for statement in self.statements:
            keys |= statement.variable_keys()
        return frozenset(keys)
