"""User pools and app clients: settings, defaults, updates, secrets, paging, signing-key rotation."""

from __future__ import annotations

import re

import jwt
import pytest

from bastion.services.cognito_idp.settings import (
    DEFAULT_AUTH_FLOWS,
    ClientSettings,
    PasswordPolicy,
    PoolSettings,
    SchemaAttribute,
    TokenValidity,
    client_settings_from_json,
    pool_settings_from_json,
    to_json,
)
from bastion.services.errors import InvalidInputError, NotFoundError
from tests.unit.services.cognito_idp_fixtures import ACCOUNT, REGION, Harness, harness


@pytest.fixture
async def h() -> Harness:
    return harness()


async def test_pool_ids_and_arn_have_aws_shapes(h: Harness) -> None:
    view = await h.svc.pools.create_pool("my pool", PoolSettings())
    assert re.fullmatch(rf"{REGION}_[0-9A-Za-z]{{9}}", view.pool.id)
    assert view.arn == f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{view.pool.id}"
    client = await h.svc.pools.create_client(view.pool.id, "web", ClientSettings(), generate_secret=True)
    assert re.fullmatch(r"[a-z0-9]{26}", client.id)
    assert client.secret is not None and 24 <= len(client.secret) <= 64
    record = await h.store.cognito_idp.get_client(client.id)
    assert record is not None and record.sealed_secret is not None
    assert client.secret.encode() not in record.sealed_secret
    assert (await h.svc.pools.describe_client(view.pool.id, client.id)).secret == client.secret


async def test_settings_survive_their_json_form() -> None:
    pool = PoolSettings(
        password_policy=PasswordPolicy(minimum_length=12, require_symbols=False),
        alias_attributes=("email",),
        schema=(SchemaAttribute("custom:tier", max_length="10"),),
        tags={"team": "iot"},
        recovery_mechanisms=(("verified_email", 1),),
        case_sensitive=False,
    )
    assert pool_settings_from_json(to_json(pool)) == pool
    client = ClientSettings(
        access_token_validity=TokenValidity(30, "minutes"),
        read_attributes=("email",),
        units_given={"AccessToken": "minutes"},
    )
    assert client_settings_from_json(to_json(client)) == client


async def test_default_flows_leave_password_auth_off() -> None:
    settings = ClientSettings()
    assert settings.explicit_auth_flows == DEFAULT_AUTH_FLOWS
    assert settings.allows("USER_SRP_AUTH") and settings.allows("REFRESH_TOKEN_AUTH")
    assert not settings.allows("USER_PASSWORD_AUTH") and not settings.allows("ADMIN_USER_PASSWORD_AUTH")
    legacy = ClientSettings(explicit_auth_flows=("ADMIN_NO_SRP_AUTH",))
    assert legacy.allows("USER_SRP_AUTH") and legacy.allows("ADMIN_USER_PASSWORD_AUTH")
    assert not legacy.allows("USER_PASSWORD_AUTH")


async def test_pool_settings_are_checked(h: Harness) -> None:
    with pytest.raises(InvalidInputError, match="Only one of the aliasAttributes or usernameAttributes"):
        await h.pool(username_attributes=("email",), alias_attributes=("phone_number",))
    with pytest.raises(InvalidInputError, match="Multi-factor"):
        await h.pool(mfa="ON")
    with pytest.raises(InvalidInputError, match="sub cannot be modified"):
        await h.pool(schema=(SchemaAttribute("sub"),))
    pool = await h.pool(schema=(SchemaAttribute("tier"),))
    view = await h.svc.pools.describe_pool(pool)
    assert [a.name for a in view.pool.settings.schema] == ["custom:tier"]


async def test_update_pool_resets_what_it_omits_and_keeps_what_is_immutable(h: Harness) -> None:
    pool = await h.pool(
        username_attributes=("email",),
        auto_verified_attributes=("email",),
        password_policy=PasswordPolicy(minimum_length=12),
        case_sensitive=False,
    )
    await h.svc.pools.update_pool(pool, PoolSettings(mfa="OPTIONAL"), name="renamed")
    view = await h.svc.pools.describe_pool(pool)
    settings = view.pool.settings
    assert view.pool.record.name == "renamed"
    assert settings.mfa == "OPTIONAL"
    assert settings.password_policy == PasswordPolicy()  # reset to the default
    assert settings.auto_verified_attributes == ()  # reset too, as AWS does
    assert settings.username_attributes == ("email",) and settings.case_sensitive is False  # kept


async def test_deletion_protection(h: Harness) -> None:
    pool = await h.pool(deletion_protection="ACTIVE")
    with pytest.raises(InvalidInputError, match="deletion protection is activated"):
        await h.svc.pools.delete_pool(pool)
    await h.svc.pools.update_pool(pool, PoolSettings(deletion_protection="INACTIVE"))
    await h.svc.pools.delete_pool(pool)
    with pytest.raises(NotFoundError, match=f"User pool {pool} does not exist."):
        await h.svc.pools.describe_pool(pool)


async def test_client_settings_are_checked(h: Harness) -> None:
    pool = await h.pool()
    bad = [
        ClientSettings(access_token_validity=TokenValidity(4, "minutes")),
        ClientSettings(id_token_validity=TokenValidity(2, "days")),
        ClientSettings(refresh_token_validity=TokenValidity(30, "minutes")),
        ClientSettings(explicit_auth_flows=("USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH")),
        ClientSettings(read_attributes=("email", "not_an_attribute")),
        ClientSettings(write_attributes=("email_verified",)),
    ]
    for settings in bad:
        with pytest.raises(InvalidInputError):
            await h.svc.pools.create_client(pool, "app", settings)
    ok = ClientSettings(access_token_validity=TokenValidity(5, "minutes"), read_attributes=("email",))
    client = await h.svc.pools.create_client(pool, "app", ok)
    assert client.settings.access_lifetime.total_seconds() == 300


async def test_clients_update_and_page(h: Harness) -> None:
    pool = await h.pool()
    names = {(await h.svc.pools.create_client(pool, f"c{n}", ClientSettings())).id: f"c{n}" for n in range(3)}
    ids = sorted(names)
    first, token = await h.svc.pools.list_clients(pool, 2, None)
    rest, end = await h.svc.pools.list_clients(pool, 2, token)
    assert [c.id for c in first + rest] == ids and end is None
    with pytest.raises(InvalidInputError, match="pagination token"):
        await h.svc.pools.list_clients(pool, 2, "garbage")
    updated = await h.svc.pools.update_client(
        pool, ids[0], None, ClientSettings(prevent_user_existence_errors="ENABLED")
    )
    assert updated.record.name == names[ids[0]]  # a name left out is kept
    assert (await h.svc.pools.describe_client(pool, ids[0])).settings.prevents_user_existence_errors
    other = await h.pool()
    with pytest.raises(NotFoundError, match="User pool client"):
        await h.svc.pools.describe_client(other, ids[0])
    await h.svc.pools.delete_client(pool, ids[0])
    with pytest.raises(NotFoundError):
        await h.svc.pools.describe_client(pool, ids[0])


async def test_pools_page(h: Harness) -> None:
    made = sorted([await h.pool() for _ in range(3)])
    first, token = await h.svc.pools.list_pools(2, None)
    rest, end = await h.svc.pools.list_pools(2, token)
    assert [p.id for p in first + rest] == made and end is None


async def test_key_rotation_keeps_old_tokens_verifiable(h: Harness) -> None:
    pool = await h.pool()
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "rita")
    before = (await h.password_sign_in(client, "rita")).tokens
    assert before is not None
    jwks = await h.svc.jwks(pool)
    assert len(jwks["keys"]) == 2
    id_kid = jwt.get_unverified_header(before.id_token)["kid"]
    access_kid = jwt.get_unverified_header(before.access_token)["kid"]
    assert id_kid != access_kid and {id_kid, access_kid} == {k["kid"] for k in jwks["keys"]}
    new_kids = await h.svc.pools.rotate_signing_keys(pool)
    after = (await h.password_sign_in(client, "rita")).tokens
    assert after is not None
    assert jwt.get_unverified_header(after.id_token)["kid"] in new_kids
    assert len((await h.svc.jwks(pool))["keys"]) == 4
    # Tokens signed with the retired keys still verify, for Cognito's own APIs and identity pools alike.
    assert (await h.svc.account.get_user(before.access_token))[0].username == "rita"
    claims = await h.svc.verify_id_token(before.id_token, pool_id=pool, client_ids=[client])
    assert claims["cognito:username"] == "rita"
    # The private keys are stored sealed: no PEM in the records.
    for record in await h.store.cognito_idp.list_signing_keys(pool):
        assert b"PRIVATE KEY" not in record.sealed_private_key
