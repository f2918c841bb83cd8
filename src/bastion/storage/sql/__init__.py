"""SQL backends (SQLite and PostgreSQL) over SQLAlchemy Core with asyncio drivers."""

from bastion.storage.sql.engine import Database, postgres_database, sqlite_database
from bastion.storage.sql.migrations import MIGRATIONS, Migration, MigrationError, SchemaTooNew, run_migrations
from bastion.storage.sql.store import SqlStore

__all__ = [
    "MIGRATIONS",
    "Database",
    "Migration",
    "MigrationError",
    "SchemaTooNew",
    "SqlStore",
    "postgres_database",
    "run_migrations",
    "sqlite_database",
]
