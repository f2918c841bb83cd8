"""User pools and app clients: create, describe, list, update, delete; signing-key rotation.

Updates follow AWS: UpdateUserPool and UpdateUserPoolClient set every updatable setting the request
leaves out back to its default (the caller passes complete settings); what cannot change after creation
(username and alias attributes, schema, case sensitivity, the client secret) is kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from bastion.services.cognito_idp import ids, schema
from bastion.services.cognito_idp.core import CLIENT_SECRET_PURPOSE, Client, Core, Pool
from bastion.services.cognito_idp.settings import (
    ClientSettings,
    PoolSettings,
    TokenValidity,
    pool_settings_from_json,
    to_json,
)
from bastion.services.errors import InvalidInputError
from bastion.storage import interfaces as st
from bastion.storage.cognito_idp import UserPoolClientRecord, UserPoolRecord

_LEGACY_FLOWS = frozenset({"ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"})
_ACCESS_RANGE = (timedelta(minutes=5), timedelta(days=1))
_REFRESH_RANGE = (timedelta(hours=1), timedelta(days=3650))


@dataclass(frozen=True, slots=True)
class PoolView:
    pool: Pool
    arn: str
    estimated_users: int


def _check_pool_settings(settings: PoolSettings) -> PoolSettings:
    if settings.username_attributes and settings.alias_attributes:
        raise InvalidInputError(
            "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool."
        )
    if settings.mfa == "ON":
        raise InvalidInputError("Multi-factor authentication is not supported: set MfaConfiguration to OFF.")
    return dataclasses.replace(settings, schema=schema.build_schema(settings.schema))


def _check_validity(value: TokenValidity | None, bounds: tuple[timedelta, timedelta]) -> None:
    if value is not None and not bounds[0] <= value.duration <= bounds[1]:
        raise InvalidInputError("Invalid range for token validity.")


def _check_client_settings(pool: Pool, settings: ClientSettings) -> None:
    flows = set(settings.explicit_auth_flows)
    if flows & _LEGACY_FLOWS and any(f.startswith("ALLOW_") for f in flows):
        raise InvalidInputError(
            "Invalid combination of explicit auth flows: legacy and ALLOW_ values are mixed."
        )
    _check_validity(settings.access_token_validity, _ACCESS_RANGE)
    _check_validity(settings.id_token_validity, _ACCESS_RANGE)
    _check_validity(settings.refresh_token_validity, _REFRESH_RANGE)
    if settings.read_attributes is not None:
        schema.check_permission_list(pool.settings.schema, settings.read_attributes, "read")
    if settings.write_attributes is not None:
        schema.check_permission_list(pool.settings.schema, settings.write_attributes, "write")


class PoolAdmin:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._repo = core.repo

    async def _view(self, pool: Pool) -> PoolView:
        return PoolView(pool, self._core.pool_arn(pool.id), await self._repo.count_users(pool.id))

    # ---- pools ---------------------------------------------------------------------------------------

    async def create_pool(self, name: str, settings: PoolSettings) -> PoolView:
        settings = _check_pool_settings(settings)
        now = self._core.now()
        record = UserPoolRecord(ids.user_pool_id(self._core.region), name, now, now, to_json(settings))
        await self._repo.create_pool(record)
        await self._core.keys.rotate(record.pool_id)
        return PoolView(Pool(record, settings), self._core.pool_arn(record.pool_id), 0)

    async def describe_pool(self, pool_id: str) -> PoolView:
        return await self._view(await self._core.pool(pool_id))

    async def list_pools(self, limit: int, token: str | None) -> tuple[list[Pool], str | None]:
        try:
            page = await self._repo.list_pools(token, limit)
        except st.InvalidMarker as exc:
            raise InvalidInputError("Invalid pagination token.") from exc
        return [Pool(r, pool_settings_from_json(r.settings)) for r in page.items], page.marker

    async def update_pool(self, pool_id: str, settings: PoolSettings, name: str | None = None) -> None:
        pool = await self._core.pool(pool_id)
        kept = pool.settings
        settings = dataclasses.replace(
            settings,
            username_attributes=kept.username_attributes,
            alias_attributes=kept.alias_attributes,
            schema=(),
            case_sensitive=kept.case_sensitive,
        )
        settings = dataclasses.replace(_check_pool_settings(settings), schema=kept.schema)
        await self._repo.update_pool(pool_id, name or pool.record.name, to_json(settings), self._core.now())

    async def delete_pool(self, pool_id: str) -> None:
        pool = await self._core.pool(pool_id)
        if pool.settings.deletion_protection == "ACTIVE":
            raise InvalidInputError(
                "The user pool cannot be deleted because deletion protection is activated. "
                "Deletion protection must be inactivated first."
            )
        await self._repo.delete_pool(pool_id)
        self._core.keys.forget(pool_id)

    async def rotate_signing_keys(self, pool_id: str) -> list[str]:
        """Give the pool new signing keys; old ones stay published so issued tokens keep verifying."""
        await self._core.pool(pool_id)
        return await self._core.keys.rotate(pool_id)

    # ---- app clients ---------------------------------------------------------------------------------

    async def create_client(
        self,
        pool_id: str,
        name: str,
        settings: ClientSettings,
        *,
        generate_secret: bool = False,
        secret: str | None = None,
    ) -> Client:
        pool = await self._core.pool(pool_id)
        _check_client_settings(pool, settings)
        if secret is None and generate_secret:
            secret = ids.client_secret()
        sealed = (
            None if secret is None else self._core.sealer.seal(secret.encode(), purpose=CLIENT_SECRET_PURPOSE)
        )
        now = self._core.now()
        record = UserPoolClientRecord(ids.client_id(), pool_id, name, now, now, to_json(settings), sealed)
        try:
            await self._repo.create_client(record)
        except st.NotFound as exc:
            raise InvalidInputError(f"User pool {pool_id} does not exist.") from exc
        return Client(record, settings, secret)

    async def describe_client(self, pool_id: str, client_id: str) -> Client:
        await self._core.pool(pool_id)
        return await self._core.client(client_id, pool_id)

    async def list_clients(
        self, pool_id: str, limit: int, token: str | None
    ) -> tuple[list[Client], str | None]:
        await self._core.pool(pool_id)
        try:
            page = await self._repo.list_clients(pool_id, token, limit)
        except st.InvalidMarker as exc:
            raise InvalidInputError("Invalid pagination token.") from exc
        return [self._core.client_from(r) for r in page.items], page.marker

    async def update_client(
        self, pool_id: str, client_id: str, name: str | None, settings: ClientSettings
    ) -> Client:
        pool = await self._core.pool(pool_id)
        current = await self._core.client(client_id, pool_id)
        _check_client_settings(pool, settings)
        new_name = name or current.record.name
        now = self._core.now()
        await self._repo.update_client(client_id, new_name, to_json(settings), now)
        record = dataclasses.replace(current.record, name=new_name, settings=to_json(settings), updated=now)
        return Client(record, settings, current.secret)

    async def delete_client(self, pool_id: str, client_id: str) -> None:
        await self._core.pool(pool_id)
        await self._core.client(client_id, pool_id)
        await self._repo.delete_client(client_id)
