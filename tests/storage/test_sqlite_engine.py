"""The SQLite engine settings: durability and locking behave as docs/storage.md says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bastion.storage import open_store
from bastion.storage.sql import SqlStore


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = await open_store(f"sqlite:///{tmp_path}/data/bastion.db")
    assert isinstance(store, SqlStore)
    try:
        yield store
    finally:
        await store.close()


async def test_the_data_directory_is_created(tmp_path: Path, sqlite_store: SqlStore) -> None:
    assert (tmp_path / "data" / "bastion.db").is_file()


async def test_writer_pragmas(sqlite_store: SqlStore) -> None:
    async with sqlite_store.db.write() as conn:
        got = {
            p: await conn.scalar(text(f"PRAGMA {p}")) for p in ("journal_mode", "synchronous", "foreign_keys")
        }
        got["busy_timeout"] = await conn.scalar(text("PRAGMA busy_timeout"))
    # synchronous 1 = NORMAL
    assert got == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 10_000}


async def test_readers_cannot_write(sqlite_store: SqlStore) -> None:
    async with sqlite_store.db.read() as conn:
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert await conn.scalar(text("PRAGMA query_only")) == 1
        with pytest.raises(OperationalError, match="readonly"):
            await conn.execute(text("UPDATE meta SET value = 99"))
    assert await sqlite_store.meta.get_generation() == 0


async def test_foreign_keys_are_enforced(sqlite_store: SqlStore) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"):
        async with sqlite_store.db.write() as conn:
            await conn.execute(
                text("INSERT INTO access_keys VALUES ('AKIA', 'no-such-user', x'00', 'Active', '2024')")
            )


async def test_a_write_transaction_holds_the_lock_from_its_start(
    tmp_path: Path, sqlite_store: SqlStore
) -> None:
    # A second store stands in for another process on the same file.
    other = await open_store(f"sqlite:///{tmp_path}/data/bastion.db")
    try:
        async with sqlite_store.db.write():
            # Nothing executed yet: BEGIN IMMEDIATE alone must keep the other writer out.
            contender = asyncio.create_task(other.meta.bump_generation())
            await asyncio.sleep(0.2)
            assert not contender.done()
            # Readers are not blocked by the writer (WAL).
            assert await other.meta.get_generation() == 0
        assert await asyncio.wait_for(contender, 5) == 1
    finally:
        await other.close()
