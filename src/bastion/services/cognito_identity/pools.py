"""Identity pool administration (the signed operations): pools, their roles, and their identities.

Checks AWS makes that the API model cannot express: user pool provider names and app client ids, role
ARNs, role mappings that name a provider of the pool and carry what their type needs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bastion.clock import Clock
from bastion.services.cognito_identity import errors as text
from bastion.services.cognito_identity.user_pool_tokens import is_user_pool_provider
from bastion.services.errors import InvalidInputError, NotFoundError
from bastion.storage.cognito_identity import (
    CognitoIdentityRepository,
    CognitoProvider,
    Identity,
    IdentityPool,
    RoleMapping,
)
from bastion.storage.interfaces import InvalidMarker, Page, Tag

MAX_RULES_PER_PROVIDER = 25  # documented quota ("up to 25 rules" per provider)
_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/(?:[\x21-\x7e]*/)?[\w+=,.@-]+$")
_MATCH_TYPES = frozenset({"Equals", "Contains", "StartsWith", "NotEqual"})
_RESOLUTIONS = frozenset({"AuthenticatedRole", "Deny"})


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """What CreateIdentityPool and UpdateIdentityPool set."""

    name: str
    allow_unauthenticated: bool
    allow_classic_flow: bool = False
    cognito_providers: tuple[CognitoProvider, ...] = ()
    supported_login_providers: tuple[tuple[str, str], ...] = ()
    developer_provider_name: str | None = None
    open_id_connect_provider_arns: tuple[str, ...] = ()
    saml_provider_arns: tuple[str, ...] = ()
    # None on update: keep the pool's tags.
    tags: tuple[Tag, ...] | None = None


def _check_providers(providers: Sequence[CognitoProvider]) -> None:
    seen: set[tuple[str, str]] = set()
    for provider in providers:
        if not is_user_pool_provider(provider.provider_name):
            raise InvalidInputError(f"Invalid Cognito Identity Provider name: {provider.provider_name}")
        if not provider.client_id:
            raise InvalidInputError(f"ClientId is required for provider {provider.provider_name}.")
        key = (provider.provider_name, provider.client_id)
        if key in seen:
            raise InvalidInputError(
                f"Duplicate provider {provider.provider_name} with ClientId {provider.client_id}."
            )
        seen.add(key)


def _check_role_arn(arn: str) -> None:
    if not _ROLE_ARN.match(arn):
        raise InvalidInputError(f"{arn} is not a valid IAM role ARN.")


def _mapping_keys(pool: IdentityPool) -> set[str]:
    """The RoleMappings keys a pool accepts: user pool providers with their app client, other providers."""
    keys = {f"{p.provider_name}:{p.client_id}" for p in pool.cognito_providers}
    keys.update(name for name, _ in pool.supported_login_providers)
    keys.update(arn.split(":oidc-provider/", 1)[-1] for arn in pool.open_id_connect_provider_arns)
    return keys


def _check_mapping(pool: IdentityPool, mapping: RoleMapping) -> None:
    if mapping.provider not in _mapping_keys(pool):
        raise InvalidInputError(
            f"Invalid RoleMappings key {mapping.provider}: it is not an identity provider of this pool."
        )
    if mapping.ambiguous_role_resolution not in _RESOLUTIONS:
        raise InvalidInputError("AmbiguousRoleResolution must be specified for Token and Rules types.")
    if mapping.type == "Rules":
        if not mapping.rules:
            raise InvalidInputError("RulesConfiguration is required for the Rules type.")
        if len(mapping.rules) > MAX_RULES_PER_PROVIDER:
            raise InvalidInputError(f"At most {MAX_RULES_PER_PROVIDER} rules are allowed per provider.")
        for rule in mapping.rules:
            if rule.match_type not in _MATCH_TYPES:
                raise InvalidInputError(f"Invalid MatchType {rule.match_type}.")
            _check_role_arn(rule.role_arn)
    elif mapping.type != "Token":
        raise InvalidInputError(f"Invalid RoleMapping type {mapping.type}.")
    elif mapping.rules:
        raise InvalidInputError("RulesConfiguration is only allowed for the Rules type.")


class IdentityPoolAdmin:
    def __init__(
        self, repo: CognitoIdentityRepository, *, region: str, account_id: str, clock: Clock
    ) -> None:
        self._repo = repo
        self.region = region
        self.account_id = account_id
        self._clock = clock

    def pool_arn(self, pool_id: str) -> str:
        return f"arn:aws:cognito-identity:{self.region}:{self.account_id}:identitypool/{pool_id}"

    async def pool(self, pool_id: str) -> IdentityPool:
        found = await self._repo.get_pool(pool_id)
        if found is None:
            raise NotFoundError(text.pool_not_found(pool_id))
        return found

    async def create_pool(self, settings: PoolSettings) -> IdentityPool:
        _check_providers(settings.cognito_providers)
        pool = IdentityPool(
            pool_id=f"{self.region}:{uuid.uuid4()}",
            name=settings.name,
            allow_unauthenticated=settings.allow_unauthenticated,
            created=self._clock.now(),
            allow_classic_flow=settings.allow_classic_flow,
            cognito_providers=settings.cognito_providers,
            supported_login_providers=settings.supported_login_providers,
            developer_provider_name=settings.developer_provider_name,
            open_id_connect_provider_arns=settings.open_id_connect_provider_arns,
            saml_provider_arns=settings.saml_provider_arns,
            tags=settings.tags or (),
        )
        await self._repo.create_pool(pool)
        return pool

    async def list_pools(self, marker: str | None, limit: int) -> Page[IdentityPool]:
        try:
            return await self._repo.list_pools(marker, limit)
        except InvalidMarker as exc:
            raise InvalidInputError("The NextToken is not valid.") from exc

    async def update_pool(self, pool_id: str, settings: PoolSettings) -> IdentityPool:
        current = await self.pool(pool_id)
        _check_providers(settings.cognito_providers)
        if (
            current.developer_provider_name
            and settings.developer_provider_name != current.developer_provider_name
        ):
            raise InvalidInputError("The DeveloperProviderName of an identity pool cannot be changed.")
        updated = replace(
            current,
            name=settings.name,
            allow_unauthenticated=settings.allow_unauthenticated,
            allow_classic_flow=settings.allow_classic_flow,
            cognito_providers=settings.cognito_providers,
            supported_login_providers=settings.supported_login_providers,
            developer_provider_name=settings.developer_provider_name,
            open_id_connect_provider_arns=settings.open_id_connect_provider_arns,
            saml_provider_arns=settings.saml_provider_arns,
            tags=current.tags if settings.tags is None else settings.tags,
        )
        await self._repo.update_pool(updated)
        return updated

    async def delete_pool(self, pool_id: str) -> None:
        await self.pool(pool_id)
        await self._repo.delete_pool(pool_id)

    async def set_roles(
        self, pool_id: str, roles: Mapping[str, str], mappings: Sequence[RoleMapping]
    ) -> None:
        pool = await self.pool(pool_id)
        for arn in roles.values():
            _check_role_arn(arn)
        for mapping in mappings:
            _check_mapping(pool, mapping)
        await self._repo.set_roles(pool_id, sorted(roles.items()), mappings)

    # ---- identities (administration) -----------------------------------------------------------------
    async def identity(self, identity_id: str) -> Identity:
        found = await self._repo.get_identity(identity_id)
        if found is None:
            raise NotFoundError(text.identity_not_found(identity_id))
        return found

    async def list_identities(
        self, pool_id: str, marker: str | None, limit: int, hide_disabled: bool
    ) -> Page[Identity]:
        await self.pool(pool_id)
        try:
            return await self._repo.list_identities(pool_id, marker, limit, hide_disabled)
        except InvalidMarker as exc:
            raise InvalidInputError("The NextToken is not valid.") from exc

    async def pools_of(self, identity_ids: Sequence[str]) -> dict[str, str]:
        """Identity id -> pool id, for the identities that exist."""
        found: dict[str, str] = {}
        for identity_id in identity_ids:
            identity = await self._repo.get_identity(identity_id)
            if identity is not None:
                found[identity_id] = identity.pool_id
        return found

    async def delete_identities(self, identity_ids: Sequence[str]) -> None:
        await self._repo.delete_identities(identity_ids)
