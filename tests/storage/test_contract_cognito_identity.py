"""Contract: Cognito identity pools, identities, logins and OpenID signing keys (every backend)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bastion.storage.cognito_identity import (
    CognitoProvider,
    Identity,
    IdentityPool,
    Login,
    MappingRule,
    RoleMapping,
    SigningKey,
)
from bastion.storage.interfaces import AlreadyExists, InvalidMarker, NotFound, Store, Tag
from tests.storage.builders import T0, at

GOOGLE = "accounts.google.com"
USER_POOL = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123"


def pool(n: int = 1, **extra: object) -> IdentityPool:
    return IdentityPool(
        pool_id=f"us-east-1:0000000{n}-0000-0000-0000-000000000000",
        name=f"pool{n}",
        allow_unauthenticated=True,
        created=T0,
        **extra,  # type: ignore[arg-type]
    )


def identity(n: int, pool_n: int = 1, *logins: Login, created: float = 0) -> Identity:
    return Identity(
        identity_id=f"us-east-1:1111111{n}-0000-0000-0000-000000000000",
        pool_id=pool(pool_n).pool_id,
        created=at(created),
        last_modified=at(created),
        logins=logins,
    )


FULL = pool(
    7,
    allow_classic_flow=True,
    cognito_providers=(CognitoProvider(USER_POOL, "app1", True), CognitoProvider(USER_POOL, "app2")),
    supported_login_providers=(("graph.facebook.com", "1234"),),
    developer_provider_name="login.example",
    open_id_connect_provider_arns=("arn:aws:iam::123456789012:oidc-provider/example.com",),
    saml_provider_arns=("arn:aws:iam::123456789012:saml-provider/corp",),
    tags=(Tag("team", "iot"), Tag("empty", "")),
)
MAPPINGS = (
    RoleMapping(f"{USER_POOL}:app1", "Token", "AuthenticatedRole"),
    RoleMapping(
        f"{USER_POOL}:app2",
        "Rules",
        "Deny",
        (
            MappingRule("cognito:groups", "Contains", "admin", "arn:aws:iam::123456789012:role/a"),
            MappingRule("custom:dept", "Equals", "ops", "arn:aws:iam::123456789012:role/b"),
        ),
    ),
)
ROLES = (
    ("authenticated", "arn:aws:iam::123456789012:role/a"),
    ("unauthenticated", "arn:aws:iam::123456789012:role/u"),
)


async def test_a_pool_round_trips_every_setting(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(FULL)
    assert await repo.get_pool(FULL.pool_id) == FULL
    await repo.set_roles(FULL.pool_id, ROLES, MAPPINGS)
    stored = await repo.get_pool(FULL.pool_id)
    assert stored == dataclasses.replace(FULL, roles=ROLES, role_mappings=MAPPINGS)
    with pytest.raises(AlreadyExists):
        await repo.create_pool(pool(7))
    assert await repo.get_pool(pool(8).pool_id) is None


async def test_update_keeps_roles_mappings_and_creation_time(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(FULL)
    await repo.set_roles(FULL.pool_id, ROLES, MAPPINGS)
    changed = dataclasses.replace(pool(7), name="renamed", created=at(99), allow_unauthenticated=False)
    await repo.update_pool(changed)
    stored = await repo.get_pool(FULL.pool_id)
    assert stored == dataclasses.replace(changed, created=T0, roles=ROLES, role_mappings=MAPPINGS)
    with pytest.raises(NotFound):
        await repo.update_pool(pool(9))
    with pytest.raises(NotFound):
        await repo.set_roles(pool(9).pool_id, ROLES, ())


async def test_pools_page_by_id_and_refuse_foreign_markers(store: Store) -> None:
    repo = store.cognito_identity
    for n in (3, 1, 4, 2):
        await repo.create_pool(pool(n))
    first = await repo.list_pools(None, 3)
    assert [p.name for p in first.items] == ["pool1", "pool2", "pool3"]
    assert first.marker is not None
    rest = await repo.list_pools(first.marker, 3)
    assert [p.name for p in rest.items] == ["pool4"]
    assert rest.marker is None
    with pytest.raises(InvalidMarker):
        await repo.list_pools("garbage", 3)
    await repo.create_identity(identity(1))
    await repo.create_identity(identity(2))
    other = await repo.list_identities(pool(1).pool_id, None, 1, False)
    assert other.marker is not None
    with pytest.raises(InvalidMarker):
        await repo.list_pools(other.marker, 3)
    with pytest.raises(InvalidMarker):  # a marker of pool 1's identities is not one of pool 2's
        await repo.list_identities(pool(2).pool_id, other.marker, 1, False)


async def test_identities_with_logins_are_found_by_login(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    await repo.create_pool(pool(2))
    user = identity(1, 1, Login(USER_POOL, "sub-a"), Login(GOOGLE, "g-1"))
    await repo.create_identity(user)
    got = await repo.get_identity(user.identity_id)
    assert got is not None
    assert got.logins == (Login(GOOGLE, "g-1"), Login(USER_POOL, "sub-a"))  # ordered by provider
    assert got.authenticated and not got.disabled and got.created == at(0)
    assert await repo.find_identity(pool(1).pool_id, Login(USER_POOL, "sub-a")) == got
    # The same user in another pool is another identity.
    assert await repo.find_identity(pool(2).pool_id, Login(USER_POOL, "sub-a")) is None
    await repo.create_identity(identity(2, 2, Login(USER_POOL, "sub-a")))


async def test_a_login_belongs_to_one_identity_and_an_identity_to_one_login_per_provider(
    store: Store,
) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    await repo.create_identity(identity(1, 1, Login(USER_POOL, "sub-a")))
    with pytest.raises(AlreadyExists):
        await repo.create_identity(identity(2, 1, Login(USER_POOL, "sub-a")))
    with pytest.raises(AlreadyExists):
        await repo.create_identity(identity(3, 1, Login(USER_POOL, "x"), Login(USER_POOL, "y")))
    with pytest.raises(AlreadyExists):
        await repo.create_identity(identity(1, 1))
    with pytest.raises(NotFound):
        await repo.create_identity(identity(4, 9))
    assert await repo.get_identity(identity(2).identity_id) is None
    assert await repo.get_identity(identity(3).identity_id) is None


async def test_link_adds_logins_and_merges_identities(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    target, guest, other = (
        identity(1, 1, Login(USER_POOL, "a")),
        identity(2),
        identity(3, 1, Login(GOOGLE, "g")),
    )
    for i in (target, guest, other):
        await repo.create_identity(i)
    merged = await repo.link_logins(
        target.identity_id,
        [Login(USER_POOL, "a"), Login("www.amazon.com", "amz")],
        [guest.identity_id, other.identity_id],
        at(5),
    )
    assert merged.logins == (Login(GOOGLE, "g"), Login(USER_POOL, "a"), Login("www.amazon.com", "amz"))
    assert merged.last_modified == at(5) and not merged.disabled
    assert await repo.get_identity(target.identity_id) == merged
    for absorbed in (guest, other):
        gone = await repo.get_identity(absorbed.identity_id)
        assert gone is not None
        assert (gone.disabled, gone.merged_into, gone.logins) == (True, target.identity_id, ())
    assert await repo.find_identity(pool(1).pool_id, Login(GOOGLE, "g")) == merged


async def test_link_refuses_conflicts_and_changes_nothing(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    await repo.create_pool(pool(2))
    a, b = identity(1, 1, Login(USER_POOL, "a")), identity(2, 1, Login(USER_POOL, "b"))
    elsewhere = identity(3, 2)
    for i in (a, b, elsewhere):
        await repo.create_identity(i)
    with pytest.raises(AlreadyExists):  # b's login, b not absorbed
        await repo.link_logins(a.identity_id, [Login(USER_POOL, "b")], [], at(1))
    with pytest.raises(AlreadyExists):  # absorbing b would give a two logins of USER_POOL
        await repo.link_logins(a.identity_id, [], [b.identity_id], at(1))
    with pytest.raises(AlreadyExists):
        await repo.link_logins(a.identity_id, [Login(USER_POOL, "c")], [], at(1))
    with pytest.raises(NotFound):
        await repo.link_logins(a.identity_id, [], [elsewhere.identity_id], at(1))
    with pytest.raises(NotFound):
        await repo.link_logins(identity(9).identity_id, [], [], at(1))
    assert await repo.get_identity(a.identity_id) == a
    assert await repo.get_identity(b.identity_id) == b


async def test_unlinking_the_last_login_disables_the_identity(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    user = identity(1, 1, Login(USER_POOL, "a"), Login(GOOGLE, "g"))
    await repo.create_identity(user)
    after = await repo.unlink_logins(user.identity_id, [GOOGLE, "never.linked"], at(3))
    assert after.logins == (Login(USER_POOL, "a"),) and not after.disabled
    assert await repo.find_identity(pool(1).pool_id, Login(GOOGLE, "g")) is None
    last = await repo.unlink_logins(user.identity_id, [USER_POOL], at(4))
    assert last.logins == () and last.disabled and last.last_modified == at(4)
    # The login is free again.
    await repo.create_identity(identity(2, 1, Login(USER_POOL, "a")))
    with pytest.raises(NotFound):
        await repo.unlink_logins(identity(9).identity_id, [], at(5))


async def test_listing_identities_pages_and_hides_disabled(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    for n in (4, 2, 3, 1):
        await repo.create_identity(identity(n))
    await repo.link_logins(identity(1).identity_id, [], [identity(3).identity_id], at(1))
    seen, marker = [], None
    while True:
        page = await repo.list_identities(pool(1).pool_id, marker, 3, False)
        seen += [i.identity_id for i in page.items]
        if (marker := page.marker) is None:
            break
    assert seen == [identity(n).identity_id for n in (1, 2, 3, 4)]
    shown = await repo.list_identities(pool(1).pool_id, None, 10, True)
    assert [i.identity_id for i in shown.items] == [identity(n).identity_id for n in (1, 2, 4)]
    with pytest.raises(NotFound):
        await repo.list_identities(pool(9).pool_id, None, 10, False)


async def test_deleting_identities_and_pools(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    await repo.create_identity(identity(1, 1, Login(USER_POOL, "a")))
    await repo.create_identity(identity(2, 1, Login(USER_POOL, "b")))
    await repo.delete_identities([identity(1).identity_id, identity(9).identity_id])
    assert await repo.get_identity(identity(1).identity_id) is None
    assert await repo.find_identity(pool(1).pool_id, Login(USER_POOL, "a")) is None
    await repo.delete_pool(pool(1).pool_id)
    assert await repo.get_pool(pool(1).pool_id) is None
    assert await repo.get_identity(identity(2).identity_id) is None
    assert await repo.find_identity(pool(1).pool_id, Login(USER_POOL, "b")) is None
    with pytest.raises(NotFound):
        await repo.delete_pool(pool(1).pool_id)
    # Its logins are gone with it: the user can be seen anew in a pool of that id.
    await repo.create_pool(pool(1))
    await repo.create_identity(identity(3, 1, Login(USER_POOL, "b")))


async def test_signing_keys_are_kept_oldest_first(store: Store) -> None:
    repo = store.cognito_identity
    await repo.add_signing_key(SigningKey("k2", b"\x00sealed-2", at(2)))
    await repo.add_signing_key(SigningKey("k1", b"\x01sealed-1", at(1)))
    with pytest.raises(AlreadyExists):
        await repo.add_signing_key(SigningKey("k1", b"x", at(3)))
    assert list(await repo.list_signing_keys()) == [
        SigningKey("k1", b"\x01sealed-1", at(1)),
        SigningKey("k2", b"\x00sealed-2", at(2)),
    ]


async def test_concurrent_first_sign_ins_of_one_user_make_one_identity(store: Store) -> None:
    repo = store.cognito_identity
    await repo.create_pool(pool(1))
    login = Login(USER_POOL, "racer")

    async def sign_in(n: int) -> bool:
        try:
            await repo.create_identity(identity(n, 1, login))
            return True
        except AlreadyExists:
            return False

    results = await asyncio.gather(*(sign_in(n) for n in range(1, 6)))
    assert results.count(True) == 1
    owner = await repo.find_identity(pool(1).pool_id, login)
    assert owner is not None and owner.identity_id == identity(results.index(True) + 1).identity_id
