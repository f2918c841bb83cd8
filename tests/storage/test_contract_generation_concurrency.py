"""Contract: the authorization generation, and concurrent callers (every backend)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from bastion.storage.interfaces import (
    AlreadyExists,
    DeleteConflict,
    InlinePolicy,
    NotFound,
    QuotaExceeded,
    Store,
    Tag,
)
from tests.storage.builders import access_key, policy, role, user, version

N = 50
# Enough interleaving to expose lost updates, few enough to keep the suite fast.
SMALL_N = 20


async def test_generation_starts_at_zero_and_bumps_by_one(store: Store) -> None:
    assert await store.meta.get_generation() == 0
    assert [await store.meta.bump_generation() for _ in range(3)] == [1, 2, 3]
    assert await store.meta.get_generation() == 3


async def test_every_iam_mutation_bumps_the_generation(store: Store) -> None:
    record, first = policy("P")
    arn = record.arn
    mutations: list[Callable[[], Awaitable[None]]] = [
        lambda: store.iam.create_role(role("R")),
        lambda: store.iam.update_role_trust_policy("R", "{}"),
        lambda: store.iam.update_role("R", "d", None),
        lambda: store.iam.tag_role("R", [Tag("a", "b")]),
        lambda: store.iam.untag_role("R", ["a"]),
        lambda: store.iam.create_user(user("U")),
        lambda: store.iam.tag_user("U", [Tag("a", "b")]),
        lambda: store.iam.untag_user("U", ["a"]),
        lambda: store.iam.put_inline_policy(InlinePolicy("role", "R", "i", "{}")),
        lambda: store.iam.delete_inline_policy("role", "R", "i"),
        lambda: store.iam.create_managed_policy(record, first),
        lambda: store.iam.add_policy_version(version(arn, "v2"), make_default=False),
        lambda: store.iam.set_default_policy_version(arn, "v2"),
        lambda: store.iam.delete_policy_version(arn, "v1"),
        lambda: store.iam.tag_managed_policy(arn, [Tag("a", "b")]),
        lambda: store.iam.untag_managed_policy(arn, ["a"]),
        lambda: store.iam.attach_policy("role", "R", arn),
        lambda: store.iam.detach_policy("role", "R", arn),
        lambda: store.iam.create_access_key(access_key("AKIA1", "U")),
        lambda: store.iam.update_access_key_status("AKIA1", "Inactive"),
        lambda: store.iam.delete_access_key("AKIA1"),
        lambda: store.iam.delete_managed_policy(arn),
        lambda: store.iam.delete_role("R"),
        lambda: store.iam.delete_user("U"),
    ]
    for expected, mutation in enumerate(mutations, start=1):
        await mutation()
        assert await store.meta.get_generation() == expected, f"mutation #{expected} did not bump"


async def test_failed_mutations_do_not_bump(store: Store) -> None:
    await store.iam.create_role(role("R"))
    await store.iam.put_inline_policy(InlinePolicy("role", "R", "i", "{}"))
    before = await store.meta.get_generation()
    with pytest.raises(AlreadyExists):
        await store.iam.create_role(role("r"))
    with pytest.raises(NotFound):
        await store.iam.delete_role("ghost")
    with pytest.raises(DeleteConflict):
        await store.iam.delete_role("R")
    assert await store.meta.get_generation() == before


async def test_concurrent_bumps_are_distinct(store: Store) -> None:
    values = await asyncio.gather(*(store.meta.bump_generation() for _ in range(N)))
    assert sorted(values) == list(range(1, N + 1))
    assert await store.meta.get_generation() == N


async def test_concurrent_creates_of_distinct_names_all_succeed(store: Store) -> None:
    await asyncio.gather(*(store.iam.create_role(role(f"role{i:02d}")) for i in range(N)))
    page = await store.iam.list_roles("/", None, 1000)
    assert [r.name for r in page.items] == [f"role{i:02d}" for i in range(N)]
    assert await store.meta.get_generation() == N


async def test_concurrent_creates_of_one_name_have_one_winner(store: Store) -> None:
    # Every spelling differs in case only, and every record has its own id: only the name can clash.
    attempts = [
        dataclasses.replace(role("shared".upper() if i % 2 else "shared"), role_id=f"AROA{i}")
        for i in range(N)
    ]
    results = await asyncio.gather(*(store.iam.create_role(r) for r in attempts), return_exceptions=True)
    winners = [r for r in results if r is None]
    losers = [r for r in results if isinstance(r, AlreadyExists)]
    assert (len(winners), len(losers)) == (1, N - 1), [
        r for r in results if r is not None and r not in losers
    ]
    assert len((await store.iam.list_roles("/", None, 1000)).items) == 1
    assert await store.meta.get_generation() == 1


async def test_concurrent_attach_of_one_pair_is_counted_once(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    await store.iam.create_role(role("R"))
    await asyncio.gather(*(store.iam.attach_policy("role", "R", record.arn) for _ in range(SMALL_N)))
    got = await store.iam.get_managed_policy(record.arn)
    assert got is not None and got.attachment_count == 1


async def test_concurrent_tagging_loses_no_update(store: Store) -> None:
    await store.iam.create_role(role("R"))
    await asyncio.gather(*(store.iam.tag_role("R", [Tag(f"k{i:02d}", str(i))]) for i in range(SMALL_N)))
    got = await store.iam.get_role("R")
    assert got is not None and sorted(t.key for t in got.tags) == [f"k{i:02d}" for i in range(SMALL_N)]


async def test_delete_racing_with_children_leaves_no_orphans(store: Store) -> None:
    for i in range(10):
        name = f"r{i}"
        await store.iam.create_role(role(name))
        results = await asyncio.gather(
            store.iam.put_inline_policy(InlinePolicy("role", name, "p", "{}")),
            store.iam.delete_role(name),
            return_exceptions=True,
        )
        put, deleted = results
        if deleted is None:
            # The delete won: the put must have failed, and no inline policy may survive the role.
            assert isinstance(put, NotFound)
            assert await store.iam.get_role(name) is None
            await store.iam.create_role(role(name))
            assert await store.iam.list_inline_policies("role", name) == []
        else:
            assert isinstance(deleted, DeleteConflict) and put is None
            assert [p.policy_name for p in await store.iam.list_inline_policies("role", name)] == ["p"]


# Quotas are checked in the write's own transaction: however many writers race, the limit holds.


async def test_concurrent_access_keys_stop_at_the_quota(store: Store) -> None:
    await store.iam.create_user(user("U"))
    results = await asyncio.gather(
        *(store.iam.create_access_key(access_key(f"AKIA{i:016d}", "U"), max_keys=2) for i in range(SMALL_N)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 2
    assert all(r is None or isinstance(r, QuotaExceeded) for r in results), results
    assert len(await store.iam.list_access_keys("U")) == 2


async def test_concurrent_attachments_stop_at_the_quota(store: Store) -> None:
    await store.iam.create_role(role("R"))
    arns = []
    for i in range(SMALL_N):
        record, first = policy(f"P{i}")
        await store.iam.create_managed_policy(record, first)
        arns.append(record.arn)
    results = await asyncio.gather(
        *(store.iam.attach_policy("role", "R", arn, max_attached=3) for arn in arns), return_exceptions=True
    )
    assert sum(r is None for r in results) == 3
    assert all(r is None or isinstance(r, QuotaExceeded) for r in results), results
    assert len(await store.iam.list_attached_policies("role", "R")) == 3
    # Re-attaching one already attached is still fine at the limit (attach is idempotent).
    held = (await store.iam.list_attached_policies("role", "R"))[0].arn
    await store.iam.attach_policy("role", "R", held, max_attached=3)


async def test_concurrent_policy_versions_stop_at_the_quota(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    results = await asyncio.gather(
        *(
            store.iam.add_policy_version(version(record.arn, f"v{i}"), False, max_versions=5)
            for i in range(2, 2 + SMALL_N)
        ),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 4  # v1 plus four more
    assert all(r is None or isinstance(r, QuotaExceeded) for r in results), results
    assert len(await store.iam.list_policy_versions(record.arn)) == 5
