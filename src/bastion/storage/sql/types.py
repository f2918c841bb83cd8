"""Column types whose behaviour must not differ between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from bastion.storage.values import utc


class UtcDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and read back as an aware UTC datetime.

    PostgreSQL keeps ``timestamptz``; SQLite has no time-zone type, so the UTC wall time is stored
    (as ISO text, which sorts chronologically) and the zone is re-attached on reading.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def key_text() -> TypeEngine[str]:
    """Text for lower-cased name keys: byte order on both backends, so paging order is the same.

    PostgreSQL would otherwise sort with the database's locale collation; SQLite's default (BINARY)
    already compares UTF-8 bytes, which is also Python's code-point order used by the memory store.
    """
    return Text().with_variant(Text(collation="C"), "postgresql")
