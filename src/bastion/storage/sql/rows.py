"""Row shapes every SQL repository shares, so each one is written (and reviewed) once.

* records and rows: ``from_row`` builds a record from the columns named like its fields, ``row_values``
  is the reverse for an INSERT, ``read_one`` reads one record;
* rows that must (not) exist: ``insert_new`` (``AlreadyExists``), ``integrity_as`` (another error for a
  constraint violation), ``existing_row``, ``change_existing`` and ``change_one`` (``NotFound``), ``locked``;
* ``write_bumping``: a write transaction that bumps the authorization generation before it commits;
* ``upsert``: ``INSERT ... ON CONFLICT`` on either dialect;
* tags and other JSON text columns;
* ``Keyset``: marker paging over key columns (``bastion.storage.paging`` markers).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from sqlalchemy import ColumnElement, Delete, Row, Select, Table, Update, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.storage.interfaces import AlreadyExists, NotFound, Page, StorageError, Tag
from bastion.storage.paging import check_limit, decode_marker, encode_marker
from bastion.storage.sql.engine import Database, Dialect
from bastion.storage.sql.meta import bump_in
from bastion.storage.values import utc

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A result row of any shape; its attributes are the selected column names. Written for SQLAlchemy 2.1's
# variadic generics; kept out of runtime evaluation so that 2.0 imports this module too.
AnyRow: TypeAlias = "Row[*tuple[Any, ...]]"
# The row lock a write takes on PostgreSQL: FOR SHARE to add a child, FOR UPDATE to change or delete.
Lock = Literal["share", "update"]

_R = TypeVar("_R")
_D = TypeVar("_D", bound="DataclassInstance")
_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")

# ---- records and rows ----------------------------------------------------------------------------------


@cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def from_row(cls: type[_D], row: AnyRow, **given: Any) -> _D:
    """A ``cls`` record whose fields come from the row's columns of the same names.

    ``given`` supplies the fields the caller computes (conversions, renames, fields with no column). A
    field with neither a column nor a given value raises ``KeyError``: defaults are never filled in
    silently.
    """
    columns = row._mapping
    found = {name: columns[name] for name in _field_names(cls) if name not in given}
    return cls(**found, **given)


@cache
def _written_columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns if c.autoincrement is not True)


@cache
def _column_names(table: Table) -> frozenset[str]:
    return frozenset(_written_columns(table))


def row_values(record: object, table: Table, **given: Any) -> dict[str, Any]:
    """The values that INSERT ``record`` into ``table``: each column from the field of the same name.

    ``given`` supplies the columns the record has no field for (keys, JSON text, conversions). Datetimes
    go through ``utc``, so a naive one raises ``ValueError`` here, before any SQL. A column the database
    numbers itself (``autoincrement=True``) is left to it.
    """
    names = _written_columns(table)
    if not given.keys() <= _column_names(table):
        raise KeyError(f"{table.name} has no column {sorted(given.keys() - _column_names(table))} to write")
    values: dict[str, Any] = {}
    for name in names:
        value = given[name] if name in given else getattr(record, name)
        values[name] = utc(value) if isinstance(value, datetime) else value
    return values


async def read_one(
    db: Database, query: Select[*tuple[Any, ...]], to_record: Callable[[AnyRow], _R]
) -> _R | None:
    """The record of the first row ``query`` finds, or None."""
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else to_record(row)


# ---- rows that must (not) exist ---------------------------------------------------------------------


@contextmanager
def integrity_as(error: StorageError) -> Iterator[None]:
    """Raise ``error`` instead of a constraint violation (a unique key taken) inside the block."""
    try:
        yield
    except IntegrityError:
        raise error from None


async def insert_new(conn: AsyncConnection, table: Table, what: str, values: Mapping[str, Any]) -> None:
    """INSERT one row; ``AlreadyExists("<what> already exists")`` when one of its unique keys is taken.

    Callers check (and lock) any parent row first, so only a unique key can fail here.
    """
    with integrity_as(AlreadyExists(f"{what} already exists")):
        await conn.execute(insert(table).values(values))


def locked(query: _S, lock: Lock | None) -> _S:
    """``query`` taking ``lock`` on the rows it reads (PostgreSQL; SQLite serialises writers anyway)."""
    if lock is None:
        return query
    return query.with_for_update(read=lock == "share")


async def existing_row(conn: AsyncConnection, query: Select[*tuple[Any, ...]], missing: str) -> AnyRow:
    """The first row ``query`` finds; ``NotFound(missing)`` when there is none."""
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(missing)
    return row


async def change_existing(conn: AsyncConnection, statement: Update | Delete, missing: str) -> None:
    """Run an UPDATE or DELETE that must touch a row; ``NotFound(missing)`` when it touched none."""
    if (await conn.execute(statement)).rowcount == 0:
        raise NotFound(missing)


async def change_one(db: Database, statement: Update | Delete, missing: str) -> None:
    """``change_existing`` as a write transaction of its own."""
    async with db.write() as conn:
        await change_existing(conn, statement, missing)


# ---- the authorization generation ------------------------------------------------------------------


@asynccontextmanager
async def write_bumping(db: Database) -> AsyncIterator[AsyncConnection]:
    """A write transaction that bumps the generation last, just before it commits.

    A block that raises rolls back without bumping, so a failed change sends no signal. The generation
    row is locked last, after the rows the block locked. For writes that change something whenever they
    succeed: one that may return having changed nothing calls ``bump_in`` itself.
    """
    async with db.write() as conn:
        yield conn
        await bump_in(conn)


# ---- upserts -----------------------------------------------------------------------------------------


def insert_on_conflict(dialect: Dialect, table: Table) -> postgresql.Insert | sqlite.Insert:
    """INSERT with ON CONFLICT support (the same API on both dialects, different SQL)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upsert(
    dialect: Dialect, table: Table, keys: Sequence[str], replace: Sequence[str]
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE``, setting each ``replace`` column to the value offered."""
    stmt = insert_on_conflict(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: stmt.excluded[name] for name in replace}
    )


# ---- JSON text columns -----------------------------------------------------------------------------


def json_text(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def tags_json(tags: Sequence[Tag]) -> str:
    """Tags as stored: a JSON list of ``[key, value]`` pairs, in order."""
    return json_text([[t.key, t.value] for t in tags])


def tags_from_json(stored: str) -> tuple[Tag, ...]:
    return tuple(Tag(k, v) for k, v in json.loads(stored))


# ---- paging ------------------------------------------------------------------------------------------


def _after(columns: Sequence[ColumnElement[str]], key: Sequence[str]) -> ColumnElement[bool]:
    """Rows whose key (``columns``, compared in order) is greater than ``key``."""
    first = columns[0] > key[0]
    if len(columns) == 1:
        return first
    return first | ((columns[0] == key[0]) & _after(columns[1:], key[1:]))


@dataclass(frozen=True, slots=True)
class Keyset:
    """Marker paging of one listing over text key columns, in ascending (code-point) order.

    A page holds the rows strictly after the marker's key, so records added or removed between calls
    neither repeat nor skip the rest. The IoT listings pass their own marker codec.
    """

    listing: str
    columns: tuple[ColumnElement[str], ...]
    encode: Callable[..., str] = encode_marker
    decode: Callable[[str, str, int], tuple[str, ...]] = decode_marker

    def select(self, query: _S, marker: str | None, limit: int) -> _S:
        """``query`` in key order, after the marker, with one row past the page (to tell if more follow)."""
        check_limit(limit)
        query = query.order_by(*self.columns).limit(limit + 1)
        if marker is not None:
            query = query.where(_after(self.columns, self.decode(self.listing, marker, len(self.columns))))
        return query

    def next_marker(self, rows: Sequence[AnyRow], limit: int) -> str | None:
        """The marker of the page after ``rows[:limit]``; None when nothing follows."""
        if len(rows) <= limit:
            return None
        last = rows[limit - 1]._mapping
        return self.encode(self.listing, *(last[column] for column in self.columns))

    def page(self, rows: Sequence[AnyRow], limit: int, to_record: Callable[[AnyRow], _R]) -> Page[_R]:
        return Page([to_record(r) for r in rows[:limit]], self.next_marker(rows, limit))

    async def read(
        self,
        db: Database,
        query: Select[*tuple[Any, ...]],
        marker: str | None,
        limit: int,
        to_record: Callable[[AnyRow], _R],
    ) -> Page[_R]:
        """One page of ``query`` (which must select the key columns), read in one snapshot."""
        paged = self.select(query, marker, limit)
        async with db.read() as conn:
            rows = (await conn.execute(paged)).all()
        return self.page(rows, limit, to_record)
