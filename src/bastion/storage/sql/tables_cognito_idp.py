"""The Cognito user-pool tables as the queries see them (the result of migration 3).

They live in the shared ``metadata`` of ``bastion.storage.sql.tables`` so the schema check and the
test helpers that empty every table see them too.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, LargeBinary, Table, Text

from bastion.storage.sql.tables import metadata
from bastion.storage.sql.types import UtcDateTime, key_text

cognito_user_pools = Table(
    "cognito_user_pools",
    metadata,
    Column("pool_id", key_text(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("settings", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
)

cognito_user_pool_clients = Table(
    "cognito_user_pool_clients",
    metadata,
    Column("client_id", key_text(), primary_key=True),
    Column("pool_id", key_text(), ForeignKey("cognito_user_pools.pool_id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("settings", Text, nullable=False),
    Column("sealed_secret", LargeBinary),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
)

cognito_users = Table(
    "cognito_users",
    metadata,
    Column("sub", Text, primary_key=True),
    Column("pool_id", key_text(), ForeignKey("cognito_user_pools.pool_id"), nullable=False),
    Column("username", Text, nullable=False),
    Column("username_key", key_text(), nullable=False),
    Column("status", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("verifier", Text),
    Column("password_set", UtcDateTime),
    Column("email_alias", key_text()),
    Column("phone_alias", key_text()),
    Column("preferred_alias", key_text()),
    Column("failed_attempts", Integer, nullable=False),
    Column("last_failure", UtcDateTime),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
)

cognito_codes = Table(
    "cognito_codes",
    metadata,
    Column("sub", Text, ForeignKey("cognito_users.sub"), primary_key=True),
    Column("purpose", Text, primary_key=True),
    Column("pool_id", key_text(), nullable=False),
    Column("code_hash", LargeBinary, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime, nullable=False),
)

cognito_sessions = Table(
    "cognito_sessions",
    metadata,
    Column("session_id", Text, primary_key=True),
    Column("sub", Text, ForeignKey("cognito_users.sub"), nullable=False),
    Column("pool_id", key_text(), nullable=False),
    Column("client_id", Text, nullable=False),
    Column("auth_time", UtcDateTime, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime, nullable=False),
    Column("revoked", UtcDateTime),
)

cognito_signing_keys = Table(
    "cognito_signing_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("pool_id", key_text(), ForeignKey("cognito_user_pools.pool_id"), nullable=False),
    Column("use", Text, nullable=False),
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("retired", UtcDateTime),
)

cognito_outbox = Table(
    "cognito_outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("pool_id", key_text(), ForeignKey("cognito_user_pools.pool_id"), nullable=False),
    Column("username", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("medium", Text, nullable=False),
    Column("destination", Text, nullable=False),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime, nullable=False),
)
