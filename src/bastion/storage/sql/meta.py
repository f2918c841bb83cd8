"""The generation counter and other cluster-wide values in the ``meta`` table."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.storage.sql.engine import Database
from bastion.storage.sql.tables import meta

GENERATION = "generation"


async def bump_in(conn: AsyncConnection) -> int:
    """Increment the generation inside the caller's transaction and return the new value.

    One UPDATE ... RETURNING: the row lock (PostgreSQL) or the write lock (SQLite) makes the increment
    atomic across processes, and the value returned is the one this transaction wrote.
    """
    stmt = update(meta).where(meta.c.key == GENERATION).values(value=meta.c.value + 1).returning(meta.c.value)
    return int((await conn.execute(stmt)).scalar_one())


class SqlMetaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_generation(self) -> int:
        async with self._db.read() as conn:
            value = await conn.scalar(select(meta.c.value).where(meta.c.key == GENERATION))
        return int(value or 0)

    async def bump_generation(self) -> int:
        async with self._db.write() as conn:
            return await bump_in(conn)
