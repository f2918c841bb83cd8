"""``open_store(url)``: pick the backend from the URL, migrate it, hand back a ready Store.

Accepted URLs::

    memory://                                   in-process, nothing persisted (tests)
    sqlite:///relative/or/absolute/path.db      embedded default; also sqlite+aiosqlite:///...
    postgresql://user:pw@host:5432/db           also postgres://, postgresql+asyncpg://

Extra query parameters understood here (and removed before the driver sees the URL):
``schema=NAME`` (PostgreSQL: keep Bastion's tables in that schema, created if missing) and
``pool_size=N`` (PostgreSQL: connections in the pool; SQLite: read connections).
The URL's password is never logged or put in an error message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bastion.storage.interfaces import Store

if TYPE_CHECKING:
    from bastion.storage.sql.engine import Database

log = logging.getLogger("bastion.storage")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite"}
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}


class StorageUrlError(ValueError):
    """The storage URL cannot be used (unknown scheme, missing path, bad parameter)."""


@dataclass(frozen=True, slots=True)
class StoreUrl:
    backend: Literal["memory", "sqlite", "postgresql"]
    # The SQLAlchemy URL with the async driver and without Bastion's own parameters (None for memory).
    url: URL | None
    schema: str | None = None
    pool_size: int | None = None

    def redacted(self) -> str:
        return "memory://" if self.url is None else self.url.render_as_string(hide_password=True)


def parse_store_url(raw: str) -> StoreUrl:
    if raw.strip() in ("memory://", "memory:"):
        return StoreUrl("memory", None)
    try:
        url = make_url(raw)
    except ArgumentError:
        # Not echoed: an unparseable URL may still contain a password.
        raise StorageUrlError(
            "the storage URL cannot be parsed; expected e.g. sqlite:///data/bastion.db"
        ) from None
    pool_size = _pool_size(url)
    url = url.difference_update_query(["pool_size"])
    if url.drivername in _SQLITE_SCHEMES:
        if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
            raise StorageUrlError(
                "a SQLite URL needs a file path (sqlite:///path/to/file.db); use memory:// for tests"
            )
        return StoreUrl("sqlite", url.set(drivername="sqlite+aiosqlite"), pool_size=pool_size)
    if url.drivername in _POSTGRES_SCHEMES:
        schema = url.query.get("schema")
        if isinstance(schema, tuple) or (schema is not None and not _IDENTIFIER.fullmatch(schema)):
            raise StorageUrlError("schema= must be one plain identifier (letters, digits, underscore)")
        url = url.difference_update_query(["schema"]).set(drivername="postgresql+asyncpg")
        return StoreUrl("postgresql", url, schema=schema, pool_size=pool_size)
    raise StorageUrlError(
        f"unsupported storage URL scheme {url.drivername!r}; use sqlite:///path, postgresql://... or memory://"
    )


def _pool_size(url: URL) -> int | None:
    value = url.query.get("pool_size")
    if value is None:
        return None
    if isinstance(value, tuple) or not value.isdigit() or not 1 <= int(value) <= 1000:
        raise StorageUrlError("pool_size= must be a whole number from 1 to 1000")
    return int(value)


def _make_parent_dir(database: str) -> None:
    # A fresh data directory is normal for the embedded default; SQLite would not create it.
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def database_for(parsed: StoreUrl) -> Database:
    """Engines (not yet connected) for a parsed SQL URL; ``open_store`` adds migration on top."""
    # Imported here: the SQL backends and their drivers load only when a SQL URL is opened.
    from bastion.storage.sql import postgres_database, sqlite_database

    if parsed.url is None:
        raise StorageUrlError("memory:// has no database")
    if parsed.backend == "sqlite":
        if "uri" not in parsed.url.query and parsed.url.database:
            _make_parent_dir(parsed.url.database)
        return sqlite_database(parsed.url, **({"readers": parsed.pool_size} if parsed.pool_size else {}))
    sizes = {"pool_size": parsed.pool_size} if parsed.pool_size else {}
    return postgres_database(parsed.url, schema=parsed.schema, **sizes)


async def open_store(url: str) -> Store:
    """Open the store at ``url``, bring its schema up to date, and return it (call ``close()`` after)."""
    parsed = parse_store_url(url)
    if parsed.backend == "memory":
        from bastion.storage.memory import MemoryStore

        return MemoryStore()

    from bastion.storage.sql import SqlStore

    store = SqlStore(database_for(parsed))
    try:
        await store.migrate()
        version = await store.schema_version()
    except BaseException:
        await store.close()
        raise
    log.info("storage ready: %s (schema version %d)", parsed.redacted(), version)
    return store
