"""Which role an identity's credentials are for (Cognito "role-based access control").

Unauthenticated identities get the pool's unauthenticated role. Authenticated ones get the role chosen
by the RoleMapping of the first presented login that has one, else the pool's authenticated role:

* **Token**: ``CustomRoleArn`` if it is one of the token's ``cognito:roles`` (any other value is
  denied); else ``cognito:preferred_role``; else the mapping's ``AmbiguousRoleResolution``.
* **Rules**: evaluated in order, the first matching rule's role wins; ``CustomRoleArn`` picks among the
  matching rules' roles instead (denied if none of them is it). ``NotEqual`` on an absent claim does not
  match. No match: ``AmbiguousRoleResolution``.
* ``AmbiguousRoleResolution``: ``AuthenticatedRole`` uses the pool's authenticated role, ``Deny`` refuses.

Claims that are lists (``cognito:groups``) match when any element does; other values are compared as
their JSON text (``true``, ``42``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bastion.services.cognito_identity import errors as text
from bastion.services.cognito_identity.errors import InvalidPoolConfigurationError
from bastion.services.cognito_identity.logins import VerifiedLogin
from bastion.services.errors import NotAuthorizedError
from bastion.storage.cognito_identity import IdentityPool, MappingRule, RoleMapping

AUTHENTICATED = "authenticated"
UNAUTHENTICATED = "unauthenticated"


def _default(pool: IdentityPool, kind: str) -> str:
    arn = pool.role(kind)
    if arn is None:
        raise InvalidPoolConfigurationError(text.INVALID_POOL_CONFIGURATION)
    return arn


def _values(claim: Any) -> list[str]:
    items = claim if isinstance(claim, list) else [claim]
    return [item if isinstance(item, str) else json.dumps(item) for item in items]


def rule_matches(rule: MappingRule, claims: Mapping[str, Any]) -> bool:
    if rule.claim not in claims:
        return False
    values = _values(claims[rule.claim])
    if rule.match_type == "Equals":
        return rule.value in values
    if rule.match_type == "NotEqual":
        return rule.value not in values
    if rule.match_type == "Contains":
        return any(rule.value in v for v in values)
    if rule.match_type == "StartsWith":
        return any(v.startswith(rule.value) for v in values)
    return False


def _token_roles(claims: Mapping[str, Any]) -> list[str]:
    roles = claims.get("cognito:roles")
    if isinstance(roles, str):  # documented as a comma-separated string; user pools send a JSON list
        return [r.strip() for r in roles.split(",") if r.strip()]
    if isinstance(roles, list):
        return [r for r in roles if isinstance(r, str)]
    return []


def _ambiguous(pool: IdentityPool, mapping: RoleMapping) -> str:
    if mapping.ambiguous_role_resolution == "AuthenticatedRole":
        return _default(pool, AUTHENTICATED)
    raise NotAuthorizedError(text.AMBIGUOUS_ROLE_DENIED)


def _custom_denied() -> NotAuthorizedError:
    return NotAuthorizedError("The CustomRoleArn is not one of the roles this login may assume.")


def _by_token(pool: IdentityPool, mapping: RoleMapping, claims: Mapping[str, Any], custom: str | None) -> str:
    roles = _token_roles(claims)
    if custom is not None:
        if custom in roles:
            return custom
        raise _custom_denied()
    preferred = claims.get("cognito:preferred_role")
    if isinstance(preferred, str) and preferred:
        return preferred
    return _ambiguous(pool, mapping)


def _by_rules(pool: IdentityPool, mapping: RoleMapping, claims: Mapping[str, Any], custom: str | None) -> str:
    matching = [rule.role_arn for rule in mapping.rules if rule_matches(rule, claims)]
    if custom is not None:
        if custom in matching:
            return custom
        raise _custom_denied()
    return matching[0] if matching else _ambiguous(pool, mapping)


def choose_role(
    pool: IdentityPool, logins: Sequence[VerifiedLogin], custom_role_arn: str | None = None
) -> str:
    """The role ARN for credentials of an identity signed in with ``logins`` (none: a guest)."""
    if not logins:
        return _default(pool, UNAUTHENTICATED)
    for login in logins:
        mapping = pool.mapping_for(login.mapping_key) or pool.mapping_for(login.provider)
        if mapping is None:
            continue
        if mapping.type == "Token":
            return _by_token(pool, mapping, login.claims, custom_role_arn)
        return _by_rules(pool, mapping, login.claims, custom_role_arn)
    return _default(pool, AUTHENTICATED)
