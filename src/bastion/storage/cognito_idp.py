"""Cognito user pools: records and the repository protocol.

The records hold what the service needs to find and check things (ids, names, keys, status, times);
everything the service only echoes back (a pool's policies, a client's flows and validities) is kept as
one JSON document in ``settings``, which storage never interprets.

Secrets are never stored in clear: passwords as SRP verifiers, one-time codes as HMACs, client secrets,
signing keys and outbox codes sealed with the master key (``bastion.sealing``).

Rules every backend follows (``tests/storage/test_contract_cognito_idp*.py``):

* Pools, clients and users are found by their ids; users also by ``username_key`` (the name as the pool
  compares it: lower-cased when the pool ignores case) and by an alias key.
* Within a pool, ``username_key`` is unique and so is each non-null alias column (``email_alias``,
  ``phone_alias``, ``preferred_alias``); a clash raises ``UserConflict`` naming the field.
* Deleting a pool removes its clients, users, codes, sessions, signing keys and outbox messages;
  deleting a user removes its codes and sessions.
* Listings page in key order (pools by id, clients by id, users by ``username_key``) with the opaque
  markers of ``bastion.storage.paging``; a foreign marker raises ``InvalidMarker``.
* Datetimes in must be timezone-aware; datetimes out are UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from bastion.storage.interfaces import AlreadyExists, Page

UserField = Literal["username", "email_alias", "phone_alias", "preferred_alias", "sub"]
KeyUse = Literal["id", "access"]
AliasKind = Literal["email", "phone_number", "preferred_username"]

ALIAS_COLUMNS: Mapping[AliasKind, UserField] = {
    "email": "email_alias",
    "phone_number": "phone_alias",
    "preferred_username": "preferred_alias",
}


def users_listing(pool_id: str) -> str:
    """The paging-marker listing name of a pool's users (``bastion.storage.paging``).

    The service builds markers with it when it stops part-way through a page (filtered ListUsers).
    """
    return f"cognito-users:{pool_id}"


class UserConflict(AlreadyExists):
    """Another user of the pool already has this username or alias."""

    def __init__(self, field_name: UserField) -> None:
        super().__init__(f"another user of the pool has the same {field_name}")
        self.field = field_name


@dataclass(frozen=True, slots=True)
class UserPoolRecord:
    pool_id: str
    name: str
    created: datetime
    updated: datetime
    settings: str  # JSON, owned by the service


@dataclass(frozen=True, slots=True)
class UserPoolClientRecord:
    client_id: str
    pool_id: str
    name: str
    created: datetime
    updated: datetime
    settings: str  # JSON, owned by the service
    # The client secret sealed with the master key; None for a public client.
    sealed_secret: bytes | None = None


@dataclass(frozen=True, slots=True)
class PoolUserRecord:
    pool_id: str
    sub: str
    username: str
    username_key: str
    status: str  # UNCONFIRMED, CONFIRMED, FORCE_CHANGE_PASSWORD, RESET_REQUIRED
    enabled: bool
    created: datetime
    updated: datetime
    attributes: dict[str, str] = field(default_factory=dict)
    # SRP verifier text (bastion.auth.srp.Verifier.to_text); None when no password is set.
    verifier: str | None = None
    password_set: datetime | None = None
    email_alias: str | None = None
    phone_alias: str | None = None
    preferred_alias: str | None = None
    # Kept by record_failed_sign_in / clear_failed_sign_ins only; update_user leaves them alone.
    failed_attempts: int = 0
    last_failure: datetime | None = None


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """A one-time code (sign-up confirmation, password reset, attribute verification), stored as an HMAC."""

    pool_id: str
    sub: str
    purpose: str
    code_hash: bytes
    created: datetime
    expires: datetime
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One sign-in: the refresh token names it, access and ID tokens carry its id as ``origin_jti``."""

    session_id: str
    pool_id: str
    sub: str
    client_id: str
    auth_time: datetime
    created: datetime
    expires: datetime
    revoked: datetime | None = None


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    kid: str
    pool_id: str
    use: KeyUse
    created: datetime
    sealed_private_key: bytes  # PKCS#8 PEM, sealed
    public_jwk: str  # JSON of the public JWK
    retired: datetime | None = None  # set when a newer key of the same use replaced it


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A code kept for a developer to read (the development delivery method), sealed."""

    pool_id: str
    username: str
    kind: str  # SIGN_UP, FORGOT_PASSWORD, VERIFY_ATTRIBUTE, INVITATION
    medium: str  # EMAIL or SMS
    destination: str
    sealed_secret: bytes
    created: datetime
    expires: datetime
    seq: int | None = None  # assigned by the store, increasing


class CognitoIdpRepository(Protocol):
    # ---- pools
    async def create_pool(self, pool: UserPoolRecord) -> None: ...  # AlreadyExists
    async def get_pool(self, pool_id: str) -> UserPoolRecord | None: ...
    async def list_pools(self, marker: str | None, limit: int) -> Page[UserPoolRecord]: ...

    async def update_pool(self, pool_id: str, name: str, settings: str, updated: datetime) -> None:
        """NotFound."""
        ...

    async def delete_pool(self, pool_id: str) -> None:
        """NotFound. Removes everything that belongs to the pool."""
        ...

    async def count_users(self, pool_id: str) -> int: ...

    # ---- app clients
    async def create_client(self, client: UserPoolClientRecord) -> None: ...  # NotFound (pool), AlreadyExists
    async def get_client(self, client_id: str) -> UserPoolClientRecord | None: ...

    async def list_clients(self, pool_id: str, marker: str | None, limit: int) -> Page[UserPoolClientRecord]:
        """NotFound (pool)."""
        ...

    async def update_client(self, client_id: str, name: str, settings: str, updated: datetime) -> None:
        """NotFound."""
        ...

    async def delete_client(self, client_id: str) -> None: ...  # NotFound

    # ---- users
    async def create_user(self, user: PoolUserRecord) -> None:
        """NotFound (pool); UserConflict (username, an alias, or the sub)."""
        ...

    async def get_user(self, pool_id: str, sub: str) -> PoolUserRecord | None: ...
    async def find_user(self, pool_id: str, username_key: str) -> PoolUserRecord | None: ...
    async def find_user_by_alias(self, pool_id: str, kind: AliasKind, key: str) -> PoolUserRecord | None: ...

    async def list_users(self, pool_id: str, marker: str | None, limit: int) -> Page[PoolUserRecord]:
        """In ``username_key`` order. NotFound (pool)."""
        ...

    async def update_user(self, user: PoolUserRecord) -> None:
        """Replace status, enabled, attributes, verifier, password_set, aliases and updated of the user
        (pool_id, sub). NotFound; UserConflict (an alias)."""
        ...

    async def delete_user(self, pool_id: str, sub: str) -> None: ...  # NotFound

    async def record_failed_sign_in(self, pool_id: str, sub: str, at: datetime) -> int:
        """Count one failed password check atomically; return the new count (0 if the user is gone)."""
        ...

    async def clear_failed_sign_ins(self, pool_id: str, sub: str) -> None: ...

    # ---- one-time codes (one per user and purpose; putting one replaces the previous)
    async def put_code(self, code: CodeRecord) -> None: ...  # NotFound (user)
    async def get_code(self, pool_id: str, sub: str, purpose: str) -> CodeRecord | None: ...

    async def count_code_failure(self, pool_id: str, sub: str, purpose: str) -> int:
        """Add one failed attempt to the code atomically; return the new count (0 if there is no code)."""
        ...

    async def delete_code(self, pool_id: str, sub: str, purpose: str) -> None: ...  # idempotent

    # ---- sign-in sessions (refresh tokens)
    async def create_session(self, session: SessionRecord) -> None: ...  # NotFound (user)
    async def get_session(self, session_id: str) -> SessionRecord | None: ...
    async def revoke_session(self, session_id: str, at: datetime) -> bool: ...  # False when unknown

    async def revoke_user_sessions(self, pool_id: str, sub: str, at: datetime) -> int:
        """Revoke every session of the user not yet revoked; return how many."""
        ...

    async def delete_expired_sessions(self, before: datetime) -> int: ...

    # ---- signing keys
    async def add_signing_key(self, key: SigningKeyRecord) -> None:
        """Add ``key`` and, in the same transaction, retire (at ``key.created``) the pool's other keys of
        the same use. NotFound (pool); AlreadyExists (kid)."""
        ...

    async def list_signing_keys(self, pool_id: str) -> Sequence[SigningKeyRecord]:
        """Oldest first."""
        ...

    # ---- outbox
    async def add_outbox_message(self, message: OutboxMessage) -> int: ...  # the new seq
    async def list_outbox(self, pool_id: str | None, limit: int) -> Sequence[OutboxMessage]:
        """Newest first."""
        ...

    async def purge_outbox(self, before: datetime) -> int: ...  # messages that expired before
