"""In-memory CognitoIdpRepository, for unit tests of the service.

Same contract as the SQL backend; every method finishes without awaiting, so each call is atomic on one
event loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from bastion.storage.cognito_idp import (
    ALIAS_COLUMNS,
    AliasKind,
    CodeRecord,
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
from bastion.storage.values import utc

_T = TypeVar("_T")
_ALIAS_FIELDS: tuple[UserField, ...] = ("email_alias", "phone_alias", "preferred_alias")


def _page(
    listing: str, items: Sequence[_T], key: Callable[[_T], str], marker: str | None, limit: int
) -> Page[_T]:
    check_limit(limit)
    ordered = sorted(items, key=key)
    if marker is not None:
        (after,) = decode_marker(listing, marker, 1)
        ordered = [i for i in ordered if key(i) > after]
    chosen = ordered[: limit + 1]
    next_marker = encode_marker(listing, key(chosen[limit - 1])) if len(chosen) > limit else None
    return Page(chosen[:limit], next_marker)


def _user_in(user: PoolUserRecord) -> PoolUserRecord:
    return dataclasses.replace(
        user,
        created=utc(user.created),
        updated=utc(user.updated),
        password_set=None if user.password_set is None else utc(user.password_set),
        attributes=dict(user.attributes),
        failed_attempts=0,
        last_failure=None,
    )


class MemoryCognitoIdpRepository:
    def __init__(self) -> None:
        self._pools: dict[str, UserPoolRecord] = {}
        self._clients: dict[str, UserPoolClientRecord] = {}
        self._users: dict[tuple[str, str], PoolUserRecord] = {}
        self._codes: dict[tuple[str, str, str], CodeRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._keys: dict[str, SigningKeyRecord] = {}
        self._outbox: list[OutboxMessage] = []
        self._seq = 0

    # ---- pools ---------------------------------------------------------------------------------------

    def _require_pool(self, pool_id: str) -> UserPoolRecord:
        pool = self._pools.get(pool_id)
        if pool is None:
            raise NotFound(f"user pool {pool_id} does not exist")
        return pool

    async def create_pool(self, pool: UserPoolRecord) -> None:
        if pool.pool_id in self._pools:
            raise AlreadyExists(f"user pool {pool.pool_id} already exists")
        self._pools[pool.pool_id] = dataclasses.replace(
            pool, created=utc(pool.created), updated=utc(pool.updated)
        )

    async def get_pool(self, pool_id: str) -> UserPoolRecord | None:
        return self._pools.get(pool_id)

    async def list_pools(self, marker: str | None, limit: int) -> Page[UserPoolRecord]:
        return _page("cognito-pools", list(self._pools.values()), lambda p: p.pool_id, marker, limit)

    async def update_pool(self, pool_id: str, name: str, settings: str, updated: datetime) -> None:
        pool = self._require_pool(pool_id)
        self._pools[pool_id] = dataclasses.replace(pool, name=name, settings=settings, updated=utc(updated))

    async def delete_pool(self, pool_id: str) -> None:
        self._require_pool(pool_id)
        del self._pools[pool_id]
        self._clients = {k: c for k, c in self._clients.items() if c.pool_id != pool_id}
        self._users = {k: u for k, u in self._users.items() if k[0] != pool_id}
        self._codes = {k: c for k, c in self._codes.items() if k[0] != pool_id}
        self._sessions = {k: s for k, s in self._sessions.items() if s.pool_id != pool_id}
        self._keys = {k: key for k, key in self._keys.items() if key.pool_id != pool_id}
        self._outbox = [m for m in self._outbox if m.pool_id != pool_id]

    async def count_users(self, pool_id: str) -> int:
        return sum(1 for key in self._users if key[0] == pool_id)

    # ---- clients -------------------------------------------------------------------------------------

    async def create_client(self, client: UserPoolClientRecord) -> None:
        self._require_pool(client.pool_id)
        if client.client_id in self._clients:
            raise AlreadyExists(f"client {client.client_id} already exists")
        self._clients[client.client_id] = dataclasses.replace(
            client, created=utc(client.created), updated=utc(client.updated)
        )

    async def get_client(self, client_id: str) -> UserPoolClientRecord | None:
        return self._clients.get(client_id)

    async def list_clients(self, pool_id: str, marker: str | None, limit: int) -> Page[UserPoolClientRecord]:
        self._require_pool(pool_id)
        mine = [c for c in self._clients.values() if c.pool_id == pool_id]
        return _page(f"cognito-clients:{pool_id}", mine, lambda c: c.client_id, marker, limit)

    async def update_client(self, client_id: str, name: str, settings: str, updated: datetime) -> None:
        client = self._clients.get(client_id)
        if client is None:
            raise NotFound(f"client {client_id} does not exist")
        self._clients[client_id] = dataclasses.replace(
            client, name=name, settings=settings, updated=utc(updated)
        )

    async def delete_client(self, client_id: str) -> None:
        if self._clients.pop(client_id, None) is None:
            raise NotFound(f"client {client_id} does not exist")

    # ---- users ---------------------------------------------------------------------------------------

    def _check_unique(self, user: PoolUserRecord, *, new: bool) -> None:
        for (pool_id, sub), other in self._users.items():
            if sub == user.sub:
                # The sub is unique across pools (the SQL key is the sub alone).
                if new:
                    raise UserConflict("sub")
                continue
            if pool_id != user.pool_id:
                continue
            if new and other.username_key == user.username_key:
                raise UserConflict("username")
            for name in _ALIAS_FIELDS:
                mine = getattr(user, name)
                if mine is not None and mine == getattr(other, name):
                    raise UserConflict(name)

    async def create_user(self, user: PoolUserRecord) -> None:
        self._require_pool(user.pool_id)
        self._check_unique(user, new=True)
        self._users[(user.pool_id, user.sub)] = _user_in(user)

    async def get_user(self, pool_id: str, sub: str) -> PoolUserRecord | None:
        return self._users.get((pool_id, sub))

    async def find_user(self, pool_id: str, username_key: str) -> PoolUserRecord | None:
        for (pid, _), user in self._users.items():
            if pid == pool_id and user.username_key == username_key:
                return user
        return None

    async def find_user_by_alias(self, pool_id: str, kind: AliasKind, key: str) -> PoolUserRecord | None:
        column = ALIAS_COLUMNS[kind]
        for (pid, _), user in self._users.items():
            if pid == pool_id and getattr(user, column) == key:
                return user
        return None

    async def list_users(self, pool_id: str, marker: str | None, limit: int) -> Page[PoolUserRecord]:
        self._require_pool(pool_id)
        mine = [u for (pid, _), u in self._users.items() if pid == pool_id]
        return _page(users_listing(pool_id), mine, lambda u: u.username_key, marker, limit)

    async def update_user(self, user: PoolUserRecord) -> None:
        current = self._users.get((user.pool_id, user.sub))
        if current is None:
            raise NotFound(f"user {user.sub} does not exist")
        self._check_unique(user, new=False)
        self._users[(user.pool_id, user.sub)] = dataclasses.replace(
            current,
            status=user.status,
            enabled=user.enabled,
            attributes=dict(user.attributes),
            verifier=user.verifier,
            password_set=None if user.password_set is None else utc(user.password_set),
            email_alias=user.email_alias,
            phone_alias=user.phone_alias,
            preferred_alias=user.preferred_alias,
            updated=utc(user.updated),
        )

    async def delete_user(self, pool_id: str, sub: str) -> None:
        if self._users.pop((pool_id, sub), None) is None:
            raise NotFound(f"user {sub} does not exist")
        self._codes = {k: c for k, c in self._codes.items() if k[:2] != (pool_id, sub)}
        self._sessions = {k: s for k, s in self._sessions.items() if (s.pool_id, s.sub) != (pool_id, sub)}

    async def record_failed_sign_in(self, pool_id: str, sub: str, at: datetime) -> int:
        user = self._users.get((pool_id, sub))
        if user is None:
            return 0
        count = user.failed_attempts + 1
        self._users[(pool_id, sub)] = dataclasses.replace(user, failed_attempts=count, last_failure=utc(at))
        return count

    async def clear_failed_sign_ins(self, pool_id: str, sub: str) -> None:
        user = self._users.get((pool_id, sub))
        if user is not None:
            self._users[(pool_id, sub)] = dataclasses.replace(user, failed_attempts=0, last_failure=None)

    # ---- codes ---------------------------------------------------------------------------------------

    async def put_code(self, code: CodeRecord) -> None:
        if (code.pool_id, code.sub) not in self._users:
            raise NotFound(f"user {code.sub} does not exist")
        self._codes[(code.pool_id, code.sub, code.purpose)] = dataclasses.replace(
            code, created=utc(code.created), expires=utc(code.expires), code_hash=bytes(code.code_hash)
        )

    async def get_code(self, pool_id: str, sub: str, purpose: str) -> CodeRecord | None:
        return self._codes.get((pool_id, sub, purpose))

    async def count_code_failure(self, pool_id: str, sub: str, purpose: str) -> int:
        code = self._codes.get((pool_id, sub, purpose))
        if code is None:
            return 0
        self._codes[(pool_id, sub, purpose)] = dataclasses.replace(code, attempts=code.attempts + 1)
        return code.attempts + 1

    async def delete_code(self, pool_id: str, sub: str, purpose: str) -> None:
        self._codes.pop((pool_id, sub, purpose), None)

    # ---- sessions ------------------------------------------------------------------------------------

    async def create_session(self, session: SessionRecord) -> None:
        if (session.pool_id, session.sub) not in self._users:
            raise NotFound(f"user {session.sub} does not exist")
        if session.session_id in self._sessions:
            raise AlreadyExists(f"session {session.session_id} already exists")
        self._sessions[session.session_id] = dataclasses.replace(
            session,
            auth_time=utc(session.auth_time),
            created=utc(session.created),
            expires=utc(session.expires),
            revoked=None if session.revoked is None else utc(session.revoked),
        )

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return self._sessions.get(session_id)

    async def revoke_session(self, session_id: str, at: datetime) -> bool:
        session = self._sessions.get(session_id)
        if session is None:
            return False
        if session.revoked is None:
            self._sessions[session_id] = dataclasses.replace(session, revoked=utc(at))
        return True

    async def revoke_user_sessions(self, pool_id: str, sub: str, at: datetime) -> int:
        count = 0
        for sid, session in list(self._sessions.items()):
            if (session.pool_id, session.sub) == (pool_id, sub) and session.revoked is None:
                self._sessions[sid] = dataclasses.replace(session, revoked=utc(at))
                count += 1
        return count

    async def delete_expired_sessions(self, before: datetime) -> int:
        limit = utc(before)
        stale = [sid for sid, s in self._sessions.items() if s.expires < limit]
        for sid in stale:
            del self._sessions[sid]
        return len(stale)

    # ---- signing keys --------------------------------------------------------------------------------

    async def add_signing_key(self, key: SigningKeyRecord) -> None:
        self._require_pool(key.pool_id)
        if key.kid in self._keys:
            raise AlreadyExists(f"signing key {key.kid} already exists")
        created = utc(key.created)
        for kid, other in list(self._keys.items()):
            if other.pool_id == key.pool_id and other.use == key.use and other.retired is None:
                self._keys[kid] = dataclasses.replace(other, retired=created)
        self._keys[key.kid] = dataclasses.replace(
            key, created=created, sealed_private_key=bytes(key.sealed_private_key), retired=None
        )

    async def list_signing_keys(self, pool_id: str) -> Sequence[SigningKeyRecord]:
        # Insertion order is creation order.
        return [k for k in self._keys.values() if k.pool_id == pool_id]

    # ---- outbox --------------------------------------------------------------------------------------

    async def add_outbox_message(self, message: OutboxMessage) -> int:
        self._require_pool(message.pool_id)
        self._seq += 1
        self._outbox.append(
            dataclasses.replace(
                message,
                seq=self._seq,
                created=utc(message.created),
                expires=utc(message.expires),
                sealed_secret=bytes(message.sealed_secret),
            )
        )
        return self._seq

    async def list_outbox(self, pool_id: str | None, limit: int) -> Sequence[OutboxMessage]:
        check_limit(limit)
        mine = [m for m in self._outbox if pool_id is None or m.pool_id == pool_id]
        return list(reversed(mine))[:limit]

    async def purge_outbox(self, before: datetime) -> int:
        limit = utc(before)
        keep = [m for m in self._outbox if m.expires >= limit]
        removed = len(self._outbox) - len(keep)
        self._outbox = keep
        return removed
