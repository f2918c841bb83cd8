"""Contract: AWS IoT policies, versions and attachments (every backend)."""

from __future__ import annotations

import asyncio

import pytest

from bastion.storage.interfaces import AlreadyExists, DeleteConflict, InvalidMarker, NotFound, Store, Tag
from bastion.storage.iot import IotPolicy, TargetLimitReached, VersionLimitReached
from tests.storage.builders import ACCOUNT, at

IDENTITY = "us-east-1:11111111-2222-3333-4444-555555555555"
OTHER = "us-east-1:99999999-2222-3333-4444-555555555555"


def iot_policy(name: str, created: float = 0, tags: tuple[Tag, ...] = ()) -> IotPolicy:
    return IotPolicy(
        name=name,
        arn=f"arn:aws:iot:us-east-1:{ACCOUNT}:policy/{name}",
        default_version_id="1",
        created=at(created),
        updated=at(created),
        tags=tags,
    )


def doc(n: int) -> str:
    return f'{{"Version":"2012-10-17","Statement":[{{"Sid":"s{n}"}}]}}'


async def test_create_get_and_first_version(store: Store) -> None:
    first = await store.iot.create_policy(iot_policy("Pub", tags=(Tag("k", "v"),)), doc(1))
    assert (first.version_id, first.is_default, first.document) == ("1", True, doc(1))
    got = await store.iot.get_policy("Pub")
    assert got == iot_policy("Pub", tags=(Tag("k", "v"),))
    # Names are case-sensitive: another spelling is another policy.
    assert await store.iot.get_policy("pub") is None
    await store.iot.create_policy(iot_policy("pub"), doc(1))
    with pytest.raises(AlreadyExists):
        await store.iot.create_policy(iot_policy("Pub"), doc(2))


async def test_versions_are_numbered_once_and_listed_newest_first(store: Store) -> None:
    await store.iot.create_policy(iot_policy("P"), doc(1))
    v2 = await store.iot.add_version("P", doc(2), at(10), make_default=False, max_versions=5)
    v3 = await store.iot.add_version("P", doc(3), at(20), make_default=True, max_versions=5)
    assert (v2.version_id, v2.is_default, v3.version_id, v3.is_default) == ("2", False, "3", True)
    policy = await store.iot.get_policy("P")
    assert policy is not None and policy.default_version_id == "3" and policy.updated == at(20)
    listed = await store.iot.list_versions("P")
    assert [(v.version_id, v.is_default) for v in listed] == [("3", True), ("2", False), ("1", False)]

    await store.iot.delete_version("P", "2")
    v4 = await store.iot.add_version("P", doc(4), at(30), make_default=False, max_versions=5)
    assert v4.version_id == "4"  # 2 is never handed out again
    got = await store.iot.get_version("P", "3")
    assert got is not None and got.document == doc(3) and got.is_default
    assert await store.iot.get_version("P", "2") is None
    assert await store.iot.get_version("P", "03") is None
    assert await store.iot.get_version("nope", "1") is None


async def test_version_limit_and_missing_policy(store: Store) -> None:
    await store.iot.create_policy(iot_policy("P"), doc(1))
    for n in range(2, 6):
        await store.iot.add_version("P", doc(n), at(n), make_default=False, max_versions=5)
    with pytest.raises(VersionLimitReached):
        await store.iot.add_version("P", doc(6), at(6), make_default=True, max_versions=5)
    with pytest.raises(NotFound):
        await store.iot.add_version("ghost", doc(1), at(1), make_default=True, max_versions=5)
    with pytest.raises(NotFound):
        await store.iot.list_versions("ghost")


async def test_default_version_rules(store: Store) -> None:
    await store.iot.create_policy(iot_policy("P"), doc(1))
    await store.iot.add_version("P", doc(2), at(5), make_default=False, max_versions=5)
    with pytest.raises(DeleteConflict):
        await store.iot.delete_version("P", "1")
    with pytest.raises(NotFound):
        await store.iot.delete_version("P", "9")
    with pytest.raises(NotFound):
        await store.iot.set_default_version("P", "9", at(6))
    before = await store.meta.get_generation()
    await store.iot.set_default_version("P", "2", at(7))
    assert await store.meta.get_generation() > before
    policy = await store.iot.get_policy("P")
    assert policy is not None and (policy.default_version_id, policy.updated) == ("2", at(7))
    await store.iot.delete_version("P", "1")
    assert [v.version_id for v in await store.iot.list_versions("P")] == ["2"]


async def test_delete_policy_conflicts(store: Store) -> None:
    await store.iot.create_policy(iot_policy("P"), doc(1))
    await store.iot.add_version("P", doc(2), at(1), make_default=True, max_versions=5)
    with pytest.raises(DeleteConflict):
        await store.iot.delete_policy("P")  # version 1 still exists
    await store.iot.delete_version("P", "1")
    await store.iot.attach("P", IDENTITY, 10)
    with pytest.raises(DeleteConflict):
        await store.iot.delete_policy("P")
    await store.iot.detach("P", IDENTITY)
    await store.iot.delete_policy("P")
    assert await store.iot.get_policy("P") is None
    with pytest.raises(NotFound):
        await store.iot.delete_policy("P")
    # The name is free again, with fresh numbering.
    first = await store.iot.create_policy(iot_policy("P"), doc(3))
    assert first.version_id == "1"


async def test_attach_is_idempotent_and_bumps_only_on_change(store: Store) -> None:
    await store.iot.create_policy(iot_policy("B"), doc(1))
    await store.iot.create_policy(iot_policy("A"), doc(2))
    start = await store.meta.get_generation()
    assert await store.iot.attach("B", IDENTITY, 10) is True
    assert await store.iot.attach("A", IDENTITY, 10) is True
    after_attach = await store.meta.get_generation()
    assert after_attach >= start + 2
    assert await store.iot.attach("B", IDENTITY, 10) is False
    assert await store.meta.get_generation() == after_attach
    page = await store.iot.list_attached(IDENTITY, None, 10)
    assert [p.name for p in page.items] == ["A", "B"] and page.marker is None
    effective = await store.iot.effective_policies(IDENTITY)
    assert [(e.policy.name, e.version.document, e.version.version_id) for e in effective] == [
        ("A", doc(2), "1"),
        ("B", doc(1), "1"),
    ]
    assert await store.iot.detach("B", IDENTITY) is True
    assert await store.iot.detach("B", IDENTITY) is False
    assert await store.iot.detach("ghost", IDENTITY) is False
    assert [p.name for p in (await store.iot.list_attached(IDENTITY, None, 10)).items] == ["A"]
    with pytest.raises(NotFound):
        await store.iot.attach("ghost", IDENTITY, 10)


async def test_effective_policies_follow_the_default_version(store: Store) -> None:
    await store.iot.create_policy(iot_policy("P"), doc(1))
    await store.iot.attach("P", IDENTITY, 10)
    await store.iot.add_version("P", doc(2), at(1), make_default=False, max_versions=5)
    assert [e.version.document for e in await store.iot.effective_policies(IDENTITY)] == [doc(1)]
    await store.iot.set_default_version("P", "2", at(2))
    assert [e.version.version_id for e in await store.iot.effective_policies(IDENTITY)] == ["2"]
    assert await store.iot.effective_policies(OTHER) == []


async def test_target_limit(store: Store) -> None:
    for n in range(3):
        await store.iot.create_policy(iot_policy(f"p{n}"), doc(n))
        await store.iot.attach(f"p{n}", IDENTITY, 3)
    await store.iot.create_policy(iot_policy("extra"), doc(9))
    with pytest.raises(TargetLimitReached):
        await store.iot.attach("extra", IDENTITY, 3)
    assert await store.iot.attach("p0", IDENTITY, 3) is False  # re-attaching at the limit is harmless
    assert await store.iot.attach("extra", OTHER, 3) is True


async def test_concurrent_attaches_respect_the_limit(store: Store) -> None:
    for n in range(6):
        await store.iot.create_policy(iot_policy(f"p{n}"), doc(n))

    async def attach(n: int) -> bool:
        try:
            return await store.iot.attach(f"p{n}", IDENTITY, 3)
        except TargetLimitReached:
            return False

    results = await asyncio.gather(*(attach(n) for n in range(6)))
    assert sum(results) == 3
    assert len((await store.iot.list_attached(IDENTITY, None, 10)).items) == 3


async def test_list_targets_pages(store: Store) -> None:
    await store.iot.create_policy(iot_policy("P"), doc(1))
    targets = [f"us-east-1:{n:08d}-0000-0000-0000-000000000000" for n in range(5)]
    for target in reversed(targets):
        await store.iot.attach("P", target, 10)
    first = await store.iot.list_targets("P", None, 2)
    assert list(first.items) == targets[:2] and first.marker is not None
    second = await store.iot.list_targets("P", first.marker, 2)
    third = await store.iot.list_targets("P", second.marker, 2)
    assert list(second.items) + list(third.items) == targets[2:] and third.marker is None
    with pytest.raises(NotFound):
        await store.iot.list_targets("ghost", None, 2)
    with pytest.raises(InvalidMarker):
        await store.iot.list_targets("P", "not-a-marker!", 2)


async def test_list_policies_by_creation_both_ways(store: Store) -> None:
    names = ["c", "a", "d", "b"]
    for index, name in enumerate(names):
        await store.iot.create_policy(iot_policy(name, created=index), doc(index))
    # Two created at the same instant are ordered by name.
    await store.iot.create_policy(iot_policy("aa", created=1), doc(9))

    async def collect(ascending: bool) -> list[str]:
        seen: list[str] = []
        marker: str | None = None
        while True:
            page = await store.iot.list_policies(marker, 2, ascending)
            seen.extend(p.name for p in page.items)
            if page.marker is None:
                return seen
            assert page.marker.isascii() and "-" not in page.marker and "_" not in page.marker
            marker = page.marker

    assert await collect(True) == ["c", "a", "aa", "d", "b"]
    assert await collect(False) == ["b", "d", "aa", "a", "c"]
    page = await store.iot.list_policies(None, 2, True)
    assert page.marker is not None
    with pytest.raises(InvalidMarker):
        await store.iot.list_policies(page.marker, 2, False)  # another listing's marker


async def test_attached_listing_pages(store: Store) -> None:
    for name in ["e", "b", "d", "a", "c"]:
        await store.iot.create_policy(iot_policy(name), doc(1))
        await store.iot.attach(name, IDENTITY, 10)
    first = await store.iot.list_attached(IDENTITY, None, 3)
    rest = await store.iot.list_attached(IDENTITY, first.marker, 3)
    assert [p.name for p in first.items] == ["a", "b", "c"]
    assert [p.name for p in rest.items] == ["d", "e"] and rest.marker is None
