"""The guard rails of the SQL repositories' row helpers that the contract suite cannot reach.

Mistakes in a repository (a forgotten column, a misspelt one) must fail loudly rather than store or
return a default; those paths never run against a correct repository, so they are checked here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, create_engine, text

from bastion.storage.cognito_idp import OutboxMessage, UserPoolRecord
from bastion.storage.interfaces import AlreadyExists
from bastion.storage.sql.rows import from_row, integrity_as, row_values
from bastion.storage.sql.tables_cognito_idp import cognito_outbox, cognito_user_pools

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_from_row_reads_fields_by_column_name(conn: Connection) -> None:
    row = conn.execute(text("SELECT 'x' AS extra, '{}' AS settings, 'n' AS name, 'u1' AS pool_id")).one()
    record = from_row(UserPoolRecord, row, created=WHEN, updated=WHEN)
    assert record == UserPoolRecord("u1", "n", WHEN, WHEN, "{}")


def test_from_row_refuses_a_missing_column_instead_of_a_default(conn: Connection) -> None:
    row = conn.execute(text("SELECT 'u1' AS pool_id, 'n' AS name")).one()
    with pytest.raises(KeyError):
        from_row(UserPoolRecord, row, settings="{}")


def test_row_values_converts_times_to_utc_and_leaves_numbering_to_the_database() -> None:
    message = OutboxMessage("p", "alice", "SIGN_UP", "EMAIL", "a@example.com", b"s", WHEN, WHEN, seq=7)
    values = row_values(message, cognito_outbox)
    assert "seq" not in values
    assert values["created"] == WHEN and values["created"].tzinfo is UTC
    assert values["pool_id"] == "p" and values["sealed_secret"] == b"s"


def test_row_values_refuses_naive_times_and_unknown_columns() -> None:
    pool = UserPoolRecord("p", "n", datetime(2024, 5, 1), WHEN, "{}")
    with pytest.raises(ValueError, match="no time zone"):
        row_values(pool, cognito_user_pools)
    aware = UserPoolRecord("p", "n", WHEN, WHEN, "{}")
    with pytest.raises(KeyError, match="settngs"):
        row_values(aware, cognito_user_pools, settngs="{}")


def test_row_values_needs_every_column() -> None:
    with pytest.raises(AttributeError):
        row_values(object(), cognito_user_pools)


def test_integrity_as_names_the_error_and_lets_others_through(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY)"))
    conn.execute(text("INSERT INTO t VALUES ('a')"))
    with (
        pytest.raises(AlreadyExists, match="t a already exists"),
        integrity_as(AlreadyExists("t a already exists")),
    ):
        conn.execute(text("INSERT INTO t VALUES ('a')"))
    with pytest.raises(ZeroDivisionError), integrity_as(AlreadyExists("unused")):
        _ = 1 / 0
