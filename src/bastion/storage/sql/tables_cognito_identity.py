"""Live Core tables of Cognito identity pools (the result of migration 4), used by the queries.

They are declared on the shared ``metadata`` of ``bastion.storage.sql.tables``, so the schema test and
the test fixtures see them with every other table.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, LargeBinary, Table, Text

from bastion.storage.sql.tables import metadata
from bastion.storage.sql.types import UtcDateTime

identity_pools = Table(
    "identity_pools",
    metadata,
    Column("pool_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("allow_unauthenticated", Boolean, nullable=False),
    Column("allow_classic_flow", Boolean, nullable=False),
    Column("settings", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("roles", Text, nullable=False),
    Column("role_mappings", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

identity_pool_identities = Table(
    "identity_pool_identities",
    metadata,
    Column("identity_id", Text, primary_key=True),
    Column("pool_id", Text, ForeignKey("identity_pools.pool_id", ondelete="CASCADE"), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("merged_into", Text),
    Column("created", UtcDateTime, nullable=False),
    Column("last_modified", UtcDateTime, nullable=False),
)

identity_pool_logins = Table(
    "identity_pool_logins",
    metadata,
    Column(
        "identity_id",
        Text,
        ForeignKey("identity_pool_identities.identity_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("provider", Text, primary_key=True),
    Column("pool_id", Text, nullable=False),
    Column("subject", Text, nullable=False),
)

identity_pool_signing_keys = Table(
    "identity_pool_signing_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)
