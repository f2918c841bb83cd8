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
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import ColumnElement, Row, Table, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
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
from bastion.storage.interfaces import AlreadyExists, NotFound, Page
from bastion.storage.paging import check_limit, decode_marker, encode_marker
from bastion.storage.sql.engine import Database
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

_Row: TypeAlias = "Row[*tuple[Any, ...]]"
_R = TypeVar("_R")
_ALIAS_FIELDS: tuple[UserField, ...] = ("email_alias", "phone_alias", "preferred_alias")


def _pool(row: _Row) -> UserPoolRecord:
    return UserPoolRecord(row.pool_id, row.name, row.created, row.updated, row.settings)


def _client(row: _Row) -> UserPoolClientRecord:
    secret = None if row.sealed_secret is None else bytes(row.sealed_secret)
    return UserPoolClientRecord(
        row.client_id, row.pool_id, row.name, row.created, row.updated, row.settings, secret
    )


def _user(row: _Row) -> PoolUserRecord:
    return PoolUserRecord(
        pool_id=row.pool_id,
        sub=row.sub,
        username=row.username,
        username_key=row.username_key,
        status=row.status,
        enabled=bool(row.enabled),
        created=row.created,
        updated=row.updated,
        attributes=dict(json.loads(row.attributes)),
        verifier=row.verifier,
        password_set=row.password_set,
        email_alias=row.email_alias,
        phone_alias=row.phone_alias,
        preferred_alias=row.preferred_alias,
        failed_attempts=int(row.failed_attempts),
        last_failure=row.last_failure,
    )


def _session(row: _Row) -> SessionRecord:
    return SessionRecord(
        row.session_id,
        row.pool_id,
        row.sub,
        row.client_id,
        row.auth_time,
        row.created,
        row.expires,
        row.revoked,
    )


def _key(row: _Row) -> SigningKeyRecord:
    use: KeyUse = "id" if row.use == "id" else "access"
    return SigningKeyRecord(
        row.kid, row.pool_id, use, row.created, bytes(row.sealed_private_key), row.public_jwk, row.retired
    )


def _message(row: _Row) -> OutboxMessage:
    return OutboxMessage(
        pool_id=row.pool_id,
        username=row.username,
        kind=row.kind,
        medium=row.medium,
        destination=row.destination,
        sealed_secret=bytes(row.sealed_secret),
        created=row.created,
        expires=row.expires,
        seq=int(row.seq),
    )


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
        found = await conn.scalar(
            select(cognito_user_pools.c.pool_id)
            .where(cognito_user_pools.c.pool_id == pool_id)
            .with_for_update(read=True)
        )
        if found is None:
            raise NotFound(f"user pool {pool_id} does not exist")

    async def _lock_user(self, conn: AsyncConnection, sub: str) -> None:
        found = await conn.scalar(
            select(cognito_users.c.sub).where(cognito_users.c.sub == sub).with_for_update(read=True)
        )
        if found is None:
            raise NotFound(f"user {sub} does not exist")

    async def _page(
        self,
        table: Table,
        key: str,
        listing: str,
        to_record: Callable[[_Row], _R],
        where: ColumnElement[bool] | None,
        marker: str | None,
        limit: int,
    ) -> Page[_R]:
        check_limit(limit)
        column = table.c[key]
        query = select(table).order_by(column).limit(limit + 1)
        if where is not None:
            query = query.where(where)
        if marker is not None:
            (after,) = decode_marker(listing, marker, 1)
            query = query.where(column > after)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        next_marker = encode_marker(listing, getattr(rows[limit - 1], key)) if len(rows) > limit else None
        return Page([to_record(r) for r in rows[:limit]], next_marker)

    async def _one(
        self, table: Table, where: ColumnElement[bool], to_record: Callable[[_Row], _R]
    ) -> _R | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(table).where(where))).first()
        return None if row is None else to_record(row)

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
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    insert(cognito_user_pools).values(
                        pool_id=pool.pool_id,
                        name=pool.name,
                        settings=pool.settings,
                        created=utc(pool.created),
                        updated=utc(pool.updated),
                    )
                )
        except IntegrityError:
            raise AlreadyExists(f"user pool {pool.pool_id} already exists") from None

    async def get_pool(self, pool_id: str) -> UserPoolRecord | None:
        return await self._one(cognito_user_pools, cognito_user_pools.c.pool_id == pool_id, _pool)

    async def list_pools(self, marker: str | None, limit: int) -> Page[UserPoolRecord]:
        return await self._page(cognito_user_pools, "pool_id", "cognito-pools", _pool, None, marker, limit)

    async def update_pool(self, pool_id: str, name: str, settings: str, updated: datetime) -> None:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(cognito_user_pools)
                .where(cognito_user_pools.c.pool_id == pool_id)
                .values(name=name, settings=settings, updated=utc(updated))
            )
            if result.rowcount == 0:
                raise NotFound(f"user pool {pool_id} does not exist")

    async def delete_pool(self, pool_id: str) -> None:
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(cognito_user_pools).where(cognito_user_pools.c.pool_id == pool_id)
            )
            if result.rowcount == 0:
                raise NotFound(f"user pool {pool_id} does not exist")

    async def count_users(self, pool_id: str) -> int:
        async with self._db.read() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(cognito_users).where(cognito_users.c.pool_id == pool_id)
            )
        return int(count or 0)

    # ---- clients -------------------------------------------------------------------------------------

    async def create_client(self, client: UserPoolClientRecord) -> None:
        async with self._db.write() as conn:
            await self._lock_pool(conn, client.pool_id)
            try:
                await conn.execute(
                    insert(cognito_user_pool_clients).values(
                        client_id=client.client_id,
                        pool_id=client.pool_id,
                        name=client.name,
                        settings=client.settings,
                        sealed_secret=client.sealed_secret,
                        created=utc(client.created),
                        updated=utc(client.updated),
                    )
                )
            except IntegrityError:
                raise AlreadyExists(f"client {client.client_id} already exists") from None

    async def get_client(self, client_id: str) -> UserPoolClientRecord | None:
        return await self._one(
            cognito_user_pool_clients, cognito_user_pool_clients.c.client_id == client_id, _client
        )

    async def list_clients(self, pool_id: str, marker: str | None, limit: int) -> Page[UserPoolClientRecord]:
        if await self.get_pool(pool_id) is None:
            raise NotFound(f"user pool {pool_id} does not exist")
        c = cognito_user_pool_clients
        return await self._page(
            c, "client_id", f"cognito-clients:{pool_id}", _client, c.c.pool_id == pool_id, marker, limit
        )

    async def update_client(self, client_id: str, name: str, settings: str, updated: datetime) -> None:
        async with self._db.write() as conn:
            c = cognito_user_pool_clients
            result = await conn.execute(
                update(c)
                .where(c.c.client_id == client_id)
                .values(name=name, settings=settings, updated=utc(updated))
            )
            if result.rowcount == 0:
                raise NotFound(f"client {client_id} does not exist")

    async def delete_client(self, client_id: str) -> None:
        async with self._db.write() as conn:
            c = cognito_user_pool_clients
            result = await conn.execute(delete(c).where(c.c.client_id == client_id))
            if result.rowcount == 0:
                raise NotFound(f"client {client_id} does not exist")

    # ---- users ---------------------------------------------------------------------------------------

    async def create_user(self, user: PoolUserRecord) -> None:
        async with self._db.write() as conn:
            await self._lock_pool(conn, user.pool_id)
            await self._check_unique(conn, user, new=True)
            try:
                await conn.execute(
                    insert(cognito_users).values(
                        sub=user.sub,
                        pool_id=user.pool_id,
                        username=user.username,
                        username_key=user.username_key,
                        failed_attempts=0,
                        last_failure=None,
                        created=utc(user.created),
                        **_user_values(user),
                    )
                )
            except IntegrityError:
                # A concurrent writer took the name between the check and the insert.
                raise UserConflict("username") from None

    async def get_user(self, pool_id: str, sub: str) -> PoolUserRecord | None:
        u = cognito_users
        return await self._one(u, and_(u.c.pool_id == pool_id, u.c.sub == sub), _user)

    async def find_user(self, pool_id: str, username_key: str) -> PoolUserRecord | None:
        u = cognito_users
        return await self._one(u, and_(u.c.pool_id == pool_id, u.c.username_key == username_key), _user)

    async def find_user_by_alias(self, pool_id: str, kind: AliasKind, key: str) -> PoolUserRecord | None:
        u = cognito_users
        return await self._one(u, and_(u.c.pool_id == pool_id, u.c[ALIAS_COLUMNS[kind]] == key), _user)

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
            found = await conn.scalar(
                select(u.c.sub).where(u.c.pool_id == user.pool_id, u.c.sub == user.sub).with_for_update()
            )
            if found is None:
                raise NotFound(f"user {user.sub} does not exist")
            await self._check_unique(conn, user, new=False)
            try:
                await conn.execute(update(u).where(u.c.sub == user.sub).values(**_user_values(user)))
            except IntegrityError:
                raise UserConflict("email_alias") from None

    async def delete_user(self, pool_id: str, sub: str) -> None:
        u = cognito_users
        async with self._db.write() as conn:
            result = await conn.execute(delete(u).where(u.c.pool_id == pool_id, u.c.sub == sub))
            if result.rowcount == 0:
                raise NotFound(f"user {sub} does not exist")

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
            await conn.execute(
                insert(c).values(
                    sub=code.sub,
                    purpose=code.purpose,
                    pool_id=code.pool_id,
                    code_hash=code.code_hash,
                    attempts=code.attempts,
                    created=utc(code.created),
                    expires=utc(code.expires),
                )
            )

    def _code_where(self, pool_id: str, sub: str, purpose: str) -> ColumnElement[bool]:
        c = cognito_codes
        return and_(c.c.pool_id == pool_id, c.c.sub == sub, c.c.purpose == purpose)

    async def get_code(self, pool_id: str, sub: str, purpose: str) -> CodeRecord | None:
        def record(row: _Row) -> CodeRecord:
            return CodeRecord(
                row.pool_id,
                row.sub,
                row.purpose,
                bytes(row.code_hash),
                row.created,
                row.expires,
                row.attempts,
            )

        return await self._one(cognito_codes, self._code_where(pool_id, sub, purpose), record)

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
        async with self._db.write() as conn:
            await self._lock_user(conn, session.sub)
            try:
                await conn.execute(
                    insert(cognito_sessions).values(
                        session_id=session.session_id,
                        sub=session.sub,
                        pool_id=session.pool_id,
                        client_id=session.client_id,
                        auth_time=utc(session.auth_time),
                        created=utc(session.created),
                        expires=utc(session.expires),
                        revoked=None if session.revoked is None else utc(session.revoked),
                    )
                )
            except IntegrityError:
                raise AlreadyExists(f"session {session.session_id} already exists") from None

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._one(cognito_sessions, cognito_sessions.c.session_id == session_id, _session)

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
            try:
                await conn.execute(
                    insert(k).values(
                        kid=key.kid,
                        pool_id=key.pool_id,
                        use=key.use,
                        sealed_private_key=key.sealed_private_key,
                        public_jwk=key.public_jwk,
                        created=created,
                        retired=None,
                    )
                )
            except IntegrityError:
                raise AlreadyExists(f"signing key {key.kid} already exists") from None

    async def list_signing_keys(self, pool_id: str) -> Sequence[SigningKeyRecord]:
        k = cognito_signing_keys
        async with self._db.read() as conn:
            rows = (
                await conn.execute(select(k).where(k.c.pool_id == pool_id).order_by(k.c.created, k.c.kid))
            ).all()
        return [_key(r) for r in rows]

    # ---- outbox --------------------------------------------------------------------------------------

    async def add_outbox_message(self, message: OutboxMessage) -> int:
        async with self._db.write() as conn:
            await self._lock_pool(conn, message.pool_id)
            seq = await conn.scalar(
                insert(cognito_outbox)
                .values(
                    pool_id=message.pool_id,
                    username=message.username,
                    kind=message.kind,
                    medium=message.medium,
                    destination=message.destination,
                    sealed_secret=message.sealed_secret,
                    created=utc(message.created),
                    expires=utc(message.expires),
                )
                .returning(cognito_outbox.c.seq)
            )
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
