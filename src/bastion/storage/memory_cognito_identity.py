"""In-memory CognitoIdentityRepository (unit tests); the same contract as the SQL one.

Every method finishes without awaiting, so on one event loop each call is atomic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime

from bastion.storage.cognito_identity import (
    Identity,
    IdentityPool,
    Login,
    RoleMapping,
    SigningKey,
)
from bastion.storage.interfaces import AlreadyExists, NotFound, Page
from bastion.storage.paging import check_limit, decode_marker, encode_marker
from bastion.storage.values import utc

POOL_LISTING = "identity-pools"


def identity_listing(pool_id: str) -> str:
    return f"identities/{pool_id}"


def _sorted_logins(logins: Iterable[Login]) -> tuple[Login, ...]:
    return tuple(sorted(logins, key=lambda login: login.provider))


def check_one_per_provider(logins: Sequence[Login]) -> None:
    providers = [login.provider for login in logins]
    if len(set(providers)) != len(providers):
        raise AlreadyExists("an identity holds one login per provider")


class MemoryCognitoIdentityRepository:
    def __init__(self) -> None:
        self._pools: dict[str, IdentityPool] = {}
        self._identities: dict[str, Identity] = {}
        # (pool id, provider, subject) -> identity id
        self._logins: dict[tuple[str, str, str], str] = {}
        self._keys: dict[str, SigningKey] = {}

    # -- pools -----------------------------------------------------------------------------------------

    async def create_pool(self, pool: IdentityPool) -> None:
        if pool.pool_id in self._pools:
            raise AlreadyExists(f"identity pool {pool.pool_id} already exists")
        self._pools[pool.pool_id] = dataclasses.replace(pool, created=utc(pool.created))

    async def get_pool(self, pool_id: str) -> IdentityPool | None:
        return self._pools.get(pool_id)

    async def list_pools(self, marker: str | None, limit: int) -> Page[IdentityPool]:
        check_limit(limit)
        keys = sorted(self._pools)
        if marker is not None:
            (after,) = decode_marker(POOL_LISTING, marker, 1)
            keys = [k for k in keys if k > after]
        chosen = keys[: limit + 1]
        next_marker = encode_marker(POOL_LISTING, chosen[limit - 1]) if len(chosen) > limit else None
        return Page([self._pools[k] for k in chosen[:limit]], next_marker)

    def _require_pool(self, pool_id: str) -> IdentityPool:
        pool = self._pools.get(pool_id)
        if pool is None:
            raise NotFound(f"identity pool {pool_id} does not exist")
        return pool

    async def update_pool(self, pool: IdentityPool) -> None:
        current = self._require_pool(pool.pool_id)
        self._pools[pool.pool_id] = dataclasses.replace(
            pool, created=current.created, roles=current.roles, role_mappings=current.role_mappings
        )

    async def set_roles(
        self, pool_id: str, roles: Sequence[tuple[str, str]], mappings: Sequence[RoleMapping]
    ) -> None:
        current = self._require_pool(pool_id)
        self._pools[pool_id] = dataclasses.replace(current, roles=tuple(roles), role_mappings=tuple(mappings))

    async def delete_pool(self, pool_id: str) -> None:
        self._require_pool(pool_id)
        del self._pools[pool_id]
        gone = [i for i, identity in self._identities.items() if identity.pool_id == pool_id]
        await self.delete_identities(gone)

    # -- identities ------------------------------------------------------------------------------------

    async def create_identity(self, identity: Identity) -> None:
        self._require_pool(identity.pool_id)
        if identity.identity_id in self._identities:
            raise AlreadyExists(f"identity {identity.identity_id} already exists")
        check_one_per_provider(identity.logins)
        keys = [(identity.pool_id, login.provider, login.subject) for login in identity.logins]
        if any(key in self._logins for key in keys):
            raise AlreadyExists("a login is already linked to another identity")
        self._identities[identity.identity_id] = dataclasses.replace(
            identity,
            created=utc(identity.created),
            last_modified=utc(identity.last_modified),
            logins=_sorted_logins(identity.logins),
        )
        for key in keys:
            self._logins[key] = identity.identity_id

    async def get_identity(self, identity_id: str) -> Identity | None:
        return self._identities.get(identity_id)

    async def find_identity(self, pool_id: str, login: Login) -> Identity | None:
        found = self._logins.get((pool_id, login.provider, login.subject))
        return None if found is None else self._identities[found]

    async def list_identities(
        self, pool_id: str, marker: str | None, limit: int, hide_disabled: bool
    ) -> Page[Identity]:
        check_limit(limit)
        self._require_pool(pool_id)
        listing = identity_listing(pool_id)
        keys = sorted(
            i
            for i, identity in self._identities.items()
            if identity.pool_id == pool_id and not (hide_disabled and identity.disabled)
        )
        if marker is not None:
            (after,) = decode_marker(listing, marker, 1)
            keys = [k for k in keys if k > after]
        chosen = keys[: limit + 1]
        next_marker = encode_marker(listing, chosen[limit - 1]) if len(chosen) > limit else None
        return Page([self._identities[k] for k in chosen[:limit]], next_marker)

    def _require_identity(self, identity_id: str) -> Identity:
        identity = self._identities.get(identity_id)
        if identity is None:
            raise NotFound(f"identity {identity_id} does not exist")
        return identity

    async def link_logins(
        self, identity_id: str, logins: Sequence[Login], absorb: Sequence[str], when: datetime
    ) -> Identity:
        when = utc(when)
        target = self._require_identity(identity_id)
        absorbed = [self._require_identity(i) for i in absorb if i != identity_id]
        if any(a.pool_id != target.pool_id for a in absorbed):
            raise NotFound("identities to merge must belong to the same pool")
        moving = set(target.logins)
        for source in absorbed:
            moving.update(source.logins)
        allowed_owners = {identity_id, *(a.identity_id for a in absorbed)}
        for login in logins:
            owner = self._logins.get((target.pool_id, login.provider, login.subject))
            if owner is not None and owner not in allowed_owners:
                raise AlreadyExists("a login is already linked to another identity")
            moving.add(login)
        merged = _sorted_logins(moving)
        check_one_per_provider(merged)
        for source in absorbed:
            self._identities[source.identity_id] = dataclasses.replace(
                source, logins=(), disabled=True, merged_into=identity_id, last_modified=when
            )
        for login in merged:
            self._logins[(target.pool_id, login.provider, login.subject)] = identity_id
        updated = dataclasses.replace(target, logins=merged, last_modified=when)
        self._identities[identity_id] = updated
        return updated

    async def unlink_logins(self, identity_id: str, providers: Sequence[str], when: datetime) -> Identity:
        when = utc(when)
        identity = self._require_identity(identity_id)
        drop = set(providers)
        kept = tuple(login for login in identity.logins if login.provider not in drop)
        for login in identity.logins:
            if login.provider in drop:
                del self._logins[(identity.pool_id, login.provider, login.subject)]
        disabled = identity.disabled or (bool(identity.logins) and not kept)
        updated = dataclasses.replace(identity, logins=kept, disabled=disabled, last_modified=when)
        self._identities[identity_id] = updated
        return updated

    async def delete_identities(self, identity_ids: Sequence[str]) -> None:
        for identity_id in identity_ids:
            identity = self._identities.pop(identity_id, None)
            if identity is None:
                continue
            for login in identity.logins:
                self._logins.pop((identity.pool_id, login.provider, login.subject), None)

    # -- signing keys ----------------------------------------------------------------------------------

    async def list_signing_keys(self) -> Sequence[SigningKey]:
        return sorted(self._keys.values(), key=lambda k: (k.created, k.kid))

    async def add_signing_key(self, key: SigningKey) -> None:
        if key.kid in self._keys:
            raise AlreadyExists(f"signing key {key.kid} already exists")
        self._keys[key.kid] = dataclasses.replace(key, created=utc(key.created))
