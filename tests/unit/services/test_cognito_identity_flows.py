"""The end-user flows of identity pools over the memory store: identities, linking, merging, credentials."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bastion.services.authorizer import request_context
from bastion.services.cognito_identity.errors import ClassicFlowDisabledError, InvalidPoolConfigurationError
from bastion.services.cognito_identity.pools import PoolSettings
from bastion.services.cognito_identity.scope_down import UNAUTHENTICATED_SESSION_POLICY
from bastion.services.errors import (
    AccessDeniedError,
    ConflictError,
    ExpiredTokenError,
    NotAuthorizedError,
    NotFoundError,
)
from bastion.services.identity import Principal
from bastion.storage.cognito_identity import CognitoProvider

from .cognito_identity_fakes import ACCOUNT, CLIENT, PROVIDER, Env, allow, id_token, make_env, trust_policy

OTHER_PROVIDER = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Second2"


@pytest.fixture
def env() -> Env:
    return make_env()


async def make_pool(env: Env, *, guests: bool = True, classic: bool = False, check: bool = False) -> str:
    providers = (CognitoProvider(PROVIDER, CLIENT, check), CognitoProvider(OTHER_PROVIDER, "client2"))
    pool = await env.service.admin.create_pool(
        PoolSettings("pool", guests, allow_classic_flow=classic, cognito_providers=providers)
    )
    return pool.pool_id


async def with_roles(
    env: Env, pool_id: str, *, auth_perms: str | None = None, unauth_perms: str | None = None
) -> None:
    auth = await env.role("Auth", trust_policy(pool_id, "authenticated"), auth_perms or allow("s3:GetObject"))
    unauth = await env.role(
        "Unauth", trust_policy(pool_id, "unauthenticated"), unauth_perms or allow("s3:GetObject")
    )
    await env.service.admin.set_roles(pool_id, {"authenticated": auth, "unauthenticated": unauth}, [])


def logins(sub: str, **claims: Any) -> dict[str, str]:
    return {PROVIDER: id_token(sub, **claims)}


async def decide(env: Env, principal: Principal, action: str, resource: str) -> bool:
    context = request_context(
        principal, source_ip="127.0.0.1", secure=True, now=env.clock.now(), region="us-east-1"
    )
    return (await env.authorizer.decide(principal, action, resource, context)).allowed


# ---- guests ---------------------------------------------------------------------------------------------


async def test_guest_gets_a_new_identity_each_time(env: Env) -> None:
    pool_id = await make_pool(env)
    first = await env.service.flows.get_id(pool_id, {})
    second = await env.service.flows.get_id(pool_id, {})
    assert first != second
    assert first.startswith("us-east-1:")


async def test_guests_are_refused_when_the_pool_disallows_them(env: Env) -> None:
    pool_id = await make_pool(env, guests=False)
    with pytest.raises(NotAuthorizedError, match="Unauthenticated access is not supported"):
        await env.service.flows.get_id(pool_id, {})


async def test_guest_credentials_are_a_one_hour_scoped_down_session_of_the_unauthenticated_role(
    env: Env,
) -> None:
    pool_id = await make_pool(env)
    await with_roles(env, pool_id)
    identity_id = await env.service.flows.get_id(pool_id, {})
    returned, session = await env.service.flows.get_credentials(identity_id, {})
    assert returned == identity_id
    principal = session.principal
    assert principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Unauth/CognitoIdentityCredentials"
    assert principal.user_id.endswith(":CognitoIdentityCredentials")
    assert principal.session_policy == UNAUTHENTICATED_SESSION_POLICY
    assert session.credentials.access_key_id.startswith("ASIA")
    assert session.credentials.expiration - env.clock.now().replace(microsecond=0) == timedelta(hours=1)
    web = principal.web_identity
    assert web is not None
    assert (web.provider, web.subject, web.audience, web.authenticated) == (
        "cognito-identity.amazonaws.com",
        identity_id,
        pool_id,
        False,
    )
    assert web.amr == ("unauthenticated",)


async def test_guest_credentials_stop_once_the_pool_disallows_guests(env: Env) -> None:
    pool_id = await make_pool(env)
    await with_roles(env, pool_id)
    identity_id = await env.service.flows.get_id(pool_id, {})
    pool = await env.service.admin.pool(pool_id)
    await env.service.admin.update_pool(
        pool_id, PoolSettings(pool.name, False, cognito_providers=pool.cognito_providers)
    )
    with pytest.raises(NotAuthorizedError, match="Unauthenticated access is not supported"):
        await env.service.flows.get_credentials(identity_id, {})


async def test_the_scope_down_policy_limits_guests_to_the_listed_services(env: Env) -> None:
    pool_id = await make_pool(env)
    await with_roles(env, pool_id, unauth_perms=allow("iam:ListRoles", "iot:Publish", "s3:GetObject"))
    identity_id = await env.service.flows.get_id(pool_id, {})
    _, session = await env.service.flows.get_credentials(identity_id, {})
    assert await decide(env, session.principal, "iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/t")
    assert await decide(env, session.principal, "s3:GetObject", "arn:aws:s3:::b/k")
    # The role allows it, the scope-down policy does not.
    assert not await decide(env, session.principal, "iam:ListRoles", "*")
    # The scope-down policy allows it, the role does not.
    assert not await decide(env, session.principal, "iot:Subscribe", "*")


# ---- signed-in users --------------------------------------------------------------------------------------


async def test_the_same_user_always_gets_the_same_identity(env: Env) -> None:
    pool_id = await make_pool(env)
    first = await env.service.flows.get_id(pool_id, logins("user-a"))
    again = await env.service.flows.get_id(pool_id, logins("user-a"))
    other = await env.service.flows.get_id(pool_id, logins("user-b"))
    assert first == again != other
    identity = await env.service.admin.identity(first)
    assert [(x.provider, x.subject) for x in identity.logins] == [(PROVIDER, "user-a")]


async def test_users_of_a_pool_disallowing_guests_still_sign_in(env: Env) -> None:
    pool_id = await make_pool(env, guests=False)
    await with_roles(env, pool_id)
    identity_id = await env.service.flows.get_id(pool_id, logins("user-a"))
    _, session = await env.service.flows.get_credentials(identity_id, logins("user-a"))
    assert session.principal.role_name == "Auth"
    assert session.principal.session_policy is None
    web = session.principal.web_identity
    assert web is not None and web.authenticated
    assert web.amr == ("authenticated", PROVIDER, f"{PROVIDER}:CognitoSignIn:user-a")


async def test_an_authenticated_identity_needs_its_login(env: Env) -> None:
    pool_id = await make_pool(env)
    await with_roles(env, pool_id)
    env.user_pools.pools["us-east-1_Second2"] = "pool-key"
    identity_id = await env.service.flows.get_id(pool_id, logins("user-a"))
    with pytest.raises(NotAuthorizedError, match=f"Access to Identity '{identity_id}' is forbidden"):
        await env.service.flows.get_credentials(identity_id, {})
    with pytest.raises(NotAuthorizedError, match="Logins don't match"):
        await env.service.flows.get_credentials(
            identity_id,
            {OTHER_PROVIDER: id_token("user-b", client_id="client2", user_pool="us-east-1_Second2")},
        )


async def test_one_bad_token_fails_the_whole_call(env: Env) -> None:
    pool_id = await make_pool(env)
    env.user_pools.pools["us-east-1_Second2"] = "pool-key"
    a = await env.service.flows.get_id(pool_id, logins("user-a"))
    forged = id_token("user-b", client_id="client2", user_pool="us-east-1_Second2", key_name="attacker")
    with pytest.raises(NotAuthorizedError, match="Couldn't verify signed token"):
        await env.service.flows.get_credentials(a, {**logins("user-a"), OTHER_PROVIDER: forged})
    held = (await env.service.admin.identity(a)).logins
    assert [(x.provider, x.subject) for x in held] == [(PROVIDER, "user-a")]


async def test_an_expired_token_is_refused(env: Env) -> None:
    pool_id = await make_pool(env)
    token = logins("user-a")
    identity_id = await env.service.flows.get_id(pool_id, token)
    env.advance(3601)
    with pytest.raises(NotAuthorizedError, match="Token expired"):
        await env.service.flows.get_credentials(identity_id, token)


async def test_unknown_providers_and_pools_are_refused(env: Env) -> None:
    pool_id = await make_pool(env)
    with pytest.raises(NotAuthorizedError, match="not from a supported provider"):
        await env.service.flows.get_id(pool_id, {"cognito-idp.us-east-1.amazonaws.com/us-east-1_Nope": "x"})
    with pytest.raises(
        NotFoundError, match="IdentityPool 'us-east-1:00000000-0000-0000-0000-000000000000' not found"
    ):
        await env.service.flows.get_id("us-east-1:00000000-0000-0000-0000-000000000000", {})
    with pytest.raises(
        NotFoundError, match="Identity 'us-east-1:00000000-0000-0000-0000-000000000001' not found"
    ):
        await env.service.flows.get_credentials("us-east-1:00000000-0000-0000-0000-000000000001", {})
    with pytest.raises(NotFoundError):
        await env.service.flows.get_id(pool_id, {}, account_id="999999999999")


# ---- linking and merging ----------------------------------------------------------------------------------


async def test_a_guest_presenting_a_new_user_login_is_upgraded_in_place(env: Env) -> None:
    pool_id = await make_pool(env)
    await with_roles(env, pool_id)
    guest = await env.service.flows.get_id(pool_id, {})
    returned, session = await env.service.flows.get_credentials(guest, logins("user-a"))
    assert returned == guest
    assert session.principal.role_name == "Auth"
    assert await env.service.flows.get_id(pool_id, logins("user-a")) == guest
    # Now authenticated: the id alone no longer gets credentials.
    with pytest.raises(NotAuthorizedError, match="forbidden"):
        await env.service.flows.get_credentials(guest, {})


async def test_a_guest_presenting_a_known_user_login_merges_into_that_identity(env: Env) -> None:
    pool_id = await make_pool(env)
    await with_roles(env, pool_id)
    user = await env.service.flows.get_id(pool_id, logins("user-a"))
    guest = await env.service.flows.get_id(pool_id, {})
    returned, session = await env.service.flows.get_credentials(guest, logins("user-a"))
    assert returned == user
    web = session.principal.web_identity
    assert web is not None and web.subject == user
    merged = await env.service.admin.identity(guest)
    assert merged.disabled and merged.merged_into == user
    with pytest.raises(NotAuthorizedError, match="forbidden"):
        await env.service.flows.get_credentials(guest, {})
    # Presenting the login with the old id still leads to the owner.
    assert (await env.service.flows.get_credentials(guest, logins("user-a")))[0] == user


async def test_a_second_login_is_linked_and_logins_of_two_identities_merge(env: Env) -> None:
    pool_id = await make_pool(env)
    second = {OTHER_PROVIDER: id_token("user-b", client_id="client2", user_pool="us-east-1_Second2")}
    env.user_pools.pools["us-east-1_Second2"] = "pool-key"
    a = await env.service.flows.get_id(pool_id, logins("user-a"))
    b = await env.service.flows.get_id(pool_id, second)
    assert a != b
    # Both logins at once: the older identity absorbs the other.
    merged = await env.service.flows.get_id(pool_id, {**logins("user-a"), **second})
    assert merged == a
    assert await env.service.flows.get_id(pool_id, second) == a
    assert (await env.service.admin.identity(b)).disabled


async def test_an_identity_holds_one_login_per_provider(env: Env) -> None:
    pool_id = await make_pool(env)
    env.user_pools.pools["us-east-1_Second2"] = "pool-key"
    second = {OTHER_PROVIDER: id_token("user-b", client_id="client2", user_pool="us-east-1_Second2")}
    a = await env.service.flows.get_id(pool_id, logins("user-a"))
    c = await env.service.flows.get_id(pool_id, {**logins("user-c"), **second})
    # Merging c into a would give a two logins of PROVIDER (user-a and user-c).
    with pytest.raises(ConflictError):
        await env.service.flows.get_id(pool_id, {**logins("user-a"), **second})
    held = (await env.service.admin.identity(a)).logins
    assert [(x.provider, x.subject) for x in held] == [(PROVIDER, "user-a")]
    assert not (await env.service.admin.identity(c)).disabled


async def test_unlink_removes_a_login_and_the_last_one_disables_the_identity(env: Env) -> None:
    pool_id = await make_pool(env)
    await with_roles(env, pool_id)
    a = await env.service.flows.get_id(pool_id, logins("user-a"))
    with pytest.raises(NotAuthorizedError, match="Logins don't match"):
        await env.service.flows.unlink(a, logins("user-z"), [PROVIDER])
    await env.service.flows.unlink(a, logins("user-a"), [PROVIDER])
    identity = await env.service.admin.identity(a)
    assert identity.disabled and not identity.logins
    # The user is new again: the next sign-in makes another identity.
    assert await env.service.flows.get_id(pool_id, logins("user-a")) != a


# ---- roles and trust ---------------------------------------------------------------------------------------


async def test_a_role_that_does_not_trust_the_pool_is_refused(env: Env) -> None:
    pool_id = await make_pool(env)
    other_pool = await make_pool(env)
    wrong_aud = await env.role("WrongAud", trust_policy(other_pool, "unauthenticated"))
    wrong_amr = await env.role("WrongAmr", trust_policy(pool_id, "authenticated"))
    identity_id = await env.service.flows.get_id(pool_id, {})
    for arn in (wrong_aud, wrong_amr, f"arn:aws:iam::{ACCOUNT}:role/Missing"):
        await env.service.admin.set_roles(pool_id, {"unauthenticated": arn}, [])
        with pytest.raises(InvalidPoolConfigurationError, match="Invalid identity pool configuration"):
            await env.service.flows.get_credentials(identity_id, {})


async def test_trust_conditions_see_the_identity_and_its_logins(env: Env) -> None:
    pool_id = await make_pool(env)
    user = await env.service.flows.get_id(pool_id, logins("user-a"))
    trust = json.loads(trust_policy(pool_id, f"{PROVIDER}:CognitoSignIn:user-a"))
    trust["Statement"][0]["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:sub"] = user
    only_a = await env.role("OnlyA", json.dumps(trust))
    await env.service.admin.set_roles(pool_id, {"authenticated": only_a}, [])
    assert (await env.service.flows.get_credentials(user, logins("user-a")))[1].principal.role_name == "OnlyA"
    b = await env.service.flows.get_id(pool_id, logins("user-b"))
    with pytest.raises(InvalidPoolConfigurationError):
        await env.service.flows.get_credentials(b, logins("user-b"))


async def test_rules_mapping_chooses_the_role(env: Env) -> None:
    from bastion.storage.cognito_identity import MappingRule, RoleMapping

    pool_id = await make_pool(env)
    await with_roles(env, pool_id)
    admins = await env.role("Admins", trust_policy(pool_id, "authenticated"))
    mapping = RoleMapping(
        f"{PROVIDER}:{CLIENT}", "Rules", "Deny", (MappingRule("cognito:groups", "Contains", "admin", admins),)
    )
    roles = {
        "authenticated": f"arn:aws:iam::{ACCOUNT}:role/Auth",
        "unauthenticated": f"arn:aws:iam::{ACCOUNT}:role/Unauth",
    }
    await env.service.admin.set_roles(pool_id, roles, [mapping])
    boss = logins("boss", **{"cognito:groups": ["admins"]})
    boss_id = await env.service.flows.get_id(pool_id, boss)
    assert (await env.service.flows.get_credentials(boss_id, boss))[1].principal.role_name == "Admins"
    worker = logins("worker", **{"cognito:groups": ["staff"]})
    worker_id = await env.service.flows.get_id(pool_id, worker)
    with pytest.raises(NotAuthorizedError, match="ambiguous role mapping rules denied"):
        await env.service.flows.get_credentials(worker_id, worker)


async def test_policy_variables_resolve_to_the_identity(env: Env) -> None:
    pool_id = await make_pool(env)
    own = allow("s3:GetObject", resource="arn:aws:s3:::data/${cognito-identity.amazonaws.com:sub}/*")
    await with_roles(env, pool_id, auth_perms=own)
    a = await env.service.flows.get_id(pool_id, logins("user-a"))
    b = await env.service.flows.get_id(pool_id, logins("user-b"))
    _, session = await env.service.flows.get_credentials(a, logins("user-a"))
    assert await decide(env, session.principal, "s3:GetObject", f"arn:aws:s3:::data/{a}/photo.jpg")
    assert not await decide(env, session.principal, "s3:GetObject", f"arn:aws:s3:::data/{b}/photo.jpg")


# ---- the basic (classic) flow -----------------------------------------------------------------------------


async def test_classic_flow_needs_the_pool_to_allow_it(env: Env) -> None:
    pool_id = await make_pool(env, classic=False)
    identity_id = await env.service.flows.get_id(pool_id, {})
    with pytest.raises(ClassicFlowDisabledError, match="Basic \\(classic\\) flow is not enabled"):
        await env.service.flows.get_open_id_token(identity_id, {})


async def test_classic_flow_token_is_accepted_by_sts_for_a_trusting_role(env: Env) -> None:
    pool_id = await make_pool(env, classic=True)
    await with_roles(env, pool_id)
    user = await env.service.flows.get_id(pool_id, logins("user-a"))
    returned, token = await env.service.flows.get_open_id_token(user, logins("user-a"))
    assert returned == user
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/Auth"
    session, claims = await env.sts.assume_role_with_web_identity(role_arn, "my-session", token)
    assert (claims.subject, claims.audience, claims.provider) == (
        user,
        pool_id,
        "cognito-identity.amazonaws.com",
    )
    assert session.principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Auth/my-session"
    assert session.principal.session_policy is None
    # The guest role trusts only unauthenticated tokens.
    with pytest.raises(AccessDeniedError):
        await env.sts.assume_role_with_web_identity(f"arn:aws:iam::{ACCOUNT}:role/Unauth", "s", token)


async def test_classic_flow_tokens_expire_after_ten_minutes(env: Env) -> None:
    pool_id = await make_pool(env, classic=True)
    await with_roles(env, pool_id)
    guest = await env.service.flows.get_id(pool_id, {})
    _, token = await env.service.flows.get_open_id_token(guest, {})
    env.advance(601)
    with pytest.raises(ExpiredTokenError, match="Token expired"):
        await env.sts.assume_role_with_web_identity(f"arn:aws:iam::{ACCOUNT}:role/Unauth", "s", token)
