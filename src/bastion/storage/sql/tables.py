"""The current schema, as SQLAlchemy Core tables used by the queries.

Migrations create and change the real tables (``bastion.storage.sql.migrations``); this module must
describe the result of applying all of them. ``tests/storage/test_sql_schema.py`` compares the two.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary, MetaData, Table, Text

from bastion.storage.sql.types import UtcDateTime, key_text

metadata = MetaData()

roles = Table(
    "roles",
    metadata,
    Column("role_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_key", key_text(), nullable=False, unique=True),
    Column("path", Text, nullable=False),
    Column("arn", Text, nullable=False),
    Column("trust_policy", Text, nullable=False),
    Column("description", Text),
    Column("max_session_duration", Integer, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_key", key_text(), nullable=False, unique=True),
    Column("path", Text, nullable=False),
    Column("arn", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

role_inline_policies = Table(
    "role_inline_policies",
    metadata,
    Column("role_id", Text, ForeignKey("roles.role_id"), primary_key=True),
    Column("name_key", key_text(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("document", Text, nullable=False),
)

user_inline_policies = Table(
    "user_inline_policies",
    metadata,
    Column("user_id", Text, ForeignKey("users.user_id"), primary_key=True),
    Column("name_key", key_text(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("document", Text, nullable=False),
)

managed_policies = Table(
    "managed_policies",
    metadata,
    Column("policy_id", Text, primary_key=True),
    Column("account", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("name_key", key_text(), nullable=False),
    Column("path", Text, nullable=False),
    Column("arn", Text, nullable=False),
    Column("arn_key", key_text(), nullable=False, unique=True),
    Column("description", Text),
    Column("default_version_id", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("policy_id", Text, ForeignKey("managed_policies.policy_id"), primary_key=True),
    Column("version_id", Text, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

role_policy_attachments = Table(
    "role_policy_attachments",
    metadata,
    Column("role_id", Text, ForeignKey("roles.role_id"), primary_key=True),
    Column("policy_id", Text, ForeignKey("managed_policies.policy_id"), primary_key=True),
)

user_policy_attachments = Table(
    "user_policy_attachments",
    metadata,
    Column("user_id", Text, ForeignKey("users.user_id"), primary_key=True),
    Column("policy_id", Text, ForeignKey("managed_policies.policy_id"), primary_key=True),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", Text, primary_key=True),
    Column("user_id", Text, ForeignKey("users.user_id"), nullable=False),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
)
