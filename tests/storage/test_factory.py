"""open_store: URL forms, errors, and the password never leaving the process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bastion.storage import StorageUrlError, open_store
from bastion.storage.factory import parse_store_url
from bastion.storage.memory import MemoryStore
from bastion.storage.sql import SqlStore
from tests.conftest import POSTGRES_URL
from tests.storage.conftest import with_schema

SECRET = "hunter2-not-for-logs"


@pytest.mark.parametrize(
    ("url", "backend", "driver", "database"),
    [
        ("sqlite:///relative/b.db", "sqlite", "sqlite+aiosqlite", "relative/b.db"),
        ("sqlite:////abs/b.db", "sqlite", "sqlite+aiosqlite", "/abs/b.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite", "sqlite+aiosqlite", "x.db"),
        ("postgresql://u:p@h:5432/db", "postgresql", "postgresql+asyncpg", "db"),
        ("postgres://u@h/db", "postgresql", "postgresql+asyncpg", "db"),
        ("postgresql+asyncpg://u@h/db", "postgresql", "postgresql+asyncpg", "db"),
    ],
)
def test_accepted_urls(url: str, backend: str, driver: str, database: str) -> None:
    parsed = parse_store_url(url)
    assert parsed.backend == backend
    assert parsed.url is not None
    assert (parsed.url.drivername, parsed.url.database) == (driver, database)


def test_bastion_parameters_are_taken_out_of_the_url() -> None:
    parsed = parse_store_url("postgresql://u@h/db?schema=tenant_1&pool_size=3&ssl=require")
    assert (parsed.schema, parsed.pool_size) == ("tenant_1", 3)
    assert parsed.url is not None and dict(parsed.url.query) == {"ssl": "require"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported storage URL scheme 'mysql'"),
        ("sqlite://", "needs a file path"),
        ("sqlite:///:memory:", "use memory://"),
        ("postgresql://u@h/db?schema=bad;drop", "plain identifier"),
        ("postgresql://u@h/db?pool_size=0", "pool_size"),
        ("sqlite:///x.db?pool_size=many", "pool_size"),
        ("::not a url::", "cannot be parsed"),
    ],
)
def test_unusable_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(StorageUrlError, match=message):
        parse_store_url(url)


async def test_memory_url_gives_a_memory_store() -> None:
    store = await open_store("memory://")
    assert isinstance(store, MemoryStore)
    await store.close()


def test_an_unparseable_url_does_not_echo_its_password() -> None:
    with pytest.raises(StorageUrlError) as caught:
        parse_store_url(f"::{SECRET}@::")
    assert SECRET not in str(caught.value)


async def test_a_refused_connection_does_not_reveal_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OSError) as caught:
        await open_store(f"postgresql://postgres:{SECRET}@127.0.0.1:1/test")
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text


@pytest.mark.postgres
async def test_the_password_is_never_logged_or_shown(
    caplog: pytest.LogCaptureFixture, pg_schema_factory: Callable[[], str]
) -> None:
    base = make_url(POSTGRES_URL)
    # Use the server's real password if it has one; a trusting server accepts any, so add ours.
    secret = base.password if base.password else SECRET
    url = with_schema(base.set(password=secret).render_as_string(hide_password=False), pg_schema_factory())
    assert str(secret) in url
    caplog.set_level(logging.DEBUG)
    store = await open_store(url)
    try:
        assert isinstance(store, SqlStore)
        assert str(secret) not in repr(store)
        assert "***" in repr(store)
        assert await store.meta.get_generation() == 0
    finally:
        await store.close()
    assert "storage ready" in caplog.text
    assert str(secret) not in caplog.text


async def test_sqlite_open_logs_the_path(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bastion.storage")
    store = await open_store(f"sqlite:///{tmp_path}/b.db")
    await store.close()
    assert f"{tmp_path}/b.db" in caplog.text
    assert "schema version" in caplog.text
