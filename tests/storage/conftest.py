"""Backends for the storage contract suite.

``store`` runs a test against every backend: memory, SQLite (a file per test) and PostgreSQL. PostgreSQL
tests use schemas named after this run (``bastion_test_<pid>_<random>_<n>``) in the database at
``BASTION_TEST_POSTGRES_URL`` and drop them at the end, so runs never collide and leave nothing behind.
They are skipped, with the reason, only when that server cannot be reached.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import delete, update

from bastion.storage import open_store
from bastion.storage.interfaces import Store
from bastion.storage.sql import SqlStore
from bastion.storage.sql.tables import meta, metadata
from tests.conftest import POSTGRES_URL

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
DURABLE_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion on a private loop in another thread (callers may be inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _probe(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=3)
    await conn.close()


async def _drop(url: str, schemas: list[str]) -> None:
    conn = await asyncpg.connect(url, timeout=3)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_schema_factory() -> Iterator[Callable[[], str]]:
    """Hands out fresh schema names for this run; drops every one of them at the end."""
    try:
        _run(_probe(POSTGRES_URL))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc!r}); set BASTION_TEST_POSTGRES_URL")
    prefix = f"bastion_test_{os.getpid()}_{secrets.token_hex(3)}"
    made: list[str] = []

    def new_schema() -> str:
        made.append(f"{prefix}_{len(made)}")
        return made[-1]

    yield new_schema
    _run(_drop(POSTGRES_URL, made))


@pytest.fixture(scope="session")
def pg_shared_url(pg_schema_factory: Callable[[], str]) -> str:
    """One migrated schema for the ordinary contract tests (emptied before each)."""
    return with_schema(POSTGRES_URL, pg_schema_factory())


@pytest.fixture(params=DURABLE_BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """For each durable backend: a maker of URLs of empty, never-migrated databases."""
    backend: str = request.param
    if backend == "sqlite":
        return lambda: f"sqlite:///{tmp_path}/{secrets.token_hex(4)}/bastion.db"
    factory: Callable[[], str] = request.getfixturevalue("pg_schema_factory")
    return lambda: with_schema(POSTGRES_URL, factory())


async def _empty(store: SqlStore) -> None:
    """Remove every row but keep the schema: far cheaper than a new PostgreSQL schema per test.

    DELETE rather than TRUNCATE: on tables this small it is several times faster.
    """
    async with store.db.write() as conn:
        for table in reversed(metadata.sorted_tables):  # children before parents
            if table is meta:
                await conn.execute(update(meta).values(value=0))
            else:
                await conn.execute(delete(table))


async def _open_and_close(url: str) -> None:
    await (await open_store(url)).close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file; copying it is much faster than migrating per test."""
    path = tmp_path_factory.mktemp("template") / "bastion.db"
    _run(_open_and_close(f"sqlite:///{path}"))
    # Closing the last connection checkpoints the WAL into the file, so the file alone is the database.
    assert not path.with_name("bastion.db-wal").exists()
    return path


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    backend: str = request.param
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "bastion.db")
        return f"sqlite:///{tmp_path}/bastion.db"
    url: str = request.getfixturevalue("pg_shared_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await open_store(store_url)
    if isinstance(opened, SqlStore) and opened.db.dialect == "postgresql":
        await _empty(opened)
    try:
        yield opened
    finally:
        await opened.close()
