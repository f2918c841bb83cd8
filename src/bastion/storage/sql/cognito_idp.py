"""CognitoIdpRepository over SQLAlchemy Core, shared by SQLite and PostgreSQL.

Each method is one transaction. Children reference their parent with ``ON DELETE CASCADE`` (SQLite runs
with ``foreign_keys = ON``), so deleting a pool or a user removes what belongs to it in the same
statement. Writes that add a child lock the parent row ``FOR SHARE`` first, so a child can never be added
to a pool or user a concurrent transaction is deleting (PostgreSQL; SQLite serialises writers anyway).
User uniqueness is checked inside the write transaction to name the clashing field; the unique
constraints remain the guarantee when two PostgreSQL transactions race.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Table, and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.storage.cognito_idp import (
    ALIAS_COLUMNS,
    AliasKind,
    CodeRecord,
    KeyUse,
    OutboxMessage,
    PoolUserRecord,
    SessionRecord,
    SigningKeyRecord,
    UserConflict,
    UserField,
    UserPoolClientRecord,
    UserPoolRecord,
    users_listing,
)
from bastion.storage.interfaces import NotFound, Page
from bastion.storage.paging import check_limit
from bastion.storage.sql.engine import Database
from bastion.storage.sql.rows import (
    AnyRow,
    Keyset,
    change_one,
    existing_row,
    from_row,
    insert_new,
    integrity_as,
    locked,
    read_one,
    row_values,
)
from bastion.storage.sql.tables_cognito_idp import (
    cognito_codes,
    cognito_outbox,
    cognito_sessions,
    cognito_signing_keys,
    cognito_user_pool_clients,
    cognito_user_pools,
    cognito_users,
)
from bastion.storage.values import utc

_R = TypeVar("_R")
_ALIAS_FIELDS: tuple[UserField, ...] = ("email_alias", "phone_alias", "preferred_alias")


def _pool(row: AnyRow) -> UserPoolRecord:
    return from_row(UserPoolRecord, row)


def _client(row: AnyRow) -> UserPoolClientRecord:
    secret = None if row.sealed_secret is None else bytes(row.sealed_secret)
    return from_row(UserPoolClientRecord, row, sealed_secret=secret)


def _user(row: AnyRow) -> PoolUserRecord:
    return from_row(
        PoolUserRecord,
        row,
        enabled=bool(row.enabled),
        attributes=dict(json.loads(row.attributes)),
        failed_attempts=int(row.failed_attempts),
    )


def _session(row: AnyRow) -> SessionRecord:
    return from_row(SessionRecord, row)


def _code(row: AnyRow) -> CodeRecord:
    return from_row(CodeRecord, row, code_hash=bytes(row.code_hash))


def _key(row: AnyRow) -> SigningKeyRecord:
    use: KeyUse = "id" if row.use == "id" else "access"
    return from_row(SigningKeyRecord, row, use=use, sealed_private_key=bytes(row.sealed_private_key))


def _message(row: AnyRow) -> OutboxMessage:
    return from_row(OutboxMessage, row, sealed_secret=bytes(row.sealed_secret), seq=int(row.seq))


def _user_values(user: PoolUserRecord) -> dict[str, Any]:
    """The columns update_user may change."""
    return {
        "status": user.status,
        "enabled": user.enabled,
        "attributes": json.dumps(user.attributes, separators=(",", ":"), sort_keys=True),
        "verifier": user.verifier,
        "password_set": None if user.password_set is None else utc(user.password_set),
        "email_alias": user.email_alias,
        "phone_alias": user.phone_alias,
        "preferred_alias": user.preferred_alias,
        "updated": utc(user.updated),
    }


class SqlCognitoIdpRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- helpers -------------------------------------------------------------------------------------

    async def _lock_pool(self, conn: AsyncConnection, pool_id: str) -> None:
        p = cognito_user_pools
        query = locked(select(p.c.pool_id).where(p.c.pool_id == pool_id), "share")
        await existing_row(conn, query, f"user pool {pool_id} does not exist")

    async def _lock_user(self, conn: AsyncConnection, sub: str) -> None:
        u = cognito_users
        query = locked(select(u.c.sub).where(u.c.sub == sub), "share")
        await existing_row(conn, query, f"user {sub} does not exist")

    async def _page(
        self,
        table: Table,
        key: str,
        listing: str,
        to_record: Callable[[AnyRow], _R],
        where: ColumnElement[bool] | None,
        marker: str | None,
        limit: int,
    ) -> Page[_R]:
        query = select(table) if where is None else select(table).where(where)
        return await Keyset(listing, (table.c[key],)).read(self._db, query, marker, limit, to_record)

    async def _set_settings(
        self, key: Column[str], value: str, what: str, name: str, settings: str, updated: datetime
    ) -> None:
        """Update a pool's or a client's name and settings."""
        stmt = (
            update(key.table).where(key == value).values(name=name, settings=settings, updated=utc(updated))
        )
        await change_one(self._db, stmt, f"{what} {value} does not exist")

    async def _check_unique(self, conn: AsyncConnection, user: PoolUserRecord, *, new: bool) -> None:
        u = cognito_users
        same_pool = u.c.pool_id == user.pool_id
        if new:
            if await conn.scalar(select(u.c.sub).where(u.c.sub == user.sub)) is not None:
                raise UserConflict("sub")
            taken = await conn.scalar(select(u.c.sub).where(same_pool, u.c.username_key == user.username_key))
            if taken is not None:
                raise UserConflict("username")
        for name in _ALIAS_FIELDS:
            value = getattr(user, name)
            if value is None:
                continue
            other = await conn.scalar(
                select(u.c.sub).where(same_pool, u.c[name] == value, u.c.sub != user.sub)
            )
            if other is not None:
                raise UserConflict(name)

    # ---- pools ---------------------------------------------------------------------------------------

    async def create_pool(self, pool: UserPoolRecord) -> None:
        p = cognito_user_pools
        async with self._db.write() as conn:
            await insert_new(conn, p, f"user pool {pool.pool_id}", row_values(pool, p))

    async def get_pool(self, pool_id: str) -> UserPoolRecord | None:
        p = cognito_user_pools
        return await read_one(self._db, select(p).where(p.c.pool_id == pool_id), _pool)

    async def list_pools(self, marker: str | None, limit: int) -> Page[UserPoolRecord]:
        return await self._page(cognito_user_pools, "pool_id", "cognito-pools", _pool, None, marker, limit)

    async def update_pool(self, pool_id: str, name: str, settings: str, updated: datetime) -> None:
        await self._set_settings(cognito_user_pools.c.pool_id, pool_id, "user pool", name, settings, updated)

    async def delete_pool(self, pool_id: str) -> None:
        p = cognito_user_pools
        await change_one(
            self._db, delete(p).where(p.c.pool_id == pool_id), f"user pool {pool_id} does not exist"
        )

    async def count_users(self, pool_id: str) -> int:
        async with self._db.read() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(cognito_users).where(cognito_users.c.pool_id == pool_id)
            )
        return int(count or 0)

    # ---- clients -------------------------------------------------------------------------------------

    async def create_client(self, client: UserPoolClientRecord) -> None:
        c = cognito_user_pool_clients
        async with self._db.write() as conn:
            await self._lock_pool(conn, client.pool_id)
            await insert_new(conn, c, f"client {client.client_id}", row_values(client, c))

    async def get_client(self, client_id: str) -> UserPoolClientRecord | None:
        c = cognito_user_pool_clients
        return await read_one(self._db, select(c).where(c.c.client_id == client_id), _client)

    async def list_clients(self, pool_id: str, marker: str | None, limit: int) -> Page[UserPoolClientRecord]:
        if await self.get_pool(pool_id) is None:
            raise NotFound(f"user pool {pool_id} does not exist")
        c = cognito_user_pool_clients
        return await self._page(
            c, "client_id", f"cognito-clients:{pool_id}", _client, c.c.pool_id == pool_id, marker, limit
        )

    async def update_client(self, client_id: str, name: str, settings: str, updated: datetime) -> None:
        await self._set_settings(
            cognito_user_pool_clients.c.client_id, client_id, "client", name, settings, updated
        )

    async def delete_client(self, client_id: str) -> None:
        c = cognito_user_pool_clients
        await change_one(
            self._db, delete(c).where(c.c.client_id == client_id), f"client {client_id} does not exist"
        )

    # ---- users ---------------------------------------------------------------------------------------

    async def create_user(self, user: PoolUserRecord) -> None:
        u = cognito_users
        async with self._db.write() as conn:
            await self._lock_pool(conn, user.pool_id)
            await self._check_unique(conn, user, new=True)
            values = row_values(user, u, failed_attempts=0, last_failure=None, **_user_values(user))
            # A concurrent writer took the name between the check and the insert.
            with integrity_as(UserConflict("username")):
                await conn.execute(insert(u).values(values))

    async def get_user(self, pool_id: str, sub: str) -> PoolUserRecord | None:
        u = cognito_users
        return await read_one(self._db, select(u).where(u.c.pool_id == pool_id, u.c.sub == sub), _user)

    async def find_user(self, pool_id: str, username_key: str) -> PoolUserRecord | None:
        u = cognito_users
        where = and_(u.c.pool_id == pool_id, u.c.username_key == username_key)
        return await read_one(self._db, select(u).where(where), _user)

    async def find_user_by_alias(self, pool_id: str, kind: AliasKind, key: str) -> PoolUserRecord | None:
        u = cognito_users
        where = and_(u.c.pool_id == pool_id, u.c[ALIAS_COLUMNS[kind]] == key)
        return await read_one(self._db, select(u).where(where), _user)

    async def list_users(self, pool_id: str, marker: str | None, limit: int) -> Page[PoolUserRecord]:
        if await self.get_pool(pool_id) is None:
            raise NotFound(f"user pool {pool_id} does not exist")
        u = cognito_users
        return await self._page(
            u, "username_key", users_listing(pool_id), _user, u.c.pool_id == pool_id, marker, limit
        )

    async def update_user(self, user: PoolUserRecord) -> None:
        u = cognito_users
        async with self._db.write() as conn:
            query = locked(select(u.c.sub).where(u.c.pool_id == user.pool_id, u.c.sub == user.sub), "update")
            await existing_row(conn, query, f"user {user.sub} does not exist")
            await self._check_unique(conn, user, new=False)
            with integrity_as(UserConflict("email_alias")):
                await conn.execute(update(u).where(u.c.sub == user.sub).values(**_user_values(user)))

    async def delete_user(self, pool_id: str, sub: str) -> None:
        u = cognito_users
        stmt = delete(u).where(u.c.pool_id == pool_id, u.c.sub == sub)
        await change_one(self._db, stmt, f"user {sub} does not exist")

    async def record_failed_sign_in(self, pool_id: str, sub: str, at: datetime) -> int:
        u = cognito_users
        async with self._db.write() as conn:
            count = await conn.scalar(
                update(u)
                .where(u.c.pool_id == pool_id, u.c.sub == sub)
                .values(failed_attempts=u.c.failed_attempts + 1, last_failure=utc(at))
                .returning(u.c.failed_attempts)
            )
        return int(count or 0)

    async def clear_failed_sign_ins(self, pool_id: str, sub: str) -> None:
        u = cognito_users
        async with self._db.write() as conn:
            await conn.execute(
                update(u)
                .where(u.c.pool_id == pool_id, u.c.sub == sub, u.c.failed_attempts != 0)
                .values(failed_attempts=0, last_failure=None)
            )

    # ---- codes ---------------------------------------------------------------------------------------

    async def put_code(self, code: CodeRecord) -> None:
        c = cognito_codes
        async with self._db.write() as conn:
            await self._lock_user(conn, code.sub)
            await conn.execute(delete(c).where(c.c.sub == code.sub, c.c.purpose == code.purpose))
            await conn.execute(insert(c).values(row_values(code, c)))

    def _code_where(self, pool_id: str, sub: str, purpose: str) -> ColumnElement[bool]:
        c = cognito_codes
        return and_(c.c.pool_id == pool_id, c.c.sub == sub, c.c.purpose == purpose)

    async def get_code(self, pool_id: str, sub: str, purpose: str) -> CodeRecord | None:
        query = select(cognito_codes).where(self._code_where(pool_id, sub, purpose))
        return await read_one(self._db, query, _code)

    async def count_code_failure(self, pool_id: str, sub: str, purpose: str) -> int:
        c = cognito_codes
        async with self._db.write() as conn:
            count = await conn.scalar(
                update(c)
                .where(self._code_where(pool_id, sub, purpose))
                .values(attempts=c.c.attempts + 1)
                .returning(c.c.attempts)
            )
        return int(count or 0)

    async def delete_code(self, pool_id: str, sub: str, purpose: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(cognito_codes).where(self._code_where(pool_id, sub, purpose)))

    # ---- sessions ------------------------------------------------------------------------------------

    async def create_session(self, session: SessionRecord) -> None:
        s = cognito_sessions
        async with self._db.write() as conn:
            await self._lock_user(conn, session.sub)
            await insert_new(conn, s, f"session {session.session_id}", row_values(session, s))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        s = cognito_sessions
        return await read_one(self._db, select(s).where(s.c.session_id == session_id), _session)

    async def revoke_session(self, session_id: str, at: datetime) -> bool:
        s = cognito_sessions
        async with self._db.write() as conn:
            found = await conn.scalar(select(s.c.session_id).where(s.c.session_id == session_id))
            if found is None:
                return False
            await conn.execute(
                update(s).where(s.c.session_id == session_id, s.c.revoked.is_(None)).values(revoked=utc(at))
            )
        return True

    async def revoke_user_sessions(self, pool_id: str, sub: str, at: datetime) -> int:
        s = cognito_sessions
        async with self._db.write() as conn:
            result = await conn.execute(
                update(s)
                .where(s.c.pool_id == pool_id, s.c.sub == sub, s.c.revoked.is_(None))
                .values(revoked=utc(at))
            )
        return int(result.rowcount)

    async def delete_expired_sessions(self, before: datetime) -> int:
        s = cognito_sessions
        async with self._db.write() as conn:
            result = await conn.execute(delete(s).where(s.c.expires < utc(before)))
        return int(result.rowcount)

    # ---- signing keys --------------------------------------------------------------------------------

    async def add_signing_key(self, key: SigningKeyRecord) -> None:
        k = cognito_signing_keys
        created = utc(key.created)
        async with self._db.write() as conn:
            await self._lock_pool(conn, key.pool_id)
            await conn.execute(
                update(k)
                .where(k.c.pool_id == key.pool_id, k.c.use == key.use, k.c.retired.is_(None))
                .values(retired=created)
            )
            await insert_new(conn, k, f"signing key {key.kid}", row_values(key, k, retired=None))

    async def list_signing_keys(self, pool_id: str) -> Sequence[SigningKeyRecord]:
        k = cognito_signing_keys
        async with self._db.read() as conn:
            rows = (
                await conn.execute(select(k).where(k.c.pool_id == pool_id).order_by(k.c.created, k.c.kid))
            ).all()
        return [_key(r) for r in rows]

    # ---- outbox --------------------------------------------------------------------------------------

    async def add_outbox_message(self, message: OutboxMessage) -> int:
        o = cognito_outbox
        async with self._db.write() as conn:
            await self._lock_pool(conn, message.pool_id)
            seq = await conn.scalar(insert(o).values(row_values(message, o)).returning(o.c.seq))
        return int(seq)

    async def list_outbox(self, pool_id: str | None, limit: int) -> Sequence[OutboxMessage]:
        check_limit(limit)
        o = cognito_outbox
        query = select(o).order_by(o.c.seq.desc()).limit(limit)
        if pool_id is not None:
            query = query.where(o.c.pool_id == pool_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_message(r) for r in rows]

    async def purge_outbox(self, before: datetime) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(delete(cognito_outbox).where(cognito_outbox.c.expires < utc(before)))
        return int(result.rowcount)
