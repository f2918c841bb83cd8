"""Contract: marker-based paging of roles, users and managed policies (every backend)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bastion.storage.interfaces import InvalidMarker, Page, Store
from tests.storage.builders import policy, role, user

NAMES = ["delta", "Alpha", "charlie", "Bravo", "echo", "_under", "Zulu"]
# Ordered by lower-cased name, by code point: "_" (0x5F) sorts before letters.
EXPECTED = ["_under", "Alpha", "Bravo", "charlie", "delta", "echo", "Zulu"]


async def _all_pages(
    fetch: Callable[[str | None], Awaitable[Page[Any]]],
) -> tuple[list[str], list[int]]:
    names: list[str] = []
    sizes: list[int] = []
    marker: str | None = None
    while True:
        page = await fetch(marker)
        names += [item.name for item in page.items]
        sizes.append(len(page.items))
        if page.marker is None:
            return names, sizes
        marker = page.marker


async def test_roles_page_in_name_order(store: Store) -> None:
    for name in NAMES:
        await store.iam.create_role(role(name))
    names, sizes = await _all_pages(lambda m: store.iam.list_roles("/", m, 3))
    assert names == EXPECTED
    assert sizes == [3, 3, 1]
    one_page = await store.iam.list_roles("/", None, 7)
    assert one_page.marker is None and len(one_page.items) == 7


async def test_users_page_in_name_order(store: Store) -> None:
    for name in NAMES:
        await store.iam.create_user(user(name))
    names, sizes = await _all_pages(lambda m: store.iam.list_users("/", m, 2))
    assert names == EXPECTED
    assert sizes == [2, 2, 2, 1]


async def test_path_prefix_is_case_sensitive_and_pages(store: Store) -> None:
    for i in range(5):
        await store.iam.create_role(role(f"ops{i}", path="/ops/"))
    await store.iam.create_role(role("upper", path="/OPS/"))
    await store.iam.create_role(role("deep", path="/ops/deep/"))
    await store.iam.create_role(role("like", path="/o%s/"))  # a LIKE wildcard must not match anything else
    names, _ = await _all_pages(lambda m: store.iam.list_roles("/ops/", m, 2))
    assert names == ["deep", "ops0", "ops1", "ops2", "ops3", "ops4"]
    assert [r.name for r in (await store.iam.list_roles("/OPS/", None, 10)).items] == ["upper"]
    assert [r.name for r in (await store.iam.list_roles("/o%", None, 10)).items] == ["like"]
    assert (await store.iam.list_roles("/nothing/", None, 10)).items == []


async def test_paging_is_stable_when_records_change_between_pages(store: Store) -> None:
    for name in ("a", "b", "c", "d", "e"):
        await store.iam.create_role(role(name))
    first = await store.iam.list_roles("/", None, 2)
    assert [r.name for r in first.items] == ["a", "b"]
    # Changes before the marker do not shift the rest; changes after it show up.
    await store.iam.delete_role("a")
    await store.iam.create_role(role("aa"))
    await store.iam.delete_role("c")
    await store.iam.create_role(role("dd"))
    rest, _ = await _all_pages(lambda m: store.iam.list_roles("/", m or first.marker, 2))
    assert rest == ["d", "dd", "e"]


async def test_managed_policies_page_with_ties_across_accounts(store: Store) -> None:
    await store.iam.create_managed_policy(*policy("Shared", account="aws"))
    await store.iam.create_managed_policy(*policy("Shared"))
    await store.iam.create_managed_policy(*policy("alpha", path="/x/"))
    await store.iam.create_managed_policy(*policy("Zed"))
    arns: list[str] = []
    marker: str | None = None
    while True:
        page = await store.iam.list_managed_policies("/", marker, 1)
        arns += [p.arn for p in page.items]
        if page.marker is None:
            break
        marker = page.marker
    assert arns == [
        policy("alpha", path="/x/")[0].arn,
        policy("Shared")[0].arn,  # "arn:aws:iam::1234..." sorts before "arn:aws:iam::aws..."
        policy("Shared", account="aws")[0].arn,
        policy("Zed")[0].arn,
    ]
    filtered = await store.iam.list_managed_policies("/x/", None, 10)
    assert [p.name for p in filtered.items] == ["alpha"]


@pytest.mark.parametrize(
    "bad",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["roles", 5]').decode(),
        "",
    ],
)
async def test_bad_markers_are_rejected(store: Store, bad: str) -> None:
    await store.iam.create_role(role("a"))
    with pytest.raises(InvalidMarker):
        await store.iam.list_roles("/", bad, 10)


async def test_a_marker_only_works_for_its_own_listing(store: Store) -> None:
    for name in ("a", "b"):
        await store.iam.create_role(role(name))
        await store.iam.create_user(user(name))
        await store.iam.create_managed_policy(*policy(name))
    role_marker = (await store.iam.list_roles("/", None, 1)).marker
    user_marker = (await store.iam.list_users("/", None, 1)).marker
    assert role_marker is not None and user_marker is not None
    with pytest.raises(InvalidMarker):
        await store.iam.list_users("/", role_marker, 10)
    with pytest.raises(InvalidMarker):
        await store.iam.list_roles("/", user_marker, 10)
    with pytest.raises(InvalidMarker):
        await store.iam.list_managed_policies("/", role_marker, 10)


async def test_limit_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.iam.list_roles("/", None, 0)
    with pytest.raises(ValueError, match="limit"):
        await store.iam.list_managed_policies("/", None, -1)
