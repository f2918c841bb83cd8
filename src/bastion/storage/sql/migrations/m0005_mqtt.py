"""Migration 5: MQTT retained messages and persistent sessions (subscriptions, queued QoS 1 messages).

Frozen once released: the tables are declared here as they are at version 5 (not imported from
``tables_mqtt.py``), so a fresh database replays history exactly.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)

from bastion.storage.sql.migrations.m0001_iam import NAMING
from bastion.storage.sql.types import UtcDateTime, key_text


def apply(conn: Connection, dialect: str) -> None:
    md = MetaData(naming_convention=NAMING)
    Table(
        "mqtt_sessions",
        md,
        Column("client_id", key_text(), primary_key=True),
        Column("protocol_version", Integer, nullable=False),
        Column("expiry_interval", BigInteger, nullable=False),  # seconds
        Column("expires", UtcDateTime),  # NULL while a client is connected
    )
    Table(
        "mqtt_subscriptions",
        md,
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
    Table(
        "mqtt_messages",
        md,
        Column("message_id", BigInteger, primary_key=True, autoincrement=False),
        Column("topic", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("qos", Integer, nullable=False),
        Column("properties", LargeBinary, nullable=False),  # MQTT 5 property block, length-prefixed
        Column("created", UtcDateTime, nullable=False),
        Column("expires", UtcDateTime),
    )
    Table(
        "mqtt_queue",
        md,
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
        # Finding whether a message is still queued anywhere, when a queue entry goes.
        Index("ix_mqtt_queue_message_id", "message_id"),
    )
    Table(
        "mqtt_retained",
        md,
        Column("topic", key_text(), primary_key=True),
        Column("payload", LargeBinary, nullable=False),
        Column("qos", Integer, nullable=False),
        Column("properties", LargeBinary, nullable=False),
        Column("updated", UtcDateTime, nullable=False),
        Column("expires", UtcDateTime),
    )
    md.create_all(conn)
