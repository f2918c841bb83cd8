"""Contract: managed-policy attachments and access keys (every backend)."""

from __future__ import annotations

import dataclasses

import pytest

from bastion.storage.interfaces import AlreadyExists, NotFound, PolicyAttachment, Store
from tests.storage.builders import access_key, at, policy, policy_arn, role, user


async def _count(store: Store, arn: str) -> int:
    got = await store.iam.get_managed_policy(arn)
    assert got is not None
    return got.attachment_count


async def test_attach_list_count_detach(store: Store) -> None:
    a, b = policy("Alpha"), policy("beta")
    for record, first in (b, a):
        await store.iam.create_managed_policy(record, first)
    await store.iam.create_role(role("R"))
    await store.iam.create_user(user("U"))

    await store.iam.attach_policy("role", "r", a[0].arn)
    await store.iam.attach_policy("role", "R", b[0].arn.upper())
    await store.iam.attach_policy("user", "u", a[0].arn)

    attached = await store.iam.list_attached_policies("role", "R")
    assert [p.name for p in attached] == ["Alpha", "beta"]
    assert [p.attachment_count for p in attached] == [2, 1]
    assert await _count(store, a[0].arn) == 2
    assert [p.name for p in await store.iam.list_attached_policies("user", "U")] == ["Alpha"]

    await store.iam.detach_policy("role", "R", a[0].arn)
    assert await _count(store, a[0].arn) == 1
    assert [p.name for p in await store.iam.list_attached_policies("role", "R")] == ["beta"]
    with pytest.raises(NotFound):
        await store.iam.detach_policy("role", "R", a[0].arn)


async def test_attach_is_idempotent(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    await store.iam.create_role(role("R"))
    await store.iam.attach_policy("role", "R", record.arn)
    await store.iam.attach_policy("role", "r", record.arn.lower())
    assert await _count(store, record.arn) == 1
    assert len(await store.iam.list_attached_policies("role", "R")) == 1


async def test_attach_needs_owner_and_policy(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    await store.iam.create_role(role("R"))
    with pytest.raises(NotFound):
        await store.iam.attach_policy("role", "ghost", record.arn)
    with pytest.raises(NotFound):
        await store.iam.attach_policy("user", "R", record.arn)  # R is a role, not a user
    with pytest.raises(NotFound):
        await store.iam.attach_policy("role", "R", policy_arn("Nope"))
    with pytest.raises(NotFound):
        await store.iam.detach_policy("role", "ghost", record.arn)
    with pytest.raises(NotFound):
        await store.iam.detach_policy("role", "R", policy_arn("Nope"))
    with pytest.raises(NotFound):
        await store.iam.list_attached_policies("user", "ghost")
    assert await store.iam.list_attached_policies("role", "R") == []
    assert await _count(store, record.arn) == 0


async def test_list_entities_for_policy(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    other, other_first = policy("Other")
    await store.iam.create_managed_policy(other, other_first)
    for name in ("zeta", "Alpha"):
        await store.iam.create_role(role(name))
        await store.iam.attach_policy("role", name, record.arn)
    await store.iam.create_user(user("Bob"))
    await store.iam.attach_policy("user", "bob", record.arn)
    await store.iam.attach_policy("user", "bob", other.arn)

    assert await store.iam.list_entities_for_policy(record.arn.upper()) == [
        PolicyAttachment("role", "Alpha", record.arn),
        PolicyAttachment("role", "zeta", record.arn),
        PolicyAttachment("user", "Bob", record.arn),
    ]
    assert await store.iam.list_entities_for_policy(other.arn) == [PolicyAttachment("user", "Bob", other.arn)]
    with pytest.raises(NotFound):
        await store.iam.list_entities_for_policy(policy_arn("Nope"))


async def test_access_key_lifecycle(store: Store) -> None:
    await store.iam.create_user(user("Alice"))
    first, second = (
        access_key("AKIAFIRST", "alice", created=at(1)),
        access_key("AKIASECOND", "ALICE", created=at(2)),
    )
    await store.iam.create_access_key(second)
    await store.iam.create_access_key(first)

    got = await store.iam.get_access_key("AKIAFIRST")
    # The owner comes back under its display name; the sealed bytes come back exactly.
    assert got == dataclasses.replace(first, user_name="Alice")
    assert first.sealed_secret.startswith(b"\x00\xff")  # not text: stored as bytes, not decoded
    assert [k.access_key_id for k in await store.iam.list_access_keys("ALICE")] == ["AKIAFIRST", "AKIASECOND"]

    await store.iam.update_access_key_status("AKIAFIRST", "Inactive")
    got = await store.iam.get_access_key("AKIAFIRST")
    assert got is not None and got.status == "Inactive"

    await store.iam.delete_access_key("AKIAFIRST")
    assert await store.iam.get_access_key("AKIAFIRST") is None
    assert [k.access_key_id for k in await store.iam.list_access_keys("Alice")] == ["AKIASECOND"]


async def test_access_key_errors(store: Store) -> None:
    await store.iam.create_user(user("Alice"))
    await store.iam.create_user(user("Bob"))
    await store.iam.create_access_key(access_key("AKIA1", "Alice"))
    with pytest.raises(AlreadyExists):
        await store.iam.create_access_key(access_key("AKIA1", "Bob"))
    with pytest.raises(NotFound):
        await store.iam.create_access_key(access_key("AKIA2", "ghost"))
    with pytest.raises(NotFound):
        await store.iam.list_access_keys("ghost")
    with pytest.raises(NotFound):
        await store.iam.update_access_key_status("AKIA9", "Inactive")
    with pytest.raises(NotFound):
        await store.iam.delete_access_key("AKIA9")
    with pytest.raises(ValueError, match="status"):
        await store.iam.update_access_key_status("AKIA1", "Disabled")  # type: ignore[arg-type]
    assert await store.iam.get_access_key("AKIA9") is None
    assert await store.iam.list_access_keys("Bob") == []
    got = await store.iam.get_access_key("AKIA1")
    assert got is not None and (got.user_name, got.status) == ("Alice", "Active")
