"""Contract for durable backends (SQLite, PostgreSQL): restarts, re-migration, several processes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bastion.storage import AlreadyExists, open_store
from bastion.storage.interfaces import InlinePolicy, Store, Tag
from bastion.storage.sql import MIGRATIONS, SqlStore
from tests.storage.builders import access_key, at, policy, role, user, version

REPO = Path(__file__).resolve().parents[2]


async def _snapshot(store: Store) -> dict[str, Any]:
    """Everything the IAM repository can report about the records _populate makes."""
    arn = policy("Managed")[0].arn
    return {
        "role": await store.iam.get_role("Svc"),
        "user": await store.iam.get_user("Dev"),
        "roles": (await store.iam.list_roles("/", None, 100)).items,
        "inline": await store.iam.list_inline_policies("role", "Svc"),
        "policy": await store.iam.get_managed_policy(arn),
        "versions": await store.iam.list_policy_versions(arn),
        "attached": await store.iam.list_attached_policies("role", "Svc"),
        "entities": await store.iam.list_entities_for_policy(arn),
        "keys": await store.iam.list_access_keys("Dev"),
        "generation": await store.meta.get_generation(),
    }


async def _populate(store: Store) -> None:
    await store.iam.create_role(role("Svc", tags=(Tag("a", "1"),), description="service"))
    await store.iam.create_user(user("Dev", path="/people/"))
    await store.iam.put_inline_policy(InlinePolicy("role", "Svc", "inline", '{"x":1}'))
    record, first = policy("Managed", created=at(1))
    await store.iam.create_managed_policy(record, first)
    await store.iam.add_policy_version(version(record.arn, "v2", created=at(2)), make_default=True)
    await store.iam.attach_policy("role", "Svc", record.arn)
    await store.iam.create_access_key(access_key("AKIADEV", "Dev", created=at(3)))
    await store.meta.bump_generation()


async def test_state_survives_close_and_reopen(fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    store = await open_store(url)
    try:
        await _populate(store)
        before = await _snapshot(store)
    finally:
        await store.close()

    reopened = await open_store(url)
    try:
        after = await _snapshot(reopened)
    finally:
        await reopened.close()
    assert after == before
    assert before["generation"] == 8
    assert before["policy"].attachment_count == 1


async def test_migrating_again_changes_nothing(fresh_url: Callable[[], str]) -> None:
    store = await open_store(fresh_url())
    assert isinstance(store, SqlStore)
    try:
        await _populate(store)
        before = await _snapshot(store)
        for _ in range(3):
            await store.migrate()
        assert await store.schema_version() == len(MIGRATIONS)
        assert await _snapshot(store) == before
    finally:
        await store.close()


async def test_stores_opened_at_once_migrate_once(fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    stores = await asyncio.gather(*(open_store(url) for _ in range(4)))
    try:
        for s in stores:
            assert isinstance(s, SqlStore)
            assert await s.schema_version() == len(MIGRATIONS)
        # Each store is a separate pool, as separate processes would be: they still agree.
        await stores[0].iam.create_role(role("FromFirst"))
        assert await stores[3].iam.get_role("fromfirst") is not None
    finally:
        for s in stores:
            await s.close()


async def test_two_stores_share_one_generation_and_one_namespace(fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    first, second = await open_store(url), await open_store(url)
    try:
        bumps = await asyncio.gather(*(s.meta.bump_generation() for _ in range(20) for s in (first, second)))
        assert sorted(bumps) == list(range(1, 41))

        attempts = [dataclasses.replace(role("Contended"), role_id=f"AROA{i}") for i in range(20)]
        results = await asyncio.gather(
            *((first if i % 2 else second).iam.create_role(r) for i, r in enumerate(attempts)),
            return_exceptions=True,
        )
        assert results.count(None) == 1
        assert all(isinstance(r, AlreadyExists) for r in results if r is not None)
    finally:
        await first.close()
        await second.close()


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from bastion.storage import open_store
    from bastion.storage.interfaces import Role

    async def main(url: str, bumps: int, name: str, crash: bool) -> None:
        store = await open_store(url)
        print("ready", flush=True)
        sys.stdin.readline()  # start together, so that the bumps overlap
        values = [await store.meta.bump_generation() for _ in range(bumps)]
        now = datetime.now(UTC)
        await store.iam.create_role(Role("AROA" + name, name, "/", "arn:aws:iam::1:role/" + name, "{}", now))
        print(" ".join(map(str, values)), flush=True)
        if crash:
            sys.stdin.readline()  # killed here, without closing anything
        await store.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "crash"))
    """
)


async def test_processes_share_the_generation_and_survive_kill_9(fresh_url: Callable[[], str]) -> None:
    """Two processes bump at once (atomic across processes); one is then killed with SIGKILL after its
    last write returned, and that write must still be there (durable on acknowledgement)."""
    url, bumps = fresh_url(), 100
    await (await open_store(url)).close()  # migrate first, so the processes only contend on bumps
    modes = {"Survivor": "close", "Victim": "crash"}
    processes = {
        name: subprocess.Popen(  # noqa: ASYNC220 - started once, outside the code under test
            [sys.executable, "-c", WORKER, url, str(bumps), name, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for name, mode in modes.items()
    }
    try:
        for p in processes.values():
            assert await asyncio.to_thread(_line, p) == "ready"
        for p in processes.values():
            _send(p, "go")
        runs = {
            name: [int(v) for v in (await asyncio.to_thread(_line, p)).split()]
            for name, p in processes.items()
        }
        # The survivor closes its store and exits by itself; the victim waits on stdin for its end.
        processes["Victim"].send_signal(signal.SIGKILL)
        codes = [await asyncio.to_thread(p.wait, 60) for p in processes.values()]
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
            with contextlib.suppress(BrokenPipeError), p:  # closes the pipes and reaps the process
                pass
    assert codes == [0, -signal.SIGKILL]
    # Each process saw its own values increase; together they never repeat.
    values = [[int(v) for v in run] for run in runs.values()]
    assert all(run == sorted(run) for run in values)
    seen = [v for run in values for v in run]
    assert len(set(seen)) == len(seen) == 2 * bumps

    store = await open_store(url)
    try:
        assert await store.meta.get_generation() == 2 * bumps + 2  # the two role creations bumped too
        assert await store.iam.get_role("Victim") is not None
        assert await store.iam.get_role("Survivor") is not None
    finally:
        await store.close()


def _line(p: subprocess.Popen[str]) -> str:
    assert p.stdout is not None
    return p.stdout.readline().rstrip("\n")


def _send(p: subprocess.Popen[str], line: str) -> None:
    assert p.stdin is not None
    p.stdin.write(line + "\n")
    p.stdin.flush()
