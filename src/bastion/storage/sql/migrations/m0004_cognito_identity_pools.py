"""Migration 4: Cognito identity pools, their identities and linked logins, and OpenID signing keys.

Frozen once released: the tables are declared here as they are at version 4 (not imported from a live
tables module), so a fresh database replays history exactly.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from bastion.storage.sql.migrations.m0001_iam import NAMING
from bastion.storage.sql.types import UtcDateTime


def apply(conn: Connection, dialect: str) -> None:
    md = MetaData(naming_convention=NAMING)
    Table(
        "identity_pools",
        md,
        Column("pool_id", Text, primary_key=True),
        Column("name", Text, nullable=False),
        Column("allow_unauthenticated", Boolean, nullable=False),
        Column("allow_classic_flow", Boolean, nullable=False),
        # JSON: providers, login providers, developer provider name, OIDC and SAML provider ARNs.
        Column("settings", Text, nullable=False),
        Column("tags", Text, nullable=False),  # JSON list of [key, value] pairs
        Column("roles", Text, nullable=False),  # JSON object: authenticated/unauthenticated -> ARN
        Column("role_mappings", Text, nullable=False),  # JSON list, in the order they were set
        Column("created", UtcDateTime, nullable=False),
    )
    Table(
        "identity_pool_identities",
        md,
        Column("identity_id", Text, primary_key=True),
        Column("pool_id", Text, ForeignKey("identity_pools.pool_id", ondelete="CASCADE"), nullable=False),
        Column("disabled", Boolean, nullable=False),
        Column("merged_into", Text),
        Column("created", UtcDateTime, nullable=False),
        Column("last_modified", UtcDateTime, nullable=False),
        Index(None, "pool_id", "identity_id"),  # ListIdentities order
    )
    Table(
        "identity_pool_logins",
        md,
        Column(
            "identity_id",
            Text,
            ForeignKey("identity_pool_identities.identity_id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("provider", Text, nullable=False),
        # Copied from the identity so that one user maps to one identity per pool (the unique key).
        Column("pool_id", Text, nullable=False),
        Column("subject", Text, nullable=False),
        PrimaryKeyConstraint("identity_id", "provider"),
        UniqueConstraint("pool_id", "provider", "subject"),
    )
    Table(
        "identity_pool_signing_keys",
        md,
        Column("kid", Text, primary_key=True),
        Column("sealed_private_key", LargeBinary, nullable=False),
        Column("created", UtcDateTime, nullable=False),
    )
    md.create_all(conn, checkfirst=False)
