"""Migration 1: IAM roles, users, inline and managed policies, versions, attachments, access keys, meta.

Frozen: the tables are declared here as they were at version 1, not imported from ``tables.py``, so a
fresh database replays history exactly. Later changes belong in new migrations.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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
    insert,
)

from bastion.storage.sql.types import UtcDateTime, key_text

# Explicit names so later migrations can refer to constraints and indexes on both dialects.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def apply(conn: Connection, dialect: str) -> None:
    md = MetaData(naming_convention=NAMING)

    Table(
        "roles",
        md,
        Column("role_id", Text, primary_key=True),
        Column("name", Text, nullable=False),
        Column("name_key", key_text(), nullable=False),
        Column("path", Text, nullable=False),
        Column("arn", Text, nullable=False),
        Column("trust_policy", Text, nullable=False),
        Column("description", Text),
        Column("max_session_duration", Integer, nullable=False),
        Column("tags", Text, nullable=False),  # JSON list of [key, value] pairs, in order
        Column("created", UtcDateTime, nullable=False),
        UniqueConstraint("name_key"),
    )
    Table(
        "users",
        md,
        Column("user_id", Text, primary_key=True),
        Column("name", Text, nullable=False),
        Column("name_key", key_text(), nullable=False),
        Column("path", Text, nullable=False),
        Column("arn", Text, nullable=False),
        Column("tags", Text, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        UniqueConstraint("name_key"),
    )
    for owner in ("role", "user"):
        Table(
            f"{owner}_inline_policies",
            md,
            Column(f"{owner}_id", Text, ForeignKey(f"{owner}s.{owner}_id"), nullable=False),
            Column("name_key", key_text(), nullable=False),
            Column("name", Text, nullable=False),
            Column("document", Text, nullable=False),
            PrimaryKeyConstraint(f"{owner}_id", "name_key"),
        )
    Table(
        "managed_policies",
        md,
        Column("policy_id", Text, primary_key=True),
        Column("account", Text, nullable=False),
        Column("name", Text, nullable=False),
        Column("name_key", key_text(), nullable=False),
        Column("path", Text, nullable=False),
        Column("arn", Text, nullable=False),
        Column("arn_key", key_text(), nullable=False),
        Column("description", Text),
        Column("default_version_id", Text, nullable=False),
        Column("tags", Text, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        Column("updated", UtcDateTime, nullable=False),
        UniqueConstraint("arn_key"),
        UniqueConstraint("account", "name_key"),
        Index(None, "name_key", "arn_key"),  # listing order
    )
    Table(
        "policy_versions",
        md,
        Column(
            "policy_id", Text, ForeignKey("managed_policies.policy_id", ondelete="CASCADE"), nullable=False
        ),
        Column("version_id", Text, nullable=False),
        Column("seq", Integer, nullable=False),  # order of creation within the policy
        Column("document", Text, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("policy_id", "version_id"),
    )
    for owner in ("role", "user"):
        Table(
            f"{owner}_policy_attachments",
            md,
            Column(f"{owner}_id", Text, ForeignKey(f"{owner}s.{owner}_id"), nullable=False),
            Column("policy_id", Text, ForeignKey("managed_policies.policy_id"), nullable=False),
            PrimaryKeyConstraint(f"{owner}_id", "policy_id"),
            Index(None, "policy_id"),  # attachment counts and ListEntitiesForPolicy
        )
    Table(
        "access_keys",
        md,
        Column("access_key_id", Text, primary_key=True),
        Column("user_id", Text, ForeignKey("users.user_id"), nullable=False, index=True),
        Column("sealed_secret", LargeBinary, nullable=False),
        Column("status", Text, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        CheckConstraint("status IN ('Active', 'Inactive')", name="status"),
    )
    meta = Table(
        "meta",
        md,
        Column("key", Text, primary_key=True),
        Column("value", BigInteger, nullable=False),
    )

    md.create_all(conn, checkfirst=False)
    conn.execute(insert(meta).values(key="generation", value=0))
