"""What is being asked: action, resource, request context and (for trust policies) principal.

The caller supplies everything; the engine looks nothing up. Context keys are
case-insensitive (AWS: "Key names are case-insensitive"), so they are lower-cased once here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bastion.policy.values import ContextValue, text_of


@dataclass(frozen=True)
class Principal:
    """Who is asking, for evaluating Principal/NotPrincipal in trust policies.

    ``kind`` is the principal type a policy names it under (``AWS``, ``Federated``,
    ``Service``, ``CanonicalUser``); ``id`` the identifier (an ARN, an identity provider
    such as ``cognito-identity.amazonaws.com``, a service such as ``ec2.amazonaws.com``).
    ``account`` (AWS principals) makes account entries (``123456789012`` or
    ``arn:aws:iam::123456789012:root``) match. ``aliases`` are further identities of the
    same caller, e.g. the role ARN of an assumed-role session.
    """

    kind: str
    id: str
    account: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def identities(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


class Request:
    """One authorization question. Cheap to build; immutable by convention."""

    __slots__ = ("_context", "action", "action_key", "principal", "resource")

    def __init__(
        self,
        action: str,
        resource: str,
        # Values are read as ContextValue; anything else never satisfies a condition.
        context: Mapping[str, ContextValue | object] | None = None,
        principal: Principal | None = None,
    ) -> None:
        self.action = action
        self.resource = resource
        self.principal = principal
        # Action names are case-insensitive; compiled action patterns are lower-case too.
        self.action_key = action.lower()
        self._context: dict[str, object] = (
            {key.lower(): value for key, value in context.items()} if context else {}
        )

    @property
    def context(self) -> Mapping[str, object]:
        """The context with lower-cased keys."""
        return MappingProxyType(self._context)

    def get(self, key: str, default: object = None) -> object:
        """A context value by lower-cased key."""
        return self._context.get(key, default)

    def variable(self, key: str) -> str | None:
        """The value a ``${key}`` policy variable takes, or ``None`` if it has none.

        Multi-valued keys cannot be variables (AWS), so a sequence resolves to nothing.
        """
        return text_of(self._context.get(key))

    def __repr__(self) -> str:
        return f"Request(action={self.action!r}, resource={self.resource!r}, context={self._context!r})"
