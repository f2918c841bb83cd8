"""Numbered schema migrations, applied in order, one transaction each.

To change the schema, write ``mNNNN_<what>.py`` with an ``apply(conn, dialect)`` function and append a
``Migration`` to ``MIGRATIONS``; then update ``bastion.storage.sql.tables`` to match. Never edit a
migration that has been released: databases in the field have already run it.

Concurrency: every step takes the database's migration lock inside its transaction (PostgreSQL: a
transaction-scoped advisory lock; SQLite: the write lock of ``BEGIN IMMEDIATE``) and re-reads the
version under it, so processes starting at once apply each step exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, func, insert, inspect, select, text

from bastion.storage.interfaces import StorageError
from bastion.storage.sql.migrations import (
    m0001_iam,
    m0002_iot,
    m0003_cognito_user_pools,
    m0004_cognito_identity_pools,
    m0005_mqtt,
)
from bastion.storage.sql.types import UtcDateTime

if TYPE_CHECKING:
    from bastion.storage.sql.engine import Database

# Key of the PostgreSQL advisory lock that serialises migrations (any constant unique to Bastion).
ADVISORY_LOCK_KEY = 0x62617374696F6E  # "bastion"


class MigrationError(StorageError):
    """The schema cannot be brought to the version this code expects."""


class SchemaTooNew(MigrationError):
    """The database was migrated by a newer Bastion; running older code on it could corrupt it."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    # Receives the connection (inside the step's transaction) and the dialect name:
    # "sqlite" or "postgresql", so differences are written where they occur.
    apply: Callable[[Connection, str], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "IAM: roles, users, inline and managed policies, versions, attachments, access keys",
        m0001_iam.apply,
    ),
    Migration(2, "AWS IoT policies, versions and attachments", m0002_iot.apply),
    Migration(
        3, "Cognito user pools, clients, users, codes and signing keys", m0003_cognito_user_pools.apply
    ),
    Migration(4, "Cognito identity pools and identities", m0004_cognito_identity_pools.apply),
    Migration(5, "MQTT retained messages and persistent sessions", m0005_mqtt.apply),
)

# Kept outside any migration: the runner needs it before it knows the version.
_schema_version = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied", UtcDateTime, nullable=False),
)


def _check_sequence(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations must be numbered 1, 2, 3 ... without gaps, got {versions}")


def _version_in(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(_schema_version.c.version), 0))).scalar_one())


def _apply_next(
    conn: Connection, dialect: str, migrations: Sequence[Migration], pg_schema: str | None
) -> tuple[int, bool]:
    """Apply the first pending migration; return the version now in force and whether a step ran."""
    if dialect == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        if pg_schema is not None:
            # The name was checked to be a plain identifier when the URL was parsed.
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"'))
    _schema_version.create(conn, checkfirst=True)
    current = _version_in(conn)
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNew(
            f"the database schema is at version {current} but this Bastion knows only up to {latest}; "
            "run a newer Bastion (a schema is never downgraded)"
        )
    if current == latest:
        return current, False
    step = migrations[current]
    step.apply(conn, dialect)
    conn.execute(
        insert(_schema_version).values(
            version=step.version, description=step.description, applied=datetime.now(UTC)
        )
    )
    return step.version, True


async def run_migrations(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema to the newest version; return that version. Idempotent."""
    _check_sequence(migrations)
    await db.prepare()
    while True:
        async with db.write() as conn:
            version, applied = await conn.run_sync(_apply_next, db.dialect, migrations, db.pg_schema)
        if not applied:
            return version


async def schema_version(db: Database) -> int:
    """The version recorded in the database (0 when it has never been migrated)."""
    async with db.read() as conn:
        exists = await conn.run_sync(lambda sync: inspect(sync).has_table(_schema_version.name))
        return await conn.run_sync(_version_in) if exists else 0
