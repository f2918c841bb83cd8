"""Migration 3: Cognito user pools, clients, users, codes, sessions, signing keys and the code outbox.

Frozen once released: the tables are declared here as they are at version 3 (not imported from the live
tables module), so a fresh database replays history exactly.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from bastion.storage.sql.migrations.m0001_iam import NAMING
from bastion.storage.sql.types import UtcDateTime, key_text


def apply(conn: Connection, dialect: str) -> None:
    md = MetaData(naming_convention=NAMING)
    pools = Table(
        "cognito_user_pools",
        md,
        Column("pool_id", key_text(), primary_key=True),
        Column("name", Text, nullable=False),
        Column("settings", Text, nullable=False),  # JSON owned by the service
        Column("created", UtcDateTime, nullable=False),
        Column("updated", UtcDateTime, nullable=False),
    )
    Table(
        "cognito_user_pool_clients",
        md,
        Column("client_id", key_text(), primary_key=True),
        Column(
            "pool_id", key_text(), ForeignKey(pools.c.pool_id, ondelete="CASCADE"), nullable=False, index=True
        ),
        Column("name", Text, nullable=False),
        Column("settings", Text, nullable=False),
        Column("sealed_secret", LargeBinary),
        Column("created", UtcDateTime, nullable=False),
        Column("updated", UtcDateTime, nullable=False),
    )
    users = Table(
        "cognito_users",
        md,
        # The sub is a random UUID, unique across pools: children refer to it alone.
        Column("sub", Text, primary_key=True),
        Column("pool_id", key_text(), ForeignKey(pools.c.pool_id, ondelete="CASCADE"), nullable=False),
        Column("username", Text, nullable=False),
        Column("username_key", key_text(), nullable=False),
        Column("status", Text, nullable=False),
        Column("enabled", Boolean, nullable=False),
        Column("attributes", Text, nullable=False),  # JSON object of name -> value
        Column("verifier", Text),
        Column("password_set", UtcDateTime),
        Column("email_alias", key_text()),
        Column("phone_alias", key_text()),
        Column("preferred_alias", key_text()),
        Column("failed_attempts", Integer, nullable=False),
        Column("last_failure", UtcDateTime),
        Column("created", UtcDateTime, nullable=False),
        Column("updated", UtcDateTime, nullable=False),
        # Listing order, and the uniqueness of sign-in names (NULL aliases never clash).
        UniqueConstraint("pool_id", "username_key"),
        UniqueConstraint("pool_id", "email_alias"),
        UniqueConstraint("pool_id", "phone_alias"),
        UniqueConstraint("pool_id", "preferred_alias"),
    )
    Table(
        "cognito_codes",
        md,
        Column("sub", Text, ForeignKey(users.c.sub, ondelete="CASCADE"), nullable=False),
        Column("purpose", Text, nullable=False),
        Column("pool_id", key_text(), nullable=False),
        Column("code_hash", LargeBinary, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        Column("expires", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("sub", "purpose"),
    )
    Table(
        "cognito_sessions",
        md,
        Column("session_id", Text, primary_key=True),
        Column("sub", Text, ForeignKey(users.c.sub, ondelete="CASCADE"), nullable=False, index=True),
        Column("pool_id", key_text(), nullable=False),
        Column("client_id", Text, nullable=False),
        Column("auth_time", UtcDateTime, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        Column("expires", UtcDateTime, nullable=False, index=True),
        Column("revoked", UtcDateTime),
    )
    Table(
        "cognito_signing_keys",
        md,
        Column("kid", Text, primary_key=True),
        Column(
            "pool_id", key_text(), ForeignKey(pools.c.pool_id, ondelete="CASCADE"), nullable=False, index=True
        ),
        Column("use", Text, nullable=False),
        Column("sealed_private_key", LargeBinary, nullable=False),
        Column("public_jwk", Text, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        Column("retired", UtcDateTime),
    )
    Table(
        "cognito_outbox",
        md,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("pool_id", key_text(), ForeignKey(pools.c.pool_id, ondelete="CASCADE"), nullable=False),
        Column("username", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("medium", Text, nullable=False),
        Column("destination", Text, nullable=False),
        Column("sealed_secret", LargeBinary, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        Column("expires", UtcDateTime, nullable=False, index=True),
        Index(None, "pool_id", "seq"),
    )
    md.create_all(conn, checkfirst=False)
