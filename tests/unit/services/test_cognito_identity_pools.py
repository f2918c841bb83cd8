"""Identity pool administration: settings, roles and role mappings, identities, paging."""

from __future__ import annotations

import pytest

from bastion.services.cognito_identity.pools import PoolSettings
from bastion.services.errors import InvalidInputError, NotFoundError
from bastion.storage.cognito_identity import CognitoProvider, MappingRule, RoleMapping
from bastion.storage.interfaces import Tag

from .cognito_identity_fakes import ACCOUNT, CLIENT, PROVIDER, Env, id_token, make_env

ROLE = f"arn:aws:iam::{ACCOUNT}:role/Auth"


@pytest.fixture
def env() -> Env:
    return make_env()


def settings(**overrides: object) -> PoolSettings:
    values: dict[str, object] = {
        "name": "pool",
        "allow_unauthenticated": True,
        "cognito_providers": (CognitoProvider(PROVIDER, CLIENT, True),),
    }
    values.update(overrides)
    return PoolSettings(**values)  # type: ignore[arg-type]


async def test_a_pool_is_created_with_a_regional_id_and_read_back(env: Env) -> None:
    created = await env.service.admin.create_pool(settings(tags=(Tag("team", "iot"),)))
    assert created.pool_id.startswith("us-east-1:")
    assert env.service.admin.pool_arn(created.pool_id) == (
        f"arn:aws:cognito-identity:us-east-1:{ACCOUNT}:identitypool/{created.pool_id}"
    )
    assert await env.service.admin.pool(created.pool_id) == created


@pytest.mark.parametrize(
    "providers",
    [
        (CognitoProvider("cognito-idp.us-east-1.amazonaws.com", CLIENT),),
        (CognitoProvider("accounts.google.com", CLIENT),),
        (CognitoProvider(PROVIDER, ""),),
        (CognitoProvider(PROVIDER, CLIENT), CognitoProvider(PROVIDER, CLIENT)),
    ],
)
async def test_bad_user_pool_providers_are_refused(env: Env, providers: tuple[CognitoProvider, ...]) -> None:
    with pytest.raises(InvalidInputError):
        await env.service.admin.create_pool(settings(cognito_providers=providers))


async def test_one_user_pool_may_be_listed_with_several_app_clients(env: Env) -> None:
    providers = (CognitoProvider(PROVIDER, CLIENT), CognitoProvider(PROVIDER, "client2"))
    pool = await env.service.admin.create_pool(settings(cognito_providers=providers))
    assert pool.cognito_providers == providers


async def test_update_replaces_settings_but_keeps_roles_and_tags_unless_given(env: Env) -> None:
    pool = await env.service.admin.create_pool(settings(tags=(Tag("a", "1"),)))
    await env.service.admin.set_roles(pool.pool_id, {"authenticated": ROLE}, [])
    updated = await env.service.admin.update_pool(
        pool.pool_id, settings(name="renamed", allow_unauthenticated=False, cognito_providers=(), tags=None)
    )
    assert updated.name == "renamed"
    assert not updated.allow_unauthenticated
    assert updated.cognito_providers == ()
    assert updated.tags == (Tag("a", "1"),)
    assert updated.roles == (("authenticated", ROLE),)
    assert await env.service.admin.pool(pool.pool_id) == updated


async def test_the_developer_provider_name_cannot_change(env: Env) -> None:
    pool = await env.service.admin.create_pool(settings(developer_provider_name="login.example"))
    with pytest.raises(InvalidInputError, match="DeveloperProviderName"):
        await env.service.admin.update_pool(pool.pool_id, settings(developer_provider_name="other"))


async def test_role_mappings_must_name_a_provider_of_the_pool_with_its_app_client(env: Env) -> None:
    pool = await env.service.admin.create_pool(settings())
    good = RoleMapping(f"{PROVIDER}:{CLIENT}", "Token", "Deny")
    await env.service.admin.set_roles(pool.pool_id, {"authenticated": ROLE}, [good])
    assert (await env.service.admin.pool(pool.pool_id)).role_mappings == (good,)
    for key in (PROVIDER, f"{PROVIDER}:otherclient", "graph.facebook.com"):
        with pytest.raises(InvalidInputError, match="RoleMappings"):
            await env.service.admin.set_roles(pool.pool_id, {}, [RoleMapping(key, "Token", "Deny")])


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (RoleMapping(f"{PROVIDER}:{CLIENT}", "Token", None), "AmbiguousRoleResolution"),
        (RoleMapping(f"{PROVIDER}:{CLIENT}", "Rules", "Deny"), "RulesConfiguration"),
        (
            RoleMapping(
                f"{PROVIDER}:{CLIENT}",
                "Rules",
                "Deny",
                tuple(MappingRule("c", "Equals", "v", ROLE) for _ in range(26)),
            ),
            "25 rules",
        ),
        (
            RoleMapping(
                f"{PROVIDER}:{CLIENT}", "Rules", "Deny", (MappingRule("c", "Equals", "v", "not-an-arn"),)
            ),
            "not a valid IAM role ARN",
        ),
    ],
)
async def test_incomplete_role_mappings_are_refused(env: Env, mapping: RoleMapping, message: str) -> None:
    pool = await env.service.admin.create_pool(settings())
    with pytest.raises(InvalidInputError, match=message):
        await env.service.admin.set_roles(pool.pool_id, {}, [mapping])


async def test_roles_must_be_role_arns(env: Env) -> None:
    pool = await env.service.admin.create_pool(settings())
    with pytest.raises(InvalidInputError):
        await env.service.admin.set_roles(
            pool.pool_id, {"authenticated": f"arn:aws:iam::{ACCOUNT}:user/bob"}, []
        )


async def test_pools_page_in_id_order(env: Env) -> None:
    made = sorted([(await env.service.admin.create_pool(settings(name=f"p{i}"))).pool_id for i in range(5)])
    seen: list[str] = []
    marker = None
    while True:
        page = await env.service.admin.list_pools(marker, 2)
        seen.extend(p.pool_id for p in page.items)
        marker = page.marker
        if marker is None:
            break
    assert seen == made
    with pytest.raises(InvalidInputError):
        await env.service.admin.list_pools("bogus", 2)


async def test_deleting_a_pool_deletes_its_identities(env: Env) -> None:
    pool = await env.service.admin.create_pool(settings())
    guest = await env.service.flows.get_id(pool.pool_id, {})
    user = await env.service.flows.get_id(pool.pool_id, {PROVIDER: id_token("user-a")})
    page = await env.service.admin.list_identities(pool.pool_id, None, 10, False)
    assert sorted(i.identity_id for i in page.items) == sorted([guest, user])
    await env.service.admin.delete_pool(pool.pool_id)
    for gone in (guest, user):
        with pytest.raises(NotFoundError, match=f"Identity '{gone}' not found"):
            await env.service.admin.identity(gone)
    with pytest.raises(NotFoundError, match="IdentityPool"):
        await env.service.admin.delete_pool(pool.pool_id)


async def test_listing_can_hide_disabled_identities(env: Env) -> None:
    pool = await env.service.admin.create_pool(settings())
    user = await env.service.flows.get_id(pool.pool_id, {PROVIDER: id_token("user-a")})
    guest = await env.service.flows.get_id(pool.pool_id, {})
    await env.service.flows.sign_in(guest, {PROVIDER: id_token("user-a")})  # merged into user: disabled
    everyone = await env.service.admin.list_identities(pool.pool_id, None, 10, False)
    enabled = await env.service.admin.list_identities(pool.pool_id, None, 10, True)
    assert {i.identity_id for i in everyone.items} == {user, guest}
    assert [i.identity_id for i in enabled.items] == [user]
