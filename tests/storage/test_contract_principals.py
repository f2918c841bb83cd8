"""Contract: roles and users (every backend)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bastion.storage.interfaces import AlreadyExists, DeleteConflict, InlinePolicy, NotFound, Store, Tag
from tests.storage.builders import T0, access_key, policy, role, user


async def test_role_round_trips_every_field(store: Store) -> None:
    created = datetime(2023, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    original = role(
        "Deployer",
        path="/ops/",
        tags=(Tag("team", "iot"), Tag("Empty", "")),
        created=created,
        description="deploys things",
        max_session_duration=7200,
    )
    await store.iam.create_role(original)
    assert await store.iam.get_role("Deployer") == original
    got = await store.iam.get_role("Deployer")
    assert got is not None and got.created.tzinfo == UTC


async def test_role_lookup_ignores_case_and_keeps_display_name(store: Store) -> None:
    await store.iam.create_role(role("MyRole"))
    for spelling in ("myrole", "MYROLE", "mYrOlE"):
        found = await store.iam.get_role(spelling)
        assert found is not None and found.name == "MyRole"
    assert await store.iam.get_role("MyRole2") is None


async def test_role_names_are_unique_ignoring_case(store: Store) -> None:
    await store.iam.create_role(role("MyRole"))
    with pytest.raises(AlreadyExists):
        await store.iam.create_role(dataclasses.replace(role("MYROLE"), role_id="AROAOTHER"))
    with pytest.raises(AlreadyExists):  # same id, other name
        await store.iam.create_role(dataclasses.replace(role("Other"), role_id=role("MyRole").role_id))
    page = await store.iam.list_roles("/", None, 10)
    assert [r.name for r in page.items] == ["MyRole"]


async def test_times_are_stored_as_utc_instants(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2024, 6, 1, 12, 0, 0, 500, tzinfo=plus_two)
    await store.iam.create_role(role("Zoned", created=local))
    got = await store.iam.get_role("zoned")
    assert got is not None
    assert got.created == local
    assert got.created.utcoffset() == timedelta(0)
    assert got.created.hour == 10


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="time zone"):
        await store.iam.create_role(role("Naive", created=datetime(2024, 1, 1)))
    assert await store.iam.get_role("Naive") is None


async def test_update_trust_policy(store: Store) -> None:
    await store.iam.create_role(role("R"))
    await store.iam.update_role_trust_policy("r", '{"new":1}')
    got = await store.iam.get_role("R")
    assert got is not None and got.trust_policy == '{"new":1}'
    with pytest.raises(NotFound):
        await store.iam.update_role_trust_policy("missing", "{}")


async def test_update_role_changes_only_given_fields(store: Store) -> None:
    await store.iam.create_role(role("R", description="old", max_session_duration=3600))
    await store.iam.update_role("R", "new", None)
    got = await store.iam.get_role("R")
    assert got is not None and (got.description, got.max_session_duration) == ("new", 3600)
    await store.iam.update_role("r", None, 43200)
    got = await store.iam.get_role("R")
    assert got is not None and (got.description, got.max_session_duration) == ("new", 43200)
    await store.iam.update_role("R", None, None)
    assert await store.iam.get_role("R") == got
    with pytest.raises(NotFound):
        await store.iam.update_role("missing", "x", None)


async def test_delete_role_frees_the_name(store: Store) -> None:
    await store.iam.create_role(role("Temp"))
    await store.iam.delete_role("TEMP")
    assert await store.iam.get_role("Temp") is None
    with pytest.raises(NotFound):
        await store.iam.delete_role("Temp")
    await store.iam.create_role(role("temp"))
    found = await store.iam.get_role("TEMP")
    assert found is not None and found.name == "temp"


async def test_delete_role_conflicts_while_it_holds_policies(store: Store) -> None:
    await store.iam.create_role(role("R"))
    await store.iam.put_inline_policy(InlinePolicy("role", "R", "inline", "{}"))
    with pytest.raises(DeleteConflict):
        await store.iam.delete_role("R")
    await store.iam.delete_inline_policy("role", "R", "inline")

    await store.iam.create_managed_policy(*policy("P"))
    await store.iam.attach_policy("role", "R", policy("P")[0].arn)
    with pytest.raises(DeleteConflict):
        await store.iam.delete_role("R")
    assert await store.iam.get_role("R") is not None
    await store.iam.detach_policy("role", "R", policy("P")[0].arn)
    await store.iam.delete_role("R")
    assert await store.iam.get_role("R") is None


async def test_role_tags_merge_ignoring_key_case(store: Store) -> None:
    await store.iam.create_role(role("R", tags=(Tag("Department", "finance"), Tag("keep", "1"))))
    await store.iam.tag_role("r", [Tag("department", "hr"), Tag("new", "2")])
    got = await store.iam.get_role("R")
    assert got is not None
    assert got.tags == (Tag("department", "hr"), Tag("keep", "1"), Tag("new", "2"))
    await store.iam.untag_role("R", ["KEEP", "absent"])
    got = await store.iam.get_role("R")
    assert got is not None and got.tags == (Tag("department", "hr"), Tag("new", "2"))
    with pytest.raises(NotFound):
        await store.iam.tag_role("missing", [Tag("a", "b")])
    with pytest.raises(NotFound):
        await store.iam.untag_role("missing", ["a"])


async def test_user_round_trip_and_case_insensitive_name(store: Store) -> None:
    original = user("Alice", path="/people/", tags=(Tag("k", "v"),))
    await store.iam.create_user(original)
    assert await store.iam.get_user("ALICE") == original
    assert await store.iam.get_user("bob") is None
    with pytest.raises(AlreadyExists):
        await store.iam.create_user(dataclasses.replace(user("alice"), user_id="AIDAOTHER"))
    with pytest.raises(AlreadyExists):
        await store.iam.create_user(dataclasses.replace(user("Carol"), user_id=original.user_id))


async def test_roles_and_users_are_separate_namespaces(store: Store) -> None:
    await store.iam.create_role(role("Same"))
    await store.iam.create_user(user("Same"))
    assert await store.iam.get_role("same") is not None
    assert await store.iam.get_user("same") is not None


async def test_delete_user_conflicts_while_it_holds_keys_or_policies(store: Store) -> None:
    await store.iam.create_user(user("U"))
    await store.iam.create_access_key(access_key("AKIA1", "U"))
    with pytest.raises(DeleteConflict):
        await store.iam.delete_user("u")
    await store.iam.delete_access_key("AKIA1")

    await store.iam.put_inline_policy(InlinePolicy("user", "U", "p", "{}"))
    with pytest.raises(DeleteConflict):
        await store.iam.delete_user("U")
    await store.iam.delete_inline_policy("user", "U", "p")

    await store.iam.create_managed_policy(*policy("P"))
    await store.iam.attach_policy("user", "U", policy("P")[0].arn)
    with pytest.raises(DeleteConflict):
        await store.iam.delete_user("U")
    await store.iam.detach_policy("user", "U", policy("P")[0].arn)

    await store.iam.delete_user("U")
    assert await store.iam.get_user("U") is None
    with pytest.raises(NotFound):
        await store.iam.delete_user("U")


async def test_user_tags(store: Store) -> None:
    await store.iam.create_user(user("U", created=T0))
    await store.iam.tag_user("u", [Tag("A", "1"), Tag("b", "2")])
    await store.iam.tag_user("U", [Tag("a", "3")])
    await store.iam.untag_user("U", ["B"])
    got = await store.iam.get_user("U")
    assert got is not None and got.tags == (Tag("a", "3"),)
    with pytest.raises(NotFound):
        await store.iam.tag_user("missing", [])
    with pytest.raises(NotFound):
        await store.iam.untag_user("missing", [])
