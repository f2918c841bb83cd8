"""Contract: inline policies, managed policies and their versions (every backend)."""

from __future__ import annotations

import dataclasses

import pytest

from bastion.storage.interfaces import AlreadyExists, DeleteConflict, InlinePolicy, NotFound, Store, Tag
from tests.storage.builders import ACCOUNT, at, policy, policy_arn, role, user, version

# -- inline policies ------------------------------------------------------------------------------------


async def test_inline_policy_put_get_list_delete(store: Store) -> None:
    await store.iam.create_role(role("Owner"))
    await store.iam.put_inline_policy(InlinePolicy("role", "owner", "Write", '{"w":1}'))
    await store.iam.put_inline_policy(InlinePolicy("role", "OWNER", "read", '{"r":1}'))

    got = await store.iam.get_inline_policy("role", "owner", "WRITE")
    # The owner is reported by its display name, whatever spelling the caller used.
    assert got == InlinePolicy("role", "Owner", "Write", '{"w":1}')
    listed = await store.iam.list_inline_policies("role", "Owner")
    assert [(p.owner_name, p.policy_name, p.document) for p in listed] == [
        ("Owner", "read", '{"r":1}'),
        ("Owner", "Write", '{"w":1}'),
    ]

    await store.iam.delete_inline_policy("role", "owner", "write")
    assert await store.iam.get_inline_policy("role", "Owner", "Write") is None
    with pytest.raises(NotFound):
        await store.iam.delete_inline_policy("role", "Owner", "Write")
    assert [p.policy_name for p in await store.iam.list_inline_policies("role", "Owner")] == ["read"]


async def test_inline_put_overwrites_the_same_name_ignoring_case(store: Store) -> None:
    await store.iam.create_user(user("U"))
    await store.iam.put_inline_policy(InlinePolicy("user", "U", "Policy", "{1}"))
    await store.iam.put_inline_policy(InlinePolicy("user", "U", "POLICY", "{2}"))
    listed = await store.iam.list_inline_policies("user", "u")
    assert listed == [InlinePolicy("user", "U", "POLICY", "{2}")]


async def test_inline_policies_need_their_owner(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.iam.put_inline_policy(InlinePolicy("role", "ghost", "p", "{}"))
    with pytest.raises(NotFound):
        await store.iam.list_inline_policies("role", "ghost")
    with pytest.raises(NotFound):
        await store.iam.delete_inline_policy("user", "ghost", "p")
    assert await store.iam.get_inline_policy("role", "ghost", "p") is None
    await store.iam.create_role(role("Real"))
    assert await store.iam.list_inline_policies("role", "Real") == []


async def test_role_and_user_inline_policies_do_not_mix(store: Store) -> None:
    await store.iam.create_role(role("Same"))
    await store.iam.create_user(user("Same"))
    await store.iam.put_inline_policy(InlinePolicy("role", "Same", "p", "{role}"))
    assert await store.iam.get_inline_policy("user", "Same", "p") is None
    assert await store.iam.list_inline_policies("user", "Same") == []
    with pytest.raises(NotFound):
        await store.iam.delete_inline_policy("user", "Same", "p")


# -- managed policies -----------------------------------------------------------------------------------


async def test_managed_policy_round_trip(store: Store) -> None:
    record, first = policy("Readers", path="/team/", tags=(Tag("k", "v"),))
    await store.iam.create_managed_policy(record, first)
    got = await store.iam.get_managed_policy(record.arn)
    assert got == record
    assert record.attachment_count == 0
    # ARNs are looked up ignoring case, as names are.
    assert await store.iam.get_managed_policy(record.arn.upper()) == record
    assert await store.iam.get_managed_policy(policy_arn("Nope")) is None


async def test_managed_policy_names_are_unique_per_account_ignoring_case(store: Store) -> None:
    await store.iam.create_managed_policy(*policy("Shared"))
    with pytest.raises(AlreadyExists):  # same account, other case, other path: still the same name
        await store.iam.create_managed_policy(*policy("SHARED", path="/elsewhere/"))
    with pytest.raises(AlreadyExists):  # same id
        record, first = policy("Different")
        await store.iam.create_managed_policy(
            dataclasses.replace(record, policy_id=policy("Shared")[0].policy_id), first
        )
    # Another account (e.g. AWS-managed policies under "aws") may reuse the name.
    await store.iam.create_managed_policy(*policy("Shared", account="aws"))
    assert await store.iam.get_managed_policy(policy_arn("Shared", account="aws")) is not None


async def test_first_version_must_match_the_policy(store: Store) -> None:
    record, first = policy("P")
    with pytest.raises(ValueError, match="first version"):
        await store.iam.create_managed_policy(record, dataclasses.replace(first, version_id="v2"))
    with pytest.raises(ValueError, match="first version"):
        await store.iam.create_managed_policy(record, dataclasses.replace(first, policy_arn=policy_arn("Q")))
    assert await store.iam.get_managed_policy(record.arn) is None


async def test_versions_default_and_update_time(store: Store) -> None:
    record, first = policy("P", created=at(0))
    arn = record.arn
    await store.iam.create_managed_policy(record, first)

    await store.iam.add_policy_version(version(arn, "v2", created=at(10)), make_default=False)
    got = await store.iam.get_managed_policy(arn)
    assert got is not None and got.default_version_id == "v1" and got.updated == at(10)

    await store.iam.add_policy_version(version(arn, "v3", created=at(20)), make_default=True)
    got = await store.iam.get_managed_policy(arn)
    assert got is not None and (got.default_version_id, got.updated, got.created) == ("v3", at(20), at(0))

    listed = await store.iam.list_policy_versions(arn.lower())
    assert [(v.version_id, v.is_default, v.created) for v in listed] == [
        ("v1", False, at(0)),
        ("v2", False, at(10)),
        ("v3", True, at(20)),
    ]
    assert all(v.policy_arn == arn for v in listed)
    v2 = await store.iam.get_policy_version(arn, "v2")
    assert v2 == dataclasses.replace(version(arn, "v2", created=at(10)), is_default=False)
    assert await store.iam.get_policy_version(arn, "v9") is None
    assert await store.iam.get_policy_version(policy_arn("Nope"), "v1") is None

    await store.iam.set_default_policy_version(arn, "v2")
    v2 = await store.iam.get_policy_version(arn, "v2")
    assert v2 is not None and v2.is_default
    got = await store.iam.get_managed_policy(arn)
    assert got is not None and got.default_version_id == "v2"


async def test_version_ids_are_unique_and_need_their_policy(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    with pytest.raises(AlreadyExists):
        await store.iam.add_policy_version(version(record.arn, "v1"), make_default=True)
    with pytest.raises(NotFound):
        await store.iam.add_policy_version(version(policy_arn("Nope"), "v2"), make_default=False)
    with pytest.raises(NotFound):
        await store.iam.list_policy_versions(policy_arn("Nope"))
    with pytest.raises(NotFound):
        await store.iam.set_default_policy_version(record.arn, "v7")
    with pytest.raises(NotFound):
        await store.iam.set_default_policy_version(policy_arn("Nope"), "v1")
    got = await store.iam.get_managed_policy(record.arn)
    assert got is not None and got.default_version_id == "v1"


async def test_delete_version_refuses_the_default(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    await store.iam.add_policy_version(version(record.arn, "v2"), make_default=False)
    with pytest.raises(DeleteConflict):
        await store.iam.delete_policy_version(record.arn, "v1")
    await store.iam.delete_policy_version(record.arn, "v2")
    assert [v.version_id for v in await store.iam.list_policy_versions(record.arn)] == ["v1"]
    with pytest.raises(NotFound):
        await store.iam.delete_policy_version(record.arn, "v2")
    with pytest.raises(NotFound):
        await store.iam.delete_policy_version(policy_arn("Nope"), "v2")


async def test_versions_list_in_creation_order_past_nine(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    for n in range(2, 12):
        await store.iam.add_policy_version(version(record.arn, f"v{n}", created=at(n)), make_default=False)
    await store.iam.delete_policy_version(record.arn, "v3")
    ids = [v.version_id for v in await store.iam.list_policy_versions(record.arn)]
    assert ids == ["v1", "v2"] + [f"v{n}" for n in range(4, 12)]


async def test_delete_managed_policy_removes_versions(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    await store.iam.add_policy_version(version(record.arn, "v2"), make_default=False)
    await store.iam.delete_managed_policy(record.arn.upper())
    assert await store.iam.get_managed_policy(record.arn) is None
    assert await store.iam.get_policy_version(record.arn, "v2") is None
    with pytest.raises(NotFound):
        await store.iam.delete_managed_policy(record.arn)
    # Re-created, it starts from its first version only.
    await store.iam.create_managed_policy(record, first)
    assert [v.version_id for v in await store.iam.list_policy_versions(record.arn)] == ["v1"]


async def test_delete_managed_policy_conflicts_while_attached(store: Store) -> None:
    record, first = policy("P")
    await store.iam.create_managed_policy(record, first)
    await store.iam.create_user(user("U"))
    await store.iam.attach_policy("user", "U", record.arn)
    with pytest.raises(DeleteConflict):
        await store.iam.delete_managed_policy(record.arn)
    assert await store.iam.get_managed_policy(record.arn) is not None
    await store.iam.detach_policy("user", "U", record.arn)
    await store.iam.delete_managed_policy(record.arn)


async def test_managed_policy_tags_are_case_sensitive(store: Store) -> None:
    record, first = policy("P", tags=(Tag("Env", "prod"),))
    await store.iam.create_managed_policy(record, first)
    await store.iam.tag_managed_policy(record.arn, [Tag("env", "dev"), Tag("Env", "stage")])
    got = await store.iam.get_managed_policy(record.arn)
    assert got is not None and got.tags == (Tag("Env", "stage"), Tag("env", "dev"))
    await store.iam.untag_managed_policy(record.arn, ["ENV", "env"])
    got = await store.iam.get_managed_policy(record.arn)
    assert got is not None and got.tags == (Tag("Env", "stage"),)
    with pytest.raises(NotFound):
        await store.iam.tag_managed_policy(policy_arn("Nope"), [])
    with pytest.raises(NotFound):
        await store.iam.untag_managed_policy(policy_arn("Nope"), [])


async def test_policy_arn_must_name_an_account(store: Store) -> None:
    record, first = policy("P")
    bad = "arn:aws:iam:::policy/P"
    with pytest.raises(ValueError, match="account"):
        await store.iam.create_managed_policy(
            dataclasses.replace(record, arn=bad), dataclasses.replace(first, policy_arn=bad)
        )
    assert ACCOUNT in record.arn
