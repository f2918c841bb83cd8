"""The AWS IoT tables as the queries see them (the result of migration 2), on the shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, Table, Text

from bastion.storage.sql.tables import metadata
from bastion.storage.sql.types import UtcDateTime, key_text

iot_policies = Table(
    "iot_policies",
    metadata,
    Column("name", key_text(), primary_key=True),
    Column("arn", Text, nullable=False),
    Column("default_version", Integer, nullable=False),
    Column("last_version", Integer, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
)

iot_policy_versions = Table(
    "iot_policy_versions",
    metadata,
    Column("policy_name", key_text(), ForeignKey("iot_policies.name"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

iot_policy_targets = Table(
    "iot_policy_targets",
    metadata,
    Column("target", key_text(), primary_key=True),
    Column("policy_name", key_text(), ForeignKey("iot_policies.name"), primary_key=True),
)
