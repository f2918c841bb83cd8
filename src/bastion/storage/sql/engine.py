"""Engines and connection pools for the two SQL backends.

SQLite (embedded default): one file in WAL mode. SQLite allows a single writer at a time, so writes go
through a pool of exactly one connection (in-process writers queue on the pool instead of spinning on
the file lock) and start with ``BEGIN IMMEDIATE`` (the write lock is taken up front, so a transaction
never fails half-way when it turns from reading to writing). Reads use a separate pool of read-only
connections; WAL lets them run while a write is in progress. ``busy_timeout`` makes other processes
wait for the lock instead of failing. ``synchronous=NORMAL``: in WAL mode a commit is durable against
a crash of the process (including ``kill -9``) but the last commits may be lost if the operating system
crashes or power fails before the next checkpoint; the database is never corrupted. That is the usual
trade for control-plane state; see docs/storage.md.

PostgreSQL: one pooled engine for reads and writes; an optional schema is put first on each
connection's ``search_path``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import URL, Connection, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

Dialect = Literal["sqlite", "postgresql"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_READERS = 4
POSTGRES_POOL_SIZE = 10
# RETURNING (used by the generation counter) arrived in SQLite 3.35.
SQLITE_MIN_VERSION = (3, 35, 0)


@dataclass(frozen=True, slots=True)
class Database:
    """The engines of one SQL store, and how to get a connection for reading or for writing."""

    dialect: Dialect
    writer: AsyncEngine
    reader: AsyncEngine
    # Shown in logs and repr; the password is masked.
    display_url: str
    pg_schema: str | None = None
    # SQLite only: the file (or URI) to switch to WAL before first use.
    sqlite_file: str | None = None
    sqlite_uri: bool = False

    async def prepare(self) -> None:
        """One-time setup before migrations: SQLite's journal mode, which is a property of the file."""
        if self.dialect == "sqlite" and self.sqlite_file is not None:
            await asyncio.to_thread(enable_wal, self.sqlite_file, uri=self.sqlite_uri)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a write transaction, committed on success, rolled back on error."""
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading; its transaction (one snapshot) ends when the block does."""
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _sqlite_pragmas(read_only: bool) -> list[str]:
    pragmas = [f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}", "PRAGMA foreign_keys = ON"]
    if read_only:
        pragmas.append("PRAGMA query_only = ON")
    else:
        pragmas.append("PRAGMA synchronous = NORMAL")
    return pragmas


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
    pragmas = _sqlite_pragmas(read_only)
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)


def enable_wal(path: str, *, uri: bool = False) -> None:
    """Put the database file in WAL mode (it stays so; later connections inherit it).

    The switch needs the file to itself, and SQLite reports "database is locked" at once, without
    waiting for busy_timeout, when another process is mid-transaction on a new file; so retry here.
    """
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
    deadline = time.monotonic() + timeout
    with closing(sqlite3.connect(path, timeout=timeout, isolation_level=None, uri=uri)) as conn:
        while True:
            try:
                (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            if str(mode).lower() != "wal":
                raise RuntimeError(
                    f"SQLite kept journal mode {mode!r}; Bastion needs WAL (is the file on NFS?)"
                )
            return


def check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < SQLITE_MIN_VERSION:
        need = ".".join(map(str, SQLITE_MIN_VERSION))
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old; Bastion needs {need} or newer")


def sqlite_database(url: URL, *, readers: int = SQLITE_READERS) -> Database:
    """Engines for ``sqlite+aiosqlite:///path`` (a file; the caller has checked the path)."""
    check_sqlite_version()
    writer = create_async_engine(url, pool_size=1, max_overflow=0)
    reader = create_async_engine(url, pool_size=readers, max_overflow=0)
    _configure_sqlite(writer, read_only=False)
    _configure_sqlite(reader, read_only=True)
    return Database(
        "sqlite",
        writer,
        reader,
        url.render_as_string(hide_password=True),
        sqlite_file=url.database,
        sqlite_uri=str(url.query.get("uri", "")).lower() == "true",
    )


def postgres_database(url: URL, *, schema: str | None, pool_size: int = POSTGRES_POOL_SIZE) -> Database:
    """A pooled engine for ``postgresql+asyncpg://`` (reads and writes share it)."""
    settings = {"application_name": "bastion"}
    if schema is not None:
        settings["search_path"] = f'"{schema}"'
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # Connections outlive server restarts and failovers: test each one before handing it out.
        pool_pre_ping=True,
        connect_args={"server_settings": settings},
    )
    shown = url if schema is None else url.update_query_dict({"schema": schema})
    return Database("postgresql", engine, engine, shown.render_as_string(hide_password=True), schema)
