"""The MQTT broker's tables as they are after migration 5 (the query-side description).

They share ``bastion.storage.sql.tables.metadata``, so the schema test and the contract suite's table
cleanup see them with every other table.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, Table, Text

from bastion.storage.sql.tables import metadata
from bastion.storage.sql.types import UtcDateTime, key_text

mqtt_sessions = Table(
    "mqtt_sessions",
    metadata,
    Column("client_id", key_text(), primary_key=True),
    Column("protocol_version", Integer, nullable=False),
    Column("expiry_interval", BigInteger, nullable=False),
    Column("expires", UtcDateTime),
)

mqtt_subscriptions = Table(
    "mqtt_subscriptions",
    metadata,
    Column(
        "client_id",
        key_text(),
        ForeignKey("mqtt_sessions.client_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("topic_filter", key_text(), primary_key=True),
    Column("qos", Integer, nullable=False),
    Column("no_local", Integer, nullable=False),
    Column("retain_as_published", Integer, nullable=False),
    Column("retain_handling", Integer, nullable=False),
)

mqtt_messages = Table(
    "mqtt_messages",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("topic", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("qos", Integer, nullable=False),
    Column("properties", LargeBinary, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime),
)

mqtt_queue = Table(
    "mqtt_queue",
    metadata,
    Column(
        "client_id",
        key_text(),
        ForeignKey("mqtt_sessions.client_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "message_id",
        BigInteger,
        ForeignKey("mqtt_messages.message_id"),
        primary_key=True,
        autoincrement=False,
    ),
    Index("ix_mqtt_queue_message_id", "message_id"),
)

mqtt_retained = Table(
    "mqtt_retained",
    metadata,
    Column("topic", key_text(), primary_key=True),
    Column("payload", LargeBinary, nullable=False),
    Column("qos", Integer, nullable=False),
    Column("properties", LargeBinary, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime),
)
