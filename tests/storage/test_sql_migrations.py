"""Migrations and the SQL schema (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine.reflection import Inspector

from bastion.storage import open_store
from bastion.storage.factory import database_for, parse_store_url
from bastion.storage.sql import MIGRATIONS, Database, Migration, MigrationError, SchemaTooNew, run_migrations
from bastion.storage.sql.migrations import schema_version
from bastion.storage.sql.tables import metadata

LATEST = len(MIGRATIONS)


@pytest.fixture
async def db(fresh_url: Callable[[], str]) -> AsyncIterator[Database]:
    database = database_for(parse_store_url(fresh_url()))
    try:
        yield database
    finally:
        await database.dispose()


async def _inspect(db: Database, look: Callable[[Any], Any]) -> Any:
    async with db.read() as conn:
        return await conn.run_sync(lambda sync: look(inspect(sync)))


async def _tables(db: Database) -> set[str]:
    names: list[str] = await _inspect(db, lambda i: i.get_table_names())
    return set(names)


async def _scalar(db: Database, sql: str) -> Any:
    async with db.read() as conn:
        return await conn.scalar(text(sql))


def _add_widgets(conn: Connection, dialect: str) -> None:
    conn.execute(text("CREATE TABLE widgets (id INTEGER PRIMARY KEY, dialect TEXT NOT NULL)"))
    conn.execute(text("INSERT INTO widgets (id, dialect) VALUES (1, :d)"), {"d": dialect})


WIDGETS = Migration(LATEST + 1, "widgets", _add_widgets)


async def test_a_fresh_database_gets_every_migration_once(db: Database) -> None:
    assert await schema_version(db) == 0
    assert await run_migrations(db) == LATEST
    assert await run_migrations(db) == LATEST
    assert await schema_version(db) == LATEST
    assert await _scalar(db, "SELECT COUNT(*) FROM schema_version") == LATEST
    assert {t.name for t in metadata.sorted_tables} <= await _tables(db)


async def test_an_appended_migration_runs_once_and_is_told_the_dialect(db: Database) -> None:
    await run_migrations(db)
    steps = [*MIGRATIONS, WIDGETS]
    # Several runners at once, as several processes starting together would be.
    assert await asyncio.gather(*(run_migrations(db, steps) for _ in range(4))) == [LATEST + 1] * 4
    assert await run_migrations(db, steps) == LATEST + 1
    assert await _scalar(db, "SELECT COUNT(*) FROM widgets") == 1
    assert await _scalar(db, "SELECT dialect FROM widgets") == db.dialect
    async with db.read() as conn:
        recorded = await conn.scalar(
            text("SELECT description FROM schema_version WHERE version = :v"), {"v": LATEST + 1}
        )
    assert recorded == "widgets"


async def test_a_failing_migration_leaves_no_trace(db: Database) -> None:
    def half_done(conn: Connection, dialect: str) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('half', 1)"))
        raise RuntimeError("step failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        await run_migrations(db, [*MIGRATIONS, Migration(LATEST + 1, "half", half_done)])
    # The earlier steps committed; the failed one rolled back whole, DDL included.
    assert await schema_version(db) == LATEST
    assert "half_done" not in await _tables(db)
    assert await _scalar(db, "SELECT COUNT(*) FROM meta WHERE key = 'half'") == 0


async def test_a_newer_schema_is_refused(db: Database) -> None:
    await run_migrations(db, [*MIGRATIONS, WIDGETS])
    with pytest.raises(SchemaTooNew, match=f"version {LATEST + 1}"):
        await run_migrations(db)


async def test_open_store_refuses_a_newer_schema(fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    database = database_for(parse_store_url(url))
    try:
        await run_migrations(database, [*MIGRATIONS, WIDGETS])
    finally:
        await database.dispose()
    with pytest.raises(SchemaTooNew):
        await open_store(url)


async def test_migrations_must_be_numbered_without_gaps(db: Database) -> None:
    gap = Migration(LATEST + 2, "gap", _add_widgets)
    with pytest.raises(MigrationError, match="without gaps"):
        await run_migrations(db, [*MIGRATIONS, gap])
    assert await schema_version(db) == 0  # refused before touching the database


async def test_tables_module_matches_the_migrated_schema(db: Database) -> None:
    await run_migrations(db)
    for table in metadata.sorted_tables:
        name = table.name
        columns = await _inspect(db, partial(Inspector.get_columns, table_name=name))
        assert [(c["name"], c["nullable"]) for c in columns] == [
            (c.name, c.nullable) for c in table.columns
        ], name
        pk = await _inspect(db, partial(Inspector.get_pk_constraint, table_name=name))
        assert pk["constrained_columns"] == [c.name for c in table.primary_key.columns], name
        fks = await _inspect(db, partial(Inspector.get_foreign_keys, table_name=name))
        declared = {(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys}
        assert {(fk["constrained_columns"][0], fk["referred_table"]) for fk in fks} == declared, table.name


KEYS = ["b", "_", "a", "Z", "é", "ab"]


async def test_name_keys_sort_by_code_point(db: Database) -> None:
    await run_migrations(db)
    if db.dialect == "postgresql":
        # Byte order whatever the database's locale: paging order must match SQLite and Python.
        collation = await _scalar(
            db,
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'roles' AND column_name = 'name_key'",
        )
        assert collation == "C"
    insert = text(
        "INSERT INTO roles (role_id, name, name_key, path, arn, trust_policy, max_session_duration, tags, "
        "created) VALUES (:k, :k, :k, '/', 'arn', '{}', 3600, '[]', '2024-01-01 00:00:00')"
    )
    async with db.write() as conn:
        for key in KEYS:
            await conn.execute(insert, {"k": key})
    async with db.read() as conn:
        ordered = list(await conn.scalars(text("SELECT name_key FROM roles ORDER BY name_key")))
    assert ordered == sorted(KEYS)
