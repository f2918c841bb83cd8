"""CognitoIdentityRepository over SQLAlchemy Core, shared by SQLite and PostgreSQL.

Each method is one transaction. Pool settings that are only ever read and written whole (providers,
tags, roles, role mappings) are JSON text columns; logins are rows, because "which identity holds this
user" is the lookup every sign-in makes and the uniqueness rule the database must enforce.
Writes that change an identity lock its row first (``FOR UPDATE``; SQLite serialises writes anyway),
so a merge and a concurrent link of the same identity cannot interleave.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.storage.cognito_identity import (
    CognitoProvider,
    Identity,
    IdentityPool,
    Login,
    MappingRule,
    RoleMapping,
    SigningKey,
)
from bastion.storage.interfaces import AlreadyExists, NotFound, Page
from bastion.storage.memory_cognito_identity import POOL_LISTING, check_one_per_provider, identity_listing
from bastion.storage.sql.engine import Database
from bastion.storage.sql.rows import (
    AnyRow,
    Keyset,
    change_one,
    existing_row,
    from_row,
    insert_new,
    integrity_as,
    json_text,
    locked,
    read_one,
    row_values,
    tags_from_json,
    tags_json,
)
from bastion.storage.sql.tables_cognito_identity import (
    identity_pool_identities,
    identity_pool_logins,
    identity_pool_signing_keys,
    identity_pools,
)
from bastion.storage.values import utc

_LOGIN_TAKEN = "a login is already linked to another identity"


def _settings_in(pool: IdentityPool) -> str:
    return json_text(
        {
            "cognito_providers": [
                [p.provider_name, p.client_id, p.server_side_token_check] for p in pool.cognito_providers
            ],
            "supported_login_providers": [list(pair) for pair in pool.supported_login_providers],
            "developer_provider_name": pool.developer_provider_name,
            "open_id_connect_provider_arns": list(pool.open_id_connect_provider_arns),
            "saml_provider_arns": list(pool.saml_provider_arns),
        }
    )


def _mappings_in(mappings: Sequence[RoleMapping]) -> str:
    return json_text(
        [
            {
                "provider": m.provider,
                "type": m.type,
                "ambiguous": m.ambiguous_role_resolution,
                "rules": [[r.claim, r.match_type, r.value, r.role_arn] for r in m.rules],
            }
            for m in mappings
        ]
    )


def _mappings_out(stored: str) -> tuple[RoleMapping, ...]:
    return tuple(
        RoleMapping(
            provider=m["provider"],
            type=m["type"],
            ambiguous_role_resolution=m["ambiguous"],
            rules=tuple(MappingRule(*rule) for rule in m["rules"]),
        )
        for m in json.loads(stored)
    )


def _pool_values(pool: IdentityPool) -> dict[str, Any]:
    return {
        "name": pool.name,
        "allow_unauthenticated": pool.allow_unauthenticated,
        "allow_classic_flow": pool.allow_classic_flow,
        "settings": _settings_in(pool),
        "tags": tags_json(pool.tags),
    }


def _pool(row: AnyRow) -> IdentityPool:
    settings = json.loads(row.settings)
    return from_row(
        IdentityPool,
        row,
        allow_unauthenticated=bool(row.allow_unauthenticated),
        allow_classic_flow=bool(row.allow_classic_flow),
        cognito_providers=tuple(
            CognitoProvider(name, client, bool(check))
            for name, client, check in settings["cognito_providers"]
        ),
        supported_login_providers=tuple((k, v) for k, v in settings["supported_login_providers"]),
        developer_provider_name=settings["developer_provider_name"],
        open_id_connect_provider_arns=tuple(settings["open_id_connect_provider_arns"]),
        saml_provider_arns=tuple(settings["saml_provider_arns"]),
        tags=tags_from_json(row.tags),
        roles=tuple(sorted(json.loads(row.roles).items())),
        role_mappings=_mappings_out(row.role_mappings),
    )


class SqlCognitoIdentityRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- pools -----------------------------------------------------------------------------------------

    async def create_pool(self, pool: IdentityPool) -> None:
        values = _pool_values(pool)
        values.update(
            pool_id=pool.pool_id,
            roles=json_text(dict(pool.roles)),
            role_mappings=_mappings_in(pool.role_mappings),
            created=utc(pool.created),
        )
        async with self._db.write() as conn:
            await insert_new(conn, identity_pools, f"identity pool {pool.pool_id}", values)

    async def get_pool(self, pool_id: str) -> IdentityPool | None:
        p = identity_pools
        return await read_one(self._db, select(p).where(p.c.pool_id == pool_id), _pool)

    async def list_pools(self, marker: str | None, limit: int) -> Page[IdentityPool]:
        keyset = Keyset(POOL_LISTING, (identity_pools.c.pool_id,))
        return await keyset.read(self._db, select(identity_pools), marker, limit, _pool)

    async def _update_pool_row(self, pool_id: str, **values: Any) -> None:
        p = identity_pools
        stmt = update(p).where(p.c.pool_id == pool_id).values(**values)
        await change_one(self._db, stmt, f"identity pool {pool_id} does not exist")

    async def update_pool(self, pool: IdentityPool) -> None:
        await self._update_pool_row(pool.pool_id, **_pool_values(pool))

    async def set_roles(
        self, pool_id: str, roles: Sequence[tuple[str, str]], mappings: Sequence[RoleMapping]
    ) -> None:
        await self._update_pool_row(
            pool_id, roles=json_text(dict(roles)), role_mappings=_mappings_in(mappings)
        )

    async def delete_pool(self, pool_id: str) -> None:
        p = identity_pools
        # Foreign keys cascade to identities and logins on both dialects.
        stmt = delete(p).where(p.c.pool_id == pool_id)
        await change_one(self._db, stmt, f"identity pool {pool_id} does not exist")

    # -- identities ------------------------------------------------------------------------------------

    async def _logins_of(self, conn: AsyncConnection, identity_ids: Sequence[str]) -> dict[str, list[Login]]:
        found: dict[str, list[Login]] = {i: [] for i in identity_ids}
        if not identity_ids:
            return found
        lg = identity_pool_logins
        rows = await conn.execute(
            select(lg.c.identity_id, lg.c.provider, lg.c.subject)
            .where(lg.c.identity_id.in_(identity_ids))
            .order_by(lg.c.identity_id, lg.c.provider)
        )
        for row in rows:
            found[row.identity_id].append(Login(row.provider, row.subject))
        return found

    async def _identities(self, conn: AsyncConnection, rows: Sequence[AnyRow]) -> list[Identity]:
        logins = await self._logins_of(conn, [r.identity_id for r in rows])
        return [
            from_row(Identity, r, logins=tuple(logins[r.identity_id]), disabled=bool(r.disabled))
            for r in rows
        ]

    async def _identity_row(self, conn: AsyncConnection, identity_id: str, *, lock: bool) -> AnyRow:
        ids = identity_pool_identities
        query = locked(select(ids).where(ids.c.identity_id == identity_id), "update" if lock else None)
        return await existing_row(conn, query, f"identity {identity_id} does not exist")

    async def _insert_logins(
        self, conn: AsyncConnection, identity_id: str, pool_id: str, logins: Sequence[Login]
    ) -> None:
        if not logins:
            return
        rows = [
            {
                "identity_id": identity_id,
                "pool_id": pool_id,
                "provider": login.provider,
                "subject": login.subject,
            }
            for login in logins
        ]
        with integrity_as(AlreadyExists(_LOGIN_TAKEN)):
            await conn.execute(insert(identity_pool_logins), rows)

    async def create_identity(self, identity: Identity) -> None:
        check_one_per_provider(identity.logins)
        p, ids = identity_pools, identity_pool_identities
        async with self._db.write() as conn:
            query = locked(select(p.c.pool_id).where(p.c.pool_id == identity.pool_id), "share")
            await existing_row(conn, query, f"identity pool {identity.pool_id} does not exist")
            await insert_new(conn, ids, f"identity {identity.identity_id}", row_values(identity, ids))
            await self._insert_logins(conn, identity.identity_id, identity.pool_id, identity.logins)

    async def get_identity(self, identity_id: str) -> Identity | None:
        async with self._db.read() as conn:
            query = select(identity_pool_identities).where(
                identity_pool_identities.c.identity_id == identity_id
            )
            row = (await conn.execute(query)).first()
            return None if row is None else (await self._identities(conn, [row]))[0]

    async def find_identity(self, pool_id: str, login: Login) -> Identity | None:
        ids, lg = identity_pool_identities, identity_pool_logins
        query = (
            select(ids)
            .join(lg, lg.c.identity_id == ids.c.identity_id)
            .where(lg.c.pool_id == pool_id, lg.c.provider == login.provider, lg.c.subject == login.subject)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
            return None if row is None else (await self._identities(conn, [row]))[0]

    async def list_identities(
        self, pool_id: str, marker: str | None, limit: int, hide_disabled: bool
    ) -> Page[Identity]:
        p, ids = identity_pools, identity_pool_identities
        keyset = Keyset(identity_listing(pool_id), (ids.c.identity_id,))
        query = select(ids).where(ids.c.pool_id == pool_id)
        if hide_disabled:
            query = query.where(ids.c.disabled == false())
        query = keyset.select(query, marker, limit)
        async with self._db.read() as conn:
            await existing_row(
                conn,
                select(p.c.pool_id).where(p.c.pool_id == pool_id),
                f"identity pool {pool_id} does not exist",
            )
            rows = (await conn.execute(query)).all()
            items = await self._identities(conn, rows[:limit])
        return Page(items, keyset.next_marker(rows, limit))

    async def link_logins(
        self, identity_id: str, logins: Sequence[Login], absorb: Sequence[str], when: datetime
    ) -> Identity:
        when = utc(when)
        ids, lg = identity_pool_identities, identity_pool_logins
        sources = sorted({i for i in absorb if i != identity_id})
        with integrity_as(AlreadyExists(_LOGIN_TAKEN)):
            async with self._db.write() as conn:
                # Lock in id order so that two merges of the same identities cannot deadlock.
                rows = {
                    i: await self._identity_row(conn, i, lock=True) for i in sorted([identity_id, *sources])
                }
                target = rows[identity_id]
                if any(rows[s].pool_id != target.pool_id for s in sources):
                    raise NotFound("identities to merge must belong to the same pool")
                held = await self._logins_of(conn, [identity_id, *sources])
                merged = {login for owned in held.values() for login in owned}
                new = [login for login in logins if login not in merged]
                check_one_per_provider(sorted(merged | set(new), key=lambda login: login.provider))
                if sources:
                    await conn.execute(
                        update(lg).where(lg.c.identity_id.in_(sources)).values(identity_id=identity_id)
                    )
                    await conn.execute(
                        update(ids)
                        .where(ids.c.identity_id.in_(sources))
                        .values(disabled=True, merged_into=identity_id, last_modified=when)
                    )
                await self._insert_logins(conn, identity_id, target.pool_id, new)
                await conn.execute(
                    update(ids).where(ids.c.identity_id == identity_id).values(last_modified=when)
                )
                fresh = await self._identity_row(conn, identity_id, lock=False)
                return (await self._identities(conn, [fresh]))[0]

    async def unlink_logins(self, identity_id: str, providers: Sequence[str], when: datetime) -> Identity:
        when = utc(when)
        ids, lg = identity_pool_identities, identity_pool_logins
        async with self._db.write() as conn:
            row = await self._identity_row(conn, identity_id, lock=True)
            had = (await self._logins_of(conn, [identity_id]))[identity_id]
            if providers:
                await conn.execute(
                    delete(lg).where(lg.c.identity_id == identity_id, lg.c.provider.in_(providers))
                )
            kept = [login for login in had if login.provider not in set(providers)]
            disabled = bool(row.disabled) or (bool(had) and not kept)
            await conn.execute(
                update(ids)
                .where(ids.c.identity_id == identity_id)
                .values(disabled=disabled, last_modified=when)
            )
            fresh = await self._identity_row(conn, identity_id, lock=False)
            return (await self._identities(conn, [fresh]))[0]

    async def delete_identities(self, identity_ids: Sequence[str]) -> None:
        if not identity_ids:
            return
        async with self._db.write() as conn:
            await conn.execute(
                delete(identity_pool_identities).where(
                    identity_pool_identities.c.identity_id.in_(identity_ids)
                )
            )

    # -- signing keys ----------------------------------------------------------------------------------

    async def list_signing_keys(self) -> Sequence[SigningKey]:
        keys = identity_pool_signing_keys
        async with self._db.read() as conn:
            rows = (await conn.execute(select(keys).order_by(keys.c.created, keys.c.kid))).all()
        return [from_row(SigningKey, r, sealed_private_key=bytes(r.sealed_private_key)) for r in rows]

    async def add_signing_key(self, key: SigningKey) -> None:
        keys = identity_pool_signing_keys
        async with self._db.write() as conn:
            await insert_new(conn, keys, f"signing key {key.kid}", row_values(key, keys))
