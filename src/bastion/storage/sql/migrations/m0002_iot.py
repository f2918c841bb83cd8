"""Migration 2: AWS IoT policies, their numbered versions, and their attachments to targets.

Frozen once released: the tables are declared here as they are at version 2 (not imported from a live
tables module), so a fresh database replays history exactly.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from bastion.storage.sql.migrations.m0001_iam import NAMING
from bastion.storage.sql.types import UtcDateTime, key_text


def apply(conn: Connection, dialect: str) -> None:
    md = MetaData(naming_convention=NAMING)
    Table(
        "iot_policies",
        md,
        # AWS IoT policy names are case-sensitive: the name itself is the key (byte order for listings).
        Column("name", key_text(), primary_key=True),
        Column("arn", Text, nullable=False),
        Column("default_version", Integer, nullable=False),
        # The highest version number ever handed out, so numbers are never reused.
        Column("last_version", Integer, nullable=False),
        Column("tags", Text, nullable=False),  # JSON list of [key, value] pairs, in order
        Column("created", UtcDateTime, nullable=False),
        Column("updated", UtcDateTime, nullable=False),
        Index(None, "created", "name"),  # ListPolicies order
    )
    Table(
        "iot_policy_versions",
        md,
        Column(
            "policy_name", key_text(), ForeignKey("iot_policies.name", ondelete="CASCADE"), nullable=False
        ),
        Column("version", Integer, nullable=False),
        Column("document", Text, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("policy_name", "version"),
    )
    Table(
        "iot_policy_targets",
        md,
        # A Cognito identity id, certificate ARN or thing-group ARN, kept as given.
        Column("target", key_text(), nullable=False),
        Column("policy_name", key_text(), ForeignKey("iot_policies.name"), nullable=False),
        PrimaryKeyConstraint("target", "policy_name"),
        Index(None, "policy_name", "target"),  # ListTargetsForPolicy, and the delete check
    )
    md.create_all(conn, checkfirst=False)
